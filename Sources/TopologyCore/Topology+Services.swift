import TopologyWire

extension Topology {
    // MARK: Public service API

    /// Registers a service (REGISTERED, NODE_ADDED) under a new random id, or under `service_id`
    /// if given: re-created if unknown, updated in place (NODE_UPDATED) if alive. A `service_id`
    /// in upper case names the same service as in lower case (RFC 9562 section 4): the service's id
    /// is its canonical lowercase text, which the response carries. The nil UUID (all zeros) is
    /// no service's id.
    public mutating func register(_ request: RegisterServiceRequest, now: Int64) throws(TopologyError) -> RegisterServiceResponse {
        let now = observe(now)
        try validate(request)
        let key: ServiceKey
        if let text = request.serviceId, !text.isEmpty {
            guard let parsed = ServiceKey(parsing: text) else {
                throw .invalidArgument(
                    field: "service_id",
                    reason: "'\(text.prefix(64))' is not a UUID in canonical text form (8-4-4-4-12 hex digits); omit it to get a new id")
            }
            guard parsed != ServiceKey(high: 0, low: 0) else {
                throw .invalidArgument(
                    field: "service_id",
                    reason: "the nil UUID (all zeros) is not a service id; send the id this server gave you, or omit it to get a new one")
            }
            key = parsed
            if let slot = nodeIndex[key], !nodes[Int(slot)].wire.observed {
                reregister(slot, request, now: now)
                return response(for: slot)
            }
        } else {
            var generator = RandomSourceGenerator(source: randomSource)
            var candidate = ServiceKey.random(using: &generator)
            while nodeIndex[candidate] != nil { candidate = ServiceKey.random(using: &generator) }
            key = candidate
        }
        guard nodeIndex.count - observedIndex.count < configuration.maxServices else {
            throw .resourceExhausted(limit: "maxServices", value: configuration.maxServices)
        }
        // A service seen in spans that now registers is one node: the registered one.
        if let observed = observedIndex[request.serviceName] { retireObservedNode(observed, now: now) }
        if let observed = nodeIndex[key] { retireObservedNode(observed, now: now) }
        let slot = createNode(key, request, now: now)
        return response(for: slot)
    }

    /// Records a heartbeat. Unknown id -> `.notFound`.
    public mutating func heartbeat(_ request: HeartbeatRequest, now: Int64) throws(TopologyError) -> HeartbeatResponse {
        let now = observe(now)
        let slot = try liveSlot(request.serviceId)
        return try heartbeat(slot, sequence: request.sequence, metrics: request.metrics, health: request.health, now: now)
    }

    /// `heartbeat(_:now:)` for a request whose id the caller has parsed already (the server's fast
    /// path): the same outcome for the request with `service_id` = `serviceKey.text`. `hint` is where
    /// the service was at the caller's last heartbeat for it (`.none` at first): when the service
    /// is still there, the service table is not consulted; either way `hint` is set to where it is.
    public mutating func heartbeat(
        serviceKey: ServiceKey, hint: inout NodeHint, sequence: Int64, metrics: ServiceMetrics?,
        health: ApplicationHealth?, now: Int64
    ) throws(TopologyError) -> HeartbeatResponse {
        let now = observe(now)
        let slot: Int32
        let hinted = Int(hint.slot)
        if hinted >= 0, hinted < nodes.count, nodes[hinted].inUse, nodes[hinted].key == serviceKey {
            slot = hint.slot
        } else {
            guard let found = nodeIndex[serviceKey], !nodes[Int(found)].wire.observed else {
                throw .notFound(serviceId: serviceKey.text)
            }
            slot = found
            hint = NodeHint(slot: found)
        }
        return try heartbeat(slot, sequence: sequence, metrics: metrics, health: health, now: now)
    }

    /// Removes a service at once: NODE_REMOVED, then EDGE_REMOVED for its edges. `removed` is false
    /// for an unknown id.
    public mutating func unregister(_ request: UnregisterServiceRequest, now: Int64) -> UnregisterServiceResponse {
        let now = observe(now)
        guard let slot = lookup(request.serviceId) else { return UnregisterServiceResponse(removed: false) }
        removeNode(slot, dead: false, now: now)
        return UnregisterServiceResponse(removed: true)
    }

    /// The node of a live service, as snapshots show it.
    public func node(id: String) -> ServiceNode? {
        lookup(id).map { wireNode(Int($0)) }
    }

