/// Every message type of the schema, by protobuf name: for tools that pick a decoder at run time
/// (the differential-test probe, fuzz targets).
public enum MessageRegistry {
    public static let allTypes: [any WireMessage.Type] = [
        ServiceMetadata.self, ServiceMetrics.self, ApplicationHealth.self,
        RegisterServiceRequest.self, ServiceHandle.self, RegisterServiceResponse.self,
        HeartbeatRequest.self, HeartbeatResponse.self,
        LatencyHistogram.self, ReportActivityRequest.self, ReportActivityResponse.self,
        UnregisterServiceRequest.self, UnregisterServiceResponse.self,
        TopologyQuery.self, GetTopologyRequest.self, GetTopologyResponse.self,
        WatchTopologyRequest.self, WatchTopologyResponse.self,
        TopologySnapshot.self, ServiceNode.self, ServiceEdge.self, TopologyUpdate.self,
        AuthenticateRequest.self, AuthenticateResponse.self,
        Status.self, Frame.self,
    ]

    /// The type named `name`, with or without the `runtime.v1.` package prefix.
    public static func type(named name: String) -> (any WireMessage.Type)? {
        let fullName = name.hasPrefix("runtime.v1.") ? name : "runtime.v1." + name
        return allTypes.first { $0.protoMessageName == fullName }
    }
}
