import Foundation
@testable import TopologyServer
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The server's log writer: lines in order, never a wait for a slow reader, and every dropped line
/// counted where it would have been.
final class LogWriterTests: XCTestCase {
    /// A pipe whose read end a background thread drains into `text` once `startReading()` is called.
    final class PipeReader: @unchecked Sendable {
        let readFD: Int32
        let writeFD: Int32
        private let lock = NSLock()
        private var bytes: [UInt8] = []
        private let done = DispatchSemaphore(value: 0)

        init() {
            var fds: [Int32] = [0, 0]
            precondition(pipe(&fds) == 0)
            readFD = fds[0]
            writeFD = fds[1]
        }

        func startReading() {
            let fd = readFD
            Thread { [self] in
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    lock.lock()
                    bytes += buffer[0..<n]
                    lock.unlock()
                }
                done.signal()
            }.start()
        }

        /// Closes the write end and waits for the reader to see the end.
        func finish() -> [String] {
            close(writeFD)
            XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "reader did not finish")
            close(readFD)
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        }
    }

    func testLinesComeOutInOrderAndFlushWaitsForThem() {
        let pipe = PipeReader()
        pipe.startReading()
        let writer = LogWriter(fd: pipe.writeFD)
        let lines = (0..<20_000).map { "line \($0) " + String(repeating: "x", count: $0 % 50) }
        for line in lines { writer.enqueue(line + "\n") }
        writer.flush()
        writer.finish()
        writer.enqueue("after finish\n")  // written directly
        XCTAssertEqual(pipe.finish(), lines + ["after finish"])
        XCTAssertEqual(writer.droppedLines, 0)
    }

    func testAFullQueueDropsLinesWithoutWaitingAndSaysHowManyWhereTheyWere() {
        let pipe = PipeReader()
        // Nobody reads yet: the writer thread blocks in write(2) once the pipe is full, and the
        // queue (4 KiB) fills behind it.
        let writer = LogWriter(fd: pipe.writeFD, capacityBytes: 4096)
        let lines = (0..<5_000).map { "line \($0) " + String(repeating: "y", count: 80) }
        let enqueued = DispatchSemaphore(value: 0)
        Thread {
            for line in lines { writer.enqueue(line + "\n") }
            enqueued.signal()
        }.start()
        // Bounded wait: if enqueue waited for the reader, this would never come.
        XCTAssertEqual(enqueued.wait(timeout: .now() + 10), .success, "enqueue waited for the blocked writer")
        pipe.startReading()
        writer.flush()
        let dropped = writer.droppedLines
        XCTAssertGreaterThan(dropped, 0)
        writer.enqueue("last\n")
        writer.flush()
        writer.finish()
        let output = pipe.finish()

        // Every line that was not dropped, in order; at each gap, a notice with the gap's size.
        var expected = lines[...]
        var notices = 0
        var noticed = 0
        for line in output.dropLast() {
            if line.contains("msg=\"log lines dropped\"") {
                guard let count = line.split(separator: " ").first(where: { $0.hasPrefix("count=") }).flatMap({ Int($0.dropFirst(6)) }) else {
                    return XCTFail("no count in \(line)")
                }
                expected = expected.dropFirst(count)
                notices += 1
                noticed += count
            } else {
                XCTAssertEqual(line, expected.first, "out of order or lost without a notice")
                expected = expected.dropFirst()
            }
        }
        XCTAssertTrue(expected.isEmpty, "\(expected.count) lines neither written nor reported dropped")
        XCTAssertEqual(output.last, "last")
        XCTAssertGreaterThan(notices, 0)
        XCTAssertEqual(noticed, dropped)
        XCTAssertEqual(writer.droppedLines, dropped)
    }

    /// Values come from clients (service names, refused ids quoted in error messages): no control
    /// character may reach the log raw, where ESC would drive the terminal of whoever reads it and
    /// CR or LF would forge lines. Escaped as Go's strconv.Quote does, quoted as logfmt quotes.
    func testControlCharactersInValuesAreEscaped() {
        let line = Logger.line(.info, "service registered \u{1B}[2J", [
            "name": "\u{1B}[31mred\u{1B}[0m\u{0}\u{0E}\u{7F}\u{9B}",
            "peer": "10.0.0.1:5\r\nts=forged",
            "plain": "ok",
            "tab": "a\tb",
            "separator": "x\u{2028}y",
            "quoted": #"say "hi" \ there"#,
        ])
        let raw = line.unicodeScalars.filter { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 }
        XCTAssertEqual(raw.map(\.value), [0x0A], "only the line's own newline: \(line.debugDescription)")
        XCTAssertTrue(line.contains(#" msg="service registered \x1b[2J" "#), line)
        XCTAssertTrue(line.contains(#" name="\x1b[31mred\x1b[0m\x00\x0e\x7f\u009b" "#), line)
        XCTAssertTrue(line.contains(#" peer="10.0.0.1:5\r\nts=forged" "#), line)
        XCTAssertTrue(line.contains(" plain=ok "), line)
        XCTAssertTrue(line.contains(#" tab="a\tb" "#), line)
        XCTAssertTrue(line.contains(#" separator="x\u2028y" "#), line)
        XCTAssertTrue(line.hasSuffix(#" quoted="say \"hi\" \\ there""# + "\n"), line)
    }
}
