"""The churn that ``scripts/soak.sh`` puts on a topology-server: registrations, unregistrations,
deaths (clients that vanish without unregistering), activity, watch reconnects (resuming from the
last revision, or cancelled and started afresh) and a trickle of garbage connections. Stdlib and the
repository's Python client only.

    python scripts/soak_churn.py HOST:PORT HTTP_HOST:PORT SECONDS

Runs for SECONDS, then prints what it did and the server's own counters from ``/metrics``.
Exit 1 if a thread met an error it should not have.
"""

from __future__ import annotations

import random
import socket
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Callable, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clients" / "python"))

from topology_client import (Frame, FrameReader, TopologyClient, TopologyError, UpdateType,  # noqa: E402
                             encode_frame)
from topology_client.messages import WatchTopologyRequest  # noqa: E402

STABLE = 30          # services alive the whole run, calling each other
CHURNERS = 8         # threads that register a service, use it a while, then unregister or vanish
WATCHERS = 3         # raw watch streams that keep dropping and resuming
GARBAGE_PERIOD = 1.0  # seconds between connections that send bytes that are not a Frame

counts: Counter = Counter()
errors: List[str] = []
lock = threading.Lock()
stop = threading.Event()


def count(what: str, n: int = 1) -> None:
    with lock:
        counts[what] += n


def guarded(body: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            body()
        except Exception as error:  # noqa: BLE001 - reported, and the run fails
            with lock:
                errors.append(f"{threading.current_thread().name}: {error!r}")
    return run


def stable(address: str, index: int) -> None:
    with TopologyClient(address, timeout=5) as client:
        client.register(f"soak-stable-{index}")
        count("registrations")
        while not stop.wait(random.uniform(0.02, 0.1)):
            target = f"soak-stable-{random.randrange(STABLE)}"
            client.report_call(target, random.choice(["Get", "Put", "List"]), random.expovariate(1 / 20),
                               ok=random.random() > 0.05)
            count("calls reported")
    count("unregistrations")


def churner(address: str, index: int) -> None:
    while not stop.is_set():
        client = TopologyClient(address, timeout=5)
        try:
            client.register(f"soak-churn-{index}", version=str(random.randrange(100)))
            count("registrations")
            until = time.monotonic() + random.uniform(0.2, 1.5)
            while time.monotonic() < until and not stop.is_set():
                client.report_call(f"soak-stable-{random.randrange(STABLE)}", "Call", random.uniform(1, 50))
                count("calls reported")
                time.sleep(0.05)
            if random.random() < 0.5:
                client.unregister()
                count("unregistrations")
            else:
                count("vanished (left to die)")
        finally:
            client.close()


def watcher(address: str, index: int) -> None:
    """A raw watch stream: read a while, drop it (cancel or just close), come back resuming after
    the last revision seen."""
    host, port = address.rsplit(":", 1)
    revision, epoch = None, ""
    while not stop.is_set():
        request = WatchTopologyRequest()
        if revision is not None:
            request.resume_after_revision, request.resume_server_epoch = revision, epoch
            count("watch resumes")
        else:
            count("watch starts")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(encode_frame(Frame(call_id=1, watch_topology_request=request)))
            reader = FrameReader()
            until = time.monotonic() + random.uniform(0.5, 3)
            while time.monotonic() < until and not stop.is_set():
                sock.settimeout(max(0.01, until - time.monotonic()))
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    break
                if not data:
                    raise ConnectionError("the server closed a watch stream")
                reader.feed(data)
                for frame in reader.frames():
                    update = frame.watch_topology_response.update if frame.watch_topology_response else None
                    if update is None:
                        continue
                    count("watch updates")
                    if update.type == UpdateType.UPDATE_TYPE_SNAPSHOT and update.snapshot is not None:
                        epoch = update.snapshot.server_epoch
                        count("resync snapshots" if update.resync else "snapshots")
                    revision = max(revision or 0, update.revision)
            if random.random() < 0.5:
                sock.sendall(encode_frame(Frame(call_id=1, end_of_stream=True)))  # cancel, then close
                revision = None
                count("watch cancels")
            else:
                count("watch drops")


def garbage(address: str) -> None:
    host, port = address.rsplit(":", 1)
    payloads = [b"\xff\xff\xff\xff\x0f", b"GET / HTTP/1.1\r\n\r\n", b"\x02\x08\x00", b"\x80" * 10]
    while not stop.wait(GARBAGE_PERIOD):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(random.choice(payloads))
            while sock.recv(4096):
                pass  # the Status frame on call 0, then the close
        count("garbage connections")


def server_counters(http: str) -> List[str]:
    with urllib.request.urlopen(f"http://{http}/metrics", timeout=5) as response:
        text = response.read().decode()
    wanted = ("topology_registrations_total", "topology_unregistrations_total", "topology_service_deaths_total",
              "topology_heartbeats_total", "topology_activity_events_total", "topology_watcher_resyncs_total",
              "topology_connections_accepted_total", "topology_services{", "topology_edges ",
              "topology_connections{", "topology_watchers{")
    return [line for line in text.splitlines() if line.startswith(wanted)]


def main() -> int:
    address, http, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    threads = [threading.Thread(target=guarded(lambda i=i: stable(address, i)), name=f"stable-{i}") for i in range(STABLE)]
    threads += [threading.Thread(target=guarded(lambda i=i: churner(address, i)), name=f"churner-{i}") for i in range(CHURNERS)]
    threads += [threading.Thread(target=guarded(lambda i=i: watcher(address, i)), name=f"watcher-{i}") for i in range(WATCHERS)]
    threads.append(threading.Thread(target=guarded(lambda: garbage(address)), name="garbage"))
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join(15)
    print("churn:", ", ".join(f"{what} {n}" for what, n in sorted(counts.items())))
    try:
        print("server:", "; ".join(server_counters(http)))
    except (OSError, TopologyError) as error:
        errors.append(f"/metrics: {error}")
    for error in errors:
        print("error:", error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
