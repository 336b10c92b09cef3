#!/usr/bin/env bash
# The cost curve of docs/performance.md ("Cost per service at scale"): one fresh release server per
# fleet size, `LoadGen fleet` against it (100 services per connection, each heartbeating every 5 s
# from its own registration), one markdown row per size: resident memory per service, server CPU
# per heartbeat, GetTopology time, the fleet's heartbeat round trip while GetTopology runs, and the
# server's longest loop turn over the run (`topology_loop_turn_max_seconds`), how many turns took
# 100 ms or more (the three slowest, as the server logged them, go to stderr), and how late 1,000
# services that go silent at once are declared DEAD (seen by the generator's watcher, and by the
# server's own count, `topology_death_lateness_seconds`: the share declared within 10 and 50 ms of
# the deadline); then, against a fresh server, the same fleet
# coming back as after a restart (every service re-registering under its id, all at once): the time
# until all are back, with no service declared STALE or DEAD meanwhile. Not part of scripts/test.sh
# (a million services take minutes).
#
#   scripts/bench-scale.sh [--bin DIR] [--keep FILE] [--interval-ms N] [--whole-list] [SERVICES...]
#                                                   default sizes: 10000 100000 300000; interval 5000
#
# --whole-list: what issue 18 asks the loop to stand at a million, all in the first run of each
# size: besides the three GetTopology, four watchers of the whole topology subscribing (each a full
# snapshot; `LoadGen fleet --watchers 4`, with a 5 s drain for their late updates), and, once the
# fleet is registered, a JSON snapshot (`/api/v1/topology`) and an SSE stream (`/api/v1/watch`) by
# curl; the server with `--max-total-outbound-bytes 1073741824` (four snapshots of a million nodes
# are 540 MB). Its extra row gives the longest turns after registration, with where their time went.
#
# --bin DIR: topology-server and LoadGen from DIR instead of building them into .build-bench.
# --interval-ms N: the heartbeat interval of server and fleet (held for two intervals). At
# 1,000,000 services the 5 s interval holds on this 2-core machine when nothing else runs, and
# fails while the fleet registers when other builds load it (heartbeats answered NOT_FOUND, see
# docs/performance.md); 15000 holds either way.
# Sizes are multiples of 100. 1,000,000 needs 10,000 connections: the hard `ulimit -n` must be over
# 10,100 (both processes raise their soft limit to it). Everything runs on 127.0.0.1 and is stopped on
# exit, error or interrupt.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=""
keep=""
interval=5000
whole_list=0
sizes=()
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift ;;
        --keep) keep="$2"; shift ;;
        --interval-ms) interval="$2"; shift ;;
        --whole-list) whole_list=1 ;;
        [0-9]*) sizes+=("$1") ;;
        *) echo "usage: scripts/bench-scale.sh [--bin DIR] [--keep FILE] [--interval-ms N] [--whole-list] [SERVICES...]" >&2; exit 2 ;;
    esac
    shift
done
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 300000)

work=$(mktemp -d "${TMPDIR:-/tmp}/topology-scale.XXXXXX")
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf 'bench-scale: %s\n' "$*" >&2; }

hard=$(ulimit -Hn)
if [ "$hard" != unlimited ]; then ulimit -n "$hard"; fi

if [ -z "$bin" ]; then
    log "building release binaries into .build-bench"
    swift build -c release --scratch-path .build-bench --product topology-server >&2
    swift build -c release --scratch-path .build-bench --product LoadGen >&2
    bin=.build-bench/release
fi

# Starts a fresh server for `services` on free ports (extra flags after it), with room for the
# generator's own few (the watch probe); sets server_pid and address.
start_server() {
    local services=$1
    shift
    # Emptied here, not by the server's redirection: that runs in the child, and the loop below
    # could read the last server's "listening" line (its port) before it does.
    : >"$work/server.log"
    "$bin/topology-server" --address 127.0.0.1:0 --http-address 127.0.0.1:0 --max-connections $((services / 100 + 100)) \
        --max-services $((services + 100)) --heartbeat-interval-ms "$interval" --timeout-multiplier 3 "$@" 2>"$work/server.log" &
    server_pid=$!
    address=""
    for _ in $(seq 1 100); do
        address=$(grep -o 'msg="listening".*address=127\.0\.0\.1:[0-9]*' "$work/server.log" | grep -o '127\.0\.0\.1:[0-9]*' | head -1 || true)
        [ -n "$address" ] && break
        sleep 0.1
    done
    [ -n "$address" ] || { log "server did not start:"; cat "$work/server.log" >&2; exit 1; }
}

stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

# Runs `LoadGen fleet` with the given flags against the server; its results go to $work/results
# (and --keep). Counts a failure if it fails.
run_fleet() {
    local label=$1 services=$2
    shift 2
    local status=0
    timeout --signal=TERM --kill-after=5 900 "$bin/LoadGen" fleet --address "$address" --pid "$server_pid" \
        --label "$label" --connections $((services / 100)) --services-per-connection 100 \
        --interval-ms "$interval" --multiplier 3 --heartbeat-on-register 1 "$@" >"$work/results" || status=$?
    [ -z "$keep" ] || cat "$work/results" >>"$keep"
    if [ "$status" -ne 0 ]; then
        log "FAILED (exit $status): $label"
        failures=$((failures + 1))
    fi
}

