/// Turns a JSON value into the protobuf binary encoding of the message a `JSONMessageSchema`
/// describes, by the proto3 JSON mapping; the message's binary decoder then reads those bytes. So
/// the rules of binary decoding (UTF-8, open enums, last-wins scalars) hold for JSON unchanged, and
/// this type only has to know what JSON may say for each kind of field:
///
/// | kind | JSON |
/// |---|---|
/// | string | a string |
/// | bool | true or false |
/// | int32, sint32, int64, uint64 | a number or a string holding one, whole (1.0 and 1e2 are) and in range |
/// | double | a number, or a string: a number, "NaN", "Infinity" or "-Infinity" |
/// | enum | the value's name, or its number (unknown numbers kept: proto3 enums are open) |
/// | fixed64 | as uint64 |
/// | bytes | base64 (`base64Bytes`) or hex digits (`hexBytes`, OTLP's ids) in a string |
/// | message | an object |
/// | map<string, string> | an object whose values are strings (null is not a string) |
/// | repeated | an array of the above, elements not null |
///
/// `null` for a field means its default: the field is left out. A field given twice (by json_name
/// and proto name) is an error; a key that names no field is an error unless `ignoreUnknownFields`.
struct JSONTranscoder {
    var ignoreUnknownFields: Bool

    func encodeMessage(_ value: JSONValue, _ schema: JSONMessageSchema, path: String, into out: inout [UInt8]) throws {
        guard case let .object(members) = value else {
            throw JSONDecodingError.wrongType(path: path, expected: "an object", found: value.kindDescription)
        }
        var keysByNumber: [Int: String] = [:]
        for member in members {
            guard let field = schema.field(named: member.key) else {
                if ignoreUnknownFields { continue }
                throw JSONDecodingError.unknownField(path: path, name: member.key, known: schema.fields.map(\.jsonName))
            }
            let fieldPath = path + "." + member.key
            if let earlier = keysByNumber.updateValue(member.key, forKey: field.number) {
                throw JSONDecodingError.fieldGivenTwice(path: path + "." + field.jsonName, names: [earlier, member.key])
            }
            switch member.value {
            case .null:
                continue
            case let .array(elements) where field.isRepeated:
                // Unpacked, one tag per element: the binary decoder takes both forms.
                for (index, element) in elements.enumerated() {
                    let elementPath = "\(fieldPath)[\(index)]"
                    if element == .null { throw JSONDecodingError.nullInArray(path: elementPath) }
                    try encodeValue(element, field, path: elementPath, into: &out)
                }
            case let other:
                if field.isRepeated {
                    throw JSONDecodingError.wrongType(path: fieldPath, expected: "an array", found: other.kindDescription)
                }
                try encodeValue(other, field, path: fieldPath, into: &out)
            }
        }
    }

    private func encodeValue(_ value: JSONValue, _ field: JSONField, path: String, into out: inout [UInt8]) throws {
        switch field.kind {
        case .string:
            guard case let .string(text) = value else { throw wrongType(value, path, "a string") }
            appendTag(field, .lengthDelimited, &out)
            BinaryEncodingVisitor.appendVarint(UInt64(text.utf8.count), to: &out)
            out.append(contentsOf: text.utf8)
        case .bool:
            guard case let .bool(flag) = value else { throw wrongType(value, path, "true or false") }
            appendTag(field, .varint, &out)
            out.append(flag ? 1 : 0)
        case .int32:
            appendTag(field, .varint, &out)
            BinaryEncodingVisitor.appendVarint(UInt64(bitPattern: try integer(value, path, bits: 32)), to: &out)
        case .sint32:
            appendTag(field, .varint, &out)
            let number = Int32(try integer(value, path, bits: 32))
            BinaryEncodingVisitor.appendVarint(UInt64(Varint.zigzag(number)), to: &out)
        case .int64:
            appendTag(field, .varint, &out)
            BinaryEncodingVisitor.appendVarint(UInt64(bitPattern: try integer(value, path, bits: 64)), to: &out)
        case .uint64:
            appendTag(field, .varint, &out)
            BinaryEncodingVisitor.appendVarint(try unsignedInteger(value, path), to: &out)
        case .double:
            appendTag(field, .fixed64, &out)
            let bits = try double(value, path).bitPattern
            for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        case let .enumeration(names):
            let number: Int64
            if case let .string(name) = value {
                guard let index = names.firstIndex(of: name) else {
                    throw JSONDecodingError.unknownEnumName(path: path, name: name, known: names)
                }
                number = Int64(index)
            } else if case .number = value {
                number = try integer(value, path, bits: 32)
            } else {
                throw wrongType(value, path, "an enum value's name or number")
            }
            appendTag(field, .varint, &out)
            BinaryEncodingVisitor.appendVarint(UInt64(bitPattern: number), to: &out)
        case .stringMap:
            guard case let .object(members) = value else { throw wrongType(value, path, "an object") }
            // The parser has refused a key given twice, so each member is one entry.
            for member in members {
                guard case let .string(text) = member.value else {
                    throw wrongType(member.value, path + "." + member.key, "a string")
                }
                var entry: [UInt8] = []
                StringMapEntry(key: member.key, value: text).encode(appendingTo: &entry)
                appendTag(field, .lengthDelimited, &out)
                BinaryEncodingVisitor.appendVarint(UInt64(entry.count), to: &out)
                out.append(contentsOf: entry)
            }
        case .fixed64:
            appendTag(field, .fixed64, &out)
            let bits = try unsignedInteger(value, path)
            for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        case .base64Bytes:
            guard case let .string(text) = value else { throw wrongType(value, path, "a base64 string") }
            guard let bytes = Base64.decode(text) else {
                throw JSONDecodingError.wrongType(path: path, expected: "base64", found: "the string \"\(text.prefix(64))\"")
            }
            appendLengthDelimited(field, bytes, &out)
        case .hexBytes:
            guard case let .string(text) = value else { throw wrongType(value, path, "a string of hex digits") }
            guard let bytes = Self.hexBytes(text) else {
                throw JSONDecodingError.wrongType(
                    path: path, expected: "an even number of hex digits", found: "the string \"\(text.prefix(64))\"")
            }
            appendLengthDelimited(field, bytes, &out)
        case let .message(schema):
            var nested: [UInt8] = []
            try encodeMessage(value, schema, path: path, into: &nested)
            appendLengthDelimited(field, nested, &out)
        case let .recursiveMessage(schema):
            var nested: [UInt8] = []
            try encodeMessage(value, schema(), path: path, into: &nested)
            appendLengthDelimited(field, nested, &out)
        }
    }

