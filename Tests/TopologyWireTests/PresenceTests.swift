import XCTest
@testable import TopologyWire

/// proto3 presence: implicit fields vanish at their default, `optional` ones keep "set to default".
final class PresenceTests: XCTestCase {
    func testDefaultMessageEncodesToNothing() {
        for type in MessageRegistry.allTypes {
            XCTAssertEqual(type.init().serializedBytes(), [], "\(type.protoMessageName)")
        }
    }

    func testImplicitFieldsAreNotWrittenAtTheirDefault() {
        assertEncodes(RegisterServiceRequest(serviceName: "", serviceType: .unspecified, language: .unspecified), to: "")
        assertEncodes(HeartbeatResponse(sequence: 0, acknowledged: false, serverEpoch: ""), to: "")
    }

    func testOptionalFieldsSetToTheirDefaultAreWritten() {
        assertEncodes(RegisterServiceRequest(version: ""), to: "22 00")
        assertEncodes(ApplicationHealth(errorCount: 0), to: "18 00")
        assertEncodes(ReportActivityRequest(success: false, batchSize: 0), to: "38 00 40 00")
        XCTAssertNotEqual(RegisterServiceRequest(version: ""), RegisterServiceRequest(), "absent differs from empty")
    }

    func testEmptySubmessageIsPresent() {
        assertEncodes(RegisterServiceRequest(metadata: ServiceMetadata()), to: "3a 00")
        assertEncodes(Frame(callId: 0, message: .heartbeatRequest(HeartbeatRequest())), to: "62 00")
    }

    func testNegativeZeroIsNotTheDefault() {
        assertEncodes(ServiceMetrics(cpuPercent: -0.0), to: "09 0000000000000080")
        assertEncodes(ServiceMetrics(cpuPercent: 0.0), to: "")
    }

    func testOpenEnumsKeepUnknownNumbers() throws {
        assertEncodes(ServiceNode(state: ServiceState(rawValue: 42)), to: "48 2a")
        let node = try ServiceNode(serializedBytes: bytes("48 2a"))
        XCTAssertEqual(node.state.rawValue, 42)
        XCTAssertNil(node.state.protoName)
        XCTAssertEqual(node.jsonString(), #"{"state":42}"#)
    }

    func testNonASCIIStringsAreUTF8() {
        assertEncodes(RegisterServiceRequest(serviceName: "zürich-🚀"), to: "0a 0c 7a c3bc 72 69 63 68 2d f09f9a80")
    }
}
