"""Fixtures of the dashboard tests (what they share is in dashboard_support.py)."""

from __future__ import annotations

from typing import Iterator

import pytest

from chromium import Browser
from dashboard_support import Server


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def browser_and_server() -> Iterator[tuple]:
    server = Server()
    browser = None
    try:
        browser = Browser(server.base_url + "/")
        yield browser, server
    finally:
        if browser is not None:
            browser.close()
        server.stop()
