/// The HTTP rules a request's field sections must follow over HTTP/2 (RFC 9113 §8.1-§8.3). A
/// section that breaks one is malformed: a stream error PROTOCOL_ERROR (§8.1.1). Checked on the
/// fields' UTF-8 octets, as HPACK carried them.
enum HTTP2FieldRules {
    /// Why a request head is malformed, or nil when it is not.
    static func requestProblem(_ fields: [HeaderField]) -> String? {
        var seen: Set<String> = []
        var regularSeen = false
        for field in fields {
            if let problem = fieldProblem(field) { return problem }
            if field.name.utf8.first == UInt8(ascii: ":") {
                guard !regularSeen else { return "pseudo-header \(field.name) comes after a regular field; they must come first (§8.3)" }
                guard requestPseudoHeaders.contains(field.name) else { return "\(field.name) is not a request pseudo-header (§8.3.1)" }
                guard seen.insert(field.name).inserted else { return "pseudo-header \(field.name) appears twice (§8.3)" }
                continue
            }
            regularSeen = true
            if let problem = connectionSpecificProblem(field) { return problem }
        }
        let lengths = fields.filter { $0.name == "content-length" }.map(\.value)
        if let first = lengths.first, lengths.contains(where: { $0 != first }) || contentLength(fields) == nil {
            return "content-length is \(lengths.map { "\"\($0)\"" }.joined(separator: ", ")), not one decimal number (§8.1.1)"
        }
        let method = fields.first { $0.name == ":method" }?.value
        guard let method else { return "the request has no :method (§8.3.1)" }
        if method == "CONNECT" {
            // §8.5: CONNECT names only an authority.
            guard seen.contains(":authority"), !seen.contains(":scheme"), !seen.contains(":path") else {
                return "a CONNECT request has :authority and neither :scheme nor :path (§8.5)"
            }
            return nil
        }
        for required in [":scheme", ":path"] where !seen.contains(required) {
            return "the request has no \(required) (§8.3.1)"
        }
        if fields.contains(where: { $0.name == ":path" && $0.value.isEmpty }) { return "the request's :path is empty (§8.3.1)" }
        return nil
    }

    /// Why trailers are malformed, or nil: the same field rules, and no pseudo-headers (§8.1).
    static func trailersProblem(_ fields: [HeaderField]) -> String? {
        for field in fields {
            if let problem = fieldProblem(field) { return problem }
            if field.name.utf8.first == UInt8(ascii: ":") { return "trailers carry pseudo-header \(field.name) (§8.1)" }
            if let problem = connectionSpecificProblem(field) { return problem }
        }
        return nil
    }

    /// The request's content-length, if it has one that `requestProblem` accepts: what its DATA
    /// must add up to (§8.1.1). At most 18 digits, so it fits an Int.
    static func contentLength(_ fields: [HeaderField]) -> Int? {
        guard let value = fields.first(where: { $0.name == "content-length" })?.value,
              (1...18).contains(value.utf8.count), value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(value)
    }

    private static let requestPseudoHeaders: Set<String> = [":method", ":scheme", ":authority", ":path"]
    /// §8.2.2: HTTP/1.1 connection management has no meaning in HTTP/2.
    private static let connectionSpecific: Set<String> = ["connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade"]

    private static func connectionSpecificProblem(_ field: HeaderField) -> String? {
        if connectionSpecific.contains(field.name) { return "connection-specific field \(field.name) is not allowed in HTTP/2 (§8.2.2)" }
        if field.name == "te" && field.value != "trailers" { return "te is \"\(field.value)\"; only \"trailers\" is allowed (§8.2.2)" }
        return nil
    }

    /// §8.2.1: names without uppercase, controls, space, DEL, non-ASCII, or a colon past the first
    /// octet; values without NUL, CR or LF, and without leading or trailing space or tab.
    private static func fieldProblem(_ field: HeaderField) -> String? {
        let name = field.name.utf8
        guard !name.isEmpty else { return "a field has an empty name (§8.2.1)" }
        for (offset, octet) in name.enumerated() {
            let invalid = octet <= 0x20 || (0x41...0x5a).contains(octet) || octet >= 0x7f || (octet == UInt8(ascii: ":") && offset > 0)
            if invalid { return "field name \(quoted(field.name)) has an octet not allowed in HTTP/2 names (0x\(String(octet, radix: 16))): lowercase tokens only (§8.2.1)" }
        }
        let value = field.value.utf8
        if value.contains(where: { $0 == 0 || $0 == 0x0a || $0 == 0x0d }) {
            return "the value of \(field.name) contains NUL, CR or LF (§8.2.1)"
        }
        let isBlank = { (octet: UInt8?) in octet == 0x20 || octet == 0x09 }
        if isBlank(value.first) || isBlank(value.last) {
            return "the value of \(field.name) starts or ends with whitespace (§8.2.1)"
        }
        return nil
    }

    /// A name as the client sent it, control characters escaped, for an error message.
    private static func quoted(_ name: String) -> String {
        "\"" + name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7f ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined() + "\""
    }
}
