"""grpcio (C-core's HTTP/2 and gRPC, nobody's code here) against the frames port: every RPC, the
errors as over frames, 100 concurrent calls on one channel, and a snapshot far over HTTP/2's
initial flow-control window. The framed protocol answers on the same port meanwhile."""

from __future__ import annotations

import concurrent.futures
import threading

import grpc
import pytest


def register(client, stubs, name: str) -> str:
    response = client.RegisterService(stubs.messages.RegisterServiceRequest(service_name=name, service_type=1), timeout=5)
    assert response.handle.service_id
    return response.handle.service_id


def test_every_rpc(client, stubs):
    m = stubs.messages
    checkout = register(client, stubs, "checkout")
    register(client, stubs, "payments")

    beats = list(client.Heartbeat(iter([m.HeartbeatRequest(service_id=checkout, sequence=i) for i in (1, 2, 3)]), timeout=5))
    assert [b.sequence for b in beats] == [1, 2, 3] and all(b.acknowledged for b in beats)
    assert len(beats[0].server_epoch) == 32

    events = [m.ReportActivityRequest(service_id=checkout, target_service="payments", type=1, latency_ms=12, success=True)] * 4
    assert client.ReportActivity(iter(events), timeout=5).accepted_events == 4

    snapshot = client.GetTopology(m.GetTopologyRequest(), timeout=5).snapshot
    assert sorted(n.service_name for n in snapshot.nodes) == ["checkout", "payments"]

    watch = client.WatchTopology(m.WatchTopologyRequest(), timeout=10)
    first = next(watch)
    assert first.update.type == m.UPDATE_TYPE_SNAPSHOT and len(first.update.snapshot.nodes) == 2
    register(client, stubs, "inventory")
    added = next(u for u in watch if u.update.type == m.UPDATE_TYPE_NODE_ADDED)
    assert added.update.node.service_name == "inventory"
    watch.cancel()

    assert client.UnregisterService(m.UnregisterServiceRequest(service_id=checkout), timeout=5).removed


def test_errors_carry_the_frames_statuses(client, stubs, channel):
    m = stubs.messages
    with pytest.raises(grpc.RpcError) as refused:
        client.RegisterService(m.RegisterServiceRequest(service_name=""), timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == "invalid service_name: must not be empty"

    beats = client.Heartbeat(iter([m.HeartbeatRequest(service_id="7d3c1f4e-0000-4000-8000-000000000000", sequence=1)]), timeout=5)
    with pytest.raises(grpc.RpcError) as unknown:
        list(beats)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

    nope = channel.unary_unary("/runtime.v1.TopologyService/Nope", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as unimplemented:
        nope(b"", timeout=5)
    assert unimplemented.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "unknown method /runtime.v1.TopologyService/Nope" in unimplemented.value.details()

    # The channel serves on after each refusal.
    assert client.GetTopology(m.GetTopologyRequest(), timeout=5).snapshot.timestamp_ms > 0


def test_a_deadline_ends_a_watch(client, stubs):
    watch = client.WatchTopology(stubs.messages.WatchTopologyRequest(), timeout=0.5)
    assert next(watch).update.type == stubs.messages.UPDATE_TYPE_SNAPSHOT
    with pytest.raises(grpc.RpcError) as ended:
        list(watch)
    assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_one_hundred_concurrent_calls_on_one_channel(client, stubs):
    m = stubs.messages
    ids = [register(client, stubs, f"svc-{i}") for i in range(100)]
    # Each stream sends its second beat only once all 100 are open: they run at the same time.
    everyone_open = threading.Barrier(100, timeout=20)

    def beats(service_id: str):
        yield m.HeartbeatRequest(service_id=service_id, sequence=1)
        everyone_open.wait()
        yield m.HeartbeatRequest(service_id=service_id, sequence=2)

    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
        def beat(service_id: str) -> int:
            return sum(r.acknowledged for r in client.Heartbeat(beats(service_id), timeout=20))
        assert sum(pool.map(beat, ids)) == 200


def test_the_watch_limit_per_connection_applies_to_grpc(client, stubs):
    m = stubs.messages
    watches = [client.WatchTopology(m.WatchTopologyRequest(), timeout=10) for _ in range(16)]
    assert all(next(w).update.type == m.UPDATE_TYPE_SNAPSHOT for w in watches)
    with pytest.raises(grpc.RpcError) as refused:
        next(client.WatchTopology(m.WatchTopologyRequest(), timeout=10))
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "--max-watchers-per-connection is 16" in refused.value.details()
    for w in watches:
        w.cancel()


def test_a_snapshot_of_two_thousand_nodes_crosses_the_flow_control_windows(client, stubs, channel):
    m = stubs.messages
    register_call = client.RegisterService
    futures = [register_call.future(m.RegisterServiceRequest(service_name=f"node-{i:04d}", service_type=1, address="10.0.0.1:8080"), timeout=30)
               for i in range(2000)]
    assert all(f.result().handle.service_id for f in futures)
    response = client.GetTopology(m.GetTopologyRequest(), timeout=30)
    assert len(response.snapshot.nodes) == 2000
    assert response.ByteSize() > 65535
    # Both are over the server's off-loop size (1,000 entries): encoded by its reply encoder, then
    # written on their streams through HTTP/2 flow control.
    watch = client.WatchTopology(m.WatchTopologyRequest(), timeout=30)
    assert len(next(watch).update.snapshot.nodes) == 2000
    # What comes after the snapshot comes after it on the stream.
    late = register(client, stubs, "late")
    update = next(watch).update
    assert (update.type, update.node.service_id) == (m.UPDATE_TYPE_NODE_ADDED, late)
    watch.cancel()


def test_the_framed_protocol_still_answers_on_the_same_port(server, client, stubs):
    from topology_client import TopologyClient  # the repository's framed client (dashboard_support puts it on the path)

    with TopologyClient(server.address) as framed:
        framed_id = framed.register("framed-service").service_id
        grpc_id = register(client, stubs, "grpc-service")
        names = {n.service_id: n.service_name for n in client.GetTopology(stubs.messages.GetTopologyRequest(), timeout=5).snapshot.nodes}
    assert names[framed_id] == "framed-service" and names[grpc_id] == "grpc-service"


def test_metrics_count_grpc_connections(server, client, stubs):
    client.GetTopology(stubs.messages.GetTopologyRequest(), timeout=5)
    metrics = server.get("/metrics").decode()
    assert "\ntopology_grpc_connections 1\n" in metrics
    assert "\ntopology_grpc_heartbeat_replies_dropped_total 0\n" in metrics
