import XCTest
@testable import TopologyHTTP2

/// The stateless encoder: the exact bytes of the fields the server sends, and round trips through
/// the decoder that leave its dynamic table empty.
final class HPACKEncoderTests: XCTestCase {
    private func encode(_ fields: [HeaderField]) -> [UInt8] {
        var out: [UInt8] = []
        HPACKEncoder.encode(fields, into: &out)
        return out
    }

    func testAStaticFieldIsItsIndex() {
        XCTAssertEqual(encode([HeaderField(":status", "200")]), [0x88])
        XCTAssertEqual(encode([HeaderField(":method", "POST"), HeaderField(":scheme", "http")]), [0x83, 0x86])
    }

    func testAStaticNameIsAnIndexedNameLiteral() {
        // Literal without indexing (0000), name index 31 (15 + 16 on a 4-bit prefix), 16 octets.
        XCTAssertEqual(encode([HeaderField("content-type", "application/grpc")]),
                       [0x0f, 0x10, 0x10] + Array("application/grpc".utf8))
        XCTAssertEqual(encode([HeaderField(":status", "415")]), [0x08, 0x03] + Array("415".utf8))
    }

    func testANewNameIsALiteralNameAndValue() {
        XCTAssertEqual(encode([HeaderField("grpc-status", "0")]), [0x00, 0x0b] + Array("grpc-status".utf8) + [0x01, 0x30])
    }

    func testALongValueHasAMultiOctetLength() {
        let value = String(repeating: "m", count: 200)
        XCTAssertEqual(encode([HeaderField("grpc-message", value)]),
                       [0x00, 0x0c] + Array("grpc-message".utf8) + [0x7f, 0x49] + Array(value.utf8))
    }

    func testEncodingAppends() {
        var out: [UInt8] = [0xaa]
        HPACKEncoder.encode([HeaderField(":status", "200")], into: &out)
        XCTAssertEqual(out, [0xaa, 0x88])
    }

    func testRoundTripThroughTheDecoderInsertsNothing() throws {
        let fields = [
            HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"),
            HeaderField("grpc-accept-encoding", "identity"), HeaderField("grpc-status", "13"),
            HeaderField("grpc-message", "caf\u{E9} %E2%9C%93 " + String(repeating: "x", count: 300)),
            HeaderField("accept-encoding", "gzip, deflate"), HeaderField("x-empty", ""), HeaderField("", ""),
        ]
        var decoder = HPACKDecoder()
        for _ in 0..<2 {
            let list = try decoder.decode(encode(fields)[...], maxHeaderListSize: 16_384)
            XCTAssertEqual(list, HeaderList(fields: fields, exceededMaxSize: false))
            XCTAssertEqual(decoder.dynamicFields, [])
        }
    }
}
