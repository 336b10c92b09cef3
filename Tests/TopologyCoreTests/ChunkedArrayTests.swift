@testable import TopologyCore
import TopologyWire
import XCTest

/// The core's node and edge slots: an array in chunks, whose copy (a snapshot's source) keeps what
/// it held while the original is written, across chunk boundaries (`SnapshotSourceTests`: the core's).
final class ChunkedArrayTests: XCTestCase {
    func testElementsAcrossChunksReadAndWriteInPlace() {
        var array = ChunkedArray<[Int]>()
        for i in 0..<2_500 { array.append([i]) }
        XCTAssertEqual(array.count, 2_500)
        XCTAssertEqual(array.indices, 0..<2_500)
        XCTAssertEqual(array.indices.map { array[$0][0] }, Array(0..<2_500))
        array[1_024].append(7)  // the first element of the second chunk
        array[2_499][0] = -1
        XCTAssertEqual(array[1_024], [1_024, 7])
        XCTAssertEqual(array[1_023], [1_023])
        XCTAssertEqual(array[2_499], [-1])
    }

    func testACopyKeepsWhatItHeldWhileTheOriginalIsWritten() {
        var original = ChunkedArray<String>()
        for i in 0..<3_000 { original.append("s\(i)") }
        let copy = original
        original[0] = "changed"
        original[1_500] += "!"
        for i in 3_000..<3_100 { original.append("s\(i)") }
        XCTAssertEqual(copy.count, 3_000)
        XCTAssertEqual(copy[0], "s0")
        XCTAssertEqual(copy[1_500], "s1500")
        XCTAssertEqual(copy.indices.map { copy[$0] }, (0..<3_000).map { "s\($0)" })
        XCTAssertEqual(original[0], "changed")
        XCTAssertEqual(original[1_500], "s1500!")
        XCTAssertEqual(original[3_099], "s3099")
    }
}
