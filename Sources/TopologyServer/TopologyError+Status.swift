import TopologyCore
import TopologyWire

extension TopologyError {
    /// The Status the server sends for a refusal. The core's own, except that a limit is named by
    /// the flag that sets it: the person reading the message runs the server, not the core.
    var serverStatus: Status {
        guard case let .resourceExhausted(limit, value) = self,
              let flag = CommandLineOptions.flag(forConfigurationField: limit)
        else { return status }
        return Status(code: .resourceExhausted, message: "limit reached: \(flag) is \(value); retry later, or raise \(flag)")
    }
}
