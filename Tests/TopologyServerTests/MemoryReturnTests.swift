@testable import TopologyServer
import XCTest

/// The rule of `MemoryReturn`, with the process's memory and the trim played by the test.
final class MemoryReturnTests: XCTestCase {
    static let mib = 1 << 20
    var freeLooks = 0

    /// A pretend process: what is resident, and what the allocator counts as free. A trim gives
    /// back the free pages (the resident set drops by `returnedByTrim`) but glibc still counts them
    /// as free chunks, so `free` does not move.
    struct Process {
        var resident = 0
        var free = 0
        var returnedByTrim = 0
        var trims = 0
    }

    /// One look at `now`; reading the free bytes takes `freeLookMs` (of a pretend clock), and is
    /// counted in `freeLooks`.
    private func look(_ policy: inout MemoryReturn, _ process: inout Process, atMs now: Int64, freeLookMs: Int64 = 0,
                      trimMs: Int64 = 0) -> Bool {
        let before = process
        var trimmed = false
        var clockNs: Int64 = 0
        let result = policy.trimIfDue(nowMs: now, residentBytes: { trimmed ? before.resident - before.returnedByTrim : before.resident },
                                      heapFreeBytes: { clockNs += freeLookMs * 1_000_000; self.freeLooks += 1; return before.free },
                                      trim: { clockNs += trimMs * 1_000_000; trimmed = true }, monotonicNs: { clockNs })
        if trimmed {
            process.trims += 1
            process.resident -= process.returnedByTrim
        }
        XCTAssertEqual(result, trimmed)
        return result
    }

    func testMemoryFreedWithoutAnyConnectionClosingIsTrimmedWithinAnInterval() {
        var policy = MemoryReturn()
        var process = Process(resident: 30 * Self.mib, free: 1 * Self.mib)
        XCTAssertFalse(look(&policy, &process, atMs: 0), "nothing grew yet")
        // Large replies written out, snapshots dropped: no connection closed at all.
        process = Process(resident: 330 * Self.mib, free: 300 * Self.mib, returnedByTrim: 295 * Self.mib)
        XCTAssertFalse(look(&policy, &process, atMs: 500), "at most one look per interval")
        XCTAssertTrue(look(&policy, &process, atMs: 1_000))
        XCTAssertEqual(process.resident, 35 * Self.mib)
        XCTAssertFalse(look(&policy, &process, atMs: 2_000), "nothing more to give back")
        XCTAssertEqual(process.trims, 1)
    }

    func testABurstThatReusesTrimmedPagesAndFreesThemAgainIsTrimmedAgain() {
        var policy = MemoryReturn()
        var process = Process(resident: 30 * Self.mib, free: 1 * Self.mib)
        _ = look(&policy, &process, atMs: 0)
        process = Process(resident: 330 * Self.mib, free: 300 * Self.mib, returnedByTrim: 295 * Self.mib)
        XCTAssertTrue(look(&policy, &process, atMs: 1_000))
        // Between two looks the next burst takes those pages again and frees them: the allocator's
        // free bytes end where they were, the pages are resident again.
        process.resident = 330 * Self.mib
        XCTAssertTrue(look(&policy, &process, atMs: 2_000), "the second burst is given back too")
        XCTAssertEqual(process.trims, 2)
    }

    func testNoTrimWhileWhatGrewIsInUse() {
        var policy = MemoryReturn()
        var process = Process(resident: 30 * Self.mib, free: 1 * Self.mib, returnedByTrim: 0)
        _ = look(&policy, &process, atMs: 0)
        for second in 1...10 {
            process.resident += 10 * Self.mib  // a growing topology: in use, nothing free to give
            XCTAssertFalse(look(&policy, &process, atMs: Int64(second) * 1_000))
        }
        // Part of it is freed: the next look trims, and the floor is what is left.
        process.free = 50 * Self.mib
        process.returnedByTrim = 40 * Self.mib
        XCTAssertTrue(look(&policy, &process, atMs: 11_000), "grown 100 MiB since the first look, 50 MiB free")
        XCTAssertEqual(process.resident, 90 * Self.mib)
        XCTAssertFalse(look(&policy, &process, atMs: 12_000), "the floor is where the trim left it")
        XCTAssertEqual(process.trims, 1)
    }

    func testWhatIsFreedAfterATrimUnderLoadIsTrimmedAtTheNextLook() {
        var policy = MemoryReturn()
        var process = Process(resident: 30 * Self.mib, free: 1 * Self.mib)
        _ = look(&policy, &process, atMs: 0)
        // Watchers' queues fill: a trim under load gives back little and sets the floors high.
        process = Process(resident: 150 * Self.mib, free: 6 * Self.mib, returnedByTrim: 5 * Self.mib)
        XCTAssertTrue(look(&policy, &process, atMs: 1_000))
        // They close: 100 MiB freed, all of it already resident, so the resident set stays.
        process.free += 100 * Self.mib
        process.returnedByTrim = 100 * Self.mib
        XCTAssertTrue(look(&policy, &process, atMs: 2_000), "the frees after the trim are given back")
        XCTAssertEqual(process.resident, 45 * Self.mib)
        XCTAssertEqual(process.trims, 2)
    }

