#!/usr/bin/env bash
# End-to-end query benchmark: POST /v1/queries through nginx with
# ngx_spectra_module, spectra-dataapi and PostgreSQL, next to the same SQL
# run by psql and pgbench on the same PostgreSQL in the same run.
#
#   bench/query.sh [BUILD_DIR]          (default $BUILD, else build/)
#
# Measures, per module mode (see BENCH_MODES):
#   - latency p50/p99 of results of 1, 100, 1,000 and 10,000 rows:
#     wrk with one keep-alive connection for BENCH_LATENCY_SECONDS per
#     case, against psql running the same SQL BENCH_PSQL_RUNS times in one
#     session logged in as the tenant role (tenant_acme), timed per
#     statement with \timing;
#   - queries/s of the 100-row query with 32 concurrent clients (wrk -t2
#     -c32, BENCH_SECONDS), every answer checked (status 200 and the row
#     count), against pgbench -c 32 -j 2 with the same SQL as the tenant role;
# and once, the ceiling: plain nginx "return 200" with 32 clients.
# Prints a table and writes it to bench/results/query-latest.txt.
#
# Environment:
#   BENCH_PORT_BASE   first of four loopback ports (default 22080): nginx,
#                     PostgreSQL, spectra-dataapi, the plain nginx
#   BENCH_MODES       module modes, space-separated (default all four):
#                     "longpoll+sessions longpoll poll+sessions poll";
#                     longpoll = spectra_long_poll 10s, poll = timer
#                     polling (spectra_poll_interval default, 5 ms
#                     doubling), poll1ms = timer polling from 1 ms,
#                     sessions = spectra_session_keepalive 300s
#   BENCH_SECONDS     duration of each throughput run (default 10)
#   BENCH_LATENCY_SECONDS  duration of each latency case (default 5)
#   BENCH_PSQL_RUNS   psql statements per latency case (default 300)
#   BENCH_PG_PORT     reuse a running PostgreSQL that has the demo
#                     warehouse (scripts/pg.sh demo) instead of starting one;
#                     needs BENCH_PG_STATE, the state directory of the stack
#                     that owns it (its pg.pgpass and dataapi/ files, e.g.
#                     make run's), for the passwords
#   BENCH_URL, BENCH_API_KEY  reuse a running Spectra nginx (base URL and
#                     an API key of tenant acme) instead of starting nginx
#                     and spectra-dataapi; needs BENCH_PG_PORT, and
#                     BENCH_MODES does not apply
#   SPECTRA_DATAAPI_ARGS  extra spectra-dataapi flags (scripts/dataapi.sh);
#                     one tenant only here, so its share of the workers
#                     and of the pool is all of them
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/../scripts/env.sh"
# shellcheck source=bench/plain-nginx.sh
. "$here/plain-nginx.sh"
# shellcheck source=bench/wrk-query.sh
. "$here/wrk-query.sh"

