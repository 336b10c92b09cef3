"""The command line, as a user runs it: ``python3 -m topology_client`` in a subprocess."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Iterator, List, Optional

import pytest

from conftest import PACKAGE_ROOT, ServerProcess, wait_for
from topology_client import TopologyClient, cli
from topology_client.messages import (ServiceEdge, ServiceNode, ServiceState, TopologySnapshot, TopologyUpdate,
                                      UpdateType)
from topology_client.watch import TopologyView


def run_cli(*args: str, timeout: float = 15, env_extra: Optional[dict] = None) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "topology_client", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


class LineReader:
    """The stdout lines of a child process, read by a thread, waited for with a deadline."""

    def __init__(self, proc: "subprocess.Popen[str]") -> None:
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.seen: List[str] = []
        assert proc.stdout is not None
        stream = proc.stdout
        def pump() -> None:
            for line in stream:
                self.lines.put(line)
            self.lines.put(None)

        self.thread = threading.Thread(target=pump, daemon=True)
        self.thread.start()

    def wait_for(self, *needles: str, timeout: float = 5.0) -> str:
        """The next line that contains every one of ``needles``."""
        needle = " ".join(needles)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} not seen; got:\n" + "".join(self.seen))
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"output ended before {needle!r}; got:\n" + "".join(self.seen))
            self.seen.append(line)
            if all(n in line for n in needles):
                return line


@pytest.fixture
def spawn() -> Iterator[List["subprocess.Popen[str]"]]:
    procs: List["subprocess.Popen[str]"] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def popen_cli(procs: List["subprocess.Popen[str]"], *args: str) -> "subprocess.Popen[str]":
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "topology_client", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    procs.append(proc)
    return proc


def test_get_json(server: ServerProcess) -> None:
    with TopologyClient(server.address, timeout=2) as client:
        service_id = client.register("py-json", version="9", metadata={"team": "core"}).service_id
        client.report_call("py-json", "Self", 2.0)
        client.flush()
        assert wait_for(lambda: client.get_topology().edges, 2.0), "the server did not make the edge"
        result = run_cli("--address", server.address, "get", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [node] = [n for n in data["nodes"] if n["serviceId"] == service_id]
    assert node["serviceName"] == "py-json" and node["version"] == "9" and node["metadata"] == {"team": "core"}
    assert node["language"] == "SERVICE_LANGUAGE_PYTHON" and node["state"].startswith("SERVICE_STATE_")
    assert int(node["lastHeartbeatMs"]) > 0 and data["serverEpoch"]
    assert any(e["sourceServiceId"] == service_id and e["targetService"] == "py-json" for e in data.get("edges", []))


def test_get_table(server: ServerProcess) -> None:
    with TopologyClient(server.address, timeout=2) as client:
        client.register("py-table")
        result = run_cli("get", "--address", server.address, "--service", "py-table")
    assert result.returncode == 0, result.stderr
    assert "SERVICES (1)" in result.stdout and "py-table" in result.stdout and "PYTHON" in result.stdout


def test_watch_plain_shows_node_appear_and_disappear(server: ServerProcess, spawn: List["subprocess.Popen[str]"]) -> None:
    proc = popen_cli(spawn, "watch", "--address", server.address)  # stdout is a pipe: plain lines
    out = LineReader(proc)
    out.wait_for("SNAPSHOT")
    client = TopologyClient(server.address, timeout=2)
    service_id = client.register("py-blinker").service_id
    added = out.wait_for("NODE_ADDED")
    assert "name=py-blinker" in added and f"id={service_id}" in added
    client.unregister()
    client.close()
    out.wait_for("NODE_REMOVED", f"id={service_id}")
    assert "\x1b[" not in "".join(out.seen)  # no terminal control codes when not a terminal
    proc.send_signal(signal.SIGINT)
    assert proc.wait(5) == 0


def test_register_command_until_interrupted(server: ServerProcess, spawn: List["subprocess.Popen[str]"]) -> None:
    proc = popen_cli(spawn, "register", "py-cli-demo", "--address", server.address, "--environment", "demo")
    line = LineReader(proc).wait_for("registered py-cli-demo")
    service_id = line.split("id=")[1].split()[0]
    with TopologyClient(server.address, timeout=2) as observer:
        assert any(n.service_id == service_id for n in observer.get_topology().nodes)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(5) == 0
        assert all(n.service_id != service_id for n in observer.get_topology().nodes)


def test_errors_are_one_line_and_nonzero() -> None:
    result = run_cli("--address", "127.0.0.1:1", "get")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("topology: error: could not connect")
    result = run_cli("get", "--address", "nonsense")
    assert result.returncode == 2 and "invalid address" in result.stderr


def test_live_table_rendering() -> None:
    """The terminal view, drawn into a buffer: home cursor, one row per node and edge."""
    view = TopologyView()
    now = int(time.time() * 1000)
    node = ServiceNode(service_id="id-a", service_name="alpha", state=ServiceState.SERVICE_STATE_ACTIVE,
                       last_heartbeat_ms=now - 1500)
    edge = ServiceEdge(source_service_id="id-a", target_service="beta", rps=12.25, latency_p99_ms=7.5,
                       error_rate=0.02, total_requests=99)
    view.apply(TopologyUpdate(type=UpdateType.UPDATE_TYPE_SNAPSHOT, revision=4,
                              snapshot=TopologySnapshot(nodes=[node], edges=[edge], revision=4)))
    buf = io.StringIO()
    cli._draw(buf, view, ["127.0.0.1:50053"], True, None)
    text = buf.getvalue()
    assert text.startswith("\x1b[H") and text.endswith("\x1b[J")
    assert "revision 4" in text and "1 services" in text
    row = next(l for l in text.split("\n") if l.startswith("alpha"))
    assert "ACTIVE" in row and "1.5s ago" in row
    edge_row = next(l for l in text.split("\n") if "beta" in l)
    assert "alpha" in edge_row and "12.2" in edge_row and "7.5ms" in edge_row and "2.0%" in edge_row
