/// Writes the frame that acknowledges a heartbeat, byte for byte what
/// `Frame(callId: c, message: .heartbeatResponse(HeartbeatResponse(sequence: s, acknowledged: true,
/// serverEpoch: e))).encodeLengthPrefixed` writes, without building or sizing a `Frame`: the fields
/// after the sequence (acknowledged, server_epoch) never change, so they are encoded once.
public struct HeartbeatReplyEncoder: Sendable {
    /// HeartbeatResponse's fields after `sequence`, encoded.
    private let tail: [UInt8]

    public init(serverEpoch: String) {
        // Sequence 0 is absent in proto3, so this is exactly the part after the sequence field.
        tail = HeartbeatResponse(sequence: 0, acknowledged: true, serverEpoch: serverEpoch).serializedBytes()
    }

    public func append(callId: UInt64, sequence: Int64, to buffer: inout [UInt8]) {
        // The sequence field (tag 08 and up to 10 varint bytes; absent when 0), then the tail.
        withUnsafeTemporaryAllocation(byteCount: 11, alignment: 1) { head in
            var count = 0
            if sequence != 0 {
                head[0] = 1 << 3 | WireType.varint.rawValue
                count = 1
                Varint.store(UInt64(bitPattern: sequence), to: head, at: &count)
            }
            tail.withUnsafeBytes { tail in
                PreencodedFrame.append(
                    callId: callId, memberField: Frame.heartbeatResponseField, head: UnsafeRawBufferPointer(rebasing: head[0..<count]), tail: tail,
                    to: &buffer)
            }
        }
    }
}