if [ $# -gt 0 ]; then
    build=$(cd "$1" && pwd)
fi

base=${BENCH_PORT_BASE:-22080}
http_port=$base
pg_port=${BENCH_PG_PORT:-$((base + 1))}
api_port=$((base + 2))
plain_port=$((base + 3))
seconds=${BENCH_SECONDS:-10}
lat_seconds=${BENCH_LATENCY_SECONDS:-5}
psql_runs=${BENCH_PSQL_RUNS:-300}
modes=${BENCH_MODES:-longpoll+sessions longpoll poll+sessions poll}
url=${BENCH_URL:-}
api_key=${BENCH_API_KEY:-}
state=/tmp/spectra-bench-query-$base
results=$repo/bench/results/query-latest.txt
sizes=(1 100 1000 10000)
own_pg=0
own_stack=0

if [ -n "$url" ]; then
    if [ -z "$api_key" ] || [ -z "${BENCH_PG_PORT:-}" ]; then
        echo "query.sh: BENCH_URL needs BENCH_API_KEY and BENCH_PG_PORT" >&2
        exit 2
    fi
    modes=external
else
    own_stack=1
    url=http://127.0.0.1:$http_port
fi

for tool in wrk psql pgbench curl jq /usr/sbin/nginx; do
    if ! command -v "$tool" > /dev/null; then
        echo "query.sh: $tool is missing (scripts/deps.sh)" >&2
        exit 1
    fi
done

say() {
    echo "query.sh: $*" >&2
}

cleanup() {
    set +e
    # the wrk scripts carry an API key
    rm -rf "$state/lua"
    stop_pid "$state/nginx/logs/nginx.pid"
    stop_pid "$state/plain/nginx.pid"
    if [ "$own_stack" = 1 ]; then
        bash "$repo/scripts/dataapi.sh" stop "$state" 2> /dev/null
    fi
    if [ "$own_pg" = 1 ]; then
        bash "$repo/scripts/pg.sh" stop "$state/pg"
    fi
}
trap cleanup EXIT

rm -rf "$state"
mkdir -p "$state/lua" "$state/plain"
chmod 755 "$state"

# --- the stack -------------------------------------------------------------

ports=("$plain_port")
if [ "$own_stack" = 1 ]; then
    ports+=("$http_port" "$api_port")
fi
if [ -z "${BENCH_PG_PORT:-}" ]; then
    ports+=("$pg_port")
fi
for port in "${ports[@]}"; do
    if ! port_free "$port"; then
        echo "query.sh: port $port is in use (BENCH_PORT_BASE)" >&2
        exit 1
    fi
done

if [ -z "${BENCH_PG_PORT:-}" ]; then
    own_pg=1
    say "starting PostgreSQL on 127.0.0.1:$pg_port, loading the demo"
    bash "$repo/scripts/pg.sh" start "$state/pg" "$pg_port"
    bash "$repo/scripts/pg.sh" demo "$state/pg" "$pg_port"
    bash "$repo/scripts/demo-credentials.sh" "$state/pg" "$pg_port" \
        "$state/dataapi"
    # pgbench's 32 clients are more than the demo's CONNECTION LIMIT
    PGPASSFILE=$state/pg.pgpass psql -X -q -w -h 127.0.0.1 -p "$pg_port" \
        -U postgres -d warehouse \
        -c 'ALTER ROLE tenant_acme CONNECTION LIMIT -1'
    pg_state=$state
else
    pg_state=${BENCH_PG_STATE:?BENCH_PG_PORT needs BENCH_PG_STATE}
    mkdir -p "$state/dataapi"
    chmod 700 "$state/dataapi"
    cp "$pg_state/dataapi/pg-password" "$pg_state/dataapi/secrets.json" \
        "$state/dataapi/"
fi
export PGPASSFILE=$pg_state/pg.pgpass
# psql and pgbench log in as the tenant, as the daemon does
tenant_password=$(jq -r '.[] | select(.username == "tenant_acme") | .password' \
                  "$state/dataapi/secrets.json")

if [ "$own_stack" = 1 ]; then
    if [ ! -f "$build/ngx_spectra_module.so" ]; then
        echo "query.sh: $build/ngx_spectra_module.so is missing" \
             "(make all BUILD=...)" >&2
        exit 1
    fi
    say "starting spectra-dataapi on 127.0.0.1:$api_port"
    SPECTRA_DATAAPI_ARGS="--max-running-per-user 4 --pool-per-user 4 ${SPECTRA_DATAAPI_ARGS:-}" \
        bash "$repo/scripts/dataapi.sh" start "$build" "$state" "$api_port" \
        "$pg_port"
    read -r access_key secret_key \
        < <(grep -v '^#' "$state/dataapi/keys" | head -n 1)
    bash "$repo/scripts/demo-auth.sh" "$state"
    api_key=$(jq -r '.tenants[] | select(.tenant_id == "acme") | .api_key' \
              "$state/auth/demo-auth.json")
    mkdir -p "$state/nginx/conf" "$state/nginx/logs" "$state/nginx/tmp" \
        "$state/nginx/data"
fi

# renders conf/spectra-local.conf for one mode; the per-tenant rate and
# connection limits and the statement queue are raised so that they are
# evaluated but never refuse the benchmark
render_conf() {
    local mode=$1 long_poll=0 keepalive=0 interval=''

    case "+$mode+" in
    *+longpoll+*) long_poll=10s ;;
    esac
    case "+$mode+" in
    *+sessions+*) keepalive=300s ;;
    esac
    case "+$mode+" in
    *+poll1ms+*) interval=' spectra_poll_interval 1ms;' ;;
    esac

    sed -e "s|@MODULE@|$build/ngx_spectra_module.so|g" \
        -e "s|@STATE@|$state|g" \
        -e "s|@HTTP_PORT@|$http_port|g" \
        -e "s|@DATAAPI_PORT@|$api_port|g" \
        -e "s|@AUTH_CONF@|$state/auth/auth.conf|g" \
        -e "s|@DATAAPI_ACCESS_KEY@|$access_key|g" \
        -e "s|@DATAAPI_SECRET_KEY@|$secret_key|g" \
        -e "s|rate=50r/s|rate=1000000r/s|" \
        -e "s|limit_conn spectra_tenant_conns [0-9]*;|limit_conn spectra_tenant_conns 1000;|" \
        -e "s|spectra_max_queued [0-9]*;|spectra_max_queued 100;|" \
        -e '/^ *spectra_\(long_poll\|session_keepalive\|poll_interval\) /d' \
        -e "s|^\( *\)\(spectra_database .*\)|&\\
