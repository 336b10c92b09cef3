// The generator's engine: one thread, one epoll loop, every simulated service, watcher and probe.
//
// Services are kept as parallel arrays indexed by service number (100,000 of them cost a few MB).
// Each connection carries the heartbeat streams of its services (one call_id each), or one watch,
// or the probe, or unary control calls. Replies to heartbeats come back in order on a connection,
// so each connection keeps a FIFO of (send time, service) and a reply is matched to its head: this
// works for the floor's fixed reply too, so both targets are timed the same way.
//
// Sending is paced (each service heartbeats every `interval`, due times spread evenly over it; the
// loop sends what is due once per tick, and writes each connection's batch with one send) or closed
// (each connection keeps `window` heartbeats in flight, a new one for each reply).
import CTopologyShims
import TopologyWire
#if canImport(Glibc)
import Glibc
#endif

final class Conn {
    enum Role { case heartbeats, watcher, probe, control }

    let fd: Int32
    let token: Int
    let role: Role
    var open = true
    var out: [UInt8] = []
    var outIndex = 0
    var waitingWritable = false
    var scheduledForFlush = false
    var inBuf: [UInt8] = []
    /// Services whose heartbeat streams this connection carries (heartbeats role).
    var services: [Int32] = []
    var roundRobin = 0
    /// In-flight heartbeats in send order: ring of (send ns, service).
    var fifoTimes: [Int64] = []
    var fifoServices: [Int32] = []
    /// Whether each heartbeat in flight counts in the measurement window (`Driver.sentInWindow`).
    var fifoCounted: [Bool] = []
    var fifoHead = 0
    var fifoCount: Int { fifoTimes.count - fifoHead }
    // Watchers.
    var snapshotSeen = false
    var decodeEveryFrame = false
    var lastProbeSeen = -1
    var watchFrames = 0
    /// Since when bytes have waited here because the socket took no more (0: none wait).
    var blockedSinceNs: Int64 = 0

    init(fd: Int32, token: Int, role: Role) {
        self.fd = fd
        self.token = token
        self.role = role
    }

    func push(_ sendNs: Int64, _ service: Int32, counted: Bool) {
        if fifoHead > 4096 && fifoHead * 2 > fifoTimes.count {
            fifoTimes.removeFirst(fifoHead)
            fifoServices.removeFirst(fifoHead)
            fifoCounted.removeFirst(fifoHead)
            fifoHead = 0
        }
        fifoTimes.append(sendNs)
        fifoServices.append(service)
        fifoCounted.append(counted)
    }

    func pop() -> (sentNs: Int64, service: Int32, counted: Bool)? {
        guard fifoHead < fifoTimes.count else { return nil }
        let entry = (fifoTimes[fifoHead], fifoServices[fifoHead], fifoCounted[fifoHead])
        fifoHead += 1
        if fifoHead == fifoTimes.count {
            fifoTimes.removeAll(keepingCapacity: true)
            fifoServices.removeAll(keepingCapacity: true)
            fifoCounted.removeAll(keepingCapacity: true)
            fifoHead = 0
        }
        return entry
    }
}

final class Driver {
    let address: sockaddr_in
    /// The target is the floor: no registration, and its fixed reply carries no call id to check.
    let floorTarget: Bool
    var poller = Poller()
    var conns: [Conn] = []
    private var flushList: [Conn] = []
    private var chunk = [UInt8](repeating: 0, count: 256 * 1024)

    // Services, by number.
    var serviceIds: [String] = []
    var callIds: [UInt64] = []
    var sequences: [Int64] = []
    var inFlight: [Bool] = []
    var lastSendNs: [Int64] = []
    var silenced: [Bool] = []
    var serviceConn: [Int32] = []
    var registered: [Bool] = []
    var serviceIndex: [String: Int32] = [:]

