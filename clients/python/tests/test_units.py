"""Framing (all at once, byte by byte, many frames per read), the latency histogram, the activity
aggregator and TopologyView: no sockets."""

from __future__ import annotations

import math
import random
import threading

import pytest

from typing import Any, List, Optional

from topology_client import (ActivityAggregator, FrameReader, FrameTooLargeError, ProtocolError, TopologyClient,
                             TopologyConnectionError, TopologyView, bucket_index, bucket_value, encode_frame, percentile)
from topology_client._proto import encode_varint
from topology_client._transport import normalize_addresses, parse_address
from topology_client.activity import GAMMA, MAX_BATCH
from topology_client.errors import DecodeError
from topology_client.framing import DEFAULT_MAX_FRAME_SIZE
from topology_client.messages import (ApplicationHealth, ConnectionState, Frame, GetTopologyResponse, HealthState,
                                      HeartbeatResponse, ServiceEdge, ServiceLanguage, ServiceMetadata, ServiceMetrics,
                                      ServiceNode, ServiceState, ServiceType, Status, TopologySnapshot, TopologyUpdate,
                                      UpdateType)

FRAMES = [
    Frame(call_id=1, heartbeat_response=HeartbeatResponse(sequence=1, acknowledged=True, server_epoch="e")),
    Frame(call_id=2, end_of_stream=True, status=Status(code=5, message="x" * 300)),
    Frame(),
    Frame(call_id=(1 << 64) - 1),
]
STREAM = b"".join(encode_frame(f) for f in FRAMES)


def test_reader_all_at_once() -> None:
    reader = FrameReader()
    reader.feed(STREAM)
    assert list(reader.frames()) == FRAMES
    reader.finish()


def test_reader_byte_by_byte() -> None:
    reader = FrameReader()
    got = []
    for i in range(len(STREAM)):
        reader.feed(STREAM[i:i + 1])
        got.extend(reader.frames())
    assert got == FRAMES and reader.buffered == 0


def test_reader_random_splits() -> None:
    rng = random.Random(7)
    for _ in range(50):
        reader = FrameReader()
        got, pos = [], 0
        while pos < len(STREAM):
            step = rng.randint(1, 40)
            reader.feed(STREAM[pos:pos + step])
            pos += step
            got.extend(reader.frames())
        assert got == FRAMES


def test_reader_rejects_oversized_prefix_before_the_body() -> None:
    reader = FrameReader(max_frame_size=1000)
    reader.feed(b"\xe9\x07")  # 1001
    with pytest.raises(FrameTooLargeError, match="over the limit of 1000 bytes"):
        reader.next_frame()
    with pytest.raises(ProtocolError):  # unusable afterwards
        reader.next_frame()


def test_default_frame_fits_the_servers_default_max_services() -> None:
    """200,000 nodes (the server's default --max-services before issue 18) with every field set at
    realistic lengths, plus 350,000 edges, fit in one GetTopology answer under the default limit (64 MiB, the
    old default, did not: the nodes alone take some 70 MiB). Sizes add up: each repeated element
    costs its tag, its length and its body."""
    node = ServiceNode(
        service_id="3f2504e0-4f89-41d3-9a0c-0305e82c3301", service_name="payments-api-000123",
        service_type=ServiceType.SERVICE_TYPE_SERVER, language=ServiceLanguage.SERVICE_LANGUAGE_PYTHON,
        version="1.42.7+build.1234", address="10.123.45.67:8443", host="ip-10-123-45-67.eu-west-1.compute.internal",
        metadata=ServiceMetadata(region="eu-west-1", environment="production", team="payments-platform",
                                 version_hash="0123456789abcdef0123456789abcdef01234567",
                                 service_interface="payments.v1.PaymentService", service_role="server",
                                 program_name="payments-api"),
        state=ServiceState.SERVICE_STATE_ACTIVE, last_heartbeat_ms=1733040000123, last_activity_ms=1733040000456,
        health=HealthState.HEALTH_STATE_HEALTHY, metrics=ServiceMetrics(cpu_percent=12.345, memory_bytes=1234567890),
        health_detail=ApplicationHealth(state=HealthState.HEALTH_STATE_HEALTHY, message="all dependencies reachable",
                                        error_count=3),
        registered_ms=1733030000000)
    edge = ServiceEdge(source_service_id=node.service_id, target_service="ledger-api-000456",
                       state=ConnectionState.CONNECTION_STATE_ACTIVE, last_activity_ms=1733040000456,
                       total_requests=123456789, total_errors=1234, avg_latency_ms=12.34, rps=123.4,
                       target_service_id="9a8b7c6d-4f89-41d3-9a0c-0305e82c3301", error_rate=0.01,
                       latency_p50_ms=10.1, latency_p95_ms=30.2, latency_p99_ms=80.3)
    one = Frame(call_id=7, end_of_stream=True, get_topology_response=GetTopologyResponse(snapshot=TopologySnapshot(
        nodes=[node], edges=[edge], timestamp_ms=1733040000000, revision=123456789, server_epoch=node.service_id)))
    node_bytes, edge_bytes = len(node.encode()), len(edge.encode())
    assert 340 < node_bytes < 380 and 160 < edge_bytes < 190  # the figures the docs give
    per_node = 1 + len(encode_varint(node_bytes)) + node_bytes  # tag, length, body
    per_edge = 1 + len(encode_varint(edge_bytes)) + edge_bytes
    total = len(one.encode()) + 8 + 199_999 * per_node + 349_999 * per_edge  # +8: longer outer lengths
    assert total <= DEFAULT_MAX_FRAME_SIZE
    assert 200_000 * node_bytes > 64 * 1024 * 1024


