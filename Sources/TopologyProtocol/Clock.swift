/// Where the protocol logic gets the time, when it must read it itself rather than be given it:
/// the heartbeat path stamps each heartbeat when the core takes it, and measures how long it took.
/// The server's implementation reads the system clock (`ServerClock`); tests use `ManualClock`.
public protocol Clock {
    /// Nanoseconds of a monotonic clock, for durations and as the source of `ms(monotonicNs:)`.
    func monotonicNs() -> Int64
    /// Milliseconds since the Unix epoch as of an earlier `monotonicNs()` reading: the time the
    /// core is given.
    func ms(monotonicNs: Int64) -> Int64
}

extension Clock {
    /// Milliseconds since the Unix epoch, now.
    public func nowMs() -> Int64 { ms(monotonicNs: monotonicNs()) }
}

/// A clock that moves only when told to: tests set the time, hand it to the code under test, and
/// advance it between inputs. A class, so the code holding it sees each advance.
public final class ManualClock: Clock {
    /// Nanoseconds since the clock was made.
    public private(set) var ns: Int64 = 0
    private let startMs: Int64

    public init(startMs: Int64 = 1_700_000_000_000) {
        self.startMs = startMs
    }

    public func monotonicNs() -> Int64 { ns }

    public func ms(monotonicNs: Int64) -> Int64 { startMs + monotonicNs / 1_000_000 }

    public func advance(ms: Int64) { ns += ms * 1_000_000 }

    public func advance(ns: Int64) { self.ns += ns }
}
