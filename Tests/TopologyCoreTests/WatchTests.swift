import XCTest
@testable import TopologyCore
import TopologyWire

final class WatchTests: XCTestCase {
    func testSnapshotFirstThenDeltasInOrder() {
        var h = Harness()
        let a = h.register("a")
        let watcher = h.watch()
        XCTAssertEqual(h.topology.takeReadyWatchers(), [watcher])
        XCTAssertEqual(h.topology.takeReadyWatchers(), [])
        let b = h.register("b")
        h.heartbeat(a)
        XCTAssertEqual(h.topology.takeReadyWatchers(), [watcher])
        let updates = h.take(watcher)
        // The SNAPSHOT is built when first taken: the updates queued meanwhile are in it, not after it.
        XCTAssertEqual(types(updates), [.snapshot])
        let snapshot = updates[0].snapshot!
        XCTAssertEqual(snapshot.serverEpoch, "epoch-1")
        XCTAssertFalse(updates[0].resync)
        XCTAssertEqual(Set(snapshot.nodes.map(\.serviceId)), [a, b])
        XCTAssertEqual(snapshot.nodes.first { $0.serviceId == a }!.state, .idle)
        XCTAssertEqual(snapshot.revision, updates[0].revision)
        XCTAssertEqual(snapshot.revision, h.topology.currentRevision)
    }

    func testPendingSnapshotAndASnapshotSharedByOneRound() {
        var h = Harness()
        let a = h.register("a")
        _ = h.register("b")
        let whole1 = h.watch()
        let whole2 = h.watch()
        var query = TopologyQuery()
        query.serviceNames = ["a"]
        let filtered = h.watch(query)
        XCTAssertEqual(h.topology.pendingSnapshot(for: whole1)?.wholeTopology, true)
        XCTAssertEqual(h.topology.pendingSnapshot(for: whole1)?.resync, false)
        XCTAssertEqual(h.topology.pendingSnapshot(for: filtered)?.wholeTopology, false)
        var cache = WatchRoundCache()
        let first = h.topology.takeUpdates(for: whole1, max: 8, cache: &cache)
        let second = h.topology.takeUpdates(for: whole2, max: 8, cache: &cache)
        let narrow = h.topology.takeUpdates(for: filtered, max: 8, cache: &cache)
        XCTAssertEqual(first, second)
        XCTAssertEqual(first.first?.snapshot?.nodes.count, 2)
        XCTAssertEqual(narrow.first?.snapshot?.nodes.map(\.serviceId), [a], "a filter is not served the shared snapshot")
        XCTAssertNil(h.topology.pendingSnapshot(for: whole1), "taken")
        // Once the topology moves on, the round's snapshot is not served again.
        let late = h.watch()
        _ = h.register("c")
        XCTAssertEqual(h.topology.takeUpdates(for: late, max: 8, cache: &cache).first?.snapshot?.nodes.count, 3)
    }

    func testDeltasAfterTakenSnapshot() {
        var h = Harness()
        let a = h.register("a")
        let watcher = h.watch()
        let first = h.take(watcher)
        XCTAssertEqual(types(first), [.snapshot])
        XCTAssertEqual(first[0].snapshot!.nodes.map(\.serviceId), [a])
        let b = h.register("b")
        h.heartbeat(a)
        h.heartbeat(b)
        let updates = h.take(watcher)
        XCTAssertEqual(types(updates), [.nodeAdded, .nodeUpdated, .nodeUpdated])
        XCTAssertEqual(updates.map { $0.node!.serviceId }, [b, a, b])
        let revisions = ([first[0]] + updates).map(\.revision)
        XCTAssertEqual(revisions, revisions.sorted())
        XCTAssertEqual(Set(revisions).count, revisions.count, "strictly increasing")
        XCTAssertEqual(updates.last!.revision, h.topology.currentRevision)
    }

