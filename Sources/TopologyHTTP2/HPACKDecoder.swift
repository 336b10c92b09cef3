// The HPACK decoder (RFC 7541 §3, §6): one per HTTP/2 connection, fed each header block whole (the
// connection joins HEADERS and CONTINUATION first). The first octet of each representation says
// what it is:
//
//   1xxxxxxx  indexed field                   (§6.1, 7-bit index)
//   01xxxxxx  literal, then indexed           (§6.2.1, 6-bit name index, 0 = literal name)
//   001xxxxx  dynamic table size update       (§6.3, 5-bit size)
//   0001xxxx  literal, never indexed          (§6.2.3, 4-bit name index)
//   0000xxxx  literal, not indexed            (§6.2.2, 4-bit name index)
//
// After any error the table may be out of step with the peer's encoder: the connection must end
// (COMPRESSION_ERROR), and the decoder is not to be used again.

/// Decodes the header blocks of one connection, keeping the dynamic table the peer's encoder fills.
public struct HPACKDecoder: Sendable {
    /// The SETTINGS_HEADER_TABLE_SIZE this side advertises: no size update may go above it.
    let maxDynamicTableSize: Int
    private(set) var table: HPACKDynamicTable

    /// maxDynamicTableSize: the SETTINGS_HEADER_TABLE_SIZE this side advertises (default 4096); a
    /// size update above it is a decoding error. The table starts at that size, as RFC 9113 §6.5.2
    /// has it once the setting is acknowledged.
    public init(maxDynamicTableSize: Int = 4096) {
        precondition((0...HPACKInteger.maxValue).contains(maxDynamicTableSize),
                     "maxDynamicTableSize \(maxDynamicTableSize) is outside 0...\(HPACKInteger.maxValue)")
        self.maxDynamicTableSize = maxDynamicTableSize
        table = HPACKDynamicTable(maxSize: maxDynamicTableSize)
    }

    /// Decodes one whole header block. Fields past `maxHeaderListSize` (RFC 9113 §6.5.2 sizes) are
    /// dropped and flagged, the block still decoded to the end; a single string longer than the
    /// limit is an error, found before anything is allocated for it.
    public mutating func decode(_ block: ArraySlice<UInt8>, maxHeaderListSize: Int) throws(HPACKError) -> HeaderList {
        precondition(maxHeaderListSize >= 0, "maxHeaderListSize \(maxHeaderListSize) is negative")
        var list = HeaderList()
        var listSize = 0
        var index = block.startIndex
        var fieldSeen = false
        while index < block.endIndex {
            let first = block[index]
            let entry: HPACKDynamicTable.Entry
            if first & 0x80 != 0 {
                entry = try lookUp(HPACKInteger.decode(block, at: &index, prefixBits: 7))
            } else if first & 0x40 != 0 {
                entry = try readLiteral(block, at: &index, prefixBits: 6, limit: maxHeaderListSize)
                table.insert(entry)
            } else if first & 0x20 != 0 {
                guard !fieldSeen else { throw .tableSizeUpdateNotAtStart }
                let newSize = try HPACKInteger.decode(block, at: &index, prefixBits: 5)
                guard newSize <= maxDynamicTableSize else {
                    throw .tableSizeUpdateTooLarge(requested: newSize, limit: maxDynamicTableSize)
                }
                table.resize(to: newSize)
                continue
            } else {
                // Never indexed (0001) and not indexed (0000) decode alike; the flag matters to
                // intermediaries that re-encode, which this side is not.
                entry = try readLiteral(block, at: &index, prefixBits: 4, limit: maxHeaderListSize)
            }
            fieldSeen = true
            guard !list.exceededMaxSize else { continue }
            listSize += entry.size
            if listSize > maxHeaderListSize {
                list.exceededMaxSize = true
            } else {
                list.fields.append(entry.field)
            }
        }
        return list
    }

    /// The static or dynamic table's entry at `index`.
    private func lookUp(_ index: Int) throws(HPACKError) -> HPACKDynamicTable.Entry {
        let staticCount = HPACKStaticTable.entries.count
        if index >= 1, index <= staticCount {
            let field = HPACKStaticTable.entries[index - 1]
            return HPACKDynamicTable.Entry(field: field, nameOctets: field.name.utf8.count, valueOctets: field.value.utf8.count)
        }
        guard let entry = table.entry(at: index - staticCount) else {
            throw .indexOutOfRange(index: index, entries: staticCount + table.count)
        }
        return entry
    }

    /// A literal field (§6.2): the name by index (non-zero prefix) or as a string, then the value.
    private func readLiteral(_ block: ArraySlice<UInt8>, at index: inout Int, prefixBits: Int,
                             limit: Int) throws(HPACKError) -> HPACKDynamicTable.Entry {
        let nameIndex = try HPACKInteger.decode(block, at: &index, prefixBits: prefixBits)
        let name: String
        let nameOctets: Int
        if nameIndex == 0 {
            (name, nameOctets) = try Self.readString(block, at: &index, limit: limit)
        } else {
            let entry = try lookUp(nameIndex)
            (name, nameOctets) = (entry.field.name, entry.nameOctets)
        }
        let (value, valueOctets) = try Self.readString(block, at: &index, limit: limit)
        return HPACKDynamicTable.Entry(field: HeaderField(name, value), nameOctets: nameOctets, valueOctets: valueOctets)
    }

    /// A string literal (§5.2): the Huffman flag and a 7-bit length, then the octets. Returns the
    /// string and its length in octets once decoded.
    private static func readString(_ block: ArraySlice<UInt8>, at index: inout Int,
                                   limit: Int) throws(HPACKError) -> (String, Int) {
        guard index < block.endIndex else { throw .truncatedField }
        let huffman = block[index] & 0x80 != 0
        let length = try HPACKInteger.decode(block, at: &index, prefixBits: 7)
        let available = block.endIndex - index
        guard length <= available else { throw .truncatedString(length: length, available: available) }
        let octets = block[index..<(index + length)]
        index += length
        if huffman {
            let decoded = try HPACKHuffman.decode(octets, limit: limit)
            return (String(decoding: decoded, as: UTF8.self), decoded.count)
        }
        guard length <= limit else { throw .stringTooLong(length: length, limit: limit) }
        return (String(decoding: octets, as: UTF8.self), length)
    }
}
