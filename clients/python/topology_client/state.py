"""What a :class:`TopologyClient` is doing (:class:`ClientState`) and what it has done
(:class:`ClientStats`): both for the application to watch, neither for it to act on."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

__all__ = ["ClientState", "ClientStats"]


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
