#if canImport(Glibc)
import Glibc
#endif
import CTopologyShims
import TopologyProtocol

/// The server's time: Unix epoch milliseconds that advance with CLOCK_MONOTONIC. The wall clock is
/// read once, at start; from then on a change of the system time (NTP step, an operator's `date`)
/// cannot fire or hold back a liveness deadline. The one `Clock` that reads the system clock.
struct ServerClock: Clock {
    private let wallStartMs: Int64
    private let monoStartNs: Int64

    init() {
        wallStartMs = ServerClock.read(CLOCK_REALTIME) / 1_000_000
        monoStartNs = ServerClock.read(CLOCK_MONOTONIC)
    }

    /// `nowMs()` as of an earlier `monotonicNs()` reading.
    func ms(monotonicNs: Int64) -> Int64 {
        wallStartMs + (monotonicNs - monoStartNs) / 1_000_000
    }

    /// Nanoseconds of CLOCK_MONOTONIC, for measuring durations.
    func monotonicNs() -> Int64 { ServerClock.read(CLOCK_MONOTONIC) }

    /// Nanoseconds of the wall clock now: for log timestamps only, never for a deadline.
    static func wallClockNs() -> Int64 { read(CLOCK_REALTIME) }

    private static func read(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)  // cannot fail for these two clocks
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// A random id for this server process: 32 hex digits from the kernel's random source.
func makeServerEpoch() -> String {
    var bytes = [UInt8](repeating: 0, count: 16)
    let got = bytes.withUnsafeMutableBytes { raw in try? syscallBlocking("getrandom") { topology_getrandom(raw.baseAddress, 16) } }
    if got != 16 {
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
    }
    return bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
