#!/usr/bin/env bash
# The benchmark suite of issue 7: topology-server and the floor (bench/floor, a minimal C epoll
# server that answers every frame with a fixed heartbeat-sized reply), driven by the same load
# generator (bench/LoadGen) in the same run. Prints a markdown table; exits non-zero if any scenario
# failed its own checks (errors, unanswered heartbeats, a service wrongly declared STALE/DEAD...).
#
#   scripts/bench.sh                      full sizes (100,000 services, 10,000 connections): ~3 min
#   scripts/bench.sh --smoke              tiny sizes, a few seconds (part of scripts/test.sh)
#   scripts/bench.sh --bin DIR            use topology-server, LoadGen and OTLPBench from DIR instead of building
#                                         release binaries into .build-bench
#   scripts/bench.sh --keep FILE          also keep the raw RESULT lines in FILE
#
# Raises the soft file-descriptor limit to the hard limit (10,000 connections need over 10,000
# descriptors in both the server and the generator). Everything runs on 127.0.0.1; every process it
# starts is stopped on exit, error or interrupt.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
bin=""
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) smoke=1 ;;
        --bin) bin="$2"; shift ;;
        --keep) keep="$2"; shift ;;
        *) echo "usage: scripts/bench.sh [--smoke] [--bin DIR] [--keep FILE]" >&2; exit 2 ;;
    esac
    shift
done

work=$(mktemp -d "${TMPDIR:-/tmp}/topology-bench.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf 'bench: %s\n' "$*" >&2; }

# File descriptors: the server and the generator each hold one per connection.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ]; then ulimit -n "$hard"; fi
fds=$(ulimit -n)

# Binaries.
if [ -z "$bin" ]; then
    log "building release binaries into .build-bench"
    swift build -c release --scratch-path .build-bench --product topology-server >&2
    swift build -c release --scratch-path .build-bench --product LoadGen >&2
    swift build -c release --scratch-path .build-bench --product OTLPBench >&2
    bin=.build-bench/release
fi
server_bin="$bin/topology-server"
loadgen="$bin/LoadGen"
floor_bin="$work/floor"
cc -O2 -Wall -o "$floor_bin" bench/floor/floor.c
floor_hex=$("$loadgen" floor-frame)

results="$work/results"
: > "$results"
failures=0

# start_target NAME COMMAND...: starts it with stderr to a log, waits for the listening line;
# sets target_pid and target_address.
start_target() {
    local name="$1"; shift
    local logfile="$work/$name.log"
    "$@" 2>"$logfile" &
    target_pid=$!
    pids+=("$target_pid")
    target_address=""
    for _ in $(seq 1 100); do
        target_address=$(grep -o 'msg="listening".*address=127\.0\.0\.1:[0-9]*' "$logfile" 2>/dev/null | grep -o '127\.0\.0\.1:[0-9]*' | head -1 || true)
        [ -n "$target_address" ] && break
        kill -0 "$target_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$target_address" ]; then
        log "$name did not start:"; cat "$logfile" >&2
        exit 1
    fi
}

stop_target() {
    kill -TERM "$target_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$target_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$target_pid" 2>/dev/null || true
    wait "$target_pid" 2>/dev/null || true
}

# loadgen LIMIT_S ARGS...: runs the generator against the current target, keeps its RESULT lines.
loadgen() {
    local limit="$1"; shift
    local status=0
    timeout --signal=TERM --kill-after=5 "$limit" "$loadgen" "$@" --address "$target_address" --pid "$target_pid" \
        >>"$results" || status=$?
    if [ "$status" -ne 0 ]; then
        log "FAILED (exit $status): LoadGen $*"
        failures=$((failures + 1))
    fi
}

server() { start_target server "$server_bin" --address 127.0.0.1:0 --http-address= --max-connections 20000 "$@"; }
floor() { start_target floor "$floor_bin" --address 127.0.0.1:0 --response-hex "$floor_hex"; }