    // MARK: Internals

    mutating func heartbeat(
        _ slot: Int32, sequence: Int64, metrics: ServiceMetrics?, health: ApplicationHealth?, now: Int64
    ) throws(TopologyError) -> HeartbeatResponse {
        if let message = health?.message, message.utf8.count > configuration.maxStringBytes {
            throw .invalidArgument(field: "health.message", reason: "longer than \(configuration.maxStringBytes) bytes")
        }
        let index = Int(slot)
        let live = now - forgivenStallMs
        nodeBeats[index].beat(at: now, metrics: metrics)  // one write: each checks that the chunk is not shared
        nodeSchedules[index].livenessBase = live
        var immediate = false
        let oldState = nodes[index].wire.state
        var oldHealth: HealthState?
        if let health {
            // Most heartbeats repeat the health they last carried; a write would copy the record's
            // chunk if a snapshot being built shares it (`ChunkedArray`).
            if nodes[index].wire.healthDetail != health { nodes[index].wire.healthDetail = health }
            if health.state != nodes[index].wire.health {
                oldHealth = nodes[index].wire.health
                nodes[index].wire.health = health.state
                immediate = true
            }
        }
        switch oldState {
        case .registered:
            setState(index, .idle)
            immediate = true
        case .stale:
            setState(index, activeOrIdle(nodeSchedules[index], live: live))
            immediate = true
            pendingEvents.append(.serviceRecovered(id: nodes[index].wire.serviceId, name: nodes[index].wire.serviceName))
        default:
            break
        }
        if immediate {
            var before = FilterView(nodes[index].wire)
            before.state = oldState
            publishNode(slot, type: .nodeUpdated, before: before, now: now)
            if let oldHealth { recordEvent(.health(from: oldHealth, to: nodes[index].wire.health), node: slot, now: now) }
            scheduleLiveness(slot)
        } else {
            refreshLater(slot, now: now)
        }
        return HeartbeatResponse(sequence: sequence, acknowledged: true, serverEpoch: serverEpoch)
    }

    func lookup(_ id: String) -> Int32? {
        guard let key = ServiceKey(parsing: id) else { return nil }
        return nodeIndex[key]
    }

    /// `lookup`, or `.notFound` naming the id as the fast path names it: in canonical text (an id
    /// sent in upper case is refused in lower case, whichever decoder read it). An observed node's
    /// id is no service's own (the server made it up), so it takes no heartbeats or reports.
    func liveSlot(_ id: String) throws(TopologyError) -> Int32 {
        guard let key = ServiceKey(parsing: id) else { throw .notFound(serviceId: id) }
        guard let slot = nodeIndex[key], !nodes[Int(slot)].wire.observed else { throw .notFound(serviceId: key.text) }
        return slot
    }

    func response(for slot: Int32) -> RegisterServiceResponse {
        RegisterServiceResponse(
            handle: ServiceHandle(
                serviceId: nodes[Int(slot)].wire.serviceId,
                heartbeatIntervalMs: Int32(clamping: configuration.heartbeatIntervalMs),
                timeoutMultiplier: Int32(clamping: configuration.timeoutMultiplier),
                serverEpoch: serverEpoch,
                activityFlushMs: Int32(clamping: configuration.activityFlushMs)))
    }

    func validate(_ request: RegisterServiceRequest) throws(TopologyError) {
        try validateServiceName(request.serviceName, field: "service_name")
        var fields: [(String, String?)] = [
            ("version", request.version), ("address", request.address), ("host", request.host),
        ]
        if let metadata = request.metadata {
            fields += [
                ("metadata.region", metadata.region), ("metadata.environment", metadata.environment),
                ("metadata.team", metadata.team), ("metadata.version_hash", metadata.versionHash),
                ("metadata.service_interface", metadata.serviceInterface),
                ("metadata.service_role", metadata.serviceRole), ("metadata.program_name", metadata.programName),
            ]
        }
        for case let (field, value?) in fields where value.utf8.count > configuration.maxStringBytes {
            throw .invalidArgument(
                field: field, reason: "\(value.utf8.count) bytes, at most \(configuration.maxStringBytes) allowed")
        }
        if !request.labels.isEmpty { try LabelRules(configuration).validate(request.labels) }
    }

