import TopologyWire

extension Topology {
    // MARK: Public activity API

    /// Records activity from a service to `target_service` and returns how many calls it stands
    /// for (`batch_size`, or 1). The service becomes ACTIVE at once; the edge's metrics are
    /// published at the next activity flush. Unknown id -> `.notFound`.
    public mutating func reportActivity(_ request: ReportActivityRequest, now: Int64) throws(TopologyError) -> Int64 {
        let now = observe(now)
        let source = try liveSlot(request.serviceId)
        let calls = try validate(request)
        let errors = UInt64(request.errorCount.map { Int64($0) }
            ?? ((request.type == .error || request.success == false) ? calls : 0))
        let latency: CallLatency
        if let histogram = request.latencyHistogram, histogram.counts.contains(where: { $0 > 0 }) || histogram.zeroCount > 0 {
            latency = .histogram(histogram)
        } else if let latencyMs = request.latencyMs {
            latency = .each(Double(max(0, latencyMs)))
        } else {
            latency = .none
        }
        try recordCalls(from: source, to: request.targetService, calls: calls, errors: errors, latency: latency,
                        madeAtMs: request.timestampMs, now: now)
        return calls
    }

    /// The latencies of the calls a report stands for.
    enum CallLatency {
        case none
        /// Every call took this long (milliseconds).
        case each(Double)
        case histogram(LatencyHistogram)
    }

    /// Records `calls` calls (`errors` of them failed) from the node in `source` to `target`: the
    /// one path of ReportActivity and of OTLP spans. The node becomes ACTIVE at once; the edge's
    /// figures are published at the next activity flush. `madeAtMs` is when the client says the
    /// calls were made (see `windowPlacement`; nil: now). `now` is observed already.
    mutating func recordCalls(
        from source: Int32, to target: String, calls: Int64, errors: UInt64, latency: CallLatency, madeAtMs: Int64? = nil, now: Int64
    ) throws(TopologyError) {
        let sourceIndex = Int(source)

        // The edge first, so a refused edge changes nothing.
        let key = EdgeKey(source: source, target: target)
        let edgeSlot: Int32
        if let existing = edgeIndex[key] {
            edgeSlot = existing
        } else {
            guard nodes[sourceIndex].outEdges.count < configuration.maxEdgesPerService else {
                throw .resourceExhausted(limit: "maxEdgesPerService", value: configuration.maxEdgesPerService)
            }
            edgeSlot = createEdge(key)
        }

        noteActivity(source, now: now)

        // The edge's accumulators.
        let index = Int(edgeSlot)
        let live = now - forgivenStallMs
        edges[index].lastActivity = live
        edges[index].lastActivityMs = now
        edges[index].state = .active
        edges[index].totalRequests += UInt64(calls)
        edges[index].totalErrors += errors
        let placement = windowPlacement(of: madeAtMs, edge: index, now: now)
        var slice: WindowSlice
        switch placement {
        case .pending:
            slice = edges[index].pending ?? WindowSlice(endMs: now, requests: 0, errors: 0, histogram: SparseHistogram())
            edges[index].pending = nil  // the one copy: no copy-on-write of its histogram below
        case .slice(let position):
            slice = edges[index].slices[position]
        case .newSlice(let endMs), .totalsOnly(let endMs):
            slice = WindowSlice(endMs: endMs, requests: 0, errors: 0, histogram: SparseHistogram())
        }
        slice.requests += UInt64(calls)
        slice.errors += errors
        switch latency {
        case let .histogram(histogram):
            var sparse = SparseHistogram(zeroCount: histogram.zeroCount)
            for (bucket, count) in zip(histogram.indexes, histogram.counts) where count > 0 {
                sparse.buckets[bucket, default: 0] += count
            }
            edges[index].latencySumMs += sparse.approximateSumMs
            edges[index].latencyCount += sparse.total
            slice.histogram.add(sparse)
        case let .each(latencyMs):
            edges[index].latencySumMs += latencyMs * Double(calls)
            edges[index].latencyCount += UInt64(calls)
            slice.histogram.add(latencyMs: latencyMs, count: UInt64(calls))
        case .none:
            break
        }
        switch placement {
        case .pending: edges[index].pending = slice
        case .slice(let position): edges[index].slices[position] = slice
        case .newSlice: edges[index].slices.append(slice)
        case .totalsOnly: break
        }
        if !edges[index].inWindowList {
            edges[index].inWindowList = true
            windowEdges.append(edgeSlot)
        }
        if flushAt == nil { flushAt = now + configuration.activityFlushMs }
        scheduleEdge(edgeSlot)
    }

