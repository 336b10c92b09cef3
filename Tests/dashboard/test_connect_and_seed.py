"""The HTTP port's other dialects against a real server: Connect with curl (unary JSON, and the
WatchTopology stream of envelopes), and the seed runtime's reporter API and event stream as its
clients call them."""

from __future__ import annotations

import json
import subprocess
import urllib.request

from dashboard_support import Server

SERVICE = "/runtime.v1.TopologyService/"


def curl(*args: str, data: bytes = b"", timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", *args], input=data, capture_output=True, timeout=timeout)


def test_connect_unary_and_streaming_with_curl(server: Server) -> None:
    registered = curl("-H", "content-type: application/json", "--data-binary", "@-", server.base_url + SERVICE + "RegisterService",
                      data=b'{"serviceName":"checkout","serviceType":"SERVICE_TYPE_SERVER","address":"10.0.0.1:8080"}')
    assert registered.returncode == 0, registered.stderr
    service_id = json.loads(registered.stdout)["handle"]["serviceId"]

    topology = json.loads(curl("-H", "content-type: application/json", "-d", '{"query":{"serviceNames":["checkout"]}}',
                               server.base_url + SERVICE + "GetTopology").stdout)
    assert [n["serviceId"] for n in topology["snapshot"]["nodes"]] == [service_id]

    refused = curl("-w", "%{http_code}", "-H", "content-type: application/json", "-d", '{"serviceName":""}',
                   server.base_url + SERVICE + "RegisterService")
    assert refused.stdout.endswith(b"400")
    assert json.loads(refused.stdout[:-3]) == {"code": "invalid_argument", "message": "invalid service_name: must not be empty"}

    # The stream: one request envelope in, envelopes out; curl stops reading after 2 s.
    request = json.dumps({"query": {}}).encode()
    envelope = b"\0" + len(request).to_bytes(4, "big") + request
    streamed = curl("-N", "--max-time", "2", "-H", "content-type: application/connect+json", "--data-binary", "@-",
                    server.base_url + SERVICE + "WatchTopology", data=envelope)
    assert streamed.returncode in (0, 28), streamed.stderr  # 28: the time limit ended an open stream
    out = streamed.stdout
    assert out[0] == 0
    first = json.loads(out[5:5 + int.from_bytes(out[1:5], "big")])
    assert first["update"]["type"] == "UPDATE_TYPE_SNAPSHOT"
    assert [n["serviceName"] for n in first["update"]["snapshot"]["nodes"]] == ["checkout"]


def test_a_connect_stream_ends_at_its_connect_timeout_with_curl(server: Server) -> None:
    request = json.dumps({"query": {}}).encode()
    envelope = b"\0" + len(request).to_bytes(4, "big") + request
    # The server ends the stream after 300 ms; curl's own limit (10 s) is only the test's bound.
    streamed = curl("-N", "--max-time", "10", "-H", "content-type: application/connect+json", "-H", "connect-timeout-ms: 300",
                    "--data-binary", "@-", server.base_url + SERVICE + "WatchTopology", data=envelope, timeout=15)
    assert streamed.returncode == 0, streamed.stderr
    out, envelopes = streamed.stdout, []
    while out:
        length = int.from_bytes(out[1:5], "big")
        envelopes.append((out[0], json.loads(out[5:5 + length])))
        out = out[5 + length:]
    assert envelopes[0][1]["update"]["type"] == "UPDATE_TYPE_SNAPSHOT"
    assert envelopes[-1] == (2, {"error": {"code": "deadline_exceeded", "message": "the stream's deadline (Connect-Timeout-Ms) passed"}})


def post(server: Server, path: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(server.base_url + path, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_seeds_reporter_calls_and_event_stream(server: Server) -> None:
    # The C++ client's register body, byte for byte; it reads the id by searching for "serviceId":"
    status, body = post(server, "/register", b'{\n      "serviceName": "calculator-client-cpp",\n      "serviceType": "SERVICE_TYPE_CLIENT",\n'
                                             b'      "language": "SERVICE_LANGUAGE_CPP",\n      "version": "1.0.0",\n      "enableActivity": true\n    }')
    assert status == 200 and b'"serviceId":"' in body
    service_id = json.loads(body)["serviceId"]
    assert post(server, "/heartbeat", json.dumps({"serviceId": service_id}).encode()) == (200, b'{"status":"ok"}')
    assert post(server, "/activity", json.dumps({"serviceId": service_id, "targetService": "payments", "type": "ACTIVITY_TYPE_REQUEST_SENT",
                                                 "timestampMs": None, "latencyMs": 12, "success": True}).encode()) == (200, b'{"status":"ok"}')
    assert post(server, "/heartbeat", b'{"serviceId":"7d3c1f4e-0000-4000-8000-000000000000"}') == (404, b'{"error":"Service not found"}')

    with urllib.request.urlopen(server.base_url + "/events", timeout=5) as events:
        assert events.headers["Access-Control-Allow-Origin"] == "*"
        assert events.readline() == b"retry: 1000\n" and events.readline() == b"\n"
        line = events.readline()
    assert line.startswith(b'data: {"type":1,"snapshot":{"nodes":[{"serviceId":"' + service_id.encode() + b'","serviceName":"calculator-client-cpp",'
                           b'"serviceType":2,"language":3,"version":"1.0.0","metadata":{},"state":')
    update = json.loads(line[len(b"data: "):])
    assert isinstance(update["snapshot"]["edges"], list) and isinstance(update["snapshot"]["timestampMs"], str)