if [ "$smoke" = 1 ]; then
    pp=(--connections 10 --rate 1000 --warmup-ms 100 --duration-ms 400)
    pl=(--connections 2 --services-per-connection 50 --rate 5000 --tick-ms 5 --warmup-ms 100 --duration-ms 400)
    mx=(--connections 2 --services-per-connection 50 --rate 0 --window 20 --warmup-ms 100 --duration-ms 400)
    small=(--connections 50 --services-per-connection 4 --interval-ms 200 --multiplier 3 --hold-ms 400
           --get-topology 2 --watchers 1,3 --watch-ms 400 --probe-interval-ms 20 --settle-ms 100 --drain-ms 200)
    small_server=(--heartbeat-interval-ms 200 --timeout-multiplier 3 --node-update-throttle-ms 200)
    large=(--connections 100 --services-per-connection 5 --interval-ms 200 --multiplier 3 --hold-ms 400
           --get-topology 2 --silence 20 --settle-ms 100 --heartbeat-on-register 1)
    large_server=("${small_server[@]}")
    small_label=fleet_small; large_label=fleet_large
    interval_label="200 ms"
    limit=60
    # The overload scenario at the size of issue 14's report, three times (it was intermittent).
    overload_runs=3
    overload=(--connections 20 --services-per-connection 100 --interval-ms 200 --multiplier 3 --watchers 500
              --deaf-watchers 100 --hold-ms 3000 --after-ms 2000)
    overload_server=(--heartbeat-interval-ms 200 --timeout-multiplier 3)
    grpc_hb=(--heartbeats 2000 --rounds 1)
    otlp=(--seconds 0.5); otlp_spans=64
    grpc_idle=(--connections 50)
    grpc_h2load=(--services 10 --requests 500 --clients 2)
else
    pp=(--connections 200 --rate 10000 --warmup-ms 1000 --duration-ms 8000)
    pl=(--connections 20 --services-per-connection 500 --rate 100000 --tick-ms 5 --warmup-ms 1000 --duration-ms 8000)
    mx=(--connections 20 --services-per-connection 500 --rate 0 --window 100 --warmup-ms 1000 --duration-ms 5000)
    small=(--connections 1000 --services-per-connection 10 --interval-ms 5000 --multiplier 3 --hold-ms 10000
           --get-topology 5 --watchers 1,10,100 --watch-ms 5000 --probe-interval-ms 50)
    small_server=(--heartbeat-interval-ms 5000 --timeout-multiplier 3)
    large=(--connections 10000 --services-per-connection 10 --interval-ms 5000 --multiplier 3 --hold-ms 15000
           --get-topology 5 --silence 1000 --heartbeat-on-register 1)
    large_server=("${small_server[@]}")
    small_label=fleet_small; large_label=fleet_large
    interval_label="5 s"
    limit=300
    # The overload scenario at ten times the watchers of issue 14's report.
    overload_runs=3
    overload=(--connections 20 --services-per-connection 100 --interval-ms 200 --multiplier 3 --watchers 5000
              --deaf-watchers 1000 --hold-ms 10000 --after-ms 3000)
    overload_server=(--heartbeat-interval-ms 200 --timeout-multiplier 3 --max-watchers 5000)
    if [ "$fds" != unlimited ] && [ "$fds" -lt 10200 ]; then
        log "ulimit -n is $fds (hard limit $hard): 10,000 connections need more; raise the hard limit"; exit 1
    fi
    grpc_hb=(--heartbeats 50000 --rounds 3)
    otlp=(--seconds 10); otlp_spans=512
    grpc_idle=(--connections 2000)
    grpc_h2load=(--services 500 --requests 10000 --clients 10)
fi

started=$(date +%s)
for mode in pingpong pipelined max; do
    case $mode in pingpong) args=("${pp[@]}") ;; pipelined) args=("${pl[@]}") ;; max) args=("${mx[@]}") ;; esac
    log "$mode: floor"
    floor; loadgen "$limit" heartbeats --target floor --label "$mode.floor" "${args[@]}"; stop_target
    log "$mode: topology-server"
    server; loadgen "$limit" heartbeats --target server --label "$mode.server" "${args[@]}"; stop_target
