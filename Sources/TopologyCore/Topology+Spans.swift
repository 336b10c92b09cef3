import TopologyWire

/// What `Topology.ingest(_:now:)` did with the spans of one OTLP request.
public struct SpanIngestResult: Equatable, Sendable {
    /// Spans taken (whether or not they named a peer).
    public var acceptedSpans = 0
    /// Spans refused; the request as a whole still succeeded (OTLP's partial success).
    public var rejectedSpans = 0
    /// Calls recorded on edges: CLIENT and PRODUCER spans with a peer.
    public var calls = 0
    /// Why the first refused span was refused (its `status` is for a person to act on).
    public var firstRejection: TopologyError?

    public init() {}

    mutating func reject(_ count: Int, _ error: TopologyError) {
        rejectedSpans += count
        if firstRejection == nil { firstRejection = error }
    }
}

extension Topology {
    // MARK: Public span API

    /// Turns the spans of an OTLP trace request into activity (docs/opentelemetry.md): every span
    /// makes its resource's service ACTIVE; a CLIENT or PRODUCER span that names a peer is one call
    /// from that service to the peer, recorded as a ReportActivity of one call is (`recordCalls`).
    /// The service is the registered service of that `service.name` if one is live, else an
    /// observed node, created on its first span.
    public mutating func ingest(_ request: OTLPTraceRequest, now: Int64) -> SpanIngestResult {
        let now = observe(now)
        var result = SpanIngestResult()
        for resource in request.resourceSpans {
            let spanCount = resource.scopeSpans.reduce(0) { $0 + $1.spans.count }
            guard spanCount > 0 else { continue }
            let source: Int32
            do {
                source = try spanSource(resource.resourceAttributes, now: now)
            } catch {
                result.reject(spanCount, error)
                continue
            }
            var noted = false
            for scope in resource.scopeSpans {
                for span in scope.spans {
                    let call = SpanCall.isOutgoing(span.kind) ? SpanCall(span) : nil
                    guard let call, let peer = call.peer else {
                        if !noted { noteActivity(source, now: now) }
                        noted = true
                        result.acceptedSpans += 1
                        continue
                    }
                    do {
                        try validateCall(target: peer, method: call.method)
                        try recordCalls(from: source, to: peer, calls: 1, errors: call.isError ? 1 : 0,
                                        latency: .each(call.latencyMs), now: now)
                        result.acceptedSpans += 1
                        result.calls += 1
                    } catch {
                        result.reject(1, error)
                    }
                }
            }
        }
        return result
    }

    // MARK: Internals

    /// The node that a resource's spans are from: the live registered service of its
    /// `service.name` (the earliest registered, if several), else its observed node, created now.
    mutating func spanSource(_ attributes: [OTLPKeyValue], now: Int64) throws(TopologyError) -> Int32 {
        guard let name = attributes.value("service.name")?.string, !name.isEmpty else {
            throw .invalidArgument(
                field: "resource.attributes[service.name]",
                reason: "missing: set OTEL_SERVICE_NAME, or the service.name resource attribute, in the exporting service")
        }
        try validateServiceName(name, field: "resource.attributes[service.name]")
        if let slot = registeredSlot(named: name) ?? observedIndex[name] { return slot }
        guard observedIndex.count < configuration.maxObservedServices else {
            observedRefusals += 1
            throw .resourceExhausted(limit: "maxObservedServices", value: configuration.maxObservedServices)
        }
        return createObservedNode(name, now: now)
    }

    /// The live registered (not observed) service named `name` that registered first.
    func registeredSlot(named name: String) -> Int32? {
        var best: Int32?
        resolutionIndex[name]?.forEach { slot in
            let index = Int(slot)
            guard !nodes[index].wire.observed, nodes[index].wire.serviceName == name else { return }
            if best == nil || nodes[index].registrationOrder < nodes[Int(best!)].registrationOrder { best = slot }
        }
        return best
    }

    /// A call's target and method, held to ReportActivity's rules.
    func validateCall(target: String, method: String) throws(TopologyError) {
        _ = try validate(ReportActivityRequest(targetService: target, method: method))
    }

    mutating func createObservedNode(_ name: String, now: Int64) -> Int32 {
        var generator = RandomSourceGenerator(source: randomSource)
        var key = ServiceKey.random(using: &generator)
        while nodeIndex[key] != nil { key = ServiceKey.random(using: &generator) }
        let (slot, fresh) = claimNodeSlot()
        var record = fresh
        record.key = key
        record.registrationOrder = nextRegistrationOrder
        nextRegistrationOrder += 1
        nodeSchedules[Int(slot)].livenessBase = now - forgivenStallMs
        nodeSchedules[Int(slot)].lastActivity = now - forgivenStallMs
        nodeBeats[Int(slot)].lastActivityMs = now
        nodeSchedules[Int(slot)].throttleMs = configuration.nodeUpdateThrottleMs + drawJitter()
        record.wire.serviceId = key.text
        record.wire.serviceName = name
        record.wire.observed = true
        record.wire.state = .active
        record.wire.registeredMs = now
        nodes[Int(slot)] = record
        nodeIndex[key] = slot
        observedIndex[name] = slot
        stateCounts[.active] += 1
        publishNode(slot, type: .nodeAdded, before: nil, now: now)
        scheduleLiveness(slot)
        indexResolutionKeys(slot)
        resolveEdgesMatching(slot, now: now)
        return slot
    }

    /// Removes an observed node for a registered service of its name: NODE_REMOVED, and its own
    /// edges go with it (the registered node's start afresh with its next spans), but the edges
    /// that call it stay: unresolved for a moment, they resolve to the registered node as it is
    /// created (EDGE_UPDATED with the new target_service_id).
    mutating func retireObservedNode(_ slot: Int32, now: Int64) {
        let index = Int(slot)
        for edgeSlot in nodes[index].inEdges { edges[Int(edgeSlot)].resolved = -1 }
        nodes[index].inEdges = []
        removeNode(slot, dead: false, now: now)
    }

    /// An observed node's next transition: IDLE after the idle timeout without spans, removed
    /// `observedRemovalMs` after that. (Registered nodes: `scheduleLiveness`.)
    func observedDeadline(_ index: Int) -> Int64 {
        let last = nodeSchedules[index].lastActivity ?? nodeSchedules[index].livenessBase
        return nodes[index].wire.state == .active
            ? last + configuration.idleTimeoutMs
            : last + configuration.idleTimeoutMs + configuration.observedRemovalMs
    }

    /// An observed node's liveness timer fired at liveness-clock time `live`.
    mutating func fireObservedLiveness(_ slot: Int32, live: Int64, now: Int64) {
        let index = Int(slot)
        let quiet = live - (nodeSchedules[index].lastActivity ?? nodeSchedules[index].livenessBase)
        if quiet >= configuration.idleTimeoutMs + configuration.observedRemovalMs {
            removeNode(slot, dead: false, now: now)
            return
        }
        if nodes[index].wire.state == .active && quiet >= configuration.idleTimeoutMs {
            let before = FilterView(nodes[index].wire)
            setState(index, .idle)
            publishNode(slot, type: .nodeUpdated, before: before, now: now)
        }
        scheduleLiveness(slot)
    }
}
