#!/usr/bin/env python3
"""Writes Schema/http2/h2_client_exchange.json: gRPC calls as an HTTP/2 stack nobody here wrote
(python-hyper's h2, with its hpack: Huffman strings, incremental indexing, a second request from the
dynamic table) writes them, for the Swift connection to read, and the answer the Swift connection
writes, for h2 to read.

    {"description": "...", "h2_version": "4.4.1",
     "client_hex": "<preface, SETTINGS, two requests with bodies, a PING, as h2 wrote them>",
     "requests": [{"stream": 1, "headers": [[name, value], ...], "body_hex": "..."}, ...],
     "responses": [{"stream": 1, "headers": [...], "body_hex": "...", "trailers": [...]},
                   {"stream": 3, "trailers_only": [...]}],
     "server_hex": "<what HTTP2Connection writes for those responses>"}

client_hex and requests come from h2 here. server_hex is the Swift connection's output, pinned by
Tests/TopologyHTTP2Tests/HTTP2InteropTests.swift (which prints it when it differs); this script keeps
it as it is, and Tests/interop/test_http2_vectors.py checks that h2 accepts it.

    .venv/bin/python scripts/generate_http2_vectors.py           # (re)write the file
    .venv/bin/python scripts/generate_http2_vectors.py --check   # exit 1 if it is stale
"""

import argparse
import importlib.metadata
import json
import pathlib
import sys

import h2.config
import h2.connection

ROOT = pathlib.Path(__file__).resolve().parents[1]
VECTOR = ROOT / "Schema" / "http2" / "h2_client_exchange.json"

PATH = "/runtime.v1.TopologyService/GetTopology"
PING = b"bdp-ping"


def request_headers(timeout):
    return [(":method", "POST"), (":scheme", "http"), (":path", PATH), (":authority", "127.0.0.1:50053"),
            ("content-type", "application/grpc"), ("user-agent", "grpc-python-h2/1.0"), ("te", "trailers"),
            ("grpc-timeout", timeout)]


# Two calls: an empty GetTopologyRequest each (the 5-byte gRPC prefix: uncompressed, length 0).
REQUESTS = [
    {"stream": 1, "headers": request_headers("5S"), "body": bytes(5)},
    {"stream": 3, "headers": request_headers("4999m"), "body": bytes(5)},
]
# What the application answers: a message and trailers; a trailers-only error.
RESPONSES = [
    {"stream": 1, "headers": [[":status", "200"], ["content-type", "application/grpc"]],
     "body_hex": (bytes([0, 0, 0, 0, 3]) + b"\x0a\x01A").hex(), "trailers": [["grpc-status", "0"]]},
    {"stream": 3, "trailers_only": [[":status", "200"], ["content-type", "application/grpc"], ["grpc-status", "12"],
                                    ["grpc-message", "unknown method"]]},
]


def client():
    """An h2 client connection that has written the calls; returns it and what it wrote."""
    connection = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    connection.initiate_connection()
    for request in REQUESTS:
        connection.send_headers(request["stream"], request["headers"])
        connection.send_data(request["stream"], request["body"], end_stream=True)
    connection.ping(PING)
    return connection, connection.data_to_send()


def vector(server_hex):
    _, sent = client()
    return {
        "description": "Two gRPC calls written by python-hyper h2 (a client stack nobody here wrote), and the answer "
                       "HTTP2Connection writes for `responses`; see scripts/generate_http2_vectors.py",
        "h2_version": importlib.metadata.version("h2"),
        "client_hex": sent.hex(),
        "ping_hex": PING.hex(),
        "requests": [{"stream": r["stream"], "headers": [list(h) for h in r["headers"]], "body_hex": r["body"].hex()} for r in REQUESTS],
        "responses": RESPONSES,
        "server_hex": server_hex,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    args = parser.parse_args()
    current = json.loads(VECTOR.read_text()) if VECTOR.exists() else None
    expected = vector(current["server_hex"] if current else "")
    text = json.dumps(expected, indent=1) + "\n"
    if args.check:
        if not VECTOR.exists() or VECTOR.read_text() != text:
            sys.exit(f"{VECTOR.relative_to(ROOT)} is stale: run .venv/bin/python scripts/generate_http2_vectors.py")
        print(f"{VECTOR.relative_to(ROOT)} is current")
        return
    VECTOR.parent.mkdir(parents=True, exist_ok=True)
    VECTOR.write_text(text)
    print(f"wrote {VECTOR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
