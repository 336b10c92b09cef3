/// The Prometheus text exposition format (0.0.4), written: families with their HELP and TYPE,
/// samples with escaped labels, numbers as integers when they are whole.
public struct PrometheusText {
    public private(set) var output = ""

    public init() {}

    public mutating func family(_ name: String, _ type: String, _ help: String) {
        output += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: String) {
        if labels.isEmpty {
            output += "\(name) \(value)\n"
        } else {
            output += "\(name){" + labels.map { "\($0.0)=\"\(PrometheusText.escapeLabel($0.1))\"" }.joined(separator: ",") + "} \(value)\n"
        }
    }

    /// A histogram family: its cumulative buckets, sum and count.
    public mutating func histogram(_ name: String, _ help: String, _ histogram: ServerMetrics.Histogram) {
        family(name, "histogram", help)
        var cumulative = 0
        for (index, bound) in histogram.bounds.enumerated() {
            cumulative += histogram.counts[index]
            sample("\(name)_bucket", [("le", PrometheusText.format(bound))], String(cumulative))
        }
        sample("\(name)_bucket", [("le", "+Inf")], String(histogram.count))
        sample("\(name)_sum", [], PrometheusText.format(histogram.sum))
        sample("\(name)_count", [], String(histogram.count))
    }

    /// A label value with `\`, `"` and newlines escaped.
    public static func escapeLabel(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    /// Whole numbers without a fraction (`3`, not `3.0`), others as Swift writes them.
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
