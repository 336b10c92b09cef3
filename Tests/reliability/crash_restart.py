"""The crash-and-restart harness: fleets of services through the C and Python clients (a watcher in
each fleet process) register with a topology-server, which is killed with SIGKILL and started again
on the same port one heartbeat interval later. It measures, from the new server's log, when each
service registered again under its own id, relative to the new server's ``listening`` line, and
when each watcher resumed (a resync SNAPSHOT from the new server, then a view holding every service).

``test_crash_restart.py`` runs it at a size that takes seconds and asserts the documented bound; run
it by hand for other sizes (docs/reliability.md), e.g. the Python fleet of issue 14::

    TOPOLOGY_SERVER=.build/debug/topology-server python Tests/reliability/crash_restart.py \\
        --python 8x250 --interval-ms 1000
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field as dataclass_field
from datetime import datetime
from pathlib import Path
from typing import Callable, Deque, Dict, List, Optional, Set, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "clients" / "python" / "tests"))

from server_process import ServerProcess  # noqa: E402


class Fleet:
    """One fleet process (C or Python) and what its output says: its services and its watch's view."""

    def __init__(self, command: List[str], label: str) -> None:
        self.label = label
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.ids: List[str] = []
        self.ready = threading.Event()
        self.lock = threading.Lock()
        self.view: Set[str] = set()
        self.snapshots: List[Tuple[str, bool]] = []  # (epoch, resync) of each SNAPSHOT, in order
        # Drained as it comes: a fleet whose stderr pipe filled up (64 KiB of log lines) would block
        # in its logging calls, heartbeats included. The last lines are kept for failure messages.
        self.stderr_tail: Deque[str] = deque(maxlen=200)
        self.stderr_lines = 0
        self.readers = [threading.Thread(target=self._read, daemon=True),
                        threading.Thread(target=self._drain_stderr, daemon=True)]
        for reader in self.readers:
            reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            kind, _, rest = raw.rstrip("\n").partition(" ")
            with self.lock:
                if kind == "service":
                    self.ids.append(rest)
                elif kind == "ready":
                    self.ready.set()
                elif kind == "snapshot":
                    epoch, resync, *ids = rest.split(" ")
                    self.snapshots.append((epoch, resync == "1"))
                    self.view = set(ids)
                elif kind == "node":
                    self.view.add(rest)
                elif kind == "removed":
                    self.view.discard(rest)

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            with self.lock:
                self.stderr_tail.append(raw)
                self.stderr_lines += 1

    def sees_all(self, ids: Set[str], epoch: str) -> bool:
        """The watch resumed on the server of `epoch` with a resync SNAPSHOT and now holds `ids`."""
        with self.lock:
            resumed = any(e == epoch and resync for e, resync in self.snapshots)
            return resumed and ids <= self.view

    def stop(self) -> str:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for reader in self.readers:
            reader.join(5)
        with self.lock:
            return "".join(self.stderr_tail)


def log_ms(line: str) -> int:
    """The ``ts=`` of a server log line, in ms since the epoch."""
    stamp = line.split(" ", 1)[0].removeprefix("ts=").replace("Z", "+00:00")
    return int(datetime.fromisoformat(stamp).timestamp() * 1000)


def field(line: str, name: str) -> Optional[str]:
    for part in line.split(" "):
        if part.startswith(name + "="):
            return part[len(name) + 1:].strip('"')
    return None


def registered_ids(log: List[str]) -> Set[str]:
    return {field(line, "service_id") or "" for line in list(log) if 'msg="service registered"' in line}


