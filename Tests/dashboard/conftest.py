"""Fixtures of the dashboard tests (what they share is in dashboard_support.py)."""

from __future__ import annotations

from typing import Iterator

import pytest

from chromium import Browser
from dashboard_support import Server, wait_for
from reporter import Reporter


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


@pytest.fixture
def page() -> Iterator:
    """``page(*server_flags)`` starts a server, the page on it and a reporter, and returns the three."""
    servers = []
    browser = reporter = None

    def start(*flags: str) -> tuple:
        nonlocal browser, reporter
        server = Server(*flags)
        servers.append(server)
        browser = Browser(server.base_url + "/")
        reporter = Reporter(server)
        wait_for(lambda: browser.evaluate("document.getElementById('conn').dataset.state") == "live", 15, "the page to connect")
        return browser, server, reporter

    try:
        yield start
    finally:
        if reporter is not None:
            reporter.close()
        if browser is not None:
            browser.close()
        for server in servers:
            server.stop()
