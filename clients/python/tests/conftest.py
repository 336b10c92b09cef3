"""Shared fixtures: the repository paths, the official protobuf module (test-only oracle), and a real
topology-server started from ``$TOPOLOGY_SERVER`` on an ephemeral port."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Iterator, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent
REPO = PACKAGE_ROOT.parent.parent
SCHEMA = REPO / "Schema"
TESTDATA = SCHEMA / "testdata"

sys.path.insert(0, str(PACKAGE_ROOT))


@pytest.fixture(scope="session")
def pb2() -> Iterator[ModuleType]:
    """``topology_pb2`` compiled by the official protoc into a temporary directory."""
    pytest.importorskip("google.protobuf")
    grpc_tools = pytest.importorskip("grpc_tools.protoc")
    with tempfile.TemporaryDirectory() as out:
        code = grpc_tools.main(["protoc", f"-I{SCHEMA}", f"--python_out={out}", str(SCHEMA / "topology.proto")])
        assert code == 0, "protoc failed on Schema/topology.proto"
        sys.path.insert(0, out)
        try:
            yield importlib.import_module("topology_pb2")
        finally:
            sys.path.remove(out)


_LISTENING = re.compile(r'msg="?listening"?.*?address=(\S+)')


class ServerProcess:
    """A topology-server child process; its stderr is collected by a thread."""

    def __init__(self, binary: str, args: List[str]) -> None:
        self.binary = binary
        self.args = args
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.port: Optional[int] = None
        self.log: List[str] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, port: int = 0, timeout: float = 15.0) -> None:
        cmd = [self.binary, "--address", f"127.0.0.1:{port}", *self.args]
        deadline = time.monotonic() + timeout
        while True:  # a restart on the same port can race the old socket's release: retry briefly
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            found = threading.Event()
            lines: List[str] = []

            def pump(p: "subprocess.Popen[bytes]" = proc, sink: List[str] = lines) -> None:
                assert p.stderr is not None
                for raw in p.stderr:
                    line = raw.decode("utf-8", "replace").rstrip()
                    sink.append(line)
                    match = _LISTENING.search(line)
                    if match and not found.is_set():
                        self.port = int(match.group(1).rsplit(":", 1)[1].strip('"'))
                        found.set()

            thread = threading.Thread(target=pump, daemon=True)
            thread.start()
            while not found.is_set() and proc.poll() is None and time.monotonic() < deadline:
                found.wait(0.05)
            if found.is_set():
                self.proc = proc
                self.log = lines
                return
            proc.kill()
            proc.wait(5)
            thread.join(5)
            if time.monotonic() >= deadline:
                raise RuntimeError(f"topology-server did not start: {cmd}\n" + "\n".join(lines[-20:]))
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


HEARTBEAT_MS = 100
SERVER_ARGS = ["--heartbeat-interval-ms", str(HEARTBEAT_MS), "--timeout-multiplier", "3",
               "--activity-flush-ms", "100"]


def server_binary() -> str:
    binary = os.environ.get("TOPOLOGY_SERVER")
    if not binary:
        if os.environ.get("CI"):
            pytest.fail("TOPOLOGY_SERVER is not set: CI must test against a real topology-server")
        pytest.skip("TOPOLOGY_SERVER is not set: no topology-server binary to test against")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"TOPOLOGY_SERVER={binary} is not an executable")
    return binary


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    """A fresh topology-server (heartbeat interval 100 ms, multiplier 3) on an ephemeral port."""
    proc = ServerProcess(server_binary(), SERVER_ARGS)
    proc.start()
    try:
        yield proc
    finally:
        proc.kill()


def wait_for(predicate, timeout: float, interval: float = 0.01):  # type: ignore[no-untyped-def]
    """Polls ``predicate`` until it returns something truthy (returned) or ``timeout`` passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)
