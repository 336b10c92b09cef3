import XCTest
@testable import TopologyCore
import TopologyWire

/// Labels in the core: stored on the node and replaced by each registration, refused when they
/// break the rules (each rule with its message), and selected by label selectors in snapshots and
/// watches, where a change of labels moves a node and its edges into or out of a watcher's view.
final class LabelTests: XCTestCase {
    private func register(_ h: inout Harness, _ name: String, _ labels: [String: String], id: String? = nil) throws(TopologyError) -> String {
        try h.topology.register(
            RegisterServiceRequest(serviceName: name, serviceType: .server, serviceId: id, labels: labels), now: h.now
        ).handle!.serviceId
    }

    func testLabelsAreStoredAndReplacedWholeByARegistration() throws {
        var h = Harness()
        let id = try register(&h, "checkout", ["team": "payments", "tier": "web"])
        XCTAssertEqual(h.topology.node(id: id)?.labels, ["team": "payments", "tier": "web"])
        _ = try register(&h, "checkout", ["team": "core"], id: id)
        XCTAssertEqual(h.topology.node(id: id)?.labels, ["team": "core"])
        _ = try register(&h, "checkout", [:], id: id)
        XCTAssertEqual(h.topology.node(id: id)?.labels, [:])
    }

    func testLabelsThatBreakARuleAreRefusedSayingWhich() {
        var configuration = TopologyConfiguration()
        configuration.maxLabels = 3
        configuration.maxLabelKeyBytes = 8
        configuration.maxLabelValueBytes = 5
        var h = Harness(configuration)
        func refusal(_ labels: [String: String]) -> String? {
            do {
                _ = try register(&h, "svc", labels)
                return nil
            } catch {
                XCTAssertEqual(error.status.statusCode, .invalidArgument)
                return error.status.message
            }
        }
        XCTAssertNil(refusal(["a": "", "b": "12345", "12345678": "x"]), "at the limits")
        XCTAssertEqual(refusal(["a": "", "b": "", "c": "", "d": ""]), "invalid labels: 4 labels, at most 3 allowed")
        XCTAssertEqual(refusal(["": "x"]), "invalid labels: a key is empty; every label needs a key")
        XCTAssertEqual(refusal(["123456789": "x"]), "invalid labels: key '123456789' is 9 bytes, at most 8 allowed")
        XCTAssertEqual(refusal(["a=b": "x"]),
                       "invalid labels: key 'a=b' contains '=', which separates key and value in a label selector")
        XCTAssertEqual(refusal(["a\u{1B}[2J": "x"]), "invalid labels: key 'aU+001B[2J' contains a control character")
        XCTAssertEqual(refusal(["a\u{85}": "x"]), "invalid labels: key 'aU+0085' contains a control character")
        XCTAssertEqual(refusal(["k": "123456"]), "invalid labels['k']: 6 bytes, at most 5 allowed")
        XCTAssertEqual(refusal(["k": "a\nb"]), "invalid labels['k']: contains a control character")
        // Printable Unicode, spaces and punctuation other than '=' are fine in keys and values.
        XCTAssertNil(refusal(["Team Nm": "ü ", "z.io/x": "a=b"]))
        XCTAssertEqual(h.topology.serviceCount, 2, "refused registrations create no node")
    }

    func testAKeyInAnErrorIsCutAt64Characters() {
        var configuration = TopologyConfiguration()
        configuration.maxLabelKeyBytes = 10
        var h = Harness(configuration)
        let key = String(repeating: "k", count: 5_000)
        XCTAssertThrowsError(try register(&h, "svc", [key: ""])) { error in
            let message = (error as! TopologyError).status.message
            XCTAssertEqual(message, "invalid labels: key '\(String(repeating: "k", count: 64))...' is 5000 bytes, at most 10 allowed")
        }
    }

    func testSelectorsMatchValueOrPresenceAndAllMustMatch() throws {
        var h = Harness()
        let payWeb = try register(&h, "a", ["team": "payments", "tier": "web"])
        let payDb = try register(&h, "b", ["team": "payments", "tier": "db", "canary": ""])
        let core = try register(&h, "c", ["team": "core", "note": "x=y"])
        let bare = try register(&h, "d", [:])
        func ids(_ selectors: String...) -> Set<String> {
            let query = TopologyQuery(labelSelectors: selectors)
            XCTAssertNoThrow(try h.topology.validate(query))
            return Set(h.topology.snapshot(for: query, now: h.now).nodes.map(\.serviceId))
        }
        XCTAssertEqual(ids(), [payWeb, payDb, core, bare])
        XCTAssertEqual(ids("team=payments"), [payWeb, payDb])
        XCTAssertEqual(ids("team=payments", "tier=db"), [payDb], "all must match")
        XCTAssertEqual(ids("team"), [payWeb, payDb, core], "a key alone: has the label")
        XCTAssertEqual(ids("canary="), [payDb], "an empty value matches an empty value")
        XCTAssertEqual(ids("canary=x"), [])
        XCTAssertEqual(ids("note=x=y"), [core], "split at the first '='")
        XCTAssertEqual(ids("team=Payments"), [], "exact, case-sensitive")
        XCTAssertEqual(ids("missing"), [])
    }

    func testASelectorWithoutAKeyIsRefusedByGetAndWatch() {
        var h = Harness()
        for selector in ["", "=payments"] {
            let query = TopologyQuery(labelSelectors: ["team=payments", selector])
            XCTAssertThrowsError(try h.topology.validate(query)) { error in
                XCTAssertEqual((error as! TopologyError).status.message,
                               "invalid query.label_selectors: '\(selector)' has no key; write key=value (that value) or key (any value)")
            }
            XCTAssertThrowsError(try h.topology.watch(WatchTopologyRequest(query: query), now: h.now))
        }
        XCTAssertEqual(h.topology.watcherCount, 0)
    }

    func testARelabelledNodeAndItsEdgesEnterAndLeaveALabelWatch() throws {
        var h = Harness()
        let a = try register(&h, "a", ["team": "core"])
        _ = try register(&h, "b", [:])
        h.heartbeat(a)
        let payments = h.watch(TopologyQuery(labelSelectors: ["team=payments"]))
        XCTAssertEqual(h.take(payments)[0].snapshot!.nodes, [])
        h.activity(a, to: "b")
        h.advance(by: 1_000)
        XCTAssertEqual(h.take(payments), [], "a's edge is not in view: a is not team=payments")
        _ = try register(&h, "a", ["team": "payments"], id: a)
        var updates = h.take(payments)
        XCTAssertEqual(types(updates), [.nodeAdded, .edgeAdded])
        XCTAssertEqual(updates[0].node!.labels, ["team": "payments"])
        _ = try register(&h, "a", ["team": "core"], id: a)
        updates = h.take(payments)
        XCTAssertEqual(types(updates), [.nodeRemoved, .edgeRemoved])
    }
}
