"""Sockets: connecting with failover, a framed connection, and a multiplexed one with a reader thread.

:class:`FrameConnection` is one TCP connection that sends and receives ``Frame``s; receiving is
bounded by a deadline (``poll`` before ``recv``), sending by the I/O timeout. :class:`MuxConnection`
adds a reader thread that routes each incoming frame to the open call with its ``call_id``, so
unary calls, a heartbeat stream and activity streams share one connection. Given a ``token``, a
connection authenticates before anything else is sent on it (servers run with
``--auth-token-file``; docs/protocol.md).

After any error a connection is closed and never reused (as ``smtplib`` and pymemcache do).
"""

from __future__ import annotations

import itertools
import queue
import select
import socket
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from .errors import (AuthenticationError, FrameTooLargeError, ProtocolError, ServerStatusError, StatusCode,
                     TopologyConnectionError, TopologyError, TopologyTimeoutError, shorten, status_name)
from .framing import DEFAULT_MAX_FRAME_SIZE, FrameReader, encode_frame
from .messages import AuthenticateRequest, Frame

__all__ = ["DEFAULT_ADDRESS", "parse_address", "normalize_addresses", "FrameConnection", "MuxConnection", "Call"]

DEFAULT_ADDRESS = "127.0.0.1:50053"
_RECV_SIZE = 65536
#: Frames a call may have waiting unread before the connection is declared broken (a server that
#: floods one call cannot grow the client's memory without bound).
MAX_QUEUED_FRAMES = 10_000
#: The call of the authenticate handshake; the call is over when it is answered, so later calls may
#: use the id again.
_AUTH_CALL_ID = 1


def parse_address(address: str) -> Tuple[str, int]:
    """``host:port`` or ``[v6]:port`` → (host, port). Raises ``ValueError`` on anything else."""
    text = address.strip()
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"invalid address {shorten(address)}: expected [IPv6]:PORT")
    else:
        host, sep, port = text.rpartition(":")
        if not sep or not host:
            raise ValueError(f"invalid address {shorten(address)}: expected HOST:PORT")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid port in address {shorten(address)}: expected 1 to 65535")
    return host, int(port)


def normalize_addresses(addresses: Union[str, Sequence[str]]) -> List[str]:
    """One address, a comma-separated list, or a sequence of them → a checked list, in order."""
    items = [addresses] if isinstance(addresses, str) else list(addresses)
    out: List[str] = []
    for item in items:
        for part in item.split(","):
            if part.strip():
                parse_address(part)
                out.append(part.strip())
    if not out:
        raise ValueError("no server address given")
    return out


def connect_any(addresses: Sequence[str], timeout: float) -> Tuple[socket.socket, str]:
    """Connects to the first address that accepts, trying them in order."""
    failures: List[str] = []
    for address in addresses:
        host, port = parse_address(address)
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as error:
            failures.append(f"{address}: {error.strerror or error}")
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout)
        return sock, address
    raise TopologyConnectionError("could not connect to any server: " + "; ".join(failures))


def http_answer(address: str, data: bytes) -> ProtocolError:
    """The error for a peer that answered in HTTP: an HTTP port (the dashboard's, 50054 by default)
    given instead of the frames port. Quotes its status line and the start of its body, where a
    topology-server names its frames port."""
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    said = body.decode("utf-8", "replace").strip().split("\n", 1)[0][:300]
    return ProtocolError(f"{address} is an HTTP server, not a topology frames port: it answered {status!r}"
                         + (f": {said}" if said else ""))


def _wait_readable(sock: socket.socket, timeout: Optional[float]) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        return bool(poller.poll(ms))
    readable, _, _ = select.select([sock], [], [], timeout)  # pragma: no cover - non-Linux
    return bool(readable)


