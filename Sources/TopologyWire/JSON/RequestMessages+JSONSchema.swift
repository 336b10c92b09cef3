// The proto3 JSON field tables of the six RPCs' requests and the messages inside them
// (Schema/topology.proto). Numbers and kinds as in each message's `traverse`; JSONRoundTripTests
// checks every field of every one.

extension ServiceMetadata: JSONDecodableMessage {
    public static let jsonSchema = JSONMessageSchema(protoMessageName, [
        JSONField(1, "region", .string), JSONField(2, "environment", .string), JSONField(3, "team", .string),
        JSONField(4, "versionHash", .string), JSONField(5, "serviceInterface", .string),
        JSONField(6, "serviceRole", .string), JSONField(7, "programName", .string),
    ])
}

extension ServiceMetrics: JSONDecodableMessage {
    public static let jsonSchema = JSONMessageSchema(protoMessageName, [
        JSONField(1, "cpuPercent", .double), JSONField(2, "memoryBytes", .uint64),
    ])
}

extension ApplicationHealth: JSONDecodableMessage {
    public static let jsonSchema = JSONMessageSchema(protoMessageName, [
        JSONField(1, "state", .enumeration(HealthState.protoNames)), JSONField(2, "message", .string),
        JSONField(3, "errorCount", .int32),
    ])
}

extension RegisterServiceRequest: JSONDecodableMessage {
    public static let jsonSchema = JSONMessageSchema(protoMessageName, [
        JSONField(1, "serviceName", .string), JSONField(2, "serviceType", .enumeration(ServiceType.protoNames)),
        JSONField(3, "language", .enumeration(ServiceLanguage.protoNames)), JSONField(4, "version", .string),
        JSONField(5, "address", .string), JSONField(6, "host", .string),
        JSONField(7, "metadata", .message(ServiceMetadata.jsonSchema)), JSONField(20, "serviceId", .string),
        JSONField(21, "labels", .stringMap),
    ])
}

extension HeartbeatRequest: JSONDecodableMessage {
    public static let jsonSchema = JSONMessageSchema(protoMessageName, [
        JSONField(1, "serviceId", .string), JSONField(2, "sequence", .int64),
        JSONField(3, "metrics", .message(ServiceMetrics.jsonSchema)),
        JSONField(4, "health", .message(ApplicationHealth.jsonSchema)),
    ])
}

extension LatencyHistogram: JSONDecodableMessage {
    public static let jsonSchema = JSONMessageSchema(protoMessageName, [
        JSONField(1, "indexes", .sint32, repeated: true), JSONField(2, "counts", .uint64, repeated: true),
        JSONField(3, "zeroCount", .uint64),
    ])
}

extension ReportActivityRequest: JSONDecodableMessage {
    public static let jsonSchema = JSONMessageSchema(protoMessageName, [
        JSONField(1, "serviceId", .string), JSONField(2, "targetService", .string),
        JSONField(3, "type", .enumeration(ActivityType.protoNames)), JSONField(4, "timestampMs", .int64),
        JSONField(5, "latencyMs", .int32), JSONField(6, "method", .string), JSONField(7, "success", .bool),
        JSONField(8, "batchSize", .int32), JSONField(9, "errorMessage", .string),
        JSONField(20, "latencyHistogram", .message(LatencyHistogram.jsonSchema)), JSONField(21, "errorCount", .int32),
    ])
}

extension UnregisterServiceRequest: JSONDecodableMessage {
    public static let jsonSchema = JSONMessageSchema(protoMessageName, [JSONField(1, "serviceId", .string)])
}

extension TopologyQuery: JSONDecodableMessage {
    public static let jsonSchema = JSONMessageSchema(protoMessageName, [
        JSONField(1, "serviceNames", .string, repeated: true), JSONField(2, "includeIdle", .bool),
        JSONField(3, "includeStale", .bool), JSONField(20, "states", .enumeration(ServiceState.protoNames), repeated: true),
        JSONField(21, "environments", .string, repeated: true), JSONField(22, "teams", .string, repeated: true),
        JSONField(23, "regions", .string, repeated: true), JSONField(24, "labelSelectors", .string, repeated: true),
    ])
}

extension GetTopologyRequest: JSONDecodableMessage {
    public static let jsonSchema = JSONMessageSchema(protoMessageName, [
        JSONField(1, "query", .message(TopologyQuery.jsonSchema)),
    ])
}

extension WatchTopologyRequest: JSONDecodableMessage {
    public static let jsonSchema = JSONMessageSchema(protoMessageName, [
        JSONField(1, "query", .message(TopologyQuery.jsonSchema)), JSONField(20, "resumeAfterRevision", .uint64),
        JSONField(21, "resumeServerEpoch", .string),
    ])
}
