@testable import TopologyServer
import XCTest

final class CommandLineTests: XCTestCase {
    private func configuration(_ arguments: [String], _ environment: [String: String] = [:]) throws -> ServerConfiguration {
        guard case .run(let c) = try CommandLineOptions.parse(arguments, environment: environment) else {
            throw TestTimeout(description: "not a run action")
        }
        return c
    }

    func testDefaults() throws {
        let c = try configuration([])
        XCTAssertEqual(c.address.description, "127.0.0.1:50053")
        XCTAssertEqual(c.maxFrameBytes, 1 << 20)
        XCTAssertEqual(c.maxConnections, 10_000)
        XCTAssertGreaterThanOrEqual(c.maxCallsPerConnection, 1_000)
        XCTAssertEqual(c.logLevel, .info)
        XCTAssertEqual(c.frameTimeoutMs, 30_000)
        XCTAssertEqual(c.tcpKeepaliveMs, 30_000)
    }

    func testKeepaliveAndFrameTimeoutFlags() throws {
        XCTAssertEqual(try configuration(["--tcp-keepalive-ms", "0"]).tcpKeepaliveMs, 0)
        XCTAssertEqual(try configuration(["--tcp-keepalive-ms", "1000"]).tcpKeepaliveMs, 1_000)
        XCTAssertEqual(try configuration([], ["TOPOLOGY_FRAME_TIMEOUT_MS": "250"]).frameTimeoutMs, 250)
        // Below a second the kernel cannot do it (whole seconds); past 32767 s it refuses.
        for bad in ["999", "32767001", "-1"] {
            XCTAssertThrowsError(try configuration(["--tcp-keepalive-ms", bad])) { error in
                XCTAssertTrue("\(error)".contains("0 (off), or an integer of milliseconds, 1000 to 32767000"), "\(error)")
            }
        }
        XCTAssertThrowsError(try configuration(["--frame-timeout-ms", "0"]))
    }

    func testFlagsBothFormsAndEnvironmentWithFlagWinning() throws {
        let c = try configuration(
            ["--heartbeat-interval-ms", "100", "--address=[::1]:0", "--max-connections", "7"],
            ["TOPOLOGY_MAX_CONNECTIONS": "3", "TOPOLOGY_TIMEOUT_MULTIPLIER": "5", "TOPOLOGY_LOG_LEVEL": "debug"])
        XCTAssertEqual(c.topology.heartbeatIntervalMs, 100)
        XCTAssertEqual(c.address, ListenAddress(host: "::1", port: 0, family: .ipv6))
        XCTAssertEqual(c.address.description, "[::1]:0")
        XCTAssertEqual(c.maxConnections, 7)
        XCTAssertEqual(c.topology.timeoutMultiplier, 5)
        XCTAssertEqual(c.logLevel, .debug)
    }

    func testUnresolvedEdgeTimeoutFollowsTheIdleTimeoutUnlessSet() throws {
        XCTAssertEqual(try configuration([]).topology.unresolvedEdgeTimeoutMs, 60_000)
        XCTAssertEqual(try configuration(["--idle-timeout-ms", "1000"]).topology.unresolvedEdgeTimeoutMs, 2_000)
        XCTAssertEqual(try configuration([], ["TOPOLOGY_IDLE_TIMEOUT_MS": "4000"]).topology.unresolvedEdgeTimeoutMs, 8_000)
        // Set explicitly, in either order or from the environment: it stays as set.
        XCTAssertEqual(try configuration(["--unresolved-edge-timeout-ms", "500", "--idle-timeout-ms", "1000"])
            .topology.unresolvedEdgeTimeoutMs, 500)
        XCTAssertEqual(try configuration(["--idle-timeout-ms", "1000"], ["TOPOLOGY_UNRESOLVED_EDGE_TIMEOUT_MS": "700"])
            .topology.unresolvedEdgeTimeoutMs, 700)
        // And the server runs with it (the startup line shows the value in effect).
        let server = try RunningServer { $0.topology.idleTimeoutMs = 1_500 }
        defer { server.stop() }
        XCTAssertTrue(server.logLines.contains("unresolved_edge_timeout_ms=3000"))
    }

    func testBadInputNamesTheFlagAndTheAcceptedForm() {
        let cases: [([String], [String: String], String)] = [
            (["--nope"], [:], "unknown flag --nope"),
            (["--address", "localhost"], [:], "invalid --address localhost: expected HOST:PORT"),
            (["--address", "1.2.3.4:99999"], [:], "invalid --address"),
            (["--heartbeat-interval-ms", "0"], [:], "invalid --heartbeat-interval-ms 0"),
            // Durations past Int32.max ms would overflow the deadlines the core adds them to.
            (["--idle-timeout-ms", "9223372036854775807"], [:], "expected an integer of milliseconds, 1 to 2147483647"),
            (["--node-update-throttle-ms", "2147483648"], [:], "invalid --node-update-throttle-ms 2147483648"),
            (["--max-frame-bytes"], [:], "--max-frame-bytes needs a value"),
            (["--log-level", "loud"], [:], "debug, info, warn or error"),
            (["--http-address", "nowhere"], [:],
             "invalid --http-address nowhere: expected HOST:PORT (IPv4) or [IPV6]:PORT; port 0 picks a free port, or empty to disable HTTP"),
            ([], ["TOPOLOGY_TCP_KEEPALIVE_MS": "500"],
             "invalid TOPOLOGY_TCP_KEEPALIVE_MS=500: expected 0 (off), or an integer of milliseconds, 1000 to 32767000"),
            (["--max-outbound-bytes=4095"], [:], "invalid --max-outbound-bytes 4095: expected an integer of bytes, 4096 or more"),
            (["--timeout-multiplier", "1001"], [:], "invalid --timeout-multiplier 1001: expected an integer, 1 to 1000"),
            ([], ["TOPOLOGY_MAX_SERVICES": "-1"], "invalid TOPOLOGY_MAX_SERVICES=-1"),
        ]
        for (arguments, environment, expected) in cases {
            XCTAssertThrowsError(try CommandLineOptions.parse(arguments, environment: environment)) { error in
                let message = (error as? CommandLineError)?.message ?? ""
                XCTAssertTrue(message.contains(expected), "\(arguments): \(message)")
                XCTAssertFalse(message.contains("\n"))
            }
        }
    }

