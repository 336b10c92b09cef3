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

This module holds what the application calls; the background thread is
:class:`~topology_client._heartbeat.HeartbeatWorker`, the sending of activity
:class:`~topology_client._reporter.ActivityReporter`.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Dict, Mapping, Optional, Sequence, Union

from ._backoff import check_delays
from ._heartbeat import HeartbeatWorker
from ._reporter import ActivityReporter
from ._transport import DEFAULT_ADDRESS, MuxConnection, normalize_addresses
from .activity import ActivityAggregator
from .errors import ProtocolError, TopologyConnectionError, TopologyError, shorten
from .framing import DEFAULT_MAX_FRAME_SIZE
from .messages import (Frame, GetTopologyRequest, RegisterServiceRequest, ServiceHandle, ServiceLanguage,
                       ServiceMetadata, ServiceType, TopologyQuery, TopologySnapshot, UnregisterServiceRequest)
from .providers import HealthProvider, MetricsProvider, ProcessMetrics
from .state import ClientState, ClientStats
from .watch import Watch

__all__ = ["TopologyClient", "ClientState", "ClientStats", "HealthProvider", "MetricsProvider", "ProcessMetrics"]

log = logging.getLogger("topology_client")


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
        self._reporter = ActivityReporter(self._activity, self._stats)
        self._lock = threading.RLock()
        self._mux: Optional[MuxConnection] = None
        self._request: Optional[RegisterServiceRequest] = None
        self._handle: Optional[ServiceHandle] = None
        self._state = ClientState.DISCONNECTED
        self._heartbeat = HeartbeatWorker(self)

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
        self._heartbeat.stop()
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
                self._reporter.new_era()
            self._set_state(ClientState.REGISTERED if handle is not None else ClientState.RECOVERING)
            self._heartbeat.start_or_reopen()
        return handle

    def unregister(self) -> bool:
        """Flushes pending activity, stops heartbeats and removes the service. Returns ``removed``
        (``False`` too for a registration still waiting for a server: it is given up)."""
        handle = self._handle
        if handle is None:
            if self._request is not None:
                self._heartbeat.stop()
                with self._lock:
                    self._request = None
                    self._set_state(ClientState.DISCONNECTED)
            return False
        self._heartbeat.stop()
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
        return self._reporter.flush(mux, handle.service_id, self.timeout if timeout is None else timeout)

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
