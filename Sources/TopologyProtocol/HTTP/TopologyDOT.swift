import TopologyWire

/// A snapshot as a Graphviz DOT digraph (`GET /api/v1/topology.dot`): a node per service, named by
/// its id and labelled with its name and state, a dashed node per called target that resolves to no
/// service, and an edge per caller -> target labelled with its rate and error rate. Every id and
/// label is a quoted string, escaped (`"` and `\`, and line breaks as `\n`), so any service name
/// is safe to feed to `dot`.
enum TopologyDOT {
    static func encode(_ snapshot: TopologySnapshot) -> [UInt8] {
        var out = "digraph topology {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n"
        let ids = Set(snapshot.nodes.map(\.serviceId))
        for node in snapshot.nodes {
            let state = String((node.state.protoName ?? "").dropFirst("SERVICE_STATE_".count))
            out += "  \(quoted(node.serviceId)) [label=\(quoted(node.serviceName + "\n" + state)), fillcolor=\(quoted(color(node.state)))];\n"
        }
        var unresolved: [String] = []
        for edge in snapshot.edges where edge.targetServiceId.isEmpty || !ids.contains(edge.targetServiceId) {
            unresolved.append(edge.targetService)
        }
        for target in Set(unresolved).sorted() {
            out += "  \(quoted("target:" + target)) [label=\(quoted(target)), style=dashed];\n"
        }
        for edge in snapshot.edges {
            let head = ids.contains(edge.targetServiceId) ? edge.targetServiceId : "target:" + edge.targetService
            var label = JSONText.javaScriptNumber((edge.rps * 10).rounded() / 10) + " rps"
            if edge.errorRate > 0 { label += ", " + JSONText.javaScriptNumber((edge.errorRate * 1000).rounded() / 10) + " % errors" }
            out += "  \(quoted(edge.sourceServiceId)) -> \(quoted(head)) [label=\(quoted(label))"
            out += edge.state == .active ? "" : ", style=dotted"
            out += "];\n"
        }
        out += "}\n"
        return Array(out.utf8)
    }

    /// A DOT quoted string: `"` and `\` escaped, CR and LF as the `\n` line break, other control
    /// characters dropped (DOT has no escape for them).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n", "\r": out += "\\n"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: break
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func color(_ state: ServiceState) -> String {
        switch state {
        case .registered: "#cfe0fc"
        case .active: "#c8f0cf"
        case .stale: "#f6e2b3"
        case .dead: "#f8c6c3"
        default: "#e1e4e8"
        }
    }
}
