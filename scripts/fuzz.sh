#!/usr/bin/env bash
# The fuzz targets of fuzz/ (libFuzzer, with AddressSanitizer and
# UndefinedBehaviorSanitizer), built with clang next to the normal build.
#
#   scripts/fuzz.sh build            build every target
#   scripts/fuzz.sh smoke            build, then run each target over its
#                                    seeds and regressions and for
#                                    FUZZ_SMOKE_SECONDS (default 5) more
#                                    (part of make test)
#   scripts/fuzz.sh run [TARGET...]  build, then fuzz each target (default:
#                                    all) for FUZZ_SECONDS (default 600);
#                                    the corpus grows in the state
#                                    directory and the executions and
#                                    coverage go to fuzz/results/TARGET.txt
#                                    (make fuzz)
#
# FUZZ_TIMEOUT (default 30 s): one input running longer is a finding.
# A crash leaves its input as <state>/fuzz/crash-TARGET-*; copy it into
# fuzz/regress/TARGET/ with the fix, so that every later run replays it.
set -euo pipefail

# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"

mode=${1:-smoke}
shift || true

out=$build/fuzz
work=$state_root/fuzz
mkdir -p "$out/core" "$work"

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
# shellcheck disable=SC2086 # word splitting of the flag lists is meant
cflags="-std=c99 -D_DEFAULT_SOURCE -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
        -Wall -Wextra -Wno-unused-parameter -Wno-unused-function -Werror
        -I$repo/src $(pkg-config --cflags openssl jansson libcurl sqlite3)"
libs="$(pkg-config --libs openssl jansson libcurl sqlite3 libzstd expat)
      -lpg_query -lsnappy -lm"

build_all() {
    local src obj objs=() t
    # the core, instrumented for coverage and the sanitizers
    for src in "$repo"/src/spectra_*.c; do
        obj=$out/core/$(basename "${src%.c}").o
        if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] \
            || [ -n "$(find "$repo/src" -maxdepth 1 -name '*.h' \
                        -newer "$obj" -print -quit)" ]; then
            # shellcheck disable=SC2086
            clang $cflags $SAN -fsanitize=fuzzer-no-link -c -o "$obj" "$src"
        fi
        objs+=("$obj")
    done
    for src in "$repo"/fuzz/fuzz_*.c; do
        t=$(basename "${src%.c}")
        if [ ! -x "$out/$t" ] || [ "$src" -nt "$out/$t" ] \
            || [ "$repo/fuzz/fuzz.h" -nt "$out/$t" ] \
            || [ -n "$(find "$out/core" -newer "$out/$t" -print -quit)" ]; then
            # shellcheck disable=SC2086
            clang $cflags $SAN -fsanitize=fuzzer -o "$out/$t" "$src" \
                "${objs[@]}" $libs
        fi
    done
}

targets() {
    local src
    for src in "$repo"/fuzz/fuzz_*.c; do
        basename "${src%.c}"
    done
}

# seeds and regressions of a target, as directories libFuzzer reads
inputs() {
    local d
    for d in "$repo/fuzz/corpus/$1" "$repo/fuzz/regress/$1"; do
        [ -d "$d" ] && printf '%s\n' "$d"
    done
    return 0
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run TARGET SECONDS CORPUS_DIR: libFuzzer's last lines go to stdout
run_target() {
    local t=$1 secs=$2 corpus=$3 log rc dirs
    log=$work/$t.log
    mkdir -p "$corpus"
    mapfile -t dirs < <(inputs "$t")
    rc=0
    # from the checkout: targets read the test key files by relative path
    (cd "$repo" && "$out/$t" -max_total_time="$secs" \
        -timeout="${FUZZ_TIMEOUT:-30}" -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 \
        -artifact_prefix="$work/crash-$t-" "$corpus" "${dirs[@]}") \
        > "$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "fuzz: $t FAILED (exit $rc); its log: $log" >&2
        grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" \
            | head -20 >&2
        return 1
    fi
    stats "$t" "$log"
}

# "target: N runs in S s, cov C, ft F, corpus K" from libFuzzer's log
stats() {
    local runs cov ft secs units
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$2" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$2" \
        | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$2" | tail -1 | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' "$2" | tail -1 | cut -d' ' -f2)
    units=$(grep -oE 'corp: [0-9]+' "$2" | tail -1 | cut -d' ' -f2)
    printf '%s: %s runs, cov %s, ft %s, corpus %s%s\n' "$1" "${runs:-?}" \
        "${cov:-?}" "${ft:-?}" "${units:-?}" "${secs:+, $secs s}"
}

case "$mode" in
build)
    build_all
    ;;
smoke)
    build_all
    failed=0
    for t in $(targets); do
        # a fresh corpus each time: the seeds and regressions are what
        # must pass; what a run finds on top is thrown away
        rm -rf "$work/smoke-$t"
        run_target "$t" "${FUZZ_SMOKE_SECONDS:-5}" "$work/smoke-$t" \
            || failed=1
    done
    exit "$failed"
    ;;
run)
    build_all
    mkdir -p "$repo/fuzz/results"
    list=("$@")
    [ "${#list[@]}" -gt 0 ] || mapfile -t list < <(targets)
    failed=0
    for t in "${list[@]}"; do
        secs=${FUZZ_SECONDS:-600}
        if line=$(run_target "$t" "$secs" "$work/corpus-$t"); then
            printf '%s, fuzzed for %s s on %s (%s)\n' "$line" "$secs" \
                "$(date -u +%F)" "$(uname -m)" \
                | tee "$repo/fuzz/results/$t.txt"
        else
            failed=1
        fi
    done
    exit "$failed"
    ;;
*)
    echo "usage: $0 build|smoke|run [TARGET...]" >&2
    exit 2
    ;;
esac
