// Fuzz target `http`: HTTPRequestParser (Sources/TopologyProtocol/HTTP/HTTPParser.swift) fed a byte
// stream read three ways (FuzzInput.readPatterns). It must never crash, must answer alike however
// the stream was split, and every request it accepts, written out again (its body too), must parse
// to itself.
//
// Input: [split control byte] [stream: HTTP requests, or anything]

/// Limits small enough that the fuzzer meets each of them often.
let fuzzLimits = HTTPLimits(maxRequestLineBytes: 96, maxHeaderBytes: 256, maxHeaderCount: 8, maxBodyBytes: 64)

/// A parsed request with what `HTTPRequest.==` leaves out (it compares the wire form only).
struct ParsedRequest: Equatable, CustomStringConvertible {
    var request: HTTPRequest
    var path: String
    var query: [String]
    var keepAlive: Bool

    init(_ request: HTTPRequest) {
        self.request = request
        path = request.path
        query = request.query.map { "\($0.0)=\($0.1)" }
        keepAlive = request.keepAlive
    }

    var description: String { "\(request.method) \(request.target) 1.\(request.minorVersion) \(request.headers)" }

    /// The request as a client would write it.
    var serialized: [UInt8] {
        var head = "\(request.method) \(request.target) HTTP/1.\(request.minorVersion)\r\n"
        for header in request.headers { head += "\(header.name): \(header.value)\r\n" }
        return Array((head + "\r\n").utf8) + request.body
    }
}

struct ParserAnswer: Equatable, CustomStringConvertible {
    var requests: [ParsedRequest] = []
    var error: HTTPParseError? = nil
    /// Bytes of an incomplete request at the end; after an error, how many there were is up to the reads.
    var bufferedBytes = 0

    var description: String { "\(requests), then \(error.map { "\($0)" } ?? "\(bufferedBytes) bytes waiting")" }
}

func parse(_ reads: [ArraySlice<UInt8>], limits: HTTPLimits) -> ParserAnswer {
    var parser = HTTPRequestParser(limits: limits)
    var answer = ParserAnswer()
    do throws(HTTPParseError) {
        for read in reads {
            parser.append(read)
            while let request = try parser.next() { answer.requests.append(ParsedRequest(request)) }
        }
        answer.bufferedBytes = parser.bufferedBytes
    } catch {
        answer.error = error
    }
    return answer
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let input = FuzzInput(data, size) else { return 0 }
    let answers = input.readPatterns.map { parse($0, limits: fuzzLimits) }
    requireSameAnswer(answers, "HTTPRequestParser's answer")
    for accepted in answers[0].requests {
        // Default limits: the rewrite may be longer than the original ("name: value" for "name:value").
        let reparsed = parse([accepted.serialized[...]], limits: HTTPLimits())
        require(reparsed == ParserAnswer(requests: [accepted]),
                "an accepted request does not parse to itself once written out again:\n\(accepted)\n\(reparsed)")
    }
    return 0
}
