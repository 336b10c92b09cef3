import TopologyWire

/// A Status code as the Connect protocol names it (connectrpc.com/docs/protocol, "Error Codes"), with
/// the HTTP status of a unary error response. The names are gRPC's in snake_case, but for
/// `canceled` (one l). The HTTP statuses are the current specification's, as connect-go writes
/// them since 2023 (canceled 499, deadline_exceeded 504, failed_precondition 400, unimplemented
/// 501; it wrote 408, 408, 412 and 404 before).
public struct ConnectErrorCode: Equatable, Sendable {
    /// `invalid_argument`.
    public let name: String
    /// The status of a unary response carrying this error; streaming responses are always 200.
    public let httpStatus: Int

    /// Indexed by Status code number 1...16; OK (0) is no error.
    private static let table: [ConnectErrorCode] = [
        .init(name: "canceled", httpStatus: 499),
        .init(name: "unknown", httpStatus: 500),
        .init(name: "invalid_argument", httpStatus: 400),
        .init(name: "deadline_exceeded", httpStatus: 504),
        .init(name: "not_found", httpStatus: 404),
        .init(name: "already_exists", httpStatus: 409),
        .init(name: "permission_denied", httpStatus: 403),
        .init(name: "resource_exhausted", httpStatus: 429),
        .init(name: "failed_precondition", httpStatus: 400),
        .init(name: "aborted", httpStatus: 409),
        .init(name: "out_of_range", httpStatus: 400),
        .init(name: "unimplemented", httpStatus: 501),
        .init(name: "internal", httpStatus: 500),
        .init(name: "unavailable", httpStatus: 503),
        .init(name: "data_loss", httpStatus: 500),
        .init(name: "unauthenticated", httpStatus: 401),
    ]

    private init(name: String, httpStatus: Int) {
        self.name = name
        self.httpStatus = httpStatus
    }

    /// The Connect code of an error status. OK is not an error, and a number Connect does not
    /// define becomes `unknown`, as connect-go does.
    public init(_ code: StatusCode) {
        precondition(code != .ok, "OK is not an error: a Connect error needs a failing status")
        let index = Int(code.rawValue) - 1
        self = index >= 0 && index < Self.table.count ? Self.table[index] : Self.table[Int(StatusCode.unknown.rawValue) - 1]
    }
}