    func testTakeUpdatesRespectsMax() {
        var h = Harness()
        let watcher = h.watch()
        for i in 0..<10 { h.register("s\(i)") }
        XCTAssertEqual(types(h.topology.takeUpdates(for: watcher, max: 1)), [.snapshot])
        h.register("late")
        let three = h.topology.takeUpdates(for: watcher, max: 3)
        XCTAssertEqual(three.count, 1)
        XCTAssertEqual(h.topology.pendingUpdateCount(for: watcher), 0)
        for i in 0..<5 { h.register("more\(i)") }
        XCTAssertEqual(h.topology.takeUpdates(for: watcher, max: 2).count, 2)
        XCTAssertEqual(h.topology.pendingUpdateCount(for: watcher), 3)
        XCTAssertEqual(h.topology.takeUpdates(for: watcher, max: 0), [])
    }

    func testFilters() {
        var h = Harness()
        let prodA = h.register("a", metadata: ServiceMetadata(region: "eu", environment: "prod", team: "core"))
        let stagingA = h.register("a", metadata: ServiceMetadata(region: "us", environment: "staging", team: "core"))
        let prodB = h.register("b", metadata: ServiceMetadata(region: "eu", environment: "prod", team: "web"))
        let bare = h.register("c")
        func ids(_ query: TopologyQuery) -> Set<String> {
            Set(h.topology.snapshot(for: query, now: h.now).nodes.map(\.serviceId))
        }
        XCTAssertEqual(ids(TopologyQuery()), [prodA, stagingA, prodB, bare])
        XCTAssertEqual(ids(TopologyQuery(serviceNames: ["a"])), [prodA, stagingA])
        XCTAssertEqual(ids(TopologyQuery(serviceNames: ["a", "c"])), [prodA, stagingA, bare])
        XCTAssertEqual(ids(TopologyQuery(environments: ["prod"])), [prodA, prodB])
        XCTAssertEqual(ids(TopologyQuery(serviceNames: ["a"], environments: ["prod"])), [prodA], "all of across fields")
        XCTAssertEqual(ids(TopologyQuery(teams: ["web", "core"])), [prodA, stagingA, prodB], "any of within a field")
        XCTAssertEqual(ids(TopologyQuery(regions: ["us"])), [stagingA])
        XCTAssertEqual(ids(TopologyQuery(states: [.registered])), [prodA, stagingA, prodB, bare])
        XCTAssertEqual(ids(TopologyQuery(states: [.idle])), [])
        // include_idle / include_stale are accepted and ignored, as by the existing runtime.
        XCTAssertEqual(ids(TopologyQuery(includeIdle: false, includeStale: false)), ids(TopologyQuery()))
        XCTAssertEqual(ids(TopologyQuery(includeIdle: true, includeStale: true)), ids(TopologyQuery()))
    }

    func testFilteredWatchSeesNodesEnterAndLeave() {
        var h = Harness()
        let a = h.register("a")
        let b = h.register("b")
        let idleOnly = h.watch(TopologyQuery(states: [.idle]))
        let onlyB = h.watch(TopologyQuery(serviceNames: ["b"]))
        XCTAssertEqual(h.take(idleOnly)[0].snapshot!.nodes, [])
        XCTAssertEqual(h.take(onlyB)[0].snapshot!.nodes.map(\.serviceId), [b])
        h.heartbeat(a)  // REGISTERED -> IDLE: enters the idle-only filter
        var updates = h.take(idleOnly)
        XCTAssertEqual(types(updates), [.nodeAdded])
        XCTAssertEqual(updates[0].node!.state, .idle)
        XCTAssertEqual(h.take(onlyB), [], "a is not b")
        h.activity(a, to: "b")  // IDLE -> ACTIVE: leaves it
        updates = h.take(idleOnly)
        XCTAssertEqual(types(updates), [.nodeRemoved])
        XCTAssertEqual(updates[0].node!.state, .active)
        // Edges follow the source's name and metadata, not its state: the idle-only watcher sees a's
        // edge though a is ACTIVE; the b watcher does not.
        h.advance(by: 1_000)
        XCTAssertEqual(types(h.take(idleOnly)), [.edgeAdded])
        XCTAssertEqual(h.take(onlyB), [])
        // A re-registration that renames a into b moves a (and its edge) into the b watcher.
        _ = h.register("b", id: a)
        updates = h.take(onlyB)
        // NODE_ADDED and EDGE_ADDED for this watcher; then the edge a -> "b" re-resolves, since a
        // (registered before b) is now named b itself.
        XCTAssertEqual(types(updates), [.nodeAdded, .edgeAdded, .edgeUpdated])
        XCTAssertEqual(updates[2].edge!.targetServiceId, a)
        XCTAssertEqual(updates[0].node!.serviceId, a)
        // And the snapshot agrees with what the watcher holds.
        var view = WatcherView(h.topology.snapshot(for: TopologyQuery(serviceNames: ["b"]), now: h.now))
        XCTAssertEqual(Set(view.nodes.keys), [a, b])
        XCTAssertEqual(view.edges.count, 1)
        _ = view.apply([])
    }

