/// Writes a message in the proto3 JSON mapping: lowerCamelCase names, 64-bit integers as strings,
/// enums by name (by number when unknown), doubles as numbers or "NaN"/"Infinity"/"-Infinity", and
/// absent fields omitted. Used by the test probe (to compare against the official library's
/// MessageToDict) and by the HTTP API.
///
/// It writes UTF-8 bytes, not a `String`: a 100,000-node snapshot is some 45 MB of JSON, and
/// appending to a `String` piece by piece (and scalar by scalar for strings) cost about a second.
struct JSONEncodingVisitor: FieldVisitor {
    private(set) var output: [UInt8] = []
    private var firstInObject = true

    mutating func writeMessage<M: WireMessage>(_ message: M) {
        output.append(UInt8(ascii: "{"))
        let outer = firstInObject
        firstInObject = true
        message.traverse(&self)
        firstInObject = outer
        output.append(UInt8(ascii: "}"))
    }

    private mutating func write(_ text: StaticString) {
        text.withUTF8Buffer { output.append(contentsOf: $0) }
    }

    private mutating func write(_ text: String) {
        output.append(contentsOf: text.utf8)
    }

    private mutating func key(_ field: FieldID) {
        if !firstInObject { output.append(UInt8(ascii: ",")) }
        firstInObject = false
        output.append(UInt8(ascii: "\""))
        write(field.jsonName)
        write("\":")
    }

    private mutating func array<T>(_ values: [T], _ field: FieldID, _ element: (inout Self, T) -> Void) {
        key(field)
        output.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            element(&self, value)
        }
        output.append(UInt8(ascii: "]"))
    }

    private mutating func scalar(_ value: UInt64, _ kind: JSONScalar) {
        switch kind {
        case .bool: write(value != 0 ? "true" : "false")
        case .int32: write(String(Int32(truncatingIfNeeded: value)))
        case .int64: quotedNumber(String(Int64(bitPattern: value)))
        case .uint64: quotedNumber(String(value))
        }
    }

    private mutating func quotedNumber(_ digits: String) {
        output.append(UInt8(ascii: "\""))
        write(digits)
        output.append(UInt8(ascii: "\""))
    }

    private mutating func number(_ value: Double) {
        if value.isNaN {
            write("\"NaN\"")
        } else if value.isInfinite {
            write(value < 0 ? "\"-Infinity\"" : "\"Infinity\"")
        } else {
            write(value.description)
        }
    }

    private mutating func enumeration<E: WireEnum>(_ value: E) {
        if let name = value.protoName {
            output.append(UInt8(ascii: "\""))
            write(name)
            output.append(UInt8(ascii: "\""))
        } else {
            write(String(value.rawValue))
        }
    }

    private mutating func quoted(_ value: String) {
        JSONText.appendQuoted(value, to: &output)
    }

    mutating func visitVarint(_ value: UInt64, field: FieldID, json: JSONScalar) {
        key(field)
        scalar(value, json)
    }

    mutating func visitDouble(_ value: Double, field: FieldID) {
        key(field)
        number(value)
    }

    mutating func visitString(_ value: String, field: FieldID) {
        key(field)
        quoted(value)
    }

    mutating func visitEnum<E: WireEnum>(_ value: E, field: FieldID) {
        key(field)
        enumeration(value)
    }

    mutating func visitMessage<M: WireMessage>(_ value: M, field: FieldID) {
        key(field)
        writeMessage(value)
    }

    mutating func visitRepeatedString(_ values: [String], field: FieldID) {
        array(values, field) { $0.quoted($1) }
    }

    mutating func visitRepeatedMessage<M: WireMessage>(_ values: [M], field: FieldID) {
        array(values, field) { $0.writeMessage($1) }
    }

    /// A map is a JSON object (proto3 JSON), its keys in the binary encoding's order.
    mutating func visitStringMap(_ map: [String: String], field: FieldID) {
        key(field)
        output.append(UInt8(ascii: "{"))
        for (index, mapKey) in StringMapOrder.sortedKeys(map).enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            quoted(mapKey)
            output.append(UInt8(ascii: ":"))
            quoted(map[mapKey]!)
        }
        output.append(UInt8(ascii: "}"))
    }

    mutating func visitPackedSInt32(_ values: [Int32], field: FieldID) {
        array(values, field) { $0.write(String($1)) }
    }

    mutating func visitPackedUInt64(_ values: [UInt64], field: FieldID) {
        array(values, field) { $0.scalar($1, .uint64) }
    }

    mutating func visitPackedEnum<E: WireEnum>(_ values: [E], field: FieldID) {
        array(values, field) { $0.enumeration($1) }
    }
}
