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

section "Interop: golden vectors, differential tests against the official protobuf library, schema contract"
TOPOLOGY_WIRE_PROBE="$bin/topology-wire-probe" .venv/bin/python -m pytest Tests/interop -q

section "C client tests (plain and ASan+UBSan, against a real topology-server)"
TOPOLOGY_SERVER="$bin/topology-server" make -C clients/c test

section "Python client tests (codec vs the official library, fake and real servers, CLI)"
TOPOLOGY_SERVER="$bin/topology-server" .venv/bin/python -m pytest -q clients/python/tests

section "Dashboard and HTTP API (JSON, SSE, /metrics, headless Chromium)"
scripts/setup-browser.sh
TOPOLOGY_SERVER="$bin/topology-server" .venv/bin/python -m pytest -q Tests/dashboard

section "Benchmark smoke run (tiny sizes; the figures mean nothing, the run must not rot)"
scripts/bench.sh --smoke

section "Fuzzing (libFuzzer, ASan): seeds current, past crashers replayed, 20 s per target"
.venv/bin/python Tests/Fuzz/make_corpus.py --check
scripts/fuzz.sh all 20
