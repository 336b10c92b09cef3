"""HTTP/2 abuse against a real server, with python-hyper's h2 as the hostile client (and frames
written by hand where h2 will not send them): the offending connection gets GOAWAY with the right
code, or only the offending stream ends (RST_STREAM, or 431) and its connection still answers a
PING; a well-behaved gRPC client on another connection is served throughout."""

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
    event = next_event(sock, conn, h2.events.ConnectionTerminated)
    return event.error_code if event is not None else None


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


def raw_frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """A frame written by hand (RFC 9113 §4.1), for what h2 will not send."""
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


HEADERS, SETTINGS, PING, WINDOW_UPDATE, CONTINUATION = 0x1, 0x4, 0x6, 0x8, 0x9


def next_event(sock, conn, wanted):
    """Reads until an event of type `wanted` (None if the connection ends first)."""
    while True:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return None
        if not data:
            return None
        for event in conn.receive_data(data):
            if isinstance(event, wanted):
                return event


def still_served(sock, conn) -> bool:
    """The connection answers a PING: only the offending stream ended."""
    conn.ping(b"alive?!!")
    sock.sendall(conn.data_to_send())
    ack = next_event(sock, conn, h2.events.PingAckReceived)
    return ack is not None and ack.ping_data == b"alive?!!"


def test_continuation_flood_gets_enhance_your_calm(server, client, stubs):
    # Empty CONTINUATIONs add no bytes to the block but are counted (64 at most); large ones run
    # the block past its byte bound (64 KiB). Either way the block never ends.
    for fragment, count in ((b"", 1_000), (b"\x00" * 16_384, 8)):
        sock, conn = hostile(server)
        with sock:
            block = conn.encoder.encode(grpc_head(1))
            flood = raw_frame(HEADERS, 0, 1, block) + raw_frame(CONTINUATION, 0, 1, fragment) * count
            sock.sendall(flood)
            assert goaway_code(sock, conn) == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM, f"{count} CONTINUATIONs of {len(fragment)} bytes"
    assert client.GetTopology(stubs.messages.GetTopologyRequest(), timeout=5).snapshot.timestamp_ms > 0


def test_settings_flood_gets_enhance_your_calm(server, client, stubs):
    sock, conn = hostile(server)
    with sock:
        sock.sendall(raw_frame(SETTINGS, 0, 0) * 200)
        assert goaway_code(sock, conn) == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
    assert client.GetTopology(stubs.messages.GetTopologyRequest(), timeout=5).snapshot.timestamp_ms > 0


def test_a_header_list_over_the_limit_is_answered_431_and_the_connection_goes_on(server, client, stubs):
    sock, conn = hostile(server)
    with sock:
        # 20 fields of 1,000 bytes: over SETTINGS_MAX_HEADER_LIST_SIZE (16,384), under the block bound.
        conn.send_headers(1, grpc_head(1) + [(f"x-padding-{n}", "a" * 1_000) for n in range(20)], end_stream=True)
        sock.sendall(conn.data_to_send())
        response = next_event(sock, conn, h2.events.ResponseReceived)
        assert response is not None and dict(response.headers)[":status"] == "431"
        assert still_served(sock, conn)
    assert client.GetTopology(stubs.messages.GetTopologyRequest(), timeout=5).snapshot.timestamp_ms > 0


def test_one_header_value_over_the_list_limit_is_a_compression_error(server, client, stubs):
    # The HPACK decoder refuses a single string over the list limit before it allocates for it,
    # and then cannot keep the connection's table in step: GOAWAY COMPRESSION_ERROR.
    sock, conn = hostile(server)
    with sock:
        conn.send_headers(1, grpc_head(1) + [("x-padding", "a" * 20_000)], end_stream=True)
        sock.sendall(conn.data_to_send())
        assert goaway_code(sock, conn) == h2.errors.ErrorCodes.COMPRESSION_ERROR
    assert client.GetTopology(stubs.messages.GetTopologyRequest(), timeout=5).snapshot.timestamp_ms > 0


def test_a_window_update_past_2_31_minus_1_is_a_flow_control_error(server, client, stubs):
    most = (2**31 - 1).to_bytes(4, "big")
    # On a stream: that stream is reset, the connection goes on.
    sock, conn = hostile(server)
    with sock:
        conn.send_headers(1, grpc_head(1))  # the request message never comes: the stream stays open
        sock.sendall(conn.data_to_send() + raw_frame(WINDOW_UPDATE, 0, 1, most))
        reset = next_event(sock, conn, h2.events.StreamReset)
        assert reset is not None and (reset.stream_id, reset.error_code) == (1, h2.errors.ErrorCodes.FLOW_CONTROL_ERROR)
        assert still_served(sock, conn)
    # On the connection (its window is 65,535 to start with): GOAWAY.
    sock, conn = hostile(server)
    with sock:
        sock.sendall(raw_frame(WINDOW_UPDATE, 0, 0, most))
        assert goaway_code(sock, conn) == h2.errors.ErrorCodes.FLOW_CONTROL_ERROR
    assert client.GetTopology(stubs.messages.GetTopologyRequest(), timeout=5).snapshot.timestamp_ms > 0
