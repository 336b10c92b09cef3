/// One connection's side of the call rules: its open calls, and whether it still owes the token
/// of `--auth-token-file` (its next frame must then be an authenticate_request).
public struct CallState {
    /// The peer's address, for log lines.
    public let peer: String
    public var calls: CallTable
    public var awaitingAuthentication: Bool

    /// `tableSeed`: random bits for the call table's hash (see `FlatTable`).
    public init(peer: String, tableSeed: (UInt64, UInt64), requiresAuthentication: Bool) {
        self.peer = peer
        calls = CallTable(seed: tableSeed)
        awaitingAuthentication = requiresAuthentication
    }
}
