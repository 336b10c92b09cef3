#!/usr/bin/env bash
# Runs every test suite of the repository. Installs test-only tools into .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n==== %s\n' "$*"; }

section "Test tools (.venv)"
scripts/setup-venv.sh

section "Swift build (debug, with tests)"
swift build --build-tests
bin=$(swift build --show-bin-path)

section "Swift tests"
swift test --skip-build --disable-swift-testing

section "Interop: golden vectors, differential tests against the official protobuf library, schema contract, protocol.md's bytes"
TOPOLOGY_WIRE_PROBE="$bin/topology-wire-probe" TOPOLOGY_SERVER="$bin/topology-server" \
    .venv/bin/python -m pytest Tests/interop -q

section "C client tests (plain and ASan+UBSan, against a real topology-server)"
TOPOLOGY_SERVER="$bin/topology-server" make -C clients/c test

section "Python client tests (codec vs the official library, fake and real servers, CLI, wheel install)"
TOPOLOGY_SERVER="$bin/topology-server" .venv/bin/python -m pytest -q clients/python/tests
# Fully type-hinted, checked: --strict plus unreachable code, against the oldest Python mypy targets
# (3.10; the package runs on 3.9+). No cache: 11 files take a few seconds.
.venv/bin/python -m mypy --strict --warn-unreachable --python-version 3.10 --cache-dir=/dev/null \
    clients/python/topology_client

section "Dashboard and HTTP API (JSON, SSE, /metrics, headless Chromium)"
scripts/setup-browser.sh
TOPOLOGY_SERVER="$bin/topology-server" .venv/bin/python -m pytest -q Tests/dashboard

section "gRPC on the frames port (grpcio, grpclib, curl, node:http2; stubs generated from Schema/topology.proto at test time)"
TOPOLOGY_SERVER="$bin/topology-server" .venv/bin/python -m pytest -q Tests/grpc

section "OpenTelemetry: the SDK's OTLP/HTTP and OTLP/gRPC exporters, JSON and hostile OTLP against a real server"
TOPOLOGY_SERVER="$bin/topology-server" .venv/bin/python -m pytest -q Tests/otlp

section "Crash and restart: 1,000 services through the C and Python clients, kill -9, restart, count"
make -C clients/c build/fleet
TOPOLOGY_SERVER="$bin/topology-server" TOPOLOGY_C_FLEET=clients/c/build/fleet .venv/bin/python -m pytest -q -s Tests/reliability

section "Soak smoke run (30 s of churn; memory and descriptors must not grow after warm-up)"
TOPOLOGY_SERVER="$bin/topology-server" SAMPLE_SECONDS=2 scripts/soak.sh 0.5

section "Benchmark smoke run (tiny sizes; the figures mean nothing, the run must not rot)"
scripts/bench.sh --smoke

section "Fuzzing (libFuzzer, ASan): seeds current, past crashers replayed, 20 s per target"
.venv/bin/python Tests/Fuzz/make_corpus.py --check
scripts/fuzz.sh all 20
