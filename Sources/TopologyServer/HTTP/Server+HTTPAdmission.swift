import TopologyProtocol

/// Admission at the `--max-http-connections` limit. Slow or idle clients (a slowloris: many
/// connections, each trickling a request head that never ends) must not be able to hold every slot
/// and so turn away the load balancer's `/healthz` probe. When the table is full, the connection that
/// has waited longest for a request head is closed to admit the newcomer, as nginx reuses its idle
/// connections; a connection with work in progress (a request being answered, a response being
/// written, an event stream) is never closed for this, so only a table full of busy connections
/// refuses the newcomer with 503.
extension Server {
    /// Frees a slot for a connection accepted while every slot is taken. Returns false when every
    /// connection is busy.
    func makeRoomForHTTPConnection(now: Int64) -> Bool {
        // `deadlineMs` is the time the wait for the current request began plus the same timeout for
        // all, so the earliest is the longest wait; of two in the same millisecond, the older.
        let candidates = httpConnections.values.filter(\.isWaitingForRequest)
            .sorted { ($0.session.deadlineMs, $0.id) < ($1.session.deadlineMs, $1.id) }
        for candidate in candidates {
            // What it sent since the loop last read it (a request, or its end of stream) is read
            // first: a request already sent is answered, not dropped, and a socket closed with
            // unread input would be reset rather than closed.
            readHTTP(candidate, now: now)
            if httpConnections.count < configuration.maxHTTPConnections { return true }
            guard httpConnections[candidate.id] != nil, candidate.isWaitingForRequest else { continue }
            evictHTTP(candidate, now: now)
            return true
        }
        return false
    }

    /// Closes a connection waiting for a request head at once (no lingering close: the slot is needed
    /// now). One that had begun a request is told why with a 408, as at its request deadline.
    private func evictHTTP(_ connection: HTTPConnection, now: Int64) {
        let begun = connection.session.requestBytesBuffered > 0
        metrics.httpEvicted(requestBegun: begun)
        if begun {
            let waitedMs = now - connection.session.deadlineMs + configuration.httpRequestTimeoutMs
            Server.writeLastHTTPResponse(.text(.requestTimeout, "request head not complete after \(waitedMs) ms while all --max-http-connections=\(configuration.maxHTTPConnections) connections were in use: closed to admit another; send the whole request head at once"), to: connection.fd)
            metrics.httpRequests[HTTPStatus.requestTimeout.code, default: 0] += 1
        }
        closeHTTPNow(connection, reason: begun ? "evicted: request head incomplete, every slot taken" : "evicted: idle, every slot taken")
    }

    /// Writes a response on a socket about to be closed, as much of it as the socket takes without
    /// blocking (a one-line text response fits in any send buffer).
    static func writeLastHTTPResponse(_ response: HTTPResponse, to fd: Int32) {
        var bytes: [UInt8] = []
        response.serialize(into: &bytes, keepAlive: false, headOnly: false)
        _ = try? bytes.withUnsafeBytes { try Sockets.write(fd, $0) }
    }
}
