/// The unit of the transport: every length-prefixed message on a connection, in both directions, is
/// a Frame. `callID` ties the frames of one call together; 0 is the connection itself.
public struct Frame: WireMessage {
    public static let protoMessageName = "runtime.v1.Frame"

    /// The `oneof message` of the schema: which RPC message this frame carries, if any.
    ///
    /// The two members that hold whole graphs are `indirect` (boxed): inline they would make every
    /// Frame, heartbeats included, over 500 bytes to copy.
    public enum Message: Equatable, Sendable {
        case registerServiceRequest(RegisterServiceRequest)
        case registerServiceResponse(RegisterServiceResponse)
        case heartbeatRequest(HeartbeatRequest)
        case heartbeatResponse(HeartbeatResponse)
        case reportActivityRequest(ReportActivityRequest)
        case reportActivityResponse(ReportActivityResponse)
        case unregisterServiceRequest(UnregisterServiceRequest)
        case unregisterServiceResponse(UnregisterServiceResponse)
        case getTopologyRequest(GetTopologyRequest)
        indirect case getTopologyResponse(GetTopologyResponse)
        case watchTopologyRequest(WatchTopologyRequest)
        indirect case watchTopologyResponse(WatchTopologyResponse)
        case authenticateRequest(AuthenticateRequest)
        case authenticateResponse(AuthenticateResponse)
    }

    /// The field numbers of the members that `PreencodedFrame` writes.
    public static let heartbeatResponseField = 13
    public static let watchTopologyResponseField = 21

    public var callId: UInt64 = 0
    public var endOfStream: Bool = false
    public var status: Status? = nil
    public var message: Message? = nil

    public init() {}

    public init(callId: UInt64, endOfStream: Bool = false, status: Status? = nil, message: Message? = nil) {
        self.callId = callId
        self.endOfStream = endOfStream
        self.status = status
        self.message = message
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.uint64(callId, FieldID(1, "callId"))
        visitor.bool(endOfStream, FieldID(2, "endOfStream"))
        visitor.message(status, FieldID(3, "status"))
        // A oneof member is present whenever it is set, even to an empty message.
        switch message {
        case nil: break
        case let .registerServiceRequest(m)?: visitor.visitMessage(m, field: FieldID(10, "registerServiceRequest"))
        case let .registerServiceResponse(m)?: visitor.visitMessage(m, field: FieldID(11, "registerServiceResponse"))
        case let .heartbeatRequest(m)?: visitor.visitMessage(m, field: FieldID(12, "heartbeatRequest"))
        case let .heartbeatResponse(m)?: visitor.visitMessage(m, field: FieldID(13, "heartbeatResponse"))
        case let .reportActivityRequest(m)?: visitor.visitMessage(m, field: FieldID(14, "reportActivityRequest"))
        case let .reportActivityResponse(m)?: visitor.visitMessage(m, field: FieldID(15, "reportActivityResponse"))
        case let .unregisterServiceRequest(m)?: visitor.visitMessage(m, field: FieldID(16, "unregisterServiceRequest"))
        case let .unregisterServiceResponse(m)?: visitor.visitMessage(m, field: FieldID(17, "unregisterServiceResponse"))
        case let .getTopologyRequest(m)?: visitor.visitMessage(m, field: FieldID(18, "getTopologyRequest"))
        case let .getTopologyResponse(m)?: visitor.visitMessage(m, field: FieldID(19, "getTopologyResponse"))
        case let .watchTopologyRequest(m)?: visitor.visitMessage(m, field: FieldID(20, "watchTopologyRequest"))
        case let .watchTopologyResponse(m)?: visitor.visitMessage(m, field: FieldID(21, "watchTopologyResponse"))
        case let .authenticateRequest(m)?: visitor.visitMessage(m, field: FieldID(22, "authenticateRequest"))
        case let .authenticateResponse(m)?: visitor.visitMessage(m, field: FieldID(23, "authenticateResponse"))
        }
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&callId)
        case 2: return try decoder.decode(&endOfStream)
        case 3: return try decoder.decode(&status)
        case 10: return try decodeMember(&decoder, Message.registerServiceRequest) {
            if case let .registerServiceRequest(m) = $0 { m } else { nil } }
        case 11: return try decodeMember(&decoder, Message.registerServiceResponse) {
            if case let .registerServiceResponse(m) = $0 { m } else { nil } }
        case 12: return try decodeMember(&decoder, Message.heartbeatRequest) {
            if case let .heartbeatRequest(m) = $0 { m } else { nil } }
        case 13: return try decodeMember(&decoder, Message.heartbeatResponse) {
            if case let .heartbeatResponse(m) = $0 { m } else { nil } }
        case 14: return try decodeMember(&decoder, Message.reportActivityRequest) {
            if case let .reportActivityRequest(m) = $0 { m } else { nil } }
        case 15: return try decodeMember(&decoder, Message.reportActivityResponse) {
            if case let .reportActivityResponse(m) = $0 { m } else { nil } }
        case 16: return try decodeMember(&decoder, Message.unregisterServiceRequest) {
            if case let .unregisterServiceRequest(m) = $0 { m } else { nil } }
        case 17: return try decodeMember(&decoder, Message.unregisterServiceResponse) {
            if case let .unregisterServiceResponse(m) = $0 { m } else { nil } }
        case 18: return try decodeMember(&decoder, Message.getTopologyRequest) {
            if case let .getTopologyRequest(m) = $0 { m } else { nil } }
        case 19: return try decodeMember(&decoder, Message.getTopologyResponse) {
            if case let .getTopologyResponse(m) = $0 { m } else { nil } }
        case 20: return try decodeMember(&decoder, Message.watchTopologyRequest) {
            if case let .watchTopologyRequest(m) = $0 { m } else { nil } }
        case 21: return try decodeMember(&decoder, Message.watchTopologyResponse) {
            if case let .watchTopologyResponse(m) = $0 { m } else { nil } }
        case 22: return try decodeMember(&decoder, Message.authenticateRequest) {
            if case let .authenticateRequest(m) = $0 { m } else { nil } }
        case 23: return try decodeMember(&decoder, Message.authenticateResponse) {
            if case let .authenticateResponse(m) = $0 { m } else { nil } }
        default: return false
        }
    }

    /// Decodes one oneof member: merged into the same member if it came before, replacing any other.
    private mutating func decodeMember<M: WireMessage>(
        _ decoder: inout BinaryDecoder, _ wrap: (M) -> Message, _ unwrap: (Message?) -> M?
    ) throws -> Bool {
        guard let decoded = try decoder.decodeOneofMessage(unwrap(message)) else { return false }
        message = wrap(decoded)
        return true
    }
}
