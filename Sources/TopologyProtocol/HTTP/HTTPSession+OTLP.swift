import TopologyCore
import TopologyWire

/// OTLP/HTTP (opentelemetry.io/docs/specs/otlp/#otlphttp): `POST /v1/traces` with an
/// `ExportTraceServiceRequest` in `application/x-protobuf` or `application/json`, answered in the
/// same encoding: an `ExportTraceServiceResponse` (200), or a `google.rpc.Status` (the layout of
/// our `Status`: code 1, message 2) with 400, 415 or 429. Compressed bodies are refused with 415:
/// inflating gzip needs zlib, which this server does not link (docs/opentelemetry.md).
extension HTTPSession {
    func answerOTLP<C: Clock>(_ request: HTTPRequest, _ env: HTTPEnvironment, topology: inout Topology,
                              rpc: inout RPCDispatcher<C>) -> HTTPResponse {
        let contentType = (request.header("content-type") ?? "").split(separator: ";").first.map {
            $0.trimmingCharacters(in: CharacterSetLite.whitespace).lowercased()
        } ?? ""
        let json: Bool
        switch contentType {
        case "application/x-protobuf": json = false
        case "application/json": json = true
        default:
            return Self.otlpError(.unsupportedMediaType, json: false, Status(code: .invalidArgument, message:
                "content-type \(contentType.isEmpty ? "(none)" : contentType) is not OTLP; send application/x-protobuf or application/json"))
        }
        if let encoding = request.header("content-encoding")?.lowercased(), !encoding.isEmpty, encoding != "identity" {
            return Self.otlpError(.unsupportedMediaType, json: json, Status(code: .invalidArgument, message:
                "content-encoding \(encoding) is not supported by this server; export uncompressed "
                + "(OTEL_EXPORTER_OTLP_COMPRESSION=none, or compression: none in a Collector's otlphttp exporter)"))
        }
        switch rpc.exportTraces(request.body, json: json, transport: "http", peer: peer, topology: &topology) {
        case .accepted(let response):
            return HTTPResponse(status: .ok, contentType: contentType, body: json ? response.jsonUTF8() : response.serializedBytes())
        case .invalid(let message):
            return Self.otlpError(.badRequest, json: json, Status(code: .invalidArgument, message: message))
        case .throttled(let seconds, let message):
            return Self.otlpError(.tooManyRequests, json: json, Status(code: .unavailable, message: message),
                                  headers: [("Retry-After", String(seconds))])
        }
    }

    private static func otlpError(_ status: HTTPStatus, json: Bool, _ body: Status, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, contentType: json ? "application/json" : "application/x-protobuf",
                     body: json ? body.jsonUTF8() : body.serializedBytes(), headers: headers)
    }
}
