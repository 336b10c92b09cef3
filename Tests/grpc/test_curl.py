"""curl (libcurl's HTTP/2 over nghttp2) with prior knowledge against the frames port: a gRPC call
made by hand, byte for byte, the way any HTTP/2 client can."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path


def test_curl_calls_get_topology_with_prior_knowledge(server, stubs):
    request = bytes([0, 0, 0, 0, 0])  # one uncompressed message of 0 bytes: an empty GetTopologyRequest
    with tempfile.TemporaryDirectory() as scratch:
        body, head = Path(scratch, "body"), Path(scratch, "head")
        result = subprocess.run(
            ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "10", "-X", "POST",
             "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", "@-",
             "-o", str(body), "-D", str(head), f"http://{server.address}/runtime.v1.TopologyService/GetTopology"],
            input=request, capture_output=True, timeout=20)
        assert result.returncode == 0, result.stderr
        headers = head.read_text().lower()
        reply = body.read_bytes()
    assert headers.startswith("http/2 200"), headers
    assert "content-type: application/grpc" in headers
    assert "grpc-status: 0" in headers, "the trailers"
    assert reply[0] == 0 and int.from_bytes(reply[1:5], "big") == len(reply) - 5
    snapshot = stubs.messages.GetTopologyResponse.FromString(reply[5:]).snapshot
    assert len(snapshot.server_epoch) == 32 and snapshot.nodes == []
