#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of Tests/Fuzz (what each covers: Tests/Fuzz/README.md).
#
#   scripts/fuzz.sh TARGET SECONDS   run one target (frame, messages, http, hpack, http2, json, otlp, c-client) that long
#   scripts/fuzz.sh all SECONDS      run every target in turn, SECONDS each
#   scripts/fuzz.sh coverage TARGET  line coverage of the code under test by the corpus so far
#
# A target is rebuilt when one of its sources is newer than its binary. Each run first replays the
# inputs that once crashed it (Tests/Fuzz/regressions/TARGET), then fuzzes from the committed seeds
# (Tests/Fuzz/corpus/TARGET, never written to) plus a work corpus that grows from run to run
# (.build-fuzz/corpus/TARGET, gitignored). Prints executions and coverage; on a crash, prints where
# the input was saved and exits non-zero. The full log of the last run: .build-fuzz/logs/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(frame messages http hpack http2 json otlp c-client)
out=.build-fuzz
fuzz=Tests/Fuzz

usage() {
    echo "usage: scripts/fuzz.sh {$(IFS='|'; echo "${targets[*]}")|all} SECONDS" >&2
    echo "       scripts/fuzz.sh coverage {$(IFS='|'; echo "${targets[*]}")}" >&2
    exit 2
}

# The source files a target is built from.
sources() {
    case $1 in
        frame | messages)
            find Sources/TopologyWire -name '*.swift' | sort
            echo "$fuzz/FuzzSupport.swift"
            [[ $1 == frame ]] && echo "$fuzz/FrameFuzzer.swift" || echo "$fuzz/MessagesFuzzer.swift"
            ;;
        json)
            find Sources/TopologyWire -name '*.swift' | sort
            echo "$fuzz/FuzzSupport.swift" "$fuzz/JSONFuzzer.swift"
            ;;
        otlp)
            find Sources/TopologyWire -name '*.swift' | sort
            echo "$fuzz/FuzzSupport.swift" "$fuzz/OTLPFuzzer.swift"
            ;;
        http)
            # The parser and the types it uses; the rest of TopologyProtocol stays out.
            echo Sources/TopologyProtocol/HTTP/HTTPParser.swift Sources/TopologyProtocol/HTTP/HTTPResponse.swift Sources/TopologyProtocol/ControlCharacters.swift
            echo "$fuzz/FuzzSupport.swift" "$fuzz/HTTPFuzzer.swift"
            ;;
        hpack)
            # The HPACK codec only: the HTTP/2 connection beside it in TopologyHTTP2 stays out.
            find Sources/TopologyHTTP2 -name 'HPACK*.swift' | sort
            echo "$fuzz/FuzzSupport.swift" "$fuzz/HPACKFuzzer.swift"
            ;;
        http2)
            # The whole TopologyHTTP2 target: the connection, its frame codec, and HPACK under it.
            find Sources/TopologyHTTP2 -name '*.swift' | sort
            echo "$fuzz/FuzzSupport.swift" "$fuzz/HTTP2Fuzzer.swift"
            ;;
        c-client)
            # The codec and framing only: no sockets, no threads; and the tests' JSON printer.
            echo clients/c/src/pb_common.c clients/c/src/pb_encode.c clients/c/src/pb_decode.c \
                clients/c/src/messages.c clients/c/src/frame.c clients/c/tests/pb_json.c "$fuzz/c_client_fuzzer.c"
            ;;
    esac
}

# compile TARGET OUTPUT INSTRUMENTATION: builds a target with libFuzzer and INSTRUMENTATION,
# either "sanitizers" (for fuzzing) or "coverage" (for a line coverage report).
compile() {
    local target=$1 output=$2 srcs
    srcs=$(sources "$target")
    case $target in
        c-client)
            local flags=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
            [[ $3 == coverage ]] && flags=(-fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping)
            # shellcheck disable=SC2086
            clang -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -O1 -g "${flags[@]}" \
                -fuse-ld=lld -Iclients/c/include -Iclients/c/src -Iclients/c/tests $srcs -o "$output"
            ;;
        *)
            local module flags=(-sanitize=fuzzer,address -gline-tables-only)
            case $target in frame) module=FrameFuzzer ;; messages) module=MessagesFuzzer ;; http) module=HTTPFuzzer ;; hpack) module=HPACKFuzzer ;; http2) module=HTTP2Fuzzer ;; json) module=JSONFuzzer ;; otlp) module=OTLPFuzzer ;; esac
            [[ $3 == coverage ]] && flags=(-sanitize=fuzzer -profile-generate -profile-coverage-mapping)
            # -parse-as-library: libFuzzer provides main(). -O keeps Swift's overflow and bounds
            # checks (unlike -Ounchecked): a trap is a finding.
            # shellcheck disable=SC2086
            swiftc "${flags[@]}" -parse-as-library -O -wmo -use-ld=lld -module-name "$module" -package-name Topology $srcs -o "$output"
            ;;
    esac
}

