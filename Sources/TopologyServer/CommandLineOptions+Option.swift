import TopologyProtocol

extension CommandLineOptions {
    /// One row of the flags table: the flag, the `ServerConfiguration` field it sets, the kind of
    /// value it takes and its `--help` line. Parsing, the environment variable and the default that
    /// `--help` shows all come from the row.
    struct Option: Sendable {
        let flag: String
        /// The accepted form of the value, as an error for a bad one names it.
        let form: String
        /// The `--help` line without its default, which is read from the configuration.
        let help: String
        /// Shown as the default instead of a value when the default follows another flag.
        private let derivedDefault: String?
        private let assign: @Sendable (inout ServerConfiguration, String) -> Bool
        private let show: @Sendable (ServerConfiguration) -> String?

        init<Value>(_ flag: String, _ field: WritableKeyPath<ServerConfiguration, Value> & Sendable, _ kind: ValueKind<Value>,
                    _ help: String, derivedDefault: String? = nil) {
            self.flag = flag
            self.form = kind.form
            self.help = help
            self.derivedDefault = derivedDefault
            assign = { configuration, text in
                guard let value = kind.parse(text) else { return false }
                configuration[keyPath: field] = value
                return true
            }
            show = { kind.show($0[keyPath: field]) }
        }

        /// `--max-frame-bytes` -> `TOPOLOGY_MAX_FRAME_BYTES`.
        var environmentName: String {
            "TOPOLOGY_" + flag.dropFirst(2).uppercased().replacingOccurrences(of: "-", with: "_")
        }

        /// Sets the field from `text`; false, leaving `configuration` as it was, when `text` is not of `form`.
        func apply(_ text: String, to configuration: inout ServerConfiguration) -> Bool {
            assign(&configuration, text)
        }

        /// The default `--help` names: the field's value in `defaults`, written as the flag takes it,
        /// or how it is derived; nil when there is none to show (no token file).
        func defaultText(in defaults: ServerConfiguration) -> String? {
            derivedDefault ?? show(defaults)
        }
    }

    /// How the text of a flag becomes a value: the accepted form, the parser, and its inverse, which
    /// writes a default for `--help` so that it parses back to the same value.
    struct ValueKind<Value>: Sendable {
        let form: String
        let parse: @Sendable (String) -> Value?
        /// nil for a value `--help` does not show.
        let show: @Sendable (Value) -> String?

        /// `kind`, or the empty text for none (`--http-address=` turns HTTP off); `none` says what
        /// empty means, for the accepted form.
        static func optional<Wrapped>(_ kind: ValueKind<Wrapped>, empty none: String) -> ValueKind<Wrapped?> {
            ValueKind<Wrapped?>(form: "\(kind.form), or empty \(none)",
                                parse: { text in
                                    if text.isEmpty { return .some(nil) }
                                    return kind.parse(text).map { .some($0) }
                                },
                                show: { $0.flatMap(kind.show) })
        }
    }
}

extension CommandLineOptions.ValueKind where Value: FixedWidthInteger & Sendable {
    /// A decimal integer in `range`; `unit` names what it counts ("an integer of bytes, 64 to 67108864").
    static func integer(_ range: ClosedRange<Value>, of unit: String? = nil) -> Self {
        let bounds = range.upperBound == .max ? "\(range.lowerBound) or more" : "\(range.lowerBound) to \(range.upperBound)"
        return Self(form: "an integer" + (unit.map { " of \($0)" } ?? "") + ", " + bounds,
                    parse: { text in Value(text).flatMap { range.contains($0) ? $0 : nil } },
                    show: { String($0) })
    }

    static func integer(atLeast minimum: Value, of unit: String? = nil) -> Self {
        integer(minimum ... .max, of: unit)
    }
}

extension CommandLineOptions.ValueKind where Value == Int64 {
    /// Durations stop at Int32.max ms (24.8 days): the core adds them to times and to each other
    /// (deadlines, 2 x idle timeout), and the wire carries the heartbeat interval as an int32.
    static func milliseconds(min: Int64) -> Self {
        integer(min ... Int64(Int32.max), of: "milliseconds")
    }

    /// 0 turns TCP keepalive off; otherwise the kernel takes whole seconds, 1 to 32767.
    static var keepalive: Self {
        let on = integer(1_000 ... 32_767_000, of: "milliseconds")
        return Self(form: "0 (off), or \(on.form)",
                    parse: { text in Int64(text) == 0 ? 0 : on.parse(text) },
                    show: on.show)
    }
}

extension CommandLineOptions.ValueKind where Value == ListenAddress {
    static var address: Self {
        Self(form: "HOST:PORT (IPv4) or [IPV6]:PORT; port 0 picks a free port",
             parse: { ListenAddress(parsing: $0) }, show: { $0.description })
    }
}

extension CommandLineOptions.ValueKind where Value == String {
    /// A file path, taken as it is; `what` is what the file holds.
    static func path(of what: String) -> Self {
        Self(form: "the path of \(what)", parse: { $0 }, show: { $0 })
    }
}

extension CommandLineOptions.ValueKind where Value == LogLevel {
    static var logLevel: Self {
        Self(form: "debug, info, warn or error", parse: { LogLevel(name: $0) }, show: { $0.name })
    }
}

extension CommandLineOptions.ValueKind where Value == WebhookTarget? {
    static var webhook: Self {
        Self(form: "http://HOST[:PORT][/PATH][#events=K,...] with K among dead, stale, unhealthy, recovered, edge_failing, "
                 + "edge_recovered (plain HTTP: for https, a local TLS proxy)",
             parse: { WebhookTarget(parsing: $0).map { .some($0) } },
             show: { _ in nil })
    }
}
