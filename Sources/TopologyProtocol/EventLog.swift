/// Where the protocol logic's log lines go: the server's `Logger` (which stamps and writes them),
/// or a test's list. The level is checked here, so a line below it costs neither its fields nor a
/// call.
public struct EventLog {
    public let level: LogLevel
    private let write: (LogLevel, String, KeyValuePairs<String, String>) -> Void

    public init(level: LogLevel, write: @escaping (LogLevel, String, KeyValuePairs<String, String>) -> Void) {
        self.level = level
        self.write = write
    }

    public func enabled(_ level: LogLevel) -> Bool { level >= self.level }

    public func log(_ level: LogLevel, _ message: String, _ fields: KeyValuePairs<String, String>) {
        if enabled(level) { write(level, message, fields) }
    }

    public func debug(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.warning, message, fields) }
}
