// LoadGen: the load generator of scripts/bench.sh. Simulated services, connections, watchers and a
// probe against topology-server or the floor (bench/floor), on loopback, from one thread.
//
//   LoadGen floor-frame
//       prints the hex of a typical HeartbeatResponse frame (length prefix included): the floor's reply
//   LoadGen heartbeats --address HOST:PORT --pid PID [--target server|floor] [--label L]
//           [--connections N] [--services-per-connection N] [--rate HB_PER_S | --rate 0 --window N]
//           [--tick-ms N] [--warmup-ms N] [--duration-ms N]
//   LoadGen fleet --address HOST:PORT --pid PID [--label L] [--connections N] [--services-per-connection N]
//           [--interval-ms N] [--multiplier N] [--hold-ms N] [--get-topology N] [--watchers 1,10,100]
//           [--watch-ms N] [--probe-interval-ms N] [--settle-ms N] [--drain-ms N] [--silence N]
//           [--heartbeat-on-register 0|1] [--register-rate SERVICES_PER_S] [--register-with-ids 0|1]
//   LoadGen overload --address HOST:PORT --pid PID [--label L] [--connections N] [--services-per-connection N]
//           [--interval-ms N] [--multiplier N] [--watchers N] [--deaf-watchers N] [--hold-ms N] [--after-ms N]
//
// --pid is the process under test: its CPU time (utime+stime of /proc/PID/stat) and VmRSS are read
// at the edges of each measured window. Results: `RESULT <label>.<key> <value>` lines on stdout.
// Exit status 0 only if every check held (no errors, no missed deadline, every reply received).
import TopologyWire
#if canImport(Glibc)
import Glibc
#endif

var arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else {
    fatal("usage: LoadGen floor-frame | heartbeats ... | fleet ... (see bench/LoadGen/main.swift)")
}
arguments.removeFirst()

/// `--name value` pairs; each is taken once, and any left over is an unknown flag.
struct Flags {
    private var values: [String: String] = [:]

    init(_ arguments: [String]) {
        var index = 0
        while index < arguments.count {
            let name = arguments[index]
            guard name.hasPrefix("--"), index + 1 < arguments.count else { fatal("expected --flag value, got \(name)") }
            values[String(name.dropFirst(2))] = arguments[index + 1]
            index += 2
        }
    }

    mutating func int(_ name: String, _ fallback: Int) -> Int {
        guard let text = values.removeValue(forKey: name) else { return fallback }
        guard let value = Int(text), value >= 0 else { fatal("--\(name) needs a whole number, got \(text)") }
        return value
    }

    mutating func string(_ name: String, _ fallback: String) -> String {
        values.removeValue(forKey: name) ?? fallback
    }

    func finish() {
        if let unknown = values.keys.sorted().first { fatal("unknown flag --\(unknown)") }
    }
}

var flags = Flags(arguments)

let fileLimit = Net.raiseFileLimit()

/// The flags every scenario reads first: where the process under test listens, and its pid.
@MainActor func readTarget() -> (address: sockaddr_in, pid: Int32) {
    (Net.address(flags.string("address", "127.0.0.1:50053")), Int32(flags.int("pid", 0)))
}

/// Ends the flags, checks that the process under test was named and that `connections` sockets fit
/// under the file limit, runs `scenario` and exits with its verdict.
@MainActor func run(pid: Int32, connections: Int, _ scenario: () -> Bool) -> Never {
    flags.finish()
    guard pid > 0 else { fatal("--pid of the process under test is required") }
    // 16 to spare for the generator's own descriptors.
    guard connections + 16 < fileLimit else {
        fatal("\(connections) connections need ulimit -n above \(connections + 16) (it is \(fileLimit))")
    }
    exit(scenario() ? 0 : 1)
}

switch command {
case "floor-frame":
    // Call ids and sequences of 2 bytes, a 32-hex-digit server epoch: what the server sends.
    var bytes: [UInt8] = []
    Frame(callId: 200, message: .heartbeatResponse(HeartbeatResponse(
        sequence: 1_000, acknowledged: true, serverEpoch: String(repeating: "f", count: 32))))
        .encodeLengthPrefixed(appendingTo: &bytes)
    print(bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())

case "heartbeats":
    let (address, pid) = readTarget()
    let floorTarget = flags.string("target", "server") == "floor"
    var o = HeartbeatOptions()
    o.label = flags.string("label", o.label)
    o.connections = flags.int("connections", o.connections)
    o.perConnection = flags.int("services-per-connection", o.perConnection)
    o.rate = flags.int("rate", o.rate)
    o.window = flags.int("window", o.window)
    o.tickMs = max(1, flags.int("tick-ms", o.tickMs))
    o.warmupMs = flags.int("warmup-ms", o.warmupMs)
    o.durationMs = flags.int("duration-ms", o.durationMs)
    run(pid: pid, connections: o.connections) {
        runHeartbeats(Driver(address: address, floorTarget: floorTarget), pid: pid, o)
    }

case "fleet":
    let (address, pid) = readTarget()
    var o = FleetOptions()
    o.label = flags.string("label", o.label)
    o.connections = flags.int("connections", o.connections)
    o.perConnection = flags.int("services-per-connection", o.perConnection)
    o.intervalMs = max(1, flags.int("interval-ms", o.intervalMs))
    o.multiplier = max(1, flags.int("multiplier", o.multiplier))
    o.tickMs = max(1, flags.int("tick-ms", o.tickMs))
    o.holdMs = flags.int("hold-ms", o.holdMs)
    o.getTopology = flags.int("get-topology", o.getTopology)
    let watchers = flags.string("watchers", "")
    o.watchers = watchers.split(separator: ",").map { Int($0) ?? 0 }.filter { $0 > 0 }
    o.watchMs = flags.int("watch-ms", o.watchMs)
    o.probeIntervalMs = max(1, flags.int("probe-interval-ms", o.probeIntervalMs))
    o.settleMs = flags.int("settle-ms", o.settleMs)
    o.drainMs = flags.int("drain-ms", o.drainMs)
    o.silence = flags.int("silence", o.silence)
    o.heartbeatOnRegister = flags.int("heartbeat-on-register", 0) != 0
    o.registerRate = max(0, flags.int("register-rate", 0))
    o.registerWithIds = flags.int("register-with-ids", 0) != 0
    run(pid: pid, connections: o.connections + (o.watchers.max() ?? 0)) {
        runFleet(Driver(address: address, floorTarget: false), pid: pid, o)
    }

case "overload":
    let (address, pid) = readTarget()
    var o = OverloadOptions()
    o.label = flags.string("label", o.label)
    o.connections = flags.int("connections", o.connections)
    o.perConnection = flags.int("services-per-connection", o.perConnection)
    o.intervalMs = max(1, flags.int("interval-ms", o.intervalMs))
    o.multiplier = max(2, flags.int("multiplier", o.multiplier))
    o.watchers = flags.int("watchers", o.watchers)
    o.deafWatchers = min(o.watchers, flags.int("deaf-watchers", o.deafWatchers))
    o.holdMs = flags.int("hold-ms", o.holdMs)
    o.afterMs = flags.int("after-ms", o.afterMs)
    run(pid: pid, connections: o.connections + o.watchers) {
        runOverload(Driver(address: address, floorTarget: false), pid: pid, o)
    }

default:
    fatal("unknown command \(command): floor-frame, heartbeats, fleet or overload")
}
