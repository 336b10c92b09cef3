import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes log lines from a thread of its own, so the event loop never waits for a disk or a pipe
/// (a `write(2)` to a file on a busy disk can block for 100 ms and more, and every timer of the loop
/// would be that late).
///
/// `enqueue` appends the line to a queue of at most `capacityBytes` and returns; the writer thread
/// takes everything queued at once and writes it with as few `write` calls as the file descriptor
/// allows. A line that does not fit is dropped and counted, never waited for: where the dropped lines
/// would have been, the output says how many there were (a `log lines dropped` line, written as soon
/// as there is room again), so the log stays in order and shows its own gaps.
final class LogWriter: @unchecked Sendable {
    let capacityBytes: Int
    private let fd: Int32
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var queued: [UInt8] = []
    private var droppedSinceNotice = 0
    private var droppedTotal = 0
    private var writing = false
    private var finished = false
    private var threadExited = false

    /// Starts the writer thread for `fd` (not closed by the writer).
    init(fd: Int32, capacityBytes: Int = 1 << 20) {
        self.fd = fd
        self.capacityBytes = capacityBytes
        startBackgroundThread(named: "log writer") { [self] in run() }
    }

    /// Lines dropped since start because the queue was full.
    var droppedLines: Int {
        condition.lock()
        defer { condition.unlock() }
        return droppedTotal
    }

    /// Queues `line` (newline included), or drops it if the queue is full. Never waits for the
    /// writer; after `finish()`, writes the line at once instead.
    func enqueue(_ line: String) {
        condition.lock()
        if finished {
            condition.unlock()
            var line = line
            line.withUTF8 { LogWriter.writeAll(fd, UnsafeRawBufferPointer($0)) }
            return
        }
        let count = line.utf8.count
        if queued.count + count > capacityBytes {
            droppedSinceNotice += 1
            droppedTotal += 1
        } else {
            queueDropNotice()
            queued.append(contentsOf: line.utf8)
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Returns once every line queued before the call is written.
    func flush() {
        condition.lock()
        while !queued.isEmpty || droppedSinceNotice > 0 || writing { condition.wait() }
        condition.unlock()
    }

    /// Writes what is queued and stops the writer thread; later lines are written directly.
    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        while !threadExited { condition.wait() }
        condition.unlock()
    }

    private func run() {
        var batch: [UInt8] = []
        condition.lock()
        while true {
            while queued.isEmpty && droppedSinceNotice == 0 && !finished { condition.wait() }
            queueDropNotice()
            if queued.isEmpty && finished { break }
            swap(&batch, &queued)
            writing = true
            condition.unlock()
            batch.withUnsafeBytes { LogWriter.writeAll(fd, $0) }
            batch.removeAll(keepingCapacity: batch.capacity <= capacityBytes)
            condition.lock()
            writing = false
            condition.broadcast()
        }
        threadExited = true
        condition.broadcast()
        condition.unlock()
    }

    /// With the lock held: the line that reports the lines dropped since the last one. It goes in
    /// even if the queue is full (it is one short line, and the reader must learn of the gap).
    private func queueDropNotice() {
        guard droppedSinceNotice > 0 else { return }
        queued.append(contentsOf: Logger.line(.warning, "log lines dropped", [
            "count": String(droppedSinceNotice),
            "reason": "more than \(capacityBytes) bytes of log waiting for a slow disk or pipe; the event loop does not wait for it",
        ]).utf8)
        droppedSinceNotice = 0
    }

    /// Writes all of `bytes`, retrying partial writes and EINTR; gives up silently on any other
    /// error (a closed stderr must not stop the server).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += n
        }
    }
}
