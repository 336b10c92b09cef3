import XCTest
@testable import TopologyCore
import TopologyWire

final class TopologyHistoryTests: XCTestCase {
    private func limits(retentionMs: Int64 = 60_000, intervalMs: Int64 = 1_000, maxBytes: Int = 1 << 30, maxServices: Int = 1_000,
                        maxSamples: Int = 10_000) -> TopologyHistory.Limits {
        TopologyHistory.Limits(retentionMs: retentionMs, intervalMs: intervalMs, maxBytes: maxBytes, maxServices: maxServices,
                               maxSamples: maxSamples)
    }

    /// A topology whose revision moves only when a test changes it (no liveness transition within
    /// the times these tests jump over).
    private func quietHarness() -> Harness {
        var configuration = TopologyConfiguration()
        configuration.heartbeatIntervalMs = 10_000_000
        configuration.idleTimeoutMs = 10_000_000
        return Harness(configuration)
    }

    /// Moves the harness and the history together, visiting the history's deadlines on the way as
    /// the server's loop does.
    private func advance(_ h: inout Harness, _ history: inout TopologyHistory, to time: Int64) {
        while let due = history.nextDeadline(revision: h.topology.currentRevision), due <= time {
            h.advance(to: max(h.now, due))
            history.advance(to: h.now, topology: h.topology)
        }
        h.advance(to: time)
        history.advance(to: h.now, topology: h.topology)
    }

    private func names(_ lookup: TopologyHistory.Lookup) -> [String]? {
        guard case .found(let sample) = lookup else { return nil }
        return sample.snapshot.nodes.map(\.serviceName).sorted()
    }

    func testTheGraphAtATimeIsTheLatestSampleAtOrBeforeIt() {
        var h = quietHarness()
        var history = TopologyHistory(limits: limits())
        h.register("a")
        history.advance(to: h.now, topology: h.topology)
        let first = h.now
        h.advance(by: 300)
        h.register("b")
        // Within the interval: no sample yet; the next one is due at first + 1000.
        XCTAssertFalse(history.advance(to: h.now, topology: h.topology))
        XCTAssertEqual(history.nextDeadline(revision: h.topology.currentRevision), first + 1_000)
        advance(&h, &history, to: first + 1_000)
        XCTAssertEqual(history.samples.map(\.timeMs), [first, first + 1_000])
        XCTAssertEqual(names(history.sample(at: first, now: h.now)), ["a"])
        XCTAssertEqual(names(history.sample(at: first + 999, now: h.now)), ["a"])
        XCTAssertEqual(names(history.sample(at: first + 1_000, now: h.now)), ["a", "b"])
        guard case .found(let sample) = history.sample(at: first + 1_000, now: h.now) else { return XCTFail("no sample") }
        XCTAssertEqual(sample.revision, h.topology.currentRevision)
        XCTAssertEqual(sample.snapshot.timestampMs, first + 1_000)
    }

    func testNoSampleIsTakenWhileTheRevisionStandsStill() {
        var h = quietHarness()
        var history = TopologyHistory(limits: limits())
        h.register("a")
        history.advance(to: h.now, topology: h.topology)
        XCTAssertNil(history.nextDeadline(revision: h.topology.currentRevision))
        h.jump(to: h.now + 5_000)
        XCTAssertFalse(history.advance(to: h.now, topology: h.topology))
        XCTAssertEqual(history.samples.count, 1)
        // The one sample still answers for now: the graph has not changed since.
        XCTAssertEqual(names(history.sample(at: h.now, now: h.now)), ["a"])
    }

    func testTimesOutsideTheHistoryAreOutOfRangeWithTheBounds() {
        var h = quietHarness()
        var history = TopologyHistory(limits: limits())
        guard case .outOfRange(nil, let end) = history.sample(at: h.now, now: h.now) else { return XCTFail("empty history answered") }
        XCTAssertEqual(end, h.now)
        h.register("a")
        history.advance(to: h.now, topology: h.topology)
        let start = h.now
        h.jump(to: h.now + 10)
        guard case .outOfRange(let before, let beforeEnd) = history.sample(at: start - 1, now: h.now) else { return XCTFail("before start") }
        XCTAssertEqual(before, start)
        XCTAssertEqual(beforeEnd, h.now)
        guard case .outOfRange(start?, _) = history.sample(at: h.now + 1, now: h.now) else { return XCTFail("after now") }
    }

    func testASampleGoesOnceTheNextOneIsOlderThanTheRetention() {
        var h = quietHarness()
        var history = TopologyHistory(limits: limits(retentionMs: 10_000, intervalMs: 1_000))
        h.register("a")
        history.advance(to: h.now, topology: h.topology)
        let first = h.now
        h.jump(to: first + 2_000)
        h.register("b")
        history.advance(to: h.now, topology: h.topology)
        // The first sample describes [first, first + 2000): it stays until first + 2000 leaves the window.
        XCTAssertEqual(history.nextDeadline(revision: h.topology.currentRevision), first + 12_000)
        h.jump(to: first + 11_999)
        history.advance(to: h.now, topology: h.topology)
        XCTAssertEqual(history.samples.count, 2)
        XCTAssertEqual(names(history.sample(at: first + 1_999, now: h.now)), ["a"])
        h.jump(to: first + 12_000)
        history.advance(to: h.now, topology: h.topology)
        XCTAssertEqual(history.samples.map(\.timeMs), [first + 2_000])
        XCTAssertEqual(history.startMs(now: h.now), first + 2_000)
        // Later still, the one sample covers the whole window, which starts at now - retention.
        h.jump(to: first + 30_000)
        XCTAssertEqual(history.startMs(now: h.now), first + 20_000)
        guard case .outOfRange(first + 20_000, _) = history.sample(at: first + 19_999, now: h.now) else { return XCTFail("before the window") }
        XCTAssertEqual(names(history.sample(at: first + 20_000, now: h.now)), ["a", "b"])
    }