done
log "fleet of ${small[1]} connections x ${small[3]} services"
server "${small_server[@]}"; loadgen "$limit" fleet --label "$small_label" "${small[@]}"; stop_target
log "fleet of ${large[1]} connections x ${large[3]} services"
server "${large_server[@]}"; loadgen "$limit" fleet --label "$large_label" "${large[@]}"; stop_target
for run in $(seq 1 "$overload_runs"); do
    log "overload, run $run of $overload_runs: ${overload[*]}"
    server "${overload_server[@]}"; loadgen "$limit" overload --label "overload$run" "${overload[@]}"
    # The server's own word (a watcher of STALE/DEAD nodes can miss a STALE that coalescing folded
    # into a recovery), up to the moment the generator sent its fleet's last heartbeats: its
    # services go STALE by right after that, while it reports and exits. If it did not say when
    # (it failed), up to now.
    cut=$(awk -v k="overload$run.fleet_stopped_at" '$1 == "RESULT" && $2 == k { v = $3 } END { print v }' "$results")
    [ -n "$cut" ] || cut=$(date -u +%Y-%m-%dT%H:%M:%S.%3N)
    wrong=$(awk -v cut="$cut" '/msg="service (stale|dead)"/ && substr($1, 4, 23) <= cut { n++ } END { print n + 0 }' "$work/server.log")
    echo "RESULT overload$run.server_log_stale_or_dead $wrong" >>"$results"
    if [ "$wrong" -ne 0 ]; then log "FAILED: the server declared $wrong heartbeating services STALE/DEAD (overload run $run)"; failures=$((failures + 1)); fi
    stop_target
done
log "heartbeats on a gRPC stream vs a framed call: ${grpc_hb[*]}"
server --heartbeat-interval-ms 600000
if ! timeout --signal=TERM --kill-after=5 "$limit" .venv/bin/python bench/grpc_heartbeats.py --address "$target_address" --pid "$target_pid" \
        "${grpc_hb[@]}" >>"$results"; then
    log "FAILED: bench/grpc_heartbeats.py"; failures=$((failures + 1))
fi
stop_target
log "OTLP ingest vs decoding the same bytes: a batch of $otlp_spans spans, ${otlp[*]}"
if ! .venv/bin/python bench/otlp_request.py "$work/otlp.bin" --spans "$otlp_spans" \
        || ! timeout --signal=TERM --kill-after=5 "$limit" "$bin/OTLPBench" "$work/otlp.bin" "${otlp[@]}" >>"$results"; then
    log "FAILED: OTLPBench"; failures=$((failures + 1))
fi
log "memory per idle connection, HTTP/2 vs frames: ${grpc_idle[*]}"
server --heartbeat-interval-ms 600000
if ! timeout --signal=TERM --kill-after=5 "$limit" .venv/bin/python bench/grpc_idle_memory.py --address "$target_address" --pid "$target_pid" \
        "${grpc_idle[@]}" >>"$results"; then
    log "FAILED: bench/grpc_idle_memory.py"; failures=$((failures + 1))
fi
stop_target
if command -v h2load >/dev/null; then
    log "unary GetTopology under h2load, gRPC vs Connect: ${grpc_h2load[*]}"
    server --heartbeat-interval-ms 600000 --http-address 127.0.0.1:0
    http_address=$(grep -o 'http_address=127\.0\.0\.1:[0-9]*' "$work/server.log" | head -1 | cut -d= -f2)
    if ! timeout --signal=TERM --kill-after=5 "$limit" .venv/bin/python bench/grpc_h2load.py --address "$target_address" \
            --http-address "$http_address" --pid "$target_pid" "${grpc_h2load[@]}" >>"$results"; then
        log "FAILED: bench/grpc_h2load.py"; failures=$((failures + 1))
    fi
    stop_target
else
    log "h2load is not installed (apt-get install nghttp2-client): no GetTopology figures under load"
fi
elapsed=$(( $(date +%s) - started ))

[ -n "$keep" ] && cp "$results" "$keep"

# ---- The table ---------------------------------------------------------------------------------

get() { awk -v k="$1" '$1 == "RESULT" && $2 == k { v = $3 } END { print (v == "" ? "n/a" : v) }' "$results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
# verdict VALUE OP LIMIT: met / NOT met / n/a
verdict() {
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (v == "n/a" || v == "") { print "n/a"; exit }
        ok = (op == "<=") ? (v + 0 <= l + 0) : (op == "<") ? (v + 0 < l + 0) : (op == ">=") ? (v + 0 >= l + 0) : (v + 0 == l + 0)
        print (ok ? "met" : "**NOT met**") }'
}
us() { awk -v v="$1" 'BEGIN { if (v == "n/a") print v; else printf "%.2f", v / 1000 }'; }
fmt() { awk -v v="$1" 'BEGIN { if (v == "n/a") print v; else { s = sprintf("%.0f", v); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s } }'; }