    /// The rules of a service's name, registered or observed; `field` names it in the error.
    func validateServiceName(_ name: String, field: String) throws(TopologyError) {
        let nameBytes = name.utf8.count
        if nameBytes == 0 {
            throw .invalidArgument(field: field, reason: "must not be empty")
        }
        // A name of spaces shows as nothing in a dashboard or a log: as good as empty.
        if name.allSatisfy(\.isWhitespace) {
            throw .invalidArgument(field: field, reason: "must not be only whitespace")
        }
        if nameBytes > configuration.maxServiceNameBytes {
            throw .invalidArgument(
                field: field, reason: "\(nameBytes) bytes, at most \(configuration.maxServiceNameBytes) allowed")
        }
    }

    /// ACTIVE if the last activity is within the idle timeout, else IDLE.
    func activeOrIdle(_ node: NodeSchedule, live: Int64) -> ServiceState {
        if let last = node.lastActivity, live - last < configuration.idleTimeoutMs { return .active }
        return .idle
    }

    static func describe(_ request: RegisterServiceRequest, into node: inout ServiceNode) {
        node.serviceName = request.serviceName
        node.serviceType = request.serviceType
        node.language = request.language
        node.version = request.version
        node.address = request.address
        node.host = request.host
        node.metadata = request.metadata
        node.labels = request.labels
    }

    mutating func createNode(_ key: ServiceKey, _ request: RegisterServiceRequest, now: Int64) -> Int32 {
        let (slot, fresh) = claimNodeSlot()
        var record = fresh
        let index = Int(slot)
        record.key = key
        record.registrationOrder = nextRegistrationOrder
        nextRegistrationOrder += 1
        nodeSchedules[index].livenessBase = now - forgivenStallMs
        nodeSchedules[index].throttleMs = configuration.nodeUpdateThrottleMs + drawJitter()
        record.wire.serviceId = key.text
        Topology.describe(request, into: &record.wire)
        record.wire.state = .registered
        record.wire.health = .unknown
        record.wire.registeredMs = now
        nodes[index] = record
        nodeIndex[key] = slot
        stateCounts[record.wire.state] += 1
        publishNode(slot, type: .nodeAdded, before: nil, now: now)
        scheduleLiveness(slot)
        indexResolutionKeys(slot)
        resolveEdgesMatching(slot, now: now)
        return slot
    }

    /// A slot for a new node: its record (fresh, as `claimSlot` gives it, for the caller to fill in
    /// and store), its beat and its schedule (fresh, in place).
    mutating func claimNodeSlot() -> (slot: Int32, record: NodeRecord) {
        let claimed = nodes.claimSlot(reusing: &freeNodes)
        if Int(claimed.slot) == nodeBeats.count {
            nodeBeats.append(NodeBeat())
            nodeSchedules.append(NodeSchedule())
        } else {
            nodeBeats[Int(claimed.slot)] = NodeBeat()
            nodeSchedules[Int(claimed.slot)] = NodeSchedule()
        }
        return claimed
    }

    /// The node in `index` as snapshots and updates show it: its record's `wire` with its beat's fields.
    func wireNode(_ index: Int) -> ServiceNode {
        var node = nodes[index].wire
        nodeBeats[index].apply(to: &node)
        return node
    }

    /// A node's jitter: 0 to nodeUpdateJitterPercent of the throttle period, from the core's
    /// generator (nothing is drawn when that is 0 ms).
    func drawJitter() -> Int64 {
        let most = configuration.nodeUpdateThrottleMs * Int64(configuration.nodeUpdateJitterPercent) / 100
        guard most > 0 else { return 0 }
        return Int64(randomSource.next() % UInt64(most + 1))
    }

