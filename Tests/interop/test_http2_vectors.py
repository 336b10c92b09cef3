"""Schema/http2/h2_client_exchange.json: current with its generator, and the Swift connection's
answer pinned there (HTTP2InteropTests holds the connection to it) read by python-hyper's h2, an
HTTP/2 stack nobody here wrote, as a well-formed answer to the calls it made."""

import importlib.util
import json
import subprocess
import sys

import h2.events

from interop_support import REPO

VECTOR = json.loads((REPO / "Schema" / "http2" / "h2_client_exchange.json").read_text())


def generator():
    spec = importlib.util.spec_from_file_location("generate_http2_vectors", REPO / "scripts" / "generate_http2_vectors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_check_mode_finds_the_file_current():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "generate_http2_vectors.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_h2_reads_the_server_answer():
    connection, _ = generator().client()
    events = connection.receive_data(bytes.fromhex(VECTOR["server_hex"]))
    kinds = [type(event).__name__ for event in events]
    assert not [e for e in events if isinstance(e, (h2.events.ConnectionTerminated, h2.events.StreamReset))], kinds

    # The server's SETTINGS, its ACK of h2's SETTINGS, the PING answered with the same data.
    settings = next(e for e in events if isinstance(e, h2.events.RemoteSettingsChanged))
    assert {int(k): v.new_value for k, v in settings.changed_settings.items()} == {3: 100, 4: 1 << 20, 5: 16384, 6: 16384}
    assert any(isinstance(e, h2.events.SettingsAcknowledged) for e in events)
    assert [e.ping_data for e in events if isinstance(e, h2.events.PingAckReceived)] == [bytes.fromhex(VECTOR["ping_hex"])]
    window = [e for e in events if isinstance(e, h2.events.WindowUpdated)]
    assert [(e.stream_id, e.delta) for e in window] == [(0, (1 << 20) - 65535)]

    for response in VECTOR["responses"]:
        stream = response["stream"]
        on_stream = [e for e in events if getattr(e, "stream_id", None) == stream]
        names = [type(e).__name__ for e in on_stream]
        if "trailers_only" in response:
            # A trailers-only response: one HEADERS with END_STREAM.
            assert names == ["ResponseReceived", "StreamEnded"], names
            assert [list(h) for h in on_stream[0].headers] == response["trailers_only"]
            continue
        assert names == ["ResponseReceived", "DataReceived", "TrailersReceived", "StreamEnded"], names
        assert [list(h) for h in on_stream[0].headers] == response["headers"]
        assert on_stream[1].data == bytes.fromhex(response["body_hex"])
        assert [list(h) for h in on_stream[2].headers] == response["trailers"]
    # h2's own state agrees: both streams are closed and nothing is owed.
    assert connection.open_outbound_streams == 0 and connection.open_inbound_streams == 0