\\1spectra_long_poll $long_poll;\\
\\1spectra_session_keepalive $keepalive;$interval|" \
        "$repo/conf/spectra-local.conf"
}

start_nginx() {
    local conf=$state/nginx/conf/nginx.conf

    (umask 077 && render_conf "$1" > "$conf")
    if ! grep -q "rate=1000000r/s" "$conf" \
        || ! grep -q '^ *spectra_long_poll ' "$conf"
    then
        echo "query.sh: conf/spectra-local.conf changed shape:" \
             "cannot render $conf" >&2
        exit 1
    fi
    rm -rf "$state/nginx/data"
    mkdir -p "$state/nginx/data"
    chown nobody: "$state/nginx/data"
    /usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf -t -q
    /usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf
    wait_port "$http_port" 10
}

start_plain_nginx() {
    plain_nginx_start "$state/plain" "$plain_port" 2
}

# --- measuring -------------------------------------------------------------

# wrk_run THREADS CONNECTIONS SECONDS SCRIPT URL: the BENCH line's fields
wrk_run() {
    wrk -t"$1" -c"$2" -d"$3"s --timeout 30s -s "$4" "$5" \
        | awk '$1 == "BENCH" { $1 = ""; print substr($0, 2) }'
}

# psql_latency ROWS: "p50_ms p99_ms" of the SQL run BENCH_PSQL_RUNS times
# in one session as the tenant role
psql_latency() {
    local sql i

    sql=$(sql_for "$1")
    {
        printf '%s\n' '\timing on'
        for ((i = 0; i < psql_runs; i++)); do
            echo "$sql;"
        done
    } | PGPASSWORD=$tenant_password \
        psql -X -q -A -t -o /dev/null -v ON_ERROR_STOP=1 -h 127.0.0.1 \
        -p "$pg_port" -U tenant_acme -d warehouse \
      | awk '$1 == "Time:" { print $2 }' | sort -n \
      | awk '{ v[NR] = $1 }
             END {
                 if (NR == 0) exit 1
                 p50 = int(NR * 0.50); if (p50 < NR * 0.50) p50++
                 p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++
                 printf "%.2f %.2f\n", v[p50], v[p99]
             }'
}

