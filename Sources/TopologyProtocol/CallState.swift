/// One connection's side of the call rules: its open calls, and whether it still owes the token
/// of `--auth-token-file` (its next frame must then be an authenticate_request).
public struct CallState {
    /// The peer's address, for log lines.
    public let peer: String
    public var calls: CallTable
    public var awaitingAuthentication: Bool

    /// Open watch calls (counted when a watch opens: rare, and at most `--max-calls-per-connection`).
    public var watchCount: Int {
        calls.elements.reduce(0) { count, element in
            if case .watch = element.value { count + 1 } else { count }
        }
    }

    /// `tableSeed`: random bits for the call table's hash (see `FlatTable`).
    public init(peer: String, tableSeed: (UInt64, UInt64), requiresAuthentication: Bool) {
        self.peer = peer
        calls = CallTable(seed: tableSeed)
        awaitingAuthentication = requiresAuthentication
    }
}
