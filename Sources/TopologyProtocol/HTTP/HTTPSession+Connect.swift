import TopologyCore
import TopologyWire

/// Connect (connectrpc.com/docs/protocol) on the HTTP port, for browsers and curl: the unary
/// RegisterService, UnregisterService and GetTopology with `application/json` (the proto3 JSON
/// mapping) or `application/proto`, and WatchTopology as a server stream of envelopes in
/// `application/connect+json` or `application/connect+proto`. Each call goes through the
/// dispatcher, as over frames and gRPC. Heartbeat and ReportActivity are client streams, which need
/// gRPC or frames.
extension HTTPSession {
    /// Answers `POST /runtime.v1.TopologyService/<method>`: the response to queue, or nil when the
    /// call became a stream (or its error already went out as one), or a large GetTopology went to
    /// the reply encoder (as `GET /api/v1/topology` does).
    mutating func answerConnect<C: Clock>(_ request: HTTPRequest, method name: String, keepAlive: Bool, now: Int64, _ env: HTTPEnvironment,
                                          topology: inout Topology, rpc: inout RPCDispatcher<C>, _ out: inout HTTPOutput) -> HTTPResponse? {
        let contentType = (request.header("content-type") ?? "").split(separator: ";").first.map {
            $0.trimmingCharacters(in: CharacterSetLite.whitespace).lowercased()
        } ?? ""
        guard let method = GRPCMethod(topologyMethod: name) else {
            let known = GRPCMethod.topologyService.map(\.rawValue).joined(separator: ", ")
            return Self.connectError(Status(code: .unimplemented, message: "unknown method \(name); this server serves \(known)"))
        }
        guard request.method == "POST" else {
            return Self.connectError(Status(code: .unimplemented, message: "Connect calls are POST requests here"),
                                                  httpStatus: .methodNotAllowed)
        }
        // Connect-Timeout-Ms: a unary call is answered at once; a stream ends at its deadline (`runTimers`).
        let timeoutHeader = request.header("connect-timeout-ms")
        let timeoutMs = timeoutHeader.flatMap(Self.connectTimeoutMs)
        let badTimeout = timeoutHeader.map { header in
            Status(code: .invalidArgument, message: "Connect-Timeout-Ms \(header) is malformed: a positive integer of at most 10 digits")
        }.flatMap { timeoutMs == nil ? $0 : nil }
        switch (method, contentType) {
        case (.watchTopology, "application/connect+json"), (.watchTopology, "application/connect+proto"):
            streamFormat = .connect(json: contentType.hasSuffix("json"))
            if let badTimeout {
                endStreamAtOnce(badTimeout, now: now, env, topology: &topology, rpc: &rpc, &out)
                return nil
            }
            var decoder = ConnectEnvelopeDecoder(maximumMessageSize: env.limits.maxBodyBytes)
            decoder.append(request.body)
            let watch: WatchTopologyRequest
            do {
                guard let envelope = try decoder.next(), decoder.bufferedCount == 0, !envelope.isCompressed else {
                    throw ConnectRequestError.notOneMessage
                }
                watch = contentType.hasSuffix("json")
                    ? try WatchTopologyRequest(jsonUTF8: envelope.payload, options: JSONDecodingOptions(maximumSize: envelope.payload.count))
                    : try WatchTopologyRequest(serializedBytes: envelope.payload)
            } catch {
                endStreamAtOnce(Status(code: .invalidArgument, message: "the request is not one uncompressed WatchTopologyRequest envelope: \(error)"),
                                now: now, env, topology: &topology, rpc: &rpc, &out)
                return nil
            }
            startEventStream(watch, now: now, env, topology: &topology, rpc: &rpc, &out)
            if let timeoutMs, case .streaming = phase {
                streamEndMs = now + timeoutMs
                deadlineMs = min(deadlineMs, now + timeoutMs)
            }
            return nil
        case (.registerService, "application/json"), (.registerService, "application/proto"),
             (.unregisterService, "application/json"), (.unregisterService, "application/proto"),
             (.getTopology, "application/json"), (.getTopology, "application/proto"):
            if let badTimeout { return Self.connectError(badTimeout) }
            let json = contentType == "application/json"
            let message: Frame.Message
            do {
                message = json ? try Self.jsonRequest(method, request.body) : try method.request(request.body)
            } catch {
                return Self.connectError(Status(code: .invalidArgument, message: "the request does not decode: \(error)"))
            }
            let contentType = json ? "application/json" : "application/proto"
            let answer: Frame
            switch rpc.oneShotReply(message, peer: peer, topology: &topology) {
            case .snapshot(let reply) where env.canEncodeOffLoop:
                // A large topology: built and encoded by the reply encoder, not on the loop.
                respondOffLoop(keepAlive: keepAlive, headOnly: false, env, topology: &topology, rpc: &rpc, &out) {
                    let response = reply.frame().message ?? .getTopologyResponse(GetTopologyResponse())
                    return HTTPResponse(status: .ok, contentType: contentType, body: json ? response.jsonUTF8 : response.serializedBytes)
                }
                return nil
            case .snapshot(let reply):
                answer = reply.frame()
            case .frame(let frame):
                answer = frame
            }
            guard let response = answer.message, answer.status?.statusCode ?? .ok == .ok else {
                return Self.connectError(answer.status ?? Status(code: .internal, message: "no answer"))
            }
            return HTTPResponse(status: .ok, contentType: contentType, body: json ? response.jsonUTF8 : response.serializedBytes)
        case (.heartbeat, _), (.reportActivity, _):
            return Self.connectError(Status(code: .unimplemented,
                                            message: "\(method.rawValue) is a client stream: call it over gRPC or frames on the frames port"))
        default:
            let expected = method == .watchTopology ? "application/connect+json or application/connect+proto" : "application/json or application/proto"
            return Self.connectError(Status(code: .unimplemented, message: "content-type \(contentType.isEmpty ? "(none)" : contentType) is not served for \(method.rawValue); send \(expected)"),
                                     httpStatus: HTTPStatus(code: 415, reason: "Unsupported Media Type"))
        }
    }

