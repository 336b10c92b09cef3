"""A scriptable in-process fake of topology-server, for the client's logic and hostile-server tests.

``FakeServer(handler)`` accepts connections on 127.0.0.1 and runs ``handler(sock, server)`` for each
on its own thread. :class:`Behaving` is a handler that speaks the protocol well enough for recovery
tests (and can forget everything or change its epoch on demand); the hostile tests write their own.
Everything started is stopped by ``close()``: sockets closed, threads joined.
"""

from __future__ import annotations

import socket
import threading
import uuid
from typing import Callable, Dict, Iterator, List, Optional, Set

from topology_client.framing import FrameReader, encode_frame
from topology_client.messages import (Frame, HeartbeatResponse, RegisterServiceResponse, ReportActivityResponse,
                                      ServiceHandle, ServiceNode, Status, TopologySnapshot, TopologyUpdate,
                                      UnregisterServiceResponse, UpdateType, WatchTopologyResponse,
                                      GetTopologyResponse)

Handler = Callable[[socket.socket, "FakeServer"], None]


def read_frame(sock: socket.socket, reader: FrameReader, timeout: float = 5.0) -> Optional[Frame]:
    """The next frame from a client, or None when it closed."""
    sock.settimeout(timeout)
    while True:
        frame = reader.next_frame()
        if frame is not None:
            return frame
        try:
            data = sock.recv(65536)
        except OSError:
            return None
        if not data:
            return None
        reader.feed(data)


def frames(sock: socket.socket, timeout: float = 5.0) -> Iterator[Frame]:
    """The frames a client sends, until it closes or is silent for ``timeout`` seconds."""
    reader = FrameReader()
    while True:
        frame = read_frame(sock, reader, timeout)
        if frame is None:
            return
        yield frame


def answer_register(sock: socket.socket, frame: Frame, handle: ServiceHandle) -> None:
    """Answers the RegisterService call ``frame`` with ``handle``."""
    sock.sendall(encode_frame(Frame(call_id=frame.call_id, end_of_stream=True,
                                    register_service_response=RegisterServiceResponse(handle=handle))))


class FakeServer:
    def __init__(self, handler: Handler, port: int = 0) -> None:
        self.handler = handler
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.connections: List[socket.socket] = []
        self.threads: List[threading.Thread] = []
        self.accepted = 0
        self._lock = threading.Lock()
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    sock.close()
                    return
                self.accepted += 1
                self.connections.append(sock)
                thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
                self.threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            self.handler(sock, self)
        except OSError:
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def drop_connections(self) -> None:
        with self._lock:
            conns = list(self.connections)
            self.connections.clear()
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self.drop_connections()
        self._acceptor.join(5)
        for thread in list(self.threads):
            thread.join(5)


class Behaving:
    """A protocol-abiding fake: registration with identity, heartbeats with epoch, activity, watch."""

    def __init__(self, interval_ms: int = 100, flush_ms: int = 100) -> None:
        self.interval_ms = interval_ms
        self.flush_ms = flush_ms
        self.epoch = "epoch-" + uuid.uuid4().hex[:8]
        self.lock = threading.Lock()
        self.services: Dict[str, ServiceNode] = {}
        self.registrations: List[Frame] = []
        self.heartbeats = 0
        self.reports: List[Frame] = []
        self.reply_epoch: Optional[str] = None  # when set, heartbeat responses carry this epoch
        self.refuse_targets: Set[str] = set()  # reports to these get RESOURCE_EXHAUSTED, as past a limit

    def forget_all(self) -> None:
        with self.lock:
            self.services.clear()

    def __call__(self, sock: socket.socket, server: FakeServer) -> None:
        reader = FrameReader()
        activity: Dict[int, int] = {}
        while True:
            frame = read_frame(sock, reader, timeout=30)
            if frame is None:
                return
            reply = self.handle(frame, activity)
            for out in reply:
                out.call_id = frame.call_id
                sock.sendall(encode_frame(out))

    def handle(self, frame: Frame, activity: Dict[int, int]) -> List[Frame]:
        with self.lock:
            if frame.register_service_request is not None:
                request = frame.register_service_request
                self.registrations.append(frame)
                service_id = request.service_id or str(uuid.uuid4())
                self.services[service_id] = ServiceNode(service_id=service_id, service_name=request.service_name)
                handle = ServiceHandle(service_id=service_id, heartbeat_interval_ms=self.interval_ms,
                                       timeout_multiplier=3, server_epoch=self.epoch, activity_flush_ms=self.flush_ms)
                return [Frame(end_of_stream=True, register_service_response=RegisterServiceResponse(handle=handle))]
            if frame.heartbeat_request is not None:
                self.heartbeats += 1
                request = frame.heartbeat_request
                epoch = self.reply_epoch or self.epoch
                if request.service_id not in self.services:
                    return [Frame(status=Status(code=5, message="not registered: register again"),
                                  heartbeat_response=HeartbeatResponse(sequence=request.sequence, server_epoch=epoch))]
                return [Frame(heartbeat_response=HeartbeatResponse(sequence=request.sequence, acknowledged=True,
                                                                   server_epoch=epoch))]
            if frame.report_activity_request is not None:
                if frame.report_activity_request.target_service in self.refuse_targets:
                    activity.pop(frame.call_id, None)
                    return [Frame(end_of_stream=True, status=Status(
                        code=8, message="limit reached: --max-edges-per-service is 2; retry later"))]
                self.reports.append(frame)
                n = frame.report_activity_request.batch_size or 1
                activity[frame.call_id] = activity.get(frame.call_id, 0) + n
                if frame.end_of_stream:
                    return [Frame(end_of_stream=True, report_activity_response=ReportActivityResponse(
                        acknowledged=True, accepted_events=activity.pop(frame.call_id)))]
                return []
            if frame.unregister_service_request is not None:
                removed = self.services.pop(frame.unregister_service_request.service_id, None) is not None
                return [Frame(end_of_stream=True, unregister_service_response=UnregisterServiceResponse(removed=removed))]
            if frame.get_topology_request is not None:
                snap = TopologySnapshot(nodes=list(self.services.values()), server_epoch=self.epoch, revision=1)
                return [Frame(end_of_stream=True, get_topology_response=GetTopologyResponse(snapshot=snap))]
            if frame.watch_topology_request is not None:
                snap = TopologySnapshot(nodes=list(self.services.values()), server_epoch=self.epoch, revision=1)
                update = TopologyUpdate(type=UpdateType.UPDATE_TYPE_SNAPSHOT, snapshot=snap, revision=1)
                return [Frame(watch_topology_response=WatchTopologyResponse(update=update))]
            return []
