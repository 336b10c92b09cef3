#if canImport(Glibc)
import Glibc
#endif
import TopologyProtocol

/// One line per event, logfmt: `ts=2026-11-23T12:00:00.123Z level=info msg="..." key=value ...`.
/// Values with spaces, quotes, `=` or control characters are quoted, control characters escaped.
/// Lines go to a sink: stderr by default, one write each; the server's default is a `LogWriter`,
/// which writes from a thread of its own.
public struct Logger: Sendable {
    public var level: LogLevel
    private let sink: @Sendable (String) -> Void

    public init(level: LogLevel, sink: @escaping @Sendable (String) -> Void = Logger.standardError) {
        self.level = level
        self.sink = sink
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        var line = line
        line.withUTF8 { LogWriter.writeAll(2, UnsafeRawBufferPointer($0)) }
    }

    public func debug(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.error, message, fields) }

    public func log(_ level: LogLevel, _ message: String, _ fields: KeyValuePairs<String, String>) {
        log(level, message, fieldList: fields)
    }

    /// `log` with fields built at run time, in the order given.
    func log<Fields: Sequence>(_ level: LogLevel, _ message: String, fieldList fields: Fields)
    where Fields.Element == (key: String, value: String) {
        guard level >= self.level else { return }
        sink(Logger.line(level, message, fieldList: fields))
    }

    /// One logfmt line, newline included, stamped now.
    static func line(_ level: LogLevel, _ message: String, _ fields: KeyValuePairs<String, String>) -> String {
        line(level, message, fieldList: fields)
    }

    static func line<Fields: Sequence>(_ level: LogLevel, _ message: String, fieldList fields: Fields) -> String
    where Fields.Element == (key: String, value: String) {
        var line = "ts=\(Logger.timestamp()) level=\(level.name) msg=\(Logger.quote(message, always: true))"
        for (key, value) in fields {
            line += " \(key)=\(Logger.quote(value, always: false))"
        }
        return line + "\n"
    }

    /// The value as logfmt writes it: quoted if it holds a space, a quote, `=`, a backslash or a
    /// control character (or is empty), with quotes and backslashes escaped, and control characters
    /// escaped as `ControlCharacters` says, so no value can end a line, forge one or drive a terminal.
    static func quote(_ value: String, always: Bool) -> String {
        let needsQuotes = always || value.isEmpty || value.unicodeScalars.contains {
            $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || ControlCharacters.mustEscape($0)
        }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: ControlCharacters.append(scalar, to: &out)
            }
        }
        return out + "\""
    }

    /// UTC, RFC 3339 with milliseconds, of the wall clock now (so lines line up with other logs).
    static func timestamp() -> String {
        let wallNs = ServerClock.wallClockNs()
        var seconds = time_t(wallNs / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(wallNs % 1_000_000_000 / 1_000_000), 3))Z"
    }
}
