"""The waits between reconnection attempts: exponential backoff with "equal jitter".

Each wait is drawn uniformly from [d/2, d], where d starts at the initial delay and doubles after
every attempt up to a cap. Half of each wait is fixed, so a client never retries faster than d/2
(at most 2/cap attempts per second once capped); the random half spreads a fleet that lost the same
server at the same moment over d/2, so it does not come back as one burst.

For a registered service the cap is relative to its heartbeat interval (:func:`service_cap`): a
restarted server hears from every client within half an interval of listening, so the topology is
whole again within about one interval, while a server that stays down gets at most 4 attempts per
second per client at a 1 s interval (docs/reliability.md has the measured figures).
"""

from __future__ import annotations

import math
import random
from typing import Callable

__all__ = ["Backoff", "check_delays", "service_cap"]

#: The cap of a registered service's backoff, as a fraction of its heartbeat interval.
INTERVAL_FRACTION = 0.5
#: The smallest cap derived from an interval (seconds): however short the interval, a client makes
#: at most 2 / MIN_SERVICE_CAP = 20 attempts per second against a server that is down.
MIN_SERVICE_CAP = 0.1


def check_delays(initial: float, maximum: float) -> None:
    """Raises ``ValueError`` unless both delays are positive, finite numbers of seconds."""
    for name, value in (("reconnect_initial_delay", initial), ("reconnect_max_delay", maximum)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")


def service_cap(interval: float, max_delay: float) -> float:
    """The backoff cap of a service heartbeating every ``interval`` seconds: half the interval (at
    least :data:`MIN_SERVICE_CAP`), never more than the caller's ``max_delay``."""
    return min(max_delay, max(MIN_SERVICE_CAP, interval * INTERVAL_FRACTION))


class Backoff:
    """The delays of one outage: ``next_delay()`` before each retry, ``reset()`` once connected.

    ``uniform`` returns a float in [0, 1) (``random.random`` unless a test injects its own)."""

    def __init__(self, initial: float, cap: float, uniform: Callable[[], float] = random.random) -> None:
        check_delays(initial, cap)
        self.initial = initial
        self.cap = cap
        self._uniform = uniform
        self._delay = min(initial, cap)

    def next_delay(self) -> float:
        """The wait before the next attempt (seconds); the one after it will be up to twice as long."""
        delay = self._delay
        self._delay = min(self.cap, delay * 2)
        return delay * (0.5 + self._uniform() / 2)

    def reset(self) -> None:
        self._delay = min(self.initial, self.cap)
