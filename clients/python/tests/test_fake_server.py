"""The client against an in-process fake server: recovery logic, and a hostile server that sends
garbage, truncated frames, oversized lengths, or nothing at all. Every case must end in a
TopologyError (never a hang, a crash or another exception type) and leave no thread behind."""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Iterator, List

import pytest

from conftest import wait_for
from fakeserver import Behaving, FakeServer, answer_register, frames, read_frame
from topology_client import (ClientState, FrameTooLargeError, ProtocolError, ServerStatusError, TopologyClient,
                             TopologyConnectionError, TopologyError, TopologyTimeoutError, UpdateType)
from topology_client.framing import FrameReader, encode_frame
from topology_client.messages import (Frame, HeartbeatResponse, RegisterServiceResponse, ServiceHandle, Status,
                                      TopologySnapshot, TopologyUpdate, WatchTopologyResponse)


@pytest.fixture
def servers() -> Iterator[List[FakeServer]]:
    started: List[FakeServer] = []
    yield started
    for server in started:
        server.close()


@pytest.fixture(autouse=True)
def no_thread_leak() -> Iterator[None]:
    before = {t.ident for t in threading.enumerate()}
    yield
    def leaked() -> List[str]:
        return [t.name for t in threading.enumerate() if t.ident not in before and t.name.startswith("topology")]
    assert wait_for(lambda: not leaked(), 5.0) is not None, f"client threads left running: {leaked()}"


def start(servers: List[FakeServer], handler: Callable[..., None], port: int = 0) -> FakeServer:
    server = FakeServer(handler, port)
    servers.append(server)
    return server


# --------------------------------------------------------------------------------------------------
# Recovery, against a well-behaved fake
# --------------------------------------------------------------------------------------------------

def test_register_heartbeat_unregister(servers: List[FakeServer]) -> None:
    fake = Behaving()
    server = start(servers, fake)
    states: List[ClientState] = []
    with TopologyClient(server.address, timeout=2, on_state_change=states.append) as client:
        handle = client.register("svc", version="1")
        assert client.service_id == handle.service_id and client.state is ClientState.REGISTERED
        assert wait_for(lambda: client.stats.heartbeats_acknowledged >= 3, 2.0)
        client.report_call("db", "query", 3.0, ok=True)
        client.report_call("db", "query", 5.0, ok=False)
        assert client.flush() == 2
    assert not fake.services  # unregistered on exit
    assert states[:2] == [ClientState.CONNECTED, ClientState.REGISTERED] and states[-1] is ClientState.CLOSED


def test_not_found_reregisters_with_same_id(servers: List[FakeServer]) -> None:
    fake = Behaving()
    server = start(servers, fake)
    with TopologyClient(server.address, timeout=2) as client:
        service_id = client.register("svc").service_id
        fake.forget_all()
        # The fake sees the registration before the client has read its answer and counted it.
        assert wait_for(lambda: service_id in fake.services and client.stats.reregistrations >= 1, 1.0), "not re-registered"
        assert client.service_id == service_id
        assert fake.registrations[-1].register_service_request.service_id == service_id  # type: ignore[union-attr]


def test_epoch_change_reregisters(servers: List[FakeServer]) -> None:
    fake = Behaving()
    server = start(servers, fake)
    with TopologyClient(server.address, timeout=2) as client:
        service_id = client.register("svc").service_id
        count = len(fake.registrations)
        fake.reply_epoch = "another-epoch"
        assert wait_for(lambda: len(fake.registrations) > count, 1.0)
        assert fake.registrations[-1].register_service_request.service_id == service_id  # type: ignore[union-attr]


def test_reconnects_after_server_restart_with_same_id(servers: List[FakeServer]) -> None:
    first = start(servers, Behaving())
    port = first.port
    with TopologyClient(first.address, timeout=2) as client:
        service_id = client.register("svc").service_id
        first.close()
        time.sleep(0.3)  # down for 3 intervals: the client keeps retrying
        assert client.state is ClientState.RECOVERING
        fake = Behaving()
        restarted = time.monotonic()
        start(servers, fake, port=port)
        assert wait_for(lambda: service_id in fake.services, 2.0)
        assert time.monotonic() - restarted < 0.2, "back later than 2 heartbeat intervals"
        assert wait_for(lambda: client.state is ClientState.REGISTERED, 1.0)
        assert client.stats.reconnects >= 1