    func testCoalescing() {
        var updates: [QueuedUpdate] = []
        func node(_ id: String, _ type: UpdateType, _ state: ServiceState, _ revision: UInt64) {
            let update = TopologyUpdate(type: type, node: ServiceNode(serviceId: id, state: state), revision: revision)
            updates.append(QueuedUpdate(entry: HistoryEntry(update: update, before: nil, after: nil), type: type, revision: revision))
        }
        func edge(_ source: String, _ type: UpdateType, _ requests: UInt64, _ revision: UInt64) {
            let update = TopologyUpdate(type: type, edge: ServiceEdge(sourceServiceId: source, targetService: "t", totalRequests: requests), revision: revision)
            updates.append(QueuedUpdate(entry: HistoryEntry(update: update, before: nil, after: nil), type: type, revision: revision))
        }
        node("a", .nodeUpdated, .idle, 1)       // existed: updated twice -> one UPDATED (latest)
        node("b", .nodeAdded, .registered, 2)   // added then removed -> nothing
        edge("a", .edgeUpdated, 5, 3)
        updates.append(QueuedUpdate(entry: nil, type: .progress, revision: 3))
        node("a", .nodeUpdated, .active, 4)
        node("b", .nodeUpdated, .idle, 5)
        node("c", .nodeRemoved, .idle, 6)       // existed, removed then re-added -> UPDATED
        node("b", .nodeRemoved, .idle, 7)
        node("c", .nodeAdded, .registered, 8)
        node("d", .nodeAdded, .registered, 9)   // added, updated -> ADDED (latest)
        node("d", .nodeUpdated, .idle, 10)
        edge("a", .edgeRemoved, 6, 11)          // existed, updated, removed -> REMOVED
        node("e", .nodeUpdated, .idle, 12)      // alone: unchanged, not marked
        let result = Topology.coalesce(updates[...])
        let summary = result.map { ($0.materialized.node?.serviceId ?? "edge", $0.type, $0.revision, $0.coalesced) }
        XCTAssertEqual(summary.map(\.0), ["a", "c", "d", "edge", "e"])
        XCTAssertEqual(summary.map(\.1), [.nodeUpdated, .nodeUpdated, .nodeAdded, .edgeRemoved, .nodeUpdated])
        XCTAssertEqual(summary.map(\.2), [4, 8, 10, 11, 12], "the latest revision of each, increasing")
        XCTAssertEqual(summary.map(\.3), [true, true, true, true, false])
        XCTAssertEqual(result[0].materialized.node!.state, .active, "latest state wins")
        XCTAssertEqual(result[2].materialized.node!.state, .idle)
    }

