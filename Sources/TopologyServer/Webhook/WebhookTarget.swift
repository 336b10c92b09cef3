/// One `--webhook-url`: where to POST (plain HTTP) and which alerts. The filter rides in the URL's
/// fragment, `http://host:port/path#events=dead,unhealthy`, which is never sent to the receiver.
public struct WebhookTarget: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    /// The request target: path and query, `/` at least.
    public var path: String
    /// The alerts it gets (all of them unless the fragment names some).
    var kinds: Set<WebhookAlert.Kind>

    /// The target of `http://HOST[:PORT][/PATH][?QUERY][#events=K,K]`; nil for anything else
    /// (https included: plain HTTP only; put a local TLS proxy in front of an https receiver).
    init?(parsing text: String) {
        var rest = Substring(text)
        guard rest.lowercased().hasPrefix("http://") else { return nil }
        rest = rest.dropFirst("http://".count)
        var kinds = Set(WebhookAlert.Kind.allCases)
        if let hash = rest.firstIndex(of: "#") {
            let fragment = rest[rest.index(after: hash)...]
            rest = rest[..<hash]
            guard fragment.hasPrefix("events=") else { return nil }
            kinds = []
            for name in fragment.dropFirst("events=".count).split(separator: ",", omittingEmptySubsequences: false) {
                guard let kind = WebhookAlert.Kind(rawValue: String(name)) else { return nil }
                kinds.insert(kind)
            }
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        guard !path.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false }) else {
            return nil
        }
        var host = authority
        var port: UInt16 = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let parsed = UInt16(after.dropFirst()), parsed > 0 else { return nil }
                port = parsed
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let parsed = UInt16(authority[authority.index(after: colon)...]), parsed > 0 else { return nil }
            port = parsed
        }
        guard !host.isEmpty, !host.contains("@") else { return nil }
        self.host = String(host)
        self.port = port
        self.path = path
        self.kinds = kinds
    }

    /// `http://host:port`, for logs and the startup line: the path and query may hold a secret.
    public var description: String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }
}