build() {
    local target=$1 binary=$out/$1
    # shellcheck disable=SC2046
    if [[ -x $binary ]] && [[ -z $(find $(sources "$target") clients/c/include clients/c/src/*.h clients/c/tests/*.h scripts/fuzz.sh -newer "$binary" 2>/dev/null) ]]; then
        return
    fi
    echo "building fuzz target $target"
    mkdir -p "$out"
    compile "$target" "$binary" sanitizers
}

# Line coverage of the code under test (the target's sources but its fuzz entry files) by the
# seeds and the work corpus, from a build instrumented for coverage instead of sanitizers.
coverage() {
    local target=$1 binary=$out/coverage/$1
    local tools
    tools=$(dirname "$(command -v swiftc)") # llvm-profdata and llvm-cov of the same LLVM as the compilers
    echo "building $target for coverage"
    mkdir -p "$out/coverage" "$out/corpus/$target"
    compile "$target" "$binary" coverage || return 1
    rm -f "$binary.profraw"
    LLVM_PROFILE_FILE="$binary.profraw" "$binary" -runs=0 "$out/corpus/$target" "$fuzz/corpus/$target" \
        >"$out/coverage/$target.log" 2>&1 || return 1
    "$tools/llvm-profdata" merge -o "$binary.profdata" "$binary.profraw"
    # shellcheck disable=SC2046
    "$tools/llvm-cov" report "$binary" -instr-profile="$binary.profdata" $(sources "$target" | tr ' ' '\n' | grep -v "^$fuzz/")
}

# The Swift runtime's own crash backtracer would catch the trap first; let libFuzzer's handler
# save the input instead.
export SWIFT_BACKTRACE=enable=no
export UBSAN_OPTIONS=print_stacktrace=1

run() {
    local target=$1 seconds=$2
    local binary=$out/$target work=$out/corpus/$target artifacts=$out/artifacts/$target log=$out/logs/$target.log
    build "$target" || return 1
    mkdir -p "$work" "$artifacts" "$out/logs"

    local regressions=("$fuzz/regressions/$target"/*)
    if [[ -e ${regressions[0]} ]]; then
        if ! "$binary" "${regressions[@]}" >"$log" 2>&1; then
            echo "FAIL $target: an input that once crashed it crashes it again" >&2
            tail -n 40 "$log" >&2
            return 1
        fi
        echo "$target: ${#regressions[@]} regression inputs replayed"
    fi

    local options=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
                   -artifact_prefix="$artifacts/")
    [[ -f $fuzz/$target.dict ]] && options+=(-dict="$fuzz/$target.dict")
    local status=0
    "$binary" "${options[@]}" "$work" "$fuzz/corpus/$target" >"$log" 2>&1 || status=$?

    local crash
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [[ $status -ne 0 || -n $crash ]]; then
        echo "FAIL $target (libFuzzer exit $status); the input: ${crash:-none saved, see $log}" >&2
        grep -v '^ *#[0-9]* *0x' "$log" | grep -E -A 12 'ERROR|Fatal error|invariant broken' | head -n 40 >&2 || true
        echo "replay it with: $binary ${crash:-INPUT}" >&2
        return 1
    fi
    # libFuzzer's last status line: "#N DONE cov: C ft: F corp: N/SIZE lim: L exec/s: E rss: R".
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 | awk -v target="$target" -v seconds="$seconds" '{
        for (i = 1; i < NF; i++) stat[$i] = $(i + 1)
        split(stat["corp:"], corpus, "/")
        printf "%s: %ss, %s executions (%s/s), cov: %s ft: %s, corpus %s inputs (%s), no crash\n",
               target, seconds, substr($1, 2), stat["exec/s:"], stat["cov:"], stat["ft:"], corpus[1], corpus[2]
    }'
}

[[ $# -eq 2 ]] || usage
if [[ $1 == coverage ]]; then
    [[ " ${targets[*]} " == *" $2 "* ]] || usage
    coverage "$2"
    exit
fi
[[ $2 =~ ^[0-9]+$ ]] || usage
if [[ $1 == all ]]; then
    failed=()
    for target in "${targets[@]}"; do run "$target" "$2" || failed+=("$target"); done
    if [[ ${#failed[@]} -gt 0 ]]; then
        echo "fuzzing failed: ${failed[*]}" >&2
        exit 1
    fi
else
    [[ " ${targets[*]} " == *" $1 "* ]] || usage
    run "$1" "$2"
fi