# pgbench_tps ROWS: "tps failed" of the SQL with 32 clients as the tenant
pgbench_tps() {
    local file=$state/pgbench-$1.sql

    printf '%s;\n' "$(sql_for "$1")" > "$file"
    PGPASSWORD=$tenant_password pgbench -n -h 127.0.0.1 -p "$pg_port" \
        -U tenant_acme -c 32 -j 2 -T "$seconds" -f "$file" warehouse \
        2> /dev/null \
      | awk '/^tps = / { tps = $3 }
             /^number of failed transactions:/ { failed = $5 }
             END { printf "%.1f %d\n", tps, failed }'
}

# check_answer ROWS: one query through nginx must give exactly ROWS rows
check_answer() {
    local answer

    answer=$(curl -sS -H "X-API-Key: $api_key" \
             -H 'Content-Type: application/json' \
             --data "$(jq -cn --arg sql "$(sql_for "$1")" \
                       '{sql: $sql, row_limit: 10000}')" \
             "$url/v1/queries")
    if [ "$(jq -r '"\(.metadata.row_count) \(.metadata.truncated)"' \
            <<< "$answer")" != "$1 false" ]
    then
        echo "query.sh: $1 rows: unexpected answer:" \
             "$(head -c 300 <<< "$answer")" >&2
        exit 1
    fi
}

ms() {
    awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0) ? a / b : 0 }'
}

# --- the run ---------------------------------------------------------------

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
lat_rows=()
tp_rows=()
target_rows=()
notes=()

for mode in $modes; do
    if [ "$own_stack" = 1 ]; then
        say "mode $mode: starting nginx on 127.0.0.1:$http_port"
        : > "$state/nginx/logs/error.log"
        start_nginx "$mode"
    fi

    p50_100=0 p50_10k=0 x_10k=0
    for rows in "${sizes[@]}"; do
        check_answer "$rows"
        wrk_script "$state/lua/latency-$rows.lua" "$rows" "$api_key"
        say "mode $mode: latency, $rows rows"
        read -r pg50 pg99 < <(psql_latency "$rows")
        read -r n _ w50 w99 sock bad \
            < <(wrk_run 1 1 "$lat_seconds" "$state/lua/latency-$rows.lua" \
                "$url/v1/queries")
        if [ "$sock" != 0 ] || [ "$bad" != 0 ]; then
            echo "query.sh: $rows rows: $sock socket errors, $bad bad" \
                 "answers of $n" >&2
            exit 1
        fi
        lat_rows+=("$(printf '%-18s %6s %9s %8s %9s %8s %7s %7s %6s' \
            "$mode" "$rows" "$(ms "$w50")" "$(ms "$w99")" "$pg50" "$pg99" \
            "$(ratio "$(ms "$w50")" "$pg50")" \
            "$(ratio "$(ms "$w99")" "$pg99")" "$n")")
        case $rows in
        100) p50_100=$(ms "$w50") ;;
        10000) p50_10k=$(ms "$w50") x_10k=$(ratio "$p50_10k" "$pg50") ;;
        esac
    done

    say "mode $mode: 32 clients, $seconds s"
    wrk_script "$state/lua/throughput.lua" 100 "$api_key"
    read -r n dur _ _ sock bad \
        < <(wrk_run 2 32 "$seconds" "$state/lua/throughput.lua" \
            "$url/v1/queries")
    qps=$(awk -v n="$n" -v d="$dur" 'BEGIN { printf "%.1f", n / (d / 1e6) }')
    read -r tps failed < <(pgbench_tps 100)
    tp_rows+=("$(printf '%-18s %10s %7d %7d %12s %7d %7s' "$mode" "$qps" \
        "$sock" "$bad" "$tps" "$failed" \
        "$(awk -v a="$qps" -v b="$tps" 'BEGIN { printf "%.3f", a / b }')")")
    target_rows+=("$(awk -v m="$mode" -v a="$p50_100" -v b="$p50_10k" \
        -v x="$x_10k" -v q="$qps" -v e=$((sock + bad)) \
        'function ok(c) { return c ? "yes" : "NO" }
         BEGIN {
             printf "%-18s %14s %16s %14s %18s", m, ok(a <= 10),
                    ok(b <= 100), ok(x <= 3), ok(q >= 500 && e == 0)
         }')")

    if [ "$own_stack" = 1 ]; then
        stop_pid "$state/nginx/logs/nginx.pid"
        crashes=$(grep -c 'exited on signal' "$state/nginx/logs/error.log" \
                  || true)
        errors=$(grep -c '\[\(error\|crit\|alert\|emerg\)\]' \
                 "$state/nginx/logs/error.log" || true)
        if [ "$crashes" != 0 ] || [ "$errors" != 0 ]; then
            notes+=("mode $mode: nginx error.log has $errors error lines," \
                    "$crashes worker crashes")
            cp "$state/nginx/logs/error.log" "$state/error-$mode.log"
        fi
    fi
done

say "ceiling: plain nginx return 200, 32 clients, $seconds s"
start_plain_nginx
cat > "$state/lua/plain.lua" <<'LUA'
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("BENCH %d %d %d %d %d %d\n",
        summary.requests, summary.duration,
        latency:percentile(50), latency:percentile(99),
        e.connect + e.read + e.write + e.timeout, e.status))
