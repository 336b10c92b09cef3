// The topology graph: nodes, edges, snapshots and the updates that move a watcher between them.

/// The whole (filtered) graph at one revision.
public struct TopologySnapshot: WireMessage {
    public static let protoMessageName = "runtime.v1.TopologySnapshot"

    public var nodes: [ServiceNode] = []
    public var edges: [ServiceEdge] = []
    public var timestampMs: Int64 = 0
    public var revision: UInt64 = 0
    public var serverEpoch: String = ""

    public init() {}

    public init(
        nodes: [ServiceNode] = [],
        edges: [ServiceEdge] = [],
        timestampMs: Int64 = 0,
        revision: UInt64 = 0,
        serverEpoch: String = ""
    ) {
        self.nodes = nodes
        self.edges = edges
        self.timestampMs = timestampMs
        self.revision = revision
        self.serverEpoch = serverEpoch
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.repeatedMessage(nodes, FieldID(1, "nodes"))
        visitor.repeatedMessage(edges, FieldID(2, "edges"))
        visitor.int64(timestampMs, FieldID(3, "timestampMs"))
        visitor.uint64(revision, FieldID(20, "revision"))
        visitor.string(serverEpoch, FieldID(21, "serverEpoch"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&nodes)
        case 2: return try decoder.decode(&edges)
        case 3: return try decoder.decode(&timestampMs)
        case 20: return try decoder.decode(&revision)
        case 21: return try decoder.decode(&serverEpoch)
        default: return false
        }
    }
}

/// A registered service as the server sees it.
public struct ServiceNode: WireMessage {
    public static let protoMessageName = "runtime.v1.ServiceNode"

    public var serviceId: String = ""
    public var serviceName: String = ""
    public var serviceType: ServiceType = .unspecified
    public var language: ServiceLanguage = .unspecified
    public var version: String? = nil
    public var address: String? = nil
    public var host: String? = nil
    /// Out of line: inline, its seven optional strings (112 bytes) were a third of every node the
    /// server holds, and most services send none.
    private var metadataStorage: OutOfLine<ServiceMetadata>? = nil
    public var metadata: ServiceMetadata? {
        get { metadataStorage?.value }
        set { metadataStorage = newValue.map { .value($0) } }
    }
    public var state: ServiceState = .unspecified
    public var lastHeartbeatMs: Int64 = 0
    public var lastActivityMs: Int64 = 0
    public var health: HealthState = .unknown
    public var metrics: ServiceMetrics? = nil
    public var healthDetail: ApplicationHealth? = nil
    public var registeredMs: Int64 = 0
    /// Empty for most services: an empty dictionary is a shared singleton, so a node without labels
    /// costs one word here and no allocation.
    public var labels: [String: String] = [:]
    /// Known only from spans (OTLP), never registered.
    public var observed: Bool = false

    public init() {}

    public init(
        serviceId: String = "",
        serviceName: String = "",
        serviceType: ServiceType = .unspecified,
        language: ServiceLanguage = .unspecified,
        version: String? = nil,
        address: String? = nil,
        host: String? = nil,
        metadata: ServiceMetadata? = nil,
        state: ServiceState = .unspecified,
        lastHeartbeatMs: Int64 = 0,
        lastActivityMs: Int64 = 0,
        health: HealthState = .unknown,
        metrics: ServiceMetrics? = nil,
        healthDetail: ApplicationHealth? = nil,
        registeredMs: Int64 = 0,
        labels: [String: String] = [:],
        observed: Bool = false
    ) {
        self.serviceId = serviceId
        self.serviceName = serviceName
        self.serviceType = serviceType
        self.language = language
        self.version = version
        self.address = address
        self.host = host
        self.metadata = metadata
        self.state = state
        self.lastHeartbeatMs = lastHeartbeatMs
        self.lastActivityMs = lastActivityMs
        self.health = health
        self.metrics = metrics
        self.healthDetail = healthDetail
        self.registeredMs = registeredMs
        self.labels = labels
        self.observed = observed
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.string(serviceId, FieldID(1, "serviceId"))
        visitor.string(serviceName, FieldID(2, "serviceName"))
        visitor.enumValue(serviceType, FieldID(3, "serviceType"))
        visitor.enumValue(language, FieldID(4, "language"))
        visitor.string(version, FieldID(5, "version"))
        visitor.string(address, FieldID(6, "address"))
        visitor.string(host, FieldID(7, "host"))
        visitor.message(metadata, FieldID(8, "metadata"))
        visitor.enumValue(state, FieldID(9, "state"))
        visitor.int64(lastHeartbeatMs, FieldID(10, "lastHeartbeatMs"))
        visitor.int64(lastActivityMs, FieldID(11, "lastActivityMs"))
        visitor.enumValue(health, FieldID(12, "health"))
        visitor.message(metrics, FieldID(20, "metrics"))
        visitor.message(healthDetail, FieldID(21, "healthDetail"))
        visitor.int64(registeredMs, FieldID(22, "registeredMs"))
        visitor.stringMap(labels, FieldID(23, "labels"))
        visitor.bool(observed, FieldID(24, "observed"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&serviceId)
        case 2: return try decoder.decode(&serviceName)
        case 3: return try decoder.decode(&serviceType)
        case 4: return try decoder.decode(&language)
        case 5: return try decoder.decode(&version)
        case 6: return try decoder.decode(&address)
        case 7: return try decoder.decode(&host)
        case 8: return try decoder.decode(&metadata)
        case 9: return try decoder.decode(&state)
        case 10: return try decoder.decode(&lastHeartbeatMs)
        case 11: return try decoder.decode(&lastActivityMs)
        case 12: return try decoder.decode(&health)
        case 20: return try decoder.decode(&metrics)
        case 21: return try decoder.decode(&healthDetail)
        case 22: return try decoder.decode(&registeredMs)
        case 23: return try decoder.decode(&labels)
        case 24: return try decoder.decode(&observed)
        default: return false
        }
    }
}

