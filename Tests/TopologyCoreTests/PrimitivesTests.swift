import XCTest
@testable import TopologyCore
import TopologyWire

final class PrimitivesTests: XCTestCase {
    func testServiceKeyRoundTrip() {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<1_000 {
            let key = ServiceKey.random(using: &rng)
            let text = key.text
            XCTAssertEqual(ServiceKey(parsing: text), key)
            XCTAssertEqual(ServiceKey(parsing: text.uppercased()), key)
        }
        XCTAssertEqual(ServiceKey(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210).text, "01234567-89ab-cdef-fedc-ba9876543210")
    }

    func testServiceKeyRejectsNonCanonicalText() {
        for text in [
            "", "01234567-89ab-cdef-fedc-ba987654321", "01234567-89ab-cdef-fedc-ba98765432100",
            "0123456789ab-cdef-fedc-ba9876543210-", "01234567_89ab-cdef-fedc-ba9876543210",
            "0123456g-89ab-cdef-fedc-ba9876543210", "{01234567-89ab-cdef-fedc-ba9876543210}",
            "01234567-89ab-cdef-fedc-ba987654321é",
        ] {
            XCTAssertNil(ServiceKey(parsing: text), text)
        }
    }

    func testTimerHeapOrdersByTime() {
        var heap = TimerHeap()
        var rng = SplitMix64(seed: 5)
        var times: [Int64] = []
        for i in 0..<2_000 {
            let time = Int64.random(in: 0..<500, using: &rng)
            times.append(time)
            heap.push(TimerEntry(time: time, ref: UInt32(i), generation: 0))
            if i % 3 == 0 {
                XCTAssertEqual(heap.first?.time, times.min())
                let popped = heap.popFirst()!
                XCTAssertEqual(popped.time, times.min())
                times.remove(at: times.firstIndex(of: popped.time)!)
            }
        }
        var popped: [Int64] = []
        while let entry = heap.popFirst() { popped.append(entry.time) }
        XCTAssertEqual(popped, times.sorted())
    }

    func testHistogramPercentilesAndMessageForm() {
        var histogram = SparseHistogram()
        histogram.add(latencyMs: 0, count: 10)
        histogram.add(latencyMs: 100, count: 90)
        XCTAssertEqual(histogram.total, 100)
        let p = histogram.percentiles([0.05, 0.10, 0.11, 1.0])
        XCTAssertEqual(p[0], 0)
        XCTAssertEqual(p[1], 0, "rank 10 is the last zero")
        XCTAssertEqual(p[2], 100, accuracy: 1)
        XCTAssertEqual(p[3], 100, accuracy: 1)
        let message = LatencyHistogram(histogram)
        XCTAssertEqual(message.zeroCount, 10)
        XCTAssertEqual(message.counts, [90])
        XCTAssertEqual(message.indexes, [LatencyBuckets.index(ofMs: 100)])
        XCTAssertEqual(SparseHistogram().percentiles([0.5]), [0])
    }
}
