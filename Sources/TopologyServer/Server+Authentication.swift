import TopologyWire

/// Access control of the frames listener (`--auth-token-file`, docs/protocol.md): the first frame of
/// a connection must be an authenticate_request carrying the token. Anything else, or a wrong token,
/// is answered with Status UNAUTHENTICATED on call 0 (the rejection is about the connection, not a
/// call) and the connection is closed. The HTTP side is HTTP/BearerAuthorization.swift.
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
        authToken = try AuthToken.load(path: path)
        if AuthToken.isReadableByOthers(path: path) {
            logger.warning("auth token file readable by other users", ["path": path, "note": "chmod 600 it: it holds the secret"])
        }
    }

    /// The first frame of a connection that must authenticate: true when it is an authenticate_request
    /// (handled as a call like any other), else the connection is refused.
    func admitFirstFrame(_ frame: Frame, on connection: Connection, now: Int64) -> Bool {
        if case .authenticateRequest? = frame.message { return true }
        refuse(connection, message: "this server requires authentication: the first frame of a connection must carry an authenticate_request with the token of the server's --auth-token-file (docs/security.md); the connection is closed", now: now)
        return false
    }

    /// An authenticate_request on `callID`. Without `--auth-token-file` every token is accepted, so
    /// a client configured with a token can talk to a server that requires none.
    func authenticate(_ request: AuthenticateRequest, callID: UInt64, on connection: Connection, now: Int64) {
        if let authToken, !authToken.matches(request.token) {
            refuse(connection, message: "authentication failed: the token does not match the server's --auth-token-file; give the client the current token (docs/security.md); the connection is closed", now: now)
            return
        }
        connection.awaitingAuthentication = false
        reply(connection, Frame(callId: callID, endOfStream: true, status: Status(code: .ok, message: ""),
                                message: .authenticateResponse(AuthenticateResponse(authenticated: true))), now: now)
    }

    /// Counted, logged (peer and reason, never the token) and closed with UNAUTHENTICATED on call 0.
    private func refuse(_ connection: Connection, message: String, now: Int64) {
        metrics.authenticationFailed(listener: "frames")
        protocolError(connection, code: .unauthenticated, message: message, now: now, logAs: "authentication failed")
    }
}
