#!/usr/bin/env bash
# Data API round trips per second through spectra-dataapi, against pgbench
# running the same SQL on the same PostgreSQL in the same run.
#
#   bench/dataapi.sh [BUILD_DIR]
#
# One round trip = ExecuteStatement -> DescribeStatement (WaitTimeSeconds
# long poll, one call) -> GetStatementResult, each SigV4-signed, over a
# keep-alive connection (bench/dataapi-client.c; it follows NextToken
# through every page). Cases: "select 1" and a 100-row, 3-column result
# with 1 and 32 concurrent clients; 10,000 rows x 11 columns of the demo
# sales table (about 3 MB of JSON) with 1 client. pgbench logs in as
# tenant_acme, as the daemon does; the daemon's per-user bounds are set to
# all its workers (one tenant only here).
#
# Environment: BENCH_PORT_BASE (default 52080: PostgreSQL, +1 the daemon),
# BENCH_SECONDS per case (default 5), BENCH_WORKERS daemon workers
# (default 8), BENCH_DATAAPI_ARGS more daemon flags (e.g. --max-statements
# 2000 to see memory plateau), BENCH_PG_PORT to reuse a running cluster
# that has the demo warehouse loaded instead of starting one, with
# BENCH_PG_STATE the state directory of the stack that owns it (its
# dataapi/ files hold the passwords).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
base=${BENCH_PORT_BASE:-52080}
seconds=${BENCH_SECONDS:-5}
workers=${BENCH_WORKERS:-8}
state=/tmp/spectra-bench-dataapi-$base
pg_port=${BENCH_PG_PORT:-$base}
api_port=$((base + 1))
own_pg=0

sql_one='select 1'
sql_hundred="select g, g * 2 as d, 'row ' || g as t"
sql_hundred+=" from generate_series(1, 100) g"
sql_tenk='select * from sales order by id limit 10000'

cleanup() {
    set +e
    bash "$repo/scripts/dataapi.sh" stop "$state" 2>/dev/null
    if [ "$own_pg" = 1 ]; then
        bash "$repo/scripts/pg.sh" stop "$state/pg"
    fi
}
trap cleanup EXIT

rm -rf "$state"
mkdir -p "$state"
chmod 755 "$state"

if [ -z "${BENCH_PG_PORT:-}" ]; then
    own_pg=1
    bash "$repo/scripts/pg.sh" start "$state/pg" "$pg_port"
    bash "$repo/scripts/pg.sh" demo "$state/pg" "$pg_port"
    bash "$repo/scripts/demo-credentials.sh" "$state/pg" "$pg_port" \
        "$state/dataapi"
    # pgbench's 32 clients are more than the demo's CONNECTION LIMIT
    PGPASSFILE=$state/pg.pgpass psql -X -q -w -h 127.0.0.1 -p "$pg_port" \
        -U postgres -d warehouse \
        -c 'ALTER ROLE tenant_acme CONNECTION LIMIT -1'
else
    pg_state=${BENCH_PG_STATE:?BENCH_PG_PORT needs BENCH_PG_STATE}
    mkdir -p "$state/dataapi"
    chmod 700 "$state/dataapi"
    cp "$pg_state/dataapi/pg-password" "$pg_state/dataapi/secrets.json" \
        "$state/dataapi/"
fi
# pgbench logs in as the tenant, as the daemon does
tenant_password=$(jq -r '.[] | select(.username == "tenant_acme") | .password' \
                  "$state/dataapi/secrets.json")

# one tenant only: its share of the workers and of the pool is all of them
daemon_args="--workers $workers --max-running-per-user $workers"
daemon_args+=" --pool-per-user $workers"
SPECTRA_DATAAPI_ARGS="$daemon_args ${BENCH_DATAAPI_ARGS:-}" \
    bash "$repo/scripts/dataapi.sh" start "$build" "$state" "$api_port" \
    "$pg_port"
read -r akid secret < <(grep -v '^#' "$state/dataapi/keys" | head -n 1)

client=$state/dataapi-client
cc -O2 -std=c99 -D_DEFAULT_SOURCE -I"$repo/src" -o "$client" \
    "$repo/bench/dataapi-client.c" "$repo/src/spectra_sigv4.c" \
    "$repo/src/spectra_core.c" \
    -lcurl -ljansson -lcrypto -lpthread

# pgbench with the same SQL, as the tenant
pgbench_tps() {
    local clients=$1 sql=$2 file=$state/pgbench.sql
    printf '%s;\n' "$sql" > "$file"
    PGPASSWORD=$tenant_password pgbench -n -h 127.0.0.1 -p "$pg_port" \
        -U tenant_acme \
        -c "$clients" -j "$((clients < 2 ? 1 : 2))" -T "$seconds" \
        -f "$file" warehouse 2>/dev/null \
        | awk '/^tps = / { printf "%.1f", $3; exit }'
}

api_tps() {
    local clients=$1 rows=$2 sql=$3
    "$client" "$api_port" "$akid" "$secret" "$clients" "$seconds" "$rows" \
        "$sql" | awk '{ print $1 }'
}

# the daemon's CPU time (user + system, clock ticks) so far
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$(cat "$state/dataapi/pid")/stat"
}

# the daemon's resident memory after each case: it must stay flat
rss_mib() {
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' \
        "/proc/$(cat "$state/dataapi/pid")/status"
}

tck=$(getconf CLK_TCK)
printf '%-23s %7s %15s %12s %7s %12s %8s\n' case clients 'dataapi trips/s' \
    'pgbench tps' ratio 'CPU ms/trip' 'RSS MiB'
for clients in 1 32; do
    for case in one hundred tenk; do
        if [ "$case" = one ]; then
            sql=$sql_one rows=1 label='select 1'
        elif [ "$case" = hundred ]; then
            sql=$sql_hundred rows=100 label='100 rows x 3 columns'
        elif [ "$clients" = 1 ]; then
            sql=$sql_tenk rows=10000 label='10000 rows x 11 columns'
        else
            continue
        fi
        t0=$(cpu_ticks)
        api=$(api_tps "$clients" "$rows" "$sql")
        t1=$(cpu_ticks)
        pg=$(pgbench_tps "$clients" "$sql")
        ratio=$(awk -v a="$api" -v p="$pg" 'BEGIN { printf "%.3f", a / p }')
        # the daemon's CPU per round trip, whatever the client costs
        cpu=$(awk -v d="$((t1 - t0))" -v a="$api" -v s="$seconds" \
              -v t="$tck" 'BEGIN { printf "%.2f", d * 1000 / t / (a * s) }')
        printf '%-23s %7d %15s %12s %7s %12s %8s\n' "$label" "$clients" \
            "$api" "$pg" "$ratio" "$cpu" "$(rss_mib)"
    done
done
