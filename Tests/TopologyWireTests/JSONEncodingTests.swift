@testable import TopologyWire
import XCTest

/// The exact bytes of the proto3 JSON writer's string escaping (the interop tests compare parsed
/// values with the official library's; these pin the text itself).
final class JSONEncodingTests: XCTestCase {
    func testStringsAreEscapedOnlyWhereJSONRequires() {
        var metadata = ServiceMetadata()
        metadata.region = "q\"b\\s/\n\r\t\u{01}\u{0f}\u{10}\u{1f}\u{7f}é😀"
        metadata.team = ""
        XCTAssertEqual(metadata.jsonString(),
                       #"{"region":"q\"b\\s/\n\r\t\u0001\u000f\u0010\u001f"# + "\u{7f}é😀" + #"","team":""}"#)
        XCTAssertEqual(metadata.jsonUTF8(), Array(metadata.jsonString().utf8))
    }

    func testNumbersEnumsAndNesting() {
        var node = ServiceNode()
        node.serviceName = "a"
        node.lastHeartbeatMs = -5
        node.state = .active
        node.metadata = ServiceMetadata()
        XCTAssertEqual(node.jsonString(),
                       #"{"serviceName":"a","metadata":{},"state":"SERVICE_STATE_ACTIVE","lastHeartbeatMs":"-5"}"#)
    }
}
