/// Writes a message in the proto3 JSON mapping: lowerCamelCase names, 64-bit integers as strings,
/// enums by name (by number when unknown), doubles as numbers or "NaN"/"Infinity"/"-Infinity", and
/// absent fields omitted. Used by the test probe (to compare against the official library's
/// MessageToDict) and by the HTTP API.
struct JSONEncodingVisitor: FieldVisitor {
    private(set) var output = ""
    private var firstInObject = true

    mutating func writeMessage<M: WireMessage>(_ message: M) {
        output += "{"
        let outer = firstInObject
        firstInObject = true
        message.traverse(&self)
        firstInObject = outer
        output += "}"
    }

    private mutating func key(_ field: FieldID) {
        if !firstInObject { output += "," }
        firstInObject = false
        output += "\""
        output += field.jsonName.description
        output += "\":"
    }

    private mutating func array<T>(_ values: [T], _ field: FieldID, _ element: (inout Self, T) -> Void) {
        key(field)
        output += "["
        for (index, value) in values.enumerated() {
            if index > 0 { output += "," }
            element(&self, value)
        }
        output += "]"
    }

    private mutating func scalar(_ value: UInt64, _ kind: JSONScalar) {
        switch kind {
        case .bool: output += value != 0 ? "true" : "false"
        case .int32: output += String(Int32(truncatingIfNeeded: value))
        case .int64: output += "\"\(Int64(bitPattern: value))\""
        case .uint64: output += "\"\(value)\""
        }
    }

    private mutating func number(_ value: Double) {
        if value.isNaN {
            output += "\"NaN\""
        } else if value.isInfinite {
            output += value < 0 ? "\"-Infinity\"" : "\"Infinity\""
        } else {
            output += value.description
        }
    }

    private mutating func enumeration<E: WireEnum>(_ value: E) {
        if let name = value.protoName {
            output += "\"\(name)\""
        } else {
            output += String(value.rawValue)
        }
    }

    private mutating func quoted(_ value: String) {
        output += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
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

    mutating func visitPackedSInt32(_ values: [Int32], field: FieldID) {
        array(values, field) { $0.output += String($1) }
    }

    mutating func visitPackedUInt64(_ values: [UInt64], field: FieldID) {
        array(values, field) { $0.scalar($1, .uint64) }
    }

    mutating func visitPackedEnum<E: WireEnum>(_ values: [E], field: FieldID) {
        array(values, field) { $0.enumeration($1) }
    }
}
