"""Fixtures of the OTLP tests: a real topology-server (the dashboard tests' `Server`) that the
OpenTelemetry Python SDK's own exporters send spans to, and helpers to read what it made of them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "dashboard"))
sys.path.insert(0, str(TESTS / "interop"))

from dashboard_support import Server  # noqa: E402


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server("--heartbeat-interval-ms", "30000")
    try:
        yield s
    finally:
        s.stop()