    /// A stream refused before it starts: its error is its end-of-stream message, after a 200 head.
    private mutating func endStreamAtOnce<C: Clock>(_ status: Status, now: Int64, _ env: HTTPEnvironment, topology: inout Topology,
                                                    rpc: inout RPCDispatcher<C>, _ out: inout HTTPOutput) {
        rpc.metrics.httpRequests[HTTPStatus.ok.code, default: 0] += 1
        EventStreamEncoder.appendHead(streamFormat, epoch: env.serverEpoch, to: &out.outbound)
        out.outbound += ConnectEndOfStream(status).envelope
        beginClosing(now: now, env, topology: &topology, &out)
    }

    /// Connect-Timeout-Ms (connectrpc.com/docs/protocol): 1 to 10 ASCII digits, not 0.
    static func connectTimeoutMs(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard (1...10).contains(bytes.count), bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let value = Int64(text), value > 0 else { return nil }
        return value
    }

    private static func jsonRequest(_ method: GRPCMethod, _ body: [UInt8]) throws -> Frame.Message {
        let options = JSONDecodingOptions(maximumSize: body.count)
        switch method {
        case .registerService: return .registerServiceRequest(try RegisterServiceRequest(jsonUTF8: body, options: options))
        case .unregisterService: return .unregisterServiceRequest(try UnregisterServiceRequest(jsonUTF8: body, options: options))
        case .getTopology: return .getTopologyRequest(try GetTopologyRequest(jsonUTF8: body, options: options))
        default: throw ConnectRequestError.notUnary
        }
    }

    /// A Connect unary error: its JSON, with the status the code maps to.
    static func connectError(_ status: Status, httpStatus: HTTPStatus? = nil) -> HTTPResponse {
        let code = ConnectErrorCode(status.statusCode)
        return HTTPResponse(status: httpStatus ?? HTTPStatus(code: code.httpStatus, reason: HTTPStatus.reasonPhrase(code.httpStatus)),
                            contentType: "application/json", body: ConnectError(status).jsonUTF8())
    }
}

enum ConnectRequestError: Error, CustomStringConvertible {
    case notOneMessage
    case notUnary

    var description: String {
        switch self {
        case .notOneMessage: "a server-streaming call's body is one envelope holding one message"
        case .notUnary: "not a unary method"
        }
    }
}
