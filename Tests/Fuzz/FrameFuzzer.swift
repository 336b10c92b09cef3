// Fuzz target `frame`: FrameDecoder fed a byte stream, read three ways (FuzzInput.readPatterns).
// It must never crash, and the frames and the verdict it reaches must not depend on the reads.
//
// Input: [split control byte] [stream: length-prefixed Frames, or anything]

/// A limit small enough that the fuzzer meets it often (the golden frames are all under it).
let maximumFrameSize = 1024

/// What a decoder made of a whole stream. Frames are kept re-encoded: a NaN inside one would make
/// two equal decodings compare unequal as values, and the bytes also pin the NaN's payload.
struct StreamAnswer: Equatable, CustomStringConvertible {
    var frames: [[UInt8]] = []
    var error: FramingError? = nil

    var description: String { "\(frames.count) frames (\(frames.map(\.count)) bytes), then \(error.map { "\($0)" } ?? "clean end")" }
}

func decode(_ reads: [ArraySlice<UInt8>]) -> StreamAnswer {
    var decoder = FrameDecoder(maximumFrameSize: maximumFrameSize)
    var answer = StreamAnswer()
    do {
        for read in reads {
            decoder.append(read)
            while let frame = try decoder.next() { answer.frames.append(frame.serializedBytes()) }
        }
        try decoder.finish()
    } catch let error as FramingError {
        answer.error = error
    } catch {
        require(false, "FrameDecoder threw something other than a FramingError: \(error)")
    }
    return answer
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let input = FuzzInput(data, size) else { return 0 }
    requireSameAnswer(input.readPatterns.map(decode), "FrameDecoder's answer")
    return 0
}
