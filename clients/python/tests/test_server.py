"""The client against a real topology-server ($TOPOLOGY_SERVER), heartbeat interval 100 ms."""

from __future__ import annotations

import random
import threading
import time
from typing import Iterator, List, Optional

import pytest

from conftest import HEARTBEAT_MS, ServerProcess, wait_for
from topology_client import (ClientState, HealthState, ProcessMetrics, ServerStatusError, ServiceNode, ServiceState, TopologyClient,
                             TopologyQuery, TopologyView, UpdateType)
from topology_client.messages import Frame, RegisterServiceRequest, UnregisterServiceRequest

INTERVAL = HEARTBEAT_MS / 1000


def find(client: TopologyClient, service_id: Optional[str]) -> Optional[ServiceNode]:
    for node in client.get_topology().nodes:
        if node.service_id == service_id:
            return node
    return None


@pytest.fixture
def observer(server: ServerProcess) -> Iterator[TopologyClient]:
    client = TopologyClient(server.address, timeout=2)
    yield client
    client.close()


def test_register_heartbeat_unregister(server: ServerProcess, observer: TopologyClient) -> None:
    with TopologyClient(server.address, timeout=2, health_provider=lambda: HealthState.HEALTH_STATE_HEALTHY,
                        metrics_provider=ProcessMetrics()) as client:
        handle = client.register("py-alive", version="1.2.3", metadata={"environment": "test", "team": "core"})
        assert handle.heartbeat_interval_ms == HEARTBEAT_MS and handle.server_epoch
        node = find(observer, client.service_id)
        assert node is not None and node.service_name == "py-alive" and node.version == "1.2.3"
        assert node.metadata is not None and node.metadata.environment == "test"
        time.sleep(5 * INTERVAL)  # longer than the DEAD deadline (3 intervals): heartbeats keep it alive
        node = find(observer, client.service_id)
        assert node is not None and node.state == ServiceState.SERVICE_STATE_IDLE
        assert node.health == HealthState.HEALTH_STATE_HEALTHY
        assert node.metrics is not None and node.metrics.memory_bytes > 1 << 20
        assert client.stats.heartbeats_acknowledged >= 3
        service_id = client.service_id
    assert find(observer, service_id) is None


def test_unknown_service_reregisters_with_same_id(server: ServerProcess, observer: TopologyClient) -> None:
    """Another connection unregisters our service: the next heartbeat gets NOT_FOUND and the client
    registers again under the same id, by itself."""
    with TopologyClient(server.address, timeout=2) as client:
        service_id = client.register("py-phoenix").service_id
        reply = observer._connection().unary(
            Frame(unregister_service_request=UnregisterServiceRequest(service_id=service_id)), 2)
        assert reply.unregister_service_response is not None and reply.unregister_service_response.removed
        assert wait_for(lambda: find(observer, service_id), 4 * INTERVAL), "not back within 4 intervals"
        assert client.service_id == service_id and client.stats.reregistrations >= 1


def test_server_kill_and_restart_same_id_within_two_intervals(server: ServerProcess) -> None:
    with TopologyClient(server.address, timeout=2) as client:
        service_id = client.register("py-survivor").service_id
        old_epoch = client.server_epoch
        port = server.port
        assert port is not None
        server.kill()
        time.sleep(3 * INTERVAL)
        assert client.state is ClientState.RECOVERING
        server.start(port=port)
        restarted = time.monotonic()
        with TopologyClient(server.address, timeout=2) as observer:
            node = wait_for(lambda: find(observer, service_id), 10 * INTERVAL, interval=0.005)
            elapsed = time.monotonic() - restarted
        assert node is not None, "service not back with its id"
        assert elapsed <= 2 * INTERVAL, f"back after {elapsed * 1000:.0f} ms, more than 2 intervals"
        # (the server may list the node a moment before the client has read its answer)
        assert wait_for(lambda: client.state is ClientState.REGISTERED and client.server_epoch != old_epoch, 1.0)
        assert client.service_id == service_id


