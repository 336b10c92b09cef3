import Foundation
@testable import TopologyServer
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The options the server sets on the sockets it accepts, read back from the accepted sockets
/// themselves: the server runs in this process, so its end of a test connection is one of this
/// process's descriptors (the one whose peer is the client's local address).
final class SocketOptionTests: XCTestCase {
    func testAcceptedConnectionsGetKeepaliveAsConfigured() throws {
        let server = try httpServer { $0.tcpKeepaliveMs = 6_500 }
        defer { server.stop() }
        let frames = try server.client()
        _ = try frames.topology()
        let http = try server.http()
        http.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try http.response().status, 200)

        for (name, clientFD, serverPort) in [("frames", frames.fd, server.port), ("http", http.fd, server.httpPort)] {
            let accepted = try XCTUnwrap(acceptedSocket(serverPort: serverPort, clientPort: localPort(clientFD)), name)
            XCTAssertEqual(option(accepted, SOL_SOCKET, SO_KEEPALIVE), 1, name)
            XCTAssertEqual(option(accepted, Int32(IPPROTO_TCP), TCP_KEEPIDLE), 7, "\(name): 6.5 s rounds up to whole seconds")
            XCTAssertEqual(option(accepted, Int32(IPPROTO_TCP), TCP_KEEPINTVL), 2, name)
            XCTAssertEqual(option(accepted, Int32(IPPROTO_TCP), TCP_KEEPCNT), 3, name)
            XCTAssertEqual(option(accepted, Int32(IPPROTO_TCP), TCP_NODELAY), 1, name)
        }
    }

    func testKeepaliveZeroLeavesItOff() throws {
        let server = try RunningServer { $0.tcpKeepaliveMs = 0 }
        defer { server.stop() }
        let client = try server.client()
        _ = try client.topology()
        let accepted = try XCTUnwrap(acceptedSocket(serverPort: server.port, clientPort: localPort(client.fd)))
        XCTAssertEqual(option(accepted, SOL_SOCKET, SO_KEEPALIVE), 0)
        XCTAssertEqual(option(accepted, Int32(IPPROTO_TCP), TCP_NODELAY), 1)
    }

    private func option(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }

    private func localPort(_ fd: Int32) -> UInt16 { port(of: fd, getsockname) }

    private func port(of fd: Int32, _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) }
        }
        return rc == 0 && Int32(address.sin_family) == AF_INET ? UInt16(bigEndian: address.sin_port) : 0
    }

    /// This process's descriptor bound to `serverPort` whose peer is `clientPort`.
    private func acceptedSocket(serverPort: UInt16, clientPort: UInt16) throws -> Int32? {
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            guard let fd = Int32(entry),
                  let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)"),
                  target.hasPrefix("socket:") else { continue }
            if port(of: fd, getsockname) == serverPort && port(of: fd, getpeername) == clientPort { return fd }
        }
        return nil
    }
}
