"""Framing (all at once, byte by byte, many frames per read), the latency histogram, the activity
aggregator and TopologyView: no sockets."""

from __future__ import annotations

import math
import random
import threading

import pytest

from topology_client import (ActivityAggregator, FrameReader, ProtocolError, TopologyView, bucket_index, bucket_value,
                             encode_frame, percentile)
from topology_client._transport import normalize_addresses, parse_address
from topology_client.activity import GAMMA
from topology_client.errors import DecodeError
from topology_client.messages import (Frame, HeartbeatResponse, ServiceEdge, ServiceNode, ServiceState, Status,
                                      TopologySnapshot, TopologyUpdate, UpdateType)

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
    with pytest.raises(ProtocolError, match="over the limit"):
        reader.next_frame()
    with pytest.raises(ProtocolError):  # unusable afterwards
        reader.next_frame()


def test_reader_rejects_huge_incomplete_prefix() -> None:
    reader = FrameReader(max_frame_size=1 << 20)
    reader.feed(b"\xff\xff\xff\xff")  # already more than 1 MiB, prefix not finished
    with pytest.raises(ProtocolError, match="over the limit"):
        reader.next_frame()


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
    [report] = agg.drain("svc", 1234)
    assert report.batch_size == 10_000 and report.error_count == 1000 and report.success is False
    assert report.error_message == "boom" and report.timestamp_ms == 1234 and report.method == "Charge"
    hist = report.latency_histogram
    assert hist is not None and sum(hist.counts) == 10_000 and hist.indexes == sorted(set(hist.indexes))
    assert 45 <= report.latency_ms <= 56
    assert abs(percentile(hist, 0.99) - 99.01) / 99.01 < 0.03
    assert agg.drain("svc", 0) == []


def test_aggregator_is_bounded() -> None:
    agg = ActivityAggregator(max_keys=3)
    for i in range(10):
        agg.record(f"t{i}", "", 1.0, ok=True)
    assert len(agg.drain("s", 0)) == 3 and agg.dropped_calls == 7


def test_aggregator_separates_targets_and_methods() -> None:
    agg = ActivityAggregator()
    agg.record("a", "m1", 1, True)
    agg.record("a", "m2", 0, True)
    agg.record("b", "", 3, False)
    reports = {(r.target_service, r.method): r for r in agg.drain("s", 0)}
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
