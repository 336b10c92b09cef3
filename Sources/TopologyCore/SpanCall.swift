import TopologyWire

/// What one span says about calls, read in one pass over its attributes: the peer a CLIENT or
/// PRODUCER span called, the method, and whether it failed. The attribute rules are the
/// OpenTelemetry semantic conventions the Collector's servicegraph connector and Tempo read;
/// docs/opentelemetry.md lists them for users.
struct SpanCall {
    /// The peer, by the first rule that applies (see `peer`); nil for a span that names none.
    var peer: String?
    /// `rpc.method`, else the span's name.
    var method: String
    var isError: Bool
    /// end - start, in milliseconds; 0 when the end is before the start (a clock step).
    var latencyMs: Double

    /// Whether a span of this kind is a call made by its service (OTel: CLIENT and PRODUCER).
    static func isOutgoing(_ kind: OTLPSpanKind) -> Bool {
        kind == .client || kind == .producer
    }

    init(_ span: OTLPSpan) {
        var peerService: String?, serverAddress: String?, serverPort: Int64?, rpcService: String?
        var rpcMethod: String?, dbSystem: String?, dbName: String?, destination: String?
        for attribute in span.attributes {
            switch attribute.key {
            case "peer.service": peerService = attribute.value.string
            case "server.address": serverAddress = attribute.value.string
            case "server.port": serverPort = attribute.value.int
            case "rpc.service": rpcService = attribute.value.string
            case "rpc.method": rpcMethod = attribute.value.string
            case "db.system": dbSystem = attribute.value.string
            case "db.name": dbName = attribute.value.string
            case "messaging.destination.name": destination = attribute.value.string
            default: break
            }
        }
        peer = Self.peer(peerService: peerService, serverAddress: serverAddress, serverPort: serverPort,
                         rpcService: rpcService, dbSystem: dbSystem, dbName: dbName, destination: destination)
        method = rpcMethod.flatMap { $0.isEmpty ? nil : $0 } ?? span.name
        isError = span.status?.code == .error
        latencyMs = span.endTimeUnixNano > span.startTimeUnixNano
            ? Double(span.endTimeUnixNano - span.startTimeUnixNano) / 1_000_000 : 0
    }

    /// The order, first match wins (empty values do not match):
    /// 1. `peer.service`: the caller's own name for the peer, the most deliberate;
    /// 2. `server.address`, with `:server.port` when given: where the call went;
    /// 3. `rpc.service`: the gRPC/RPC service called (`shop.Orders`);
    /// 4. `db.system`, with `/db.name` when given: a database (`postgresql/orders`);
    /// 5. `messaging.destination.name`: the queue or topic a PRODUCER wrote to.
    static func peer(peerService: String?, serverAddress: String?, serverPort: Int64?, rpcService: String?,
                     dbSystem: String?, dbName: String?, destination: String?) -> String? {
        func present(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
        if let name = present(peerService) { return name }
        if let address = present(serverAddress) { return serverPort.map { "\(address):\($0)" } ?? address }
        if let service = present(rpcService) { return service }
        if let system = present(dbSystem) { return present(dbName).map { "\(system)/\($0)" } ?? system }
        return present(destination)
    }
}