def test_failover_to_second_address(servers: List[FakeServer]) -> None:
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_address = f"127.0.0.1:{dead.getsockname()[1]}"
    dead.close()
    fake = Behaving()
    server = start(servers, fake)
    with TopologyClient([dead_address, server.address], timeout=2) as client:
        client.register("svc")
        assert client.address == server.address


def test_connect_failure_is_one_clear_error() -> None:
    with pytest.raises(TopologyConnectionError, match="could not connect"):
        TopologyClient("127.0.0.1:1", timeout=1).connect()


def test_health_and_metrics_providers(servers: List[FakeServer]) -> None:
    from topology_client import HealthState, ServiceMetrics
    seen: List[Frame] = []
    fake = Behaving()

    def spy(sock: socket.socket, server: FakeServer) -> None:
        original = fake.handle

        def handle(frame: Frame, activity: dict) -> List[Frame]:  # type: ignore[type-arg]
            seen.append(frame)
            return original(frame, activity)
        fake.handle = handle  # type: ignore[method-assign]
        fake(sock, server)

    server = start(servers, spy)
    with TopologyClient(server.address, timeout=2, health_provider=lambda: HealthState.HEALTH_STATE_DEGRADED,
                        metrics_provider=lambda: ServiceMetrics(cpu_percent=12.5, memory_bytes=1 << 20)) as client:
        client.register("svc")
        assert wait_for(lambda: any(f.heartbeat_request for f in seen), 2.0)
    hb = next(f.heartbeat_request for f in seen if f.heartbeat_request)
    assert hb.health.state == HealthState.HEALTH_STATE_DEGRADED  # type: ignore[union-attr]
    assert hb.metrics == ServiceMetrics(cpu_percent=12.5, memory_bytes=1 << 20)


# --------------------------------------------------------------------------------------------------
# Hostile servers
# --------------------------------------------------------------------------------------------------

def _answer_first_frame_with(payload: bytes, then_close: bool = False) -> Callable[..., None]:
    def handler(sock: socket.socket, server: FakeServer) -> None:
        reader = FrameReader()
        if read_frame(sock, reader) is None:
            return
        sock.sendall(payload)
        if then_close:
            sock.shutdown(socket.SHUT_WR)
        while read_frame(sock, reader, timeout=3) is not None:  # until the client hangs up
            pass
    return handler


@pytest.mark.parametrize("payload, then_close, error", [
    (b"\xff" * 64, False, ProtocolError),                                 # garbage: malformed prefix
    (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", False, ProtocolError),  # length 2^63
    (b"\x10\x08\x01\x5a\x05", True, TopologyConnectionError),              # truncated frame, then EOF
    (b"\x05\x08\x01\x5a\x05\xff", False, ProtocolError),                  # undecodable frame
    (b"", True, TopologyConnectionError),                                  # closes without a word
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nnope\n", True, ProtocolError),  # an HTTP port
    (encode_frame(Frame(status=Status(code=8, message="too many"))), True, TopologyConnectionError),  # call 0
    (encode_frame(Frame(call_id=99, end_of_stream=True)), False, TopologyTimeoutError),  # wrong call id
    (encode_frame(Frame(call_id=1, end_of_stream=True)), False, ProtocolError),  # answer without a message
    (encode_frame(Frame(call_id=1, status=Status(code=3, message="bad name"))), False, ServerStatusError),
])
def test_hostile_answers_to_register(servers: List[FakeServer], payload: bytes, then_close: bool,
                                     error: type) -> None:
    server = start(servers, _answer_first_frame_with(payload, then_close))
    client = TopologyClient(server.address, timeout=0.5, max_frame_size=1 << 20)
    began = time.monotonic()
    try:
        with pytest.raises(error) as info:
            client.register("svc")
        assert isinstance(info.value, TopologyError)
    finally:
        client.close()
    assert time.monotonic() - began < 3


def test_status_error_carries_code_and_message(servers: List[FakeServer]) -> None:
    payload = encode_frame(Frame(call_id=1, end_of_stream=True, status=Status(code=3, message="service_name is empty")))
    server = start(servers, _answer_first_frame_with(payload))
    with TopologyClient(server.address, timeout=1) as client:
        with pytest.raises(ServerStatusError) as info:
            client.get_topology()
    assert info.value.code == 3 and info.value.code_name == "INVALID_ARGUMENT"
    assert info.value.status_message == "service_name is empty"


def test_fragmented_answer_byte_by_byte(servers: List[FakeServer]) -> None:
    handle = ServiceHandle(service_id="id-1", heartbeat_interval_ms=60000, timeout_multiplier=3, server_epoch="e")
    payload = encode_frame(Frame(call_id=1, end_of_stream=True,
                                 register_service_response=RegisterServiceResponse(handle=handle)))

    def handler(sock: socket.socket, server: FakeServer) -> None:
        read_frame(sock, FrameReader())
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(payload)):
            sock.sendall(payload[i:i + 1])
            time.sleep(0.002)
        time.sleep(0.5)

    server = start(servers, handler)
    client = TopologyClient(server.address, timeout=2)
    try:
        assert client.register("svc").service_id == "id-1"
    finally:
        client.close()


