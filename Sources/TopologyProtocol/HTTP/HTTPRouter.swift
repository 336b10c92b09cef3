import TopologyWire

/// What a request asks for, decided from its method, path and query alone (no I/O, no state).
enum HTTPRoute: Equatable {
    case dashboard
    case topology(TopologyQuery)
    /// The whole graph as it was at a time, Unix ms (`/api/v1/topology?at=`), from the history.
    case topologyAt(Int64)
    /// What the history holds (`/api/v1/history`): its bounds and its samples' times and revisions.
    case history
    /// The snapshot as Graphviz DOT (`/api/v1/topology.dot`), with the same filters.
    case dot(TopologyQuery)
    /// An SSE watch: the query, and the resume point parsed from `Last-Event-ID` (or `?last_event_id=`).
    case watch(TopologyQuery, resume: SSEEventID?)
    /// The seed runtime's event stream (`GET /events`): the same watch, in the seed's format.
    case seedEvents(TopologyQuery)
    /// The seed runtime's reporter API (`POST /register` and the rest): methods are its to check.
    case seedReporter(SeedReporterAPI.Route)
    /// A Connect call, `POST /runtime.v1.TopologyService/<method>`: the method's name.
    case connect(String)
    /// The event log from a revision on (`GET /api/v1/events?since=&limit=`).
    case events(since: UInt64, limit: Int)
    /// OTLP/HTTP trace export, `POST /v1/traces`.
    case otlpTraces
    case metrics
    case healthz
    case readyz
    /// The server requires a token (`--auth-token-file`) and the request does not present it, once.
    case unauthorized(BearerAuthorization.Failure)
    case error(HTTPStatus, String)
}

/// The id of an SSE event: `<server_epoch>.<revision>`. Revisions restart with each server process,
/// so the epoch travels with them: a resume from another process's id is served a resync snapshot.
struct SSEEventID: Equatable {
    var serverEpoch: String
    var revision: UInt64

    var text: String { "\(serverEpoch).\(revision)" }

    /// Parses `<epoch>.<revision>`; an unparsable id still counts as a resume (from an unknown
    /// epoch), so the client gets a resync snapshot rather than a plain one it might merge wrongly.
    init(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: CharacterSetLite.whitespace)
        if let dot = trimmed.lastIndex(of: "."), let revision = UInt64(trimmed[trimmed.index(after: dot)...]) {
            serverEpoch = String(trimmed[..<dot])
            self.revision = revision
        } else {
            serverEpoch = "unparsable:" + trimmed.prefix(64)
            revision = 0
        }
    }

    init(serverEpoch: String, revision: UInt64) {
        self.serverEpoch = serverEpoch
        self.revision = revision
    }
}

enum HTTPRouter {
    static let paths: Set<String> = ["/", "/index.html", "/api/v1/topology", "/api/v1/watch", "/api/v1/events", "/api/v1/topology.dot", "/api/v1/history", "/metrics", "/healthz", "/readyz", "/events"]

    /// With a token (`tokenMatches` checks one), every path but /healthz (which a load balancer
    /// probes without credentials) needs it, unknown paths included: an unauthenticated client
    /// learns nothing.
    static func route(_ request: HTTPRequest, tokenMatches: ((String) -> Bool)?) -> HTTPRoute {
        if let tokenMatches, request.path != "/healthz", let failure = BearerAuthorization.check(request, tokenMatches: tokenMatches) {
            return .unauthorized(failure)
        }
        if let route = SeedReporterAPI.routes[request.path] { return .seedReporter(route) }
        if request.path.hasPrefix(GRPCMethod.servicePath) { return .connect(String(request.path.dropFirst(GRPCMethod.servicePath.count))) }
        if request.path == OTLPExport.httpPath {
            guard request.method == "POST" else {
                return .error(.methodNotAllowed, "method \(request.method) is not allowed; OTLP exporters POST spans to \(OTLPExport.httpPath)")
            }
            return .otlpTraces
        }
        guard paths.contains(request.path) else {
            return .error(.notFound, "no such resource: \(request.path); see docs/dashboard.md for the HTTP API")
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            return .error(.methodNotAllowed, "method \(request.method) is not allowed; this server answers GET and HEAD")
        }
        switch request.path {
        case "/", "/index.html": return .dashboard
        case "/metrics": return .metrics
        case "/healthz": return .healthz
        case "/readyz": return .readyz
        case "/api/v1/history":
            let unknown = request.query.first { $0.0 != BearerAuthorization.queryParameter }
            return unknown.map { .error(.badRequest, "unknown query parameter '\($0.0.prefix(64))'; /api/v1/history takes none") } ?? .history
        case "/api/v1/topology" where request.query.contains(where: { $0.0 == "at" }):
            switch parseAt(request.query) {
            case .success(let at): return .topologyAt(at)
            case .failure(let error): return .error(.badRequest, error.message)
            }
        case "/api/v1/events":
            switch parseEventsQuery(request.query) {
            case .success(let (since, limit)): return .events(since: since, limit: limit)
            case .failure(let error): return .error(.badRequest, error.message)
            }
        default: break
        }
        let query: TopologyQuery
        switch parseQuery(request.query) {
        case .success(let q): query = q
        case .failure(let error): return .error(.badRequest, error.message)
        }
        if request.path == "/api/v1/topology" { return .topology(query) }
        if request.path == "/api/v1/topology.dot" { return .dot(query) }
        if request.path == "/events" { return .seedEvents(query) }
        var resume: SSEEventID?
        if let header = request.header("last-event-id"), !header.isEmpty {
            resume = SSEEventID(parsing: header)
        } else if let param = request.query.last(where: { $0.0 == "last_event_id" })?.1, !param.isEmpty {
            resume = SSEEventID(parsing: param)
        }
        return .watch(query, resume: resume)
    }

