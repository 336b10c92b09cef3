// OTLPBench: spans ingested per second on one core, as a ratio to its floor measured in the same
// run: decoding the same bytes and doing nothing with them. The ingest is what a request to
// POST /v1/traces or TraceService/Export costs past the HTTP or gRPC framing: decode, then
// Topology.ingest (services found or created, peers read from attributes, calls on edges), with the
// activity flushes the clock makes due.
//
//   OTLPBench REQUEST_FILE [--seconds S]    (REQUEST_FILE: bench/otlp_request.py writes one)
//
// Prints RESULT lines for scripts/bench.sh. Each measure is the best of several rounds, interleaved
// (floor, ingest, floor, ...), so a noisy neighbour on a shared machine hurts both alike.
import Glibc
import TopologyCore
import TopologyWire

func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

func readFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { fatalError("cannot open \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count <= 0 { break }
        bytes += chunk[..<count]
    }
    return bytes
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fatalError("usage: OTLPBench REQUEST_FILE [--seconds S]") }
let body = readFile(arguments[1])
let seconds = arguments.firstIndex(of: "--seconds").flatMap { Double(arguments[$0 + 1]) } ?? 2.0
let limits = OTLPDecodingLimits(maximumBytes: 64 << 20)
let spansPerRequest = try! OTLPTraceRequest(protobuf: body, limits: limits).spanCount

var topology = Topology(configuration: TopologyConfiguration(), serverEpoch: "bench", now: 1_765_000_000_000,
                        randomNumberGenerator: SplitMix64(seed: 42))
var now: Int64 = 1_765_000_000_000
var calls = 0

/// Requests handled in `budget` ns of `work`, as nanoseconds per request.
func measure(_ budget: UInt64, _ work: () -> Void) -> Double {
    var requests = 0
    let start = monotonicNanoseconds()
    var elapsed: UInt64 = 0
    while elapsed < budget {
        for _ in 0..<16 { work() }
        requests += 16
        elapsed = monotonicNanoseconds() - start
    }
    return Double(elapsed) / Double(requests)
}

let floorWork = { blackHole(try! OTLPTraceRequest(protobuf: body, limits: limits)) }
let ingestWork = {
    let request = try! OTLPTraceRequest(protobuf: body, limits: limits)
    // A request every 10 ms (51,200 spans/s of clock time): the flushes every activityFlushMs are
    // part of the cost.
    now += 10
    calls += topology.ingest(request, now: now).calls
    if let deadline = topology.nextDeadline, deadline <= now { blackHole(topology.advance(to: now)) }
}

let rounds = 5
let budget = UInt64(seconds / Double(2 * rounds) * 1e9)
floorWork(); ingestWork()  // warm up: the services and edges exist from here on
var floorBest = Double.infinity
var ingestBest = Double.infinity
for _ in 0..<rounds {
    floorBest = min(floorBest, measure(budget, floorWork))
    ingestBest = min(ingestBest, measure(budget, ingestWork))
}
guard calls > 0, topology.edgeCount > 0 else { fatalError("the ingest made no edges: \(calls) calls, \(topology.edgeCount) edges, \(topology.ingest(try! OTLPTraceRequest(protobuf: body, limits: limits), now: now))") }
let spans = Double(spansPerRequest)
print("RESULT otlp.spans_per_request \(spansPerRequest)")
print("RESULT otlp.request_bytes \(body.count)")
print("RESULT otlp.decode_spans_per_s \(Int(spans * 1e9 / floorBest))")
print("RESULT otlp.ingest_spans_per_s \(Int(spans * 1e9 / ingestBest))")
print("RESULT otlp.decode_ns_per_span \(Int(floorBest / spans))")
print("RESULT otlp.ingest_ns_per_span \(Int(ingestBest / spans))")
print("RESULT otlp.ratio \((ingestBest / floorBest * 100).rounded() / 100)")
print("RESULT otlp.edges \(topology.edgeCount)")
