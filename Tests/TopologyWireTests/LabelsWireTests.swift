@testable import TopologyWire
import XCTest

/// `map<string, string> labels`: entries on the wire (key = 1, value = 2, both always written, in
/// key byte order), last-wins decoding, and the JSON object form in both directions.
final class LabelsWireTests: XCTestCase {
    private let options = JSONDecodingOptions(maximumSize: 1 << 16)

    func testEntriesAreMessagesInKeyByteOrder() {
        // "Z" (5a) < "a" (61) < "é" (c3 a9): UTF-8 byte order, as the official deterministic encoders.
        assertEncodes(RegisterServiceRequest(labels: ["é": "1", "a": "", "Z": "2"]), to: """
            aa01 06 0a015a 120132
            aa01 05 0a0161 1200
            aa01 07 0a02c3a9 120131
            """)
        assertEncodes(ServiceNode(labels: ["team": "payments"]), to: "ba01 10 0a047465616d 12087061796d656e7473")
        assertEncodes(TopologyQuery(labelSelectors: ["team=payments", "canary"]),
                      to: "c2010d 7465616d3d7061796d656e7473 c20106 63616e617279")
    }

    func testNoLabelsWriteNothing() {
        assertEncodes(RegisterServiceRequest(labels: [:]), to: "")
        assertEncodes(ServiceNode(), to: "")
    }

    func testKeyGivenTwiceKeepsTheLastValueAndMissingFieldsAreEmpty() throws {
        let decoded = try RegisterServiceRequest(serializedBytes: bytes("""
            aa01 0a 0a047465616d 1202 7878
            aa01 06 0a047465616d
            aa01 04 1202 7676
            aa01 0b 1202 7631 0a05 747261636b
            """))
        XCTAssertEqual(decoded.labels, ["team": "", "": "vv", "track": "v1"])
    }

    func testAnEntryIsBoundedByItsOwnLength() {
        assertDecodingFails(RegisterServiceRequest.self, "aa0104 0a06 616263646566",
                            with: .truncated(offset: 4, needed: 6, available: 2))
        assertDecodingFails(RegisterServiceRequest.self, "aa0105 0a0180 1200",
                            with: .invalidUTF8(field: 1, offset: 3))
        // An entry of another wire type is an unknown field, skipped as the official parsers do.
        XCTAssertEqual(try RegisterServiceRequest(serializedBytes: bytes("a80107")), RegisterServiceRequest())
    }

    /// 50,000 distinct keys in reverse order decode in time proportional to the input: entries go
    /// into a dictionary, not a sorted array that each one would shift.
    func testManyKeysDecodeInOnePass() throws {
        var input: [UInt8] = []
        let count = 50_000
        for index in (0..<count).reversed() {
            let key = Array(String(index).utf8)
            input += [0xaa, 0x01, UInt8(2 + key.count), 0x0a, UInt8(key.count)] + key
        }
        let decoded = try RegisterServiceRequest(serializedBytes: input)
        XCTAssertEqual(decoded.labels.count, count)
        XCTAssertEqual(decoded.labels["49999"], "")
    }

    func testJSONIsAnObjectInKeyOrder() throws {
        let node = ServiceNode(serviceName: "n", labels: ["tier": "web", "app": "shop\"1\"", "é": ""])
        XCTAssertEqual(node.jsonString(), #"{"serviceName":"n","labels":{"app":"shop\"1\"","tier":"web","é":""}}"#)
        let request = try RegisterServiceRequest(
            jsonUTF8: Array(#"{"serviceName":"n","labels":{"tier":"web","":"x"}}"#.utf8), options: options)
        XCTAssertEqual(request, RegisterServiceRequest(serviceName: "n", labels: ["tier": "web", "": "x"]))
        XCTAssertEqual(try RegisterServiceRequest(jsonUTF8: Array(#"{"labels":null}"#.utf8), options: options),
                       RegisterServiceRequest())
        let query = try TopologyQuery(jsonUTF8: Array(#"{"label_selectors":["a=b","c"]}"#.utf8), options: options)
        XCTAssertEqual(query.labelSelectors, ["a=b", "c"])
    }

    func testJSONLabelsThatAreNotAnObjectOfStringsAreRefusedWithTheirPath() {
        func assertFails(_ text: String, _ expected: JSONDecodingError, line: UInt = #line) {
            XCTAssertThrowsError(try RegisterServiceRequest(jsonUTF8: Array(text.utf8), options: options), line: line) {
                XCTAssertEqual($0 as? JSONDecodingError, expected, line: line)
            }
        }
        assertFails(#"{"labels":{"team":null}}"#,
                    .wrongType(path: "registerServiceRequest.labels.team", expected: "a string", found: "null"))
        assertFails(#"{"labels":{"n":1}}"#,
                    .wrongType(path: "registerServiceRequest.labels.n", expected: "a string", found: "a number"))
        assertFails(#"{"labels":[["k","v"]]}"#,
                    .wrongType(path: "registerServiceRequest.labels", expected: "an object", found: "an array"))
        assertFails(#"{"labels":{"k":"a","k":"b"}}"#, .syntax(.duplicateKey("k", offset: 19)))
    }
}