    func testHelpAndVersion() throws {
        guard case .help(let text) = try CommandLineOptions.parse(["--address", "1.2.3.4:5", "--help"], environment: [:]) else {
            return XCTFail()
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertLessThanOrEqual(lines.count, 50)  // one screen of a tall terminal: 50 rows of 80 columns
        for line in lines {
            XCTAssertLessThanOrEqual(line.count, 80, "wider than 80 columns: \(line)")
        }
        for option in CommandLineOptions.options {
            XCTAssertTrue(text.contains("  \(option.flag) "), "\(option.flag) missing")
        }
        guard case .version(let version) = try CommandLineOptions.parse(["--version"], environment: [:]) else { return XCTFail() }
        XCTAssertTrue(version.hasPrefix("topology-server "))
    }

    /// The value after "(default " in each flag's row of `--help` (its wrapped lines joined); no
    /// entry for a flag that shows none.
    private func defaultsInHelp() throws -> [String: String] {
        let lines = CommandLineOptions.helpText.split(separator: "\n").map(String.init)
        let indent = String(repeating: " ", count: 32)
        var defaults: [String: String] = [:]
        for option in CommandLineOptions.options {
            let start = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("  \(option.flag) ") }, "\(option.flag) missing")
            var row = lines[start]
            for line in lines[(start + 1)...].prefix(while: { $0.hasPrefix(indent) }) {
                row += " " + line.trimmingCharacters(in: .whitespaces)
            }
            if row.hasSuffix(")"), let open = row.range(of: " (default ", options: .backwards) {
                defaults[option.flag] = String(row[open.upperBound..<row.index(before: row.endIndex)])
            }
        }
        return defaults
    }

    /// Each default `--help` prints, given as the flag's value, leaves the configuration as it is
    /// without the flag: `ServerConfiguration()`, with the command line's HTTP address.
    func testTheDefaultsInHelpAreTheRunningConfigurationsDefaults() throws {
        let printed = try defaultsInHelp()
        XCTAssertEqual(Set(CommandLineOptions.options.map(\.flag)).subtracting(printed.keys), ["--auth-token-file", "--webhook-url"])
        XCTAssertEqual(printed["--unresolved-edge-timeout-ms"], "2 x --idle-timeout-ms")
        XCTAssertEqual(printed["--heartbeat-interval-ms"], "5000")
        XCTAssertEqual(printed["--http-address"], "127.0.0.1:50054")

        var expected = ServerConfiguration()
        expected.httpAddress = ListenAddress(host: "127.0.0.1", port: 50054, family: .ipv4)
        XCTAssertEqual(try configuration([]), expected)
        let asFlags = printed.filter { $0.key != "--unresolved-edge-timeout-ms" }.map { "\($0.key)=\($0.value)" }
        XCTAssertEqual(asFlags.count, CommandLineOptions.options.count - 3)
        XCTAssertEqual(try configuration(asFlags), expected)
    }

    private func operationsGuide() throws -> String {
        let guide = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/operations.md")
        return try String(contentsOf: guide, encoding: .utf8)
    }

    /// The flags table of docs/operations.md states the defaults `--help` prints.
    func testTheOperationsGuideStatesTheDefaultsOfHelp() throws {
        let rows = try operationsGuide().split(separator: "\n")
        for (flag, value) in try defaultsInHelp() where flag != "--unresolved-edge-timeout-ms" {
            let row = try XCTUnwrap(rows.first { $0.hasPrefix("| `\(flag)` |") }, "\(flag) missing from docs/operations.md")
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            XCTAssertEqual(cells[1].replacingOccurrences(of: "`", with: ""), value, "the default of \(flag) in docs/operations.md")
        }
    }

    /// A flag added to the code but not to the startup line or to docs/operations.md fails here.
    func testEveryFlagIsInTheStartupLineAndInTheOperationsGuide() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let line = try XCTUnwrap(server.logLines.all.first { $0.contains("msg=\"listening\"") })
        let text = try operationsGuide()
        for option in CommandLineOptions.options {
            let key = option.flag.dropFirst(2).replacingOccurrences(of: "-", with: "_")
            XCTAssertTrue(line.contains(" \(key)="), "\(key) missing from the startup line")
            XCTAssertTrue(text.contains("| `\(option.flag)` |"), "\(option.flag) missing from the flags table of docs/operations.md")
        }
    }

    func testIPv6ServerOnEphemeralPort() throws {
        let server = try RunningServer { $0.address = ListenAddress(host: "::1", port: 0, family: .ipv6) }
        defer { server.stop() }
        XCTAssertNotEqual(server.port, 0)
        XCTAssertTrue(server.logLines.contains("address=[::1]:\(server.port)"))
    }
}
