/// One connection's side of the call rules: its open calls, and whether it still owes the token
/// of `--auth-token-file` (its next frame must then be an authenticate_request).
package struct CallState {
    /// The peer's address, for log lines.
    package let peer: String
    package var calls: CallTable
    package var awaitingAuthentication: Bool

    /// `tableSeed`: random bits for the call table's hash (see `FlatTable`).
    package init(peer: String, tableSeed: (UInt64, UInt64), requiresAuthentication: Bool) {
        self.peer = peer
        calls = CallTable(seed: tableSeed)
        awaitingAuthentication = requiresAuthentication
    }
}