def wait_until(what: str, predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def cpu_seconds(pids: List[int]) -> Tuple[float, float]:
    """User and system CPU time the processes used so far (Linux ``/proc``; zeros elsewhere)."""
    user = system = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user, system = user + int(fields[11]), system + int(fields[12])
    ticks = os.sysconf("SC_CLK_TCK")
    return user / ticks, system / ticks


def percentile(sorted_values: List[int], fraction: float) -> int:
    """The nearest-rank percentile of a sorted, non-empty list."""
    return sorted_values[max(1, math.ceil(len(sorted_values) * fraction)) - 1]


@dataclass
class Outcome:
    """What one crash and restart measured."""

    services: int                                    # services registered before the crash
    back_ms: Dict[str, List[int]] = dataclass_field(default_factory=dict)  # language -> sorted delays
    watchers_resumed_ms: Dict[str, int] = dataclass_field(default_factory=dict)  # fleet -> delay
    fleets: int = 0
    fleet_log_lines: int = 0                         # what the fleets wrote to stderr (warnings)
    fleet_cpu_s: Tuple[float, float] = (0.0, 0.0)    # user, system CPU of the fleets, kill to all back
    errors: List[str] = dataclass_field(default_factory=list)  # stderr of fleets that failed at exit

    @property
    def all_back_ms(self) -> List[int]:
        return sorted(delay for delays in self.back_ms.values() for delay in delays)

    def summary(self) -> str:
        lines = []
        for language, delays in sorted(self.back_ms.items()):
            lines.append(f"{language}: {len(delays)} services back with their ids, p50 {percentile(delays, 0.5)} ms, "
                         f"p99 {percentile(delays, 0.99)} ms, max {delays[-1]} ms after the new server's listening line")
        lines.append(f"fleets' CPU from the kill to the last service back: {self.fleet_cpu_s[0]:.1f} s user, "
                     f"{self.fleet_cpu_s[1]:.1f} s system; {self.fleet_log_lines} lines on their stderr")
        lines.append("watchers resumed (resync snapshot, then every service) after: " + ", ".join(
            f"{label} {delay} ms" for label, delay in sorted(self.watchers_resumed_ms.items())))
        return "\n".join(lines)


def crash_and_restart(server_binary: str, interval_ms: int, *, c_fleet: Optional[str] = None,
                      c_processes: int = 0, c_each: int = 0, py_processes: int = 0, py_each: int = 0) -> Outcome:
    """Registers the fleets, kills the server, restarts it one interval later and measures."""
    server = ServerProcess(server_binary, ["--heartbeat-interval-ms", str(interval_ms), "--timeout-multiplier", "3",
                                           "--node-update-throttle-ms", "60000", "--http-address="])
    server.start()
    port = server.port
    assert port is not None
    fleets: List[Fleet] = []
    outcome = Outcome(services=c_processes * c_each + py_processes * py_each)
    try:
        for index in range(c_processes):
            assert c_fleet is not None, "C fleets need the fleet program"
            fleets.append(Fleet([c_fleet, server.address, str(c_each), f"c{index}"], f"C fleet {index}"))
        for index in range(py_processes):
            fleets.append(Fleet([sys.executable, str(HERE / "pyfleet.py"), server.address, str(py_each),
                                 f"py{index}"], f"Python fleet {index}"))
        outcome.fleets = len(fleets)
        wait_until("every fleet to register its services",
                   lambda: all(f.ready.is_set() or f.proc.poll() is not None for f in fleets), 120)
        for fleet in fleets:
            assert fleet.ready.is_set(), f"{fleet.label} failed: {fleet.stop()[-3000:]}"
        ids = {service_id for fleet in fleets for service_id in fleet.ids}
        assert len(ids) == outcome.services, "every service has an id of its own"
        old_epoch = field(next(line for line in server.log if 'msg="listening"' in line), "server_epoch")
        wait_until("every watcher to see every service", lambda: all(ids <= f.view for f in fleets), 30)

        pids = [fleet.proc.pid for fleet in fleets]
        cpu_before = cpu_seconds(pids)
        server.kill()  # SIGKILL: no goodbye to anyone
        time.sleep(interval_ms / 1000)  # every client notices and starts to recover
        server.start(port=port)
        restarted = time.monotonic()
        listening = next(line for line in server.log if 'msg="listening"' in line)
        epoch = field(listening, "server_epoch")
        assert epoch and epoch != old_epoch
        # Generous: the bound is the caller's to assert; this only ends a run that would never finish.
        wait_until("every service to register again", lambda: ids <= registered_ids(server.log), 30)
        cpu_after = cpu_seconds(pids)
        outcome.fleet_cpu_s = (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1])
        deadline = time.monotonic() + 30
        while len(outcome.watchers_resumed_ms) < len(fleets) and time.monotonic() < deadline:
            for fleet in fleets:
                if fleet.label not in outcome.watchers_resumed_ms and fleet.sees_all(ids, epoch):
                    outcome.watchers_resumed_ms[fleet.label] = round((time.monotonic() - restarted) * 1000)
            time.sleep(0.01)

        # Both times from the server's log: "listening", then each id's first registration.
        started = log_ms(listening)
        back: Dict[str, int] = {}
        for line in list(server.log):
            if 'msg="service registered"' in line:
                service_id = field(line, "service_id")
                if service_id is not None and service_id in ids and service_id not in back:
                    back[service_id] = log_ms(line) - started
        for language in ("C", "Python"):
            delays = sorted(back[i] for f in fleets if f.label.startswith(language) for i in f.ids if i in back)
            if delays:
                outcome.back_ms[language] = delays
    finally:
        outcome.errors = [f"{fleet.label}: {stderr}" for fleet in fleets
                          for stderr in [fleet.stop()] if fleet.proc.returncode != 0]
        outcome.fleet_log_lines = sum(fleet.stderr_lines for fleet in fleets)
        server.kill()
    return outcome


def _fleet_size(text: str) -> Tuple[int, int]:
    processes, _, each = text.partition("x")
    return int(processes), int(each)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--c", type=_fleet_size, default=(0, 0), metavar="PROCESSESxSERVICES",
                        help="C fleets (needs $TOPOLOGY_C_FLEET), e.g. 2x250")
    parser.add_argument("--python", type=_fleet_size, default=(0, 0), metavar="PROCESSESxSERVICES",
                        help="Python fleets, e.g. 8x250")
    parser.add_argument("--interval-ms", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    for run in range(args.runs):
        outcome = crash_and_restart(os.environ["TOPOLOGY_SERVER"], args.interval_ms,
                                    c_fleet=os.environ.get("TOPOLOGY_C_FLEET"), c_processes=args.c[0],
                                    c_each=args.c[1], py_processes=args.python[0], py_each=args.python[1])
        print(f"run {run + 1}: {outcome.services} services, interval {args.interval_ms} ms\n{outcome.summary()}",
              flush=True)
        for error in outcome.errors:
            print(error, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
