/// The HTTP side of `--auth-token-file`: RFC 6750 bearer tokens. A request presents the token in
/// `Authorization: Bearer <token>`, or (for the browser, which cannot set headers on a navigation or
/// an EventSource) in the `access_token` query parameter (RFC 6750 section 2.3), once: a request that
/// presents two (two headers, two parameters, or one of each) is refused, not settled by picking one,
/// since a proxy in front may have picked the other. Pure: the router asks, the server answers.
enum BearerAuthorization {
    /// Why a request is not authorized; each maps to its RFC 6750 challenge.
    enum Failure: Equatable {
        /// No token at all (the challenge carries no error code, as the RFC asks).
        case missing
        /// A token that is not the server's, or an Authorization header of another scheme.
        case invalid
        /// More than one token presented (RFC 6750 sections 2 and 3.1: `invalid_request`); says how.
        case ambiguous(String)

        /// 401, but 400 for a malformed request (RFC 6750 section 3.1).
        var status: HTTPStatus {
            switch self {
            case .missing, .invalid: .unauthorized
            case .ambiguous: .badRequest
            }
        }

        /// The `WWW-Authenticate` value of the answer (401 or 400).
        var challenge: String {
            switch self {
            case .missing: #"Bearer realm="topology""#
            case .invalid: #"Bearer realm="topology", error="invalid_token""#
            case .ambiguous: #"Bearer realm="topology", error="invalid_request""#
            }
        }

        /// The response body: what to do.
        var message: String {
            switch self {
            case .missing:
                "this server requires a token (--auth-token-file): send Authorization: Bearer <token>, or open the dashboard as /?access_token=<token>; see docs/security.md"
            case .invalid:
                "the token does not match the server's --auth-token-file; send the current one (docs/security.md)"
            case .ambiguous(let how):
                "the request presents more than one token (\(how)); send exactly one: one Authorization: Bearer header or one access_token parameter (RFC 6750 section 2)"
            }
        }

        /// A word for the log line and the tests.
        var reason: String {
            switch self {
            case .missing: "missing"
            case .invalid: "invalid"
            case .ambiguous: "ambiguous"
            }
        }
    }

    /// The query parameter of RFC 6750 section 2.3.
    static let queryParameter = "access_token"

    /// nil when `request` presents a token that `tokenMatches`, once; otherwise why not.
    static func check(_ request: HTTPRequest, tokenMatches: (String) -> Bool) -> Failure? {
        let headers = request.headers.filter { $0.name == "authorization" }.map(\.value)
        let parameters = request.query.filter { $0.0 == queryParameter }.map(\.1)
        let presented: String
        switch (headers.count, parameters.count) {
        case (0, 0):
            return .missing
        case (1, 0):
            // `Bearer <token>`: the scheme is case-insensitive, separated by one or more spaces.
            let parts = headers[0].split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .invalid }
            presented = String(parts[1].drop { $0 == " " })
        case (0, 1):
            presented = parameters[0]
        case (1, 1):
            return .ambiguous("an Authorization header and an access_token parameter")
        case (let count, _) where count > 1:
            return .ambiguous("\(count) Authorization headers")
        case (_, let count):
            return .ambiguous("\(count) access_token parameters")
        }
        return tokenMatches(presented) ? nil : .invalid
    }
}
