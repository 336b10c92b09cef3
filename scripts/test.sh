#!/usr/bin/env bash
# Runs every test suite of the repository. Installs test-only tools into .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n==== %s\n' "$*"; }

section "Swift tests"
swift build --build-tests
swift test --skip-build