end
LUA
read -r n dur _ _ sock bad \
    < <(wrk_run 2 32 "$seconds" "$state/lua/plain.lua" \
        "http://127.0.0.1:$plain_port/")
stop_pid "$state/plain/nginx.pid"
tp_rows+=("$(printf '%-18s %10s %7d %7d %12s %7s %7s' 'nginx return 200' \
    "$(awk -v n="$n" -v d="$dur" 'BEGIN { printf "%.1f", n / (d / 1e6) }')" \
    "$sock" "$bad" - - -)")

report=$state/report.txt
{
    echo "Spectra query benchmark (bench/query.sh)," \
         "$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) CPUs ($(awk -F': ' \
        '/^model name/ { print $2; exit }' /proc/cpuinfo));" \
         "load average $load_before at start," \
         "$(cut -d' ' -f1-3 /proc/loadavg) at end"
    echo "nginx $(/usr/sbin/nginx -v 2>&1 | sed 's|.*nginx/||'), PostgreSQL" \
         "$(psql -X -h 127.0.0.1 -p "$pg_port" -U postgres \
            -d warehouse -Atc 'show server_version' | cut -d' ' -f1)," \
         "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
    echo "SQL: select * from sales order by id limit N (11 columns) as" \
         "tenant acme; row_limit 10000, result_format objects"
    echo
    printf 'Latency, ms: nginx = wrk, 1 keep-alive connection, %s s' \
        "$lat_seconds"
    printf ' per case; psql = %s statements in one session, \\timing\n' \
        "$psql_runs"
    printf '%-18s %6s %9s %8s %9s %8s %7s %7s %6s\n' mode rows 'nginx p50' \
        p99 'psql p50' p99 'x p50' 'x p99' n
    printf '%s\n' "${lat_rows[@]}"
    echo
    echo "Throughput, 100 rows, 32 clients, $seconds s: wrk -t2 -c32" \
         "(every answer checked) vs pgbench -c 32 -j 2"
    printf '%-18s %10s %7s %7s %12s %7s %7s\n' mode 'queries/s' sockerr \
        'not-ok' 'pgbench tps' failed ratio
    printf '%s\n' "${tp_rows[@]}"
    echo
    echo "Targets (issue 5)"
    printf '%-18s %14s %16s %14s %18s\n' mode '100r p50<=10ms' \
        '10kr p50<=100ms' '10kr <=3x psql' '>=500 q/s, 0 err'
    printf '%s\n' "${target_rows[@]}"
    if [ "${#notes[@]}" -gt 0 ]; then
        echo
        printf '%s\n' "${notes[@]}"
    fi
    echo
    echo "x = nginx / psql; ratio = nginx queries/s / pgbench tps; not-ok ="
    echo "answers other than 200 with the expected row count"
} > "$report"

mkdir -p "$(dirname "$results")"
cp "$report" "$results"
cat "$report"
