import TopologyWire

/// The methods served over gRPC: the six RPCs of `service TopologyService` (Schema/topology.proto,
/// as the seed runtime declares it), by their names, and how each one's request message becomes the
/// `Frame.Message` the dispatcher takes; and OTLP's trace export (`TraceService/Export`, by its
/// whole path), which is no RPC of ours and goes to `RPCDispatcher.exportTraces` instead.
enum GRPCMethod: String, CaseIterable {
    case registerService = "RegisterService"
    case heartbeat = "Heartbeat"
    case reportActivity = "ReportActivity"
    case unregisterService = "UnregisterService"
    case getTopology = "GetTopology"
    case watchTopology = "WatchTopology"
    case traceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

    static let servicePath = "/runtime.v1.TopologyService/"

    /// The methods of TopologyService (Connect serves these, and only these).
    static let topologyService = allCases.filter { $0 != .traceExport }

    init?(path: String) {
        if path == OTLPExport.grpcPath {
            self = .traceExport
            return
        }
        guard path.hasPrefix(Self.servicePath) else { return nil }
        self.init(topologyMethod: String(path.dropFirst(Self.servicePath.count)))
    }

    /// A method of TopologyService by its name (`GetTopology`).
    init?(topologyMethod name: String) {
        guard let method = GRPCMethod(rawValue: name), method != .traceExport else { return nil }
        self = method
    }

    /// Every path served, for the message that answers an unknown one.
    static var pathList: String {
        servicePath + "{" + topologyService.map(\.rawValue).joined(separator: ", ") + "}, " + OTLPExport.grpcPath
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
        case .traceExport: preconditionFailure("TraceService/Export is served by RPCDispatcher.exportTraces, not as a Frame")
        }
    }
}

extension Frame.Message {
    /// The encoded message a gRPC or Connect response carries.
    var serializedBytes: [UInt8] { withMessage { $0.serializedBytes() } }

    /// The message in the proto3 JSON mapping (a Connect JSON response).
    var jsonUTF8: [UInt8] { withMessage { $0.jsonUTF8() } }

    private func withMessage<R>(_ body: (any WireMessage) -> R) -> R {
        switch self {
        case .registerServiceRequest(let m): body(m)
        case .registerServiceResponse(let m): body(m)
        case .heartbeatRequest(let m): body(m)
        case .heartbeatResponse(let m): body(m)
        case .reportActivityRequest(let m): body(m)
        case .reportActivityResponse(let m): body(m)
        case .unregisterServiceRequest(let m): body(m)
        case .unregisterServiceResponse(let m): body(m)
        case .getTopologyRequest(let m): body(m)
        case .getTopologyResponse(let m): body(m)
        case .watchTopologyRequest(let m): body(m)
        case .watchTopologyResponse(let m): body(m)
        case .authenticateRequest(let m): body(m)
        case .authenticateResponse(let m): body(m)
        }
    }
}
