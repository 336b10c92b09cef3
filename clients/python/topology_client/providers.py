"""What each heartbeat carries besides the service id: the application's health and metrics, read
from providers it passes to :class:`TopologyClient` (:class:`ProcessMetrics` is one for this
process). A provider that raises is logged and its value left out: heartbeats go on."""

from __future__ import annotations

import logging
import os
import time
from typing import Callable, Optional, Union

from .messages import ApplicationHealth, HealthState, ServiceMetrics

__all__ = ["HealthProvider", "MetricsProvider", "ProcessMetrics", "read_health", "read_metrics"]

log = logging.getLogger("topology_client")

HealthProvider = Callable[[], Union[HealthState, ApplicationHealth, None]]
MetricsProvider = Callable[[], Optional[ServiceMetrics]]


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


def read_health(provider: Optional[HealthProvider]) -> Optional[ApplicationHealth]:
    """The provider's answer as the heartbeat carries it; None without a provider or when it fails."""
    if provider is None:
        return None
    try:
        value = provider()
    except Exception as error:  # noqa: BLE001 - report what we can, keep heartbeating
        log.warning("health provider failed: %s", error)
        return None
    if value is None or isinstance(value, ApplicationHealth):
        return value
    return ApplicationHealth(state=HealthState(value))


def read_metrics(provider: Optional[MetricsProvider]) -> Optional[ServiceMetrics]:
    """The provider's metrics; None without a provider or when it fails."""
    if provider is None:
        return None
    try:
        return provider()
    except Exception as error:  # noqa: BLE001
        log.warning("metrics provider failed: %s", error)
        return None
