/// Control characters in text that came from a client (a service name, a request path, an error
/// message quoting either) are written escaped wherever the server shows that text to people: in a
/// log line, NUL cuts the line short for C tools, ESC starts a terminal escape sequence (colours,
/// cursor moves, a retitled window), CR and LF forge lines; in a response body they reach whatever
/// displays it. The escapes are those of Go's `strconv.Quote`, which logfmt readers know: `\n`, `\r`,
/// `\t`, `\x1b` for the other C0 controls and DEL, `\u009b` for the C1 controls and the Unicode line
/// and paragraph separators.
public enum ControlCharacters {
    /// Whether `scalar` is written escaped.
    public static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029: true
        default: false
        }
    }

    /// Appends `scalar` to `out`, escaped if it must be.
    public static func append(_ scalar: Unicode.Scalar, to out: inout String) {
        guard mustEscape(scalar) else {
            out.unicodeScalars.append(scalar)
            return
        }
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            let hex = String(scalar.value, radix: 16)
            out += scalar.value < 0x80 ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                                       : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }

    /// `text` with its control characters escaped (and everything else, backslashes included, as is).
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: mustEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars { append(scalar, to: &out) }
        return out
    }
}
