"""The byte examples of docs/protocol.md ("An exchange, byte by byte") are what a real topology-server
sends and accepts. Each example's hex column is matched against a frame from a running server
($TOPOLOGY_SERVER), re-encoded by the official protobuf library with the two values that change from
process to process (the service id and the server epoch) set to the document's. `...` in an
example stands for elided bytes (one or more)."""

import contextlib
import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from interop_support import REPO, generator, pb

DOC = REPO / "docs" / "protocol.md"
DOC_SERVICE_ID = "5b0e2f0c-8c1d-4f7a-9a43-0d7e6c1b2a99"
DOC_EPOCH = "9f3c"
DOC_TOKEN = "correct-horse-battery-staple"
NOT_FOUND, RESOURCE_EXHAUSTED, UNAUTHENTICATED = 5, 8, 16


def doc_examples():
    """The code blocks of the section, each as a pattern over the hex of a length-prefixed frame."""
    section = DOC.read_text(encoding="utf-8").split("## An exchange, byte by byte", 1)[1].split("\n## ", 1)[0]
    return [hex_pattern(block) for block in re.findall(r"```\n(.*?)```", section, re.S)]


def hex_pattern(block):
    """Each line's leading hex bytes (up to the first word that is not one), in order."""
    parts = []
    for line in block.splitlines():
        for token in line.split():
            if token == "...":
                parts.append("(?:[0-9a-f]{2})+")
            elif re.fullmatch(r"[0-9a-f]{2}", token):
                parts.append(token)
            else:
                break
    return re.compile("".join(parts))


EXAMPLES = doc_examples()
(REGISTER_REQUEST, REGISTER_RESPONSE, HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE, NOT_FOUND_REPLY, OVERSIZE_REPLY,
 AUTHENTICATE_REQUEST, AUTHENTICATE_ACCEPTED, UNAUTHENTICATED_REPLY) = range(9)


def delimited(frame):
    body = frame.SerializeToString()
    return generator.varint(len(body)) + body


def assert_documented(example, frame):
    wire = delimited(frame).hex()
    assert EXAMPLES[example].fullmatch(wire), (
        f"example {example + 1} of the section does not match what the server sends:\n"
        f"  document: {EXAMPLES[example].pattern}\n  server:   {wire}\n  frame: {frame}")


def server_binary():
    binary = os.environ.get("TOPOLOGY_SERVER") or str(REPO / ".build" / "debug" / "topology-server")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no topology-server binary at {binary}: build it and set TOPOLOGY_SERVER", pytrace=False)
    return binary


def listening_port(log):
    """The port of the startup line (msg=listening address=127.0.0.1:PORT), once it is logged."""
    log.seek(0)
    match = re.search(rb" address=127\.0\.0\.1:(\d+)", log.read())
    return int(match.group(1)) if match else None


@contextlib.contextmanager
def running_server(*flags):
    """A topology-server with default timings on an ephemeral loopback port; yields (host, port)."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([server_binary(), "--address", "127.0.0.1:0", "--http-address=", *flags],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 10
            while (port := listening_port(log)) is None:
                assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.02)
            yield "127.0.0.1", port
        finally:
            process.terminate()
            process.wait(timeout=5)


class Connection:
    """Frames over one socket; every read bounded by the socket timeout."""

    def __init__(self, address):
        self.sock = socket.create_connection(address, timeout=5)
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data)

    def frame(self):
        """The next frame, or None once the server has closed the connection."""
        while True:
            length, shift, index = 0, 0, 0
            while index < len(self.buffer):
                byte = self.buffer[index]
                length |= (byte & 0x7F) << shift
                index += 1
                shift += 7
                if byte < 0x80:
                    if len(self.buffer) >= index + length:
                        frame = pb.Frame.FromString(self.buffer[index:index + length])
                        self.buffer = self.buffer[index + length:]
                        return frame
                    break
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buffer += data

    def close(self):
        self.sock.close()


def test_the_section_has_the_examples_this_test_knows():
    assert len(EXAMPLES) == 9


def test_the_exchange_is_what_the_server_sends():
    with running_server() as address:
        client = Connection(address)
        # The register request is sent as the document spells it, byte for byte.
        register = pb.Frame(call_id=1, register_service_request=pb.RegisterServiceRequest(
            service_name="checkout", service_type=pb.SERVICE_TYPE_SERVER, language=pb.SERVICE_LANGUAGE_C,
            version="1.4.2"))
        assert_documented(REGISTER_REQUEST, register)
        client.send(delimited(register))
        registered = client.frame()
        service_id = registered.register_service_response.handle.service_id
        registered.register_service_response.handle.service_id = DOC_SERVICE_ID
        registered.register_service_response.handle.server_epoch = DOC_EPOCH
        assert_documented(REGISTER_RESPONSE, registered)

        beat = pb.Frame(call_id=2, heartbeat_request=pb.HeartbeatRequest(
            service_id=service_id, sequence=1, health=pb.ApplicationHealth(state=pb.HEALTH_STATE_HEALTHY)))
        client.send(delimited(beat))
        beat.heartbeat_request.service_id = DOC_SERVICE_ID
        assert_documented(HEARTBEAT_REQUEST, beat)
        acknowledged = client.frame()
        acknowledged.heartbeat_response.server_epoch = DOC_EPOCH
        assert_documented(HEARTBEAT_RESPONSE, acknowledged)
        client.close()

        # The document's service id is unknown to this server (its ids are random).
        stranger = Connection(address)
        stranger.send(delimited(pb.Frame(call_id=2, heartbeat_request=pb.HeartbeatRequest(
            service_id=DOC_SERVICE_ID, sequence=7))))
        refused = stranger.frame()
        assert refused.status.code == NOT_FOUND
        refused.heartbeat_response.server_epoch = DOC_EPOCH
        assert_documented(NOT_FOUND_REPLY, refused)
        stranger.close()

        oversize = Connection(address)
        oversize.send(generator.varint(2_000_000))
        last = oversize.frame()
        assert last.status.code == RESOURCE_EXHAUSTED
        assert_documented(OVERSIZE_REPLY, last)
        assert oversize.frame() is None
        oversize.close()


def test_the_authentication_examples_are_what_the_server_sends(tmp_path: Path):
    token_file = tmp_path / "token"
    token_file.write_text(DOC_TOKEN + "\n")
    token_file.chmod(0o600)
    with running_server("--auth-token-file", str(token_file)) as address:
        client = Connection(address)
        handshake = pb.Frame(call_id=1, authenticate_request=pb.AuthenticateRequest(token=DOC_TOKEN))
        assert_documented(AUTHENTICATE_REQUEST, handshake)
        client.send(delimited(handshake))
        assert_documented(AUTHENTICATE_ACCEPTED, client.frame())
        client.close()

        # The document shortens the server's sentence to "bad token" (and says so); all else is exact.
        intruder = Connection(address)
        intruder.send(delimited(pb.Frame(call_id=1, authenticate_request=pb.AuthenticateRequest(token="x" * 28))))
        refused = intruder.frame()
        assert refused.status.code == UNAUTHENTICATED and "token" in refused.status.message
        refused.status.message = "bad token"
        assert_documented(UNAUTHENTICATED_REPLY, refused)
        intruder.close()