def test_reader_rejects_huge_incomplete_prefix() -> None:
    reader = FrameReader(max_frame_size=1 << 20)
    reader.feed(b"\xff\xff\xff\xff")  # already more than 1 MiB, prefix not finished
    with pytest.raises(ProtocolError, match="over the limit"):
        reader.next_frame()


def test_reader_verdict_does_not_depend_on_how_the_prefix_is_split() -> None:
    """The fuzzer's finding in the Swift and C readers (Tests/Fuzz/regressions/frame): ``ff ff ff``
    against 1024 bytes named 2097151 bytes read at once and 16383 read byte by byte; five ``ff``
    were "too large" one way and "malformed prefix" the other. The limit is checked at every byte."""
    for prefix in (b"\xff\xff\xff", b"\xff\xff\xff\xff\xff"):
        errors = []
        for chunks in ([prefix], [prefix[i:i + 1] for i in range(len(prefix))]):
            reader = FrameReader(max_frame_size=1024)
            with pytest.raises(ProtocolError) as info:
                for chunk in chunks:
                    reader.feed(chunk)
                    reader.next_frame()
            errors.append((type(info.value), str(info.value)))
        assert errors[0] == errors[1]
        assert errors[0][0] is FrameTooLargeError and "at least 16383 bytes" in errors[0][1]


def test_reader_rejects_long_prefix() -> None:
    reader = FrameReader(max_frame_size=1 << 62)
    reader.feed(b"\x80\x80\x80\x80\x80\x01")
    with pytest.raises(ProtocolError, match="malformed length prefix"):
        reader.next_frame()


def test_reader_undecodable_frame() -> None:
    reader = FrameReader()
    reader.feed(b"\x02\x08\xff")
    with pytest.raises(DecodeError) as info:
        reader.next_frame()
    assert info.value.kind == "truncated"


def test_reader_finish_inside_a_frame() -> None:
    reader = FrameReader()
    reader.feed(STREAM[:5])
    assert reader.next_frame() is None
    with pytest.raises(ProtocolError, match="inside a frame"):
        reader.finish()


def test_addresses() -> None:
    assert parse_address("127.0.0.1:50053") == ("127.0.0.1", 50053)
    assert parse_address("[::1]:7") == ("::1", 7)
    assert normalize_addresses("a:1, b:2") == ["a:1", "b:2"]
    for bad in ("nohost", "h:0", "h:99999", "[::1]7", ":5"):
        with pytest.raises(ValueError):
            parse_address(bad)


# --------------------------------------------------------------------------------------------------
# Histogram
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("latency", [0.001, 0.5, 1.0, 1.02, 1.0201, 2.0, 7.3, 100.0, 12345.678, 1e7])
def test_bucket_bounds(latency: float) -> None:
    i = bucket_index(latency)
    assert i is not None
    assert GAMMA ** (i - 1) < latency <= GAMMA ** i
    assert abs(bucket_value(i) - latency) / latency <= 0.0101


def test_bucket_exact_powers() -> None:
    for i in (-50, -1, 0, 1, 2, 10, 300):
        assert bucket_index(GAMMA ** i) in (i, i + 1)  # the float GAMMA**i may sit either side
        value = GAMMA ** i
        j = bucket_index(value)
        assert j is not None and GAMMA ** (j - 1) < value <= GAMMA ** j