S=$small_label; L=$large_label
pp_s=$(get pingpong.server.cpu_us_per_hb); pp_f=$(get pingpong.floor.cpu_us_per_hb); pp_r=$(ratio "$pp_s" "$pp_f")
pl_s=$(get pipelined.server.cpu_us_per_hb); pl_f=$(get pipelined.floor.cpu_us_per_hb); pl_r=$(ratio "$pl_s" "$pl_f")
mx_s=$(get max.server.acked_per_s); mx_f=$(get max.floor.acked_per_s)
large_services=$(get $L.services); large_conns=$(get $L.connections)
large_mib=$(get $L.rss_mib); large_core=$(get $L.target_core_pct)
deadlines_missed=$(( $(get $L.stale_or_dead | sed 's#n/a#999999#') + $(get $L.due_while_in_flight | sed 's#n/a#999999#') ))

cat <<EOF
### Heartbeat cost: topology-server and the floor, same generator, same run

| measure | topology-server | floor | server / floor |
| --- | ---: | ---: | ---: |
| ping-pong ($(get pingpong.server.connections) connections x 1 service, $(fmt "$(get pingpong.server.acked_per_s)") heartbeats/s): CPU per heartbeat (utime+stime, /proc/PID/stat), µs | $pp_s | $pp_f | $pp_r |
| ping-pong: the same CPU from /proc/PID/schedstat (ns resolution), µs per heartbeat | $(us "$(get pingpong.server.cpu_ns_per_hb_schedstat)") | $(us "$(get pingpong.floor.cpu_ns_per_hb_schedstat)") | $(ratio "$(get pingpong.server.cpu_ns_per_hb_schedstat)" "$(get pingpong.floor.cpu_ns_per_hb_schedstat)") |
| ping-pong: round trip p50 / p99, µs | $(get pingpong.server.rtt_p50_us) / $(get pingpong.server.rtt_p99_us) | $(get pingpong.floor.rtt_p50_us) / $(get pingpong.floor.rtt_p99_us) | |
| ping-pong: generator CPU, % of a core | $(get pingpong.server.generator_core_pct) | $(get pingpong.floor.generator_core_pct) | |
| pipelined ($(get pipelined.server.connections) connections x $(( $(get pipelined.server.services) / $(get pipelined.server.connections) )) services, $(fmt "$(get pipelined.server.acked_per_s)") heartbeats/s): CPU per heartbeat (utime+stime, /proc/PID/stat), µs | $pl_s | $pl_f | $pl_r |
| pipelined: the same CPU from /proc/PID/schedstat (ns resolution), µs per heartbeat | $(us "$(get pipelined.server.cpu_ns_per_hb_schedstat)") | $(us "$(get pipelined.floor.cpu_ns_per_hb_schedstat)") | $(ratio "$(get pipelined.server.cpu_ns_per_hb_schedstat)" "$(get pipelined.floor.cpu_ns_per_hb_schedstat)") |
| pipelined: round trip p50 / p99, µs | $(get pipelined.server.rtt_p50_us) / $(get pipelined.server.rtt_p99_us) | $(get pipelined.floor.rtt_p50_us) / $(get pipelined.floor.rtt_p99_us) | |
| pipelined: generator CPU, % of a core | $(get pipelined.server.generator_core_pct) | $(get pipelined.floor.generator_core_pct) | |
| max sustained heartbeats/s (closed loop, $(get max.server.connections) connections, window 100 each) | $(fmt "$mx_s") | $(fmt "$mx_f") | $(ratio "$mx_s" "$mx_f") |
| max: target CPU / generator CPU, % of a core | $(get max.server.target_core_pct) / $(get max.server.generator_core_pct) | $(get max.floor.target_core_pct) / $(get max.floor.generator_core_pct) | |
| max: round trip p50 / p99, µs | $(get max.server.rtt_p50_us) / $(get max.server.rtt_p99_us) | $(get max.floor.rtt_p50_us) / $(get max.floor.rtt_p99_us) | |

### Fleets (topology-server)

