import TopologyCore
import TopologyProtocol
import TopologyWire

extension TopologyError {
    /// The Status the server sends for a refusal, limits named by their command-line flags.
    var serverStatus: Status { status(limitFlag: CommandLineOptions.flag(forConfigurationField:)) }
}