def test_background_thread_survives_a_hostile_server(servers: List[FakeServer]) -> None:
    """Registration works, then every heartbeat gets garbage: the client keeps reconnecting (it never
    crashes or spins), and close() returns promptly."""
    handle = ServiceHandle(service_id="id-1", heartbeat_interval_ms=50, timeout_multiplier=3, server_epoch="e")

    def handler(sock: socket.socket, server: FakeServer) -> None:
        for frame in frames(sock, timeout=2):
            if frame.register_service_request is not None:
                answer_register(sock, frame, handle)
            else:
                sock.sendall(b"\x80" * 10)
                return

    server = start(servers, handler)
    client = TopologyClient(server.address, timeout=1)
    client.register("svc")
    assert wait_for(lambda: server.accepted >= 4, 3.0), "the client did not keep reconnecting"
    assert client.stats.last_error and client.service_id == "id-1"
    began = time.monotonic()
    client.close()
    assert time.monotonic() - began < 2


def test_silent_server_heartbeats_time_out(servers: List[FakeServer]) -> None:
    handle = ServiceHandle(service_id="id-1", heartbeat_interval_ms=50, timeout_multiplier=2, server_epoch="e")

    def handler(sock: socket.socket, server: FakeServer) -> None:
        for frame in frames(sock, timeout=3):
            if frame.register_service_request is not None:
                answer_register(sock, frame, handle)

    server = start(servers, handler)
    client = TopologyClient(server.address, timeout=0.3)
    try:
        client.register("svc")
        assert wait_for(lambda: server.accepted >= 2, 3.0), "unanswered heartbeats did not trigger a reconnect"
        assert "no heartbeat answer" in (client.stats.last_error or "") or client.stats.reconnects >= 1
    finally:
        client.close()


def _watch_handler(after_snapshot: bytes) -> Callable[..., None]:
    def handler(sock: socket.socket, server: FakeServer) -> None:
        frame = read_frame(sock, FrameReader())
        if frame is None:
            return
        update = TopologyUpdate(type=UpdateType.UPDATE_TYPE_SNAPSHOT, revision=3,
                                snapshot=TopologySnapshot(revision=3, server_epoch="e"))
        sock.sendall(encode_frame(Frame(call_id=frame.call_id,
                                        watch_topology_response=WatchTopologyResponse(update=update))))
        time.sleep(0.05)
        sock.sendall(after_snapshot)
        time.sleep(0.3)
    return handler


def test_watch_garbage_without_reconnect_raises(servers: List[FakeServer]) -> None:
    server = start(servers, _watch_handler(b"\xff" * 20))
    with TopologyClient(server.address, timeout=1).watch(reconnect=False) as watch:
        first = next(watch)
        assert first.type == UpdateType.UPDATE_TYPE_SNAPSHOT and watch.revision == 3
        with pytest.raises(ProtocolError):
            next(watch)


