import TopologyServer
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

    func testBadInputNamesTheFlagAndTheAcceptedForm() {
        let cases: [([String], [String: String], String)] = [
            (["--nope"], [:], "unknown flag --nope"),
            (["--address", "localhost"], [:], "invalid --address localhost: expected HOST:PORT"),
            (["--address", "1.2.3.4:99999"], [:], "invalid --address"),
            (["--heartbeat-interval-ms", "0"], [:], "invalid --heartbeat-interval-ms 0"),
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
        XCTAssertLessThanOrEqual(text.split(separator: "\n").count, 40)
        guard case .version(let version) = try CommandLineOptions.parse(["--version"], environment: [:]) else { return XCTFail() }
        XCTAssertTrue(version.hasPrefix("topology-server "))
    }

    func testIPv6ServerOnEphemeralPort() throws {
        let server = try RunningServer { $0.address = ListenAddress(host: "::1", port: 0, family: .ipv6) }
        defer { server.stop() }
        XCTAssertNotEqual(server.port, 0)
        XCTAssertTrue(server.logLines.contains("address=[::1]:\(server.port)"))
    }
}
