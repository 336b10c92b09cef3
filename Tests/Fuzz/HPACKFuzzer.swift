// Fuzz target `hpack`: HPACKDecoder (Sources/TopologyHTTP2/HPACK*.swift) fed several header blocks
// on one decoder, as one connection's HEADERS would. It must never crash, and:
// - the table never holds more than its maximum size, nor that more than the advertised size;
// - the header list limit only drops fields: a second decoder with no limit, fed the same blocks,
//   fails the same way (but where the limit refused a long string), keeps the same table after
//   every block, and decodes a list the limited one's fields are a prefix of;
// - every decoded list, written by HPACKEncoder, decodes to itself on a fresh decoder, whose table
//   stays empty (the encoder is stateless).
//
// Input: [control] then blocks, each as [length octet] [that many octets] (the last may be cut).
// The control's low 2 bits pick SETTINGS_HEADER_TABLE_SIZE (0, 64, 256 or 4096), its high 6 bits
// the header list limit (64 to 4,096 octets), so the fuzzer meets evictions and the limit often.

let tableSizes = [0, 64, 256, 4096]
let unlimited = Int(Int32.max)

func blocks(_ payload: [UInt8]) -> [ArraySlice<UInt8>] {
    var blocks: [ArraySlice<UInt8>] = []
    var index = 0
    while index < payload.count {
        let end = min(payload.count, index + 1 + Int(payload[index]))
        blocks.append(payload[(index + 1)..<end])
        index = end
    }
    return blocks
}

func requireEncoderRoundTrip(_ fields: [HeaderField]) {
    var encoded: [UInt8] = []
    HPACKEncoder.encode(fields, into: &encoded)
    var fresh = HPACKDecoder()
    do {
        let again = try fresh.decode(encoded[...], maxHeaderListSize: unlimited)
        require(again == HeaderList(fields: fields, exceededMaxSize: false),
                "encode then decode changed the list:\n\(fields)\n\(again)")
        require(fresh.table.count == 0, "the stateless encoder's output inserted into the decoder's table")
    } catch {
        fatalError("the encoding of a decoded list does not decode: \(error)\n\(fields)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHPACKDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let input = FuzzInput(data, size) else { return 0 }
    let tableSize = tableSizes[Int(input.control & 3)]
    let limit = 64 * (1 + Int(input.control >> 2))
    var limited = HPACKDecoder(maxDynamicTableSize: tableSize)
    var unlimitedDecoder = HPACKDecoder(maxDynamicTableSize: tableSize)
    for block in blocks(input.payload) {
        let list: HeaderList
        do throws(HPACKError) {
            list = try limited.decode(block, maxHeaderListSize: limit)
        } catch {
            // The unlimited decoder fails alike, but where the limit refused a string it accepts.
            var other: HPACKError? = nil
            do throws(HPACKError) { _ = try unlimitedDecoder.decode(block, maxHeaderListSize: unlimited) } catch { other = error }
            if case .stringTooLong = error {} else {
                require(other == error, "the limited decoder failed with \(error), the unlimited one with \(other.map { "\($0)" } ?? "no error")")
            }
            return 0  // a connection error: the decoder is not used again
        }
        let full: HeaderList
        do {
            full = try unlimitedDecoder.decode(block, maxHeaderListSize: unlimited)
        } catch {
            fatalError("the unlimited decoder failed with \(error) where the limited one did not")
        }
        require(!full.exceededMaxSize, "a list went over \(unlimited) octets")
        require(full.fields.starts(with: list.fields) && (list.exceededMaxSize || list.fields == full.fields),
                "the limit changed fields rather than dropping them:\n\(list)\n\(full)")
        require(limited.table.entries == unlimitedDecoder.table.entries, "the header list limit changed the dynamic table")
        require(limited.table.size <= limited.table.maxSize && limited.table.maxSize <= tableSize,
                "table size \(limited.table.size), maximum \(limited.table.maxSize), advertised \(tableSize)")
        require(limited.table.size == limited.table.entries.reduce(0) { $0 + $1.size }, "the table's size is not its entries' sum")
        requireEncoderRoundTrip(full.fields)
    }
    return 0
}
