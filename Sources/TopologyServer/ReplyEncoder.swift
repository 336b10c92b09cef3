import CTopologyShims
import Foundation
import TopologyWire
#if canImport(Glibc)
import Glibc
#endif

/// Encodes large replies on a thread of its own. A GetTopology of 100,000 nodes takes tens of
/// milliseconds to encode as protobuf, and about a second as JSON; on the event loop that would
/// hold every other connection for as long: heartbeats read late are stamped late (so their
/// services would be declared DEAD late), timers and watches wait. The loop builds the reply (a
/// value, which the topology can then change at will) and hands over the work of encoding it; the
/// worker does it and says so through an eventfd, and the loop takes the bytes with
/// `takeFinished()`.
final class ReplyEncoder: @unchecked Sendable {
    struct Finished {
        /// The connection (frames or HTTP) the bytes are for.
        let connection: UInt64
        let bytes: [UInt8]
    }

    /// Readable (an eventfd) when an encoding has finished.
    let fd: Int32
    private let condition = NSCondition()
    // Guarded by `condition`:
    /// A job with no connection only frees what its closure holds (`release`).
    private var jobs: [(connection: UInt64?, encode: @Sendable () -> [UInt8])] = []
    private var finished: [Finished] = []
    private var stopping = false

    init() throws {
        fd = try syscallBlocking("eventfd") { topology_eventfd_create() }
        startBackgroundThread(named: "reply encoder") { [self] in run() }
    }

    /// Runs `encode` on the worker; its bytes are for `connection`.
    func encode(for connection: UInt64, _ encode: @escaping @Sendable () -> [UInt8]) {
        condition.lock()
        jobs.append((connection, encode))
        condition.signal()
        condition.unlock()
    }

    /// Frees `garbage` on the worker: the last reference to storage whose release would hold the
    /// loop (`Topology.takeRetiredStorage`).
    func release(_ garbage: Any) {
        let box = Garbage(contents: garbage)
        condition.lock()
        jobs.append((nil, { withExtendedLifetime(box) { [] } }))
        condition.signal()
        condition.unlock()
    }

    /// The encodings finished since the last call, in the order they were asked for.
    func takeFinished() -> [Finished] {
        var count: UInt64 = 0
        _ = Glibc.read(fd, &count, 8)
        condition.lock()
        defer { condition.unlock() }
        let done = finished
        finished = []
        return done
    }

    /// Stops the worker once the jobs asked for are done (their results are not taken).
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while let (connection, bytes) = encodeNextJob() {
            guard let connection else { continue }
            condition.lock()
            finished.append(Finished(connection: connection, bytes: bytes))
            condition.unlock()
            var one: UInt64 = 1
            _ = Glibc.write(fd, &one, 8)
        }
        Sockets.close(fd)
    }

    /// Waits for a job and encodes it; nil once stopped with nothing left. The job (a reply with
    /// perhaps 100,000 nodes, whose release takes a while) is released here, not while the lock
    /// that the loop's `takeFinished` needs is held.
    private func encodeNextJob() -> (UInt64?, [UInt8])? {
        condition.lock()
        while jobs.isEmpty && !stopping { condition.wait() }
        guard !jobs.isEmpty else {
            condition.unlock()
            return nil
        }
        let job = jobs.removeFirst()
        condition.unlock()
        return (job.connection, job.encode())
    }
}

/// Storage handed to the worker only to be freed there: nothing reads it, on either thread.
private final class Garbage: @unchecked Sendable {
    let contents: Any
    init(contents: Any) { self.contents = contents }
}
