"""``TopologyClient``: register a service, keep it alive, report its calls, query and watch the graph.

Threads: the client owns one connection (with its reader thread) and, once a service is
registered, one background thread that sends heartbeats at the server's interval, flushes
activity at the server's flush period and recovers by itself:

- a heartbeat answered with NOT_FOUND, or a heartbeat response with a new server epoch → register
  again with the same service id (the server keeps the node's identity);
- a lost connection (end of stream: noticed at once), or heartbeats left unanswered for
  ``timeout_multiplier`` intervals (a server that fell silent) → reconnect (trying the addresses
  in order): the first attempt at once, then with exponential backoff and jitter capped at half a
  heartbeat interval (``_backoff``), so a restarted server hears from us within half an interval
  of listening; then register again with the same id, then heartbeat at once.

A service starts whether or not its server is up: when no server is reachable, ``register``
returns ``None`` and the background thread registers as soon as one is, with the same backoff as a
reconnection; ``report_call`` works meanwhile (calls are kept, bounded by ``max_activity_keys``
pairs, and sent with the time they were made: docs/clients/python.md).

The application can watch this happen (:attr:`TopologyClient.state`, ``on_state_change``,
:attr:`TopologyClient.stats`) but never has to act on it.
"""

from __future__ import annotations

import enum
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._backoff import Backoff, check_delays, service_cap
from ._transport import DEFAULT_ADDRESS, Call, MuxConnection, normalize_addresses, raise_for_status
from .activity import ActivityAggregator, Batch
from .errors import (ProtocolError, ServerStatusError, StatusCode, TopologyConnectionError, TopologyError,
                     shorten)
from .framing import DEFAULT_MAX_FRAME_SIZE
from .messages import (ApplicationHealth, Frame, GetTopologyRequest, HealthState, HeartbeatRequest,
                       RegisterServiceRequest, ServiceHandle, ServiceLanguage, ServiceMetadata, ServiceMetrics,
                       ServiceType, Status, TopologyQuery, TopologySnapshot, UnregisterServiceRequest)
from .watch import Watch

__all__ = ["TopologyClient", "ClientState", "ClientStats", "HealthProvider", "MetricsProvider", "ProcessMetrics"]

log = logging.getLogger("topology_client")

HealthProvider = Callable[[], Union[HealthState, ApplicationHealth, None]]
MetricsProvider = Callable[[], Optional[ServiceMetrics]]

_DEFAULT_INTERVAL_MS = 5000
_DEFAULT_FLUSH_MS = 1000


class ClientState(enum.Enum):
    """Where the client is; observable through ``state`` and ``on_state_change``."""

    DISCONNECTED = "disconnected"  # not connected yet
    CONNECTED = "connected"        # connected, no service registered
    REGISTERED = "registered"      # registered, heartbeats answered
    RECOVERING = "recovering"      # no server yet, connection lost or service unknown: (re)registering
    CLOSED = "closed"


@dataclass
class ClientStats:
    """Counters of what the client did (read them at any time; for humans and tests).

    ``activity_calls_dropped``: calls known to be lost: past ``max_activity_keys`` (or 2^31-1 calls
    in one pair) between two flushes, and calls whose report the server refused with an error
    Status (``last_error`` says why). Calls whose report was on the wire when the connection died
    are in no counter (at most once: their fate is unknown); calls not sent yet are kept.
    """

    heartbeats_sent: int = 0
    heartbeats_acknowledged: int = 0
    reconnects: int = 0
    reregistrations: int = 0
    activity_reports_sent: int = 0
    activity_events_accepted: int = 0
    activity_calls_dropped: int = 0
    last_error: Optional[str] = None


class ProcessMetrics:
    """A metrics provider for this process: CPU percent since the previous call, resident memory."""

    def __init__(self) -> None:
        self._last = (time.monotonic(), time.process_time())

    def __call__(self) -> ServiceMetrics:
        now, cpu = time.monotonic(), time.process_time()
        last_now, last_cpu = self._last
        self._last = (now, cpu)
        percent = 100.0 * (cpu - last_cpu) / (now - last_now) if now > last_now else 0.0
        return ServiceMetrics(cpu_percent=percent, memory_bytes=_resident_bytes())


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read(256).split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        try:
            import resource
            return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
        except (ImportError, OSError):  # pragma: no cover
            return 0