def test_activity_from_four_threads(server: ServerProcess, observer: TopologyClient) -> None:
    rng = random.Random(42)
    latencies = [rng.lognormvariate(3, 0.6) for _ in range(10_000)]  # median ~20 ms, long tail
    with TopologyClient(server.address, timeout=2) as callee, TopologyClient(server.address, timeout=2) as client:
        callee.register("py-payments")
        service_id = client.register("py-checkout").service_id

        def work(part: int) -> None:
            for n in range(part, 10_000, 4):
                client.report_call("py-payments", "Charge", latencies[n], ok=n % 20 != 0)

        threads = [threading.Thread(target=work, args=(p,)) for p in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        def edge():  # type: ignore[no-untyped-def]
            for e in observer.get_topology().edges:
                if e.source_service_id == service_id and e.total_requests >= 10_000:
                    return e
            return None

        found = wait_for(edge, 5.0, interval=0.05)
        assert found is not None, "no edge with 10,000 requests"
        assert found.total_requests == 10_000 and found.total_errors == 500
        assert found.target_service == "py-payments" and found.target_service_id == callee.service_id
        ordered = sorted(latencies)
        for got, q in ((found.latency_p50_ms, 0.50), (found.latency_p95_ms, 0.95), (found.latency_p99_ms, 0.99)):
            want = ordered[int(q * len(ordered)) - 1]
            assert abs(got - want) / want < 0.03, f"p{int(q * 100)}: {got} vs {want}"
        assert abs(found.error_rate - 0.05) < 0.005
        assert abs(found.avg_latency_ms - sum(latencies) / len(latencies)) / found.avg_latency_ms < 0.03
        assert client.stats.activity_events_accepted >= 1


def test_watch_snapshot_node_edge_removal(server: ServerProcess) -> None:
    with TopologyClient(server.address, timeout=2) as existing:
        existing.register("py-existing")
        watcher = TopologyClient(server.address, timeout=2)
        view = TopologyView()
        with watcher.watch() as watch:
            first = watch.next_update(timeout=2)
            assert first is not None and first.type == UpdateType.UPDATE_TYPE_SNAPSHOT
            view.apply(first)
            assert existing.service_id in view.nodes

            seen: List[str] = []

            def until(predicate, timeout: float = 3.0) -> bool:  # type: ignore[no-untyped-def]
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    update = watch.next_update(timeout=deadline - time.monotonic())
                    if update is None:
                        break
                    view.apply(update)
                    seen.append(update.type.name)
                    if predicate(update):
                        return True
                return False

            newcomer = TopologyClient(server.address, timeout=2)
            new_id = newcomer.register("py-newcomer").service_id
            assert until(lambda u: u.type == UpdateType.UPDATE_TYPE_NODE_ADDED and u.node.service_id == new_id), seen
            newcomer.report_call("py-existing", "Get", 4.0)
            assert until(lambda u: u.edge is not None and u.edge.source_service_id == new_id
                         and u.edge.total_requests >= 1), seen
            newcomer.unregister()
            newcomer.close()
            assert until(lambda u: u.type == UpdateType.UPDATE_TYPE_NODE_REMOVED and u.node.service_id == new_id), seen
            assert new_id not in view.nodes
            assert all(edge.source_service_id != new_id for edge in view.edges.values()) or until(
                lambda u: u.type == UpdateType.UPDATE_TYPE_EDGE_REMOVED, 1.0)
            # What the watcher holds is what the server holds.
            snapshot = watcher.get_topology()
            assert {n.service_id for n in snapshot.nodes} == set(view.nodes)
        watcher.close()


def test_watch_resumes_after_server_restart(server: ServerProcess) -> None:
    with TopologyClient(server.address, timeout=2) as client:
        service_id = client.register("py-watched").service_id
        watcher = TopologyClient(server.address, timeout=2)
        with watcher.watch(reconnect_max_delay=0.1) as watch:
            first = watch.next_update(timeout=2)
            assert first is not None and first.snapshot is not None
            old_epoch = watch.server_epoch
            port = server.port
            assert port is not None
            server.stop()  # SIGTERM: the server ends the watch with UNAVAILABLE
            server.start(port=port)
            # The watch reconnects by itself and gets a resync snapshot of the new server process; the
            # service comes back under its id. (An update the old process sent before it stopped may
            # name the service too: the view starts at the first snapshot after the reconnect.)
            view = TopologyView()
            resynced = False
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not (resynced and service_id in view.nodes):
                update = watch.next_update(timeout=deadline - time.monotonic())
                if update is not None and update.snapshot is not None and watch.reconnects >= 1:
                    resynced = True
                if update is not None and resynced:
                    view.apply(update)
            assert resynced, "no snapshot after the reconnect"
            assert service_id in view.nodes
            assert watch.reconnects >= 1 and watch.server_epoch != old_epoch
        watcher.close()


def test_get_topology_query_filters(server: ServerProcess, observer: TopologyClient) -> None:
    with TopologyClient(server.address, timeout=2) as a, TopologyClient(server.address, timeout=2) as b:
        a.register("py-alpha", metadata={"environment": "prod"})
        b.register("py-beta", metadata={"environment": "dev"})
        names = {n.service_name for n in observer.get_topology(TopologyQuery(service_names=["py-alpha"])).nodes}
        assert names == {"py-alpha"}
        names = {n.service_name for n in observer.get_topology(TopologyQuery(environments=["dev"])).nodes}
        assert names == {"py-beta"}


@pytest.mark.parametrize("name", ["", "   ", "\t \n"])
def test_invalid_registration_is_a_status_error(server: ServerProcess, name: str) -> None:
    """The server's own check (register() refuses these names before sending: sent by hand here)."""
    with TopologyClient(server.address, timeout=2) as client:
        request = Frame(register_service_request=RegisterServiceRequest(service_name=name))
        with pytest.raises(ServerStatusError) as info:
            client._connection().unary(request, 2)  # noqa: SLF001 - around the client's own check
        assert info.value.code == 3 and "service_name" in info.value.status_message
        with pytest.raises(ValueError, match="empty or only whitespace"):
            client.register(name)


def test_watch_resumes_from_its_revision_after_a_lost_connection(server: ServerProcess) -> None:
    """The watch's socket is cut while the server keeps running; changes made meanwhile arrive after
    the reconnect (replayed from the server's history, or in a resync snapshot), none twice."""
    watcher = TopologyClient(server.address, timeout=2)
    with watcher.watch(reconnect_initial_delay=0.05, reconnect_max_delay=0.1) as watch:
        first = watch.next_update(timeout=2)
        assert first is not None and first.type == UpdateType.UPDATE_TYPE_SNAPSHOT
        view = TopologyView()
        view.apply(first)
        conn = watch._conn
        assert conn is not None
        conn.close()  # as if the network dropped it
        with TopologyClient(server.address, timeout=2) as client:
            service_id = client.register("py-missed").service_id
            revisions: List[int] = []
            kinds: List[str] = []
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and service_id not in view.nodes:
                update = watch.next_update(timeout=deadline - time.monotonic())
                if update is None:
                    continue
                view.apply(update)
                kinds.append(update.type.name)
                if update.type != UpdateType.UPDATE_TYPE_SNAPSHOT:
                    revisions.append(update.revision)
            assert service_id in view.nodes, kinds
            assert watch.reconnects == 1
            assert revisions == sorted(set(revisions)), "an update was delivered twice or out of order"
            assert all(r > first.revision for r in revisions)
            assert {n.service_id for n in watcher.get_topology().nodes} == set(view.nodes)
    watcher.close()


def test_failover_skips_a_dead_address(server: ServerProcess) -> None:
    import socket
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    dead = f"127.0.0.1:{probe.getsockname()[1]}"
    probe.close()  # nothing listens there now
    with TopologyClient([dead, server.address], timeout=2) as client:
        client.register("py-failover")
        assert client.address == server.address
        assert wait_for(lambda: client.stats.heartbeats_acknowledged >= 2, 1.0)
