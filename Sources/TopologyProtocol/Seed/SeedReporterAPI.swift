import TopologyCore
import TopologyWire

/// The seed runtime's reporter API (Michael--/modular-runtime, `apps/topology/src/topology-reporter-proxy.ts`),
/// served by this server itself, so the seed's Rust reporter and C++ client register, heartbeat and
/// report calls with nothing in between: `POST /register`, `/heartbeat`, `/activity`, `/unregister`,
/// `GET` or `POST /health`. Requests and answers are the seed's JSON; every call goes through the
/// dispatcher, as over frames. Differences from the seed, on purpose (docs/clients/seed-runtime.md):
/// bad JSON is 400, not 500; `/heartbeat` is a real heartbeat; `/activity` counts as one for the
/// service that reports (the seed's C++ client never sends `/heartbeat`).
enum SeedReporterAPI {
    enum Route: Equatable {
        case register, heartbeat, activity, unregister, health
    }

    static let routes: [String: Route] = ["/register": .register, "/heartbeat": .heartbeat, "/activity": .activity,
                                          "/unregister": .unregister, "/health": .health]

    /// The answer: a status and the seed's compact JSON.
    struct Answer: Equatable {
        var status: HTTPStatus
        var json: String

        static func error(_ status: HTTPStatus, _ message: String) -> Answer {
            var out: [UInt8] = Array(#"{"error":"#.utf8)
            JSONText.appendQuoted(message, to: &out, shortEscapes: true)
            out.append(UInt8(ascii: "}"))
            return Answer(status: status, json: String(decoding: out, as: UTF8.self))
        }

        static let ok = Answer(status: .ok, json: #"{"status":"ok"}"#)
        static let notFound = Answer.error(.notFound, "Service not found")
    }

    static func answer<C: Clock>(_ route: Route, method: String, body: [UInt8], peer: String, _ rpc: inout RPCDispatcher<C>,
                                 topology: inout Topology) -> Answer {
        if route == .health, method == "GET" || method == "POST" { return health(topology) }
        guard method == "POST" else { return .error(.methodNotAllowed, "Method not allowed") }
        let json: JSONValue
        do {
            json = try JSONParser(maximumSize: body.count).parse(body)
        } catch {
            return .error(.badRequest, "Invalid JSON: \(error)")
        }
        switch route {
        case .register: return register(json, peer: peer, &rpc, topology: &topology)
        case .heartbeat: return heartbeat(json, peer: peer, &rpc, topology: &topology)
        case .activity: return activity(json, peer: peer, &rpc, topology: &topology)
        case .unregister: return unregister(json, peer: peer, &rpc, topology: &topology)
        case .health: return health(topology)
        }
    }

    private static func health(_ topology: Topology) -> Answer {
        Answer(status: .ok, json: #"{"status":"healthy","services":\#(topology.serviceCount)}"#)
    }

    /// A string field as the seed's proxy reads it (`normalizeOptionalString`): not a string, blank,
    /// or "null" in any case means absent; trimmed otherwise.
    static func string(_ json: JSONValue, _ key: String) -> String? {
        guard case .string(let raw)? = json[key] else { return nil }
        let trimmed = raw.trimmingCharacters(in: CharacterSetLite.whitespace)
        return trimmed.isEmpty || trimmed.lowercased() == "null" ? nil : trimmed
    }

    private static func number(_ json: JSONValue, _ key: String) -> JSONNumber? {
        guard case .number(let value)? = json[key] else { return nil }
        return value
    }

    private static func register<C: Clock>(_ json: JSONValue, peer: String, _ rpc: inout RPCDispatcher<C>, topology: inout Topology) -> Answer {
        guard let name = string(json, "serviceName"), let typeName = string(json, "serviceType"), let languageName = string(json, "language") else {
            return .error(.badRequest, "Missing required fields: serviceName, serviceType, language")
        }
        guard let type = ServiceType(protoName: typeName), let language = ServiceLanguage(protoName: languageName) else {
            return .error(.badRequest, "Invalid serviceType or language")
        }
        // The seed's proxy always sends metadata, empty or not.
        let metadata = ServiceMetadata(serviceInterface: string(json, "serviceInterface"), serviceRole: string(json, "serviceRole"),
                                       programName: string(json, "programName"))
        let request = RegisterServiceRequest(serviceName: name, serviceType: type, language: language, version: string(json, "version"),
                                             address: string(json, "address"), host: string(json, "host"), metadata: metadata)
        let reply = rpc.oneShot(.registerServiceRequest(request), peer: peer, topology: &topology)
        guard case .registerServiceResponse(let response)? = reply.message, let handle = response.handle else { return failure(reply) }
        var out: [UInt8] = Array(#"{"serviceId":"#.utf8)
        JSONText.appendQuoted(handle.serviceId, to: &out, shortEscapes: true)
        out += #","heartbeatIntervalMs":\#(handle.heartbeatIntervalMs)}"#.utf8
        return Answer(status: .ok, json: String(decoding: out, as: UTF8.self))
    }

    private static func heartbeat<C: Clock>(_ json: JSONValue, peer: String, _ rpc: inout RPCDispatcher<C>, topology: inout Topology) -> Answer {
        guard let id = string(json, "serviceId") else { return .error(.badRequest, "Missing required field: serviceId") }
        return beat(id, peer: peer, &rpc, topology: &topology)
    }

    private static func beat<C: Clock>(_ id: String, peer: String, _ rpc: inout RPCDispatcher<C>, topology: inout Topology) -> Answer {
        let reply = rpc.oneShot(.heartbeatRequest(HeartbeatRequest(serviceId: id)), peer: peer, topology: &topology)
        guard case .heartbeatResponse(let response)? = reply.message, response.acknowledged else { return failure(reply) }
        return .ok
    }

    private static func activity<C: Clock>(_ json: JSONValue, peer: String, _ rpc: inout RPCDispatcher<C>, topology: inout Topology) -> Answer {
        guard let id = string(json, "serviceId"), let target = string(json, "targetService"), let typeName = string(json, "type") else {
            return .error(.badRequest, "Missing required fields: serviceId, targetService, type")
        }
        guard let type = ActivityType(protoName: typeName) else { return .error(.badRequest, "Invalid activity type") }
        var request = ReportActivityRequest(serviceId: id, targetService: target, type: type)
        request.timestampMs = number(json, "timestampMs")?.int64
        request.latencyMs = number(json, "latencyMs")?.double.map { Int32(clamping: Int64($0.rounded())) }
        request.method = string(json, "method")
        if case .bool(let success)? = json["success"] { request.success = success }
        request.errorMessage = string(json, "errorMessage")
        // A service that reports its calls is alive: the seed's C++ client sends no heartbeats.
        let alive = beat(id, peer: peer, &rpc, topology: &topology)
        guard alive == .ok else { return alive }
        let reply = rpc.oneShot(.reportActivityRequest(request), endOfStream: true, peer: peer, topology: &topology)
        guard reply.status?.statusCode ?? .ok == .ok else { return failure(reply) }
        return .ok
    }

    private static func unregister<C: Clock>(_ json: JSONValue, peer: String, _ rpc: inout RPCDispatcher<C>, topology: inout Topology) -> Answer {
        guard let id = string(json, "serviceId") else { return .error(.badRequest, "Missing required field: serviceId") }
        let reply = rpc.oneShot(.unregisterServiceRequest(UnregisterServiceRequest(serviceId: id)), peer: peer, topology: &topology)
        guard case .unregisterServiceResponse(let response)? = reply.message else { return failure(reply) }
        return response.removed ? .ok : .notFound
    }

    /// A refusal of the dispatcher as the seed's clients read one: 404 for an unknown service, 400
    /// for a request it refuses, 503 at a limit; the message is the dispatcher's.
    private static func failure(_ reply: Frame) -> Answer {
        let status = reply.status ?? Status(code: .internal, message: "no answer")
        switch status.statusCode {
        case .notFound: return .notFound
        case .invalidArgument, .failedPrecondition, .outOfRange: return .error(.badRequest, status.message)
        case .resourceExhausted, .unavailable: return .error(.serviceUnavailable, status.message)
        default: return .error(.internalServerError, status.message)
        }
    }
}
