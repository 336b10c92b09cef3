import TopologyWire

/// A TopologyUpdate as the seed runtime's event stream writes it (Michael--/modular-runtime,
/// `apps/topology/src/topology-proxy.ts`: `JSON.stringify` of the object ts-proto decoded), so its
/// dashboard reads this server's `/events` as its own: the seed's fields only, in field-number order,
/// camelCase; enums as numbers; 64-bit integers as decimal strings; non-optional fields always
/// present, even at their defaults; unset optional fields and messages left out; numbers as
/// JavaScript writes them. The fields this server adds (numbers 20 and up) are not written: the
/// seed's decoder drops them, so its JSON never has them.
enum SeedEventJSON {
    /// nil for what the seed has no event for (PROGRESS, which its dashboard would not know).
    static func encode(_ update: TopologyUpdate) -> [UInt8]? {
        guard update.type != .progress else { return nil }
        var out = Writer()
        out.object {
            $0.number("type", Int64(update.type.rawValue))
            if let node = update.node { $0.key("node"); $0.node(node) }
            if let edge = update.edge { $0.key("edge"); $0.edge(edge) }
            if let snapshot = update.snapshot { $0.key("snapshot"); $0.snapshot(snapshot) }
        }
        return out.bytes
    }

    private struct Writer {
        var bytes: [UInt8] = []
        private var first = true

        mutating func object(_ body: (inout Writer) -> Void) {
            bytes.append(UInt8(ascii: "{"))
            first = true
            body(&self)
            bytes.append(UInt8(ascii: "}"))
            first = false
        }

        mutating func key(_ name: String) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            JSONText.appendQuoted(name, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
        }

        mutating func string(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONText.appendQuoted(value, to: &bytes, shortEscapes: true)
        }

        mutating func number(_ name: String, _ value: Int64) {
            key(name)
            bytes += String(value).utf8
        }

        /// int64 and uint64: decimal strings (ts-proto's `forceLong=string`).
        mutating func longString(_ name: String, _ value: String) {
            key(name)
            bytes.append(UInt8(ascii: "\""))
            bytes += value.utf8
            bytes.append(UInt8(ascii: "\""))
        }

        mutating func double(_ name: String, _ value: Double) {
            key(name)
            bytes += JSONText.javaScriptNumber(value).utf8
        }

        mutating func snapshot(_ snapshot: TopologySnapshot) {
            object {
                $0.key("nodes")
                $0.array(snapshot.nodes) { $0.node($1) }
                $0.key("edges")
                $0.array(snapshot.edges) { $0.edge($1) }
                $0.longString("timestampMs", String(snapshot.timestampMs))
            }
        }

        mutating func array<T>(_ values: [T], _ element: (inout Writer, T) -> Void) {
            bytes.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                element(&self, value)
            }
            bytes.append(UInt8(ascii: "]"))
            first = false
        }

        mutating func node(_ node: ServiceNode) {
            object {
                $0.string("serviceId", node.serviceId)
                $0.string("serviceName", node.serviceName)
                $0.number("serviceType", Int64(node.serviceType.rawValue))
                $0.number("language", Int64(node.language.rawValue))
                $0.string("version", node.version)
                $0.string("address", node.address)
                $0.string("host", node.host)
                if let metadata = node.metadata { $0.key("metadata"); $0.metadata(metadata) }
                $0.number("state", Int64(node.state.rawValue))
                $0.longString("lastHeartbeatMs", String(node.lastHeartbeatMs))
                $0.longString("lastActivityMs", String(node.lastActivityMs))
                $0.number("health", Int64(node.health.rawValue))
            }
        }

        mutating func metadata(_ metadata: ServiceMetadata) {
            object {
                $0.string("region", metadata.region)
                $0.string("environment", metadata.environment)
                $0.string("team", metadata.team)
                $0.string("versionHash", metadata.versionHash)
                $0.string("serviceInterface", metadata.serviceInterface)
                $0.string("serviceRole", metadata.serviceRole)
                $0.string("programName", metadata.programName)
            }
        }

        mutating func edge(_ edge: ServiceEdge) {
            object {
                $0.string("sourceServiceId", edge.sourceServiceId)
                $0.string("targetService", edge.targetService)
                $0.number("state", Int64(edge.state.rawValue))
                $0.longString("lastActivityMs", String(edge.lastActivityMs))
                $0.longString("totalRequests", String(edge.totalRequests))
                $0.longString("totalErrors", String(edge.totalErrors))
                $0.double("avgLatencyMs", edge.avgLatencyMs)
                $0.double("rps", edge.rps)
            }
        }
    }
}