    // Pacing.
    var paced = false
    var intervalNs: Int64 = 1_000_000_000
    var tickNs: Int64 = 1_000_000
    private var schedule = PaceQueue()
    private var nextTickNs: Int64 = 0
    // Closed loop.
    var window = 0

    // Measurement.
    var measureStartNs: Int64 = .max
    var measureEndNs: Int64 = .max
    var rtt = Samples()
    var ackedInWindow = 0
    /// Heartbeats due inside the window (sent when due, or as late as the generator got to them: a
    /// whole fleet registered in an instant falls due in bursts, and a burst due just before the
    /// window's end, sent a few ms late, is still the window's), and how many of those were
    /// acknowledged, whenever.
    var sentInWindow = 0
    var ackedSentInWindow = 0
    var ackedTotal = 0
    var sentTotal = 0
    var errors = 0
    var firstErrors: [String] = []
    var dueWhileInFlight = 0
    var maxSendLatenessNs: Int64 = 0
    /// The longest a service went between two heartbeats it sent, over the whole run: past the STALE
    /// threshold, the generator itself left it silent, and a STALE declared for it is right.
    var maxSendGapNs: Int64 = 0
    /// Over the whole run, as `maxSendLatenessNs` and `dueWhileInFlight` are within the window:
    /// how late the generator sent a due heartbeat, and how many it skipped waiting for a reply.
    var maxSendLatenessAnyNs: Int64 = 0
    var skippedInFlight = 0
    /// The longest heartbeats waited in the generator because their socket was full: the server
    /// was not reading (TCP flow control), which its input horizon cannot see.
    var maxSocketWaitNs: Int64 = 0
    var pendingRegistrations = 0
    /// A service heartbeats as soon as its registration is answered (as a client does), so none
    /// waits for the whole fleet's registrations; in paced mode it then joins the schedule, one
    /// interval after its registration, while the rest of the fleet is still registering.
    var heartbeatOnRegister = false
    /// Registrations carry each service's id, as every client's do when it comes back after a
    /// server restart: to the restarted server the ids are unknown, and each is re-created under its id.
    var registerWithIds = false
    /// A service whose previous heartbeat is unanswered skips its next one (false: sends it anyway).
    var waitForReplies = true

    // Probe and watchers.
    var probeConn: Conn?
    var probeService: Int32 = -1
    var probeIdBytes: [UInt8] = []
    var probeSendNs: [Int64] = []
    var probeIntervalNs: Int64 = 50_000_000
    var probing = false
    private var nextProbeNs: Int64 = 0
    var watchLatency = Samples()
    var watchResyncs = 0
    var watchCoalesced = 0
    // Dead detection (a watcher filtered to STALE and DEAD nodes).
    var deadSeenNs: [Int64] = []
    var staleOrDeadUnexpected = 0
    var staleOrDeadUnexpectedIds: [String] = []
    // GetTopology.
    var topologyReplyNs: Int64 = 0
    var topologyReplyBytes = 0
    var topologyReplyNodes = -1

    init(address: sockaddr_in, floorTarget: Bool) {
        self.address = address
        self.floorTarget = floorTarget
    }

    func error(_ message: String) {
        errors += 1
        if firstErrors.count < 5 { firstErrors.append(message) }
    }

    // MARK: - Setup

    func connect(role: Conn.Role) -> Conn {
        let fd = Net.connect(address, waitForConnection: false)
        let conn = Conn(fd: fd, token: conns.count, role: role)
        conns.append(conn)
        poller.add(fd, token: conn.token)
        return conn
    }

    /// Adds `count` services on `conn`; returns their numbers.
    func addServices(_ count: Int, on conn: Conn) {
        for _ in 0..<count {
            let number = Int32(serviceIds.count)
            let local = conn.services.count
            conn.services.append(number)
            // A placeholder id of the real length; registration replaces it with the server's.
            serviceIds.append(Driver.syntheticId(Int(number)))
            callIds.append(UInt64(2 * local + 2))
            sequences.append(0)
            inFlight.append(false)
            lastSendNs.append(0)
            silenced.append(false)
            serviceConn.append(Int32(conn.token))
            registered.append(false)
            deadSeenNs.append(0)
        }
    }

