import TopologyCore
import TopologyWire

/// The answer to one OTLP trace export, whichever transport carried it (OTLP/HTTP on the HTTP port,
/// OTLP/gRPC on the frames port), which each turns into its own status.
public enum OTLPExport: Equatable {
    /// Taken; the response says how many spans were refused and why (OTLP's partial success).
    case accepted(OTLPTraceResponse)
    /// The body is no trace request: refused whole, not to be retried (HTTP 400, INVALID_ARGUMENT).
    case invalid(String)
    /// Over `--otlp-max-spans-per-second`: refused whole, to be retried after this many seconds
    /// (HTTP 429 with Retry-After, gRPC UNAVAILABLE).
    case throttled(retryAfterSeconds: Int, message: String)

    /// The OTLP/HTTP path.
    public static let httpPath = "/v1/traces"
    /// The OTLP/gRPC method's path.
    public static let grpcPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
}

extension RPCDispatcher {
    /// Decodes an OTLP trace request (`json`: the OTLP JSON encoding, else protobuf) and hands its
    /// spans to the core (`Topology.ingest`): the one path of both OTLP transports, with its limits
    /// (`otlpLimits`, the span rate) and counters here, as for the RPCs.
    public mutating func exportTraces(_ body: [UInt8], json: Bool, transport: String, peer: String,
                                      topology: inout Topology) -> OTLPExport {
        let request: OTLPTraceRequest
        do {
            request = json ? try OTLPTraceRequest(json: body, limits: configuration.otlpLimits)
                           : try OTLPTraceRequest(protobuf: body, limits: configuration.otlpLimits)
        } catch {
            count(transport, "invalid")
            log.info("otlp request refused", ["peer": peer, "transport": transport, "reason": "\(error)"])
            return .invalid("\(error)")
        }
        let spans = request.spanCount
        let now = clock.nowMs()
        if let wait = spanBudget.take(spans, rate: configuration.otlpMaxSpansPerSecond, nowMs: now) {
            count(transport, "throttled")
            metrics.otlpSpans["refused", default: 0] += spans
            return .throttled(retryAfterSeconds: wait, message:
                "over this server's OTLP span rate of \(configuration.otlpMaxSpansPerSecond) spans/s "
                + "(\(configuration.limitFlag("otlpMaxSpansPerSecond") ?? "otlpMaxSpansPerSecond")): retry in \(wait) s")
        }
        let result = topology.ingest(request, now: now)
        count(transport, "ok")
        metrics.otlpSpans["accepted", default: 0] += result.acceptedSpans
        metrics.otlpSpans["rejected", default: 0] += result.rejectedSpans
        guard result.rejectedSpans > 0 else { return .accepted(OTLPTraceResponse()) }
        return .accepted(OTLPTraceResponse(partialSuccess: OTLPPartialSuccess(
            rejectedSpans: Int64(result.rejectedSpans),
            errorMessage: result.firstRejection?.status(limitFlag: configuration.limitFlag).message ?? "")))
    }

    private mutating func count(_ transport: String, _ result: String) {
        metrics.otlpRequests[ServerMetrics.OTLPRequestKey(transport: transport, result: result), default: 0] += 1
    }
}
