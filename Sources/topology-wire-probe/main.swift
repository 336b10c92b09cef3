// topology-wire-probe: the Swift side of the differential tests (Tests/interop).
//
// Reads lines `<MessageName> <hex>` from stdin. For each it decodes the bytes as that message and
// answers one line: `ok <hex of the Swift re-encoding> <proto3 JSON of the decoded value>`, or
// `err <why>` when the bytes do not decode. One process serves a whole test run.
//
// A line `json <MessageName> <hex of a UTF-8 JSON text>` reads the text in the proto3 JSON mapping
// instead (the request messages: JSONDecodableMessage) and answers the same way; the JSON
// differential tests compare the bytes with the official `json_format.Parse`.
import Foundation
import TopologyWire

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}

func bytes(fromHex text: Substring) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count / 2)
    var index = 0
    while index < utf8.count {
        guard let high = hexDigit(utf8[index]), let low = hexDigit(utf8[index + 1]) else { return nil }
        out.append(high << 4 | low)
        index += 2
    }
    return out
}

func hexDigit(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}

func roundTrip<M: WireMessage>(_ type: M.Type, _ input: [UInt8]) -> String {
    do {
        let message = try M(serializedBytes: input)
        return "ok \(hex(message.serializedBytes())) \(message.jsonString())"
    } catch {
        return "err \(error)"
    }
}

func fromJSON<M: JSONDecodableMessage>(_ type: M.Type, _ input: [UInt8]) -> String {
    do {
        let message = try M(jsonUTF8: input, options: JSONDecodingOptions(maximumSize: 1 << 20))
        return "ok \(hex(message.serializedBytes())) \(message.jsonString())"
    } catch {
        return "err \(error)"
    }
}

/// Each answer goes out at once: a test sends one line and waits for its answer, and stdio would
/// hold it in a block buffer on a pipe.
func answer(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

while let line = readLine() {
    if line.hasPrefix("json ") {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let type = MessageRegistry.type(named: String(parts[1])) as? any JSONDecodableMessage.Type else {
            answer("err no JSON-readable message type in line: \(line.prefix(80))")
            continue
        }
        guard let input = bytes(fromHex: parts[2]) else {
            answer("err bad hex")
            continue
        }
        answer(fromJSON(type, input))
        continue
    }
    let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
    guard let name = parts.first, let type = MessageRegistry.type(named: String(name)) else {
        answer("err unknown message type in line: \(line.prefix(80))")
        continue
    }
    guard let input = bytes(fromHex: parts.count > 1 ? parts[1] : "") else {
        answer("err bad hex")
        continue
    }
    answer(roundTrip(type, input))
}
