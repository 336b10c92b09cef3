"""Client-side aggregation of reported calls, flushed as batched ``ReportActivityRequest``s.

Calls are counted per (target, method) under one lock; nothing here does I/O, so ``record`` is
cheap on the caller's thread. Each batch keeps the latency distribution in the schema's
``LatencyHistogram``: bucket i holds latencies L (ms) with GAMMA^(i-1) < L <= GAMMA^i, GAMMA = 1.02,
and latencies <= 0 go to ``zero_count``.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .messages import ActivityType, LatencyHistogram, ReportActivityRequest

__all__ = ["GAMMA", "bucket_index", "bucket_value", "ActivityAggregator", "Batch", "percentile"]

GAMMA = 1.02
_LOG_GAMMA = math.log(GAMMA)
_MIN_INDEX = -(1 << 31)
_MAX_INDEX = (1 << 31) - 1
#: Most calls one report may stand for: ``batch_size`` is an int32.
MAX_BATCH = (1 << 31) - 1


def bucket_index(latency_ms: float) -> Optional[int]:
    """The histogram bucket of a latency; ``None`` for latencies <= 0 (they go to ``zero_count``)."""
    if not latency_ms > 0 or math.isinf(latency_ms):
        return None if not latency_ms > 0 else _MAX_INDEX
    index = math.ceil(math.log(latency_ms) / _LOG_GAMMA)
    # Correct the floating-point rounding at bucket boundaries: GAMMA^(i-1) < L <= GAMMA^i.
    if GAMMA ** (index - 1) >= latency_ms:
        index -= 1
    elif GAMMA ** index < latency_ms:
        index += 1
    return max(_MIN_INDEX, min(_MAX_INDEX, index))


def bucket_value(index: int) -> float:
    """A bucket's representative latency, within 1% of every latency in it."""
    return 2 * GAMMA ** index / (GAMMA + 1)


def percentile(histogram: LatencyHistogram, q: float) -> float:
    """The q-quantile (0 < q <= 1) of a histogram, as a bucket's representative value."""
    total = histogram.zero_count + sum(histogram.counts)
    if total == 0:
        return 0.0
    rank = max(1, math.ceil(q * total))
    seen = histogram.zero_count
    if seen >= rank:
        return 0.0
    for index, count in zip(histogram.indexes, histogram.counts):
        seen += count
        if seen >= rank:
            return bucket_value(index)
    return bucket_value(histogram.indexes[-1])


@dataclass
class _Bucket:
    calls: int = 0
    errors: int = 0
    latency_sum: float = 0.0
    zero_count: int = 0
    histogram: Dict[int, int] = field(default_factory=dict)
    last_error: Optional[str] = None
    first_ms: int = 0  # when the first of these calls was recorded (Unix milliseconds)
    era: int = 0       # the aggregator's era then (see ActivityAggregator.new_era)

    def merge(self, other: "_Bucket") -> None:
        self.first_ms = min(self.first_ms, other.first_ms)
        self.era = min(self.era, other.era)
        self.calls += other.calls
        self.errors += other.errors
        self.latency_sum += other.latency_sum
        self.zero_count += other.zero_count
        for index, count in other.histogram.items():
            self.histogram[index] = self.histogram.get(index, 0) + count
        if other.last_error is not None and self.last_error is None:
            self.last_error = other.last_error


@dataclass
class Batch:
    """The calls of one (target, method) taken by :meth:`ActivityAggregator.take`: one report's worth."""

    target: str
    method: str
    bucket: _Bucket

    @property
    def calls(self) -> int:
        return self.bucket.calls

    def report(self, service_id: str, era: int) -> ReportActivityRequest:
        """The report of these calls. ``era``: the aggregator's era of the current registration.
        Calls recorded in an older one were kept while no server had the service: their report
        carries the time of the first of them, so the server counts them where they were made and
        not in the rate of the moment (docs/protocol.md); the others carry no time (counted on
        arrival, whatever the two hosts' clocks say)."""
        bucket = self.bucket
        indexes = sorted(bucket.histogram)
        return ReportActivityRequest(
            service_id=service_id,
            target_service=self.target,
            type=ActivityType.ACTIVITY_TYPE_REQUEST_SENT,
            timestamp_ms=bucket.first_ms if bucket.era < era else None,
            latency_ms=min(_MAX_INDEX, int(round(bucket.latency_sum / bucket.calls))),
            method=self.method or None,
            success=bucket.errors == 0,
            batch_size=bucket.calls,
            error_message=bucket.last_error,
            latency_histogram=LatencyHistogram(
                indexes=indexes, counts=[bucket.histogram[i] for i in indexes], zero_count=bucket.zero_count),
            error_count=bucket.errors,
        )


