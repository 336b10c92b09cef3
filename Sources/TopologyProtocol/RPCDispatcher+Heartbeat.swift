import TopologyCore
import TopologyWire

extension RPCDispatcher {
    /// A heartbeat on call `input.callId` (not 0), whichever decoder read it: the server's hot path.
    /// `startedNs` is a `clock` reading taken after the frame arrived (`now` is the time it gives);
    /// the handling time observed for /metrics runs from there to the core's return, and that
    /// reading is returned: the next heartbeat of the same read starts from it.
    @discardableResult
    public mutating func heartbeat(_ input: HeartbeatInput, _ state: inout CallState, _ sink: inout ReplySink,
                                    topology: inout Topology, startedNs: Int64, now: Int64) -> Int64 {
        let callID = input.callId
        if state.calls.isOpenHeartbeat(callID) {
            // The usual case, answered by the call table's bits without a lookup.
        } else if let open = state.calls[callID] {
            guard case .heartbeat = open else {
                mismatch(callID, open, "Heartbeat", &state, &sink, topology: &topology)
                return clock.monotonicNs()
            }
        } else {
            guard openCall(callID, .heartbeat, &state, &sink, topology: &topology) else { return clock.monotonicNs() }
        }
        let doneNs: Int64
        do {
            let response = try record(input, &state.calls, topology: &topology, now: now)
            doneNs = clock.monotonicNs()
            metrics.heartbeatSeconds.observe(Double(doneNs - startedNs) / 1e9)
            metrics.heartbeats += 1
            if replyAllowed(&state, &sink, topology: &topology) {
                heartbeatReply.append(callId: callID, sequence: response.sequence, to: &sink.outbound)
            }
        } catch {
            doneNs = clock.monotonicNs()
            let status = error.status(limitFlag: configuration.limitFlag)
            metrics.heartbeatSeconds.observe(Double(doneNs - startedNs) / 1e9)
            metrics.heartbeatRefused(status.statusCode)
            metrics.frameError(status.statusCode)
            if log.enabled(.debug) {
                log.debug("heartbeat refused", ["service_id": input.service.text, "code": status.statusCode.description])
            }
            state.calls[callID] = nil
            let response = HeartbeatResponse(sequence: input.sequence, acknowledged: false, serverEpoch: serverEpoch)
            reply(Frame(callId: callID, endOfStream: true, status: status, message: .heartbeatResponse(response)),
                  &state, &sink, topology: &topology)
            return doneNs
        }
        if input.endOfStream { finishCall(callID, &state, &sink, topology: &topology) }
        return doneNs
    }

    /// Hands the heartbeat to the core: by the parsed id, where the call's last heartbeat found
    /// its service (`NodeHint`), or by the id as sent.
    private func record(_ input: HeartbeatInput, _ calls: inout CallTable, topology: inout Topology, now: Int64) throws(TopologyError) -> HeartbeatResponse {
        switch input.service {
        case .key(let key):
            var hint = calls.hint(input.callId)
            defer { calls.setHint(input.callId, hint) }
            return try topology.heartbeat(serviceKey: key, hint: &hint, sequence: input.sequence, metrics: input.metrics,
                                          health: input.health, now: now)
        case .text(let id):
            return try topology.heartbeat(HeartbeatRequest(serviceId: id, sequence: input.sequence, metrics: input.metrics,
                                                           health: input.health), now: now)
        }
    }
}
