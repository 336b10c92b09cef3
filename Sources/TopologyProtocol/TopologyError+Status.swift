import TopologyCore
import TopologyWire

extension TopologyError {
    /// The Status sent for a refusal. The core's own, except that a limit is named by the flag that
    /// sets it (`limitFlag` maps a configuration field to its flag): the person reading the message
    /// runs the server, not the core.
    public func status(limitFlag: (String) -> String?) -> Status {
        guard case let .resourceExhausted(limit, value) = self, let flag = limitFlag(limit) else { return status }
        return Status(code: .resourceExhausted, message: "limit reached: \(flag) is \(value); retry later, or raise \(flag)")
    }
}
