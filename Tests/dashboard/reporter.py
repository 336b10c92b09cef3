"""Services driven over the HTTP port (the seed reporter API: POST /register, /heartbeat, /activity,
/unregister; Connect for a registration with metadata), so that a test decides exactly when a
service heartbeats, calls, falls silent or leaves."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from typing import Dict, Optional, Set

from dashboard_support import Server


class Reporter:
    """Services registered over the reporter API; a thread heartbeats the ones not silenced."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.ids: Dict[str, str] = {}
        self.beating: Set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(self.server.base_url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def register(self, name: str, labels: Optional[Dict[str, str]] = None, **metadata: str) -> str:
        """Over the reporter API; with metadata (team=..., which it cannot carry) or labels over Connect."""
        if metadata or labels:
            answer = self.post("/runtime.v1.TopologyService/RegisterService", {
                "serviceName": name, "serviceType": "SERVICE_TYPE_SERVER", "language": "SERVICE_LANGUAGE_PYTHON",
                "metadata": metadata, "labels": labels or {}})["handle"]
        else:
            answer = self.post("/register", {"serviceName": name, "serviceType": "SERVICE_TYPE_SERVER",
                                             "language": "SERVICE_LANGUAGE_PYTHON"})
        with self._lock:
            self.ids[name] = answer["serviceId"]
            self.beating.add(name)
        return answer["serviceId"]

    def call(self, source: str, target: str, latency_ms: int = 3) -> None:
        self.post("/activity", {"serviceId": self.ids[source], "targetService": target,
                                "type": "ACTIVITY_TYPE_REQUEST_SENT", "latencyMs": latency_ms, "success": True})

    def trace(self, source: str, target: str) -> None:
        """One CLIENT span from `source` (which need not be registered) to `target`, as OTLP/HTTP JSON."""
        now = time.time_ns()
        span = {"traceId": os.urandom(16).hex(), "spanId": os.urandom(8).hex(), "name": "GET", "kind": 3,
                "startTimeUnixNano": str(now - 2_000_000), "endTimeUnixNano": str(now),
                "attributes": [{"key": "peer.service", "value": {"stringValue": target}}]}
        self.post("/v1/traces", {"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": source}}]},
            "scopeSpans": [{"spans": [span]}]}]})

    def silence(self, name: str) -> None:
        with self._lock:
            self.beating.discard(name)

    def unregister(self, name: str) -> None:
        self.silence(name)
        self.post("/unregister", {"serviceId": self.ids.pop(name)})

    def _beat(self) -> None:
        while not self._stop.wait(0.08):
            with self._lock:
                beating = [self.ids[name] for name in self.beating if name in self.ids]
            for service_id in beating:
                try:
                    self.post("/heartbeat", {"serviceId": service_id})
                except OSError:
                    pass  # the server is going away: the test says what it expects of that

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
