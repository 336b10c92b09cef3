"""The reconnect schedule: the backoff's delays, and the client's recovery loop run against a fake
clock (its waits advance the clock instead of sleeping) and a fake server that is down, then up."""

from __future__ import annotations

import math
import random
import threading
from typing import Callable, List, Optional

import pytest

from topology_client import TopologyClient, TopologyConnectionError, Watch
from topology_client._backoff import MIN_SERVICE_CAP, Backoff, service_cap
from topology_client._transport import MuxConnection
from topology_client.messages import RegisterServiceRequest, ServiceHandle


def delays(backoff: Backoff, count: int) -> List[float]:
    return [round(backoff.next_delay(), 9) for _ in range(count)]


def test_delays_double_up_to_the_cap_with_equal_jitter() -> None:
    assert delays(Backoff(0.05, 0.5, uniform=lambda: 0.999999999), 7) == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5, 0.5]
    assert delays(Backoff(0.05, 0.5, uniform=lambda: 0.0), 7) == [0.025, 0.05, 0.1, 0.2, 0.25, 0.25, 0.25]


def test_reset_starts_again_from_the_initial_delay() -> None:
    backoff = Backoff(0.05, 0.5, uniform=lambda: 0.0)
    delays(backoff, 10)
    backoff.reset()
    assert delays(backoff, 2) == [0.025, 0.05]


def test_an_initial_delay_above_the_cap_is_capped() -> None:
    assert delays(Backoff(2.0, 0.5, uniform=lambda: 0.0), 2) == [0.25, 0.25]


def test_service_cap_is_half_the_interval_within_bounds() -> None:
    assert service_cap(1.0, 5.0) == 0.5
    assert service_cap(5.0, 5.0) == 2.5
    assert service_cap(30.0, 5.0) == 5.0                     # never above reconnect_max_delay
    assert service_cap(0.05, 5.0) == MIN_SERVICE_CAP         # at most 20 attempts a second
    assert service_cap(1.0, 0.05) == 0.05                    # an explicit, smaller maximum wins


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "1", None])
def test_bad_delays_are_refused_before_anything_starts(bad: object) -> None:
    with pytest.raises(ValueError, match="reconnect_initial_delay must be a positive number"):
        TopologyClient("127.0.0.1:1", reconnect_initial_delay=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reconnect_max_delay must be a positive number"):
        TopologyClient("127.0.0.1:1", reconnect_max_delay=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reconnect_max_delay must be a positive number"):
        Watch("127.0.0.1:1", reconnect_max_delay=bad)  # type: ignore[arg-type]  # refused before connecting


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0


class AdvancingStop(threading.Event):
    """The heartbeat worker's stop event, whose ``wait`` advances the fake clock instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def wait(self, timeout: Optional[float] = None) -> bool:
        assert timeout is not None and timeout > 0, "a retry without a delay would spin"
        self.clock.now += timeout
        return self.is_set()


class FakeMux:
    address = "127.0.0.1:50053"


def recover(interval_ms: int, down_until: float, jitter: Callable[[], float]) -> List[float]:
    """Runs the client's recovery loop once against a server that refuses connections until
    ``down_until`` (fake seconds after the loss) and then accepts. Returns the attempt times."""
    clock = FakeClock()
    attempts: List[float] = []
    client = TopologyClient("127.0.0.1:1")
    client._handle = ServiceHandle(service_id="s-1", heartbeat_interval_ms=interval_ms, timeout_multiplier=3)
    client._request = RegisterServiceRequest(service_name="checkout")
    client._heartbeat._stop = AdvancingStop(clock)
    client._heartbeat._jitter = jitter

    def connection() -> MuxConnection:
        attempts.append(clock.now)
        if clock.now < down_until:
            raise TopologyConnectionError("could not connect to any server: connection refused")
        return FakeMux()  # type: ignore[return-value]

    client._connection = connection  # type: ignore[method-assign]
    client._register = lambda mux, request: ServiceHandle(service_id="s-1", heartbeat_interval_ms=interval_ms)  # type: ignore[method-assign]
    assert client._heartbeat._recover_session() is not None
    assert client.service_id == "s-1"
    return attempts


def test_first_attempt_is_at_once_then_backs_off_to_half_an_interval() -> None:
    attempts = recover(1000, down_until=10.0, jitter=lambda: 0.999999999)
    gaps = [round(b - a, 6) for a, b in zip(attempts, attempts[1:])]
    assert attempts[0] == 0.0
    assert gaps[:5] == [0.05, 0.1, 0.2, 0.4, 0.5]
    assert set(gaps[5:]) == {0.5}


@pytest.mark.parametrize("interval_ms", [100, 1000, 5000])
def test_a_server_that_stays_down_gets_a_bounded_number_of_attempts(interval_ms: int) -> None:
    cap = service_cap(interval_ms / 1000, 5.0)
    for seed in range(20):
        attempts = recover(interval_ms, down_until=60.0, jitter=random.Random(seed).random)
        # Once the delays reach the cap (after the first seconds), at most 2 / cap attempts per second.
        for start in range(3, 60):
            assert sum(start <= t < start + 1 for t in attempts) <= math.floor(2 / cap) + 1
        assert len(attempts) <= 60 * 2 / cap + math.log2(cap / 0.05) + 2


@pytest.mark.parametrize("interval_ms", [100, 1000, 5000])
def test_a_fleet_is_back_within_half_an_interval_and_spread_over_it(interval_ms: int) -> None:
    """1,000 clients lose the server at once; it comes back after 2.5 s: each one's next attempt
    comes within the cap (half the interval) of the server listening, and the fleet's attempts are
    spread over that window rather than arriving as one burst."""
    interval = interval_ms / 1000
    cap = service_cap(interval, 5.0)
    back_after = sorted(recover(interval_ms, down_until=2.5, jitter=random.Random(seed).random)[-1] - 2.5
                        for seed in range(1000))
    assert back_after[-1] <= cap + 1e-9
    assert back_after[-1] <= interval
    assert back_after[len(back_after) // 2] <= 0.6 * cap
    buckets = {int(delay / cap * 10) for delay in back_after}
    assert len(buckets) >= 8, f"the fleet arrives in a burst: {back_after[:5]} ... {back_after[-5:]}"
