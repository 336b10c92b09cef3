// Compiled into every Swift fuzz target (see README.md): how an input is read, and how a target
// reports a broken invariant.

/// A fuzz input: a control byte, then the bytes under test.
struct FuzzInput {
    /// Chooses something the bytes alone cannot say: a message type, or where a stream is split.
    let control: UInt8
    let payload: [UInt8]

    /// nil for the empty input, which has no control byte.
    init?(_ data: UnsafePointer<UInt8>, _ size: Int) {
        guard size > 0 else { return nil }
        control = data[0]
        payload = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    }

    /// The reads a socket could deliver the payload in, which a sans-I/O parser must answer alike:
    /// all at once, in two reads split where `control` says (scaled to the payload, so long streams
    /// are split past their first 255 bytes too), and one byte per read.
    var readPatterns: [[ArraySlice<UInt8>]] {
        let split = payload.count * Int(control) / 255
        return [
            [payload[...]],
            [payload[..<split], payload[split...]],
            payload.indices.map { payload[$0...$0] },
        ]
    }
}

/// Stops the run when an invariant does not hold: libFuzzer keeps the input as a crash.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// Every read pattern gave the same answer.
func requireSameAnswer<Answer: Equatable>(_ answers: [Answer], _ what: String) {
    for answer in answers.dropFirst() {
        require(answer == answers[0], "\(what) depends on how the stream was split:\n\(answers.map { "\($0)" }.joined(separator: "\n"))")
    }
}