    /// The node in `source` was active at `now` (observed already): ACTIVE at once.
    mutating func noteActivity(_ source: Int32, now: Int64) {
        let index = Int(source)
        nodeBeats[index].lastActivityMs = now
        nodeSchedules[index].lastActivity = now - forgivenStallMs
        switch nodes[index].wire.state {
        case .registered, .idle:
            let before = FilterView(nodes[index].wire)
            setState(index, .active)
            publishNode(source, type: .nodeUpdated, before: before, now: now)
            scheduleLiveness(source)
        default:
            // ACTIVE stays ACTIVE (its idle timer finds the new activity when it fires); STALE
            // stays STALE until a heartbeat: activity alone does not prove the heartbeats are back.
            refreshLater(source, now: now)
        }
    }

    /// The edge from service `sourceId` to `target`, as snapshots show it (nil until published).
    public func edge(sourceId: String, target: String) -> ServiceEdge? {
        guard let source = lookup(sourceId), let slot = edgeIndex[EdgeKey(source: source, target: target)] else {
            return nil
        }
        return edges[Int(slot)].published
    }

    // MARK: Rate window

    /// Where a report's calls count in its edge's rate window.
    enum WindowPlacement: Equatable {
        /// In the pending slice, folded into the window at the next flush: calls made now.
        case pending
        /// In the window's slice at this position, the first that ends at or after the calls.
        case slice(Int)
        /// In a new slice ending at this time, after every slice of the window.
        case newSlice(Int64)
        /// Nowhere: the calls were made before the window (at this time); they count in the totals.
        case totalsOnly(Int64)
    }

    /// A report without `timestamp_ms` counts now, and so does one from less than an activity flush
    /// ago or from the future (a few seconds' skew between two hosts' clocks must not lose live
    /// calls). An older one holds calls a client kept while this server was away: they count where
    /// they were made, so a restart does not show them in the rate together with the calls of the
    /// moment (issue 16: edges showed about twice their rate for a window after a restart). Slices
    /// made for such reports stay an activity flush apart: at most rpsWindowMs / activityFlushMs
    /// of them per edge, whatever a client sends.
    func windowPlacement(of timestampMs: Int64?, edge index: Int, now: Int64) -> WindowPlacement {
        guard let at = timestampMs, at > 0, at < now - configuration.activityFlushMs else { return .pending }
        if at <= now - configuration.rpsWindowMs { return .totalsOnly(at) }
        let slices = edges[index].slices
        if let covering = slices.firstIndex(where: { $0.endMs >= at }) { return .slice(covering) }
        if let last = slices.last, at - last.endMs < configuration.activityFlushMs { return .slice(slices.count - 1) }
        return .newSlice(at)
    }

    // MARK: Validation

    /// Checks a report and returns the number of calls it stands for.
    func validate(_ request: ReportActivityRequest) throws(TopologyError) -> Int64 {
        let limit = configuration.maxStringBytes
        if request.targetService.isEmpty {
            throw .invalidArgument(field: "target_service", reason: "must not be empty")
        }
        for (field, value) in [
            ("target_service", request.targetService as String?), ("method", request.method),
            ("error_message", request.errorMessage),
        ] {
            if let value, value.utf8.count > limit {
                throw .invalidArgument(field: field, reason: "\(value.utf8.count) bytes, at most \(limit) allowed")
            }
        }
        var calls: Int64 = 1
        if let batch = request.batchSize {
            if batch < 0 { throw .invalidArgument(field: "batch_size", reason: "must not be negative (got \(batch))") }
            calls = max(1, Int64(batch))
        }
        if let errorCount = request.errorCount, errorCount < 0 || Int64(errorCount) > calls {
            throw .invalidArgument(field: "error_count", reason: "must be between 0 and the batch size \(calls) (got \(errorCount))")
        }
        if let histogram = request.latencyHistogram {
            guard histogram.indexes.count == histogram.counts.count else {
                throw .invalidArgument(
                    field: "latency_histogram",
                    reason: "indexes and counts must have the same length (\(histogram.indexes.count) vs \(histogram.counts.count))")
            }
            var previous: Int32? = nil
            var total = histogram.zeroCount
            for (bucket, count) in zip(histogram.indexes, histogram.counts) {
                guard LatencyBuckets.indexRange.contains(bucket) else {
                    throw .invalidArgument(
                        field: "latency_histogram.indexes",
                        reason: "index \(bucket) outside \(LatencyBuckets.indexRange.lowerBound)...\(LatencyBuckets.indexRange.upperBound)")
                }
                if let previous, bucket <= previous {
                    throw .invalidArgument(field: "latency_histogram.indexes", reason: "must be strictly increasing")
                }
                previous = bucket
                let (sum, overflow) = total.addingReportingOverflow(count)
                if overflow { throw .invalidArgument(field: "latency_histogram.counts", reason: "total overflows") }
                total = sum
            }
            guard total <= UInt64(calls) else {
                throw .invalidArgument(
                    field: "latency_histogram",
                    reason: "holds \(total) latencies but the report stands for \(calls) calls (batch_size)")
            }
        }
        return calls
    }

