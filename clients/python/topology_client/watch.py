"""Watching the topology: :class:`Watch` (an iterator of updates) and :class:`TopologyView`.

A ``Watch`` has its own connection, read on the iterating thread (as redis-py's pub/sub
``listen()``): a slow consumer leaves bytes in the socket, so the server coalesces or resyncs
that watcher instead of the client buffering without bound. The first update is a SNAPSHOT. When the
connection is lost, the server shuts down (Status UNAVAILABLE), or the stream stays silent for
``idle_timeout`` (the server sends PROGRESS updates on quiet streams), the watch reconnects with
backoff and asks to resume after the last revision it saw; the server replays what was missed or
sends a SNAPSHOT marked ``resync``. Updates already seen (same epoch, revision not newer) are dropped.
A refused token (:class:`AuthenticationError`) is not retried: it ends the watch. Nor is a frame over
``max_frame_size`` (:class:`FrameTooLargeError`): reconnecting would fetch the same snapshot again,
for ever.
"""

from __future__ import annotations

import threading
import time
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from ._backoff import Backoff
from ._transport import FrameConnection, connection_error, normalize_addresses
from .errors import (AuthenticationError, FrameTooLargeError, ProtocolError, ServerStatusError, StatusCode,
                     TopologyConnectionError, TopologyError)
from .framing import DEFAULT_MAX_FRAME_SIZE
from .messages import (Frame, ServiceEdge, ServiceNode, TopologyQuery, TopologySnapshot, TopologyUpdate, UpdateType,
                       WatchTopologyRequest)

__all__ = ["Watch", "TopologyView"]

_CALL_ID = 1


