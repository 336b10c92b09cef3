import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// The encode-once cache of a delivery round: the bytes it hands out are those of the updates the
/// core would hand out, and what it shares it encodes once.
final class WatchEncodingCacheTests: XCTestCase {
    private static let t0: Int64 = 1_700_000_000_000

    private func topology() -> Topology {
        var configuration = TopologyConfiguration()
        configuration.watchBufferLimit = 4  // small: coalescing and resyncs come quickly
        return Topology(configuration: configuration, serverEpoch: "e", now: Self.t0)
    }

    private func register(_ name: String, in topology: inout Topology, now: Int64) -> String {
        try! topology.register(RegisterServiceRequest(serviceName: name, serviceType: .server, language: .swift), now: now).handle!.serviceId
    }

    /// Watchers with the same filter that take at the same times get the same updates: one of each
    /// pair takes them alone and encodes each, the others take bytes from the round's cache.
    func testTheBytesAreThoseOfTheUpdatesThroughCoalescingAndResyncs() throws {
        var core = topology()
        var now = Self.t0
        let watch = { (core: inout Topology, query: TopologyQuery) in try! core.watch(WatchTopologyRequest(query: query), now: now) }
        // (alone, [from the cache], takes every step)
        let groups = [(watch(&core, TopologyQuery()), [watch(&core, TopologyQuery()), watch(&core, TopologyQuery())], true),
                      (watch(&core, TopologyQuery(serviceNames: ["x"])), [watch(&core, TopologyQuery(serviceNames: ["x"]))], false),
                      // Slow and unfiltered: it takes coalesced forms of revisions the fast ones took as published.
                      (watch(&core, TopologyQuery()), [watch(&core, TopologyQuery())], false)]
        var ids: [String] = []
        var bytesShared = 0
        for step in 0..<200 {
            switch step % 5 {
            case 0: ids.append(register(step % 10 == 0 ? "x" : "y\(step)", in: &core, now: now))
            case 1, 2:
                _ = try? core.heartbeat(HeartbeatRequest(serviceId: ids[step % ids.count], sequence: Int64(step),
                                                         health: ApplicationHealth(state: step % 2 == 0 ? .degraded : .healthy)), now: now)
            default:
                now += 700
                _ = core.advance(to: now)
            }
            // One round; the slow groups take only every seventh step, so their buffers overflow.
            var cache = WatchEncodingCache()
            for (alone, cached, everyStep) in groups where everyStep || step % 7 == 0 {
                let expected = core.takeUpdates(for: alone, max: 3).map { WatchTopologyResponse(update: $0).serializedBytes() }
                var first: [[UInt8]]?
                for watcher in cached {
                    let got = cache.take(for: watcher, max: 3, from: &core)
                    XCTAssertEqual(got, expected, "step \(step)")
                    // The same bytes for a second watcher are the first's buffer, not a copy.
                    if let first {
                        for (a, b) in zip(first, got) where a.withUnsafeBufferPointer({ $0.baseAddress }) == b.withUnsafeBufferPointer({ $0.baseAddress }) {
                            bytesShared += 1
                        }
                    }
                    first = got
                }
            }
        }
        XCTAssertGreaterThan(bytesShared, 100, "the two unfiltered watchers seldom shared an encoding")
        let slow = try XCTUnwrap(core.statistics(for: groups[1].1[0]))
        XCTAssertGreaterThan(slow.resyncCount + slow.coalesceCount, 0, "the slow watcher never overflowed")
    }

    func testOneSnapshotEncodingPerRoundAndNoneOnceTheTopologyMoves() throws {
        var core = topology()
        for index in 0..<5 { _ = register("s\(index)", in: &core, now: Self.t0) }
        let watch = { (core: inout Topology) in try! core.watch(WatchTopologyRequest(query: TopologyQuery()), now: Self.t0) }
        let first = watch(&core), second = watch(&core)
        var cache = WatchEncodingCache()
        let a = cache.take(for: first, max: 10, from: &core)
        let b = cache.take(for: second, max: 10, from: &core)
        XCTAssertEqual(a, b)
        XCTAssertEqual(cache.wholeSnapshots.count, 1)
        let third = watch(&core)
        _ = register("late", in: &core, now: Self.t0)
        let c = cache.take(for: third, max: 10, from: &core)
        let update = try XCTUnwrap(WatchTopologyResponse(serializedBytes: c[0]).update)
        XCTAssertEqual(update.type, .snapshot)
        XCTAssertEqual(update.snapshot?.nodes.count, 6, "a snapshot from before the change was served")
    }
}
