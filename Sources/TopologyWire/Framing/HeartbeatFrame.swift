/// A frame carrying a HeartbeatRequest, read straight from its bytes: the server's hot path, with
/// the service id as its 128 bits (no `String`, no `Frame`).
///
/// `init?(scanning:)` accepts only the layout clients write, each field at most once and in this
/// order (a `[...]` part may be absent):
///
///     Frame              08 <call_id: varint, not 0>  [10 <end_of_stream: varint>]
///                        62 <n: one byte>  <HeartbeatRequest: n bytes>                 (frame ends)
///     HeartbeatRequest   0A 24 <service_id: 36 bytes, a canonical UUID, hex digits in either case>
///                        [10 <sequence: varint>]  [1A <one byte> <ServiceMetrics>]
///                        [22 <one byte> <ApplicationHealth>]                           (request ends)
///     ServiceMetrics     [09 <cpu_percent: 8 bytes>]  [10 <memory_bytes: varint>]
///     ApplicationHealth  [08 <state: varint>]  [12 <one byte> <message: UTF-8>]  [18 <error_count: varint>]
///
/// Anything else (another order, a repeated or unknown field, a long length, an id that is not a
/// UUID, anything the general decoder would reject) gives nil, and the caller hands the bytes to
/// `Frame(decoding:)`. For every frame it accepts, `frame` equals what `Frame(decoding:)` makes of
/// the same bytes, but for the service id, which it gives in canonical lowercase text: the case of
/// a UUID's digits means nothing (RFC 9562 section 4), and the server treats an id in upper case
/// as the same id in lower case on either path. The tests hold the two against each other.
///
/// `init?(callId:endOfStream:scanningRequest:)` reads a HeartbeatRequest alone, as gRPC carries it
/// (one message per length-prefixed gRPC message, the call being the HTTP/2 stream): the layout of
/// `HeartbeatRequest` above, of any total length, against `HeartbeatRequest(serializedBytes:)`.
public struct HeartbeatFrame: Equatable, Sendable {
    public var callId: UInt64
    public var endOfStream: Bool
    /// The service id's 128 bits (`UUIDText`).
    public var serviceIdHigh: UInt64
    public var serviceIdLow: UInt64
    public var sequence: Int64
    public var metrics: ServiceMetrics?
    public var health: ApplicationHealth?

    /// The service id in canonical lowercase text (as sent, when it was sent in lower case).
    public var serviceId: String { UUIDText.format(high: serviceIdHigh, low: serviceIdLow) }

    /// The frame the general decoder makes of the same bytes, with the service id in lower case.
    public var frame: Frame {
        Frame(callId: callId, endOfStream: endOfStream, message: .heartbeatRequest(HeartbeatRequest(
            serviceId: serviceId, sequence: sequence, metrics: metrics, health: health)))
    }

    /// Reads one frame body (without its length prefix); nil unless it has the layout above.
    public init?(scanning body: UnsafeRawBufferPointer) {
        var frame = Scanner(body)
        guard frame.take(0x08), let callId = frame.varint(), callId != 0 else { return nil }
        var endOfStream = false
        if frame.take(0x10) {
            guard let raw = frame.varint() else { return nil }
            endOfStream = raw != 0
        }
        guard frame.take(0x62), let request = frame.nested(), frame.atEnd else { return nil }
        self.init(callId: callId, endOfStream: endOfStream, request: request)
    }

    /// Reads a HeartbeatRequest's bytes (the message alone, no Frame around it) for call `callId`;
    /// nil unless they have the layout above.
    public init?(callId: UInt64, endOfStream: Bool, scanningRequest bytes: UnsafeRawBufferPointer) {
        self.init(callId: callId, endOfStream: endOfStream, request: Scanner(bytes))
    }

    private init?(callId: UInt64, endOfStream: Bool, request: Scanner) {
        var request = request
        guard request.take(0x0A), let id = request.nested(),
              let (high, low) = UUIDText.parse(id.bytes) else { return nil }
        var sequence: Int64 = 0
        if request.take(0x10) {
            guard let raw = request.varint() else { return nil }
            sequence = Int64(bitPattern: raw)
        }
        var metrics: ServiceMetrics?
        if request.take(0x1A) {
            guard var fields = request.nested() else { return nil }
            var value = ServiceMetrics()
            if fields.take(0x09) {
                guard let raw = fields.fixed64() else { return nil }
                value.cpuPercent = Double(bitPattern: raw)
            }
            if fields.take(0x10) {
                guard let raw = fields.varint() else { return nil }
                value.memoryBytes = raw
            }
            guard fields.atEnd else { return nil }
            metrics = value
        }
        var health: ApplicationHealth?
        if request.take(0x22) {
            guard var fields = request.nested() else { return nil }
            var value = ApplicationHealth()
            if fields.take(0x08) {
                guard let raw = fields.varint() else { return nil }
                value.state = HealthState(rawValue: Int32(truncatingIfNeeded: raw))
            }
            if fields.take(0x12) {
                guard let text = fields.nested(), UTF8Validation.isValid(text.bytes) else { return nil }
                value.message = String(decoding: text.bytes, as: UTF8.self)
            }
            if fields.take(0x18) {
                guard let raw = fields.varint() else { return nil }
                value.errorCount = Int32(truncatingIfNeeded: raw)
            }
            guard fields.atEnd else { return nil }
            health = value
        }
        guard request.atEnd else { return nil }
        self.callId = callId
        self.endOfStream = endOfStream
        self.serviceIdHigh = high
        self.serviceIdLow = low
        self.sequence = sequence
        self.metrics = metrics
        self.health = health
    }

    /// A cursor over bytes that reads only the forms the layout admits.
    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var atEnd: Bool { offset == bytes.count }

        /// Consumes `tag` (a one-byte key) if it comes next.
        mutating func take(_ tag: UInt8) -> Bool {
            guard offset < bytes.count, bytes[offset] == tag else { return false }
            offset += 1
            return true
        }

        /// A varint value as `BinaryDecoder` reads it: at most 10 bytes, bits past the 64th dropped.
        @inline(__always)
        mutating func varint() -> UInt64? {
            guard case .value(let value, let next) = Varint.read(bytes, at: offset, end: bytes.count, maximumBytes: 10)
            else { return nil }
            offset = next
            return value
        }

        mutating func fixed64() -> UInt64? {
            guard bytes.count - offset >= 8 else { return nil }
            let value = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
            return value
        }

        /// A one-byte length and that many bytes, as a scanner of their own.
        mutating func nested() -> Scanner? {
            guard offset < bytes.count, bytes[offset] < 0x80, Int(bytes[offset]) <= bytes.count - offset - 1 else { return nil }
            let start = offset + 1
            offset = start + Int(bytes[offset])
            return Scanner(UnsafeRawBufferPointer(rebasing: bytes[start..<offset]))
        }
    }
}