    static func syntheticId(_ number: Int) -> String {
        let digits = String(number)
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }

    /// Registers every service of `conn` (RegisterService on call 2k+1, its heartbeats on 2k+2).
    func register(_ conn: Conn, namePrefix: String = "svc") {
        for (local, number) in conn.services.enumerated() {
            let request = RegisterServiceRequest(
                serviceName: "\(namePrefix)-\(number)", serviceType: .server, language: .swift, version: "1.0.0",
                address: "10.\(number >> 16 & 255).\(number >> 8 & 255).\(number & 255):8080", host: "bench-host-\(number % 100)",
                serviceId: registerWithIds ? serviceIds[Int(number)] : nil)
            Frame(callId: UInt64(2 * local + 1), endOfStream: true, message: .registerServiceRequest(request))
                .encodeLengthPrefixed(appendingTo: &conn.out)
            pendingRegistrations += 1
        }
        scheduleFlush(conn)
    }

    // MARK: - Sending

    @inline(__always)
    func sendHeartbeat(_ service: Int32, now: Int64, due: Int64? = nil, health: HealthState = .healthy, message: String? = nil) {
        let s = Int(service)
        let conn = conns[Int(serviceConn[s])]
        guard conn.open else { return }
        sequences[s] += 1
        let request = HeartbeatRequest(
            serviceId: serviceIds[s], sequence: sequences[s],
            metrics: ServiceMetrics(cpuPercent: Double(sequences[s] % 100), memoryBytes: 64 << 20),
            health: ApplicationHealth(state: health, message: message))
        Frame(callId: callIds[s], message: .heartbeatRequest(request)).encodeLengthPrefixed(appendingTo: &conn.out)
        let dueNs = due ?? now
        let counted = dueNs >= measureStartNs && dueNs < measureEndNs
        conn.push(now, service, counted: counted)
        if counted { sentInWindow += 1 }
        inFlight[s] = true
        if lastSendNs[s] != 0 { maxSendGapNs = max(maxSendGapNs, now - lastSendNs[s]) }
        lastSendNs[s] = now
        sentTotal += 1
        scheduleFlush(conn)
    }

    /// Paced mode: service k of `services` is first due at start + k/n of the interval; services
    /// registered later (with `heartbeatOnRegister`) join as their registrations are answered.
    func startPacing(services: [Int32], startNs: Int64) {
        paced = true
        schedule = PaceQueue(spreading: services, startNs: startNs, intervalNs: intervalNs)
        nextTickNs = startNs
    }

    func stopPacing() { paced = false }

    /// Every heartbeat due before the window's end has been sent (the schedule is in due order).
    var windowDueSent: Bool { !paced || (schedule.frontDue ?? .max) >= measureEndNs }

    private func sendDue(now: Int64) {
        guard paced, schedule.count > 0, now >= nextTickNs else { return }
        nextTickNs = now + tickNs
        var sent = 0
        let queued = schedule.count
        while let due = schedule.frontDue, due <= now, sent < queued {
            let service = schedule.popFront()!.service
            let s = Int(service)
            schedule.append(service, dueNs: due + intervalNs)
            sent += 1
            if silenced[s] { continue }
            if inFlight[s] {
                // The previous heartbeat is still unanswered: a client that waits for it skips this
                // one; one that sends on its schedule (the C and Python clients) sends it anyway.
                if now >= measureStartNs && now < measureEndNs { dueWhileInFlight += 1 }
                if waitForReplies {
                    skippedInFlight += 1
                    continue
                }
            }
            if now >= measureStartNs && now < measureEndNs { maxSendLatenessNs = max(maxSendLatenessNs, now - due) }
            maxSendLatenessAnyNs = max(maxSendLatenessAnyNs, now - due)
            sendHeartbeat(service, now: now, due: due)
        }
    }

