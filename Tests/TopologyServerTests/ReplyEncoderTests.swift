import Foundation
@testable import TopologyServer
import XCTest

/// What `ReplyEncoder.release` is for: the last reference to large storage goes on the worker, so
/// its freeing costs the loop nothing, and it produces no finished reply.
final class ReplyEncoderTests: XCTestCase {
    private final class Witness {
        let freedOn: @Sendable (Bool) -> Void
        init(freedOn: @escaping @Sendable (Bool) -> Void) { self.freedOn = freedOn }
        deinit { freedOn(Thread.isMainThread) }
    }

    func testReleasedStorageIsFreedOnTheWorkerAndAnswersNothing() throws {
        XCTAssertTrue(Thread.isMainThread, "XCTest runs tests on the main thread")
        let encoder = try ReplyEncoder()
        defer { encoder.stop() }
        let freed = DispatchSemaphore(value: 0)
        let onMain = LockedFlag()
        encoder.release(Witness { isMain in
            onMain.set(isMain)
            freed.signal()
        })
        XCTAssertEqual(freed.wait(timeout: .now() + 5), .success, "freed")
        XCTAssertFalse(onMain.value, "freed on the worker, not on the thread that handed it over")
        encoder.encode(for: 7) { [1, 2, 3] }
        var finished: [ReplyEncoder.Finished] = []
        for _ in 0..<500 where finished.isEmpty {
            finished = encoder.takeFinished()
            if finished.isEmpty { usleep(10_000) }
        }
        XCTAssertEqual(finished.map(\.connection), [7], "only the encoding is reported")
    }
}

/// A flag one thread sets and another reads.
private final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    func set(_ value: Bool) { lock.lock(); stored = value; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return stored }
}
