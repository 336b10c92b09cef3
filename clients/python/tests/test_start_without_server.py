"""A service that starts while its server is down (issue 16): it registers in the background once
a server listens, keeps its calls meanwhile, and sends them with the time they were made."""

from __future__ import annotations

import socket
import time
from typing import Iterator, List, Optional

import pytest

from conftest import ServerProcess, server_binary, wait_for
from fakeserver import Behaving, FakeServer
from topology_client import ClientState, ServiceEdge, ServiceNode, TopologyClient


def free_port() -> int:
    """A port nothing listens on now, for a server started later (the kernel's pick for port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def later_server() -> Iterator[ServerProcess]:
    """A topology-server not started yet, with its default heartbeat interval (5 s) and activity
    flush (1 s): the service must appear within one interval of its start."""
    proc = ServerProcess(server_binary(), ["--http-address="])
    try:
        yield proc
    finally:
        proc.kill()


def node_named(client: TopologyClient, name: str) -> Optional[ServiceNode]:
    return next((n for n in client.get_topology().nodes if n.service_name == name), None)


def edge_from(client: TopologyClient, service_id: str, target: str, total: int) -> Optional[ServiceEdge]:
    return next((e for e in client.get_topology().edges if e.source_service_id == service_id
                 and e.target_service == target and e.total_requests >= total), None)


def test_service_starts_before_its_server_and_keeps_its_calls(later_server: ServerProcess) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    states: List[ClientState] = []
    with TopologyClient(address, timeout=2, on_state_change=states.append) as client:
        assert client.register("py-early-bird") is None, "no server: registration continues in the background"
        assert client.state is ClientState.RECOVERING and client.service_id is None
        for n in range(25):
            client.report_call("py-backend", "Get", latency_ms=3.0, ok=n % 5 != 0)
        later_server.start(port=port)
        started = time.monotonic()
        with TopologyClient(address, timeout=2) as observer:
            node = wait_for(lambda: node_named(observer, "py-early-bird"), 5.0, interval=0.01)
            elapsed = time.monotonic() - started
            assert node is not None, "the service never appeared"
            assert elapsed < 5.0, f"appeared {elapsed:.2f} s after the server started: more than one interval"
            assert wait_for(lambda: client.state is ClientState.REGISTERED, 2.0)
            assert client.service_id == node.service_id
            edge = wait_for(lambda: edge_from(observer, node.service_id, "py-backend", 25), 5.0)
            assert edge is not None, "the calls kept during the outage did not arrive"
            assert edge.total_requests == 25 and edge.total_errors == 5
        assert client.stats.activity_calls_dropped == 0
    assert states[:2] == [ClientState.RECOVERING, ClientState.REGISTERED]


def test_calls_from_before_the_window_count_in_totals_not_in_the_rate(later_server: ServerProcess) -> None:
    """Calls kept 10 s (the aggregator's clock says) before the server came: the server counts them
    in the edge's totals, never in its rate; calls made after registration count in both."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    offset_ms = [10_000]
    with TopologyClient(address, timeout=2) as client:
        client._activity.clock = lambda: int(time.time() * 1000) - offset_ms[0]  # noqa: SLF001 - injected clock
        assert client.register("py-late-reporter") is None
        for _ in range(40):
            client.report_call("py-store", latency_ms=1.0)
        offset_ms[0] = 0
        later_server.start(port=port)
        with TopologyClient(address, timeout=2) as observer:
            node = wait_for(lambda: node_named(observer, "py-late-reporter"), 5.0)
            assert node is not None
            old = wait_for(lambda: edge_from(observer, node.service_id, "py-store", 40), 5.0)
            assert old is not None and old.total_requests == 40
            assert old.rps == 0, f"calls from 10 s ago counted in the 5 s window: {old.rps} rps"
            for _ in range(10):
                client.report_call("py-store", latency_ms=1.0)
            fresh = wait_for(lambda: edge_from(observer, node.service_id, "py-store", 50), 5.0)
            assert fresh is not None and fresh.total_requests == 50
            assert fresh.rps == pytest.approx(10 / 5), "only the calls of the moment are in the rate"


def test_kept_calls_carry_their_time_and_live_ones_none() -> None:
    """Against the fake: reports of calls recorded before the registration carry timestamp_ms (the
    first call's time, from the injected clock); calls after it carry none."""
    port = free_port()
    fake = Behaving(interval_ms=100, flush_ms=50)
    clock = [1_700_000_000_000]
    with TopologyClient(f"127.0.0.1:{port}", timeout=2, reconnect_max_delay=0.05) as client:
        client._activity.clock = lambda: clock[0]  # noqa: SLF001 - injected clock
        assert client.register("svc") is None
        client.report_call("kept", "A", latency_ms=1.0)
        clock[0] += 700
        client.report_call("kept", "A", latency_ms=1.0)
        clock[0] += 10_000
        server = FakeServer(fake, port=port)
        try:
            assert wait_for(lambda: client.state is ClientState.REGISTERED, 5.0)
            assert wait_for(lambda: any(f.report_activity_request.target_service == "kept"  # type: ignore[union-attr]
                                        for f in list(fake.reports)), 5.0)
            client.report_call("live", latency_ms=1.0)
            assert wait_for(lambda: any(f.report_activity_request.target_service == "live"  # type: ignore[union-attr]
                                        for f in list(fake.reports)), 5.0)
        finally:
            client.close()
            server.close()
    by_target = {f.report_activity_request.target_service: f.report_activity_request for f in fake.reports
                 if f.report_activity_request is not None}
    assert by_target["kept"].timestamp_ms == 1_700_000_000_000 and by_target["kept"].batch_size == 2
    assert by_target["live"].timestamp_ms is None


def test_unregister_gives_up_a_waiting_registration() -> None:
    with TopologyClient(f"127.0.0.1:{free_port()}", timeout=1) as client:
        assert client.register("svc") is None
        assert client.unregister() is False
        assert client.state is ClientState.DISCONNECTED
        with pytest.raises(Exception, match="call register"):
            client.flush()


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_blank_names_are_refused_before_anything_is_sent(name: str) -> None:
    with pytest.raises(ValueError, match="empty or only whitespace"):
        TopologyClient(f"127.0.0.1:{free_port()}", timeout=1).register(name)
