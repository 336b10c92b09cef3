/// What a `BinaryDecoder` refuses beyond the bytes themselves, which already bound every length.
///
/// The defaults hold for Topology's own schema, which is not recursive and whose largest messages
/// come from the frame size limit; OTLP requests are decoded with tighter ones (`OTLPDecodingLimits`).
public struct WireDecodingLimits: Sendable, Equatable {
    /// Length-delimited messages inside one another. 100 is the official libraries' default
    /// recursion limit.
    public var maximumDepth: Int
    /// Elements of repeated message fields in one decode, all lists together.
    public var maximumElements: Int

    public init(maximumDepth: Int = 100, maximumElements: Int = .max) {
        self.maximumDepth = maximumDepth
        self.maximumElements = maximumElements
    }
}