    /// At a million services reading the allocator's free bytes takes some 40 ms: it is read once
    /// per 1,000 times that, unless the resident set grows.
    func testAnExpensiveLookAtTheFreeBytesIsTakenRarelyUnlessTheResidentSetGrows() {
        var policy = MemoryReturn()
        var process = Process(resident: 800 * Self.mib, free: 20 * Self.mib)
        XCTAssertFalse(look(&policy, &process, atMs: 0, freeLookMs: 40))
        XCTAssertEqual(freeLooks, 1)
        for second in 1..<40 {
            XCTAssertFalse(look(&policy, &process, atMs: Int64(second) * 1_000, freeLookMs: 40))
        }
        XCTAssertEqual(freeLooks, 1, "no second read within 40 s")
        XCTAssertFalse(look(&policy, &process, atMs: 40_000, freeLookMs: 40))
        XCTAssertEqual(freeLooks, 2)
        // The resident set grows by a 32nd (25 MiB of 800) with much of it free: read and trimmed
        // at once (the last read was 100 times its 40 ms ago).
        process.resident += 30 * Self.mib
        process.free += 30 * Self.mib
        process.returnedByTrim = 30 * Self.mib
        XCTAssertTrue(look(&policy, &process, atMs: 44_000, freeLookMs: 40))
        XCTAssertEqual(process.trims, 1)
    }

    /// While snapshots of a million nodes are queued, the resident set grows most seconds and all of
    /// it is in use: the growth is read no more often than 100 times the read's cost.
    func testGrowthInUseIsReadAtMostEveryHundredTimesTheReadsCost() {
        var policy = MemoryReturn()
        var process = Process(resident: 800 * Self.mib, free: 2 * Self.mib)
        XCTAssertFalse(look(&policy, &process, atMs: 0, freeLookMs: 100))
        XCTAssertEqual(freeLooks, 1)
        for second in 1...30 {
            process.resident += 40 * Self.mib  // queued, not free
            XCTAssertFalse(look(&policy, &process, atMs: Int64(second) * 1_000, freeLookMs: 100))
        }
        XCTAssertEqual(freeLooks, 4, "at 0, 10, 20 and 30 s")
        XCTAssertEqual(process.trims, 0)
    }

    /// 4 MiB is noise in a 800 MiB process: growth is counted from a 32nd of the resident set.
    func testGrowthIsMeasuredAgainstTheSizeOfTheProcess() {
        XCTAssertEqual(MemoryReturn.threshold(resident: 30 * Self.mib), 4 * Self.mib)
        XCTAssertEqual(MemoryReturn.threshold(resident: 800 * Self.mib), 25 * Self.mib)
        var policy = MemoryReturn()
        var process = Process(resident: 800 * Self.mib, free: 20 * Self.mib, returnedByTrim: 10 * Self.mib)
        _ = look(&policy, &process, atMs: 0)
        process.resident += 10 * Self.mib
        process.free += 10 * Self.mib
        XCTAssertFalse(look(&policy, &process, atMs: 1_000), "10 MiB of churn in 800 is not trimmed")
        process.free += 20 * Self.mib
        XCTAssertTrue(look(&policy, &process, atMs: 2_000), "30 MiB more free is")
    }

    /// A table given back frees less than the growth threshold: the sweep asks for the next look to
    /// trim all the same, once.
    func testARequestedTrimIsMadeAtTheNextLookWhateverTheGrowth() {
        var policy = MemoryReturn()
        var process = Process(resident: 30 * Self.mib, free: 300 * Self.mib, returnedByTrim: 1 * Self.mib)
        _ = look(&policy, &process, atMs: 0)
        policy.requestTrim()
        XCTAssertFalse(look(&policy, &process, atMs: 500), "at most one look per interval")
        XCTAssertTrue(look(&policy, &process, atMs: 1_000))
        XCTAssertEqual(process.resident, 29 * Self.mib)
        XCTAssertFalse(look(&policy, &process, atMs: 2_000), "once")
        XCTAssertEqual(process.trims, 1)
    }

    /// At a million services a trim takes 150 ms or more: the next one, however much grew and is
    /// free meanwhile, waits 100 times that. A requested one waits too.
    func testAnExpensiveTrimDefersTheNextByAHundredTimesItsCost() {
        var policy = MemoryReturn()
        var process = Process(resident: 800 * Self.mib, free: 20 * Self.mib)
        _ = look(&policy, &process, atMs: 0)
        process = Process(resident: 1_300 * Self.mib, free: 500 * Self.mib, returnedByTrim: 100 * Self.mib)
        XCTAssertTrue(look(&policy, &process, atMs: 1_000, trimMs: 150))
        for second in 2..<16 {
            process.resident += 100 * Self.mib  // each second's snapshots: grown and freed again
            process.free += 100 * Self.mib
            policy.requestTrim()
            XCTAssertFalse(look(&policy, &process, atMs: Int64(second) * 1_000, trimMs: 150), "at \(second) s")
        }
        XCTAssertTrue(look(&policy, &process, atMs: 16_000, trimMs: 150), "15 s after the first")
        XCTAssertEqual(process.trims, 2)
    }
}