    // MARK: Edge lifecycle

    mutating func createEdge(_ key: EdgeKey) -> Int32 {
        let (slot, fresh) = edges.claimSlot(reusing: &freeEdges)
        var record = fresh
        let index = Int(slot)
        record.source = key.source
        record.target = key.target
        edges[index] = record
        edgeIndex[key] = slot
        nodes[Int(key.source)].outEdges.append(slot)
        edgesByTarget[key.target, default: []].insert(slot)
        if let suffix = Topology.addressSuffix(of: key.target) {
            edgesByAddressSuffix[suffix, default: []].insert(slot)
        }
        if let target = resolve(key.target) {
            edges[index].resolved = target
            nodes[Int(target)].inEdges.insert(slot)
        }
        return slot
    }

    /// Removes an edge; EDGE_REMOVED if it was published. `sourceView` is the source's filter view
    /// when the source itself is going (nil: take it from the node). `detach`: take the edge off its
    /// source's list (not needed when the source is going).
    mutating func removeEdge(_ slot: Int32, now: Int64, sourceView: FilterView?, detach: Bool = true) {
        let index = Int(slot)
        let record = edges[index]
        guard record.inUse else { return }
        if let published = record.published {
            let view = sourceView ?? FilterView(nodes[Int(record.source)].wire)
            publishedEdgeCount -= 1
            publish(.edgeRemoved, edge: published, before: view, after: nil, now: now)
            recordEvent(.edgeRemoved(target: record.target), node: record.source, now: now)
        }
        edgeIndex[EdgeKey(source: record.source, target: record.target)] = nil
        Topology.remove(slot, from: &edgesByTarget, key: record.target)
        if let suffix = Topology.addressSuffix(of: record.target) {
            Topology.remove(slot, from: &edgesByAddressSuffix, key: suffix)
        }
        if record.resolved >= 0 { nodes[Int(record.resolved)].inEdges.remove(slot) }
        if detach, let position = nodes[Int(record.source)].outEdges.firstIndex(of: slot) {
            nodes[Int(record.source)].outEdges.remove(at: position)
        }
        edges[index] = EdgeRecord()
        edges[index].generation = record.generation &+ 1
        freeEdges.append(slot)
    }

    static func remove(_ slot: Int32, from index: inout [String: Set<Int32>], key: String) {
        guard var set = index.removeValue(forKey: key) else { return }
        set.remove(slot)
        if !set.isEmpty { index[key] = set }
    }

    mutating func scheduleEdge(_ slot: Int32) {
        let index = Int(slot)
        let due: Int64
        if edges[index].state == .active {
            due = edges[index].lastActivity + configuration.idleTimeoutMs
        } else if edges[index].resolved < 0 {
            due = edges[index].lastActivity + configuration.unresolvedEdgeTimeoutMs
        } else {
            return
        }
        if due < edges[index].scheduledAt {
            edges[index].scheduledAt = due
            livenessTimers.push(TimerEntry(time: due, ref: UInt32(slot) | edgeTimerBit, generation: edges[index].generation))
        }
    }

    /// An edge's liveness timer fired at liveness-clock time `live`.
    mutating func fireEdge(_ entry: TimerEntry, live: Int64, now: Int64) {
        let slot = Int32(entry.ref & ~edgeTimerBit)
        let index = Int(slot)
        guard index < edges.count, edges[index].inUse, edges[index].generation == entry.generation,
            edges[index].scheduledAt == entry.time
        else { return }
        edges[index].scheduledAt = .max
        let idleFor = live - edges[index].lastActivity
        if edges[index].state == .active && idleFor >= configuration.idleTimeoutMs {
            edges[index].state = .idle
            if var published = edges[index].published {
                published.state = .idle
                edges[index].published = published
                let view = FilterView(nodes[Int(edges[index].source)].wire)
                publish(.edgeUpdated, edge: published, before: view, after: view, now: now)
            }
        }
        if edges[index].state == .idle && edges[index].resolved < 0 && idleFor >= configuration.unresolvedEdgeTimeoutMs {
            pendingEvents.append(.unresolvedEdgeExpired(
                sourceId: nodes[Int(edges[index].source)].wire.serviceId, target: edges[index].target))
            removeEdge(slot, now: now, sourceView: nil)
            return
        }
        scheduleEdge(slot)
    }