def test_zero_and_negative_latencies() -> None:
    assert bucket_index(0.0) is None and bucket_index(-3) is None and bucket_index(math.nan) is None


def test_aggregator_counts_exactly_from_threads() -> None:
    agg = ActivityAggregator()

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for n in range(2500):
            agg.record("payments", "Charge", rng.uniform(1, 100), ok=n % 10 != 0, error_message="boom")

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [batch] = agg.take()
    report = batch.report("svc", era=0)
    assert report.batch_size == 10_000 and report.error_count == 1000 and report.success is False
    assert report.error_message == "boom" and report.timestamp_ms is None and report.method == "Charge"
    # Calls recorded before the current registration were kept through an outage: they say when.
    assert batch.report("svc", era=1).timestamp_ms == batch.bucket.first_ms
    hist = report.latency_histogram
    assert hist is not None and sum(hist.counts) == 10_000 and hist.indexes == sorted(set(hist.indexes))
    assert 45 <= report.latency_ms <= 56
    assert abs(percentile(hist, 0.99) - 99.01) / 99.01 < 0.03
    assert agg.take() == []


def test_aggregator_is_bounded() -> None:
    agg = ActivityAggregator(max_keys=3)
    for i in range(10):
        agg.record(f"t{i}", "", 1.0, ok=True)
    assert len(agg.take()) == 3 and agg.dropped_calls == 7


def test_put_back_never_passes_max_batch() -> None:
    """Batches that could not be sent are merged back with what was recorded meanwhile only while
    the sum fits an int32 batch_size; otherwise they stay a batch of their own. Nothing is lost."""
    agg = ActivityAggregator()
    agg.record("svc", "get", 3.0, ok=True)
    [taken] = agg.take()
    taken.bucket.zero_count += MAX_BATCH - 1 - taken.bucket.calls  # as if it held MAX_BATCH - 1 calls
    taken.bucket.calls = MAX_BATCH - 1
    agg.record("svc", "get", 4.0, ok=False)
    agg.record("svc", "get", 5.0, ok=True)
    agg.put_back([taken])
    agg.record("svc", "get", 6.0, ok=True)
    batches = agg.take()
    assert len(batches) == 2 and all(b.calls <= MAX_BATCH for b in batches)
    assert sum(b.calls for b in batches) == MAX_BATCH - 1 + 3 and agg.dropped_calls == 0
    reports = [b.report("s", 0) for b in batches]
    assert all(r.batch_size == sum(r.latency_histogram.counts) + r.latency_histogram.zero_count  # type: ignore[union-attr]
               for r in reports)
    # the two fit together once the big one is small: merged again
    big = next(b for b in batches if b.calls > 3)
    big.bucket.zero_count -= MAX_BATCH - 10
    big.bucket.calls -= MAX_BATCH - 10
    agg.put_back(batches)
    [merged] = agg.take()
    assert merged.calls == 9 + 3 and merged.bucket.errors == 1


def test_put_back_is_bounded() -> None:
    agg = ActivityAggregator(max_keys=2)
    agg.record("a", "", 1.0, ok=True)
    agg.record("b", "", 1.0, ok=True)
    taken = agg.take()
    agg.record("c", "", 1.0, ok=True)
    agg.record("d", "", 1.0, ok=True)
    agg.put_back(taken)  # room for none of them: counted, not kept
    assert agg.pending_calls() == 2 and agg.dropped_calls == 2


class _StubCall:
    def __init__(self, mux: "_StubMux") -> None:
        self.mux = mux

    def send(self, frame: Frame) -> None:
        if len(self.mux.sent) == self.mux.fail_at:
            raise TopologyConnectionError("connection to stub lost: cut")
        self.mux.sent.append(frame)

    def close(self) -> None:
        pass


