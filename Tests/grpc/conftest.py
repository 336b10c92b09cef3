"""Fixtures of the gRPC tests: a real topology-server (the dashboard tests' `Server`), the Python
stubs generated from Schema/topology.proto at test time (Tests/interop/grpc_stubs.py), and a grpcio
channel to the frames port."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import grpc
import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "dashboard"))
sys.path.insert(0, str(TESTS / "interop"))

import grpc_stubs  # noqa: E402
from dashboard_support import Server  # noqa: E402


@pytest.fixture
def server() -> Iterator[Server]:
    # Services registered by a test and never heartbeated live through it.
    s = Server("--heartbeat-interval-ms", "30000")
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def stubs():
    return grpc_stubs.load()


@pytest.fixture
def channel(server: Server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as ch:
        grpc.channel_ready_future(ch).result(timeout=5)
        yield ch


@pytest.fixture
def client(channel, stubs):
    return stubs.services.TopologyServiceStub(channel)
