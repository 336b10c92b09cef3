import TopologyCore
import TopologyWire

/// Access control of the frames listener (`--auth-token-file`, docs/protocol.md): the first frame of
/// a connection must be an authenticate_request carrying the token. Anything else, or a wrong token,
/// is answered with Status UNAUTHENTICATED on call 0 (the rejection is about the connection, not a
/// call) and the connection is closed.
extension RPCDispatcher {
    /// The first frame of a connection that must authenticate: true when it is an
    /// authenticate_request (handled as a call like any other), else the connection is refused.
    mutating func admitFirstFrame(_ frame: Frame, _ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology) -> Bool {
        if case .authenticateRequest? = frame.message { return true }
        refuseConnection(&state, &sink, topology: &topology, message: "this server requires authentication: the first frame of a connection must carry an authenticate_request with the token of the server's --auth-token-file (docs/security.md); the connection is closed")
        return false
    }

    /// An authenticate_request on `callID`. Without `--auth-token-file` every token is accepted.
    mutating func authenticate(_ request: AuthenticateRequest, callID: UInt64, _ state: inout CallState, _ sink: inout ReplySink,
                               topology: inout Topology) {
        if let matches = configuration.tokenMatches, !matches(request.token) {
            return refuseConnection(&state, &sink, topology: &topology, message: "authentication failed: the token does not match the server's --auth-token-file; give the client the current token (docs/security.md); the connection is closed")
        }
        state.awaitingAuthentication = false
        reply(Frame(callId: callID, endOfStream: true, status: Self.ok, message: .authenticateResponse(AuthenticateResponse(authenticated: true))),
              &state, &sink, topology: &topology)
    }

    /// Counted, logged (peer and reason, never the token) and closed with UNAUTHENTICATED on call 0.
    private mutating func refuseConnection(_ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology, message: String) {
        metrics.authenticationFailed(listener: "frames")
        closeConnection(&state, &sink, topology: &topology, code: .unauthenticated, message: message, logAs: "authentication failed")
    }
}
