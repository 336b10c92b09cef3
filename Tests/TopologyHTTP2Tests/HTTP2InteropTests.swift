import Foundation
import XCTest
@testable import TopologyHTTP2

/// Calls written by python-hyper's h2 (Schema/http2/h2_client_exchange.json, from
/// scripts/generate_http2_vectors.py): the connection reads them however the bytes arrive, and
/// answers with exactly the bytes the file pins, which Tests/interop/test_http2_vectors.py has h2
/// read back.
final class HTTP2InteropTests: XCTestCase {
    struct Request: Decodable {
        var stream: UInt32
        var headers: [[String]]
        var body_hex: String
    }

    struct Response: Decodable {
        var stream: UInt32
        var headers: [[String]]?
        var body_hex: String?
        var trailers: [[String]]?
        var trailers_only: [[String]]?
    }

    struct Vector: Decodable {
        var client_hex: String
        var requests: [Request]
        var responses: [Response]
        var server_hex: String
    }

    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/TopologyHTTP2Tests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("Schema/http2/h2_client_exchange.json")

    private func fields(_ pairs: [[String]]) -> [HeaderField] {
        pairs.map { HeaderField($0[0], $0[1]) }
    }

    func testH2ClientCallsAreReadAndAnsweredWithThePinnedBytes() throws {
        let vector = try JSONDecoder().decode(Vector.self, from: Data(contentsOf: Self.path))
        var expectedEvents: [HTTP2Event] = []
        for request in vector.requests {
            expectedEvents += [.request(stream: request.stream, headers: fields(request.headers), endStream: false),
                               .data(stream: request.stream, bytes: bytes(request.body_hex), endStream: true)]
        }
        for chunks in chunkings(of: bytes(vector.client_hex)) {
            var connection = HTTP2Connection()
            var events: [HTTP2Event] = []
            for chunk in chunks { events += connection.receive(chunk, now: 0) }
            XCTAssertEqual(events, expectedEvents)
            for response in vector.responses {
                if let trailersOnly = response.trailers_only {
                    connection.sendHeaders(fields(trailersOnly), stream: response.stream, endStream: true)
                    continue
                }
                connection.sendHeaders(fields(response.headers ?? []), stream: response.stream, endStream: false)
                connection.sendData(bytes(response.body_hex ?? ""), stream: response.stream, endStream: false)
                connection.sendTrailers(fields(response.trailers ?? []), stream: response.stream)
            }
            XCTAssertEqual(hex(connection.takeOutbound()), vector.server_hex,
                           "the answer differs from server_hex in \(Self.path.path): if the change is meant, pin the new bytes there and run Tests/interop/test_http2_vectors.py")
            XCTAssertEqual(connection.openStreamCount, 0)
        }
    }
}