/// Calls from one service to a target, aggregated.
public struct ServiceEdge: WireMessage {
    public static let protoMessageName = "runtime.v1.ServiceEdge"

    public var sourceServiceId: String = ""
    public var targetService: String = ""
    public var state: ConnectionState = .unspecified
    public var lastActivityMs: Int64 = 0
    public var totalRequests: UInt64 = 0
    public var totalErrors: UInt64 = 0
    public var avgLatencyMs: Double = 0
    public var rps: Double = 0
    public var targetServiceId: String = ""
    public var errorRate: Double = 0
    public var latencyP50Ms: Double = 0
    public var latencyP95Ms: Double = 0
    public var latencyP99Ms: Double = 0

    public init() {}

    public init(
        sourceServiceId: String = "",
        targetService: String = "",
        state: ConnectionState = .unspecified,
        lastActivityMs: Int64 = 0,
        totalRequests: UInt64 = 0,
        totalErrors: UInt64 = 0,
        avgLatencyMs: Double = 0,
        rps: Double = 0,
        targetServiceId: String = "",
        errorRate: Double = 0,
        latencyP50Ms: Double = 0,
        latencyP95Ms: Double = 0,
        latencyP99Ms: Double = 0
    ) {
        self.sourceServiceId = sourceServiceId
        self.targetService = targetService
        self.state = state
        self.lastActivityMs = lastActivityMs
        self.totalRequests = totalRequests
        self.totalErrors = totalErrors
        self.avgLatencyMs = avgLatencyMs
        self.rps = rps
        self.targetServiceId = targetServiceId
        self.errorRate = errorRate
        self.latencyP50Ms = latencyP50Ms
        self.latencyP95Ms = latencyP95Ms
        self.latencyP99Ms = latencyP99Ms
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.string(sourceServiceId, FieldID(1, "sourceServiceId"))
        visitor.string(targetService, FieldID(2, "targetService"))
        visitor.enumValue(state, FieldID(3, "state"))
        visitor.int64(lastActivityMs, FieldID(4, "lastActivityMs"))
        visitor.uint64(totalRequests, FieldID(5, "totalRequests"))
        visitor.uint64(totalErrors, FieldID(6, "totalErrors"))
        visitor.double(avgLatencyMs, FieldID(7, "avgLatencyMs"))
        visitor.double(rps, FieldID(8, "rps"))
        visitor.string(targetServiceId, FieldID(20, "targetServiceId"))
        visitor.double(errorRate, FieldID(21, "errorRate"))
        visitor.double(latencyP50Ms, FieldID(22, "latencyP50Ms"))
        visitor.double(latencyP95Ms, FieldID(23, "latencyP95Ms"))
        visitor.double(latencyP99Ms, FieldID(24, "latencyP99Ms"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&sourceServiceId)
        case 2: return try decoder.decode(&targetService)
        case 3: return try decoder.decode(&state)
        case 4: return try decoder.decode(&lastActivityMs)
        case 5: return try decoder.decode(&totalRequests)
        case 6: return try decoder.decode(&totalErrors)
        case 7: return try decoder.decode(&avgLatencyMs)
        case 8: return try decoder.decode(&rps)
        case 20: return try decoder.decode(&targetServiceId)
        case 21: return try decoder.decode(&errorRate)
        case 22: return try decoder.decode(&latencyP50Ms)
        case 23: return try decoder.decode(&latencyP95Ms)
        case 24: return try decoder.decode(&latencyP99Ms)
        default: return false
        }
    }
}

/// One change on a watch stream, at `revision` (a Topology addition, strictly increasing).
public struct TopologyUpdate: WireMessage {
    public static let protoMessageName = "runtime.v1.TopologyUpdate"

    public var type: UpdateType = .unspecified
    public var node: ServiceNode? = nil
    public var edge: ServiceEdge? = nil
    public var snapshot: TopologySnapshot? = nil
    public var revision: UInt64 = 0
    public var coalesced: Bool = false
    public var resync: Bool = false

    public init() {}

    public init(
        type: UpdateType = .unspecified,
        node: ServiceNode? = nil,
        edge: ServiceEdge? = nil,
        snapshot: TopologySnapshot? = nil,
        revision: UInt64 = 0,
        coalesced: Bool = false,
        resync: Bool = false
    ) {
        self.type = type
        self.node = node
        self.edge = edge
        self.snapshot = snapshot
        self.revision = revision
        self.coalesced = coalesced
        self.resync = resync
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.enumValue(type, FieldID(1, "type"))
        visitor.message(node, FieldID(2, "node"))
        visitor.message(edge, FieldID(3, "edge"))
        visitor.message(snapshot, FieldID(4, "snapshot"))
        visitor.uint64(revision, FieldID(20, "revision"))
        visitor.bool(coalesced, FieldID(21, "coalesced"))
        visitor.bool(resync, FieldID(22, "resync"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&type)
        case 2: return try decoder.decode(&node)
        case 3: return try decoder.decode(&edge)
        case 4: return try decoder.decode(&snapshot)
        case 20: return try decoder.decode(&revision)
        case 21: return try decoder.decode(&coalesced)
        case 22: return try decoder.decode(&resync)
        default: return false
        }
    }
}
