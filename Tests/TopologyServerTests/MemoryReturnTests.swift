@testable import TopologyServer
import XCTest

/// The rule of `MemoryReturn`, with the allocator's free bytes and the trim played by the test.
final class MemoryReturnTests: XCTestCase {
    static let mib = 1 << 20

    /// A pretend allocator: free bytes the test sets; a trim leaves `keptAfterTrim` of them counted
    /// as free (glibc counts the pages it gave back inside the heap as free chunks still).
    struct Heap {
        var free = 0
        var keptAfterTrim = 0
        var trims = 0
    }

    private func check(_ policy: inout MemoryReturn, _ heap: inout Heap, atMs now: Int64) -> Bool {
        let freeNow = heap.free
        var trimmed = false
        let result = policy.trimIfDue(nowMs: now, heapFreeBytes: { trimmed ? heap.keptAfterTrim : freeNow }, trim: {
            trimmed = true
        })
        if trimmed {
            heap.trims += 1
            heap.free = heap.keptAfterTrim
        }
        XCTAssertEqual(result, trimmed)
        return result
    }

    func testMemoryFreedWithoutAnyConnectionClosingIsTrimmedWithinAnInterval() {
        var policy = MemoryReturn()
        var heap = Heap(free: 1 * Self.mib, keptAfterTrim: 1 * Self.mib)
        XCTAssertFalse(check(&policy, &heap, atMs: 0), "nothing was freed yet")
        heap.free = 300 * Self.mib  // large replies written out, snapshots dropped: no close at all
        XCTAssertFalse(check(&policy, &heap, atMs: 500), "at most one look per interval")
        XCTAssertTrue(check(&policy, &heap, atMs: 1_000))
        XCTAssertEqual(heap.trims, 1)
    }

    func testWhatIsFreedAfterATrimIsTrimmedAtTheNextLook() {
        var policy = MemoryReturn()
        var heap = Heap(free: 0, keptAfterTrim: 40 * Self.mib)
        _ = check(&policy, &heap, atMs: 0)
        heap.free = 100 * Self.mib
        XCTAssertTrue(check(&policy, &heap, atMs: 1_000))
        // The trim left 40 MiB counted as free; the rest of the burst is freed after it.
        heap.free = 40 * Self.mib + 150 * Self.mib
        heap.keptAfterTrim = 40 * Self.mib
        XCTAssertTrue(check(&policy, &heap, atMs: 2_000), "the last release of a burst is given back too")
        XCTAssertEqual(heap.trims, 2)
    }

    func testNoTrimWhileTheFreeMemoryDoesNotGrow() {
        var policy = MemoryReturn()
        var heap = Heap(free: 0, keptAfterTrim: 10 * Self.mib)
        _ = check(&policy, &heap, atMs: 0)
        heap.free = 50 * Self.mib
        XCTAssertTrue(check(&policy, &heap, atMs: 1_000))
        for second in 2...10 {
            heap.free = 10 * Self.mib + 3 * Self.mib  // steady churn under the threshold
            XCTAssertFalse(check(&policy, &heap, atMs: Int64(second) * 1_000))
        }
        // Memory reused (free falls), then freed again: measured from the lowest point.
        heap.free = 2 * Self.mib
        XCTAssertFalse(check(&policy, &heap, atMs: 11_000))
        heap.free = 7 * Self.mib
        XCTAssertTrue(check(&policy, &heap, atMs: 12_000))
        XCTAssertEqual(heap.trims, 2)
    }
}
