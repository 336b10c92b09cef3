// The generator's read path. Heartbeat replies are by far the most frequent frame, so they are read
// by a field scanner that looks only at call_id, status.code and heartbeat_response.acknowledged
// (no allocation); every other frame goes through TopologyWire's full decoder. The same scanner
// reads the floor's fixed reply, so server and floor cost the generator the same per reply.

import TopologyWire

/// What the scanner learns from one Frame body.
struct ReplySummary {
    var callId: UInt64 = 0
    var statusCode: Int32 = 0
    var isHeartbeatResponse = false
    var acknowledged = false
}

enum FrameScan {
    /// Reads a varint at `index`; nil when the bytes end first or it runs over 10 bytes.
    @inline(__always)
    static func varint(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> UInt64? {
        guard case .value(let value, let end) = Varint.read(bytes, at: index, end: bytes.count, maximumBytes: 10)
        else { return nil }
        index = end
        return value
    }

    /// The length prefix at `index`: (prefix bytes, body bytes), nil while incomplete.
    @inline(__always)
    static func lengthPrefix(_ bytes: UnsafeRawBufferPointer, at start: Int) -> (Int, Int)? {
        var index = start
        guard let length = varint(bytes, &index) else { return nil }
        return (index - start, Int(length))
    }

    /// Skips one field of `wireType` at `index`; false if malformed.
    @inline(__always)
    static func skip(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, wireType: UInt64) -> Bool {
        switch wireType {
        case 0: return varint(bytes, &index) != nil
        case 1: index += 8
        case 2:
            guard let n = varint(bytes, &index) else { return false }
            index += Int(n)
        case 5: index += 4
        default: return false
        }
        return index <= bytes.count
    }

    /// Scans a Frame body for the fields the heartbeat path needs; nil if malformed.
    static func summary(_ body: UnsafeRawBufferPointer) -> ReplySummary? {
        var result = ReplySummary()
        var index = 0
        while index < body.count {
            guard let key = varint(body, &index) else { return nil }
            let field = key >> 3, wireType = key & 7
            switch (field, wireType) {
            case (1, 0):
                guard let v = varint(body, &index) else { return nil }
                result.callId = v
            case (3, 2), (13, 2):
                guard let n = varint(body, &index), index + Int(n) <= body.count else { return nil }
                let inner = UnsafeRawBufferPointer(rebasing: body[index..<index + Int(n)])
                index += Int(n)
                if field == 13 { result.isHeartbeatResponse = true }
                var j = 0
                while j < inner.count {
                    guard let innerKey = varint(inner, &j) else { return nil }
                    let innerField = innerKey >> 3, innerType = innerKey & 7
                    if innerType == 0 && ((field == 13 && innerField == 2) || (field == 3 && innerField == 1)) {
                        guard let v = varint(inner, &j) else { return nil }
                        if field == 13 { result.acknowledged = v != 0 } else { result.statusCode = Int32(truncatingIfNeeded: v) }
                    } else if !skip(inner, &j, wireType: innerType) {
                        return nil
                    }
                }
            default:
                guard skip(body, &index, wireType: wireType) else { return nil }
            }
        }
        return result
    }

    /// Whether `needle` occurs in `haystack` (the watch path's test for "is this the probe's node").
    @inline(__always)
    static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer) -> Bool {
        guard needle.count > 0, haystack.count >= needle.count else { return false }
        // memmem is a GNU extension the Glibc module does not export: memchr for the first byte, then memcmp.
        let first = Int32(needle[0])
        var start = 0
        let last = haystack.count - needle.count
        while start <= last {
            guard let hit = memchr(haystack.baseAddress! + start, first, last - start + 1) else { return false }
            let offset = UnsafeRawPointer(hit) - haystack.baseAddress!
            if memcmp(hit, needle.baseAddress!, needle.count) == 0 { return true }
            start = offset + 1
        }
        return false
    }
}

/// Latency samples in nanoseconds, summarized by nearest-rank percentiles.
struct Samples {
    private(set) var values: [Int64] = []

    mutating func add(_ ns: Int64) {
        values.append(ns)
        isSorted = false
    }
    mutating func reserve(_ n: Int) { values.reserveCapacity(n) }
    var count: Int { values.count }

    /// Nearest-rank percentile in ns (nil when empty). Sorts in place once.
    mutating func percentile(_ p: Double) -> Int64? {
        guard !values.isEmpty else { return nil }
        if !isSorted { values.sort(); isSorted = true }
        let rank = Swift.max(1, Int((p / 100 * Double(values.count)).rounded(.up)))
        return values[Swift.min(rank, values.count) - 1]
    }

    var max: Int64? { values.max() }
    private var isSorted = false
}

#if canImport(Glibc)
import Glibc
#endif
