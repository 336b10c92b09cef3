// OTLP's attribute values (opentelemetry/proto/common/v1/common.proto): the one recursive part of a
// trace request, so the one that needs the decoder's depth limit.

/// An `AnyValue`: one of seven kinds, or none (an attribute whose value was not set).
public struct OTLPAnyValue: WireDecodable, Equatable, Sendable {
    public indirect enum Kind: Equatable, Sendable {
        case string(String)
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case array([OTLPAnyValue])
        case keyValueList([OTLPKeyValue])
        case bytes([UInt8])
    }

    public var kind: Kind?

    public init() {}

    public init(_ kind: Kind?) {
        self.kind = kind
    }

    /// The value as text when it is a string, for the attributes that name services and peers.
    public var string: String? {
        if case let .string(text) = kind { return text }
        return nil
    }

    /// The value when it is an integer (`server.port`), or a string holding one.
    public var int: Int64? {
        switch kind {
        case let .int(number): return number
        case let .string(text): return Int64(text)
        default: return nil
        }
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        // A oneof: the last member on the wire wins; the same message member twice is merged.
        switch number {
        case 1:
            var text = ""
            guard try decoder.decode(&text) else { return false }
            kind = .string(text)
        case 2:
            var flag = false
            guard try decoder.decode(&flag) else { return false }
            kind = .bool(flag)
        case 3:
            var integer: Int64 = 0
            guard try decoder.decode(&integer) else { return false }
            kind = .int(integer)
        case 4:
            var double = 0.0
            guard try decoder.decode(&double) else { return false }
            kind = .double(double)
        case 5:
            var list: OTLPValueList<OTLPAnyValue>?
            if case let .array(values) = kind { list = OTLPValueList(values) }
            guard try decoder.decode(&list), let list else { return false }
            kind = .array(list.values)
        case 6:
            var list: OTLPValueList<OTLPKeyValue>?
            if case let .keyValueList(values) = kind { list = OTLPValueList(values) }
            guard try decoder.decode(&list), let list else { return false }
            kind = .keyValueList(list.values)
        case 7:
            var bytes: [UInt8] = []
            guard try decoder.decode(&bytes) else { return false }
            kind = .bytes(bytes)
        default:
            return false
        }
        return true
    }
}

/// A `KeyValue`: one attribute.
public struct OTLPKeyValue: WireDecodable, Equatable, Sendable {
    public var key = ""
    public var value = OTLPAnyValue()

    public init() {}

    public init(_ key: String, _ value: OTLPAnyValue.Kind?) {
        self.key = key
        self.value = OTLPAnyValue(value)
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&key)
        case 2:
            var value: OTLPAnyValue? = self.value
            guard try decoder.decode(&value), let value else { return false }
            self.value = value
            return true
        default: return false
        }
    }
}

/// `ArrayValue` and `KeyValueList`: both are a message with one repeated field 1.
struct OTLPValueList<Element: WireDecodable>: WireDecodable {
    var values: [Element] = []

    init() {}

    init(_ values: [Element]) {
        self.values = values
    }

    mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        number == 1 ? try decoder.decode(&values) : false
    }
}

extension [OTLPKeyValue] {
    /// The value of the last attribute named `key` (the SDKs never send a key twice; if one does,
    /// the last one wins, as for protobuf's own repeated-key maps).
    public func value(_ key: String) -> OTLPAnyValue? {
        last { $0.key == key }?.value
    }
}