    // MARK: Activity flush

    /// Folds pending activity into each edge's window and publishes every edge whose figures changed
    /// (EDGE_ADDED the first time). Runs every activityFlushMs while any edge has data in its window.
    mutating func flush(now: Int64) {
        let pass = windowEdges
        windowEdges = []
        for slot in pass {
            let index = Int(slot)
            guard edges[index].inUse, edges[index].inWindowList else { continue }
            edges[index].inWindowList = false  // also makes a duplicate entry of this slot a no-op
            if var slice = edges[index].pending {
                slice.endMs = now
                edges[index].latencyTotals.add(slice.histogram)
                edges[index].slices.append(slice)
                edges[index].pending = nil
            }
            let windowStart = now - configuration.rpsWindowMs
            if let keep = edges[index].slices.firstIndex(where: { $0.endMs > windowStart }) {
                edges[index].slices.removeFirst(keep)
            } else {
                edges[index].slices.removeAll()
            }
            let wire = edgeWire(slot)
            let view = FilterView(nodes[Int(edges[index].source)].wire)
            if edges[index].published == nil {
                edges[index].published = wire
                publishedEdgeCount += 1
                publish(.edgeAdded, edge: wire, before: nil, after: view, now: now)
                recordEvent(.edgeAdded(target: edges[index].target), node: edges[index].source, now: now)
            } else if edges[index].published != wire {
                edges[index].published = wire
                publish(.edgeUpdated, edge: wire, before: view, after: view, now: now)
            }
            recordErrorRateCrossing(slot, wire, now: now)
            if !edges[index].slices.isEmpty {
                edges[index].inWindowList = true
                windowEdges.append(slot)
            }
        }
        flushAt = windowEdges.isEmpty ? nil : now + configuration.activityFlushMs
    }

    /// The edge's figures as of its window (after a flush folded the pending activity in).
    func edgeWire(_ slot: Int32) -> ServiceEdge {
        let index = Int(slot)
        var requests: UInt64 = 0
        var errors: UInt64 = 0
        var histogram = SparseHistogram()
        for slice in edges[index].slices {
            requests += slice.requests
            errors += slice.errors
            histogram.add(slice.histogram)
        }
        let percentiles = histogram.percentiles([0.50, 0.95, 0.99])
        let resolved = edges[index].resolved
        let latencyCount = edges[index].latencyCount
        return ServiceEdge(
            sourceServiceId: nodes[Int(edges[index].source)].wire.serviceId,
            targetService: edges[index].target,
            state: edges[index].state,
            lastActivityMs: edges[index].lastActivityMs,
            totalRequests: edges[index].totalRequests,
            totalErrors: edges[index].totalErrors,
            avgLatencyMs: latencyCount > 0 ? edges[index].latencySumMs / Double(latencyCount) : 0,
            rps: Double(requests) * 1_000 / Double(max(1, configuration.rpsWindowMs)),
            targetServiceId: resolved >= 0 ? nodes[Int(resolved)].wire.serviceId : "",
            errorRate: requests > 0 ? Double(errors) / Double(requests) : 0,
            latencyP50Ms: percentiles[0],
            latencyP95Ms: percentiles[1],
            latencyP99Ms: percentiles[2])
    }

    // MARK: Target resolution

    /// "key@address" -> "address" (the part after the last '@', if any and non-empty).
    static func addressSuffix(of target: String) -> String? {
        guard let at = target.utf8.lastIndex(of: UInt8(ascii: "@")) else { return nil }
        let suffix = String(target[target.utf8.index(after: at)...])
        return suffix.isEmpty ? nil : suffix
    }

