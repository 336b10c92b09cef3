/// A protobuf enum. Enums are open, as in proto3: any Int32 is a valid value, and one this build
/// has no name for decodes and re-encodes unchanged. That is why they are structs with static members
/// rather than Swift enums: a newer peer's value must survive a round trip, and adding a value must
/// break no `switch`.
public protocol WireEnum: RawRepresentable, Hashable, Sendable, CustomStringConvertible
where RawValue == Int32 {
    init(rawValue: Int32)
    /// Protobuf names of the values 0, 1, 2, ... (every enum of this schema is numbered without gaps).
    static var protoNames: [String] { get }
}

extension WireEnum {
    /// The protobuf name of this value (`SERVICE_STATE_IDLE`), nil for a number this build does not know.
    public var protoName: String? {
        let names = Self.protoNames
        return rawValue >= 0 && Int(rawValue) < names.count ? names[Int(rawValue)] : nil
    }

    /// The value with the given protobuf name, if it is one of this enum's.
    public init?(protoName: String) {
        guard let index = Self.protoNames.firstIndex(of: protoName) else { return nil }
        self.init(rawValue: Int32(index))
    }

    public var description: String { protoName ?? String(rawValue) }
}
