import TopologyHTTP2
import TopologyProtocol

/// gRPC on the frames port: a connection whose first bytes are the HTTP/2 client preface is handed
/// to a `GRPCSession`, which serves the same RPCs through the same dispatcher. This file only moves
/// its bytes and serves its `grpc-timeout` deadlines.
extension Server {
    /// The HTTP/2 settings of gRPC connections: the existing limits, applied to streams.
    var grpcLimits: HTTP2Limits {
        var limits = HTTP2Limits()
        limits.maxConcurrentStreams = min(limits.maxConcurrentStreams, configuration.maxCallsPerConnection)
        return limits
    }

    /// The frames session saw the HTTP/2 preface: gRPC speaks for the connection from now on,
    /// starting with the bytes the frames session had buffered.
    func startGRPC(_ connection: Connection, now: Int64) {
        connection.grpc = GRPCSession(callState: connection.session.callState, limits: grpcLimits, maxMessageBytes: configuration.maxFrameBytes)
        connection.grpcInput = connection.session.takeBufferedBytes()
        logger.debug("grpc connection", ["peer": connection.peer])
        processGRPC(connection, now: now)
    }

    func processGRPC(_ connection: Connection, now: Int64) {
        guard !connection.closing, !connection.grpcInput.isEmpty else { return }
        var input: [UInt8] = []
        swap(&input, &connection.grpcInput)
        answer(connection, now: now) { sink in
            connection.grpc!.receive(input[...], &dispatcher, topology: &topology, &sink)
        }
        input.removeAll(keepingCapacity: true)
        swap(&input, &connection.grpcInput)
        noteGRPCDeadline(connection)
        if connection.grpc!.isClosed { beginClosing(connection, now: now) }
    }

    private func noteGRPCDeadline(_ connection: Connection) {
        if connection.grpc?.nextDeadlineMs != nil {
            grpcConnectionsWithDeadlines.insert(connection.id)
        } else {
            grpcConnectionsWithDeadlines.remove(connection.id)
        }
    }

    func nextGRPCDeadlineMs() -> Int64? {
        grpcConnectionsWithDeadlines.compactMap { connections[$0]?.grpc?.nextDeadlineMs }.min()
    }

    func runGRPCTimers(now: Int64) {
        for id in grpcConnectionsWithDeadlines {
            guard let connection = connections[id], !connection.closing else {
                grpcConnectionsWithDeadlines.remove(id)
                continue
            }
            guard let due = connection.grpc?.nextDeadlineMs, due <= now else { continue }
            answer(connection, now: now) { sink in
                connection.grpc!.runTimers(now: now, &dispatcher, topology: &topology, &sink)
            }
            noteGRPCDeadline(connection)
        }
    }
}
