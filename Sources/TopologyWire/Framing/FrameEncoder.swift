extension Frame {
    /// Appends this frame with its length prefix to `buffer`: the message is sized once, then the
    /// prefix and the body are written straight into `buffer` (typically a connection's reusable
    /// output buffer).
    public func encodeLengthPrefixed(appendingTo buffer: inout [UInt8]) {
        var sizer = BinarySizeVisitor()
        traverse(&sizer)
        BinaryEncodingVisitor.appendVarint(UInt64(sizer.size), to: &buffer)
        BinaryEncodingVisitor.write(self, size: sizer.size, nestedSizes: sizer.nestedSizes, to: &buffer)
    }
}
