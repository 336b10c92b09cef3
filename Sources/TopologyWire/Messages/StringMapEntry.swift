/// One entry of a `map<string, string>` field on the wire. Protobuf encodes a map as a repeated
/// message field whose entries hold the key in field 1 and the value in field 2:
///
///     aa 01 0e  0a 04 "team"  12 06 "ledger"     labels = 21: {"team": "ledger"}
///     ^tag ^len ^key          ^value
///
/// Both are written even when empty, as the official encoders write them; a reader takes either
/// missing as "" and, when a key comes twice, keeps the last value.
struct StringMapEntry: WireMessage {
    static let protoMessageName = "map<string, string> entry"

    var key = ""
    var value = ""

    init() {}

    init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.visitString(key, field: FieldID(1, "key"))
        visitor.visitString(value, field: FieldID(2, "value"))
    }

    mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&key)
        case 2: return try decoder.decode(&value)
        default: return false
        }
    }
}

/// The order in which a `map<string, string>` is written: by the keys' UTF-8 bytes, as the official
/// libraries' deterministic serialization sorts them, so that one map always has one encoding (the
/// golden vectors and the watch stream's encode-once cache rely on it).
enum StringMapOrder {
    static func sortedKeys(_ map: [String: String]) -> [String] {
        map.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
