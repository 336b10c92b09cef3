import Foundation
import TopologyWire

/// A watch SNAPSHOT update handed to the reply encoder, encoded there at most once however many
/// watchers' jobs carry it (the watchers of one delivery round that take the whole topology).
/// The jobs run one after another on the encoder's thread; the lock makes that an implementation
/// detail rather than a requirement.
final class SharedWatchSnapshot: @unchecked Sendable {
    /// What makes two snapshots of one round the same bytes.
    struct Key: Hashable {
        var revision: UInt64
        var timestampMs: Int64
        var resync: Bool
    }

    private let lock = NSLock()
    private var update: TopologyUpdate?
    private var encoded: [UInt8] = []

    init(_ update: TopologyUpdate) {
        self.update = update
    }

    /// The bytes of `WatchTopologyResponse(update:)`, encoded by the first caller.
    func encodedResponse() -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        if let update {
            encoded = WatchTopologyResponse(update: update).serializedBytes()
            self.update = nil  // the 100,000 nodes are not kept once their bytes are
        }
        return encoded
    }
}