def test_watch_reconnects_and_resumes_after_garbage(servers: List[FakeServer]) -> None:
    requests: List[Frame] = []

    def handler(sock: socket.socket, server: FakeServer) -> None:
        reader = FrameReader()
        frame = read_frame(sock, reader)
        if frame is None:
            return
        requests.append(frame)
        update = TopologyUpdate(type=UpdateType.UPDATE_TYPE_SNAPSHOT, revision=3 + len(requests),
                                snapshot=TopologySnapshot(revision=3 + len(requests), server_epoch="e"))
        sock.sendall(encode_frame(Frame(call_id=frame.call_id,
                                        watch_topology_response=WatchTopologyResponse(update=update))))
        sock.sendall(b"\x03\x08\x01\x12")  # a frame whose body is truncated: undecodable
        time.sleep(0.2)

    server = start(servers, handler)
    with TopologyClient(server.address, timeout=1).watch(reconnect=True) as watch:
        assert next(watch).snapshot.revision == 4  # type: ignore[union-attr]
        assert watch.next_update(timeout=3).snapshot.revision == 5  # type: ignore[union-attr]
        assert watch.reconnects >= 1
    assert requests[0].watch_topology_request.resume_after_revision is None  # type: ignore[union-attr]
    resume = requests[1].watch_topology_request
    assert resume is not None and resume.resume_after_revision == 4 and resume.resume_server_epoch == "e"


def test_watch_close_from_another_thread_ends_iteration(servers: List[FakeServer]) -> None:
    server = start(servers, _watch_handler(b""))
    watch = TopologyClient(server.address, timeout=1).watch()
    got: List[object] = []
    thread = threading.Thread(target=lambda: got.extend(watch), name="test-iterator")
    thread.start()
    assert wait_for(lambda: got, 2.0)
    watch.close()
    thread.join(2)
    assert not thread.is_alive() and len(got) == 1


def test_heartbeat_response_flood_is_bounded(servers: List[FakeServer]) -> None:
    """A server that answers one heartbeat with thousands of frames cannot make the client misbehave."""
    handle = ServiceHandle(service_id="id-1", heartbeat_interval_ms=1000, timeout_multiplier=3, server_epoch="e")

    def handler(sock: socket.socket, server: FakeServer) -> None:
        for frame in frames(sock, timeout=2):
            if frame.register_service_request is not None:
                answer_register(sock, frame, handle)
            elif frame.heartbeat_request is not None:
                one = encode_frame(Frame(call_id=frame.call_id, heartbeat_response=HeartbeatResponse(
                    sequence=1, acknowledged=True, server_epoch="e")))
                sock.sendall(one * 20000)

    server = start(servers, handler)
    client = TopologyClient(server.address, timeout=1)
    try:
        client.register("svc")
        assert wait_for(lambda: client.stats.heartbeats_acknowledged >= 1000, 5.0)
    finally:
        client.close()


@pytest.mark.parametrize("code, reconnects", [(14, True), (8, True), (3, False)])
def test_watch_ended_by_status(servers: List[FakeServer], code: int, reconnects: bool) -> None:
    """UNAVAILABLE (shutdown) and RESOURCE_EXHAUSTED end the stream for now: the watch comes back.
    Any other status is the answer: it is raised."""
    opened: List[int] = []

    def handler(sock: socket.socket, server: FakeServer) -> None:
        reader = FrameReader()
        frame = read_frame(sock, reader)
        if frame is None:
            return
        opened.append(1)
        update = TopologyUpdate(type=UpdateType.UPDATE_TYPE_SNAPSHOT, revision=len(opened),
                                snapshot=TopologySnapshot(revision=len(opened), server_epoch="e"))
        sock.sendall(encode_frame(Frame(call_id=frame.call_id,
                                        watch_topology_response=WatchTopologyResponse(update=update))))
        sock.sendall(encode_frame(Frame(call_id=frame.call_id, end_of_stream=True,
                                        status=Status(code=code, message="going away"))))
        while read_frame(sock, reader, timeout=3) is not None:
            pass

    server = start(servers, handler)
    with TopologyClient(server.address, timeout=1).watch() as watch:
        assert next(watch).revision == 1
        if reconnects:
            again = watch.next_update(timeout=3)
            assert again is not None and again.revision == 2 and watch.reconnects == 1
        else:
            with pytest.raises(ServerStatusError) as info:
                watch.next_update(timeout=3)
            assert info.value.code == code and watch.closed