failures=0
echo "| services | connections | registered per s | RSS per service, bytes | RSS, MiB | server CPU per heartbeat, µs | server core, % | GetTopology median / max, ms | heartbeat round trip during GetTopology, p99 / max, ms | longest loop turn, ms | turns of 100 ms or more | dead-detection lateness p50 / max, ms | deaths the server declared within 10 / 50 ms | back after a restart, s | load average |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
# The whole list's curl clients: once `services` are registered, a JSON snapshot and an SSE stream
# (read for 30 s). Their results go to $work/curl.
start_curl_clients() {
    local services=$1 http
    http=$(grep -o 'http_address=127\.0\.0\.1:[0-9]*' "$work/server.log" | head -1 | cut -d= -f2)
    (
        for _ in $(seq 1 1200); do
            registered=$(curl -s --max-time 5 "http://$http/metrics" | awk '$1 ~ /^topology_registrations_total/ { print $2 }')
            [ "${registered:-0}" -ge "$services" ] && break
            sleep 0.5
        done
        curl -s -N --max-time 30 -o /dev/null -w 'sse %{http_code} %{size_download} bytes in %{time_total} s\n' \
            "http://$http/api/v1/watch" >"$work/curl.sse" &
        sse=$!
        sleep 2
        curl -s --max-time 120 -o /dev/null -w 'json %{http_code} %{size_download} bytes in %{time_total} s\n' \
            "http://$http/api/v1/topology" >"$work/curl"
        wait "$sse" || true
        cat "$work/curl.sse" >>"$work/curl"
    ) &
    curl_pid=$!
}

for services in "${sizes[@]}"; do
    connections=$((services / 100))
    extra_server=() extra_fleet=()
    if [ "$whole_list" = 1 ]; then
        extra_server=(--max-total-outbound-bytes 1073741824)
        extra_fleet=(--watchers 4 --watch-ms 5000 --drain-ms 5000)
    fi
    start_server "$services" "${extra_server[@]}"
    load=$(cut -d' ' -f1 /proc/loadavg)
    [ "$whole_list" = 0 ] || start_curl_clients "$services"
    run_fleet "scale$services" "$services" --hold-ms $((2 * interval)) --get-topology 3 --silence 1000 "${extra_fleet[@]}"
    if [ "$whole_list" = 1 ]; then
        wait "$curl_pid" || true
        sed 's/^/bench-scale: curl: /' "$work/curl" >&2 || log "curl: no result"
        # The slowest turns once every service was registered, with where their time went.
        grep 'msg="slow loop turn"' "$work/server.log" \
            | awk -v n="$services" '{ for (i = 1; i <= NF; i++) { split($i, f, "="); if (f[1] == "services" && f[2] + 0 >= n) past = 1; if (f[1] == "turn_ms") t = f[2] }
                                    if (past) print t, $0 }' \
            | sort -rn | head -5 | cut -d' ' -f2- | sed 's/^/bench-scale: after registration: /' >&2 || true
    fi
    get() { awk -v key="$1" '$2 == key { print $3 }' "$work/results"; }
    ms() { awk -v v="$1" 'BEGIN { if (v == "") print "n/a"; else printf "%.1f", v / 1000 }'; }
    http=$(grep -o 'http_address=127\.0\.0\.1:[0-9]*' "$work/server.log" | head -1 | cut -d= -f2)
    metrics=$(curl -s --max-time 10 "http://$http/metrics" || true)
    turn=$(awk '$1 == "topology_loop_turn_max_seconds" { printf "%.0f", $2 * 1000 }' <<<"$metrics")
    slow=$(awk '$1 == "topology_loop_slow_turns_total" { print $2 }' <<<"$metrics")
    within=$(awk '$1 == "topology_death_lateness_seconds_bucket{le=\"0.01\"}" { a = $2 } $1 == "topology_death_lateness_seconds_bucket{le=\"0.05\"}" { b = $2 }
                  $1 == "topology_death_lateness_seconds_count" { n = $2 } END { if (n > 0) printf "%.0f%% / %.0f%%", 100 * a / n, 100 * b / n; else print "n/a" }' <<<"$metrics")
    # The three slowest turns the server logged, with where their time went.
    grep 'msg="slow loop turn"' "$work/server.log" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^turn_ms=/) { split($i, f, "="); print f[2], $0 } }' \
        | sort -rn | head -3 | cut -d' ' -f2- | sed 's/^/bench-scale: /' >&2 || true
    s="scale$services"
    row="| $services | $connections | $(get $s.register_per_s) | $(get $s.rss_bytes_per_service) | $(get $s.rss_mib) | $(get $s.cpu_us_per_hb) | $(get $s.target_core_pct) | $(get $s.get_topology_p50_ms) / $(get $s.get_topology_max_ms) | $(ms "$(get $s.get_topology_heartbeat_rtt_p99_us)") / $(ms "$(get $s.get_topology_heartbeat_rtt_max_us)") | ${turn:-n/a} | ${slow:-n/a} | $(get $s.dead_lateness_p50_ms) / $(get $s.dead_lateness_max_ms) | $within"
    stop_server
    # The restart: the same fleet comes back to a fresh server all at once, every service
    # re-registering under its id and heartbeating from its answer on; held one interval after.
    start_server "$services"
    run_fleet "restart$services" "$services" --register-with-ids 1 --hold-ms "$interval"
    load="$load-$(cut -d' ' -f1 /proc/loadavg)"
    echo "$row | $(get restart$services.register_s) | $load |"
    stop_server
done
exit $((failures > 0))
