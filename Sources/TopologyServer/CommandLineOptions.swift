import TopologyCore
import TopologyProtocol

/// What the command line asks for.
public enum CommandLineAction: Equatable {
    case run(ServerConfiguration)
    case help(String)
    case version(String)
}

/// A bad flag or value: one line naming it and the accepted form (the executable exits 2).
public struct CommandLineError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// `topology-server` flags. Every flag `--some-flag` can also be set as the environment variable
/// `TOPOLOGY_SOME_FLAG`; a flag on the command line wins over the environment.
public enum CommandLineOptions {
    struct Option: Sendable {
        let flag: String
        let form: String
        let help: String
        let apply: @Sendable (inout ServerConfiguration, String) -> Bool

        var environmentName: String {
            "TOPOLOGY_" + flag.dropFirst(2).uppercased().replacingOccurrences(of: "-", with: "_")
        }
    }

    /// The flag that sets a `TopologyConfiguration` field (`maxServices` -> `--max-services`), if
    /// there is one.
    static func flag(forConfigurationField field: String) -> String? {
        var flag = "--"
        for character in field {
            if character.isUppercase { flag += "-" }
            flag += character.lowercased()
        }
        return options.contains { $0.flag == flag } ? flag : nil
    }

    static func integer<T: FixedWidthInteger>(_ text: String, min: T, max: T = .max) -> T? {
        guard let value = T(text), value >= min, value <= max else { return nil }
        return value
    }

    /// Durations stop at Int32.max ms (24.8 days): the core adds them to times and to each other
    /// (deadlines, 2 x idle timeout), and the wire carries the heartbeat interval as an int32.
    static func milliseconds(_ text: String, min: Int64) -> Int64? {
        integer(text, min: min, max: Int64(Int32.max))
    }

