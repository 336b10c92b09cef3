"""HTTP/2 abuse against a real server, with python-hyper's h2 as the hostile client: the offending
connection gets GOAWAY with the right code, and a well-behaved gRPC client on another connection is
served throughout."""

from __future__ import annotations

import socket

import h2.config
import h2.connection
import h2.errors
import h2.events


def hostile(server):
    host, port = server.address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=5)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return sock, conn


def goaway_code(sock, conn) -> int | None:
    """Reads until the server's GOAWAY (or the end of the connection); its error code."""
    while True:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return None
        if not data:
            return None
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ConnectionTerminated):
                return event.error_code


def grpc_head(stream: int):
    return [(":method", "POST"), (":scheme", "http"), (":authority", "x"), (":path", "/runtime.v1.TopologyService/GetTopology"),
            ("content-type", "application/grpc"), ("te", "trailers")]


def test_rapid_reset_gets_enhance_your_calm_and_others_are_served(server, client, stubs):
    sock, conn = hostile(server)
    with sock:
        for stream in range(1, 2 * 400, 2):  # CVE-2023-44487: open and cancel, as fast as it goes
            conn.send_headers(stream, grpc_head(stream))
            conn.reset_stream(stream, h2.errors.ErrorCodes.CANCEL)
        sock.sendall(conn.data_to_send())
        assert goaway_code(sock, conn) == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
    assert client.GetTopology(stubs.messages.GetTopologyRequest(), timeout=5).snapshot.timestamp_ms > 0


def test_ping_flood_gets_enhance_your_calm(server, client, stubs):
    sock, conn = hostile(server)
    with sock:
        for n in range(1_000):
            conn.ping(n.to_bytes(8, "big"))
        sock.sendall(conn.data_to_send())
        assert goaway_code(sock, conn) == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
    assert client.GetTopology(stubs.messages.GetTopologyRequest(), timeout=5).snapshot.timestamp_ms > 0


def test_stream_ids_going_backwards_are_a_protocol_error(server):
    sock, conn = hostile(server)
    with sock:
        conn.send_headers(5, grpc_head(5))
        raw = conn.data_to_send()
        sock.sendall(raw)
        # h2 will not open stream 3 after 5: its HEADERS frame is written by hand (type 1, END_HEADERS).
        block = conn.encoder.encode(grpc_head(3))
        headers = len(block).to_bytes(3, "big") + bytes([0x1, 0x4]) + (3).to_bytes(4, "big") + block
        sock.sendall(headers)
        assert goaway_code(sock, conn) == h2.errors.ErrorCodes.PROTOCOL_ERROR