| measure | $(fmt "$(get $S.services)") services | $(fmt "$large_services") services |
| --- | ---: | ---: |
| connections held | $(fmt "$(get $S.connections)") | $(fmt "$large_conns") |
| heartbeats acknowledged per s (each service every $interval_label) | $(fmt "$(get $S.acked_per_s)") | $(fmt "$(get $L.acked_per_s)") |
| server CPU while holding, % of one core | $(get $S.target_core_pct) | $large_core |
| server CPU per heartbeat while holding, µs | $(get $S.cpu_us_per_hb) | $(get $L.cpu_us_per_hb) |
| heartbeat round trip p50 / p99, µs | $(get $S.rtt_p50_us) / $(get $S.rtt_p99_us) | $(get $L.rtt_p50_us) / $(get $L.rtt_p99_us) |
| services declared STALE/DEAD while heartbeating; heartbeats due before the previous was answered | $(get $S.stale_or_dead); $(get $S.due_while_in_flight) | $(get $L.stale_or_dead); $(get $L.due_while_in_flight) |
| resident memory: idle baseline / holding, MiB | $(get $S.rss_baseline_mib) / $(get $S.rss_mib) | $(get $L.rss_baseline_mib) / $large_mib |
| resident memory per registered service (minus idle baseline), bytes | $(fmt "$(get $S.rss_bytes_per_service)") | $(fmt "$(get $L.rss_bytes_per_service)") |
| registrations per s (pipelined, 10 per connection) | $(fmt "$(get $S.register_per_s)") | $(fmt "$(get $L.register_per_s)") |
| GetTopology (all nodes), request to last byte: median / max, ms | $(get $S.get_topology_p50_ms) / $(get $S.get_topology_max_ms) | $(get $L.get_topology_p50_ms) / $(get $L.get_topology_max_ms) |
| GetTopology reply size, bytes | $(fmt "$(get $S.get_topology_bytes)") | $(fmt "$(get $L.get_topology_bytes)") |
| dead detection, $(get $L.dead_silenced) silent at once: lateness p50 / p99 / max, ms | | $(get $L.dead_lateness_p50_ms) / $(get $L.dead_lateness_p99_ms) / $(get $L.dead_lateness_max_ms) |
| dead detection: seen DEAD / silenced; declared early | | $(get $L.dead_seen) / $(get $L.dead_silenced); $(get $L.dead_early) |
| generator CPU while holding, % of a core | $(get $S.generator_core_pct) | $(get $L.generator_core_pct) |

### Watch delivery ($(fmt "$(get $S.services)") services heartbeating; a probe service changes health every probe interval; empty-filter watchers)

| watchers | deliveries measured (missed) | p50, ms | p99, ms | max, ms | watch frames/s (all watchers) | server CPU, % | generator CPU, % | resyncs |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
for w in $(awk -v p="$S.watch" '$1 == "RESULT" && index($2, p) == 1 && $2 ~ /\.p50_ms$/ { sub(p, "", $2); sub(/\..*/, "", $2); print $2 }' "$results"); do
    k="$S.watch$w"
    echo "| $w | $(fmt "$(get $k.samples)") ($(get $k.missed)) | $(get $k.p50_ms) | $(get $k.p99_ms) | $(get $k.max_ms) | $(fmt "$(get $k.frames_per_s)") | $(get $k.target_core_pct) | $(get $k.generator_core_pct) | $(get $k.resyncs) |"
done
w100=$(get $S.watch100.p99_ms)
overload_wrong=$(awk '$1 == "RESULT" && $2 ~ /^overload[0-9]+\.(stale_or_dead_after|server_log_stale_or_dead)$/ { n += $3 } END { print n + 0 }' "$results")
cat <<EOF

### Overload (a fleet at a 200 ms interval while watchers of the whole topology load the server, some never reading)

| run | services; watchers (never reading) | declared STALE/DEAD while heartbeating: seen by a watcher / in the server's log | heartbeat round trip p50 / p99 / max, µs | server CPU, % | generator: latest send, ms | resident memory: before / peak / after the watchers, MiB |
| ---: | --- | ---: | --- | ---: | ---: | --- |
EOF
for run in $(seq 1 "$overload_runs"); do
    k="overload$run"
    echo "| $run | $(fmt "$(get $k.services)"); $(fmt "$(get $k.watchers)") ($(fmt "$(get $k.deaf_watchers)")) | $(get $k.stale_or_dead_after) / $(get $k.server_log_stale_or_dead) | $(get $k.rtt_p50_us) / $(get $k.rtt_p99_us) / $(get $k.rtt_max_us) | $(get $k.target_core_pct) | $(get $k.generator_max_send_lateness_ms) | $(get $k.rss_baseline_mib) / $(get $k.rss_peak_mib) / $(get $k.rss_after_mib) |"
