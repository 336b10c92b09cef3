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