    mutating func reregister(_ slot: Int32, _ request: RegisterServiceRequest, now: Int64) {
        let index = Int(slot)
        let before = FilterView(nodes[index].wire)
        let oldResolution = Topology.resolutionKeys(of: nodes[index].wire)
        unindexResolutionKeys(slot)
        Topology.describe(request, into: &nodes[index].wire)
        indexResolutionKeys(slot)
        let live = now - forgivenStallMs
        nodeSchedules[index].livenessBase = max(nodeSchedules[index].livenessBase, live)
        if nodes[index].wire.state == .stale {
            setState(index, activeOrIdle(nodeSchedules[index], live: live))
            pendingEvents.append(.serviceRecovered(id: nodes[index].wire.serviceId, name: nodes[index].wire.serviceName))
        }
        publishNode(slot, type: .nodeUpdated, before: before, now: now)
        scheduleLiveness(slot)
        let after = FilterView(nodes[index].wire)
        // A watcher filtering on name, metadata or labels may gain or lose this node's edges.
        if before.name != after.name || before.environment != after.environment || before.team != after.team
            || before.region != after.region || before.labels != after.labels
        {
            for edgeSlot in nodes[index].outEdges {
                if let published = edges[Int(edgeSlot)].published {
                    publish(.edgeUpdated, edge: published, before: before, after: after, now: now)
                }
            }
        }
        // Resolution (re-indexed above): re-resolve what pointed at it or matches it now.
        let newResolution = Topology.resolutionKeys(of: nodes[index].wire)
        if oldResolution.keys != newResolution.keys || oldResolution.ranks != newResolution.ranks {
            for edgeSlot in nodes[index].inEdges.sorted() { reresolve(edgeSlot, now: now) }
            resolveEdgesMatching(slot, now: now)
        }
    }

    /// Removes a node: for DEAD, NODE_UPDATED (state DEAD) first; then NODE_REMOVED, then
    /// EDGE_REMOVED for every edge from it and every edge resolved to it.
    mutating func removeNode(_ slot: Int32, dead: Bool, now: Int64) {
        let index = Int(slot)
        var view = FilterView(nodes[index].wire)
        if dead {
            setState(index, .dead)
            publishNode(slot, type: .nodeUpdated, before: view, now: now)
            view = FilterView(nodes[index].wire)
            let deadlineMs = nodeSchedules[index].livenessBase + configuration.deadTimeoutMs + 1 + forgivenStallMs
            pendingEvents.append(.serviceDead(id: nodes[index].wire.serviceId, name: nodes[index].wire.serviceName, lateMs: now - deadlineMs))
        }
        publish(.nodeRemoved, node: wireNode(index), before: view, after: nil, now: now)
        recordEvent(dead ? .removed : .unregistered, node: slot, now: now)
        unindexResolutionKeys(slot)
        for edgeSlot in nodes[index].outEdges { removeEdge(edgeSlot, now: now, sourceView: view, detach: false) }
        for edgeSlot in nodes[index].inEdges.sorted() where edges[Int(edgeSlot)].inUse {
            removeEdge(edgeSlot, now: now, sourceView: nil)
        }
        nodeIndex[nodes[index].key] = nil
        if nodes[index].wire.observed { observedIndex[nodes[index].wire.serviceName] = nil }
        stateCounts[nodes[index].wire.state] -= 1
        let generation = nodes[index].generation &+ 1
        nodes[index] = NodeRecord()
        nodes[index].generation = generation
        freeNodes.append(slot)
    }

    /// Moves a live node to `state`. Every state change goes through here, so `stateCounts` stays
    /// exact without a pass over the fleet.
    mutating func setState(_ index: Int, _ state: ServiceState) {
        stateCounts[nodes[index].wire.state] -= 1
        stateCounts[state] += 1
        nodes[index].wire.state = state
    }

    /// Publishes the node's current state as `type` (NODE_ADDED or NODE_UPDATED); clears any
    /// pending throttled refresh, since this carries the latest state.
    mutating func publishNode(_ slot: Int32, type: UpdateType, before: FilterView?, now: Int64) {
        let index = Int(slot)
        nodeSchedules[index].lastPublishedMs = now
        nodeSchedules[index].refreshPending = false
        publish(type, node: wireNode(index), before: before, after: FilterView(nodes[index].wire), now: now)
        // Every change of state is published through here, so the event log sees each one.
        let state = nodes[index].wire.state
        if type == .nodeAdded {
            recordEvent(.registered, node: slot, now: now)
        } else if let from = before?.state, from != state {
            recordEvent(.state(from: from, to: state), node: slot, now: now)
        }
    }