    static let options: [Option] = [
        Option(flag: "--address", form: "HOST:PORT (IPv4) or [IPV6]:PORT; port 0 picks a free port",
               help: "where to listen (default 127.0.0.1:50053)") { c, v in
            guard let a = ListenAddress(parsing: v) else { return false }
            c.address = a; return true
        },
        Option(flag: "--http-address", form: "HOST:PORT (IPv4) or [IPV6]:PORT, or empty to disable HTTP",
               help: "HTTP dashboard and API (default 127.0.0.1:50054)") { c, v in
            c.httpAddressIsDefault = false
            if v.isEmpty { c.httpAddress = nil; return true }
            guard let a = ListenAddress(parsing: v) else { return false }
            c.httpAddress = a; return true
        },
        Option(flag: "--http-request-timeout-ms", form: "an integer of milliseconds, 1 to 2147483647",
               help: "HTTP request/response deadline (default 10000)") { c, v in
            guard let n = milliseconds(v, min: 1) else { return false }
            c.httpRequestTimeoutMs = n; return true
        },
        Option(flag: "--max-http-connections", form: "an integer, 1 or more",
               help: "open HTTP connections at most (default 256)") { c, v in
            guard let n: Int = integer(v, min: 1) else { return false }
            c.maxHTTPConnections = n; return true
        },
        Option(flag: "--sse-comment-interval-ms", form: "an integer of milliseconds, 1 to 2147483647",
               help: "SSE keep-alive comment period (default 15000)") { c, v in
            guard let n = milliseconds(v, min: 1) else { return false }
            c.sseCommentIntervalMs = n; return true
        },
        Option(flag: "--heartbeat-interval-ms", form: "an integer of milliseconds, 1 to 2147483647",
               help: "how often services heartbeat (default 5000)") { c, v in
            guard let n = milliseconds(v, min: 1) else { return false }
            c.topology.heartbeatIntervalMs = n; return true
        },
        Option(flag: "--timeout-multiplier", form: "an integer, 1 to 1000",
               help: "missed intervals to DEAD; STALE at 2 (default 3)") { c, v in
            guard let n: Int64 = integer(v, min: 1, max: 1000) else { return false }
            c.topology.timeoutMultiplier = n; return true
        },
        Option(flag: "--idle-timeout-ms", form: "an integer of milliseconds, 1 to 2147483647",
               help: "quiet this long: ACTIVE -> IDLE (default 30000)") { c, v in
            guard let n = milliseconds(v, min: 1) else { return false }
            c.topology.idleTimeoutMs = n; return true
        },
        Option(flag: "--activity-flush-ms", form: "an integer of milliseconds, 1 to 2147483647",
               help: "activity aggregation period (default 1000)") { c, v in
            guard let n = milliseconds(v, min: 1) else { return false }
            c.topology.activityFlushMs = n; return true
        },
        Option(flag: "--node-update-throttle-ms", form: "an integer of milliseconds, 0 to 2147483647",
               help: "min gap of heartbeat node updates (default 5000)") { c, v in
            guard let n = milliseconds(v, min: 0) else { return false }
            c.topology.nodeUpdateThrottleMs = n; return true
        },
        Option(flag: "--rps-window-ms", form: "an integer of milliseconds, 1 to 2147483647",
               help: "edge rps and latency window (default 5000)") { c, v in
            guard let n = milliseconds(v, min: 1) else { return false }
            c.topology.rpsWindowMs = n; return true
        },
        Option(flag: "--unresolved-edge-timeout-ms", form: "an integer of milliseconds, 1 to 2147483647",
               help: "forget edges to unknown targets after this (default: 2 x --idle-timeout-ms)") { c, v in
            guard let n = milliseconds(v, min: 1) else { return false }
            c.topology.unresolvedEdgeTimeoutMs = n; return true
        },
        Option(flag: "--progress-interval-ms", form: "an integer of milliseconds, 1 to 2147483647",
               help: "PROGRESS period of a quiet watch (default 5000)") { c, v in
            guard let n = milliseconds(v, min: 1) else { return false }
            c.topology.progressIntervalMs = n; return true
        },
        Option(flag: "--max-frame-bytes", form: "an integer of bytes, 64 to 67108864",
               help: "largest client frame (default 1048576)") { c, v in
            guard let n: Int = integer(v, min: 64, max: 64 << 20) else { return false }
            c.maxFrameBytes = n; return true
        },
        Option(flag: "--max-connections", form: "an integer, 1 or more",
               help: "open connections at most (default 10000)") { c, v in
            guard let n: Int = integer(v, min: 1) else { return false }
            c.maxConnections = n; return true
        },
        Option(flag: "--max-services", form: "an integer, 1 or more",
               help: "registered services at most (default 200000)") { c, v in
            guard let n: Int = integer(v, min: 1) else { return false }
            c.topology.maxServices = n; return true
        },
        Option(flag: "--max-edges-per-service", form: "an integer, 1 or more",
               help: "call targets per service (default 10000)") { c, v in
            guard let n: Int = integer(v, min: 1) else { return false }
            c.topology.maxEdgesPerService = n; return true
        },
        Option(flag: "--max-calls-per-connection", form: "an integer, 1 or more",
               help: "open streams per connection (default 1000)") { c, v in
            guard let n: Int = integer(v, min: 1) else { return false }
            c.maxCallsPerConnection = n; return true
        },
        Option(flag: "--max-watchers", form: "an integer, 1 or more",
               help: "open watch streams at most (default 1000)") { c, v in
            guard let n: Int = integer(v, min: 1) else { return false }
            c.topology.maxWatchers = n; return true
        },
        Option(flag: "--watch-buffer-limit", form: "an integer, 1 or more",
               help: "queued updates per watcher (default 1024)") { c, v in
            guard let n: Int = integer(v, min: 1) else { return false }
            c.topology.watchBufferLimit = n; return true
        },
        Option(flag: "--max-outbound-bytes", form: "an integer of bytes, 4096 or more",
               help: "unread bytes per connection (default 4194304)") { c, v in
            guard let n: Int = integer(v, min: 4096) else { return false }
            c.maxOutboundBytes = n; return true
        },
        Option(flag: "--first-frame-timeout-ms", form: "an integer of milliseconds, 1 to 2147483647",
               help: "first frame deadline (default 10000)") { c, v in
            guard let n = milliseconds(v, min: 1) else { return false }
            c.firstFrameTimeoutMs = n; return true
        },
        Option(flag: "--frame-timeout-ms", form: "an integer of milliseconds, 1 to 2147483647",
               help: "deadline of a begun frame (default 30000)") { c, v in
            guard let n = milliseconds(v, min: 1) else { return false }
            c.frameTimeoutMs = n; return true
        },
        Option(flag: "--tcp-keepalive-ms", form: "0 (off), or an integer of milliseconds, 1000 to 32767000",
               help: "TCP keepalive idle time, 0: off (default 30000)") { c, v in
            guard let n: Int64 = integer(v, min: 0, max: 32_767_000), n == 0 || n >= 1000 else { return false }
            c.tcpKeepaliveMs = n; return true
        },
        Option(flag: "--max-service-name-bytes", form: "an integer of bytes, 1 or more",
               help: "longest service name (default 256)") { c, v in
            guard let n: Int = integer(v, min: 1) else { return false }
            c.topology.maxServiceNameBytes = n; return true
        },
        Option(flag: "--max-string-bytes", form: "an integer of bytes, 1 or more",
               help: "longest other string field (default 1024)") { c, v in
            guard let n: Int = integer(v, min: 1) else { return false }
            c.topology.maxStringBytes = n; return true
        },
        Option(flag: "--auth-token-file", form: "the path of a file holding the token, or empty for no authentication",
               help: "token clients must present (docs/security.md)") { c, v in
            c.authTokenFile = v.isEmpty ? nil : v; return true
        },
        Option(flag: "--log-level", form: "debug, info, warn or error",
               help: "least severe level logged (default info)") { c, v in
            guard let level = LogLevel(name: v) else { return false }
            c.logLevel = level; return true
        },
    ]

