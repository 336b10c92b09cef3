import TopologyWire

/// One entry of `TopologyQuery.label_selectors`: "key=value" matches a node whose label `key` is
/// exactly `value` (an empty value too: "key="); "key" alone matches a node that has the label at
/// all. The text is split at its first '=', so a value may hold '=' and a key may not (which is
/// why registration refuses keys with '=').
struct LabelSelector: Equatable {
    let key: String
    /// nil: any value.
    let value: String?

    init(_ text: String) {
        if let equals = text.firstIndex(of: "=") {
            key = String(text[..<equals])
            value = String(text[text.index(after: equals)...])
        } else {
            key = text
            value = nil
        }
    }

    func matches(_ labels: [String: String]) -> Bool {
        guard let actual = labels[key] else { return false }
        return value.map { $0 == actual } ?? true
    }
}
