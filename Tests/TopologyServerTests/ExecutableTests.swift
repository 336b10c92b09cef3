import Foundation
import TopologyWire
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The built `topology-server`, run as a subprocess: the CLI, signals, exit codes.
final class ExecutableTests: XCTestCase {
    /// The executable sits next to the test bundle in the build directory.
    func executable() throws -> URL {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for bundle in Bundle.allBundles { candidates.append(bundle.bundleURL.deletingLastPathComponent()) }
        for dir in candidates {
            let url = dir.appendingPathComponent("topology-server")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw XCTSkip("topology-server not built next to the tests (\(candidates.map(\.path)))")
    }

    final class Child: @unchecked Sendable {
        let process = Process()
        let stderr = Pipe()
        let stdout = Pipe()
        private let lock = NSLock()
        private var errText = ""

        init(_ url: URL, _ arguments: [String], environment: [String: String] = [:]) throws {
            process.executableURL = url
            process.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            for (k, v) in environment { env[k] = v }
            process.environment = env
            process.standardError = stderr
            process.standardOutput = stdout
            stderr.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                guard let self, !data.isEmpty else { return }
                self.lock.lock(); self.errText += String(decoding: data, as: UTF8.self); self.lock.unlock()
            }
            try process.run()
        }

        var errorOutput: String { lock.lock(); defer { lock.unlock() }; return errText }

        /// Waits for exit, at most `timeout` s; nil if still running (then it is killed).
        func waitExit(timeout: Double) -> Int32? {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(5_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }

        /// The port from the startup line `msg="listening" address=127.0.0.1:PORT`.
        func boundPort(timeout: Double = 10) throws -> UInt16 {
            var port: UInt16?
            try eventually(timeout: timeout, "the listening line") {
                for line in errorOutput.split(separator: "\n") where line.contains("msg=\"listening\"") {
                    if let field = line.split(separator: " ").first(where: { $0.hasPrefix("address=") }),
                       let value = field.split(separator: ":").last { port = UInt16(value) }
                }
                return port != nil
            }
            return port!
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
    }

    func testHelpVersionAndBadFlags() throws {
        let url = try executable()
        let help = try Child(url, ["--help"])
        XCTAssertEqual(help.waitExit(timeout: 10), 0)
        let text = String(decoding: help.stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("--address"))
        XCTAssertTrue(text.contains("--max-frame-bytes"))
        XCTAssertLessThanOrEqual(text.split(separator: "\n").count, 50, "--help must fit a screen (of 50 rows)")

        let version = try Child(url, ["--version"])
        XCTAssertEqual(version.waitExit(timeout: 10), 0)

        let bad = try Child(url, ["--no-such-flag"])
        XCTAssertEqual(bad.waitExit(timeout: 10), 2)
        let badValue = try Child(url, ["--heartbeat-interval-ms", "soon"])
        XCTAssertEqual(badValue.waitExit(timeout: 10), 2)
        usleep(50_000)
        XCTAssertTrue(badValue.errorOutput.contains("--heartbeat-interval-ms"), badValue.errorOutput)
        XCTAssertEqual(badValue.errorOutput.split(separator: "\n").count, 1, badValue.errorOutput)
        let badEnv = try Child(url, [], environment: ["TOPOLOGY_ADDRESS": "nowhere"])
        XCTAssertEqual(badEnv.waitExit(timeout: 10), 2)
        usleep(50_000)
        XCTAssertTrue(badEnv.errorOutput.contains("TOPOLOGY_ADDRESS"), badEnv.errorOutput)
    }

    func testUnusableTokenFileExitsOneWithOneLine() throws {
        let url = try executable()
        let missing = try Child(url, ["--address", "127.0.0.1:0", "--http-address=", "--auth-token-file", "/nonexistent/topology-token"])
        XCTAssertEqual(missing.waitExit(timeout: 10), 1)
        usleep(50_000)
        XCTAssertEqual(missing.errorOutput,
                       "topology-server: cannot start: --auth-token-file /nonexistent/topology-token: cannot read it: No such file or directory\n")

        let empty = try TokenFile(contents: "\n")
        defer { empty.remove() }
        let fromEnvironment = try Child(url, ["--address", "127.0.0.1:0", "--http-address="],
                                        environment: ["TOPOLOGY_AUTH_TOKEN_FILE": empty.path])
        XCTAssertEqual(fromEnvironment.waitExit(timeout: 10), 1)
        usleep(50_000)
        XCTAssertTrue(fromEnvironment.errorOutput.contains("--auth-token-file \(empty.path) is empty"), fromEnvironment.errorOutput)
        XCTAssertEqual(fromEnvironment.errorOutput.split(separator: "\n").count, 1, fromEnvironment.errorOutput)
    }

    func testSigtermEndsWatchesWithUnavailableAndPortInUseExitsOne() throws {
        let url = try executable()
        let server = try Child(url, ["--address", "127.0.0.1:0", "--http-address", "127.0.0.1:0", "--heartbeat-interval-ms", "100"])
        let port = try server.boundPort()

        // A second server on the same port: one clear line, exit 1.
        let clash = try Child(url, ["--address", "127.0.0.1:\(port)", "--http-address="])
        XCTAssertEqual(clash.waitExit(timeout: 10), 1)
        usleep(50_000)
        XCTAssertTrue(clash.errorOutput.contains("already in use"), clash.errorOutput)

        // A second server whose HTTP port is taken (the first one's) does not run without its
        // dashboard: it fails at startup naming the flag and how to do without HTTP.
        let httpPort = try XCTUnwrap(Int(try XCTUnwrap(server.errorOutput.firstMatch(of: /http_address="?127\.0\.0\.1:(\d+)/)?.1)))
        let httpClash = try Child(url, ["--address", "127.0.0.1:0", "--http-address", "127.0.0.1:\(httpPort)"])
        XCTAssertEqual(httpClash.waitExit(timeout: 10), 1)
        usleep(50_000)
        XCTAssertTrue(httpClash.errorOutput.contains("HTTP address 127.0.0.1:\(httpPort) is already in use (another topology-server's "
                                                     + "dashboard?); choose another with --http-address HOST:PORT, or run without HTTP "
                                                     + "with --http-address="), httpClash.errorOutput)

        let client = try TestClient(port: port)
        _ = try client.register("watched")
        let w1 = client.startWatch()
        let w2 = client.startWatch()
        XCTAssertEqual(try client.update(on: w1).type, .snapshot)
        XCTAssertEqual(try client.update(on: w2).type, .snapshot)

        let start = Date()
        kill(server.process.processIdentifier, SIGTERM)
        for call in [w1, w2] {
            var end: Frame?
            for _ in 0..<20 {
                let frame = try client.readFrame(call: call, timeout: 2)
                if frame.endOfStream { end = frame; break }
            }
            let last = try XCTUnwrap(end, "no end of stream on watch \(call)")
            XCTAssertEqual(last.status?.statusCode, .unavailable)
            XCTAssertEqual(last.status?.message, "server shutting down")
        }
        XCTAssertEqual(server.waitExit(timeout: 3), 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0, "exit took too long")

        // SO_REUSEADDR: a new server gets the same port at once.
        let again = try Child(url, ["--address", "127.0.0.1:\(port)", "--http-address="])
        XCTAssertEqual(try again.boundPort(), port)
        kill(again.process.processIdentifier, SIGINT)
        XCTAssertEqual(again.waitExit(timeout: 3), 0)
    }

    /// The log writer and the reply encoder allocate from the main malloc arena, the one whose top
    /// `malloc_trim` gives back (`MemoryReturn.useOneArena`). Read from the process's mappings:
    /// glibc makes each other arena a heap of its own, reserved as 64 MiB at an address aligned to
    /// 64 MiB (read-write as far as it is used, no access beyond); two of them before.
    func testHelperThreadsAllocateFromTheMainArena() throws {
        let server = try Child(try executable(), ["--address", "127.0.0.1:0", "--http-address="])
        _ = try server.boundPort()  // the log writer has written, the reply encoder has started
        for _ in 0..<2 {
            XCTAssertEqual(try secondaryArenaHeaps(pid: server.process.processIdentifier), [])
            usleep(200_000)
        }
        kill(server.process.processIdentifier, SIGINT)
        XCTAssertEqual(server.waitExit(timeout: 3), 0)
    }

    /// The start addresses of the glibc arena heaps in `/proc/PID/maps` (the main arena's is `[heap]`).
    private func secondaryArenaHeaps(pid: Int32) throws -> [String] {
        let heapSize: UInt = 64 << 20
        let maps = try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)
        let rows = maps.split(separator: "\n").map { line -> (start: UInt, end: UInt, access: Substring, named: Bool) in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let range = fields[0].split(separator: "-").map { UInt($0, radix: 16)! }
            return (range[0], range[1], fields[1], fields.count > 5)
        }
        var heaps: [String] = []
        for (index, row) in rows.enumerated() where row.access == "rw-p" && !row.named && row.start % heapSize == 0 {
            var end = row.end
            if index + 1 < rows.count, rows[index + 1].start == row.end, rows[index + 1].access == "---p" {
                end = rows[index + 1].end
            }
            if end - row.start == heapSize { heaps.append(String(row.start, radix: 16)) }
        }
        return heaps
    }
}
