@testable import TopologyWire
import XCTest

/// `JSONNumber`'s exact reads: no 64-bit integer passes through a Double.
final class JSONNumberTests: XCTestCase {
    private func number(_ text: String) -> JSONNumber { JSONNumber(text)! }

    func testIntegersBeyondDoublePrecisionAreExact() {
        XCTAssertEqual(number("9007199254740993").int64, 9_007_199_254_740_993)
        XCTAssertEqual(number("-9007199254740993").int64, -9_007_199_254_740_993)
        XCTAssertEqual(number("9223372036854775807").int64, Int64.max)
        XCTAssertEqual(number("-9223372036854775808").int64, Int64.min)
        XCTAssertNil(number("9223372036854775808").int64)
        XCTAssertNil(number("-9223372036854775809").int64)
        XCTAssertEqual(number("9223372036854775808").uint64, 9_223_372_036_854_775_808)
        XCTAssertEqual(number("18446744073709551615").uint64, UInt64.max)
        XCTAssertNil(number("18446744073709551616").uint64)
        XCTAssertNil(number("99999999999999999999").uint64)
        XCTAssertNil(number("123456789012345678901234567890").uint64)
    }

    func testWholeNumbersWrittenWithFractionOrExponent() {
        XCTAssertEqual(number("1.0").int64, 1)
        XCTAssertEqual(number("1e2").int64, 100)
        XCTAssertEqual(number("1E+2").uint64, 100)
        XCTAssertEqual(number("100e-2").int64, 1)
        XCTAssertEqual(number("1.5e1").int64, 15)
        XCTAssertEqual(number("0.000e99999999999999999999").int64, 0)
        XCTAssertEqual(number("1844674407370955161.5e1").uint64, UInt64.max)
        XCTAssertEqual(number("123456789012345678900000000000e-10").uint64, 12_345_678_901_234_567_890)
        XCTAssertEqual(number("-9.223372036854775808e18").int64, Int64.min)
        XCTAssertEqual(number("1.8446744073709551615e19").uint64, UInt64.max)
    }

    func testFractionsAndHugeExponentsAreNotIntegers() {
        XCTAssertNil(number("1.5").int64)
        XCTAssertNil(number("1e-1").int64)
        XCTAssertEqual(number("0.1e1").uint64, 1)
        XCTAssertNil(number("1.01e1").int64)
        XCTAssertEqual(number("1.5").integerValue, .fraction)
        XCTAssertEqual(number("123456789012345678901234567890e-10").integerValue, .fraction)
        XCTAssertEqual(number("1e400").integerValue, .tooLarge)
        XCTAssertEqual(number("1e99999999999999999999").integerValue, .tooLarge)
        XCTAssertEqual(number("1e-99999999999999999999").integerValue, .fraction)
    }

    func testNegativeZero() {
        XCTAssertEqual(number("-0").int64, 0)
        XCTAssertEqual(number("-0").uint64, 0)
        XCTAssertEqual(number("-0.0e5").uint64, 0)
        XCTAssertEqual(number("-0").double?.sign, .minus)
        XCTAssertEqual(number("-0").double, 0)
        XCTAssertNil(number("-1").uint64)
    }

    func testDoublesRoundCorrectlyAndRefuseOverflow() {
        XCTAssertEqual(number("0.1").double, 0.1)
        XCTAssertEqual(number("5e-324").double, 5e-324)
        XCTAssertEqual(number("1.7976931348623157e308").double, .greatestFiniteMagnitude)
        XCTAssertEqual(number("9007199254740993").double, 9_007_199_254_740_992)
        XCTAssertNil(number("1e400").double)
        XCTAssertNil(number("-1e400").double)
        XCTAssertEqual(number("1e-400").double, 0)
    }
}