    func testSlowWatcherCoalescesThenResyncs() {
        var configuration = TopologyConfiguration()
        configuration.watchBufferLimit = 8
        configuration.resyncIntervalMs = 0  // the rule alone; see the next test for the interval
        configuration.heartbeatIntervalMs = 1_000_000
        configuration.nodeUpdateThrottleMs = 0  // every heartbeat's refresh is published, by its timer
        var h = Harness(configuration)
        let ids = (0..<3).map { h.register("s\($0)") }
        let slow = h.watch()
        let fast = h.watch()
        _ = h.take(slow)
        _ = h.take(fast)
        var fastView = WatcherView(h.topology.snapshot(for: TopologyQuery(), now: h.now))
        var slowView = fastView
        // 3 nodes updated over and over: coalescing keeps the slow buffer at <= 8 without a resync.
        for round in 0..<20 {
            for id in ids { h.heartbeat(id, metrics: ServiceMetrics(cpuPercent: Double(round), memoryBytes: 0)) }
            h.advance(by: 1)
            XCTAssertNil(fastView.apply(h.take(fast)))
            XCTAssertLessThanOrEqual(h.topology.pendingUpdateCount(for: slow), 8)
        }
        let stats = h.topology.statistics(for: slow)!
        XCTAssertGreaterThan(stats.coalesceCount, 0)
        XCTAssertEqual(stats.resyncCount, 0)
        let coalesced = h.take(slow)
        XCTAssertTrue(coalesced.contains { $0.coalesced })
        XCTAssertNil(slowView.apply(coalesced))
        XCTAssertEqual(slowView, fastView, "a coalesced stream ends in the same state")
        XCTAssertEqual(slowView, WatcherView(h.topology.snapshot(for: TopologyQuery(), now: h.now)))
        for node in slowView.nodes.values { XCTAssertEqual(node.metrics!.cpuPercent, 19) }
        // Many distinct nodes: coalescing cannot help -> one resync SNAPSHOT, memory stays bounded.
        for i in 0..<50 {
            h.register("n\(i)")
            XCTAssertNil(fastView.apply(h.take(fast)))
        }
        XCTAssertEqual(h.topology.statistics(for: slow)!.resyncCount, 1)
        XCTAssertEqual(h.topology.pendingUpdateCount(for: slow), 1)
        h.advance(by: 0)
        XCTAssertTrue(h.events.contains(.watcherResynced(slow)))
        let resync = h.take(slow)
        XCTAssertEqual(types(resync), [.snapshot])
        XCTAssertTrue(resync[0].resync)
        XCTAssertEqual(resync[0].snapshot!.nodes.count, 53)
        XCTAssertEqual(resync[0].revision, h.topology.currentRevision)
        // The fast watcher never noticed.
        XCTAssertNil(fastView.apply(h.take(fast)))
        XCTAssertEqual(fastView, WatcherView(h.topology.snapshot(for: TopologyQuery(), now: h.now)))
        XCTAssertEqual(h.topology.statistics(for: fast)!.coalesceCount, 0)
    }

    /// A harness with a buffer of 8 updates, a resync interval of 10 s, no throttle and no liveness
    /// change, and a watcher that has taken its first SNAPSHOT (at t0).
    private func slowWatcherHarness() -> (Harness, WatcherID) {
        var configuration = TopologyConfiguration()
        configuration.watchBufferLimit = 8
        configuration.resyncIntervalMs = 10_000
        configuration.heartbeatIntervalMs = 1_000_000
        configuration.nodeUpdateThrottleMs = 0
        var h = Harness(configuration)
        let slow = h.watch()
        _ = h.take(slow)
        return (h, slow)
    }

    /// A watcher whose last SNAPSHOT (its first, or a resync) is recent is not resynced again when
    /// its buffer overflows: the buffer is coalesced, however long that leaves it, and coalesced
    /// again only once it has doubled. Past the interval, an overflow resyncs as before.
    func testRecentlyResyncedWatcherIsCoalescedNotResyncedAgain() {
        var (h, slow) = slowWatcherHarness()
        // 50 distinct nodes within the interval: no resync, one coalesced update per node.
        let ids = (0..<50).map { h.register("n\($0)") }
        var stats = h.topology.statistics(for: slow)!
        XCTAssertEqual(stats.resyncCount, 0)
        XCTAssertGreaterThan(stats.coalesceCount, 0)
        XCTAssertLessThan(stats.coalesceCount, 10, "coalesced again only when the buffer doubled")
        XCTAssertEqual(h.topology.pendingUpdateCount(for: slow), 50)
        var view = WatcherView(TopologySnapshot())
        XCTAssertNil(view.apply(h.take(slow)))
        XCTAssertEqual(view, WatcherView(h.topology.snapshot(for: TopologyQuery(), now: h.now)))
        // Once taken, the buffer is back to its limit: the next overflow (still within the
        // interval) coalesces at 8 again.
        for id in ids.prefix(3) { for _ in 0..<5 { h.heartbeat(id) } }
        XCTAssertLessThanOrEqual(h.topology.pendingUpdateCount(for: slow), 8)
        XCTAssertNil(view.apply(h.take(slow)))
        // Past the interval: an overflow that coalescing cannot halve resyncs.
        h.advance(by: 10_000)
        for id in ids { h.heartbeat(id) }
        stats = h.topology.statistics(for: slow)!
        XCTAssertEqual(stats.resyncCount, 1)
        let resync = h.take(slow)
        XCTAssertEqual(types(resync), [.snapshot])
        XCTAssertTrue(resync[0].resync)
        // ... and that resync starts a new interval.
        for i in 0..<20 { h.register("m\(i)") }
        XCTAssertEqual(h.topology.statistics(for: slow)!.resyncCount, 1)
        XCTAssertEqual(h.topology.pendingUpdateCount(for: slow), 20)
    }