    /// Closed loop: the next service of `conn` (round robin) heartbeats now.
    private func sendNextClosed(_ conn: Conn, now: Int64) {
        guard !conn.services.isEmpty else { return }
        let service = conn.services[conn.roundRobin]
        conn.roundRobin += 1
        if conn.roundRobin == conn.services.count { conn.roundRobin = 0 }
        sendHeartbeat(service, now: now)
    }

    func startClosedLoop(window: Int, now: Int64) {
        self.window = window
        for conn in conns where conn.role == .heartbeats {
            for _ in 0..<window { sendNextClosed(conn, now: now) }
        }
    }

    private func sendProbe(now: Int64) {
        guard probing, now >= nextProbeNs, probeService >= 0 else { return }
        nextProbeNs = now + probeIntervalNs
        let k = probeSendNs.count
        probeSendNs.append(now)
        sendHeartbeat(probeService, now: now, health: k % 2 == 0 ? .degraded : .healthy, message: "probe-\(k)")
    }

    func startProbing(now: Int64) {
        probing = true
        nextProbeNs = now
    }

    // MARK: - Loop

    /// Runs the loop until `deadlineNs`, or until `done()` holds (checked after each wake-up).
    /// Returns whether `done()` held.
    @discardableResult
    func run(untilNs deadlineNs: Int64, done: () -> Bool = { false }) -> Bool {
        while true {
            var now = monotonicNs()
            if done() { return true }
            if now >= deadlineNs { return false }
            var wake = deadlineNs
            if paced, let due = schedule.frontDue { wake = min(wake, max(nextTickNs, due)) }
            if probing { wake = min(wake, nextProbeNs) }
            let timeoutMs = Int32(clamping: max(0, (wake - now + 999_999) / 1_000_000))
            let count = poller.wait(timeoutMs: min(timeoutMs, 100))
            now = monotonicNs()
            for i in 0..<count {
                let conn = conns[Int(poller.readyData[i])]
                let events = poller.readyEvents[i]
                guard conn.open else { continue }
                if events & UInt32(TOPOLOGY_EPOLLOUT) != 0 { flush(conn) }
                if events & UInt32(TOPOLOGY_EPOLLIN | TOPOLOGY_EPOLLHUP | TOPOLOGY_EPOLLERR | TOPOLOGY_EPOLLRDHUP) != 0 {
                    readAll(conn, now: now)
                }
            }
            now = monotonicNs()
            sendDue(now: now)
            sendProbe(now: now)
            flushAll()
        }
    }