    private func appendLengthDelimited(_ field: JSONField, _ bytes: [UInt8], _ out: inout [UInt8]) {
        appendTag(field, .lengthDelimited, &out)
        BinaryEncodingVisitor.appendVarint(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    /// The bytes that pairs of hex digits spell; nil for an odd count or a non-hex character.
    private static func hexBytes(_ text: String) -> [UInt8]? {
        func nibble(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private func appendTag(_ field: JSONField, _ wireType: WireType, _ out: inout [UInt8]) {
        BinaryEncodingVisitor.appendVarint(UInt64(field.number) << 3 | UInt64(wireType.rawValue), to: &out)
    }

    private func wrongType(_ value: JSONValue, _ path: String, _ expected: String) -> JSONDecodingError {
        .wrongType(path: path, expected: expected, found: value.kindDescription)
    }

    /// The number an integer field holds: a JSON number, or a string holding one (how proto3 JSON
    /// writes 64-bit integers, which JavaScript numbers cannot hold).
    private func number(_ value: JSONValue, _ path: String) throws -> JSONNumber {
        switch value {
        case let .number(number):
            return number
        case let .string(text):
            guard let number = JSONNumber(text) else {
                throw JSONDecodingError.notAnInteger(path: path, text: "\"\(text)\"")
            }
            return number
        default:
            throw wrongType(value, path, "a number or a string holding one")
        }
    }

    /// A signed integer of `bits` bits (32 or 64), exactly, as Int64.
    private func integer(_ value: JSONValue, _ path: String, bits: Int) throws -> Int64 {
        let number = try number(value, path)
        let type = bits == 32 ? "int32" : "int64"
        switch number.integerValue {
        case .fraction:
            throw JSONDecodingError.notAnInteger(path: path, text: number.text)
        case .tooLarge:
            throw JSONDecodingError.outOfRange(path: path, text: number.text, type: type)
        case let .integer(negative, magnitude):
            let limit = UInt64(1) << (bits - 1)
            guard negative ? magnitude <= limit : magnitude < limit else {
                throw JSONDecodingError.outOfRange(path: path, text: number.text, type: type)
            }
            return negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude)
        }
    }

    private func unsignedInteger(_ value: JSONValue, _ path: String) throws -> UInt64 {
        let number = try number(value, path)
        switch number.integerValue {
        case .fraction:
            throw JSONDecodingError.notAnInteger(path: path, text: number.text)
        case let .integer(negative, magnitude) where !negative || magnitude == 0:
            return magnitude
        default:
            throw JSONDecodingError.outOfRange(path: path, text: number.text, type: "uint64")
        }
    }

    private func double(_ value: JSONValue, _ path: String) throws -> Double {
        let number: JSONNumber
        switch value {
        case let .number(written):
            number = written
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        case let .string(text):
            guard let written = JSONNumber(text) else {
                throw JSONDecodingError.wrongType(
                    path: path, expected: #"a number, "NaN", "Infinity" or "-Infinity""#, found: "the string \"\(text)\"")
            }
            number = written
        default:
            throw wrongType(value, path, "a number")
        }
        guard let double = number.double else {
            throw JSONDecodingError.outOfRange(path: path, text: number.text, type: "double")
        }
        return double
    }
}