    /// A buffer of `coalesceCeiling` times the limit is not coalesced (a pass over a large one held
    /// the loop for hundreds of ms): within the resync interval it only grows, and it is resynced
    /// at the first overflow past the interval. Below the ceiling it is coalesced as before.
    func testABufferPastTheCeilingWaitsForItsResyncUncoalesced() {
        var (h, slow) = slowWatcherHarness()
        let ceiling = 8 * WatcherRecord.coalesceCeiling
        let ids = (0..<ceiling).map { h.register("n\($0)") }  // distinct nodes: coalescing cannot halve them
        let coalescedBelow = h.topology.statistics(for: slow)!.coalesceCount
        XCTAssertGreaterThan(coalescedBelow, 0, "coalesced while under the ceiling")
        for i in 0..<200 { h.register("m\(i)") }
        var stats = h.topology.statistics(for: slow)!
        XCTAssertEqual(stats.coalesceCount, coalescedBelow, "not coalesced past the ceiling")
        XCTAssertEqual(stats.resyncCount, 0, "not resynced within the interval")
        XCTAssertEqual(stats.pendingUpdates, ceiling + 200, "nothing dropped")
        h.advance(by: 10_000)
        for id in ids.prefix(8) { h.heartbeat(id) }
        stats = h.topology.statistics(for: slow)!
        XCTAssertEqual(stats.resyncCount, 1, "resynced at the first look past the interval")
        let resync = h.take(slow)
        XCTAssertEqual(resync.first?.type, .snapshot)
        XCTAssertTrue(resync[0].resync)
        var view = WatcherView(TopologySnapshot())
        XCTAssertNil(view.apply(resync))
        XCTAssertEqual(view, WatcherView(h.topology.snapshot(for: TopologyQuery(), now: h.now)))
    }

    func testResumeInsideHistory() {
        var h = Harness()
        let a = h.register("a")
        let watcher = h.watch()
        var view = WatcherView()
        XCTAssertNil(view.apply(h.take(watcher)))
        h.heartbeat(a)
        let b = h.register("b")
        XCTAssertNil(view.apply(h.take(watcher)))
        let seen = view.lastRevision
        // The stream is lost; meanwhile things change.
        h.topology.endWatch(watcher)
        XCTAssertEqual(h.topology.watcherCount, 0)
        _ = h.topology.unregister(UnregisterServiceRequest(serviceId: a), now: h.now)
        h.heartbeat(b)
        let resumed = h.watch(resumeAfter: seen, epoch: "epoch-1")
        let updates = h.take(resumed)
        XCTAssertEqual(types(updates), [.nodeRemoved, .nodeUpdated], "the missed updates, no snapshot")
        XCTAssertEqual(updates.first!.revision, seen + 1)
        XCTAssertNil(view.apply(updates))
        XCTAssertEqual(view, WatcherView(h.topology.snapshot(for: TopologyQuery(), now: h.now)))
        // Resuming at the current revision: nothing to replay.
        let current = h.watch(resumeAfter: h.topology.currentRevision, epoch: "epoch-1")
        XCTAssertEqual(h.take(current), [])
    }

    func testResumeOutsideHistoryOrOtherEpochResyncs() {
        var configuration = TopologyConfiguration()
        configuration.historyLimit = 5
        var h = Harness(configuration)
        for i in 0..<10 { h.register("s\(i)") }
        // Revision 3 is older than the 5 kept (6...10).
        var updates = h.take(h.watch(resumeAfter: 3, epoch: "epoch-1"))
        XCTAssertEqual(types(updates), [.snapshot])
        XCTAssertTrue(updates[0].resync)
        XCTAssertEqual(updates[0].snapshot!.nodes.count, 10)
        // Revision 5 is just inside: replay 6...10.
        updates = h.take(h.watch(resumeAfter: 5, epoch: "epoch-1"))
        XCTAssertEqual(updates.map(\.revision), [6, 7, 8, 9, 10])
        // Another server process: always a resync, whatever the revision.
        updates = h.take(h.watch(resumeAfter: 8, epoch: "epoch-0"))
        XCTAssertEqual(types(updates), [.snapshot])
        XCTAssertTrue(updates[0].resync)
        // A revision from the future (this epoch never reached it): resync.
        updates = h.take(h.watch(resumeAfter: 99, epoch: "epoch-1"))
        XCTAssertTrue(updates[0].resync)
    }

