import TopologyWire

/// The six RPCs of `service TopologyService` (Schema/topology.proto, as the seed runtime declares
/// it), by their gRPC paths, and how each one's request message becomes the `Frame.Message` the
/// dispatcher takes.
enum GRPCMethod: String, CaseIterable {
    case registerService = "RegisterService"
    case heartbeat = "Heartbeat"
    case reportActivity = "ReportActivity"
    case unregisterService = "UnregisterService"
    case getTopology = "GetTopology"
    case watchTopology = "WatchTopology"

    static let servicePath = "/runtime.v1.TopologyService/"

    init?(path: String) {
        guard path.hasPrefix(Self.servicePath) else { return nil }
        self.init(rawValue: String(path.dropFirst(Self.servicePath.count)))
    }

    /// The client sends a stream of requests (otherwise exactly one).
    var clientStreams: Bool { self == .heartbeat || self == .reportActivity }

    /// The request message, decoded (the binary decoder's rules: UTF-8, bounds, unknown fields).
    func request(_ bytes: [UInt8]) throws -> Frame.Message {
        switch self {
        case .registerService: .registerServiceRequest(try RegisterServiceRequest(serializedBytes: bytes))
        case .heartbeat: .heartbeatRequest(try HeartbeatRequest(serializedBytes: bytes))
        case .reportActivity: .reportActivityRequest(try ReportActivityRequest(serializedBytes: bytes))
        case .unregisterService: .unregisterServiceRequest(try UnregisterServiceRequest(serializedBytes: bytes))
        case .getTopology: .getTopologyRequest(try GetTopologyRequest(serializedBytes: bytes))
        case .watchTopology: .watchTopologyRequest(try WatchTopologyRequest(serializedBytes: bytes))
        }
    }
}

extension Frame.Message {
    /// The encoded message a gRPC response carries.
    var serializedBytes: [UInt8] {
        switch self {
        case .registerServiceRequest(let m): m.serializedBytes()
        case .registerServiceResponse(let m): m.serializedBytes()
        case .heartbeatRequest(let m): m.serializedBytes()
        case .heartbeatResponse(let m): m.serializedBytes()
        case .reportActivityRequest(let m): m.serializedBytes()
        case .reportActivityResponse(let m): m.serializedBytes()
        case .unregisterServiceRequest(let m): m.serializedBytes()
        case .unregisterServiceResponse(let m): m.serializedBytes()
        case .getTopologyRequest(let m): m.serializedBytes()
        case .getTopologyResponse(let m): m.serializedBytes()
        case .watchTopologyRequest(let m): m.serializedBytes()
        case .watchTopologyResponse(let m): m.serializedBytes()
        case .authenticateRequest(let m): m.serializedBytes()
        case .authenticateResponse(let m): m.serializedBytes()
        }
    }
}
