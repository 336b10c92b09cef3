"""pytest setup for the interop tests: a fixed hypothesis profile and one Swift probe per session."""

import os

import pytest
from hypothesis import HealthCheck, settings

from interop_support import Probe, probe_path

# Reproducible and bounded: the same examples on every run (no example database, derandomized), about
# 400 per test, no per-example deadline (the probe is a subprocess on a shared machine).
settings.register_profile(
    "interop",
    derandomize=True,
    database=None,
    max_examples=400,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("interop-thorough", parent=settings.get_profile("interop"), max_examples=5000,
                          derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "interop"))


@pytest.fixture(scope="session")
def probe():
    path = probe_path()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"topology-wire-probe not found at {path}. Build it (e.g. `swift build --product "
            "topology-wire-probe`) and/or point TOPOLOGY_WIRE_PROBE at the binary.",
            pytrace=False)
    instance = Probe(path)
    yield instance
    instance.close()