    func testTheByteBudgetDropsTheOldestFirstAndTheCountMatchesTheSamples() {
        var h = quietHarness()
        var id = h.register("s0")
        let one = TopologyHistory.estimatedBytes(of: h.topology.snapshot(for: TopologyQuery(), now: h.now))
        // Room for three samples of this size: each step replaces the one service by another of
        // the same size, so every sample costs the same.
        var history = TopologyHistory(limits: limits(maxBytes: one * 3 + one / 2))
        for index in 0 ..< 6 {
            if index > 0 {
                h.jump(to: h.now + 1_000)
                _ = h.topology.unregister(UnregisterServiceRequest(serviceId: id), now: h.now)
                id = h.register("s\(index)")
            }
            XCTAssertTrue(history.advance(to: h.now, topology: h.topology))
            XCTAssertLessThanOrEqual(history.bytes, one * 3 + one / 2)
            XCTAssertEqual(history.bytes, history.samples.reduce(0) { $0 + $1.bytes })
        }
        // Oldest first: what is kept is the three most recent samples.
        XCTAssertEqual(history.samples.map { $0.snapshot.nodes.map(\.serviceName) }, [["s3"], ["s4"], ["s5"]])
        XCTAssertEqual(history.samples.map(\.timeMs), [h.now - 2_000, h.now - 1_000, h.now])
    }

    func testTheSampleCountIsBounded() {
        var h = quietHarness()
        var history = TopologyHistory(limits: limits(maxSamples: 3))
        for index in 0 ..< 5 {
            h.jump(to: h.now + 1_000)
            h.register("s\(index)")
            history.advance(to: h.now, topology: h.topology)
        }
        XCTAssertEqual(history.samples.map(\.snapshot.nodes.count), [3, 4, 5])
    }

    func testAboveTheServiceCapNothingIsSampledAndTheHistoryIsEmptied() {
        var h = quietHarness()
        var history = TopologyHistory(limits: limits(maxServices: 2))
        h.register("a")
        history.advance(to: h.now, topology: h.topology)
        h.jump(to: h.now + 1_000)
        h.register("b")
        h.register("c")
        XCTAssertFalse(history.advance(to: h.now, topology: h.topology))
        XCTAssertEqual(history.paused, .tooManyServices(count: 3, limit: 2))
        XCTAssertTrue(history.samples.isEmpty)
        XCTAssertEqual(history.bytes, 0)
        XCTAssertEqual(history.skippedCaptures, 1)
        guard case .unavailable(.tooManyServices(3, 2)?) = history.sample(at: h.now, now: h.now) else { return XCTFail("served while paused") }
        // Back under the cap, sampling resumes at the next change.
        let c = h.topology.snapshot(for: TopologyQuery(), now: h.now).nodes.first { $0.serviceName == "c" }!.serviceId
        _ = h.topology.unregister(UnregisterServiceRequest(serviceId: c), now: h.now)
        h.jump(to: h.now + 1_000)
        XCTAssertTrue(history.advance(to: h.now, topology: h.topology))
        XCTAssertNil(history.paused)
        XCTAssertEqual(names(history.sample(at: h.now, now: h.now)), ["a", "b"])
    }

    func testASampleLargerThanTheWholeBudgetPausesTheHistory() {
        var h = quietHarness()
        var history = TopologyHistory(limits: limits(maxBytes: 10))
        h.register("a")
        XCTAssertFalse(history.advance(to: h.now, topology: h.topology))
        guard case .overBudget(let size, 10)? = history.paused else { return XCTFail("not paused") }
        XCTAssertGreaterThan(size, 10)
    }

    func testOffHasNoDeadlineAndAnswersUnavailable() {
        var h = quietHarness()
        var history = TopologyHistory(limits: .off)
        h.register("a")
        XCTAssertNil(history.nextDeadline(revision: h.topology.currentRevision))
        XCTAssertFalse(history.advance(to: h.now, topology: h.topology))
        guard case .unavailable(nil) = history.sample(at: h.now, now: h.now) else { return XCTFail("off answered") }
    }

    /// A dead service: before its death the history draws it, after its removal it does not.
    func testAServiceThatDiedIsInTheSamplesBeforeItsDeath() {
        var h = Harness()
        var history = TopologyHistory(limits: limits(retentionMs: 600_000, intervalMs: 1_000))
        let doomed = h.registerAndHeartbeat("doomed")
        let keeper = h.registerAndHeartbeat("keeper")
        history.advance(to: h.now, topology: h.topology)
        let alive = h.now
        var time = h.now
        let end = h.now + h.topology.configuration.deadTimeoutMs + 2_000
        while time < end {
            time += 500
            advance(&h, &history, to: time)
            h.heartbeat(keeper)
        }
        XCTAssertNil(h.state(doomed))
        XCTAssertEqual(names(history.sample(at: alive, now: h.now)), ["doomed", "keeper"])
        XCTAssertEqual(names(history.sample(at: h.now, now: h.now)), ["keeper"])
    }
}