    private func readAll(_ conn: Conn, now: Int64) {
        var budget = 1 << 20
        while budget > 0 && conn.open {
            let n = chunk.withUnsafeMutableBytes { recv(conn.fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                closeFailed(conn, "read failed: errno \(errno)")
                return
            }
            if n == 0 {
                closeFailed(conn, "closed by the peer")
                return
            }
            budget -= n
            if conn.inBuf.isEmpty {
                let used = chunk.withUnsafeBytes { processFrames(conn, UnsafeRawBufferPointer(rebasing: $0[0..<n]), now: now) }
                if used < n { conn.inBuf.append(contentsOf: chunk[used..<n]) }
            } else {
                conn.inBuf.append(contentsOf: chunk[0..<n])
                let used = conn.inBuf.withUnsafeBytes { processFrames(conn, $0, now: now) }
                conn.inBuf.removeFirst(used)
            }
            if n < chunk.count { break }
        }
    }

    private func closeFailed(_ conn: Conn, _ why: String) {
        if conn.open {
            error("connection \(conn.token) (\(conn.role)): \(why)")
            conn.open = false
            close(conn.fd)
        }
    }

    /// Handles every complete frame in `data`; returns the bytes consumed.
    private func processFrames(_ conn: Conn, _ data: UnsafeRawBufferPointer, now: Int64) -> Int {
        var position = 0
        while let (prefix, length) = FrameScan.lengthPrefix(data, at: position), data.count - position - prefix >= length {
            let body = UnsafeRawBufferPointer(rebasing: data[position + prefix..<position + prefix + length])
            position += prefix + length
            switch conn.role {
            case .heartbeats, .probe: heartbeatReply(conn, body, now: now)
            case .watcher: watchFrame(conn, body, now: now)
            case .control: controlFrame(conn, body, bytes: prefix + length, now: now)
            }
        }
        return position
    }

    private func heartbeatReply(_ conn: Conn, _ body: UnsafeRawBufferPointer, now: Int64) {
        guard let summary = FrameScan.summary(body) else { return error("undecodable reply on connection \(conn.token)") }
        if !summary.isHeartbeatResponse {
            // A registration reply, or an error that ended a call.
            guard let frame = try? Frame(decoding: body) else { return error("undecodable frame") }
            if case .registerServiceResponse(let response)? = frame.message, frame.callId % 2 == 1 {
                let local = Int(frame.callId - 1) / 2
                guard local < conn.services.count else { return error("registration reply on unknown call \(frame.callId)") }
                let s = Int(conn.services[local])
                let id = response.handle?.serviceId ?? ""
                if registerWithIds && id != serviceIds[s] { error("service \(serviceIds[s]) came back as \(id)") }
                serviceIds[s] = id
                serviceIndex[id] = Int32(s)
                registered[s] = true
                pendingRegistrations -= 1
                if conn.role == .probe { probeIdBytes = Array(id.utf8) }
                if heartbeatOnRegister && conn.role == .heartbeats {
                    sendHeartbeat(Int32(s), now: now)
                    if paced { schedule.append(Int32(s), dueNs: now + intervalNs) }
                }
                return
            }
            if let status = frame.status, status.code != 0 {
                if frame.callId % 2 == 1 { pendingRegistrations -= 1 }
                return error("status \(status.statusCode) on call \(frame.callId): \(status.message)")
            }
            return error("unexpected frame on call \(frame.callId)")
        }
        guard let (sentNs, service, counted) = conn.pop() else { return error("reply with no heartbeat in flight") }
        let s = Int(service)
        inFlight[s] = false
        if !floorTarget && summary.callId != callIds[s] {
            error("reply on call \(summary.callId), expected \(callIds[s]): replies out of order")
        }
        guard summary.acknowledged, summary.statusCode == 0 else {
            return error("heartbeat not acknowledged (status \(StatusCode(rawValue: summary.statusCode)))")
        }
        ackedTotal += 1
        if counted { ackedSentInWindow += 1 }
        if sentNs >= measureStartNs && now < measureEndNs {
            ackedInWindow += 1
            rtt.add(now - sentNs)
        }
        if window > 0 && conn.role == .heartbeats { sendNextClosed(conn, now: now) }
    }

    private func watchFrame(_ conn: Conn, _ body: UnsafeRawBufferPointer, now: Int64) {
        conn.watchFrames += 1
        if !conn.snapshotSeen {
            conn.snapshotSeen = true  // the first frame of a watch is its SNAPSHOT
            if !conn.decodeEveryFrame { return }
        }
        let relevant = conn.decodeEveryFrame || probeIdBytes.withUnsafeBytes { FrameScan.contains(body, $0) }
        guard relevant else { return }
        guard let frame = try? Frame(decoding: body) else { return error("undecodable watch frame") }
        if let status = frame.status, status.code != 0 {
            return error("watch ended: \(status.statusCode) \(status.message)")
        }
        guard case .watchTopologyResponse(let response)? = frame.message, let update = response.update else { return }
        if update.coalesced { watchCoalesced += 1 }
        if update.type == .snapshot {
            if update.resync { watchResyncs += 1 }
            // A resync SNAPSHOT of the STALE/DEAD watcher stands for the transitions it replaced.
            if conn.decodeEveryFrame { for node in update.snapshot?.nodes ?? [] { sawStaleOrDead(node, now: now) } }
            return
        }
        guard let node = update.node else { return }
        if conn.decodeEveryFrame {
            // The dead-detection watcher: its filter passes STALE and DEAD nodes only.
            if update.type != .nodeRemoved { sawStaleOrDead(node, now: now) }
            return
        }
        if let message = node.healthDetail?.message, message.hasPrefix("probe-"), let k = Int(message.dropFirst(6)),
           k > conn.lastProbeSeen, k < probeSendNs.count {
            conn.lastProbeSeen = k
            watchLatency.add(now - probeSendNs[k])
        }
    }

    /// A node the STALE/DEAD watcher saw: a silenced service's death, or a wrong declaration (each
    /// transition counted).
    private func sawStaleOrDead(_ node: ServiceNode, now: Int64) {
        guard node.state == .stale || node.state == .dead, let s = serviceIndex[node.serviceId].map(Int.init) else { return }
        if silenced[s] {
            if node.state == .dead && deadSeenNs[s] == 0 { deadSeenNs[s] = now }
        } else {
            staleOrDeadUnexpected += 1
            if staleOrDeadUnexpectedIds.count < 5 { staleOrDeadUnexpectedIds.append("\(node.serviceId) \(node.state)") }
        }
    }

    private func controlFrame(_ conn: Conn, _ body: UnsafeRawBufferPointer, bytes: Int, now: Int64) {
        topologyReplyNs = now
        topologyReplyBytes = bytes
        guard let frame = try? Frame(decoding: body) else { return error("undecodable GetTopology reply") }
        if case .getTopologyResponse(let response)? = frame.message {
            topologyReplyNodes = response.snapshot?.nodes.count ?? 0
        } else {
            topologyReplyNodes = 0
            error("GetTopology failed: \(frame.status?.message ?? "no snapshot")")
        }
    }

    // MARK: - Output

    func scheduleFlush(_ conn: Conn) {
        if !conn.scheduledForFlush {
            conn.scheduledForFlush = true
            flushList.append(conn)
        }
    }

    func flushAll() {
        for conn in flushList {
            conn.scheduledForFlush = false
            flush(conn)
        }
        flushList.removeAll(keepingCapacity: true)
    }

    private func flush(_ conn: Conn) {
        guard conn.open else { return }
        while conn.outIndex < conn.out.count {
            let n = conn.out.withUnsafeBytes { raw in
                send(conn.fd, raw.baseAddress! + conn.outIndex, raw.count - conn.outIndex, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                return closeFailed(conn, "write failed: errno \(errno)")
            }
            conn.outIndex += n
        }
        if conn.role == .heartbeats {
            let now = monotonicNs()
            if conn.outIndex < conn.out.count {
                if conn.blockedSinceNs == 0 { conn.blockedSinceNs = now }
            } else if conn.blockedSinceNs != 0 {
                maxSocketWaitNs = max(maxSocketWaitNs, now - conn.blockedSinceNs)
                conn.blockedSinceNs = 0
            }
        }
        if conn.outIndex == conn.out.count {
            conn.out.removeAll(keepingCapacity: true)
            conn.outIndex = 0
        } else if conn.outIndex > 1 << 20 {
            conn.out.removeFirst(conn.outIndex)
            conn.outIndex = 0
        }
        let want = conn.outIndex < conn.out.count
        if want != conn.waitingWritable {
            conn.waitingWritable = want
            poller.modify(conn.fd, token: conn.token, writable: want)
        }
    }

    func closeAll() {
        for conn in conns where conn.open {
            conn.open = false
            Net.abortiveClose(conn.fd)
        }
        close(poller.fd)
    }
}
