/// Frames whose oneof member is already encoded, for replies that are written many times over:
/// a heartbeat acknowledgement (only the sequence changes) and a watch update sent to many
/// watchers (only the call id changes).
///
///     [length] 08 <call_id> <member tag> <member length> <head> <tail>
///
/// These are the bytes `Frame(callId: c, message: m).encodeLengthPrefixed` writes when `m` encodes
/// as `head` followed by `tail` (end_of_stream false, no status): the tests compare the two.
public enum PreencodedFrame {
    /// Appends the frame for call `callId` (not 0) whose member, oneof field `memberField`, encodes
    /// as `head` + `tail`.
    public static func append(
        callId: UInt64, memberField: Int, head: UnsafeRawBufferPointer, tail: UnsafeRawBufferPointer,
        to buffer: inout [UInt8]
    ) {
        precondition(callId != 0, "call_id 0 is absent on the wire; a reply always has a call")
        precondition(head.count <= maximumHeadBytes, "the head is for a few fields; the rest belongs in the tail")
        let memberTag = UInt64(memberField) << 3 | UInt64(WireType.lengthDelimited.rawValue)
        let memberLength = head.count + tail.count
        let body = 1 + Varint.size(of: callId) + Varint.size(of: memberTag) + Varint.size(of: UInt64(memberLength)) + memberLength
        // Everything before the tail is at most 5 + 1 + 10 + 5 + 5 + maximumHeadBytes bytes: written on
        // the stack, then appended with the tail (two copies, no sizing pass, no Frame).
        withUnsafeTemporaryAllocation(byteCount: 26 + maximumHeadBytes, alignment: 1) { raw in
            var position = 0
            Varint.store(UInt64(body), to: raw, at: &position)
            Varint.store(1 << 3 | UInt64(WireType.varint.rawValue), to: raw, at: &position)  // call_id
            Varint.store(callId, to: raw, at: &position)
            Varint.store(memberTag, to: raw, at: &position)
            Varint.store(UInt64(memberLength), to: raw, at: &position)
            if !head.isEmpty {
                UnsafeMutableRawBufferPointer(rebasing: raw[position..<position + head.count]).copyMemory(from: head)
                position += head.count
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[0..<position]))
        }
        buffer.append(contentsOf: tail)
    }

    /// The longest head `append` takes.
    public static let maximumHeadBytes = 16
}
