/// Connection buffers given back between bursts.
///
/// A connection's input buffer and outbound queue keep their capacity when they drain (up to 64 and
/// 256 KiB), so that a busy connection does not reallocate for every read and write. But a fleet's
/// connections are bursty: a hundred registrations at start, then a hundred heartbeats that fall
/// due together every interval, and quiet in between. With 1,000 connections of 100 services each,
/// the capacity they kept was 12.5 KB of input and 14.3 KB of output per connection, 270 bytes per
/// service (heaptrack of a release server holding 100,000 services); at 10,000 connections,
/// 270 MB. Once a second, every frames connection with nothing buffered gives both back: the next
/// burst grows them again (about ten allocations for a hundred heartbeats and their replies), and a
/// connection that is never empty (a watcher behind) keeps what it holds. The pass visits every
/// connection, once a second.
///
/// The same sweep gives back the tables of connections and watchers once a burst of them has gone
/// (`SparseCapacity`, `Topology.releaseIdleWatcherSlots`), and asks for a trim when it did: what
/// they free is under `MemoryReturn`'s growth threshold.
extension Server {
    static let idleBufferSweepIntervalMs: Int64 = 1_000

    func releaseIdleBuffers(now: Int64) {
        guard now >= nextIdleBufferSweepMs else { return }
        nextIdleBufferSweepMs = now + Server.idleBufferSweepIntervalMs
        for connection in connections.values where connection.grpc == nil && !connection.closing {
            connection.session.releaseIdleCapacity()
            connection.releaseIdleCapacity()
        }
        if releaseSparseTables() { memoryReturn.requestTrim() }
    }

    /// The tables that grow with the number of connections or watchers. Each costs a comparison
    /// unless it is mostly empty. Returns whether any was released.
    func releaseSparseTables() -> Bool {
        var released = topology.releaseIdleWatcherSlots()
        released = connections.releaseSparseCapacity() || released
        released = watcherCalls.releaseSparseCapacity() || released
        released = watchSnapshotJobs.releaseSparseCapacity() || released
        released = watchersAwaitingEncoding.releaseSparseCapacity() || released
        released = closingConnections.releaseSparseCapacity() || released
        released = grpcConnectionsWithDeadlines.releaseSparseCapacity() || released
        released = httpConnections.releaseSparseCapacity() || released
        released = sseWatchers.releaseSparseCapacity() || released
        released = retryWatchers.releaseSparseCapacity() || released
        return released
    }
}