    /// Parses `arguments` (without the program name) over `environment`.
    public static func parse(_ arguments: [String], environment: [String: String]) throws(CommandLineError) -> CommandLineAction {
        var configuration = ServerConfiguration()
        configuration.httpAddress = ListenAddress(host: "127.0.0.1", port: 50054, family: .ipv4)
        configuration.httpAddressIsDefault = true
        for option in options {
            if let value = environment[option.environmentName] {
                guard option.apply(&configuration, value) else {
                    throw CommandLineError(message: "invalid \(option.environmentName)=\(value): expected \(option.form)")
                }
            }
        }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--help" || argument == "-h" { return .help(helpText) }
            if argument == "--version" { return .version("topology-server \(topologyServerVersion)") }
            var name = argument
            var value: String?
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            guard let option = options.first(where: { $0.flag == name }) else {
                throw CommandLineError(message: "unknown flag \(name): see --help for the accepted flags")
            }
            if value == nil {
                guard index < arguments.count else {
                    throw CommandLineError(message: "\(name) needs a value: \(option.form)")
                }
                value = arguments[index]
                index += 1
            }
            guard option.apply(&configuration, value!) else {
                throw CommandLineError(message: "invalid \(name) \(value!): expected \(option.form)")
            }
        }
        return .run(configuration)
    }

    /// The widest line of `helpText`, in columns: it fits a standard terminal.
    static let helpWidth = 80

    /// One line per flag; a help text too long for the room beside its flag wraps, indented.
    public static var helpText: String {
        var text = """
            usage: topology-server [--flag value | --flag=value]...
            The service-topology server: length-prefixed protobuf Frames over TCP
            (docs/operations.md). Each flag may also be set as TOPOLOGY_<FLAG>,
            e.g. TOPOLOGY_ADDRESS=0.0.0.0:50053.

            """
        let rows = options.map { ($0.flag, $0.help) } + [("--help", "this text"), ("--version", "the version")]
        for (flag, help) in rows {
            let lead = "  " + flag.padding(toLength: 29, withPad: " ", startingAt: 0) + " "
            for (index, line) in wrap(help, width: helpWidth - lead.count).enumerated() {
                text += (index == 0 ? lead : String(repeating: " ", count: lead.count)) + line + "\n"
            }
        }
        return text
    }

    /// `text` in lines of at most `width` characters, broken at spaces.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += line.isEmpty ? String(word) : " " + word
        }
        lines.append(line)
        return lines
    }
}
