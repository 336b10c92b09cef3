import XCTest
@testable import TopologyWire

/// Parses lowercase or uppercase hex, ignoring spaces, so vectors can be written grouped by field.
func bytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// The one helper of swift-protobuf's tests: `message` encodes to exactly `expectedHex`, and those
/// bytes decode back to `message`.
func assertEncodes<M: WireMessage>(
    _ message: M, to expectedHex: String, file: StaticString = #filePath, line: UInt = #line
) {
    let encoded = message.serializedBytes()
    XCTAssertEqual(hex(encoded), hex(bytes(expectedHex)), "encoding of \(M.self)", file: file, line: line)
    XCTAssertEqual(message.serializedSize, encoded.count, "serializedSize of \(M.self)", file: file, line: line)
    do {
        let decoded = try M(serializedBytes: encoded)
        XCTAssertEqual(decoded, message, "round trip of \(M.self)", file: file, line: line)
    } catch {
        XCTFail("decoding \(M.self) threw \(error)", file: file, line: line)
    }
}

/// Decoding `hex` as `M` throws exactly `expected`.
func assertDecodingFails<M: WireMessage>(
    _ type: M.Type, _ hexInput: String, with expected: WireDecodingError,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertThrowsError(try M(serializedBytes: bytes(hexInput)), file: file, line: line) { error in
        XCTAssertEqual(error as? WireDecodingError, expected, file: file, line: line)
    }
}