    struct QueryError: Error { var message: String }

    /// The most events one read of `/api/v1/events` returns, and the number it returns unless asked.
    static let maxEventsLimit = 10_000
    static let defaultEventsLimit = 1_000

    /// `since` (a revision, default 0: from the oldest event kept) and `limit` (1 to 10000).
    static func parseEventsQuery(_ pairs: [(String, String)]) -> Result<(UInt64, Int), QueryError> {
        var since: UInt64 = 0
        var limit = defaultEventsLimit
        for (key, value) in pairs {
            switch key {
            case "since":
                guard let parsed = UInt64(value) else {
                    return .failure(QueryError(message: "since must be a revision (a decimal integer, 0 or more), not '\(value.prefix(64))'"))
                }
                since = parsed
            case "limit":
                guard let parsed = Int(value), (1 ... maxEventsLimit).contains(parsed) else {
                    return .failure(QueryError(message: "limit must be an integer from 1 to \(maxEventsLimit), not '\(value.prefix(64))'"))
                }
                limit = parsed
            case BearerAuthorization.queryParameter: break
            default:
                return .failure(QueryError(message: "unknown query parameter '\(key.prefix(64))'; accepted: since, limit"))
            }
        }
        return .success((since, limit))
    }

    /// `at` (Unix milliseconds), alone: the history keeps whole graphs, so filters do not apply.
    static func parseAt(_ pairs: [(String, String)]) -> Result<Int64, QueryError> {
        var at: Int64?
        for (key, value) in pairs {
            switch key {
            case "at":
                guard at == nil else { return .failure(QueryError(message: "at is given twice; give one time")) }
                guard let parsed = Int64(value), parsed >= 0 else {
                    return .failure(QueryError(message: "at must be a time in Unix milliseconds (a decimal integer, 0 or more), not '\(value.prefix(64))'"))
                }
                at = parsed
            case BearerAuthorization.queryParameter: break
            default:
                return .failure(QueryError(message: "'\(key.prefix(64))' cannot be combined with at: the history keeps whole graphs, so filter the graph it returns"))
            }
        }
        return .success(at!)
    }

    /// `service`, `state`, `environment`, `team`, `region`: repeatable, or comma-separated.
    /// States by name, with or without the `SERVICE_STATE_` prefix, any case. `label`: one label
    /// selector per parameter (`label=team=payments`, `label=canary`), repeatable, taken whole: a
    /// label value may hold a comma.
    static func parseQuery(_ pairs: [(String, String)]) -> Result<TopologyQuery, QueryError> {
        var query = TopologyQuery()
        for (key, raw) in pairs {
            if key == "label" {
                query.labelSelectors.append(raw)
                continue
            }
            let values = raw.split(separator: ",").map { String($0).trimmingCharacters(in: CharacterSetLite.whitespace) }.filter { !$0.isEmpty }
            switch key {
            case "service": query.serviceNames += values
            case "environment": query.environments += values
            case "team": query.teams += values
            case "region": query.regions += values
            case "state":
                for value in values {
                    let upper = value.uppercased()
                    let name = upper.hasPrefix("SERVICE_STATE_") ? upper : "SERVICE_STATE_" + upper
                    guard let state = ServiceState(protoName: name), state != .unspecified else {
                        return .failure(QueryError(message: "unknown state '\(value)'; expected REGISTERED, IDLE, ACTIVE, STALE or DEAD"))
                    }
                    query.states.append(state)
                }
            case "last_event_id", BearerAuthorization.queryParameter: break
            default:
                return .failure(QueryError(message: "unknown query parameter '\(key)'; accepted: service, state, environment, team, region, label"))
            }
        }
        return .success(query)
    }
}
