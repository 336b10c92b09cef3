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

    /// The configuration the command line starts from, and whose values `--help` shows as the
    /// defaults: the library's, but with HTTP on 127.0.0.1:50054 (the library has no HTTP listener
    /// unless asked).
    static var defaults: ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.httpAddress = ListenAddress(host: "127.0.0.1", port: 50054, family: .ipv4)
        return configuration
    }

    /// The flags, in `--help` order. A new field of `ServerConfiguration` a user may set is one row
    /// here, one field of the startup line and one row of docs/operations.md (CommandLineTests
    /// checks all three).
    static let options: [Option] = [
        Option("--address", \.address, .address, "where to listen"),
        Option("--http-address", \.httpAddress, .optional(.address, empty: "to disable HTTP"), "HTTP dashboard and API"),
        Option("--http-request-timeout-ms", \.httpRequestTimeoutMs, .milliseconds(min: 1), "HTTP request/response deadline"),
        Option("--max-http-connections", \.maxHTTPConnections, .integer(atLeast: 1), "open HTTP connections at most"),
        Option("--sse-comment-interval-ms", \.sseCommentIntervalMs, .milliseconds(min: 1), "SSE keep-alive comment period"),
        Option("--heartbeat-interval-ms", \.topology.heartbeatIntervalMs, .milliseconds(min: 1), "how often services heartbeat"),
        Option("--timeout-multiplier", \.topology.timeoutMultiplier, .integer(1 ... 1000), "missed intervals to DEAD; STALE at 2"),
        Option("--idle-timeout-ms", \.topology.idleTimeoutMs, .milliseconds(min: 1), "quiet this long: ACTIVE -> IDLE"),
        Option("--activity-flush-ms", \.topology.activityFlushMs, .milliseconds(min: 1), "activity aggregation period"),
        Option("--node-update-throttle-ms", \.topology.nodeUpdateThrottleMs, .milliseconds(min: 0), "min gap of heartbeat node updates"),
        Option("--rps-window-ms", \.topology.rpsWindowMs, .milliseconds(min: 1), "edge rps and latency window"),
        Option("--unresolved-edge-timeout-ms", \.topology.unresolvedEdgeTimeoutMs, .milliseconds(min: 1),
               "forget edges to unknown targets after this", derivedDefault: "2 x --idle-timeout-ms"),
        Option("--progress-interval-ms", \.topology.progressIntervalMs, .milliseconds(min: 1), "PROGRESS period of a quiet watch"),
        Option("--max-frame-bytes", \.maxFrameBytes, .integer(64 ... 64 << 20, of: "bytes"), "largest client frame"),
        Option("--max-connections", \.maxConnections, .integer(atLeast: 1), "open connections at most"),
        Option("--max-services", \.topology.maxServices, .integer(atLeast: 1), "registered services at most"),
        Option("--max-edges-per-service", \.topology.maxEdgesPerService, .integer(atLeast: 1), "call targets per service"),
        Option("--max-calls-per-connection", \.maxCallsPerConnection, .integer(atLeast: 1), "open streams per connection"),
        Option("--max-watchers", \.topology.maxWatchers, .integer(atLeast: 1), "open watch streams at most"),
        Option("--max-watchers-per-connection", \.maxWatchersPerConnection, .integer(atLeast: 1), "open watch streams per connection"),
        Option("--watch-buffer-limit", \.topology.watchBufferLimit, .integer(atLeast: 1), "queued updates per watcher"),
        Option("--max-outbound-bytes", \.maxOutboundBytes, .integer(atLeast: 4096, of: "bytes"), "unread bytes per connection"),
        Option("--max-total-outbound-bytes", \.maxTotalOutboundBytes, .integer(atLeast: 65536, of: "bytes"),
               "all connections' unread bytes"),
        Option("--first-frame-timeout-ms", \.firstFrameTimeoutMs, .milliseconds(min: 1), "first frame deadline"),
        Option("--frame-timeout-ms", \.frameTimeoutMs, .milliseconds(min: 1), "deadline of a begun frame"),
        Option("--tcp-keepalive-ms", \.tcpKeepaliveMs, .keepalive, "TCP keepalive idle time, 0: off"),
        Option("--max-service-name-bytes", \.topology.maxServiceNameBytes, .integer(atLeast: 1, of: "bytes"), "longest service name"),
        Option("--max-string-bytes", \.topology.maxStringBytes, .integer(atLeast: 1, of: "bytes"), "longest other string field"),
        Option("--otlp-max-body-bytes", \.httpLimits.maxOTLPBodyBytes, .integer(1024 ... 64 << 20, of: "bytes"), "largest OTLP trace request"),
        Option("--otlp-max-spans-per-second", \.otlpMaxSpansPerSecond, .integer(atLeast: 0), "OTLP span rate, 0: no limit"),
        Option("--max-observed-services", \.topology.maxObservedServices, .integer(atLeast: 0), "services known only from spans"),
        Option("--auth-token-file", \.authTokenFile, .optional(.path(of: "a file holding the token"), empty: "for no authentication"),
               "token clients must present (docs/security.md)"),
        Option("--log-level", \.logLevel, .logLevel, "least severe level logged"),
        Option("--slow-turn-log-ms", \.slowTurnLogMs, .milliseconds(min: 1), "log event-loop turns this long and why"),
        Option("--event-limit", \.topology.eventLimit, .integer(atLeast: 1), "events kept for /api/v1/events"),
        Option("--edge-failing-error-percent", \.topology.edgeFailingErrorPercent, .integer(1 ... 100),
               "edge error % that makes it failing"),
        Option("--webhook-url", \.addedWebhook, .webhook, "POST alerts here; repeatable (docs/alerting.md)"),
        Option("--webhook-timeout-ms", \.webhookTimeoutMs, .milliseconds(min: 1), "deadline of one webhook attempt"),
        Option("--webhook-queue-limit", \.webhookQueueLimit, .integer(atLeast: 1), "alerts waiting per webhook"),
        Option("--service-series-limit", \.serviceSeriesLimit, .integer(atLeast: 0), "per-service /metrics series, 0: off"),
        Option("--history-minutes", \.historyMinutes, .integer(0 ... 1_440), "graph history for ?at=, 0: off"),
        Option("--history-interval-ms", \.historyIntervalMs, .milliseconds(min: 100), "least gap between history samples"),
        Option("--history-max-bytes", \.historyMaxBytes, .integer(atLeast: 0, of: "bytes"), "history size at most"),
    ]

    /// Parses `arguments` (without the program name) over `environment`.
    public static func parse(_ arguments: [String], environment: [String: String]) throws(CommandLineError) -> CommandLineAction {
        var configuration = defaults
        for option in options {
            if let value = environment[option.environmentName] {
                guard option.apply(value, to: &configuration) else {
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
            guard option.apply(value!, to: &configuration) else {
                throw CommandLineError(message: "invalid \(name) \(value!): expected \(option.form)")
            }
        }
        return .run(configuration)
    }

    /// The widest line of `helpText`, in columns: it fits a standard terminal.
    static let helpWidth = 80

    /// One line per flag, ending with its default; a help text too long for the room beside its
    /// flag wraps, indented.
    public static var helpText: String {
        var text = """
            usage: topology-server [--flag value | --flag=value]...
            The service-topology server (docs/operations.md). Each flag may also be
            set as TOPOLOGY_<FLAG>, e.g. TOPOLOGY_ADDRESS=0.0.0.0:50053.

            """
        let defaults = defaults
        let rows = options.map { option in (option.flag, option.help + (option.defaultText(in: defaults).map { " (default \($0))" } ?? "")) }
            + [("--help, --version", "this text; the version")]
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

extension ServerConfiguration {
    /// `--webhook-url` adds a webhook each time it is given (the environment's first); reading it
    /// gives none, so `--help` shows no default.
    fileprivate var addedWebhook: WebhookTarget? {
        get { nil }
        set { if let newValue { webhooks.append(newValue) } }
    }
}
