"""Server memory per idle connection: N HTTP/2 connections (the client preface and SETTINGS, the
server's SETTINGS read, then nothing: a gRPC channel between calls) against N framed connections
that made one call (a GetTopology of the empty topology) and went quiet, on the same server
process. The figure is the growth of the server's resident memory (VmRSS) per connection, and the
ratio HTTP/2 / frames.

    python bench/grpc_idle_memory.py --address 127.0.0.1:PORT --pid PID [--connections N]

Prints `RESULT grpc_idle.<key> <value>` lines for scripts/bench.sh."""

from __future__ import annotations

import argparse
import resource
import socket
import sys
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.events

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "interop"))
import grpc_stubs  # noqa: E402
from bench_support import varint  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def settled_rss_kib(pid: int) -> int:
    """VmRSS once the server has read everything sent (two equal readings 100 ms apart)."""
    last = rss_kib(pid)
    for _ in range(50):
        time.sleep(0.1)
        now = rss_kib(pid)
        if now == last:
            return now
        last = now
    return last


def framed(address: str, frame: bytes) -> socket.socket:
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(varint(len(frame)) + frame)
    reply = b""
    while not reply:  # the GetTopology reply (its first bytes are enough: the call is done)
        reply = sock.recv(65536)
    return sock


def http2(address: str) -> socket.socket:
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    acked = False
    while not acked:  # the server's SETTINGS, and its ACK of ours
        for event in conn.receive_data(sock.recv(65536)):
            acked = acked or isinstance(event, h2.events.SettingsAcknowledged)
    sock.sendall(conn.data_to_send())  # our ACK of its SETTINGS
    return sock


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1_000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * args.connections + 64
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    m = grpc_stubs.load().messages
    frame = m.Frame(call_id=1, end_of_stream=True, get_topology_request=m.GetTopologyRequest()).SerializeToString()

    kib = {}
    held: list[socket.socket] = []
    try:
        framed(args.address, frame).close()  # warm-up: the first call's one-time allocations
        http2(args.address).close()
        for name, open_one in (("frames", lambda: framed(args.address, frame)), ("http2", lambda: http2(args.address))):
            before = settled_rss_kib(args.pid)
            held += [open_one() for _ in range(args.connections)]
            kib[name] = (settled_rss_kib(args.pid) - before) / args.connections
        # The server holds them all (no deadline closed any): one descriptor per connection.
        fds = len(list(Path(f"/proc/{args.pid}/fd").iterdir()))
        if fds < len(held):
            sys.exit(f"the server holds {fds} descriptors for {len(held)} connections: some were closed")
    finally:
        for sock in held:
            sock.close()
    print(f"RESULT grpc_idle.frames_kib_per_connection {kib['frames']:.2f}")
    print(f"RESULT grpc_idle.http2_kib_per_connection {kib['http2']:.2f}")
    print(f"RESULT grpc_idle.ratio {kib['http2'] / kib['frames']:.2f}" if kib["frames"] > 0 else "RESULT grpc_idle.ratio n/a")
    print(f"RESULT grpc_idle.connections {args.connections}")
    print(f"RESULT grpc_idle.server_fds {fds}")


if __name__ == "__main__":
    main()
