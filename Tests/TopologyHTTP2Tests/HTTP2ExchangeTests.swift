import XCTest
@testable import TopologyHTTP2

/// A whole gRPC call as grpc-go makes it, by hand: what its client writes (preface, SETTINGS, a
/// connection WINDOW_UPDATE, HEADERS with Huffman strings and incremental indexing, DATA with the
/// 5-byte message prefix, a bandwidth-probe PING) and the server's answer: response headers, the
/// message, trailers. A second call refers to the first's entries in the dynamic table.
final class HTTP2ExchangeTests: XCTestCase {
    private let path = "/runtime.v1.TopologyService/GetTopology"

    /// Literals with incremental indexing (RFC 7541 §6.2.1), the name a static entry's or a
    /// literal; strings Huffman-coded, as Go's hpack encoder writes them.
    private func indexed(_ nameIndex: UInt8, _ value: String) -> [UInt8] {
        [0x40 | nameIndex] + huffmanLiteral(Array(value.utf8))
    }

    private func indexed(_ name: String, _ value: String) -> [UInt8] {
        [0x40] + huffmanLiteral(Array(name.utf8)) + huffmanLiteral(Array(value.utf8))
    }

    private var firstHeaders: [UInt8] {
        [0x83, 0x86] + indexed(4, path) + indexed(1, "127.0.0.1:50053") + indexed(31, "application/grpc")
            + indexed(58, "grpc-go/1.64.0") + indexed("te", "trailers") + indexed("grpc-timeout", "4999904u")
    }

    /// Dynamic entries, newest first: grpc-timeout 62, te 63, user-agent 64, content-type 65,
    /// :authority 66, :path 67. The new timeout is indexed under the name of entry 62.
    private var secondHeaders: [UInt8] {
        [0x83, 0x86, 0x80 | 67, 0x80 | 66, 0x80 | 65, 0x80 | 64, 0x80 | 63, 0x40 | 62] + huffmanLiteral(Array("4999000u".utf8))
    }

    private func expectedRequest(timeout: String) -> [HeaderField] {
        [HeaderField(":method", "POST"), HeaderField(":scheme", "http"), HeaderField(":path", path),
         HeaderField(":authority", "127.0.0.1:50053"), HeaderField("content-type", "application/grpc"),
         HeaderField("user-agent", "grpc-go/1.64.0"), HeaderField("te", "trailers"), HeaderField("grpc-timeout", timeout)]
    }

    /// An empty GetTopologyRequest: uncompressed flag 0, length 0.
    private let message: [UInt8] = [0, 0, 0, 0, 0]

    private var clientBytes: [UInt8] {
        HTTP2Connection.clientPreface + [
            HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.maxHeaderListSize, 16_384)])),
            HTTP2Frame(stream: 0, .windowUpdate(increment: 983_041)),
            HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: firstHeaders, endStream: false, endHeaders: true))),
            HTTP2Frame(stream: 1, .data(message, endStream: true)),
            HTTP2Frame(stream: 0, .settingsAck),
            HTTP2Frame(stream: 0, .ping(opaqueData: 0x0102_0304_0506_0708, ack: false)),
            HTTP2Frame(stream: 3, .headers(HTTP2HeadersPayload(fieldBlock: secondHeaders, endStream: false, endHeaders: true))),
            HTTP2Frame(stream: 3, .data(message, endStream: true)),
        ].flatMap(\.encoded)
    }

    func testGrpcGoStyleCallsHoweverTheBytesArrive() {
        let ways = chunkings(of: clientBytes)
        for chunks in ways {
            var connection = HTTP2Connection()
            var events: [HTTP2Event] = []
            for chunk in chunks { events += connection.receive(chunk, now: 0) }
            XCTAssertEqual(events, [
                .request(stream: 1, headers: expectedRequest(timeout: "4999904u"), endStream: false),
                .data(stream: 1, bytes: message, endStream: true),
                .request(stream: 3, headers: expectedRequest(timeout: "4999000u"), endStream: false),
                .data(stream: 3, bytes: message, endStream: true),
            ])
            // The answer: headers, one message (a topology of 3 bytes), trailers.
            let reply: [UInt8] = [0, 0, 0, 0, 3, 0x0a, 0x01, 0x41]
            for stream: UInt32 in [1, 3] {
                connection.sendHeaders([HeaderField(":status", "200"), HeaderField("content-type", "application/grpc")], stream: stream, endStream: false)
                connection.sendData(reply, stream: stream, endStream: false)
                connection.sendTrailers([HeaderField("grpc-status", "0")], stream: stream)
            }
            let written = connection.takeOutbound()
            let serverPreface = HTTP2Frame(stream: 0, .settings([HTTP2Setting(3, 100), HTTP2Setting(4, 1 << 20), HTTP2Setting(5, 16_384), HTTP2Setting(6, 16_384)])).encoded
                + HTTP2Frame(stream: 0, .windowUpdate(increment: (1 << 20) - 65_535)).encoded
            let responseHeaders = { (stream: String) in bytes("000014 01 04 0000000\(stream) 88 0f10 10" + hex(Array("application/grpc".utf8))) }
            // grpc-status: literal name (not in the static table), no indexing, no Huffman.
            let trailers = { (stream: String) in bytes("00000f 01 05 0000000\(stream) 00 0b" + hex(Array("grpc-status".utf8)) + "01 30") }
            let expected = serverPreface
                + bytes("000000 04 01 00000000")                        // SETTINGS ACK
                + bytes("000008 06 01 00000000 0102030405060708")       // PING ACK, same payload
                + responseHeaders("1") + responseHeaders("3")
                + bytes("000008 00 00 00000001") + reply + bytes("000008 00 00 00000003") + reply
                + trailers("1") + trailers("3")
            XCTAssertEqual(hex(written), hex(expected))
            XCTAssertEqual(connection.openStreamCount, 0)
            XCTAssertFalse(connection.isClosed)
        }
    }
}
