/// JSON text pieces shared by the writers of this package: strings and numbers.
public enum JSONText {
    /// A JSON string: the UTF-8 of `value` as it is (a Swift `String` is valid Unicode), but for the
    /// quote, the backslash and the control characters, which are escaped: as `\u00XX` in lowercase
    /// hex (as the official protobuf library writes them), or, with `shortEscapes`, as
    /// JavaScript's `JSON.stringify` does (`\b`, `\f`, `\n`, `\r`, `\t`, then `\u00XX`).
    public static func appendQuoted(_ value: String, to output: inout [UInt8], shortEscapes: Bool = false) {
        output.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var plainFrom = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainFrom..<index]))
                plainFrom = index + 1
                switch byte {
                case UInt8(ascii: "\""): output += #"\""#.utf8
                case UInt8(ascii: "\\"): output += #"\\"#.utf8
                case UInt8(ascii: "\n"): output += #"\n"#.utf8
                case UInt8(ascii: "\r"): output += #"\r"#.utf8
                case UInt8(ascii: "\t"): output += #"\t"#.utf8
                case 0x08 where shortEscapes: output += #"\b"#.utf8
                case 0x0C where shortEscapes: output += #"\f"#.utf8
                default:
                    let low = byte & 0xF
                    output += (byte < 0x10 ? #"\u000"# : #"\u001"#).utf8
                    output.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
                }
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainFrom...]))
        }
        output.append(UInt8(ascii: "\""))
    }

    /// A number as JavaScript's `Number.prototype.toString` writes it (ECMA-262, Number::toString):
    /// the shortest digits that read back as `value`, in plain notation from 1e-6 up to 1e21 and in
    /// exponent notation (`1e-7`, `1.5e+300`) outside; integers without `.0`; NaN and the
    /// infinities as `null`, as `JSON.stringify` does.
    public static func javaScriptNumber(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == 0 { return "0" }
        // Swift's description is the shortest round-trip form too; only the notation differs.
        let text = abs(value).description
        let parts = text.split(separator: "e", maxSplits: 1)
        let mantissa = parts[0]
        let exponent = parts.count > 1 ? Int(parts[1])! : 0
        let pointIndex = mantissa.firstIndex(of: ".")
        let integerDigits = pointIndex.map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count
        var digits = Array(mantissa.filter { $0 != "." })
        // value = 0.d1d2…dk × 10^n, with d1 ≠ 0 and dk ≠ 0.
        var n = integerDigits + exponent
        while digits.first == "0" {
            digits.removeFirst()
            n -= 1
        }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        let k = digits.count
        let sign = value < 0 ? "-" : ""
        let d = String(digits)
        if k <= n && n <= 21 { return sign + d + String(repeating: "0", count: n - k) }
        if 0 < n && n <= 21 { return sign + d.prefix(n) + "." + d.dropFirst(n) }
        if -6 < n && n <= 0 { return sign + "0." + String(repeating: "0", count: -n) + d }
        let e = n - 1
        let exponentText = (e < 0 ? "e-" : "e+") + String(abs(e))
        return sign + (k == 1 ? d : d.prefix(1) + "." + d.dropFirst()) + exponentText
    }
}