done
cat <<EOF

### OTLP ingest (one core, in process: decode + Topology.ingest, against decoding the same bytes and doing nothing)

| measure | ingest | floor: decode only | ingest / floor |
| --- | ---: | ---: | ---: |
| spans per s (a batch of $(get otlp.spans_per_request) spans, $(fmt "$(get otlp.request_bytes)") bytes, as the SDK sends) | $(fmt "$(get otlp.ingest_spans_per_s)") | $(fmt "$(get otlp.decode_spans_per_s)") | $(get otlp.ratio) |
| ns per span | $(get otlp.ingest_ns_per_span) | $(get otlp.decode_ns_per_span) | |

### Targets

| target | figure | verdict |
| --- | --- | --- |
| CPU per heartbeat <= 2x floor, ping-pong | $pp_r x | $(verdict "$pp_r" "<=" 2) |
| CPU per heartbeat <= 3x floor, pipelined | $pl_r x | $(verdict "$pl_r" "<=" 3) |
| $(fmt "$large_services") services every 5 s: every deadline met | $deadlines_missed missed | $(verdict "$deadlines_missed" "==" 0) |
| ... server under 50% of one core | $large_core % | $(verdict "$large_core" "<" 50) |
| ... resident memory under 300 MB | $large_mib MiB | $(verdict "$(awk -v m="$large_mib" 'BEGIN { print (m == "n/a") ? m : m * 1.048576 }')" "<" 300) |
| dead-detection lateness p50 < 50 ms | $(get $L.dead_lateness_p50_ms) ms | $(verdict "$(get $L.dead_lateness_p50_ms)" "<" 50) |
| dead-detection lateness max < 100 ms | $(get $L.dead_lateness_max_ms) ms | $(verdict "$(get $L.dead_lateness_max_ms)" "<" 100) |
| watch delivery p99 < 10 ms, 100 watchers | $w100 ms | $(verdict "$w100" "<" 10) |
| 10,000 concurrent connections held | $(fmt "$large_conns") | $(verdict "$large_conns" ">=" 10000) |
| overload: no live service declared STALE/DEAD, in any run | $overload_wrong | $(verdict "$overload_wrong" "==" 0) |
| OTLP spans ingested <= 3x the cost of decoding them | $(get otlp.ratio) x | $(verdict "$(get otlp.ratio)" "<=" 3) |
| server CPU per heartbeat, gRPC stream <= 2x framed call | $(get grpc_hb.ratio) x ($(get grpc_hb.grpc_cpu_us_per_hb) / $(get grpc_hb.frames_cpu_us_per_hb) µs) | $(verdict "$(get grpc_hb.ratio)" "<=" 2) |
| unary GetTopology under h2load, gRPC (figure; Connect over HTTP/1.1 for scale) | $(get h2load.grpc_rps) req/s, $(get h2load.grpc_cpu_us_per_request) µs server CPU each (Connect: $(get h2load.connect_rps) req/s, $(get h2load.connect_cpu_us_per_request) µs; $(get h2load.cpu_ratio) x) | n/a |
| server memory per idle HTTP/2 connection (figure; framed connection for scale) | $(get grpc_idle.http2_kib_per_connection) KiB ($(get grpc_idle.frames_kib_per_connection) KiB framed, $(get grpc_idle.ratio) x) | n/a |

$([ "$smoke" = 1 ] && echo "Smoke sizes: the verdicts above say nothing about the targets; run without --smoke for them.
")
Run: \`scripts/bench.sh$([ "$smoke" = 1 ] && echo " --smoke")\`, $(date -u '+%Y-%m-%d %H:%M UTC'), ${elapsed} s, ulimit -n $fds, $(nproc) cores.
EOF

if [ "$failures" -ne 0 ]; then
    log "$failures scenario(s) failed (see the FAILED lines above)"
    exit 1
fi
