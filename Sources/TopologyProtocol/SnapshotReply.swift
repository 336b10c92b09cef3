import TopologyCore
import TopologyWire

/// A GetTopology reply not built yet: the call it answers and what its snapshot is built from.
/// `frame()` builds it, on the loop for a small core, on the reply encoder's thread for a large one
/// (`FrameAction.encodeOffLoop`), where building 1,000,000 nodes takes a second or more.
public struct SnapshotReply: Sendable, Equatable {
    public let callId: UInt64
    public let source: SnapshotSource

    public func frame() -> Frame {
        Frame(callId: callId, endOfStream: true, status: Status(code: .ok, message: ""), message: .getTopologyResponse(response()))
    }

    /// The reply's message alone (gRPC and Connect carry no Frame).
    public func response() -> GetTopologyResponse {
        GetTopologyResponse(snapshot: source.build())
    }

    /// The same reply: the same call and the same snapshot (built to compare; for tests).
    public static func == (lhs: SnapshotReply, rhs: SnapshotReply) -> Bool {
        lhs.callId == rhs.callId && lhs.frame() == rhs.frame()
    }
}