class _StubMux:
    """Stands for a MuxConnection whose connection dies after ``fail_at`` frames."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.sent: List[Frame] = []

    def open_call(self, on_frame: Optional[Any] = None) -> _StubCall:
        return _StubCall(self)


def test_background_flush_keeps_what_was_not_sent() -> None:
    """A send error in a background flush puts back the reports not sent (as the C client does);
    only a report that left may be lost, and none is counted as dropped: their fate is unknown."""
    client = TopologyClient("127.0.0.1:9")  # never connects: the flush goes to the stub
    for target, calls in (("a", 1), ("b", 2), ("c", 4)):
        for _ in range(calls):
            client.report_call(target, "m", 1.0)
    mux = _StubMux(fail_at=1)
    client._reporter.flush_in_background(mux, "sid")  # type: ignore[arg-type]
    assert len(mux.sent) == 1
    sent = mux.sent[0].report_activity_request
    assert sent is not None and mux.sent[0].end_of_stream
    assert client._activity.pending_calls() == 7 - (sent.batch_size or 0)
    assert client.stats.activity_calls_dropped == 0 and "cut" in (client.stats.last_error or "")
    again = _StubMux(fail_at=99)
    client._reporter.flush_in_background(again, "sid")  # type: ignore[arg-type]
    assert sum(f.report_activity_request.batch_size or 0 for f in again.sent) == 7 - (sent.batch_size or 0)  # type: ignore[union-attr]
    client.close()


def test_aggregator_separates_targets_and_methods() -> None:
    agg = ActivityAggregator()
    agg.record("a", "m1", 1, True)
    agg.record("a", "m2", 0, True)
    agg.record("b", "", 3, False)
    reports = {(r.target_service, r.method): r for r in (batch.report("s", 0) for batch in agg.take())}
    assert set(reports) == {("a", "m1"), ("a", "m2"), ("b", None)}
    assert reports[("a", "m2")].latency_histogram.zero_count == 1  # type: ignore[union-attr]
    assert reports[("b", None)].error_count == 1 and reports[("a", "m1")].success is True


# --------------------------------------------------------------------------------------------------
# TopologyView
# --------------------------------------------------------------------------------------------------

def test_view_applies_updates() -> None:
    view = TopologyView()
    a = ServiceNode(service_id="a", service_name="A", state=ServiceState.SERVICE_STATE_IDLE)
    view.apply(TopologyUpdate(type=UpdateType.UPDATE_TYPE_SNAPSHOT, revision=5,
                              snapshot=TopologySnapshot(nodes=[a], revision=5, server_epoch="e1")))
    assert view.nodes == {"a": a} and view.revision == 5 and view.server_epoch == "e1"
    b = ServiceNode(service_id="b", service_name="B")
    view.apply(TopologyUpdate(type=UpdateType.UPDATE_TYPE_NODE_ADDED, node=b, revision=6))
    edge = ServiceEdge(source_service_id="a", target_service="B", total_requests=3)
    view.apply(TopologyUpdate(type=UpdateType.UPDATE_TYPE_EDGE_ADDED, edge=edge, revision=7))
    assert view.node_name("a") == "A" and view.edges[("a", "B")].total_requests == 3
    view.apply(TopologyUpdate(type=UpdateType.UPDATE_TYPE_EDGE_REMOVED, edge=ServiceEdge(source_service_id="a",
                                                                                            target_service="B"), revision=8))
    view.apply(TopologyUpdate(type=UpdateType.UPDATE_TYPE_NODE_REMOVED, node=ServiceNode(service_id="a"), revision=9))
    view.apply(TopologyUpdate(type=UpdateType.UPDATE_TYPE_PROGRESS, revision=12))
    assert set(view.nodes) == {"b"} and not view.edges and view.revision == 12
    snap = view.snapshot()
    assert [n.service_id for n in snap.nodes] == ["b"] and snap.revision == 12


def test_put_back_keeps_the_time_of_the_first_call() -> None:
    """A batch that could not be sent, merged with calls recorded since, still says when its first
    call was made (the report of calls kept through an outage carries that time)."""
    clock = [1_000]
    agg = ActivityAggregator(clock=lambda: clock[0])
    agg.record("b", "m", 1.0, ok=True)
    taken = agg.take()
    clock[0] = 5_000
    agg.record("b", "m", 1.0, ok=True)
    agg.put_back(taken)
    [batch] = agg.take()
    assert batch.calls == 2 and batch.bucket.first_ms == 1_000
    assert batch.report("svc", era=agg.new_era()).timestamp_ms == 1_000


def test_error_messages_shorten_what_they_echo() -> None:
    from topology_client.errors import ECHO_LIMIT, shorten
    assert shorten("svc") == "'svc'"
    long = "n" * 5000
    assert shorten(long) == repr("n" * ECHO_LIMIT) + "…(5000 chars)"
    with pytest.raises(ValueError) as info:
        parse_address("h" * 5000)
    assert len(str(info.value)) < 200 and "(5000 chars)" in str(info.value)
    with pytest.raises(ValueError) as blank:
        TopologyClient("127.0.0.1:1").register(" " * 5000)
    assert len(str(blank.value)) < 200 and "(5000 chars)" in str(blank.value)
