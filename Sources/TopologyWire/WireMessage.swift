/// A protobuf message that can be decoded: what `BinaryDecoder` needs of a message type. Messages
/// that are only ever read (OTLP's spans) stop here; `WireMessage` adds encoding.
public protocol WireDecodable {
    /// A message with every field at its default (absent).
    init()

    /// Decodes the field the decoder is positioned at if this message knows it (number and wire
    /// type); returns false to have it skipped as unknown.
    mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool
}

/// A protobuf message with a hand-written codec.
///
/// Each message states its fields once, in `traverse` (field order, numbers, JSON names, and which
/// values are present); sizing, binary encoding and JSON encoding are all visitors over that one
/// description, so they cannot drift apart. Decoding is the mirror image: `decodeField` claims the
/// fields it knows and the decoder skips the rest.
public protocol WireMessage: WireDecodable, Equatable, Sendable {
    /// The full protobuf name, e.g. `runtime.v1.HeartbeatRequest`.
    static var protoMessageName: String { get }

    /// Hands every present field to `visitor`, in field-number order.
    func traverse<V: FieldVisitor>(_ visitor: inout V)
}

extension WireMessage {
    /// The message's protobuf binary encoding.
    public func serializedBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        encode(appendingTo: &bytes)
        return bytes
    }

    /// Appends the protobuf binary encoding to `buffer`: sizes are computed first, then the bytes are
    /// written once into space reserved for exactly that size.
    public func encode(appendingTo buffer: inout [UInt8]) {
        var sizer = BinarySizeVisitor()
        traverse(&sizer)
        BinaryEncodingVisitor.write(self, size: sizer.size, nestedSizes: sizer.nestedSizes, to: &buffer)
    }

    /// Bytes `encode(appendingTo:)` would append.
    public var serializedSize: Int {
        var sizer = BinarySizeVisitor()
        traverse(&sizer)
        return sizer.size
    }

    /// Decodes a message from its protobuf binary encoding. Unknown fields are skipped.
    public init(serializedBytes bytes: some Collection<UInt8>) throws {
        self.init()
        let decoded: Self? = try bytes.withContiguousStorageIfAvailable { buffer in
            try Self(decoding: UnsafeRawBufferPointer(buffer))
        }
        if let decoded {
            self = decoded
        } else {
            let copy = Array(bytes)
            self = try copy.withUnsafeBytes { try Self(decoding: $0) }
        }
    }

    /// Decodes a message from raw bytes; error offsets count from `bytes.startIndex`.
    public init(decoding bytes: UnsafeRawBufferPointer) throws {
        self.init()
        var decoder = BinaryDecoder(bytes)
        try decoder.decodeFields(into: &self)
    }

    /// Decodes `bytes` on top of this message, with protobuf merge semantics: scalars present in
    /// `bytes` replace, repeated fields append, message fields merge.
    public mutating func merge(serializedBytes bytes: UnsafeRawBufferPointer) throws {
        var decoder = BinaryDecoder(bytes)
        try decoder.decodeFields(into: &self)
    }

    /// The message in the proto3 JSON mapping (lowerCamelCase names; 64-bit integers as strings;
    /// enums by name, or by number when unknown; absent fields omitted), as the official
    /// libraries' `MessageToJson` writes it without `always_print_fields_with_no_presence`.
    public func jsonString() -> String {
        String(decoding: jsonUTF8(), as: UTF8.self)
    }

    /// `jsonString()` as UTF-8 bytes, without making a `String` of them.
    public func jsonUTF8() -> [UInt8] {
        var visitor = JSONEncodingVisitor()
        visitor.writeMessage(self)
        return visitor.output
    }
}
