"""``token=`` against a real topology-server run with ``--auth-token-file`` ($TOPOLOGY_SERVER)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest

from conftest import HEARTBEAT_MS, SERVER_ARGS, ServerProcess, server_binary, wait_for
from test_cli import run_cli
from topology_client import (AuthenticationError, ClientState, ServerStatusError, StatusCode, TopologyClient,
                             TopologyError)
from topology_client.cli import read_token_file

INTERVAL = HEARTBEAT_MS / 1000
TOKEN = "py-test-token-9e107d9d372bb6826bd81d3542a419d6"


def write_token(path: Path, token: str) -> None:
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(0o600)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    write_token(path, TOKEN)
    return path


@pytest.fixture
def auth_server(token_file: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(server_binary(), [*SERVER_ARGS, "--auth-token-file", str(token_file)])
    proc.start()
    try:
        yield proc
    finally:
        proc.kill()


def test_right_token_works_and_survives_a_restart(auth_server: ServerProcess, token_file: Path) -> None:
    with TopologyClient(auth_server.address, timeout=2, token=TOKEN, reconnect_max_delay=0.05) as client:
        service_id = client.register("py-authenticated").service_id
        assert [n.service_name for n in client.get_topology().nodes] == ["py-authenticated"]
        watch = client.watch(reconnect_max_delay=0.05)
        try:
            first = watch.next_update(timeout=2)
            assert first is not None and first.snapshot is not None
            port = auth_server.port
            assert port is not None
            auth_server.kill()
            time.sleep(2 * INTERVAL)
            auth_server.start(port=port)
            # The client authenticates again on its new connection, then registers with the same id.
            assert wait_for(lambda: client.state is ClientState.REGISTERED and client.stats.reregistrations >= 1, 5)
            assert client.service_id == service_id
            assert [n.service_id for n in client.get_topology().nodes] == [service_id]
            # The watch reconnects (authenticating too) and resyncs from the new server.
            seen = wait_for(lambda: (lambda u: u if u is not None and u.snapshot is not None else None)(
                watch.next_update(timeout=0.2)), 5)
            assert seen is not None and watch.reconnects >= 1
        finally:
            watch.close()


def test_wrong_or_missing_token_fails_clearly_and_fast(auth_server: ServerProcess) -> None:
    # A wrong token: the connection attempt itself raises, well within the timeout.
    started = time.monotonic()
    with pytest.raises(AuthenticationError) as refused:
        TopologyClient(auth_server.address, timeout=2, token="py-not-the-token-at-all").connect()
    assert time.monotonic() - started < 1
    assert refused.value.code == StatusCode.UNAUTHENTICATED == 16
    assert isinstance(refused.value, ServerStatusError)
    assert "does not match" in refused.value.status_message and TOKEN not in str(refused.value)

    # No token: the TCP connection opens; the first call is refused with the server's explanation.
    client = TopologyClient(auth_server.address, timeout=2)
    try:
        started = time.monotonic()
        with pytest.raises(AuthenticationError) as missing:
            client.get_topology()
        assert time.monotonic() - started < 1
        assert "requires authentication" in str(missing.value)
    finally:
        client.close()

    # A watch with a wrong token fails on its first connection (no silent retrying).
    with pytest.raises(AuthenticationError):
        TopologyClient(auth_server.address, timeout=2, token="py-not-the-token-at-all").watch()


def test_rotated_token_stops_the_watch_and_the_service_keeps_trying(auth_server: ServerProcess,
                                                                  token_file: Path) -> None:
    with TopologyClient(auth_server.address, timeout=2, token=TOKEN, reconnect_max_delay=0.05) as client:
        client.register("py-rotated")
        watch = client.watch(reconnect_max_delay=0.05)
        try:
            assert watch.next_update(timeout=2) is not None
            port = auth_server.port
            assert port is not None
            write_token(token_file, "py-rotated-token-0123456789abcdef")
            auth_server.kill()
            auth_server.start(port=port)
            # The watch meets the new token on its reconnection: it ends with the error.
            with pytest.raises(AuthenticationError):
                for _ in range(100):
                    watch.next_update(timeout=0.1)
            assert watch.closed
            # The service keeps trying in the background and says why.
            assert wait_for(lambda: "UNAUTHENTICATED" in (client.stats.last_error or ""), 5), client.stats.last_error
            assert client.state is ClientState.RECOVERING
            # Back to the old token: the service is back by itself.
            write_token(token_file, TOKEN)
            auth_server.kill()
            auth_server.start(port=port)
            assert wait_for(lambda: client.state is ClientState.REGISTERED, 5)
        finally:
            watch.close()


def test_server_without_a_token_file_accepts_any_token(server: ServerProcess) -> None:
    with TopologyClient(server.address, timeout=2, token="any-token-at-all") as client:
        client.register("py-open")
        assert len(client.get_topology().nodes) == 1


def test_cli_token_file_and_environment(auth_server: ServerProcess, token_file: Path, tmp_path: Path) -> None:
    result = run_cli("--address", auth_server.address, "--token-file", str(token_file), "get", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout).get("nodes", []) == []

    env_result = run_cli("--address", auth_server.address, "get", env_extra={"TOPOLOGY_AUTH_TOKEN_FILE": str(token_file)})
    assert env_result.returncode == 0, env_result.stderr

    refused = run_cli("--address", auth_server.address, "get")
    assert refused.returncode == 1
    assert "UNAUTHENTICATED" in refused.stderr and "requires authentication" in refused.stderr

    wrong = tmp_path / "wrong"
    write_token(wrong, "py-not-the-token-at-all")
    refused = run_cli("--address", auth_server.address, "--token-file", str(wrong), "get")
    assert refused.returncode == 1 and "does not match" in refused.stderr

    missing = run_cli("--address", auth_server.address, "--token-file", str(tmp_path / "absent"), "get")
    assert missing.returncode == 1 and "cannot read the token file" in missing.stderr


def test_read_token_file(tmp_path: Path) -> None:
    path = tmp_path / "t"
    path.write_text("abc\r\n\n", encoding="utf-8")
    assert read_token_file(str(path)) == "abc"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(TopologyError, match="is empty"):
        read_token_file(str(path))
