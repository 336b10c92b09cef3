// The decoded header fields: what HPACK hands the HTTP/2 connection, and what it takes to encode.

/// One header field. HPACK carries octets; they are decoded as UTF-8 (invalid sequences become
/// U+FFFD; HTTP/2 validation of names/values is the connection's job, on the String's utf8 view).
public struct HeaderField: Equatable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// The fields of one header block, in order.
public struct HeaderList: Equatable, Sendable {
    public var fields: [HeaderField]
    /// The decoded list's size (RFC 9113 §6.5.2: name + value octets + 32 per field) went past
    /// maxHeaderListSize: the fields past the limit are not kept, but the block was still decoded to
    /// the end so the dynamic table stays in step with the peer's encoder.
    public var exceededMaxSize: Bool

    public init(fields: [HeaderField] = [], exceededMaxSize: Bool = false) {
        self.fields = fields
        self.exceededMaxSize = exceededMaxSize
    }
}

/// The per-entry overhead of RFC 7541 §4.1 (dynamic table) and RFC 9113 §6.5.2 (header list size).
let headerFieldOverhead = 32
