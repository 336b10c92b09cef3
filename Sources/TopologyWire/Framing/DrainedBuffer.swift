/// What a connection's byte buffer keeps when it drains (every byte in it taken): the one rule of the
/// frame decoder's input and the server's outbound queues.
///
/// A buffer that carried a burst once (a hundred registrations and their replies at a fleet's start)
/// and then carries small batches gives the burst's capacity back; one that keeps carrying batches
/// of about its size keeps it, so a busy connection does not reallocate per batch. Over `largest`
/// (a snapshot's size) nothing is kept.
/// At 10,000 connections, 12-14 KiB kept by each of a decoder and a queue after the registrations
/// was 270 bytes per service of a 1,000,000-service fleet (heaptrack, docs/performance.md).
public enum DrainedBuffer {
    /// Capacity kept whatever the batch: a few dozen heartbeats or replies.
    public static let smallCapacity = 4 * 1024

    /// Whether a buffer of `capacity` that drained after holding `used` bytes keeps its capacity: it
    /// is small, or it is at most `largest` and the batch filled at least a quarter of it.
    public static func keepsCapacity(_ capacity: Int, used: Int, largest: Int) -> Bool {
        capacity <= smallCapacity || (capacity <= largest && used >= capacity / 4)
    }

    /// Empties `buffer`, keeping its capacity when `keepsCapacity` says so (`used`: the bytes it
    /// held in this batch).
    public static func drain(_ buffer: inout [UInt8], used: Int, largest: Int) {
        buffer.removeAll(keepingCapacity: keepsCapacity(buffer.capacity, used: used, largest: largest))
    }
}
