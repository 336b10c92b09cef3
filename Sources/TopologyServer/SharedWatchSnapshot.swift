import Foundation
import TopologyCore
import TopologyWire

/// A watch SNAPSHOT update handed to the reply encoder, encoded there at most once however many
/// watchers' jobs carry it (the watchers of one delivery round that take the whole topology), and
/// framed once per call id: watchers on the same call id (every dashboard's first call) get the
/// same bytes, which their outbound queues share until written (`OutboundQueue.append(encoded:)`),
/// instead of one copy each (5,000 watchers of a 2,000-service topology: 1.5 GB of copies).
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
    private var pending: UnbuiltSnapshot?
    private var encoded: [UInt8] = []
    private var framedByCall: [UInt64: [UInt8]] = [:]

    init(_ pending: UnbuiltSnapshot) {
        self.pending = pending
    }

    /// The length-prefixed Frame carrying `WatchTopologyResponse(update:)` on call `callID`.
    func framed(callID: UInt64) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        if let framed = framedByCall[callID] { return framed }
        if let pending {
            encoded = WatchTopologyResponse(update: pending.update()).serializedBytes()
            self.pending = nil  // the nodes (and the core's chunks they share) are not kept once their bytes are
        }
        var framed: [UInt8] = []
        Connection.appendWatchResponse(callID: callID, encoded: encoded, to: &framed)
        framedByCall[callID] = framed
        return framed
    }
}