class FrameConnection:
    """One TCP connection carrying frames. ``send`` may be called from any thread; ``recv`` from one."""

    def __init__(self, sock: socket.socket, address: str, *, io_timeout: float,
                 max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.address = address
        self.io_timeout = io_timeout
        self._sock = sock
        self._reader = FrameReader(max_frame_size)
        self._send_lock = threading.Lock()
        self._closed = False
        self._received = False
        self.error: Optional[TopologyError] = None

    @classmethod
    def open(cls, addresses: Sequence[str], *, timeout: float, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
             token: Optional[str] = None) -> "FrameConnection":
        """Connects to the first address that accepts, and authenticates with ``token`` if given."""
        sock, address = connect_any(addresses, timeout)
        conn = cls(sock, address, io_timeout=timeout, max_frame_size=max_frame_size)
        if token is not None:
            conn.authenticate(token)
        return conn

    def authenticate(self, token: str) -> None:
        """The handshake of a server run with ``--auth-token-file``: must be the connection's first
        frame. Raises :class:`AuthenticationError` when the server refuses the token; any failure
        closes the connection."""
        self.send(Frame(call_id=_AUTH_CALL_ID, authenticate_request=AuthenticateRequest(token=token)))
        reply = self.recv(self.io_timeout)
        if reply is None:
            raise self.fail(TopologyTimeoutError(
                f"no answer to authenticate from {self.address} within {self.io_timeout:g} s"))
        status = reply.status
        if status is not None and status.code == StatusCode.UNAUTHENTICATED:
            raise self.fail(AuthenticationError(status.message))
        if status is not None and status.code != StatusCode.OK:
            raise self.fail(ServerStatusError(status.code, status.message))
        response = reply.authenticate_response
        if reply.call_id != _AUTH_CALL_ID or response is None or not response.authenticated:
            raise self.fail(ProtocolError(
                f"server {self.address} answered authenticate with something else (call {reply.call_id})"))

    @property
    def closed(self) -> bool:
        return self._closed

    def send(self, frame: Frame) -> None:
        data = encode_frame(frame)
        with self._send_lock:
            if self._closed:
                raise self.error or TopologyConnectionError(f"connection to {self.address} is closed")
            try:
                self._sock.sendall(data)
            except socket.timeout:
                raise self.fail(TopologyTimeoutError(
                    f"sending to {self.address} did not complete within {self.io_timeout:g} s")) from None
            except OSError as error:
                raise self.fail(TopologyConnectionError(f"connection to {self.address} lost: {error}")) from None

    def recv(self, timeout: Optional[float]) -> Optional[Frame]:
        """The next frame; ``None`` if none arrived within ``timeout`` seconds (``None``: no limit).
        Raises :class:`TopologyConnectionError` at end of stream, :class:`ProtocolError` on bad bytes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                raise self.error or TopologyConnectionError(f"connection to {self.address} is closed")
            try:
                frame = self._reader.next_frame()
            except FrameTooLargeError as error:
                raise self.fail(FrameTooLargeError(f"from {self.address}: {error}")) from None
            except ProtocolError as error:
                raise self.fail(ProtocolError(f"from {self.address}: {error}")) from None
            if frame is not None:
                return frame
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            try:
                if not _wait_readable(self._sock, remaining):
                    continue
                data = self._sock.recv(_RECV_SIZE)
            except (socket.timeout, BlockingIOError, InterruptedError):
                continue
            except (OSError, ValueError) as error:
                if self.closed:  # closed by another thread meanwhile (the property: not narrowed)
                    continue
                raise self.fail(TopologyConnectionError(f"connection to {self.address} lost: {error}")) from None
            if not data:
                if self.closed:
                    continue
                detail = f" inside a frame ({self._reader.buffered} bytes of it received)" if self._reader.buffered else ""
                raise self.fail(TopologyConnectionError(f"server {self.address} closed the connection{detail}"))
            if not self._received:
                self._received = True
                if data.startswith(b"HTTP/"):  # a Frame's length prefix 'H' (72) then 'T': a group
                    raise self.fail(http_answer(self.address, data))
            self._reader.feed(data)

    def fail(self, error: TopologyError) -> TopologyError:
        """Closes the connection because of ``error`` (the first error is kept) and returns it."""
        if self.error is None:
            self.error = error
        self.close()
        return self.error

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


_CLOSED = object()


class Call:
    """One call on a :class:`MuxConnection`: the frames the server sent on its ``call_id``."""

    def __init__(self, mux: "MuxConnection", call_id: int,
                 on_frame: Optional[Callable[[Frame], None]] = None) -> None:
        self.mux = mux
        self.call_id = call_id
        self.on_frame = on_frame
        self.queue: "queue.Queue[object]" = queue.Queue()
        self.finished = False

    def send(self, frame: Frame) -> None:
        frame.call_id = self.call_id
        self.mux.conn.send(frame)

    def recv(self, timeout: Optional[float]) -> Frame:
        """The next frame of this call; raises :class:`TopologyTimeoutError` after ``timeout``, or the
        connection's error once it is closed."""
        try:
            item = self.queue.get(timeout=timeout)
        except queue.Empty:
            raise TopologyTimeoutError(
                f"no answer from {self.mux.address} within {timeout:g} s (call {self.call_id})") from None
        return self._item(item)

    def poll(self, timeout: Optional[float]) -> Optional[Frame]:
        """As :meth:`recv`, but ``None`` on timeout (or after :meth:`wake`)."""
        try:
            item = self.queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is None:
            return None
        return self._item(item)

    def wake(self) -> None:
        """Makes a waiting :meth:`poll` return ``None`` now."""
        self.queue.put(None)

    def _item(self, item: object) -> Frame:
        if item is _CLOSED:
            self.queue.put(_CLOSED)  # keep it there for any later recv
            raise self.mux.conn.error or TopologyConnectionError(f"connection to {self.mux.address} is closed")
        assert isinstance(item, Frame)
        return item

    def close(self) -> None:
        self.mux.forget(self.call_id)


class MuxConnection:
    """A :class:`FrameConnection` shared by many calls, with a reader thread routing frames by call id."""

    def __init__(self, conn: FrameConnection) -> None:
        self.conn = conn
        self.address = conn.address
        self._lock = threading.Lock()
        self._calls: Dict[int, Call] = {}
        self._ids = itertools.count(1)
        self._thread = threading.Thread(target=self._read_loop, name=f"topology-reader-{conn.address}", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, addresses: Sequence[str], *, timeout: float, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
             token: Optional[str] = None) -> "MuxConnection":
        return cls(FrameConnection.open(addresses, timeout=timeout, max_frame_size=max_frame_size, token=token))

    @property
    def closed(self) -> bool:
        return self.conn.closed

    def open_call(self, on_frame: Optional[Callable[[Frame], None]] = None) -> Call:
        """A new call id. With ``on_frame``, frames are handed to it on the reader thread instead of
        being queued, and the call is forgotten when the server ends it."""
        with self._lock:
            if self.conn.closed:
                raise self.conn.error or TopologyConnectionError(f"connection to {self.address} is closed")
            call = Call(self, next(self._ids), on_frame)
            self._calls[call.call_id] = call
            return call

    def forget(self, call_id: int) -> None:
        with self._lock:
            self._calls.pop(call_id, None)

    def unary(self, frame: Frame, timeout: float) -> Frame:
        """Sends a one-request call and returns its one answer. A non-OK status raises
        :class:`ServerStatusError`; an answer without end_of_stream is accepted (the call is over)."""
        call = self.open_call()
        try:
            call.send(frame)
            reply = call.recv(timeout)
        finally:
            call.close()
        raise_for_status(reply)
        return reply

    def close(self) -> None:
        self.conn.close()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _read_loop(self) -> None:
        try:
            while True:
                frame = self.conn.recv(None)
                assert frame is not None
                if frame.call_id == 0:
                    raise self.conn.fail(connection_error(frame, self.address))
                with self._lock:
                    call = self._calls.get(frame.call_id)
                    if call is not None and frame.end_of_stream and call.on_frame is not None:
                        del self._calls[frame.call_id]
                if call is None:
                    continue  # a late frame of a call we gave up on
                if call.on_frame is not None:
                    try:
                        call.on_frame(frame)
                    except Exception:  # noqa: BLE001 - a callback bug must not kill the connection
                        pass
                    continue
                if call.queue.qsize() >= MAX_QUEUED_FRAMES:
                    raise self.conn.fail(ProtocolError(
                        f"server {self.address} sent over {MAX_QUEUED_FRAMES} unread frames on call {call.call_id}"))
                call.queue.put(frame)
        except TopologyError:
            pass
        finally:
            self.conn.close()
            with self._lock:
                calls = list(self._calls.values())
            for call in calls:
                if call.on_frame is None:
                    call.queue.put(_CLOSED)


def connection_error(frame: Frame, address: str) -> TopologyError:
    """The error a frame on call 0 (the server's last word before it closes) stands for."""
    status = frame.status
    if status is not None and status.code == StatusCode.UNAUTHENTICATED:
        return AuthenticationError(status.message)
    detail = f"{status_name(status.code)}: {status.message}" if status else "no status"
    return TopologyConnectionError(f"server {address} closed the connection ({detail})")


def raise_for_status(frame: Frame) -> None:
    if frame.status is not None and frame.status.code != StatusCode.OK:
        raise ServerStatusError(frame.status.code, frame.status.message)
