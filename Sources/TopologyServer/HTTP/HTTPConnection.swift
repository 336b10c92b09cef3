import TopologyProtocol

/// One HTTP client connection: its socket, its session (the protocol: requests, responses, event
/// stream, deadlines), and its outbound queue.
final class HTTPConnection: OutboundQueue {
    let id: UInt64
    let fd: Int32
    var session: HTTPSession
    var ahead = QueuedSegments()
    var outbound: [UInt8] = []
    var writeIndex = 0
    var waitingForWritable = false
    var scheduledForFlush = false
    var countedPendingBytes = 0
    /// The epoll events registered for the socket.
    var registeredEvents: UInt32

    init(id: UInt64, fd: Int32, session: HTTPSession, registeredEvents: UInt32) {
        self.id = id
        self.fd = fd
        self.session = session
        self.registeredEvents = registeredEvents
    }

    var isWaitingForRequest: Bool { session.isWaitingForRequest(pendingBytes: pendingBytes) }
}
