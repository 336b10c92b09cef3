"""The slowloris of issue 14 against a running topology-server's HTTP listener, while a load
balancer's probe asks for ``/healthz``. Stdlib only.

    python scripts/http_slowloris.py HTTP_HOST:PORT SENDERS PROBES [sweep|at-once]

SENDERS connections each send a request head that never ends (one more byte every second). Those the
server closes are opened again: once a second, as slowloris.py sweeps (``sweep``, the default), or as
soon as they are seen closed (``at-once``: a flood of new connections). Meanwhile PROBES probes, one
every 20 ms, each on a new connection with a 2 s timeout. Prints what the probes got and the
server's HTTP counters from ``/metrics``. Stops after 120 s whatever the count.
"""

from __future__ import annotations

import select
import socket
import sys
import time
from collections import Counter
from typing import List

HEAD = b"GET /api/v1/topology HTTP/1.1\r\nHost: t\r\nX-Slow: "
PROBE = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
LIMIT_S = 120.0


def slow_sender(host: str, port: int) -> socket.socket:
    sender = socket.create_connection((host, port), timeout=2)
    sender.sendall(HEAD)
    sender.setblocking(False)
    return sender


def probe(host: str, port: int) -> str:
    """The status code of the answer, ``closed`` for a close without one, or the error's name."""
    try:
        with socket.create_connection((host, port), timeout=2) as connection:
            connection.sendall(PROBE)
            answer = connection.recv(64)
            return answer.split(b" ")[1].decode() if answer else "closed"
    except OSError as error:
        return type(error).__name__


def http_counters(host: str, port: int) -> List[str]:
    """Asked again for up to 10 s: without eviction, the slots of the senders just closed free up
    only as the server reads their closes."""
    deadline = time.monotonic() + 10
    text = b""
    while not text.startswith(b"HTTP/1.1 200") and time.monotonic() < deadline:
        time.sleep(0.1)
        with socket.create_connection((host, port), timeout=5) as connection:
            connection.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            text = b""
            while chunk := connection.recv(65536):
                text += chunk
    wanted = ("topology_http_evictions_total", "topology_http_requests_total{code=\"503\"}",
              "topology_limit_rejections_total{limit=\"--max-http-connections\"}")
    return [line for line in text.decode().splitlines() if line.startswith(wanted)]


def main() -> None:
    address, senders_wanted, probes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    at_once = len(sys.argv) > 4 and sys.argv[4] == "at-once"
    host, port = address.rsplit(":", 1)[0], int(address.rsplit(":", 1)[1])
    senders = [slow_sender(host, int(port)) for _ in range(senders_wanted)]
    results: Counter[str] = Counter()
    reopened = 0
    started = last_sweep = time.monotonic()
    while sum(results.values()) < probes and time.monotonic() - started < LIMIT_S:
        sweep = time.monotonic() - last_sweep >= 1
        if sweep or at_once:
            closed, _, _ = select.select(senders, [], [], 0)
            for sender in closed:
                sender.close()
                senders.remove(sender)
                senders.append(slow_sender(host, int(port)))
                reopened += 1
        if sweep:
            for sender in senders:
                try:
                    sender.send(b"a")
                except OSError:
                    pass  # closed by the server: opened again at the next look
            last_sweep = time.monotonic()
        results[probe(host, int(port))] += 1
        time.sleep(0.02)  # a load balancer probes on an interval
    print(f"senders {senders_wanted} ({'at once' if at_once else 'once a second'} reopened: {reopened}); "
          f"probes {sum(results.values())} in {time.monotonic() - started:.1f} s: {dict(results)}")
    for sender in senders:
        sender.close()
    print("server:", "; ".join(http_counters(host, int(port))))


if __name__ == "__main__":
    main()
