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
        XCTAssertLessThanOrEqual(lines.count, 40)
        for line in lines {
            XCTAssertLessThanOrEqual(line.count, 80, "wider than 80 columns: \(line)")
        }
        for option in CommandLineOptions.options {
            XCTAssertTrue(text.contains("  \(option.flag) "), "\(option.flag) missing")
        }
        guard case .version(let version) = try CommandLineOptions.parse(["--version"], environment: [:]) else { return XCTFail() }
        XCTAssertTrue(version.hasPrefix("topology-server "))
    }

    /// A flag added to the code but not to the startup line or to docs/operations.md fails here.
    func testEveryFlagIsInTheStartupLineAndInTheOperationsGuide() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let line = try XCTUnwrap(server.logLines.all.first { $0.contains("msg=\"listening\"") })
        let guide = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/operations.md")
        let text = try String(contentsOf: guide, encoding: .utf8)
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
