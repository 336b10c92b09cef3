"""Node's built-in node:http2 (the HTTP/2 under grpc-js, the seed runtime's TypeScript reporter's
transport) against the frames port: a unary call and a heartbeat stream (node_http2_client.js)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def test_node_http2_registers_and_heartbeats(server):
    script = Path(__file__).with_name("node_http2_client.js")
    result = subprocess.run(["node", str(script), server.address], capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout)
    assert seen["registerStatus"] == "0" and len(seen["serviceId"]) == 36
    assert seen["heartbeatStatus"] == "0"
    assert seen["acks"] == [{"sequence": n, "acknowledged": True} for n in (1, 2, 3)]
