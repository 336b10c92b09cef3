import TopologyWire

/// Why the core refused a request. Each case maps to one gRPC status code (`status`).
public enum TopologyError: Error, Equatable, Sendable {
    /// A request field is missing, too long or malformed; `field` is its proto name.
    case invalidArgument(field: String, reason: String)
    /// No live service has this id (never registered, unregistered, dead, or lost in a restart).
    case notFound(serviceId: String)
    /// A configured limit is reached; `limit` names the configuration field, `value` its value.
    case resourceExhausted(limit: String, value: Int)

    /// The status code and a message a person can act on.
    public var status: Status {
        switch self {
        case let .invalidArgument(field, reason):
            return Status(code: .invalidArgument, message: "invalid \(field): \(reason)")
        case let .notFound(serviceId):
            return Status(
                code: .notFound,
                message: "unknown service id '\(serviceId)': it was never registered, was unregistered or declared DEAD, or the server restarted; register again (pass the id in service_id to keep it)")
        case let .resourceExhausted(limit, value):
            return Status(
                code: .resourceExhausted,
                message: "limit reached: \(limit) = \(value); retry later or raise the server's \(limit)")
        }
    }
}
