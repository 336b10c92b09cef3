"""Crash and restart: 1,000 services registered through the C and Python clients, a watcher in each
client process; the server is killed with SIGKILL and started again on the same port one interval
later (``crash_restart.py`` is the harness). Every service must be back under its own id within
about one heartbeat interval (1.5, for a loaded machine) of the new server's ``listening`` log line, and every watcher must have resumed
(a resync SNAPSHOT from the new server, then a view that holds every service).

Needs ``$TOPOLOGY_SERVER`` (the server binary) and ``$TOPOLOGY_C_FLEET`` (``clients/c/build/fleet``,
``make -C clients/c build/fleet``).
"""

from __future__ import annotations

import os

import pytest

from crash_restart import crash_and_restart

# The bound documented in docs/reliability.md: both clients retry at most half an interval apart
# once their backoff is capped, so each is back within half an interval plus the time the reconnect
# storm takes, about one interval. In 24 runs on the loaded 2-core machine (debug server) the last
# of the 1,000 was back after 0.51-0.89 s in 22 and after more than 1 s in two, when other builds
# loaded the machine: the test allows 1.5 intervals so that load alone does not fail it. The
# schedule itself is pinned, without that noise, by clients/python/tests/test_backoff.py.
INTERVAL_MS = 1000
BOUND_MS = INTERVAL_MS * 3 // 2
C_PROCESSES, C_SERVICES_EACH = 2, 250
PY_PROCESSES, PY_SERVICES_EACH = 4, 125


def executable(variable: str, hint: str) -> str:
    path = os.environ.get(variable, "")
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"${variable} must name {hint}")
    return path


def test_kill_and_restart_brings_back_every_service_and_watcher() -> None:
    outcome = crash_and_restart(executable("TOPOLOGY_SERVER", "the topology-server binary"), INTERVAL_MS,
                                c_fleet=executable("TOPOLOGY_C_FLEET",
                                                   "the C client's fleet program (make -C clients/c build/fleet)"),
                                c_processes=C_PROCESSES, c_each=C_SERVICES_EACH,
                                py_processes=PY_PROCESSES, py_each=PY_SERVICES_EACH)
    print("\n" + outcome.summary())
    back = outcome.all_back_ms
    assert len(back) == outcome.services, f"only {len(back)} of {outcome.services} services came back"
    late = [delay for delay in back if delay > BOUND_MS]
    assert late == [], f"{len(late)} services came back later than 1.5 intervals ({BOUND_MS} ms): {late[:10]}"
    assert len(outcome.watchers_resumed_ms) == outcome.fleets, f"watchers resumed: {outcome.watchers_resumed_ms}"
    assert outcome.errors == [], outcome.errors
