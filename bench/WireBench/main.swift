// WireBench: what the wire library costs per operation, next to a floor measured in the same run.
//
//   swift run -c release WireBench [--iterations N] [--case NAME]
//
// Cases: encode/decode of a Frame holding a HeartbeatRequest, and of a Frame holding a 1,000-node
// TopologySnapshot; the same snapshot in the proto3 JSON mapping (what /api/v1/topology serves).
// The floor for each is copying the same number of bytes into a fresh array: no encoder can do
// less than produce its bytes, so the ratio says how far above that minimum we are.
// `--case` runs one case alone, for counting allocations under valgrind (scripts/bench-wire-allocs.sh).
import Foundation
import TopologyWire

struct Case {
    let name: String
    let bytes: Int
    let run: () -> Int  // returns something derived from the work so it cannot be optimized away
}

func heartbeatFrame() -> Frame {
    Frame(callId: 7, message: .heartbeatRequest(HeartbeatRequest(
        serviceId: "6f1c4d2e-8b1a-4c3e-9f00-1234567890ab", sequence: 123_456,
        metrics: ServiceMetrics(cpuPercent: 12.5, memoryBytes: 512 << 20),
        health: ApplicationHealth(state: .healthy))))
}

func snapshotFrame(nodes: Int) -> Frame {
    let nodeList = (0..<nodes).map { index in
        ServiceNode(
            serviceId: String(format: "6f1c4d2e-8b1a-4c3e-9f00-%012d", index), serviceName: "service-\(index)",
            serviceType: .server, language: .swift, version: "1.4.2", address: "10.0.\(index / 256).\(index % 256):8080",
            metadata: ServiceMetadata(region: "eu-west-1", environment: "production", team: "payments"),
            state: .active, lastHeartbeatMs: 1_763_900_000_000 + Int64(index), lastActivityMs: 1_763_900_000_000,
            health: .healthy)
    }
    let edges = (0..<nodes).map { index in
        ServiceEdge(
            sourceServiceId: nodeList[index].serviceId, targetService: "service-\((index + 1) % nodes)",
            state: .active, lastActivityMs: 1_763_900_000_000, totalRequests: 10_000, totalErrors: 12,
            avgLatencyMs: 3.25, rps: 41.5, latencyP50Ms: 2.5, latencyP95Ms: 7.5, latencyP99Ms: 12.25)
    }
    return Frame(callId: 9, message: .getTopologyResponse(GetTopologyResponse(snapshot: TopologySnapshot(
        nodes: nodeList, edges: edges, timestampMs: 1_763_900_000_000, revision: 42))))
}

/// A case's floor: copying `bytes` into a fresh array.
func floorCopy(_ bytes: [UInt8], label: String) -> Case {
    Case(name: "\(label).floor-copy", bytes: bytes.count) {
        // A real copy (Array(bytes) would only share the storage).
        let copy = bytes.withUnsafeBytes { [UInt8]($0) }
        return Int(copy[copy.count / 2])
    }
}

/// Encode and decode of `frame`, then their floor.
func cases(for frame: Frame, label: String) -> [Case] {
    var encoded: [UInt8] = []
    frame.encodeLengthPrefixed(appendingTo: &encoded)
    var output: [UInt8] = []
    output.reserveCapacity(encoded.count)
    var decoder = FrameDecoder(maximumFrameSize: 1 << 24)  // one per connection, reused
    return [
        Case(name: "\(label).encode", bytes: encoded.count) {
            output.removeAll(keepingCapacity: true)  // a connection's reusable output buffer
            frame.encodeLengthPrefixed(appendingTo: &output)
            return output.count
        },
        Case(name: "\(label).decode", bytes: encoded.count) {
            decoder.append(encoded)
            return (try? decoder.next())?.callId == frame.callId ? 1 : 0
        },
        floorCopy(encoded, label: label),
    ]
}

/// The JSON of `snapshot`, then its floor.
func jsonCases(for snapshot: TopologySnapshot, label: String) -> [Case] {
    let json = snapshot.jsonUTF8()
    return [
        Case(name: "\(label).json", bytes: json.count) { snapshot.jsonUTF8().count },
        floorCopy(json, label: label + "-json"),
    ]
}

func nanosecondsPerRun(_ body: () -> Int, iterations: Int) -> (Double, Int) {
    var sink = 0
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<iterations { sink &+= body() }
    let elapsed = DispatchTime.now().uptimeNanoseconds - start
    return (Double(elapsed) / Double(iterations), sink)
}

var iterations: Int?
var only: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--iterations": iterations = arguments.next().flatMap { Int($0) }
    case "--case": only = arguments.next()
    default:
        print("usage: WireBench [--iterations N] [--case NAME]")
        exit(2)
    }
}

let snapshot = snapshotFrame(nodes: 1_000)
guard case .getTopologyResponse(let response)? = snapshot.message, let snapshotMessage = response.snapshot else { fatalError("no snapshot") }
/// Each group ends with its floor.
let groups = [cases(for: heartbeatFrame(), label: "heartbeat"), cases(for: snapshot, label: "snapshot1k"),
              jsonCases(for: snapshotMessage, label: "snapshot1k")]
let all = groups.flatMap { $0 }
if let only {
    guard let selected = all.first(where: { $0.name == only }) else {
        print("unknown case \(only); cases: \(all.map(\.name).joined(separator: ", "))")
        exit(2)
    }
    let (_, sink) = nanosecondsPerRun(selected.run, iterations: iterations ?? 1)
    print("ran \(selected.name) \(iterations ?? 1) times (\(sink))")
    exit(0)
}

print("| case | frame bytes | ns/op (best of 5) | x floor-copy |")
print("| --- | ---: | ---: | ---: |")
var sink = 0
for group in groups {
    let runs = iterations ?? (group[0].bytes < 1_000 ? 200_000 : 300)
    var best = [Double](repeating: .infinity, count: group.count)
    for _ in 0..<5 {  // interleaved, so load on the machine hits every case alike
        for (index, item) in group.enumerated() {
            let (ns, s) = nanosecondsPerRun(item.run, iterations: runs)
            best[index] = min(best[index], ns)
            sink &+= s
        }
    }
    for (index, item) in group.enumerated() {
        print(String(format: "| %@ | %d | %.0f | %.1f |", item.name, item.bytes, best[index], best[index] / best[group.count - 1]))
    }
}
if sink == 42 { print("") }  // keeps the work observable
