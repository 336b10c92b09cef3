"""The frames port and the HTTP port mistaken for each other (issue 16): each side says which port
is which instead of failing on bytes it cannot read."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from typing import Iterator, Tuple

import pytest

from conftest import SERVER_ARGS, ServerProcess, server_binary
from topology_client import ProtocolError, TopologyClient


@pytest.fixture
def ports() -> Iterator[Tuple[str, str]]:
    """A server with both listeners on free ports: (frames address, HTTP address)."""
    proc = ServerProcess(server_binary(), [*SERVER_ARGS, "--http-address", "127.0.0.1:0"])
    proc.start()
    try:
        match = next(m for m in (re.search(r'http_address="?([\d.]+:\d+)', line) for line in proc.log) if m)
        yield proc.address, match.group(1)
    finally:
        proc.kill()


def test_a_client_given_the_http_port_is_told_the_frames_port(ports: Tuple[str, str]) -> None:
    frames, http = ports
    with TopologyClient(http, timeout=2) as client:
        with pytest.raises(ProtocolError) as info:
            client.register("py-wrong-port")
    message = str(info.value)
    assert message.startswith(f"{http} is an HTTP server, not a topology frames port: it answered 'HTTP/1.1 400 Bad Request'")
    assert message.endswith(f"services speaking Frames or gRPC connect to its frames port, {frames}"), message


def test_an_http_client_on_the_frames_port_is_told_the_http_port(ports: Tuple[str, str]) -> None:
    frames, http = ports
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"http://{frames}/", timeout=5)
    assert info.value.code == 400
    body = info.value.read().decode()
    assert f"the dashboard and the HTTP API are at http://{http}/" in body, body
