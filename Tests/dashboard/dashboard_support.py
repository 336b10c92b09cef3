"""What the dashboard tests share: a real topology-server (``$TOPOLOGY_SERVER``) on ephemeral ports
for both listeners, with short intervals, a bounded wait, and the Python client importable from the
repository. A module of its own name, not conftest: a test imports it by name, which would find
another directory's conftest when several test directories run in one pytest session."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import List, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python"))

_LISTENING = re.compile(r'msg="?listening"?.*? address=(\S+) http_address=(\S+)')


def server_binary() -> str:
    binary = os.environ.get("TOPOLOGY_SERVER") or str(REPO / ".build" / "debug" / "topology-server")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no topology-server binary at {binary}: build it and set TOPOLOGY_SERVER")
    return binary


class Server:
    """A topology-server child; its log (stderr) is collected by a thread."""

    def __init__(self, *extra: str) -> None:
        args = [server_binary(), "--address", "127.0.0.1:0", "--http-address", "127.0.0.1:0",
                "--heartbeat-interval-ms", "200", "--activity-flush-ms", "200",
                "--node-update-throttle-ms", "200", "--rps-window-ms", "3000", *extra]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.log: List[str] = []
        self._listening = threading.Event()
        self.address = ""
        self.http = ""
        self.epoch = ""
        threading.Thread(target=self._read_log, daemon=True).start()
        if not self._listening.wait(10):
            self.stop()
            pytest.fail("topology-server did not log msg=listening within 10 s:\n" + "\n".join(self.log))

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log.append(line)
            match = _LISTENING.search(line)
            if match and not self._listening.is_set():
                self.address, self.http = match.group(1), match.group(2)
                epoch = re.search(r" server_epoch=(\w+)", line)
                self.epoch = epoch.group(1) if epoch else ""
                self._listening.set()

    @property
    def base_url(self) -> str:
        return f"http://{self.http}"

    def get(self, path: str, timeout: float = 5.0) -> bytes:
        with urllib.request.urlopen(self.base_url + path, timeout=timeout) as response:
            return response.read()

    def stop(self) -> None:
        stop_process(self.proc)


def start_service(server: Server, name: str) -> subprocess.Popen:
    """The Python client's `register` command in a process of its own, heartbeating until it is
    stopped or killed (`kill -9`: no unregister, the server sees heartbeats stop)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "clients" / "python"))
    return subprocess.Popen([sys.executable, "-m", "topology_client", "--address", server.address, "register", name],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 5 s: every child a test starts ends with it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    """Polls ``predicate`` until it returns a truthy value (returned) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    last: Optional[BaseException] = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - reported below if it never succeeds
            last = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}" + (f" (last error: {last!r})" if last else ""))
