import TopologyCore
import TopologyWire

/// The graph's history as JSON (`GET /api/v1/history`, and the 404 bodies of
/// `/api/v1/topology?at=`), in the style of the rest of the HTTP API: lowerCamelCase names, 64-bit
/// integers as decimal strings, times in Unix milliseconds.
enum HistoryJSON {
    /// `{"startMs":…,"endMs":"…","retentionMs":"…","intervalMs":"…","bytes":"…","maxBytes":"…",
    /// "maxServices":…,"paused":"…","samples":[{"timeMs":"…","revision":"…","nodes":…,"edges":…}]}`:
    /// `startMs` null while nothing is held, `paused` present only while the history is paused.
    static func index(_ history: TopologyHistory, now: Int64) -> [UInt8] {
        let limits = history.limits
        var out: [UInt8] = []
        out += #"{"startMs":\#(history.startMs(now: now).map { "\"\($0)\"" } ?? "null"),"endMs":"\#(now)","#.utf8
        out += #""retentionMs":"\#(limits.retentionMs)","intervalMs":"\#(limits.intervalMs)","bytes":"\#(history.bytes)","#.utf8
        out += #""maxBytes":"\#(limits.maxBytes)","maxServices":\#(limits.maxServices),"#.utf8
        if let paused = history.paused {
            out += #""paused":"#.utf8
            JSONText.appendQuoted(message(paused), to: &out)
            out.append(UInt8(ascii: ","))
        }
        out += #""samples":["#.utf8
        for (index, sample) in history.samples.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += #"{"timeMs":"\#(sample.timeMs)","revision":"\#(sample.revision)","nodes":\#(sample.snapshot.nodes.count),"edges":\#(sample.snapshot.edges.count)}"#.utf8
        }
        out += "]}".utf8
        return out
    }

    /// Why `at` has no answer, with the bounds that have one.
    static func outOfRange(at: Int64, startMs: Int64?, endMs: Int64) -> [UInt8] {
        let error = startMs.map { "no graph at \(at): the history holds \($0) to \(endMs) (Unix ms)" }
            ?? "no graph at \(at): the history holds no sample yet; the first is taken when the graph changes"
        var out = Array(#"{"error":"#.utf8)
        JSONText.appendQuoted(error, to: &out)
        out += #","at":"\#(at)","startMs":\#(startMs.map { "\"\($0)\"" } ?? "null"),"endMs":"\#(endMs)"}"#.utf8
        return out
    }

    /// The history is off or paused.
    static func unavailable(_ pause: TopologyHistory.Pause?) -> [UInt8] {
        let error = pause.map(message) ?? "the history is off (--history-minutes 0); restart with --history-minutes N to keep N minutes"
        var out = Array(#"{"error":"#.utf8)
        JSONText.appendQuoted(error, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    static func message(_ pause: TopologyHistory.Pause) -> String {
        switch pause {
        case .tooManyServices(let count, let limit):
            return "the history is paused: \(count) services is more than the \(limit) it samples (a sample would hold the event loop too long); it resumes below that"
        case .overBudget(let bytes, let limit):
            return "the history is paused: one sample (\(bytes) bytes) is larger than --history-max-bytes \(limit); it resumes when one fits"
        }
    }
}
