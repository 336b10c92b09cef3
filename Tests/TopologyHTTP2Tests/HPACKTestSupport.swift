import XCTest
@testable import TopologyHTTP2

/// The error `body` throws; a test failure, and nil, when it returns instead.
func hpackError<T>(_ body: () throws(HPACKError) -> T, file: StaticString = #filePath, line: UInt = #line) -> HPACKError? {
    do {
        let value = try body()
        XCTFail("expected an HPACKError, got \(value)", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

/// Bytes from hex as the RFC prints it ("8286 8441"); spaces are ignored.
func bytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
    precondition(digits.count % 2 == 0, "odd number of hex digits in \(hex)")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16)! }
}

/// Huffman-codes `octets` with the table under test, padded with ones: the tests' encoder, so that
/// every symbol can be decoded back (the production encoder does not use Huffman).
func huffmanEncode(_ octets: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var pending: UInt64 = 0
    var pendingBits = 0
    for octet in octets {
        let (code, bits) = HPACKHuffman.codes[Int(octet)]
        pending = pending << UInt64(bits) | UInt64(code)
        pendingBits += Int(bits)
        while pendingBits >= 8 {
            pendingBits -= 8
            out.append(UInt8(truncatingIfNeeded: pending >> UInt64(pendingBits)))
        }
        pending &= (1 << UInt64(pendingBits)) - 1
    }
    if pendingBits > 0 {
        out.append(UInt8(truncatingIfNeeded: pending << UInt64(8 - pendingBits)) | UInt8(0xff >> pendingBits))
    }
    return out
}

/// A string literal of `octets` without Huffman coding (§5.2).
func literal(_ octets: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    HPACKInteger.encode(octets.count, prefixBits: 7, flags: 0x00, into: &out)
    return out + octets
}

/// A string literal of `octets` with Huffman coding.
func huffmanLiteral(_ octets: [UInt8]) -> [UInt8] {
    let coded = huffmanEncode(octets)
    var out: [UInt8] = []
    HPACKInteger.encode(coded.count, prefixBits: 7, flags: 0x80, into: &out)
    return out + coded
}

extension HPACKDecoder {
    /// The dynamic table, newest first, as the RFC's examples list it.
    var dynamicFields: [HeaderField] { table.entries.reversed().map(\.field) }
}
