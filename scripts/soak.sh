#!/usr/bin/env bash
# Soak: runs a topology-server under churn (scripts/soak_churn.py: registrations, unregistrations,
# deaths, activity, watch reconnects, garbage connections) for MINUTES (decimals allowed), sampling
# the server's resident memory and open file descriptors every SAMPLE_SECONDS (default 5).
# Prints a table, the churn's totals and the verdict: after warm-up (the first third of the
# samples), the peak of the last third must not exceed the peak of the second third by more than
# 3 % + 1 MiB of memory, or 10 descriptors. Exit 1 on growth (or if the churn failed).
#
#   scripts/soak.sh 10                          # the debug build of `swift build`
#   TOPOLOGY_SERVER=.build/release/topology-server scripts/soak.sh 10
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:?usage: scripts/soak.sh MINUTES}
sample=${SAMPLE_SECONDS:-5}
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60); if (s < 3 * 5) { print "MINUTES too small" > "/dev/stderr"; exit 1 }; print s }')
server=${TOPOLOGY_SERVER:-$(swift build --show-bin-path)/topology-server}
python=.venv/bin/python
[[ -x $python ]] || python=python3
[[ -x $server ]] || { echo "no server binary at $server: run swift build, or set TOPOLOGY_SERVER" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
churn_pid=
cleanup() {
    [[ -n $churn_pid ]] && kill "$churn_pid" 2>/dev/null || true
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Short intervals so that deaths, idle and unresolved-edge expiry all happen many times a minute.
"$server" --address 127.0.0.1:0 --http-address 127.0.0.1:0 --heartbeat-interval-ms 500 \
    --activity-flush-ms 200 --node-update-throttle-ms 1000 --idle-timeout-ms 2000 \
    --unresolved-edge-timeout-ms 4000 --progress-interval-ms 1000 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 200); do
    grep -q 'msg="listening"' "$work/server.log" && break
    sleep 0.05
done
listening=$(grep -m1 'msg="listening"' "$work/server.log") || { cat "$work/server.log" >&2; exit 1; }
address=$(sed -n 's/.* address=\([^ ]*\) .*/\1/p' <<<"$listening")
http=$(sed -n 's/.* http_address=\([^ ]*\) .*/\1/p' <<<"$listening")
echo "soak: $server (pid $server_pid) on $address, http $http, for $seconds s, a sample every $sample s"

"$python" scripts/soak_churn.py "$address" "$http" "$seconds" >"$work/churn.out" 2>&1 &
churn_pid=$!

printf '%8s %12s %8s\n' seconds rss_kib fds
start=$SECONDS
: >"$work/samples"
while kill -0 "$churn_pid" 2>/dev/null; do
    sleep "$sample"
    kill -0 "$server_pid" 2>/dev/null || { echo "the server died" >&2; cat "$work/server.log" >&2; exit 1; }
    kill -0 "$churn_pid" 2>/dev/null || break
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status")
    fds=$(ls "/proc/$server_pid/fd" | wc -l)
    printf '%8d %12d %8d\n' $((SECONDS - start)) "$rss" "$fds" | tee -a "$work/samples"
done
churn_status=0
wait "$churn_pid" || churn_status=$?
churn_pid=
cat "$work/churn.out"
grep -v 'level=warn msg="protocol error"' "$work/server.log" | grep -E 'level=(warn|error)' | head -5 || true

awk -v churn="$churn_status" '
    { t[NR] = $1; rss[NR] = $2; fds[NR] = $3 }
    END {
        n = NR; a = int(n / 3); b = int(2 * n / 3)
        if (a < 1) { print "verdict: too few samples"; exit 1 }
        for (i = a + 1; i <= b; i++) { if (rss[i] > r2) r2 = rss[i]; if (fds[i] > f2) f2 = fds[i] }
        for (i = b + 1; i <= n; i++) { if (rss[i] > r3) r3 = rss[i]; if (fds[i] > f3) f3 = fds[i] }
        printf "peaks: second third (%d-%d s) rss %d KiB, fds %d; last third (%d-%d s) rss %d KiB, fds %d\n",
            t[a + 1], t[b], r2, f2, t[b + 1], t[n], r3, f3
        grew = 0
        if (r3 > r2 * 1.03 + 1024) { print "verdict: resident memory grew"; grew = 1 }
        if (f3 > f2 + 10) { print "verdict: file descriptors grew"; grew = 1 }
        if (churn != 0) { print "verdict: the churn driver failed"; grew = 1 }
        if (!grew) print "verdict: no growth after warm-up"
        exit grew
    }' "$work/samples"
