import TopologyWire

/// Access control of the frames listener (`--auth-token-file`, docs/protocol.md): the first frame of
/// a connection must be an authenticate_request carrying the token. Anything else, or a wrong token,
/// is answered with Status UNAUTHENTICATED on call 0 (the rejection is about the connection, not a
/// call) and the connection is closed (`RPCDispatcher+Authentication`). The HTTP side is
/// TopologyProtocol's HTTP/BearerAuthorization.swift; both ask `dispatcher.configuration.tokenMatches`.
extension Server {
    /// Reads `--auth-token-file`, if set: at start, before anything listens, so a bad file stops the
    /// server instead of leaving it open to everyone. Without one, warns about a listener that other
    /// hosts can reach.
    func setUpAccessControl() throws(AuthTokenError) {
        guard let path = configuration.authTokenFile else {
            for address in [configuration.address, configuration.httpAddress].compactMap({ $0 }) where !address.isLoopback {
                logger.warning("listening beyond loopback without authentication", [
                    "address": address.description,
                    "note": "anyone who can reach it can register services and read the topology; set --auth-token-file (docs/security.md)",
                ])
            }
            return
        }
        let token = try AuthToken.load(path: path)
        authToken = token
        dispatcher.configuration.tokenMatches = { token.matches($0) }
        if AuthToken.isReadableByOthers(path: path) {
            logger.warning("auth token file readable by other users", ["path": path, "note": "chmod 600 it: it holds the secret"])
        }
    }
}
