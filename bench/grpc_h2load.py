"""Unary GetTopology under load from h2load (Debian's nghttp2-client): over gRPC on the frames port
(HTTP/2, prior knowledge) and, for scale, over Connect on the HTTP port (HTTP/1.1, application/proto),
against the same server and topology. The figures are h2load's requests per second and the
server's own CPU per request (all its threads, /proc/PID/task/*/schedstat), and the ratio gRPC /
Connect of the CPU per request. One gRPC call is checked first with grpcio (h2load counts a 200 as
a success, whatever its grpc-status).

    python bench/grpc_h2load.py --address 127.0.0.1:PORT --http-address 127.0.0.1:PORT --pid PID
                                [--services N] [--requests N] [--clients N] [--streams N]

Prints `RESULT h2load.<key> <value>` lines for scripts/bench.sh."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "interop"))
import grpc_stubs  # noqa: E402
from bench_support import server_cpu_s  # noqa: E402

PATH = "/runtime.v1.TopologyService/GetTopology"


def h2load(pid: int, args: list[str]) -> tuple[float, float, int]:
    """Runs h2load; its requests per second, the server's CPU µs per request, requests succeeded."""
    before = server_cpu_s(pid)
    print("h2load " + " ".join(args), file=sys.stderr, flush=True)
    out = subprocess.run(["h2load", *args], capture_output=True, text=True, timeout=300, check=True).stdout
    cpu = server_cpu_s(pid) - before
    rps = float(re.search(r"finished in [^,]+, ([\d.]+) req/s", out).group(1))
    done = re.search(r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
    total, succeeded, failed, errored = (int(done.group(i)) for i in range(1, 5))
    if succeeded != total or failed or errored:
        sys.exit(f"h2load {' '.join(args)}: {succeeded} of {total} succeeded\n{out}")
    return rps, cpu / total * 1e6, succeeded


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--http-address", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--streams", type=int, default=10, help="concurrent streams per gRPC connection")
    args = parser.parse_args()
    if shutil.which("h2load") is None:
        sys.exit("h2load is not installed: apt-get install nghttp2-client")
    stubs = grpc_stubs.load()
    m = stubs.messages
    with grpc.insecure_channel(args.address) as channel:
        client = stubs.services.TopologyServiceStub(channel)
        for f in [client.RegisterService.future(m.RegisterServiceRequest(service_name=f"svc-{i:04d}", service_type=1), timeout=30)
                  for i in range(args.services)]:
            f.result()
        nodes = len(client.GetTopology(m.GetTopologyRequest(), timeout=30).snapshot.nodes)
        if nodes != args.services:
            sys.exit(f"GetTopology gave {nodes} nodes, not {args.services}")

    with tempfile.TemporaryDirectory() as tmp:
        # An empty query, present: an empty file cannot be sent (h2load maps it), and it matches everything.
        request = m.GetTopologyRequest(query=m.TopologyQuery()).SerializeToString()
        grpc_body, connect_body = Path(tmp, "grpc"), Path(tmp, "connect")
        grpc_body.write_bytes(b"\0" + len(request).to_bytes(4, "big") + request)
        connect_body.write_bytes(request)
        common = ["-n", str(args.requests), "-c", str(args.clients)]
        grpc_rps, grpc_us, _ = h2load(args.pid, common + ["-m", str(args.streams), "-d", str(grpc_body),
                                                          "-H", "content-type: application/grpc", "-H", "te: trailers",
                                                          f"http://{args.address}{PATH}"])
        connect_rps, connect_us, _ = h2load(args.pid, common + ["--h1", "-d", str(connect_body),
                                                                "-H", "content-type: application/proto",
                                                                f"http://{args.http_address}{PATH}"])
    print(f"RESULT h2load.services {args.services}")
    print(f"RESULT h2load.grpc_rps {grpc_rps:.0f}")
    print(f"RESULT h2load.grpc_cpu_us_per_request {grpc_us:.2f}")
    print(f"RESULT h2load.connect_rps {connect_rps:.0f}")
    print(f"RESULT h2load.connect_cpu_us_per_request {connect_us:.2f}")
    print(f"RESULT h2load.cpu_ratio {grpc_us / connect_us:.2f}")


if __name__ == "__main__":
    main()
