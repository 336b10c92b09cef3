// swift-tools-version:6.0
//
// Topology: a service-topology server. The targets are the layers, and data flows one way:
//
//   TopologyWire   bytes <-> messages, framing. No sockets, no clock.
//   TopologyCore   state machine, edges, watch hub. Pure: time is passed in.
//   TopologyProtocol the RPCs and their call rules, per-connection protocol state, the metrics.
//                  Pure: bytes and time in, replies and actions out; no syscalls, no clock reads.
//   TopologyServer event loop, sockets, timers, CLI parsing. The only place with syscalls.
//   CTopologyShims epoll/timerfd/signalfd headers Glibc does not expose to Swift.
//   topology-server the executable: wires configuration to the server, nothing else.
//
// No package dependencies, by design: Foundation, Glibc and Dispatch only.
import PackageDescription

let package = Package(
    name: "Topology",
    products: [
        .executable(name: "topology-server", targets: ["topology-server"]),
        .library(name: "TopologyWire", targets: ["TopologyWire"]),
    ],
    targets: [
        .target(name: "TopologyWire"),
        .target(name: "TopologyCore", dependencies: ["TopologyWire"]),
        .target(name: "CTopologyShims"),
        .target(name: "TopologyHTTP2"),
        // Cross-module optimization lets the server specialize the session's and dispatcher's
        // generics (the heartbeat path) for its clock, as if the code were its own. It serializes
        // only what is public (not `package`), hence this target's public API; the target is no
        // product, so only this package sees it.
        .target(name: "TopologyProtocol", dependencies: ["TopologyCore", "TopologyWire", "TopologyHTTP2"],
                swiftSettings: [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]),
        // Release builds drop the run-time exclusivity checks of class properties: the event loop
        // touches a handful per heartbeat, about 600 instructions of ~3,000 in all (callgrind, see
        // docs/performance.md). Debug builds, which the tests run, keep them.
        // The dashboard's HTML, CSS and JavaScript are files of their own, compiled in as byte arrays.
        .target(name: "TopologyServer", dependencies: ["TopologyProtocol", "TopologyHTTP2", "TopologyCore", "TopologyWire", "CTopologyShims"],
                resources: [.embedInCode("Dashboard/index.html"), .embedInCode("Dashboard/dashboard.css"),
                            .embedInCode("Dashboard/dashboard.js"), .embedInCode("Dashboard/timeline.js"),
                            .embedInCode("Dashboard/timeline.css"),
                            .embedInCode("Dashboard/graph-model.js"), .embedInCode("Dashboard/graph-layout.js"),
                            .embedInCode("Dashboard/graph-scene.js"), .embedInCode("Dashboard/graph-paint.js")],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        .executableTarget(name: "topology-server", dependencies: ["TopologyServer"]),

        // Test helper: decodes and re-encodes messages read from stdin, so the Python differential
        // tests can hold the Swift codec against the official protobuf library.
        .executableTarget(name: "topology-wire-probe", dependencies: ["TopologyWire"]),

        .executableTarget(name: "WireBench", dependencies: ["TopologyWire"], path: "bench/WireBench"),
        .executableTarget(name: "CoreBench", dependencies: ["TopologyCore", "TopologyWire"], path: "bench/CoreBench"),
        // OTLP spans ingested per second, next to decoding the same bytes (scripts/bench.sh).
        .executableTarget(name: "OTLPBench", dependencies: ["TopologyCore", "TopologyWire"], path: "bench/OTLPBench"),
        // The load generator of scripts/bench.sh: simulated services, connections and watchers.
        .executableTarget(name: "LoadGen", dependencies: ["TopologyWire", "CTopologyShims"], path: "bench/LoadGen"),

        .testTarget(name: "TopologyWireTests", dependencies: ["TopologyWire"]),
        .testTarget(name: "TopologyCoreTests", dependencies: ["TopologyCore", "TopologyWire"]),
        .testTarget(name: "TopologyProtocolTests", dependencies: ["TopologyProtocol", "TopologyCore", "TopologyWire", "TopologyHTTP2"]),
        .testTarget(name: "TopologyHTTP2Tests", dependencies: ["TopologyHTTP2"]),
        .testTarget(name: "TopologyServerTests", dependencies: ["TopologyServer", "TopologyProtocol", "TopologyCore", "TopologyWire"]),
    ]
)