def _labels(labels: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """``labels`` as the message holds them; anything but strings is refused here, naming the
    offending entry (shortened), before it could fail deep in the encoder."""
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise TypeError(f"labels must be a mapping of str to str, not {type(labels).__name__}")
    for key, value in labels.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"labels must map str to str; {str(key)[:64]!r} -> {str(value)[:64]!r} is "
                            f"{type(key).__name__} -> {type(value).__name__}")
    return dict(labels)


class TopologyClient:
    """A client of one Topology server (several addresses: failover, tried in order).

    ::

        with TopologyClient("127.0.0.1:50053") as client:
            client.register("checkout", version="1.4.2")
            client.report_call("payments", "Charge", latency_ms=12.5, ok=True)

    Every method is thread-safe. ``timeout`` (seconds) bounds connecting, each send and each answer.
    ``token``: the token of a server run with ``--auth-token-file`` (docs/security.md), sent first
    on every connection and reconnection; a refused one raises :class:`AuthenticationError`.
    """

    def __init__(self, addresses: Union[str, Sequence[str]] = DEFAULT_ADDRESS, *, timeout: float = 5.0,
                 health_provider: Optional[HealthProvider] = None,
                 metrics_provider: Optional[MetricsProvider] = None,
                 on_state_change: Optional[Callable[["ClientState"], None]] = None,
                 reconnect_initial_delay: float = 0.05, reconnect_max_delay: float = 5.0,
                 max_frame_size: int = DEFAULT_MAX_FRAME_SIZE, max_activity_keys: int = 10_000,
                 token: Optional[str] = None) -> None:
        self.addresses = normalize_addresses(addresses)
        check_delays(reconnect_initial_delay, reconnect_max_delay)
        self._token = token
        self.timeout = timeout
        self.health_provider = health_provider
        self.metrics_provider = metrics_provider
        self.on_state_change = on_state_change
        self.reconnect_initial_delay = reconnect_initial_delay
        self.reconnect_max_delay = reconnect_max_delay
        self.max_frame_size = max_frame_size
        self._stats = ClientStats()
        self._activity = ActivityAggregator(max_activity_keys)
        self._era = 0  # the activity aggregator's era of the current registration
        self._lock = threading.RLock()
        self._mux: Optional[MuxConnection] = None
        self._request: Optional[RegisterServiceRequest] = None
        self._handle: Optional[ServiceHandle] = None
        self._state = ClientState.DISCONNECTED
        self._stop = threading.Event()
        self._worker: Optional[threading.Thread] = None
        self._heartbeat_call: Optional[Call] = None
        self._recover = threading.Event()
        self._last_mux: Optional[MuxConnection] = None  # the connection the worker last registered on
        self._jitter: Callable[[], float] = random.random  # the random half of each backoff delay

    # ------------------------------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------------------------------

    def __enter__(self) -> "TopologyClient":
        try:
            self.connect()
        except TopologyConnectionError as error:  # the server may come later: register() copes
            log.info("no server yet: %s", error)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._handle is not None or self._request is not None:
                self.unregister()
        except TopologyError as error:
            log.warning("could not unregister on exit: %s", error)
        finally:
            self.close()

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def stats(self) -> ClientStats:
        stats = self._stats
        stats.activity_calls_dropped = self._activity.dropped_calls
        return stats

    @property
    def service_id(self) -> Optional[str]:
        """The registered service's id; it stays the same through every recovery."""
        handle = self._handle
        return handle.service_id if handle else None

    @property
    def handle(self) -> Optional[ServiceHandle]:
        """The server's latest answer to registration (interval, epoch, flush period)."""
        return self._handle

    @property
    def server_epoch(self) -> Optional[str]:
        handle = self._handle
        return handle.server_epoch if handle else None

    @property
    def address(self) -> Optional[str]:
        """The address of the server currently connected, if any."""
        mux = self._mux
        return mux.address if mux is not None and not mux.closed else None

    def connect(self) -> None:
        """Connects to the first server address that accepts (done by every call that needs it)."""
        self._connection()

    def close(self) -> None:
        """Stops the background thread and closes the connection (does not unregister)."""
        self._stop_worker()
        with self._lock:
            mux, self._mux = self._mux, None
        if mux is not None:
            mux.close()
        self._set_state(ClientState.CLOSED)

    # ------------------------------------------------------------------------------------------
    # Registration
    # ------------------------------------------------------------------------------------------

    def register(self, name: str, service_type: ServiceType = ServiceType.SERVICE_TYPE_SERVER,
                 language: ServiceLanguage = ServiceLanguage.SERVICE_LANGUAGE_PYTHON, *,
                 version: Optional[str] = None, address: Optional[str] = None, host: Optional[str] = None,
                 metadata: Union[ServiceMetadata, Mapping[str, str], None] = None,
                 service_id: Optional[str] = None, labels: Optional[Mapping[str, str]] = None) -> Optional[ServiceHandle]:
        """Registers this service and starts the heartbeat thread. Calling it again re-registers
        under the same id (the node is updated in place; ``labels`` replace the earlier ones).
        ``service_id`` asks for a known id back. ``labels`` are free-form ``key: value`` strings
        (``{"team": "payments"}``); the server refuses keys with ``=`` or control characters, and
        more or longer labels than it allows (docs/protocol.md): :class:`ServerStatusError`, code
        ``INVALID_ARGUMENT``.

        When no server is reachable, returns ``None`` at once: the background thread registers as
        soon as a server answers (state RECOVERING until then; ``report_call`` works meanwhile).
        A server's refusal (e.g. INVALID_ARGUMENT) raises :class:`ServerStatusError`."""
        if not name or name.isspace():
            raise ValueError(f"service name must not be empty or only whitespace (got {shorten(name)})")
        if isinstance(metadata, Mapping):
            metadata = ServiceMetadata(**dict(metadata))
        request = RegisterServiceRequest(service_name=name, service_type=service_type, language=language,
                                         version=version, address=address, host=host, metadata=metadata,
                                         service_id=service_id or self.service_id, labels=_labels(labels))
        handle: Optional[ServiceHandle] = None
        try:
            mux = self._connection()
        except TopologyConnectionError as error:  # no server listens (yet); a server's refusal raises
            log.info("no server reachable (%s): %s registers in the background", error, shorten(name))
            self._stats.last_error = str(error)
        else:
            handle = self._register(mux, request)
        with self._lock:
            self._request = request
            self._handle = handle
            if handle is not None:
                self._era = self._activity.new_era()
            self._set_state(ClientState.REGISTERED if handle is not None else ClientState.RECOVERING)
            if self._worker is None:
                self._stop.clear()
                self._worker = threading.Thread(target=self._run, name="topology-heartbeat", daemon=True)
                self._worker.start()
            else:
                self._recover.set()  # reopen the heartbeat stream for the new registration
                call = self._heartbeat_call
                if call is not None:
                    call.wake()
        return handle

    def unregister(self) -> bool:
        """Flushes pending activity, stops heartbeats and removes the service. Returns ``removed``
        (``False`` too for a registration still waiting for a server: it is given up)."""
        handle = self._handle
        if handle is None:
            if self._request is not None:
                self._stop_worker()
                with self._lock:
                    self._request = None
                    self._set_state(ClientState.DISCONNECTED)
            return False
        self._stop_worker()
        try:
            self.flush()
        except TopologyError as error:
            log.warning("activity not flushed before unregistering: %s", error)
        reply = self._connection().unary(
            Frame(unregister_service_request=UnregisterServiceRequest(service_id=handle.service_id)), self.timeout)
        with self._lock:
            self._handle = None
            self._request = None
            self._set_state(ClientState.CONNECTED)
        response = reply.unregister_service_response
        return bool(response and response.removed)

    # ------------------------------------------------------------------------------------------
    # Activity
    # ------------------------------------------------------------------------------------------

    def report_call(self, target: str, method: str = "", latency_ms: float = 0.0, ok: bool = True,
                    error_message: Optional[str] = None) -> None:
        """Counts one call this service made to ``target``. Thread-safe and without I/O: calls are
        aggregated per (target, method) and sent in batches (with their latency histogram) by the
        background thread at the server's activity flush period."""
        self._activity.record(target, method, latency_ms, ok, error_message)

    def flush(self, timeout: Optional[float] = None) -> int:
        """Sends the pending activity now and waits for the server's answers. Returns the number of
        events the server accepted (0 when there was nothing to send). Raises
        :class:`ServerStatusError` if the server refused a report (after all the answers came; its
        calls are counted in ``stats.activity_calls_dropped``)."""
        handle = self._handle
        if handle is None:
            if self._request is not None:
                raise TopologyConnectionError("not registered yet (no server reachable): the calls are kept")
            raise TopologyError("no service registered: call register() first")
        mux = self._connection()
        batches = self._activity.take()
        if not batches:
            return 0
        sent = self._send_batches(mux, handle.service_id, batches, background=False)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        accepted = 0
        refused: Optional[ServerStatusError] = None
        try:
            for call, batch in sent:
                reply = call.recv(max(0.0, deadline - time.monotonic()))
                if reply.status is not None and reply.status.code != StatusCode.OK:
                    error = self._refused(batch, reply.status)
                    refused = refused or error
                elif reply.report_activity_response is not None:
                    accepted += reply.report_activity_response.accepted_events
        finally:
            for call, _ in sent:
                call.close()
        self._stats.activity_events_accepted += accepted
        if refused is not None:
            raise refused
        return accepted

    def _send_batches(self, mux: MuxConnection, service_id: str, batches: Sequence[Batch], *,
                      background: bool) -> List[Tuple[Call, Batch]]:
        """Sends each batch as one report on a ReportActivity call of its own (request and
        end_of_stream in one frame), so each answer names the calls it stands for. When a send
        fails, that batch and the ones after it (never sent) go back to the aggregator, as the C
        client does, and the error is raised. ``background``: answers are handled on the reader
        thread (a refusal is counted) instead of being returned for :meth:`flush` to read."""
        sent: List[Tuple[Call, Batch]] = []
        era = self._era
        for index, batch in enumerate(batches):
            try:
                call = mux.open_call(self._on_report_answer(batch) if background else None)
            except TopologyError:
                self._activity.put_back(batches[index:])
                raise
            try:
                call.send(Frame(report_activity_request=batch.report(service_id, era), end_of_stream=True))
            except TopologyError:
                call.close()
                self._activity.put_back(batches[index:])
                raise
            self._stats.activity_reports_sent += 1
            sent.append((call, batch))
        return sent

    def _on_report_answer(self, batch: Batch) -> Callable[[Frame], None]:
        def on_answer(frame: Frame) -> None:
            if frame.status is not None and frame.status.code != StatusCode.OK:
                self._refused(batch, frame.status)
            elif frame.report_activity_response is not None:
                self._stats.activity_events_accepted += frame.report_activity_response.accepted_events
        return on_answer

    def _refused(self, batch: Batch, status: Status) -> ServerStatusError:
        """The server refused a report: its calls are lost (sending them again would be refused the
        same way). Counted as dropped; the status becomes the last error."""
        error = ServerStatusError(status.code, status.message)
        self._activity.note_dropped(batch.calls)
        self._stats.last_error = f"activity to {shorten(batch.target)} refused: {error}"
        log.warning("%s", self._stats.last_error)
        return error

    # ------------------------------------------------------------------------------------------
    # Topology
    # ------------------------------------------------------------------------------------------

    def get_topology(self, query: Optional[TopologyQuery] = None, *, timeout: Optional[float] = None) -> TopologySnapshot:
        """One snapshot of the topology, filtered by ``query`` (everything when ``None``)."""
        reply = self._connection().unary(Frame(get_topology_request=GetTopologyRequest(query=query or TopologyQuery())),
                                         self.timeout if timeout is None else timeout)
        if reply.get_topology_response is None:
            raise ProtocolError("the server answered GetTopology without a get_topology_response")
        return reply.get_topology_response.snapshot or TopologySnapshot()

    def watch(self, query: Optional[TopologyQuery] = None, *, reconnect: bool = True, include_progress: bool = False,
              idle_timeout: float = 30.0, reconnect_initial_delay: Optional[float] = None,
              reconnect_max_delay: Optional[float] = None) -> Watch:
        """A :class:`Watch` on its own connection: an iterator of updates, starting with a snapshot,
        that resumes from its last revision after reconnecting. See :class:`Watch` for the options."""
        return Watch(self.addresses, query, timeout=self.timeout, reconnect=reconnect,
                     include_progress=include_progress, idle_timeout=idle_timeout,
                     reconnect_initial_delay=(self.reconnect_initial_delay if reconnect_initial_delay is None
                                              else reconnect_initial_delay),
                     reconnect_max_delay=self.reconnect_max_delay if reconnect_max_delay is None else reconnect_max_delay,
                     max_frame_size=self.max_frame_size, token=self._token)

    # ------------------------------------------------------------------------------------------
    # Internals
    # ------------------------------------------------------------------------------------------

    def _set_state(self, state: ClientState) -> None:
        if state is self._state:
            return
        self._state = state
        if self.on_state_change is not None:
            try:
                self.on_state_change(state)
            except Exception:  # noqa: BLE001 - an observer's bug must not stop recovery
                log.exception("on_state_change callback failed")

    def _connection(self) -> MuxConnection:
        with self._lock:
            if self._state is ClientState.CLOSED:
                raise TopologyConnectionError("the client is closed")
            mux = self._mux
            if mux is None or mux.closed:
                mux = MuxConnection.open(self.addresses, timeout=self.timeout, max_frame_size=self.max_frame_size,
                                         token=self._token)
                self._mux = mux
                if self._state is ClientState.DISCONNECTED:
                    self._set_state(ClientState.CONNECTED)
            return mux

    def _register(self, mux: MuxConnection, request: RegisterServiceRequest) -> ServiceHandle:
        reply = mux.unary(Frame(register_service_request=request), self.timeout)
        response = reply.register_service_response
        if response is None or response.handle is None or not response.handle.service_id:
            raise ProtocolError("the server answered RegisterService without a service handle")
        return response.handle

    def _stop_worker(self) -> None:
        self._stop.set()
        call = self._heartbeat_call
        if call is not None:
            call.wake()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=self.timeout + 5)
        self._worker = None

    def _health(self) -> Optional[ApplicationHealth]:
        if self.health_provider is None:
            return None
        try:
            value = self.health_provider()
        except Exception as error:  # noqa: BLE001 - report what we can, keep heartbeating
            log.warning("health provider failed: %s", error)
            return None
        if value is None or isinstance(value, ApplicationHealth):
            return value
        return ApplicationHealth(state=HealthState(value))

    def _metrics(self) -> Optional[ServiceMetrics]:
        if self.metrics_provider is None:
            return None
        try:
            return self.metrics_provider()
        except Exception as error:  # noqa: BLE001
            log.warning("metrics provider failed: %s", error)
            return None

    def _backoff(self) -> Backoff:
        handle = self._handle
        interval = (handle.heartbeat_interval_ms if handle and handle.heartbeat_interval_ms > 0
                    else _DEFAULT_INTERVAL_MS) / 1000
        return Backoff(self.reconnect_initial_delay, service_cap(interval, self.reconnect_max_delay), self._jitter)

    def _recover_session(self) -> Optional[MuxConnection]:
        """Reconnects and registers again with the same id: the first attempt at once, the next ones
        after the backoff's delays. None if stopping."""
        self._set_state(ClientState.RECOVERING)
        backoff = self._backoff()
        while not self._stop.is_set():
            request = self._request
            if request is None:
                return None
            try:
                mux = self._connection()
                reconnected = mux is not self._last_mux
                request.service_id = self.service_id or request.service_id
                handle = self._register(mux, request)
            except ServerStatusError as error:
                self._stats.last_error = str(error)
                log.warning("re-registration refused: %s", error)
            except TopologyError as error:
                self._stats.last_error = str(error)
                log.info("reconnect failed: %s", error)
                with self._lock:
                    if self._mux is not None and self._mux.closed:
                        self._mux = None
            else:
                if reconnected and self._last_mux is not None:
                    self._stats.reconnects += 1
                self._last_mux = mux
                with self._lock:
                    if self._handle is not None and handle.service_id != self._handle.service_id:
                        log.warning("server gave a new service id %s (was %s)", handle.service_id,
                                    self._handle.service_id)
                    self._handle = handle
                    self._era = self._activity.new_era()
                self._stats.reregistrations += 1
                self._set_state(ClientState.REGISTERED)
                log.info("service %s registered again with %s (epoch %s)", handle.service_id, mux.address,
                         handle.server_epoch)
                return mux
            self._stop.wait(backoff.next_delay())
        return None

    def _run(self) -> None:
        """The background thread: heartbeats, activity flushes, recovery."""
        mux = self._mux
        self._last_mux = mux
        call: Optional[Call] = None
        sequence = 0
        next_heartbeat = time.monotonic()
        next_flush = time.monotonic()
        last_answer = time.monotonic()
        need_recovery = False
        try:
            while not self._stop.is_set():
                handle = self._handle
                if handle is None and self._request is None:
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
                    if need_recovery and mux is not None and not mux.closed and self._mux is mux:
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
                interval = (handle.heartbeat_interval_ms if handle.heartbeat_interval_ms > 0 else _DEFAULT_INTERVAL_MS) / 1000
                flush_period = (handle.activity_flush_ms if handle.activity_flush_ms > 0 else _DEFAULT_FLUSH_MS) / 1000
                if call is None:
                    try:
                        call = mux.open_call()
                    except TopologyError:
                        continue
                    self._heartbeat_call = call
                    last_answer = time.monotonic()
                now = time.monotonic()
                if now >= next_heartbeat:
                    sequence += 1
                    try:
                        call.send(Frame(heartbeat_request=HeartbeatRequest(
                            service_id=handle.service_id, sequence=sequence,
                            metrics=self._metrics(), health=self._health())))
                        self._stats.heartbeats_sent += 1
                    except TopologyError as error:
                        self._stats.last_error = str(error)
                        log.warning("heartbeat failed: %s", error)
                        continue
                    next_heartbeat = max(next_heartbeat + interval, now + interval / 4)
                if now >= next_flush:
                    next_flush = now + flush_period
                    self._flush_in_background(mux, handle.service_id)
                # Silence for as long as the server waits before declaring us dead: the connection is
                # as good as gone.
                multiplier = handle.timeout_multiplier if handle.timeout_multiplier > 0 else 3
                if now - last_answer > max(interval * multiplier, self.timeout):
                    self._stats.last_error = f"no heartbeat answer from {mux.address} for {now - last_answer:.1f} s"
                    log.warning("%s; reconnecting", self._stats.last_error)
                    mux.close()
                    continue
                wait = max(0.0, min(next_heartbeat, next_flush) - time.monotonic())
                try:
                    frame = call.poll(wait)
                except TopologyError as error:
                    self._stats.last_error = str(error)
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
            self._heartbeat_call = None

    def _on_heartbeat_answer(self, frame: Frame) -> bool:
        """Handles one frame of the heartbeat call; True when the service must register again."""
        status = frame.status
        response = frame.heartbeat_response
        if status is not None and status.code == StatusCode.NOT_FOUND:
            log.info("server does not know service %s: registering again", self.service_id)
            return True
        if status is not None and status.code != StatusCode.OK:
            self._stats.last_error = str(ServerStatusError(status.code, status.message))
            log.warning("heartbeat refused: %s", self._stats.last_error)
            return False
        if response is None:
            return False
        if not response.acknowledged:
            return True
        handle = self._handle
        if response.server_epoch and handle is not None and handle.server_epoch \
                and response.server_epoch != handle.server_epoch:
            log.info("server epoch changed (%s -> %s): registering again", handle.server_epoch,
                     response.server_epoch)
            return True
        self._stats.heartbeats_acknowledged += 1
        return False

    def _flush_in_background(self, mux: MuxConnection, service_id: str) -> None:
        batches = self._activity.take()
        if not batches:
            return
        try:
            self._send_batches(mux, service_id, batches, background=True)
        except TopologyError as error:
            # What was not sent is back in the aggregator, for the next flush after recovery.
            self._stats.last_error = str(error)