class Watch(Iterator[TopologyUpdate]):
    """An iterator of :class:`TopologyUpdate`s; iteration ends when :meth:`close` is called (from any
    thread). Use :meth:`next_update` for a bounded wait.

    ``reconnect=False`` makes a lost stream raise :class:`TopologyConnectionError` instead.
    ``include_progress=True`` also yields the PROGRESS updates of quiet streams. ``token``: the
    token of a server run with ``--auth-token-file``, sent first on every connection.
    """

    def __init__(self, addresses: Union[str, Sequence[str]], query: Optional[TopologyQuery] = None, *,
                 timeout: float = 5.0, reconnect: bool = True, include_progress: bool = False,
                 idle_timeout: float = 30.0, reconnect_initial_delay: float = 0.05,
                 reconnect_max_delay: float = 5.0, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
                 token: Optional[str] = None) -> None:
        self.addresses = normalize_addresses(addresses)
        self._token = token
        self.query = query or TopologyQuery()
        self.timeout = timeout
        self.reconnect = reconnect
        self.include_progress = include_progress
        self.idle_timeout = idle_timeout
        self.reconnect_initial_delay = reconnect_initial_delay
        self.reconnect_max_delay = reconnect_max_delay
        self.max_frame_size = max_frame_size
        #: The last revision seen (None before the first update) and the server epoch it belongs to.
        self.revision: Optional[int] = None
        self.server_epoch: str = ""
        #: How many times the stream was re-established.
        self.reconnects = 0
        self.last_error: Optional[str] = None
        self._closed = threading.Event()
        self._conn: Optional[FrameConnection] = None
        self._backoff = Backoff(reconnect_initial_delay, reconnect_max_delay)
        self._next_attempt = 0.0
        self._last_receive = time.monotonic()
        self._open()  # the first connection fails loudly

    # -- iteration ------------------------------------------------------------------------------

    def __iter__(self) -> "Watch":
        return self

    def __next__(self) -> TopologyUpdate:
        while True:
            update = self.next_update(None)
            if update is not None:
                return update
            if self._closed.is_set():
                raise StopIteration

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def connected(self) -> bool:
        conn = self._conn
        return conn is not None and not conn.closed

    def close(self) -> None:
        """Ends the watch (sends end_of_stream if it can); a blocked ``next`` returns. Any thread."""
        if self._closed.is_set():
            return
        self._closed.set()
        conn = self._conn
        if conn is not None:
            try:
                conn.send(Frame(call_id=_CALL_ID, end_of_stream=True))
            except TopologyError:
                pass
            conn.close()

    def next_update(self, timeout: Optional[float] = None) -> Optional[TopologyUpdate]:
        """The next update, or ``None`` if none came within ``timeout`` seconds or the watch is closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._closed.is_set():
            now = time.monotonic()
            remaining = None if deadline is None else deadline - now
            if remaining is not None and remaining <= 0:
                return None
            conn = self._conn
            if conn is None or conn.closed:
                if not self._reconnect_step(remaining):
                    continue
                conn = self._conn
                assert conn is not None
            idle_left = self._last_receive + self.idle_timeout - time.monotonic()
            wait = idle_left if remaining is None else min(remaining, idle_left)
            try:
                frame = conn.recv(max(0.0, wait))
            except FrameTooLargeError as error:
                self.last_error = f"{error}; raise max_frame_size or narrow the query"
                self._closed.set()
                raise
            except TopologyError as error:
                if self._closed.is_set():
                    return None
                self._lost(error)
                continue
            if frame is None:
                if time.monotonic() - self._last_receive >= self.idle_timeout:
                    self._lost(TopologyConnectionError(
                        f"watch stream from {conn.address} silent for {self.idle_timeout:g} s"))
                continue
            self._last_receive = time.monotonic()
            update = self._on_frame(conn, frame)
            if frame.end_of_stream and not conn.closed:
                # The server ended the stream (an update may ride on its last frame): resume elsewhere.
                self._lost(TopologyConnectionError(f"server {conn.address} ended the watch stream"))
            if update is not None:
                return update
        return None

    # -- internals ------------------------------------------------------------------------------

    def _request(self) -> WatchTopologyRequest:
        request = WatchTopologyRequest(query=self.query)
        if self.revision is not None and self.server_epoch:
            request.resume_after_revision = self.revision
            request.resume_server_epoch = self.server_epoch
        return request

    def _open(self) -> None:
        conn = FrameConnection.open(self.addresses, timeout=self.timeout, max_frame_size=self.max_frame_size,
                                    token=self._token)
        try:
            conn.send(Frame(call_id=_CALL_ID, watch_topology_request=self._request()))
        except TopologyError:
            conn.close()
            raise
        self._conn = conn
        self._last_receive = time.monotonic()
        if self._closed.is_set():
            conn.close()

    def _lost(self, error: TopologyError) -> None:
        self.last_error = str(error)
        conn = self._conn
        if conn is not None:
            conn.close()
        if not self.reconnect:
            self._closed.set()
            raise error
        self._next_attempt = time.monotonic() + self._backoff.next_delay()

    def _reconnect_step(self, remaining: Optional[float]) -> bool:
        """One reconnection attempt when it is due (sleeping until then, within ``remaining``)."""
        wait = self._next_attempt - time.monotonic()
        if wait > 0:
            self._closed.wait(wait if remaining is None else min(wait, remaining))
            return False
        try:
            self._open()
        except AuthenticationError as error:
            self.last_error = str(error)
            self._closed.set()
            raise
        except TopologyError as error:
            self.last_error = str(error)
            self._next_attempt = time.monotonic() + self._backoff.next_delay()
            return False
        self.reconnects += 1
        return True

    def _on_frame(self, conn: FrameConnection, frame: Frame) -> Optional[TopologyUpdate]:
        if frame.call_id == 0 or frame.call_id != _CALL_ID:
            if frame.call_id == 0 and frame.status is not None:
                error = connection_error(frame, conn.address)
                if isinstance(error, AuthenticationError):
                    self.last_error = str(error)
                    self._closed.set()
                    conn.close()
                    raise error
                self._lost(error)
            return None
        status = frame.status
        if status is not None and status.code != StatusCode.OK:
            error = ServerStatusError(status.code, status.message)
            if status.code in (StatusCode.UNAVAILABLE, StatusCode.RESOURCE_EXHAUSTED):
                self._lost(error)  # shutting down or overloaded: come back later
                return None
            self.last_error = str(error)
            self._closed.set()
            conn.close()
            raise error
        response = frame.watch_topology_response
        update = response.update if response is not None else None
        if update is None:
            return None
        self._backoff.reset()
        if update.type == UpdateType.UPDATE_TYPE_SNAPSHOT:
            snapshot = update.snapshot
            if snapshot is None:
                raise self._protocol(conn, "a SNAPSHOT update without a snapshot")
            if snapshot.server_epoch:
                self.server_epoch = snapshot.server_epoch
            self.revision = max(update.revision, snapshot.revision)
            return update
        if self.revision is not None and update.revision and update.revision <= self.revision:
            return None  # already seen before the reconnect
        if update.revision:
            self.revision = update.revision
        if update.type == UpdateType.UPDATE_TYPE_PROGRESS and not self.include_progress:
            return None
        return update

    def _protocol(self, conn: FrameConnection, what: str) -> ProtocolError:
        error = ProtocolError(f"server {conn.address} sent {what}")
        conn.close()
        self._closed.set()
        return error


class TopologyView:
    """The current graph, kept by applying a watch's updates in order::

        view = TopologyView()
        for update in client.watch():
            view.apply(update)
            print(len(view.nodes), "services")
    """

    def __init__(self) -> None:
        self.nodes: Dict[str, ServiceNode] = {}
        self.edges: Dict[Tuple[str, str], ServiceEdge] = {}
        self.revision: int = 0
        self.server_epoch: str = ""
        self.timestamp_ms: int = 0

    def apply(self, update: TopologyUpdate) -> None:
        kind = update.type
        if kind == UpdateType.UPDATE_TYPE_SNAPSHOT and update.snapshot is not None:
            snapshot = update.snapshot
            self.nodes = {node.service_id: node for node in snapshot.nodes}
            self.edges = {edge.key: edge for edge in snapshot.edges}
            self.timestamp_ms = snapshot.timestamp_ms
            if snapshot.server_epoch:
                self.server_epoch = snapshot.server_epoch
            self.revision = max(update.revision, snapshot.revision)
            return
        if kind in (UpdateType.UPDATE_TYPE_NODE_ADDED, UpdateType.UPDATE_TYPE_NODE_UPDATED) and update.node:
            self.nodes[update.node.service_id] = update.node
        elif kind == UpdateType.UPDATE_TYPE_NODE_REMOVED and update.node:
            self.nodes.pop(update.node.service_id, None)
        elif kind in (UpdateType.UPDATE_TYPE_EDGE_ADDED, UpdateType.UPDATE_TYPE_EDGE_UPDATED) and update.edge:
            self.edges[update.edge.key] = update.edge
        elif kind == UpdateType.UPDATE_TYPE_EDGE_REMOVED and update.edge:
            self.edges.pop(update.edge.key, None)
        if update.revision:
            self.revision = max(self.revision, update.revision)

    def node_name(self, service_id: str) -> str:
        node = self.nodes.get(service_id)
        return node.service_name if node else service_id

    def snapshot(self) -> TopologySnapshot:
        """The view as a snapshot (nodes by name, edges by key)."""
        nodes: List[ServiceNode] = sorted(self.nodes.values(), key=lambda n: (n.service_name, n.service_id))
        edges: List[ServiceEdge] = sorted(self.edges.values(), key=lambda e: e.key)
        return TopologySnapshot(nodes=nodes, edges=edges, timestamp_ms=self.timestamp_ms, revision=self.revision,
                                server_epoch=self.server_epoch)
