import TopologyWire

/// What registration accepts as labels. Keys: 1 to `maxLabelKeyBytes` bytes of UTF-8 without
/// control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F) and without '=' (label
/// selectors split at it). Values: up to `maxLabelValueBytes` bytes, without control characters,
/// empty allowed. At most `maxLabels` of them. Looser than Kubernetes' key grammar on purpose:
/// Consul and Eureka metadata keys (`Team Name`, `zone.primary`) must come through unchanged; what
/// is refused is what would break a selector, a log line or a dashboard.
struct LabelRules {
    let maxLabels: Int
    let maxKeyBytes: Int
    let maxValueBytes: Int

    init(_ configuration: TopologyConfiguration) {
        maxLabels = configuration.maxLabels
        maxKeyBytes = configuration.maxLabelKeyBytes
        maxValueBytes = configuration.maxLabelValueBytes
    }

    func validate(_ labels: [String: String]) throws(TopologyError) {
        guard labels.count <= maxLabels else {
            throw .invalidArgument(field: "labels", reason: "\(labels.count) labels, at most \(maxLabels) allowed")
        }
        // In key order, so that of several bad labels the same one is named every time.
        for key in labels.keys.sorted() {
            let value = labels[key]!
            let shown = Self.shown(key)
            if key.isEmpty {
                throw .invalidArgument(field: "labels", reason: "a key is empty; every label needs a key")
            }
            if key.utf8.count > maxKeyBytes {
                throw .invalidArgument(
                    field: "labels", reason: "key '\(shown)' is \(key.utf8.count) bytes, at most \(maxKeyBytes) allowed")
            }
            if key.contains("=") {
                throw .invalidArgument(
                    field: "labels", reason: "key '\(shown)' contains '=', which separates key and value in a label selector")
            }
            if key.unicodeScalars.contains(where: Self.isControl) {
                throw .invalidArgument(field: "labels", reason: "key '\(shown)' contains a control character")
            }
            if value.utf8.count > maxValueBytes {
                throw .invalidArgument(
                    field: "labels['\(shown)']",
                    reason: "\(value.utf8.count) bytes, at most \(maxValueBytes) allowed")
            }
            if value.unicodeScalars.contains(where: Self.isControl) {
                throw .invalidArgument(field: "labels['\(shown)']", reason: "contains a control character")
            }
        }
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control
    }

    /// A key as an error message quotes it: at most 64 characters, control characters as U+XXXX
    /// (the message may reach a log line or a terminal).
    static func shown(_ key: String) -> String {
        var out = ""
        for scalar in key.unicodeScalars.prefix(64) {
            if isControl(scalar) {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return key.unicodeScalars.count > 64 ? out + "..." : out
    }
}
