#!/usr/bin/env bash
# Counts heap allocations per operation of each WireBench case, with valgrind: the difference in
# "total heap usage" between a run of N and a run of 2N iterations, divided by N. Counts, not
# times, so the figures are exact on any machine.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
swift build -c release --product WireBench >/dev/null
bin=.build/release/WireBench
allocs() { valgrind "$bin" --case "$1" --iterations "$2" 2>&1 | sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' | tr -d ,; }
echo "| case | heap allocations per op |"
echo "| --- | ---: |"
for c in heartbeat.encode heartbeat.decode snapshot1k.encode snapshot1k.decode snapshot1k.json; do
    n=20
    a=$(allocs "$c" $n); b=$(allocs "$c" $((2 * n)))
    echo "| $c | $(( (b - a) / n )) |"
done
