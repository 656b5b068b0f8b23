#!/usr/bin/env bash
# make bench: builds, starts one PostgreSQL with the demo warehouse for the
# benchmarks that can share it, runs every benchmark of bench/ in turn and
# writes bench/RESULTS.md and its charts (bench/results/*.png) from their
# outputs (bench/report.py).
#
#   bench/run.sh            (make bench)
#
# Order: authentication (bench/auth.sh), the result encoder alone on one
# 10,000-row page (bench/result-encode.c), the JWT core alone
# (bench/jwt-verify.c) and instructions per request under callgrind
# (bench/auth-profile.sh), query latency by result size (bench/query.sh,
# BENCH_RUNS times), throughput by concurrency, event-loop health and memory (bench/load.sh),
# Data API round trips (bench/dataapi.sh), the 1,000,000-row CSV+gzip
# export (bench/bulk.sh), the Parquet write (bench/parquet.sh), the import
# (bench/import.sh). dataapi.sh runs 5 s per case: its pgbench with 32
# clients needs that to connect them. query.sh, load.sh and dataapi.sh use
# the shared PostgreSQL (BENCH_PG_PORT); bulk, parquet and import start
# their own stacks, one after the other. A benchmark that fails is reported as failed
# (with the end of its log) and the others still run.
#
# Environment:
#   BENCH_PORT_BASE   first of 50 loopback ports (default 22600)
#   BENCH_RUNS        runs of query.sh and of the concurrency sweep (3)
#   BENCH_SECONDS     each throughput run (2)
#   BENCH_HEAVY_RUNS  runs of bulk, parquet and import (1)
#   BENCH_ONLY        a subset, e.g. "auth query load" (names above:
#                     auth jwt encode query load dataapi bulk parquet
#                     import)
#   BENCH_IMPORT_ROWS, BENCH_PARQUET_ROWS  rows of those (500,000: the
#                     1,000,000-row export is the one with a target)
#   BENCH_QUICK=1     shorter runs: 2 runs, 1 s each, 200,000-row import
#                     and Parquet
#   BUILD             the build directory (build)
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case $build in
/*) ;;
*) build=$repo/$build ;;
esac
base=${BENCH_PORT_BASE:-22600}
runs=${BENCH_RUNS:-3}
seconds=${BENCH_SECONDS:-2}
heavy_runs=${BENCH_HEAVY_RUNS:-1}
only=${BENCH_ONLY:-auth jwt encode query load dataapi bulk parquet import}
heavy_rows=1000000
import_rows=${BENCH_IMPORT_ROWS:-500000}
parquet_rows=${BENCH_PARQUET_ROWS:-500000}
lat_seconds=2
psql_runs=100
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    runs=${BENCH_RUNS:-2}
    seconds=${BENCH_SECONDS:-1}
    lat_seconds=1
    psql_runs=50
    import_rows=${BENCH_IMPORT_ROWS:-200000}
    parquet_rows=${BENCH_PARQUET_ROWS:-200000}
fi
out=$repo/bench/results/run
state=/tmp/spectra-bench-run-$base
pg_port=$((base + 1))
shared=(env)

# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"

say() {
    echo "bench: $(date -u +%H:%M:%S) $*" >&2
}

cleanup() {
    bash "$repo/scripts/pg.sh" stop "$state/pg" > /dev/null 2>&1
}
trap cleanup EXIT

rm -rf "$out" "$state"
mkdir -p "$out" "$state"
chmod 755 "$state"
start=$(date +%s)

{
    printf 'started\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'commit\t%s\n' "$(git -C "$repo" rev-parse --short HEAD)"
    printf 'cpu\t%s\n' "$(awk -F': ' '/^model name/ { print $2; exit }' \
                          /proc/cpuinfo)"
    printf 'cpus\t%s\n' "$(nproc)"
    printf 'memory\t%s\n' "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' \
                             /proc/meminfo)"
    printf 'kernel\t%s\n' "$(uname -r)"
    printf 'load_before\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'nginx\t%s\n' "$(/usr/sbin/nginx -v 2>&1 | sed 's|.*nginx/||')"
    printf 'postgresql\t%s\n' "$(pg_config --version 2>/dev/null \
                                 || psql --version)"
    printf 'openssl\t%s\n' "$(openssl version)"
    printf 'wrk\t%s\n' "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
    printf 'pgbench\t%s\n' "$(pgbench --version)"
    printf 'cc\t%s\n' "$(cc --version | head -n 1)"
    printf 'settings\truns %s, %s s per throughput run, %s s per latency case, heavy runs %s, import rows %s, parquet rows %s, quick %s\n' \
        "$runs" "$seconds" "$lat_seconds" "$heavy_runs" "$import_rows" \
        "$parquet_rows" "${BENCH_QUICK:-0}"
} > "$out/machine.tsv"

# run NAME LOG COMMAND...: runs one benchmark, records its status and time
run() {
    local name=$1 log=$2 t0 rc
    shift 2
    t0=$(date +%s)
    say "$name: $*"
    "$@" > "$log" 2>&1
    rc=$?
    printf '%s\t%d\t%d\t%s\n' "$name" "$rc" $(($(date +%s) - t0)) "$*" \
        >> "$out/status.tsv"
    if [ "$rc" != 0 ]; then
        say "$name FAILED (exit $rc), see $log"
        tail -n 5 "$log" >&2
    fi
    return 0
}

wants() {
    case " $only " in
    *" $1 "*) return 0 ;;
    esac
    return 1
}

say "building ($build)"
if ! make -C "$repo" -s -j2 BUILD="$build" all > "$out/build.log" 2>&1; then
    tail -n 20 "$out/build.log" >&2
    echo "bench: the build failed" >&2
    exit 1
fi
printf 'build\t0\t%d\tmake -j2 all\n' $(($(date +%s) - start)) \
    >> "$out/status.tsv"

if wants query || wants load || wants dataapi; then
    say "starting the shared PostgreSQL on 127.0.0.1:$pg_port (demo)"
    bash "$repo/scripts/pg.sh" start "$state/pg" "$pg_port" \
        > "$out/pg.log" 2>&1 \
    && bash "$repo/scripts/pg.sh" demo "$state/pg" "$pg_port" \
        >> "$out/pg.log" 2>&1 \
    && bash "$repo/scripts/demo-credentials.sh" "$state/pg" "$pg_port" \
        "$state/dataapi" >> "$out/pg.log" 2>&1 \
    && PGPASSFILE=$state/pg.pgpass psql -X -q -w -h 127.0.0.1 \
        -p "$pg_port" -U postgres -d warehouse \
        -c 'ALTER ROLE tenant_acme CONNECTION LIMIT -1' >> "$out/pg.log" 2>&1
    rc=$?
    if [ "$rc" != 0 ]; then
        tail -n 20 "$out/pg.log" >&2
        echo "bench: the shared PostgreSQL did not start" \
             "(port $pg_port, BENCH_PORT_BASE)" >&2
        exit 1
    fi
    shared=(env "BENCH_PG_PORT=$pg_port" "BENCH_PG_STATE=$state")
fi

if wants auth; then
    run auth "$out/auth.txt" env BUILD="$build" ROUNDS="$runs" \
        DURATION=1s FRESH_TOKENS=2000 \
        SPECTRA_BENCH_PORT=$((base + 5)) AUTH_TSV="$out/auth.tsv" \
        bash "$repo/bench/auth.sh"
fi

if wants encode; then
    cc -O2 -std=c99 -D_DEFAULT_SOURCE -D_GNU_SOURCE -I"$repo/src" \
        -o "$state/result-encode" "$repo/bench/result-encode.c" \
        "$build/libspectra.a" -lm
    : > "$out/encode.txt"
    rc=0
    for ((i = 1; i <= runs; i++)); do
        "$state/result-encode" 10000 30 >> "$out/encode.txt" 2>&1 || rc=$?
    done
    printf 'encode\t%s\t0\tbench/result-encode.c\n' "$rc" \
        >> "$out/status.tsv"
fi

if wants jwt; then
    keys=$repo/var/bench-auth/auth
    if [ -f "$keys/bench-rs256.txt" ]; then
        cc -O2 -std=c99 -D_DEFAULT_SOURCE -D_GNU_SOURCE -I"$repo/src" \
            -o "$state/jwt-verify" "$repo/bench/jwt-verify.c" \
            "$build/libspectra.a" -lssl -lcrypto -ljansson -lcurl \
            -lsqlite3 -lzstd -lpg_query -lsnappy -lm
        : > "$out/jwt.tsv"
        for ((i = 1; i <= runs; i++)); do
            "$state/jwt-verify" "$keys/rs256.pub" "$keys/bench-rs256.txt" \
                10000 demo-rs256 >> "$out/jwt.tsv"
            "$state/jwt-verify" "$keys/es256.pub" "$keys/bench-es256.txt" \
                3000 demo-es256 >> "$out/jwt.tsv"
        done
        printf 'jwt\t0\t0\tbench/jwt-verify.c\n' >> "$out/status.tsv"
        run auth-profile "$out/auth-profile.txt" env N=300 \
            SPECTRA_BENCH_PORT=$((base + 6)) \
            AUTH_PROFILE_TSV="$out/auth-profile.tsv" \
            bash "$repo/bench/auth-profile.sh"
    else
        printf 'jwt\t1\t0\tno tokens (auth did not run)\n' \
            >> "$out/status.tsv"
    fi
fi

if wants query; then
    for ((i = 1; i <= runs; i++)); do
        run "query-$i" "$out/query-$i.log" "${shared[@]}" \
            BENCH_PORT_BASE=$((base + 10)) BENCH_MODES=longpoll+sessions \
            BENCH_SECONDS="$seconds" BENCH_LATENCY_SECONDS="$lat_seconds" \
            BENCH_PSQL_RUNS="$psql_runs" bash "$repo/bench/query.sh" "$build"
        cp "$repo/bench/results/query-latest.txt" "$out/query-$i.txt" \
            2> /dev/null
    done
fi

if wants load; then
    run load "$out/load.log" "${shared[@]}" BENCH_PORT_BASE=$((base + 20)) \
        BENCH_SECONDS="$seconds" BENCH_LOAD_RUNS="$runs" \
        BENCH_OUT="$out" bash "$repo/bench/load.sh" "$build"
fi

if wants dataapi; then
    run dataapi "$out/dataapi.txt" "${shared[@]}" \
        BENCH_PORT_BASE=$((base + 30)) BENCH_SECONDS=5 \
        bash "$repo/bench/dataapi.sh" "$build"
fi

for ((i = 1; i <= heavy_runs; i++)); do
    if wants bulk; then
        run "bulk-$i" "$out/bulk-$i.log" env BENCH_PORT_BASE=$((base + 35)) \
            BENCH_BULK_ROWS="$heavy_rows" bash "$repo/bench/bulk.sh" "$build"
        cp "$repo/bench/results/bulk-latest.txt" "$out/bulk-$i.txt" \
            2> /dev/null
    fi
    if wants parquet; then
        run "parquet-$i" "$out/parquet-$i.log" \
            env BENCH_PORT_BASE=$((base + 40)) \
            BENCH_BULK_ROWS="$parquet_rows" \
            bash "$repo/bench/parquet.sh" "$build"
        cp "$repo/bench/results/parquet-latest.txt" "$out/parquet-$i.txt" \
            2> /dev/null
    fi
    if wants import; then
        run "import-$i" "$out/import-$i.log" \
            env BENCH_PORT_BASE=$((base + 45)) \
            BENCH_IMPORT_ROWS="$import_rows" \
            bash "$repo/bench/import.sh" "$build"
        cp "$repo/bench/results/import-latest.txt" "$out/import-$i.txt" \
            2> /dev/null
    fi
done

cleanup
{
    printf 'load_after\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'seconds\t%d\n' $(($(date +%s) - start))
} >> "$out/machine.tsv"

say "writing bench/RESULTS.md"
/usr/bin/python3 "$repo/bench/report.py" "$out" "$repo/bench"
say "done in $(($(date +%s) - start)) s"
