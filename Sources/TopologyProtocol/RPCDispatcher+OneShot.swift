import TopologyCore
import TopologyWire

extension RPCDispatcher {
    /// One call of a transport without calls of its own (an HTTP request): `message` on a fresh call
    /// of a fresh connection state, with `endOfStream` to end a streaming call at once. Returns the
    /// call's first reply Frame (its response, or its refusal). The same rules, limits and metrics as
    /// over frames; nothing stays open (a heartbeat call is dropped with its state).
    public mutating func oneShot(_ message: Frame.Message, endOfStream: Bool = false, peer: String,
                                 topology: inout Topology) -> Frame {
        switch oneShotReply(message, endOfStream: endOfStream, peer: peer, topology: &topology) {
        case .frame(let frame): return frame
        case .snapshot(let reply): return reply.frame()
        }
    }

    /// `oneShot`, but a GetTopology the dispatcher would build off the loop (`FrameAction.encodeOffLoop`)
    /// comes back unbuilt, for the caller to build where it builds large replies.
    public mutating func oneShotReply(_ message: Frame.Message, endOfStream: Bool = false, peer: String,
                                      topology: inout Topology) -> OneShotReply {
        var state = CallState(peer: peer, tableSeed: (0x9E37_79B9_7F4A_7C15, 0xBF58_476D_1CE4_E5B9), requiresAuthentication: false)
        var sink = ReplySink(outbound: [], written: 0, watchBatchAllowance: 0)
        handle(Frame(callId: 1, endOfStream: endOfStream, message: message), &state, &sink, topology: &topology, now: clock.nowMs())
        endCalls(&state, topology: &topology) { _ in }
        for case .encodeOffLoop(let reply) in sink.actions { return .snapshot(reply) }
        var decoder = FrameDecoder(maximumFrameSize: .max)
        decoder.append(sink.outbound)
        // The dispatcher writes every reply itself: it decodes.
        return .frame((try? decoder.next()) ?? Frame(callId: 1, endOfStream: true, status: Status(code: .internal, message: "no reply")))
    }
}

/// What a one-shot call answers: its reply Frame, or a large GetTopology's reply still to be built.
public enum OneShotReply {
    case frame(Frame)
    case snapshot(SnapshotReply)
}