class ActivityAggregator:
    """Thread-safe counts of calls per (target, method) since the last :meth:`take`.

    At most ``max_keys`` distinct (target, method) pairs are held between two flushes, and at most
    ``MAX_BATCH`` calls in one pair (``batch_size`` is an int32); further calls are counted in
    :attr:`dropped_calls` and not reported (memory stays bounded). So are calls whose report the
    server refused (:meth:`note_dropped`). ``clock``: Unix milliseconds, the time of a pair's first
    call (tests inject their own).
    """

    def __init__(self, max_keys: int = 10_000, clock: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: Dict[Tuple[str, str], _Bucket] = {}
        self._spilled: List[Batch] = []  # put back whole: merging them would pass MAX_BATCH
        self._dropped = 0
        self._era = 0

    @property
    def dropped_calls(self) -> int:
        with self._lock:
            return self._dropped

    def record(self, target: str, method: str, latency_ms: float, ok: bool, error_message: Optional[str] = None) -> None:
        index = bucket_index(float(latency_ms))
        with self._lock:
            key = (target, method)
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) + len(self._spilled) >= self.max_keys:
                    self._dropped += 1
                    return
                bucket = self._buckets[key] = _Bucket(first_ms=self.clock(), era=self._era)
            if bucket.calls >= MAX_BATCH:
                self._dropped += 1
                return
            bucket.calls += 1
            if not ok:
                bucket.errors += 1
                if error_message is not None:
                    bucket.last_error = error_message
            if latency_ms > 0:
                bucket.latency_sum += latency_ms
            if index is None:
                bucket.zero_count += 1
            else:
                bucket.histogram[index] = bucket.histogram.get(index, 0) + 1

    def new_era(self) -> int:
        """Starts a new era (a registration succeeded) and returns it: calls recorded before are
        the ones kept while no server had the service."""
        with self._lock:
            self._era += 1
            return self._era

    def note_dropped(self, calls: int) -> None:
        """Counts calls lost after they were taken (the server refused their report)."""
        with self._lock:
            self._dropped += calls

    def pending_calls(self) -> int:
        with self._lock:
            return sum(b.calls for b in self._buckets.values()) + sum(b.calls for b in self._spilled)

    def take(self) -> List[Batch]:
        """Takes everything recorded so far, one batch per (target, method) (two when a pair was put
        back with more than ``MAX_BATCH`` calls in all)."""
        with self._lock:
            buckets, self._buckets = self._buckets, {}
            spilled, self._spilled = self._spilled, []
        return [Batch(target, method, bucket) for (target, method), bucket in buckets.items()] + spilled

    def put_back(self, batches: Sequence[Batch]) -> None:
        """Returns batches that could not be sent: merged with what was recorded meanwhile while the
        sum stays within ``MAX_BATCH``, else kept as a batch of their own; dropped (and counted) only
        past ``max_keys``."""
        with self._lock:
            for batch in batches:
                key = (batch.target, batch.method)
                bucket = self._buckets.get(key)
                if bucket is not None and bucket.calls + batch.calls <= MAX_BATCH:
                    bucket.merge(batch.bucket)
                elif len(self._buckets) + len(self._spilled) >= self.max_keys:
                    self._dropped += batch.calls
                elif bucket is None:
                    self._buckets[key] = batch.bucket
                else:
                    self._spilled.append(batch)
