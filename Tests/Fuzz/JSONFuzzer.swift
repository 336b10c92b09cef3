// Fuzz target `json`: the JSON parser and the proto3 JSON reader of the request messages. Whatever
// parses and reads as a message must survive a round trip through the JSON writer: its JSON reads
// again, to the same value, and writes the same JSON.
//
// Input: [message selector] [JSON text]

/// The selector indexes the JSON-readable messages sorted by full name, an order
/// Tests/Fuzz/make_corpus.py reproduces from RequestMessages+JSONSchema.swift.
let readableTypes = MessageRegistry.allTypes
    .compactMap { $0 as? any JSONDecodableMessage.Type }
    .sorted { $0.protoMessageName < $1.protoMessageName }

/// Small limits, so the fuzzer meets them.
let parser = JSONParser(maximumSize: 1 << 16, maximumDepth: 16)

func requireJSONRoundTrip<M: JSONDecodableMessage>(_ type: M.Type, _ value: JSONValue, ignoreUnknownFields: Bool) {
    let decoded: M
    do {
        decoded = try M(json: value, ignoreUnknownFields: ignoreUnknownFields)
    } catch {
        // Most values are not the message: that is an answer. But only a JSON error is one; a
        // binary decoding error would mean the transcoder wrote bytes the binary decoder refuses.
        require(error is JSONDecodingError, "\(M.self): reading JSON threw \(error), not a JSONDecodingError")
        return
    }
    let json = decoded.jsonUTF8()
    let again: M
    do {
        again = try M(jsonUTF8: json, options: JSONDecodingOptions(maximumSize: 1 << 20))
    } catch {
        fatalError("\(M.self): the JSON of a value read from JSON does not read: \(error)\n\(decoded.jsonString())")
    }
    // NaN != NaN: values holding one compare by their JSON.
    require(again == decoded || again.jsonString() == decoded.jsonString(),
            "\(M.self): the round trip changed the value\n\(decoded.jsonString())\n\(again.jsonString())")
    require(again.jsonUTF8() == json, "\(M.self): JSON is not stable across a round trip")
}

/// The byte an error points at, which must lie within the input (or be its end).
func offset(of error: JSONParseError) -> Int {
    switch error {
    case .tooLarge: return 0
    case let .invalidUTF8(offset), let .unexpected(_, _, offset), let .tooDeep(_, offset), let .invalidEscape(offset),
         let .loneSurrogate(offset), let .unescapedControlCharacter(_, offset), let .invalidNumber(_, offset),
         let .duplicateKey(_, offset), let .trailingData(offset):
        return offset
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    // Parsed in place: the bytes end where libFuzzer's allocation ends, so ASan sees any over-read.
    let text = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let value: JSONValue
    do {
        value = try parser.parse(text)
    } catch let error as JSONParseError {
        require(offset(of: error) <= text.count, "error beyond the input (\(text.count) bytes): \(error)")
        return 0
    } catch {
        fatalError("the parser threw \(error), not a JSONParseError")
    }
    let type = readableTypes[Int(data[0]) % readableTypes.count]
    requireJSONRoundTrip(type, value, ignoreUnknownFields: false)
    requireJSONRoundTrip(type, value, ignoreUnknownFields: true)
    return 0
}
