import XCTest
@testable import TopologyWire

/// Inputs on which a fuzz target of Tests/Fuzz once failed, kept as named byte arrays (as
/// swift-protobuf keeps its fuzz crashers) with the property the target checked. The same inputs,
/// laid out as the targets read them, are in Tests/Fuzz/regressions and are replayed by
/// scripts/fuzz.sh before every fuzzing run.
final class FuzzRegressionTests: XCTestCase {
    /// `frame` target: a length prefix still incomplete but already over the limit (0x7f | 0x7f << 7
    /// = 16383 > 1024 after two bytes). Read all at once, the decoder reported the value of all three
    /// bytes (2097151); read byte by byte, it stopped at two and reported 16383.
    static let prefixOverTheLimitBeforeItsLastByte: [UInt8] = [0xff, 0xff, 0xff]
    /// The same bug (not found by the fuzzer; written from the fix): with five such bytes even the
    /// kind of error differed, `malformedLengthPrefix` at once, `frameTooLarge` byte by byte.
    static let fiveBytePrefixOverTheLimit: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff]

    /// What the decoder says about `stream`, fed in reads of `readSize` bytes.
    private func verdict(_ stream: [UInt8], readSize: Int) -> FramingError? {
        var decoder = FrameDecoder(maximumFrameSize: 1024)
        do {
            for start in stride(from: 0, to: stream.count, by: readSize) {
                decoder.append(stream[start..<min(start + readSize, stream.count)])
                while try decoder.next() != nil {}
            }
            try decoder.finish()
            return nil
        } catch {
            return error as? FramingError
        }
    }

    private func assertSameVerdictHoweverRead(_ stream: [UInt8], _ expected: FramingError,
                                              file: StaticString = #filePath, line: UInt = #line) {
        for readSize in 1...stream.count {
            XCTAssertEqual(verdict(stream, readSize: readSize), expected, "reads of \(readSize) bytes", file: file, line: line)
        }
    }

    func testPrefixOverTheLimitBeforeItsLastByte() {
        assertSameVerdictHoweverRead(Self.prefixOverTheLimitBeforeItsLastByte, .frameTooLarge(length: 16383, limit: 1024))
    }

    func testFiveBytePrefixOverTheLimit() {
        assertSameVerdictHoweverRead(Self.fiveBytePrefixOverTheLimit, .frameTooLarge(length: 16383, limit: 1024))
    }
}
