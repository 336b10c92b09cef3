"""The background thread of a :class:`~topology_client.client.TopologyClient` with a registration:
:class:`HeartbeatWorker` sends heartbeats at the server's interval, flushes activity at its flush
period and recovers by itself (the client's module docstring says when and how). It is the client's
other half: it reads and updates the client's registration and connection under the client's lock,
through the same methods the client uses."""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Callable, Optional

from ._backoff import Backoff, service_cap
from ._transport import Call, MuxConnection
from .errors import ServerStatusError, StatusCode, TopologyError
from .messages import Frame, HeartbeatRequest
from .providers import read_health, read_metrics
from .state import ClientState

if TYPE_CHECKING:
    from .client import TopologyClient

__all__ = ["HeartbeatWorker", "DEFAULT_INTERVAL_MS"]

log = logging.getLogger("topology_client")

#: The interval and flush period until the server has said its own.
DEFAULT_INTERVAL_MS = 5000
_DEFAULT_FLUSH_MS = 1000


class HeartbeatWorker:
    """Starts with the first registration, stops with :meth:`stop` (unregister, close)."""

    def __init__(self, client: TopologyClient) -> None:
        self._client = client
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._call: Optional[Call] = None  # the heartbeat call, woken to stop or reopen it
        self._recover = threading.Event()
        self._last_mux: Optional[MuxConnection] = None  # the connection the worker last registered on
        self._jitter: Callable[[], float] = random.random  # the random half of each backoff delay

    def start_or_reopen(self) -> None:
        """Starts the thread, or has it reopen the heartbeat stream for a new registration."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="topology-heartbeat", daemon=True)
            self._thread.start()
        else:
            self._recover.set()
            call = self._call
            if call is not None:
                call.wake()

    def stop(self) -> None:
        self._stop.set()
        call = self._call
        if call is not None:
            call.wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self._client.timeout + 5)
        self._thread = None

    def _backoff(self) -> Backoff:
        client = self._client
        handle = client.handle
        interval = (handle.heartbeat_interval_ms if handle and handle.heartbeat_interval_ms > 0
                    else DEFAULT_INTERVAL_MS) / 1000
        return Backoff(client.reconnect_initial_delay, service_cap(interval, client.reconnect_max_delay), self._jitter)

    def _recover_session(self) -> Optional[MuxConnection]:
        """Reconnects and registers again with the same id: the first attempt at once, the next ones
        after the backoff's delays. None if stopping."""
        client = self._client
        stats = client._stats
        client._set_state(ClientState.RECOVERING)
        backoff = self._backoff()
        while not self._stop.is_set():
            request = client._request
            if request is None:
                return None
            try:
                mux = client._connection()
                reconnected = mux is not self._last_mux
                request.service_id = client.service_id or request.service_id
                handle = client._register(mux, request)
            except ServerStatusError as error:
                stats.last_error = str(error)
                log.warning("re-registration refused: %s", error)
            except TopologyError as error:
                stats.last_error = str(error)
                log.info("reconnect failed: %s", error)
                with client._lock:
                    if client._mux is not None and client._mux.closed:
                        client._mux = None
            else:
                if reconnected and self._last_mux is not None:
                    stats.reconnects += 1
                self._last_mux = mux
                with client._lock:
                    if client._handle is not None and handle.service_id != client._handle.service_id:
                        log.warning("server gave a new service id %s (was %s)", handle.service_id,
                                    client._handle.service_id)
                    client._handle = handle
                    client._reporter.new_era()
                stats.reregistrations += 1
                client._set_state(ClientState.REGISTERED)
                log.info("service %s registered again with %s (epoch %s)", handle.service_id, mux.address,
                         handle.server_epoch)
                return mux
            self._stop.wait(backoff.next_delay())
        return None

    def _run(self) -> None:
        """The thread: heartbeats, activity flushes, recovery."""
        client = self._client
        stats = client._stats
        mux = client._mux
        self._last_mux = mux
        call: Optional[Call] = None
        sequence = 0
        next_heartbeat = time.monotonic()
        next_flush = time.monotonic()
        last_answer = time.monotonic()
        need_recovery = False
        try:
            while not self._stop.is_set():
                handle = client._handle
                if handle is None and client._request is None:
                    return
                if self._recover.is_set():
                    self._recover.clear()
                    if call is not None:
                        call.close()
                        call = None
                if handle is None or need_recovery or mux is None or mux.closed:
                    if call is not None:
                        call.close()
                        call = None
                    if need_recovery and mux is not None and not mux.closed and client._mux is mux:
                        pass  # the connection is fine; only the registration is lost
                    elif mux is not None and not mux.closed:
                        mux.close()
                    mux = self._recover_session()
                    if mux is None:
                        return
                    need_recovery = False
                    next_heartbeat = time.monotonic()
                    last_answer = time.monotonic()
                    continue
                interval = (handle.heartbeat_interval_ms if handle.heartbeat_interval_ms > 0 else DEFAULT_INTERVAL_MS) / 1000
                flush_period = (handle.activity_flush_ms if handle.activity_flush_ms > 0 else _DEFAULT_FLUSH_MS) / 1000
                if call is None:
                    try:
                        call = mux.open_call()
                    except TopologyError:
                        continue
                    self._call = call
                    last_answer = time.monotonic()
                now = time.monotonic()
                if now >= next_heartbeat:
                    sequence += 1
                    try:
                        call.send(Frame(heartbeat_request=HeartbeatRequest(
                            service_id=handle.service_id, sequence=sequence,
                            metrics=read_metrics(client.metrics_provider),
                            health=read_health(client.health_provider))))
                        stats.heartbeats_sent += 1
                    except TopologyError as error:
                        stats.last_error = str(error)
                        log.warning("heartbeat failed: %s", error)
                        continue
                    next_heartbeat = max(next_heartbeat + interval, now + interval / 4)
                if now >= next_flush:
                    next_flush = now + flush_period
                    client._reporter.flush_in_background(mux, handle.service_id)
                # Silence for as long as the server waits before declaring us dead: the connection is
                # as good as gone.
                multiplier = handle.timeout_multiplier if handle.timeout_multiplier > 0 else 3
                if now - last_answer > max(interval * multiplier, client.timeout):
                    stats.last_error = f"no heartbeat answer from {mux.address} for {now - last_answer:.1f} s"
                    log.warning("%s; reconnecting", stats.last_error)
                    mux.close()
                    continue
                wait = max(0.0, min(next_heartbeat, next_flush) - time.monotonic())
                try:
                    frame = call.poll(wait)
                except TopologyError as error:
                    stats.last_error = str(error)
                    log.warning("connection lost: %s", error)
                    continue  # mux is closed: recover at the top of the loop
                if frame is None:
                    continue
                last_answer = time.monotonic()
                need_recovery = self._on_heartbeat_answer(frame)
                if frame.end_of_stream:
                    call.close()
                    call = None
        finally:
            if call is not None:
                call.close()
            self._call = None

    def _on_heartbeat_answer(self, frame: Frame) -> bool:
        """Handles one frame of the heartbeat call; True when the service must register again."""
        client = self._client
        status = frame.status
        response = frame.heartbeat_response
        if status is not None and status.code == StatusCode.NOT_FOUND:
            log.info("server does not know service %s: registering again", client.service_id)
            return True
        if status is not None and status.code != StatusCode.OK:
            client._stats.last_error = str(ServerStatusError(status.code, status.message))
            log.warning("heartbeat refused: %s", client._stats.last_error)
            return False
        if response is None:
            return False
        if not response.acknowledged:
            return True
        handle = client._handle
        if response.server_epoch and handle is not None and handle.server_epoch \
                and response.server_epoch != handle.server_epoch:
            log.info("server epoch changed (%s -> %s): registering again", handle.server_epoch,
                     response.server_epoch)
            return True
        client._stats.heartbeats_acknowledged += 1
        return False
