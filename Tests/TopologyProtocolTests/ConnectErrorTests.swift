@testable import TopologyProtocol
import TopologyWire
import XCTest

/// The Connect error body, its code table and the end-of-stream message, byte for byte.
final class ConnectErrorTests: XCTestCase {
    func testEveryStatusCodeHasItsConnectNameAndHTTPStatus() {
        let expected: [(StatusCode, String, Int)] = [
            (.cancelled, "canceled", 499), (.unknown, "unknown", 500), (.invalidArgument, "invalid_argument", 400),
            (.deadlineExceeded, "deadline_exceeded", 504), (.notFound, "not_found", 404),
            (.alreadyExists, "already_exists", 409), (.permissionDenied, "permission_denied", 403),
            (.resourceExhausted, "resource_exhausted", 429), (.failedPrecondition, "failed_precondition", 400),
            (.aborted, "aborted", 409), (.outOfRange, "out_of_range", 400), (.unimplemented, "unimplemented", 501),
            (.internal, "internal", 500), (.unavailable, "unavailable", 503), (.dataLoss, "data_loss", 500),
            (.unauthenticated, "unauthenticated", 401),
        ]
        XCTAssertEqual(expected.count, 16)
        for (code, name, httpStatus) in expected {
            XCTAssertEqual(ConnectErrorCode(code).name, name, "\(code)")
            XCTAssertEqual(ConnectErrorCode(code).httpStatus, httpStatus, "\(code)")
        }
    }

    func testCodesConnectDoesNotDefineAreUnknown() {
        for raw: Int32 in [17, 99, -1, Int32.max, Int32.min] {
            XCTAssertEqual(ConnectErrorCode(StatusCode(rawValue: raw)), ConnectErrorCode(.unknown), "\(raw)")
        }
    }

    func testErrorJSON() {
        let error = ConnectError(Status(code: .invalidArgument, message: "serviceName is empty"))
        XCTAssertEqual(error.jsonString(), #"{"code":"invalid_argument","message":"serviceName is empty"}"#)
        // The message is escaped as JSON requires, and left out when empty.
        XCTAssertEqual(ConnectError(Status(code: .notFound, message: "no \"x\"\n\u{1}é")).jsonString(),
                       #"{"code":"not_found","message":"no \"x\"\n\u0001é"}"#)
        XCTAssertEqual(ConnectError(Status(code: .internal, message: "")).jsonString(), #"{"code":"internal"}"#)
    }

    func testEndOfStreamMessage() throws {
        XCTAssertEqual(ConnectEndOfStream(Status(code: .ok, message: "")).jsonString(), "{}")
        let failed = ConnectEndOfStream(Status(code: .resourceExhausted, message: "too many watchers"))
        XCTAssertEqual(failed.jsonString(), #"{"error":{"code":"resource_exhausted","message":"too many watchers"}}"#)
        let json = Array(#"{"error":{"code":"resource_exhausted","message":"too many watchers"}}"#.utf8)
        XCTAssertEqual(failed.envelope, [0x02, 0, 0, 0, UInt8(json.count)] + json)
        XCTAssertEqual(ConnectEndOfStream(Status(code: .ok, message: "")).envelope, [0x02, 0, 0, 0, 2, UInt8(ascii: "{"), UInt8(ascii: "}")])
    }

    func testErrorMessagesSurviveTheBinaryRoundTrip() throws {
        let end = ConnectEndOfStream(Status(code: .unavailable, message: "draining"))
        XCTAssertEqual(try ConnectEndOfStream(serializedBytes: end.serializedBytes()), end)
    }
}