    /// A change watchers may see late: published by the node's refresh timer once the throttle
    /// period since its last update is over. Never from the heartbeat itself, even when that
    /// period is over: one read may bring thousands of heartbeats, each refresh goes to every
    /// watcher, and timers fire within `advance`'s fan-out budget.
    mutating func refreshLater(_ slot: Int32, now: Int64) {
        let index = Int(slot)
        let due = max(now, nodeSchedules[index].lastPublishedMs + refreshPeriod(index))
        nodeSchedules[index].refreshPending = true
        if due < nodeSchedules[index].refreshScheduledAt {
            nodeSchedules[index].refreshScheduledAt = due
            realTimers.push(TimerEntry(time: due, ref: UInt32(slot), generation: nodes[index].generation))
        }
    }

    /// The node's throttle period as it stands: its own (nodeUpdateThrottleMs plus its jitter),
    /// widened in proportion to the fleet once the fleet is larger than `maxRefreshesPerSecond`
    /// allows at that period, so that the fleet's refreshes stay within that rate.
    @inline(__always)
    func refreshPeriod(_ index: Int) -> Int64 {
        let own = nodeSchedules[index].throttleMs
        let served = Int64(configuration.maxRefreshesPerSecond) * configuration.nodeUpdateThrottleMs / 1_000
        let fleet = Int64(nodeIndex.count)
        guard served > 0, fleet > served else { return own }
        let (widened, overflow) = own.multipliedReportingOverflow(by: fleet)
        return overflow ? .max / 2 : widened / served
    }

    mutating func fireRefresh(_ entry: TimerEntry, now: Int64) {
        let index = Int(entry.ref)
        guard index < nodes.count, nodes[index].inUse, nodes[index].generation == entry.generation,
            nodeSchedules[index].refreshScheduledAt == entry.time
        else { return }
        nodeSchedules[index].refreshScheduledAt = .max
        guard nodeSchedules[index].refreshPending else { return }
        guard now >= nodeSchedules[index].lastPublishedMs + refreshPeriod(index) else {
            refreshLater(Int32(index), now: now)  // published since it was scheduled: the period starts over
            return
        }
        nodeSchedules[index].lastPublishedMs = now
        nodeSchedules[index].refreshPending = false
        guard someWatcherTakesRefresh(of: index) else { return keepUntakenRefresh(of: index) }
        publishRefresh(of: index, now: now)
    }

    /// Makes sure the node has a liveness timer no later than its next transition.
    mutating func scheduleLiveness(_ slot: Int32) {
        let index = Int(slot)
        let base = nodeSchedules[index].livenessBase
        var due = base + configuration.deadTimeoutMs + 1
        let state = nodes[index].wire.state
        if nodes[index].wire.observed {
            due = observedDeadline(index)
        } else {
            if state != .stale {
                due = min(due, base + configuration.staleTimeoutMs + 1)
            }
            if state == .active, let last = nodeSchedules[index].lastActivity {
                due = min(due, last + configuration.idleTimeoutMs)
            }
        }
        if due < nodeSchedules[index].livenessScheduledAt {
            nodeSchedules[index].livenessScheduledAt = due
            livenessTimers.push(TimerEntry(time: due, ref: UInt32(slot), generation: nodes[index].generation))
        }
    }

    /// A node's liveness timer fired at liveness-clock time `live`.
    mutating func fireNodeLiveness(_ entry: TimerEntry, live: Int64, now: Int64) {
        let index = Int(entry.ref)
        guard index < nodes.count, nodes[index].inUse, nodes[index].generation == entry.generation,
            nodeSchedules[index].livenessScheduledAt == entry.time
        else { return }
        nodeSchedules[index].livenessScheduledAt = .max
        let slot = Int32(index)
        if nodes[index].wire.observed {
            fireObservedLiveness(slot, live: live, now: now)
            return
        }
        let silence = live - nodeSchedules[index].livenessBase
        if silence > configuration.deadTimeoutMs {
            removeNode(slot, dead: true, now: now)
            return
        }
        let state = nodes[index].wire.state
        if state != .stale && silence > configuration.staleTimeoutMs {
            let before = FilterView(nodes[index].wire)
            setState(index, .stale)
            publishNode(slot, type: .nodeUpdated, before: before, now: now)
            pendingEvents.append(.serviceStale(id: nodes[index].wire.serviceId, name: nodes[index].wire.serviceName))
        } else if state == .active, let last = nodeSchedules[index].lastActivity, live - last >= configuration.idleTimeoutMs {
            let before = FilterView(nodes[index].wire)
            setState(index, .idle)
            publishNode(slot, type: .nodeUpdated, before: before, now: now)
        }
        scheduleLiveness(slot)
    }
}
