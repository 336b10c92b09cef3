"""A topology-server child process on 127.0.0.1, restartable on the same port; shared by the Python
client tests (through ``conftest``) and the crash-restart test in ``Tests/reliability``."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from typing import List, Optional

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
        # No HTTP unless the test asks: the default port (50054) may be another server's, and a
        # server whose HTTP port is taken does not start.
        http = [] if any(a.startswith("--http-address") for a in self.args) else ["--http-address="]
        cmd = [self.binary, "--address", f"127.0.0.1:{port}", *http, *self.args]
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
