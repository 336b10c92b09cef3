"""Fixtures of the dashboard tests (what they share is in dashboard_support.py)."""

from __future__ import annotations

from typing import Iterator

import pytest

from dashboard_support import Server


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    try:
        yield s
    finally:
        s.stop()
