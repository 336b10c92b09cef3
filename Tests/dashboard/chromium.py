"""Headless Chromium (Debian's `chromium`, see scripts/setup-browser.sh) driven over the DevTools
protocol (``websocket-client``, test-only), for the dashboard tests; and how they read the page."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tempfile
import urllib.request
from base64 import b64decode
from pathlib import Path
from typing import Any

import pytest
import websocket

from dashboard_support import stop_process, wait_for


class Browser:
    """Headless Chromium with a DevTools endpoint on 127.0.0.1; one page, driven over CDP."""

    def __init__(self, url: str) -> None:
        binary = shutil.which("chromium")
        if binary is None:
            pytest.fail("chromium is not installed: run scripts/setup-browser.sh")
        self.profile = tempfile.mkdtemp(prefix="topology-chromium-")
        self.proc = subprocess.Popen([
            binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
            "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
            "--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
            # No network but this machine's loopback: nothing is resolved, nothing leaves.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}", "--window-size=1280,800", url,
        ], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.devtools = self._devtools_address()
        page = wait_for(self._page_target, 15, "the page target")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=10, suppress_origin=True)
        self._ids = itertools.count(1)

    def _devtools_address(self) -> str:
        # Chromium writes the port it picked into the profile once it listens.
        port_file = Path(self.profile) / "DevToolsActivePort"
        text = wait_for(lambda: port_file.exists() and port_file.read_text(), 20, "Chromium's DevToolsActivePort")
        return f"127.0.0.1:{text.splitlines()[0]}"

    def _page_target(self) -> Any:
        with urllib.request.urlopen(f"http://{self.devtools}/json/list", timeout=5) as response:
            targets = json.load(response)
        return next((t for t in targets if t.get("type") == "page" and "webSocketDebuggerUrl" in t), None)

    def call(self, method: str, **params: Any) -> Any:
        message_id = next(self._ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def evaluate_async(self, expression: str, timeout: float = 30) -> Any:
        """The value a promise-returning expression settles to."""
        previous = self.ws.gettimeout()
        self.ws.settimeout(timeout)
        try:
            result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        finally:
            self.ws.settimeout(previous)
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b64decode(data))

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        stop_process(self.proc)
        shutil.rmtree(self.profile, ignore_errors=True)


# The page draws on a canvas; TopologyPage.inspect() says what its last frame drew (a node's label
# as it reads, whether it was drawn, where), read here as the tests' view of the page.
INSPECT_JS = "JSON.stringify(TopologyPage.inspect())"


def inspect(browser: Browser) -> dict:
    return json.loads(browser.evaluate(INSPECT_JS))


def nodes(browser: Browser) -> dict:
    """The services and placeholders on the page (drawn or filtered out), by name."""
    return {n["name"]: n for n in inspect(browser)["nodes"]}


def edges(browser: Browser) -> list:
    return inspect(browser)["edges"]


def drawn_nodes(browser: Browser) -> list:
    """Every node the last frame drew, duplicates included (``nodes`` keys them by name)."""
    return [n for n in inspect(browser)["nodes"] if n["drawn"]]


def click(browser: Browser, x: float, y: float) -> None:
    """A real mouse click at canvas point (x, y), through Chromium's input pipeline."""
    left, top = json.loads(browser.evaluate(
        "JSON.stringify((r => [r.left, r.top])(document.getElementById('graph').getBoundingClientRect()))"))
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        browser.call("Input.dispatchMouseEvent", type=kind, x=left + x, y=top + y, button="left", clickCount=1)


def click_node(browser: Browser, name: str) -> None:
    """Clicks the node where the last frame drew it, until its details open: a node still finding
    its place in the layout may have moved on between the reading and the click."""
    def clicked() -> bool:
        node = next((n for n in inspect(browser)["nodes"] if n["name"] == name and n["drawn"]), None)
        if node is not None:
            click(browser, node["x"], node["y"])
        return browser.evaluate("(document.querySelector('#details h2') || {}).textContent") == name
    wait_for(clicked, 5, f"the details of {name} after a click on it", interval=0.2)


def details(browser: Browser) -> dict:
    """The side panel's rows, name -> value."""
    return json.loads(browser.evaluate("JSON.stringify(Object.fromEntries(Array.from("
                                       "document.querySelectorAll('#details tr')).map(tr => [tr.cells[0].textContent, tr.cells[1].textContent])))"))


def total(browser: Browser, state: str) -> str:
    """A totals entry, e.g. ``dead 1`` (the totals are redrawn at most four times a second: wait for them)."""
    return browser.evaluate(f"document.querySelector('#totals span[data-state={json.dumps(state)}]').textContent")
