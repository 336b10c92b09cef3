import TopologyCore
import TopologyWire

/// A heartbeat as the dispatcher takes it, whichever decoder read it: the fast path
/// (`HeartbeatFrame`, the service id already parsed) or the general one (`Frame`). Both make this
/// value, and one path handles it.
public struct HeartbeatInput {
    /// The service id: parsed by the fast path, as sent by the general one (which the core parses,
    /// so that its answer for an id in another spelling stays what it was).
    public enum Service {
        case key(ServiceKey)
        case text(String)

        public var text: String {
            switch self {
            case .key(let key): key.text
            case .text(let text): text
            }
        }
    }

    public var callId: UInt64
    public var endOfStream: Bool
    public var service: Service
    public var sequence: Int64
    public var metrics: ServiceMetrics?
    public var health: ApplicationHealth?

    public init(_ frame: HeartbeatFrame) {
        callId = frame.callId
        endOfStream = frame.endOfStream
        service = .key(ServiceKey(high: frame.serviceIdHigh, low: frame.serviceIdLow))
        sequence = frame.sequence
        metrics = frame.metrics
        health = frame.health
    }

    public init(callId: UInt64, endOfStream: Bool, request: HeartbeatRequest) {
        self.callId = callId
        self.endOfStream = endOfStream
        service = .text(request.serviceId)
        sequence = request.sequence
        metrics = request.metrics
        health = request.health
    }
}