    func testResumeReplaysThroughTheFilter() {
        var h = Harness()
        let a = h.register("a")
        let b = h.register("b")
        let seen = h.topology.currentRevision
        h.heartbeat(a)
        h.heartbeat(b)
        let updates = h.take(h.watch(TopologyQuery(serviceNames: ["b"]), resumeAfter: seen, epoch: "epoch-1"))
        XCTAssertEqual(updates.map { $0.node!.serviceId }, [b])
    }

    func testProgressOnAQuietStream() {
        var h = Harness()
        let watcher = h.watch()
        let opened = h.now
        XCTAssertEqual(types(h.takeAll(watcher)), [.snapshot])
        h.advance(to: opened + 4_999)
        XCTAssertEqual(h.takeAll(watcher), [])
        h.advance(to: opened + 5_000)
        var updates = h.takeAll(watcher)
        XCTAssertEqual(types(updates), [.progress])
        XCTAssertEqual(updates[0].revision, h.topology.currentRevision)
        XCTAssertNil(updates[0].node)
        // Anything queued resets the quiet period.
        h.advance(to: opened + 8_000)
        let id = h.register("a")
        XCTAssertEqual(types(h.takeAll(watcher)), [.nodeAdded])
        h.advance(to: opened + 12_999)
        XCTAssertEqual(h.takeAll(watcher), [])
        h.advance(to: opened + 13_000)
        updates = h.takeAll(watcher)
        XCTAssertEqual(types(updates), [.progress])
        XCTAssertEqual(updates[0].revision, h.topology.currentRevision)
        // A filtered stream gets progress for revisions it did not see.
        let onlyX = h.watch(TopologyQuery(serviceNames: ["x"]))
        _ = h.takeAll(onlyX)
        h.heartbeat(id)
        h.advance(by: 5_000)
        updates = h.takeAll(onlyX)
        XCTAssertEqual(types(updates), [.progress])
        XCTAssertEqual(updates[0].revision, h.topology.currentRevision)
        // No progress piles up for a watcher that does not take what it has.
        h.advance(by: 60_000)
        XCTAssertLessThanOrEqual(h.topology.pendingUpdateCount(for: onlyX), 1)
    }

    func testWatcherLimitsAndEnd() {
        var configuration = TopologyConfiguration()
        configuration.maxWatchers = 2
        var h = Harness(configuration)
        let first = h.watch()
        _ = h.watch()
        XCTAssertThrowsError(try h.topology.watch(WatchTopologyRequest(), now: h.now)) {
            XCTAssertEqual($0 as? TopologyError, .resourceExhausted(limit: "maxWatchers", value: 2))
        }
        h.topology.endWatch(first)
        h.topology.endWatch(first)  // twice is harmless
        XCTAssertEqual(h.topology.watcherCount, 1)
        let third = h.watch()
        XCTAssertNotEqual(third, first, "a reused slot gets a new id")
        XCTAssertEqual(h.topology.takeUpdates(for: first, max: 10), [])
        XCTAssertFalse(h.topology.takeReadyWatchers().contains(first))
        XCTAssertThrowsError(try h.topology.watch(
            WatchTopologyRequest(query: TopologyQuery(serviceNames: [String(repeating: "x", count: 2_000)])), now: h.now))
    }

