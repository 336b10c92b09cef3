// GetTopology (unary) and WatchTopology (server stream) requests and responses.

/// Which nodes (and the edges from them) a caller wants; empty lists match everything.
/// `includeIdle` and `includeStale` are accepted and ignored, as in the existing runtime.
public struct TopologyQuery: WireMessage {
    public static let protoMessageName = "runtime.v1.TopologyQuery"

    public var serviceNames: [String] = []
    public var includeIdle: Bool = false
    public var includeStale: Bool = false
    public var states: [ServiceState] = []
    public var environments: [String] = []
    public var teams: [String] = []
    public var regions: [String] = []
    /// "key=value" (that value) or "key" (any value); a node must match all of them.
    public var labelSelectors: [String] = []

    public init() {}

    public init(
        serviceNames: [String] = [],
        includeIdle: Bool = false,
        includeStale: Bool = false,
        states: [ServiceState] = [],
        environments: [String] = [],
        teams: [String] = [],
        regions: [String] = [],
        labelSelectors: [String] = []
    ) {
        self.serviceNames = serviceNames
        self.includeIdle = includeIdle
        self.includeStale = includeStale
        self.states = states
        self.environments = environments
        self.teams = teams
        self.regions = regions
        self.labelSelectors = labelSelectors
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.repeatedString(serviceNames, FieldID(1, "serviceNames"))
        visitor.bool(includeIdle, FieldID(2, "includeIdle"))
        visitor.bool(includeStale, FieldID(3, "includeStale"))
        visitor.packedEnum(states, FieldID(20, "states"))
        visitor.repeatedString(environments, FieldID(21, "environments"))
        visitor.repeatedString(teams, FieldID(22, "teams"))
        visitor.repeatedString(regions, FieldID(23, "regions"))
        visitor.repeatedString(labelSelectors, FieldID(24, "labelSelectors"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&serviceNames)
        case 2: return try decoder.decode(&includeIdle)
        case 3: return try decoder.decode(&includeStale)
        case 20: return try decoder.decode(&states)
        case 21: return try decoder.decode(&environments)
        case 22: return try decoder.decode(&teams)
        case 23: return try decoder.decode(&regions)
        case 24: return try decoder.decode(&labelSelectors)
        default: return false
        }
    }
}

/// Asks for one snapshot.
public struct GetTopologyRequest: WireMessage {
    public static let protoMessageName = "runtime.v1.GetTopologyRequest"

    public var query: TopologyQuery? = nil

    public init() {}

    public init(
        query: TopologyQuery? = nil
    ) {
        self.query = query
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.message(query, FieldID(1, "query"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&query)
        default: return false
        }
    }
}

/// One snapshot.
public struct GetTopologyResponse: WireMessage {
    public static let protoMessageName = "runtime.v1.GetTopologyResponse"

    public var snapshot: TopologySnapshot? = nil

    public init() {}

    public init(
        snapshot: TopologySnapshot? = nil
    ) {
        self.snapshot = snapshot
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.message(snapshot, FieldID(1, "snapshot"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&snapshot)
        default: return false
        }
    }
}

/// Opens a watch; `resumeAfterRevision` (a Topology addition) resumes a lost one.
public struct WatchTopologyRequest: WireMessage {
    public static let protoMessageName = "runtime.v1.WatchTopologyRequest"

    public var query: TopologyQuery? = nil
    public var resumeAfterRevision: UInt64? = nil
    public var resumeServerEpoch: String = ""

    public init() {}

    public init(
        query: TopologyQuery? = nil,
        resumeAfterRevision: UInt64? = nil,
        resumeServerEpoch: String = ""
    ) {
        self.query = query
        self.resumeAfterRevision = resumeAfterRevision
        self.resumeServerEpoch = resumeServerEpoch
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.message(query, FieldID(1, "query"))
        visitor.uint64(resumeAfterRevision, FieldID(20, "resumeAfterRevision"))
        visitor.string(resumeServerEpoch, FieldID(21, "resumeServerEpoch"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&query)
        case 20: return try decoder.decode(&resumeAfterRevision)
        case 21: return try decoder.decode(&resumeServerEpoch)
        default: return false
        }
    }
}

/// One update on a watch stream.
public struct WatchTopologyResponse: WireMessage {
    public static let protoMessageName = "runtime.v1.WatchTopologyResponse"

    public var update: TopologyUpdate? = nil

    public init() {}

    public init(
        update: TopologyUpdate? = nil
    ) {
        self.update = update
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.message(update, FieldID(1, "update"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&update)
        default: return false
        }
    }
}