def test_report_call_does_no_io_on_the_callers_thread(servers: List[FakeServer],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from topology_client import _transport
    senders: List[str] = []
    original = _transport.FrameConnection.send

    def spy(self: _transport.FrameConnection, frame: Frame) -> None:
        if frame.report_activity_request is not None:
            senders.append(threading.current_thread().name)
        original(self, frame)

    monkeypatch.setattr(_transport.FrameConnection, "send", spy)
    fake = Behaving()
    server = start(servers, fake)
    with TopologyClient(server.address, timeout=2) as client:
        client.register("svc")
        for n in range(1000):
            client.report_call("db", "q", n % 50, ok=True)
        assert wait_for(lambda: sum(f.report_activity_request.batch_size or 0  # type: ignore[union-attr]
                                    for f in fake.reports) == 1000, 2.0)
    assert senders and threading.current_thread().name not in senders
    assert set(senders) == {"topology-heartbeat"}


def test_refused_reports_are_counted_as_dropped(servers: List[FakeServer]) -> None:
    """Each (target, method) goes on a call of its own, so a refusal names exactly its calls: they
    are counted in activity_calls_dropped with the server's reason; the others arrive."""
    fake = Behaving()
    fake.refuse_targets = {"full"}
    server = start(servers, fake)
    with TopologyClient(server.address, timeout=2) as client:
        client.register("svc")
        for _ in range(3):
            client.report_call("full", "q", 1.0)
        client.report_call("ok", "q", 1.0)
        client.report_call("ok", "q", 2.0)
        assert wait_for(lambda: client.stats.activity_calls_dropped == 3, 2.0)  # the background flush
        assert "limit reached" in (client.stats.last_error or "") and "'full'" in (client.stats.last_error or "")
        assert wait_for(lambda: sum(f.report_activity_request.batch_size or 0  # type: ignore[union-attr]
                                    for f in fake.reports) == 2, 2.0)
        client.report_call("full", "q", 1.0)
        client.report_call("ok", "q", 1.0)
        with pytest.raises(ServerStatusError) as info:  # flush() says so, once every answer came
            client.flush()
        assert info.value.code == 8
        assert client.stats.activity_calls_dropped == 4 and client.stats.activity_events_accepted == 3


def test_refused_long_target_is_shortened_in_the_last_error(servers: List[FakeServer]) -> None:
    long_target = "t" * 5000
    fake = Behaving()
    fake.refuse_targets = {long_target}
    server = start(servers, fake)
    with TopologyClient(server.address, timeout=2) as client:
        client.register("svc")
        client.report_call(long_target, "q", 1.0)
        with pytest.raises(ServerStatusError):
            client.flush()
        last_error = client.stats.last_error or ""
        assert "(5000 chars)" in last_error and len(last_error) < 300, last_error


def test_watch_frame_too_large_ends_the_watch(servers: List[FakeServer]) -> None:
    """A frame over max_frame_size ends the watch with FrameTooLargeError: reconnecting would fetch
    the same snapshot again, for ever."""
    requests: List[int] = []

    def handler(sock: socket.socket, server: FakeServer) -> None:
        reader = FrameReader()
        frame = read_frame(sock, reader)
        if frame is None:
            return
        requests.append(frame.call_id)
        sock.sendall(b"\x81\x80\x40\x08\x01")  # a frame of 1 MiB + 1 on call 1: its length, then its start
        read_frame(sock, reader, timeout=2)

    server = start(servers, handler)
    with TopologyClient(server.address, timeout=1, max_frame_size=64 * 1024).watch() as watch:
        with pytest.raises(FrameTooLargeError, match="1048577 bytes is over the limit of 65536"):
            watch.next_update(timeout=3)
        assert watch.closed and "max_frame_size" in (watch.last_error or "")
        time.sleep(0.3)  # a watch that reconnects does so within 50-100 ms
        assert watch.next_update(timeout=0.1) is None
    assert requests == [1]