    /// The shared path against the plain one: two cores driven alike, one's watchers taking
    /// `takeUpdates(for:max:)`, the other's `takeUpdates(for:max:cache:_:)` with one round cache
    /// shared by all its watchers: the same updates, round after round, through filters,
    /// coalescing, resyncs and PROGRESS; and what it marks as shareable is: every update marked as
    /// published is the same for every watcher that takes that revision, and every whole-topology
    /// SNAPSHOT of a round is the same. (An encoder relies on exactly that: WatchEncodingCache.)
    func testSharedUpdatesAreTheUpdatesAndWhatIsMarkedShareableIsTheSame() {
        var configuration = TopologyConfiguration()
        configuration.watchBufferLimit = 8
        configuration.nodeUpdateThrottleMs = 1_000
        configuration.progressIntervalMs = 3_000
        var plain = Harness(configuration, seed: 5)
        var shared = Harness(configuration, seed: 5)
        let queries = [TopologyQuery(), TopologyQuery(), TopologyQuery(serviceNames: ["a", "b"]), TopologyQuery(states: [.stale]),
                       TopologyQuery(environments: ["prod"])]
        let watchers = queries.map { (plain.watch($0), shared.watch($0)) }
        var rng = SplitMix64(seed: 6)
        var ids: [String] = []
        var published: [UInt64: TopologyUpdate] = [:]
        var sharedSnapshots = 0
        var publishedTwice = 0
        for step in 0..<2_000 {
            switch rng.next() % 10 {
            case 0:
                let request = RegisterServiceRequest(
                    serviceName: ["a", "b", "c"][Int(rng.next() % 3)], serviceType: .server, language: .swift,
                    metadata: rng.next() % 2 == 0 ? ServiceMetadata(environment: "prod") : nil)
                let id = try! plain.topology.register(request, now: plain.now).handle!.serviceId
                XCTAssertEqual(try! shared.topology.register(request, now: shared.now).handle!.serviceId, id)
                ids.append(id)
            case 1, 2, 3, 4:
                guard let id = ids.randomElement(using: &rng) else { break }
                let health = HealthState(rawValue: Int32(rng.next() % 3))
                _ = try? plain.topology.heartbeat(HeartbeatRequest(serviceId: id, sequence: Int64(step), health: ApplicationHealth(state: health)), now: plain.now)
                _ = try? shared.topology.heartbeat(HeartbeatRequest(serviceId: id, sequence: Int64(step), health: ApplicationHealth(state: health)), now: shared.now)
            case 5:
                guard let id = ids.randomElement(using: &rng) else { break }
                _ = try? plain.topology.reportActivity(ReportActivityRequest(serviceId: id, targetService: "a"), now: plain.now)
                _ = try? shared.topology.reportActivity(ReportActivityRequest(serviceId: id, targetService: "a"), now: shared.now)
            default:
                let by = Int64(rng.next() % 2_500)
                plain.advance(by: by)
                shared.advance(by: by)
            }
            // A delivery round: each watcher takes now or (the slow ones) only now and then.
            var cache = WatchRoundCache()
            var roundSnapshot: [Bool: TopologyUpdate] = [:]
            for (index, (a, b)) in watchers.enumerated() where index < 3 || rng.next() % 8 == 0 {
                let max = Int(rng.next() % 12) + 1
                let expected = plain.topology.takeUpdates(for: a, max: max)
                var got: [TopologyUpdate] = []
                shared.topology.takeUpdates(for: b, max: max, cache: &cache) { taken in
                    got.append(taken.update)
                    if taken.asPublished {
                        if let first = published[taken.update.revision] {
                            XCTAssertEqual(taken.update, first, "step \(step): revision \(taken.update.revision) differs between watchers")
                            publishedTwice += 1
                        }
                        published[taken.update.revision] = taken.update
                    }
                    if taken.wholeTopology {
                        if let first = roundSnapshot[taken.update.resync] {
                            XCTAssertEqual(taken.update, first, "step \(step): two whole-topology snapshots in one round")
                            sharedSnapshots += 1
                        }
                        roundSnapshot[taken.update.resync] = taken.update
                    }
                }
                XCTAssertEqual(got, expected, "step \(step), watcher \(index)")
            }
        }
        XCTAssertEqual(plain.topology.currentRevision, shared.topology.currentRevision)
        let slow = plain.topology.statistics(for: watchers[3].0)!
        XCTAssertGreaterThan(slow.resyncCount + slow.coalesceCount, 0, "the slow watchers never overflowed")
        XCTAssertGreaterThan(sharedSnapshots, 0)
        XCTAssertGreaterThan(publishedTwice, 0)
    }
}
