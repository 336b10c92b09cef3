import TopologyCore
import TopologyWire

/// The call rules: how calls open, end and fail, and what a connection that breaks them gets.
extension RPCDispatcher {
    /// Queues `frame` unless the connection is closing or its client does not read.
    mutating func reply(_ frame: Frame, _ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology) {
        guard replyAllowed(&state, &sink, topology: &topology) else { return }
        sink.append(frame)
    }

    /// Whether a reply may be queued: not on a closing connection, nor on one whose client does not
    /// read (that one is closed with RESOURCE_EXHAUSTED instead).
    public mutating func replyAllowed(_ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology) -> Bool {
        guard !sink.closing else { return false }
        // Watch batches may overshoot the watch bound by one batch (a large snapshot): that much
        // is not counted against the client.
        guard sink.pendingBytes > configuration.maxOutboundBytes + sink.watchBatchAllowance else { return true }
        let limit = configuration.maxOutboundBytes
        metrics.limitRejected("--max-outbound-bytes")
        closeConnection(&state, &sink, topology: &topology, code: .resourceExhausted,
                        message: "the client is not reading its replies: \(sink.pendingBytes) bytes queued, over the limit --max-outbound-bytes=\(limit)")
        return false
    }

    /// The byte stream cannot be trusted any more: its calls end, one Status frame on call 0 is
    /// queued, and the server is asked to close the connection.
    public mutating func closeConnection(_ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology,
                                          code: StatusCode, message: String, logAs event: String = "protocol error") {
        log.warning(event, ["peer": state.peer, "code": code.description, "error": message])
        metrics.frameError(code)
        endCalls(&state, topology: &topology) { sink.watchClosed($0) }
        sink.append(Frame(callId: 0, endOfStream: true, status: Status(code: code, message: message)))
        sink.close()
    }

    /// Ends every open call of a connection that is going away: its watches stop (`ended` hears of
    /// each); its services live on until their heartbeats stop counting.
    public func endCalls(_ state: inout CallState, topology: inout Topology, ended: (WatcherID) -> Void) {
        for (_, call) in state.calls.elements {
            if case .watch(let watcher) = call {
                topology.endWatch(watcher)
                ended(watcher)
            }
        }
        state.calls.removeAll()
    }

    /// The server is shutting down: every open call is answered UNAVAILABLE, in call id order.
    public func endCallsForShutdown(_ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology) {
        let unavailable = Status(code: .unavailable, message: "server shutting down")
        for (callID, call) in state.calls.elements.sorted(by: { $0.key < $1.key }) {
            if case .watch(let watcher) = call {
                topology.endWatch(watcher)
                sink.watchClosed(watcher)
            }
            sink.append(Frame(callId: callID, endOfStream: true, status: unavailable))
        }
        state.calls.removeAll()
    }

    /// Ends call `callID` with `status` (not OK).
    mutating func fail(_ callID: UInt64, _ status: Status, _ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology) {
        metrics.frameError(status.statusCode)
        if let call = state.calls.removeValue(forKey: callID), case .watch(let watcher) = call {
            topology.endWatch(watcher)
            sink.watchClosed(watcher)
        }
        reply(Frame(callId: callID, endOfStream: true, status: status), &state, &sink, topology: &topology)
    }

    /// The core refused a request of `rpc`: logged, and the call ends with the core's Status.
    mutating func refuse(_ rpc: String, _ callID: UInt64, _ error: TopologyError, _ state: inout CallState, _ sink: inout ReplySink,
                         topology: inout Topology) {
        let status = error.status(limitFlag: configuration.limitFlag)
        let level: LogLevel = status.statusCode == .resourceExhausted ? .warning : .info
        if status.statusCode == .resourceExhausted, let flag = status.message.split(separator: " ").first(where: { $0.hasPrefix("--") }) {
            metrics.limitRejected(String(flag))
        }
        log.log(level, "request refused", ["rpc": rpc, "peer": state.peer, "code": status.statusCode.description, "error": status.message])
        fail(callID, status, &state, &sink, topology: &topology)
    }

    /// The client ended a call (end_of_stream): answer as the RPC defines, and forget the call.
    mutating func finishCall(_ callID: UInt64, _ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology) {
        guard let call = state.calls.removeValue(forKey: callID) else { return }
        switch call {
        case .heartbeat:
            reply(Frame(callId: callID, endOfStream: true, status: Self.ok), &state, &sink, topology: &topology)
        case .activity(let accepted):
            reply(Frame(callId: callID, endOfStream: true, status: Self.ok,
                        message: .reportActivityResponse(ReportActivityResponse(acknowledged: true, acceptedEvents: accepted))),
                  &state, &sink, topology: &topology)
        case .watch(let watcher):
            topology.endWatch(watcher)
            sink.watchClosed(watcher)
            reply(Frame(callId: callID, endOfStream: true, status: Self.ok), &state, &sink, topology: &topology)
        }
    }

    /// A unary request needs a call id that is not open.
    mutating func unary(_ callID: UInt64, _ open: CallTable.Call?, _ rpc: String, _ state: inout CallState, _ sink: inout ReplySink,
                        topology: inout Topology) -> Bool {
        guard let open else { return true }
        mismatch(callID, open, rpc, &state, &sink, topology: &topology)
        return false
    }

    mutating func mismatch(_ callID: UInt64, _ open: CallTable.Call, _ rpc: String, _ state: inout CallState, _ sink: inout ReplySink,
                           topology: inout Topology) {
        fail(callID, Status(code: .invalidArgument, message: "call \(callID) is an open \(open.name) call; a \(rpc) request needs a call_id of its own"),
             &state, &sink, topology: &topology)
    }

    /// Opens a streaming call, within `--max-calls-per-connection`.
    mutating func openCall(_ callID: UInt64, _ call: CallTable.Call, _ state: inout CallState, _ sink: inout ReplySink,
                           topology: inout Topology) -> Bool {
        guard state.calls.count < configuration.maxCallsPerConnection else {
            refuseCallLimit(callID, &state, &sink, topology: &topology)
            return false
        }
        state.calls[callID] = call
        return true
    }

    mutating func refuseCallLimit(_ callID: UInt64, _ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology) {
        let limit = configuration.maxCallsPerConnection
        refuseLimit(callID, flag: "max-calls-per-connection", limit: limit,
                    message: "too many open calls on this connection: the limit --max-calls-per-connection is \(limit); end some calls or open another connection",
                    &state, &sink, topology: &topology)
    }

    mutating func refuseWatcherLimit(_ callID: UInt64, _ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology) {
        let limit = configuration.maxWatchersPerConnection
        refuseLimit(callID, flag: "max-watchers-per-connection", limit: limit,
                    message: "too many watches on this connection: the limit --max-watchers-per-connection is \(limit); one watch with a wider query sees the same updates",
                    &state, &sink, topology: &topology)
    }

    /// A call refused by a per-connection limit: RESOURCE_EXHAUSTED on its call id.
    private mutating func refuseLimit(_ callID: UInt64, flag: String, limit: Int, message: String,
                                      _ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology) {
        log.warning("call refused", ["peer": state.peer, "limit": flag, "value": String(limit)])
        metrics.limitRejected("--" + flag)
        metrics.frameError(.resourceExhausted)
        reply(Frame(callId: callID, endOfStream: true, status: Status(code: .resourceExhausted, message: message)),
              &state, &sink, topology: &topology)
    }
}
