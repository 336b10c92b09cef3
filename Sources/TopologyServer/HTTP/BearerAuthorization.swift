/// The HTTP side of `--auth-token-file`: RFC 6750 bearer tokens. A request presents the token in
/// `Authorization: Bearer <token>`, or (for the browser, which cannot set headers on a navigation or
/// an EventSource) in the `access_token` query parameter (RFC 6750 section 2.3). The header wins
/// when both are there. Pure: the router asks, the server answers 401.
enum BearerAuthorization {
    /// Why a request is not authorized; each maps to its RFC 6750 challenge.
    enum Failure: Equatable {
        /// No token at all (the challenge carries no error code, as the RFC asks).
        case missing
        /// A token that is not the server's, or an Authorization header of another scheme.
        case invalid

        /// The `WWW-Authenticate` value of the 401.
        var challenge: String {
            switch self {
            case .missing: #"Bearer realm="topology""#
            case .invalid: #"Bearer realm="topology", error="invalid_token""#
            }
        }

        /// The response body: what to do.
        var message: String {
            switch self {
            case .missing:
                "this server requires a token (--auth-token-file): send Authorization: Bearer <token>, or open the dashboard as /?access_token=<token>; see docs/security.md"
            case .invalid:
                "the token does not match the server's --auth-token-file; send the current one (docs/security.md)"
            }
        }

        /// A word for the log line and the tests.
        var reason: String {
            switch self {
            case .missing: "missing"
            case .invalid: "invalid"
            }
        }
    }

    /// The query parameter of RFC 6750 section 2.3.
    static let queryParameter = "access_token"

    /// nil when `request` presents `token`; otherwise why not.
    static func check(_ request: HTTPRequest, token: AuthToken) -> Failure? {
        let presented: String
        if let header = request.header("authorization") {
            // `Bearer <token>`: the scheme is case-insensitive, separated by one or more spaces.
            let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .invalid }
            presented = String(parts[1].drop { $0 == " " })
        } else if let parameter = request.query.last(where: { $0.0 == queryParameter })?.1 {
            presented = parameter
        } else {
            return .missing
        }
        return token.matches(presented) ? nil : .invalid
    }
}
