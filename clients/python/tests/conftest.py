"""Shared fixtures: the repository paths, the official protobuf module (test-only oracle), and a real
topology-server started from ``$TOPOLOGY_SERVER`` on an ephemeral port."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest

from server_process import ServerProcess  # noqa: F401 - the tests import it from here

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
