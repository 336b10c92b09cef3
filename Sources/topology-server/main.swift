// topology-server: parses the command line, then runs the server until SIGINT/SIGTERM.
// Exit codes: 0 after a graceful shutdown, 1 when the server cannot start (e.g. port in use),
// 2 for a bad flag or value.
import TopologyServer
#if canImport(Glibc)
import Glibc
#endif
import Foundation

func fail(_ line: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("topology-server: \(line)\n".utf8))
    exit(code)
}

let action: CommandLineAction
do {
    action = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
} catch {
    fail(error.message, code: 2)
}

switch action {
case .help(let text):
    print(text, terminator: "")
case .version(let text):
    print(text)
case .run(let configuration):
    let server = Server(configuration: configuration)
    do {
        try server.start(handleSignals: true)
    } catch let error as SystemError where error.errno == EADDRINUSE {
        if let http = configuration.httpAddress, error.operation == "bind \(http)" {
            fail("HTTP address \(http) is already in use (another topology-server's dashboard?); choose another with "
                 + "--http-address HOST:PORT, or run without HTTP with --http-address=", code: 1)
        }
        fail("address \(configuration.address) is already in use (another server running?); choose another with --address", code: 1)
    } catch {
        fail("cannot start: \(error)", code: 1)
    }
    do {
        try server.run()
    } catch {
        fail("stopped on an error: \(error)", code: 1)
    }
}