    /// The keys a node answers to with their rank, best first: 0 name, 1 interface::role,
    /// 2 interface, 3 address (a key listed twice keeps its better rank).
    static func resolutionKeys(of node: ServiceNode) -> (keys: [String], ranks: UInt32) {
        var keys: [String] = []
        var ranks: UInt32 = 0
        func add(_ key: String, _ rank: UInt32) {
            if !keys.contains(key) {
                ranks |= rank << (8 * UInt32(keys.count))
                keys.append(key)
            }
        }
        add(node.serviceName, 0)
        if let interface = node.metadata?.serviceInterface, !interface.isEmpty {
            if let role = node.metadata?.serviceRole, !role.isEmpty { add(interface + "::" + role, 1) }
            add(interface, 2)
        }
        if let address = node.address, !address.isEmpty { add(address, 3) }
        return (keys, ranks)
    }

    /// How well `target` names the node in `slot`: 0 name, 1 interface::role, 2 interface,
    /// 3 address, 4 key@address; nil if it does not. The first of `resolutionKeys(of:)`'s order
    /// that matches, so a key the node answers to twice has its better rank.
    func rank(of target: String, slot: Int32) -> Int? {
        let index = Int(slot)
        if nodes[index].wire.serviceName == target { return 0 }
        if let metadata = nodes[index].wire.metadata, let interface = metadata.serviceInterface, !interface.isEmpty {
            if let role = metadata.serviceRole, !role.isEmpty, target == interface + "::" + role { return 1 }
            if target == interface { return 2 }
        }
        guard let address = nodes[index].wire.address, !address.isEmpty else { return nil }
        if target == address { return 3 }
        if let suffix = Topology.addressSuffix(of: target), address == suffix { return 4 }
        return nil
    }

    /// The live node `target` names: the best rank, then the earliest registered.
    func resolve(_ target: String) -> Int32? {
        var best: (rank: Int, order: UInt64, slot: Int32)? = nil
        func consider(_ slots: ResolutionSlots) {
            slots.forEach { slot in
                guard let rank = rank(of: target, slot: slot) else { return }
                let order = nodes[Int(slot)].registrationOrder
                if best == nil || (rank, order) < (best!.rank, best!.order) {
                    best = (rank, order, slot)
                }
            }
        }
        if let slots = resolutionIndex[target] { consider(slots) }
        if let suffix = Topology.addressSuffix(of: target), let slots = resolutionIndex[suffix] { consider(slots) }
        return best?.slot
    }

    /// Lists the node under the keys of its `wire` as it is now.
    mutating func indexResolutionKeys(_ slot: Int32) {
        for key in Topology.resolutionKeys(of: nodes[Int(slot)].wire).keys {
            if resolutionIndex[key]?.insert(slot) == nil { resolutionIndex[key] = .one(slot) }
        }
    }

    /// Takes the node off the keys of its `wire` as it is now: call before its name, metadata or
    /// address change.
    mutating func unindexResolutionKeys(_ slot: Int32) {
        for key in Topology.resolutionKeys(of: nodes[Int(slot)].wire).keys {
            if resolutionIndex[key]?.remove(slot) == false { resolutionIndex[key] = nil }
        }
    }

    /// Re-resolves every edge whose target could name this node.
    mutating func resolveEdgesMatching(_ slot: Int32, now: Int64) {
        var candidates = Set<Int32>()
        for key in Topology.resolutionKeys(of: nodes[Int(slot)].wire).keys {
            if let set = edgesByTarget[key] { candidates.formUnion(set) }
        }
        if let address = nodes[Int(slot)].wire.address, let set = edgesByAddressSuffix[address] {
            candidates.formUnion(set)
        }
        for edgeSlot in candidates.sorted() { reresolve(edgeSlot, now: now) }
    }

    /// Resolves an edge's target again; EDGE_UPDATED if a published edge's target node changed.
    mutating func reresolve(_ slot: Int32, now: Int64) {
        let index = Int(slot)
        guard edges[index].inUse else { return }
        let old = edges[index].resolved
        let new = resolve(edges[index].target) ?? -1
        guard old != new else { return }
        if old >= 0 { nodes[Int(old)].inEdges.remove(slot) }
        if new >= 0 { nodes[Int(new)].inEdges.insert(slot) }
        edges[index].resolved = new
        if var published = edges[index].published {
            published.targetServiceId = new >= 0 ? nodes[Int(new)].wire.serviceId : ""
            edges[index].published = published
            let view = FilterView(nodes[Int(edges[index].source)].wire)
            publish(.edgeUpdated, edge: published, before: view, after: view, now: now)
        }
        scheduleEdge(slot)
    }
}

let edgeTimerBit: UInt32 = 0x8000_0000
