/// A gRPC status code number. A struct with static members rather than an enum, as in grpc-swift:
/// any code a peer sends survives, and adding one breaks no `switch`.
public struct StatusCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let ok = StatusCode(rawValue: 0)
    public static let cancelled = StatusCode(rawValue: 1)
    public static let unknown = StatusCode(rawValue: 2)
    public static let invalidArgument = StatusCode(rawValue: 3)
    public static let deadlineExceeded = StatusCode(rawValue: 4)
    public static let notFound = StatusCode(rawValue: 5)
    public static let alreadyExists = StatusCode(rawValue: 6)
    public static let permissionDenied = StatusCode(rawValue: 7)
    public static let resourceExhausted = StatusCode(rawValue: 8)
    public static let failedPrecondition = StatusCode(rawValue: 9)
    public static let aborted = StatusCode(rawValue: 10)
    public static let outOfRange = StatusCode(rawValue: 11)
    public static let unimplemented = StatusCode(rawValue: 12)
    public static let `internal` = StatusCode(rawValue: 13)
    public static let unavailable = StatusCode(rawValue: 14)
    public static let dataLoss = StatusCode(rawValue: 15)
    public static let unauthenticated = StatusCode(rawValue: 16)

    private static let names = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
        "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]

    /// The gRPC name (`NOT_FOUND`), or the number for a code gRPC does not define.
    public var description: String {
        rawValue >= 0 && Int(rawValue) < Self.names.count ? Self.names[Int(rawValue)] : String(rawValue)
    }
}

/// The outcome of a call, for the server's error replies and the frame that ends a call.
public struct Status: WireMessage {
    public static let protoMessageName = "runtime.v1.Status"

    public var code: Int32 = 0
    /// For people: what was wrong and what to do.
    public var message: String = ""

    public init() {}

    public init(code: StatusCode, message: String) {
        self.code = code.rawValue
        self.message = message
    }

    public var statusCode: StatusCode { StatusCode(rawValue: code) }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.int32(code, FieldID(1, "code"))
        visitor.string(message, FieldID(2, "message"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&code)
        case 2: return try decoder.decode(&message)
        default: return false
        }
    }
}
