#!/usr/bin/env bash
# Load benchmark of make bench (bench/run.sh), three parts on one stack
# (nginx with ngx_spectra_module in the local config, long poll and Data
# API sessions, spectra-dataapi, PostgreSQL with the demo warehouse):
#
#   1. throughput by concurrency: the 100-row query (select * from sales
#      order by id limit 100 as tenant acme) with 1, 4, 8, 16, 32, 64
#      keep-alive clients (wrk, every answer checked: 200 and 100 rows),
#      each next to pgbench with as many clients on the same SQL as
#      tenant_acme, BENCH_LOAD_RUNS times, with the CPU time per query of
#      each process of the stack (nginx workers, spectra-dataapi,
#      PostgreSQL, wrk) during the wrk run;
#   2. event-loop health: nginx with ONE worker, the 32-client load of
#      part 1, and a probe (bench/answers-client.py health: one GET every
#      10 ms on a keep-alive connection) on "return 204" of the same
#      worker, and the same probe on a plain nginx at the same time (what
#      the machine's load alone does to a request); the probe's max and
#      p99 are the worker's longest stall as a client sees it;
#   3. memory: peak RSS (VmHWM, reset through /proc/PID/clear_refs before
#      the load) of the nginx worker and of spectra-dataapi during 4
#      clients of 10,000-row queries, and the bytes allocated per
#      10,000-row response (bench/malloc-count.c preloaded into nginx and
#      the daemon: malloc, calloc, realloc, posix_memalign ... sizes over
#      BENCH_ALLOC_REQUESTS sequential answers, divided by their number).
#
#   bench/load.sh [BUILD_DIR]
#
# Environment: BENCH_PORT_BASE (default 24420: nginx, PostgreSQL unless
# BENCH_PG_PORT, spectra-dataapi, the plain nginx), BENCH_PG_PORT and
# BENCH_PG_STATE to reuse a running demo PostgreSQL (as bench/query.sh),
# BENCH_SECONDS (each wrk and pgbench run, default 5), BENCH_LOAD_RUNS (3),
# BENCH_CLIENTS ("1 4 8 16 32 64"), BENCH_ALLOC_REQUESTS (20), BENCH_OUT
# (a directory for the TSV files, default bench/results/load).
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

base=${BENCH_PORT_BASE:-24420}
http_port=$base
pg_port=${BENCH_PG_PORT:-$((base + 1))}
api_port=$((base + 2))
plain_port=$((base + 3))
seconds=${BENCH_SECONDS:-5}
runs=${BENCH_LOAD_RUNS:-3}
clients_list=${BENCH_CLIENTS:-1 4 8 16 32 64}
alloc_n=${BENCH_ALLOC_REQUESTS:-20}
out=${BENCH_OUT:-$repo/bench/results/load}
state=/tmp/spectra-bench-load-$base
own_pg=0

for tool in wrk psql pgbench curl jq cc /usr/sbin/nginx /usr/bin/python3; do
    if ! command -v "$tool" > /dev/null; then
        echo "load.sh: $tool is missing (scripts/deps.sh)" >&2
        exit 1
    fi
done

say() {
    echo "load.sh: $*" >&2
}

cleanup() {
    set +e
    rm -rf "$state/lua"
    stop_pid "$state/nginx/logs/nginx.pid"
    stop_pid "$state/plain/nginx.pid"
    bash "$repo/scripts/dataapi.sh" stop "$state" 2> /dev/null
    if [ "$own_pg" = 1 ]; then
        bash "$repo/scripts/pg.sh" stop "$state/pg"
    fi
}
trap cleanup EXIT

rm -rf "$state"
mkdir -p "$state/lua" "$state/plain" "$state/mc" "$out"
chmod 755 "$state"
chmod 777 "$state/mc"

ports=("$plain_port" "$http_port" "$api_port")
if [ -z "${BENCH_PG_PORT:-}" ]; then
    ports+=("$pg_port")
fi
for port in "${ports[@]}"; do
    if ! port_free "$port"; then
        echo "load.sh: port $port is in use (BENCH_PORT_BASE)" >&2
        exit 1
    fi
done

cc -O2 -shared -fPIC -o "$state/malloc-count.so" "$here/malloc-count.c" \
    -lpthread

if [ -z "${BENCH_PG_PORT:-}" ]; then
    own_pg=1
    say "starting PostgreSQL on 127.0.0.1:$pg_port, loading the demo"
    bash "$repo/scripts/pg.sh" start "$state/pg" "$pg_port"
    bash "$repo/scripts/pg.sh" demo "$state/pg" "$pg_port"
    bash "$repo/scripts/demo-credentials.sh" "$state/pg" "$pg_port" \
        "$state/dataapi"
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
tenant_password=$(jq -r '.[] | select(.username == "tenant_acme")
                         | .password' "$state/dataapi/secrets.json")

say "starting spectra-dataapi on 127.0.0.1:$api_port"
MALLOC_COUNT_DIR=$state/mc LD_PRELOAD=$state/malloc-count.so \
SPECTRA_DATAAPI_ARGS="--max-running-per-user 4 --pool-per-user 4 ${SPECTRA_DATAAPI_ARGS:-}" \
    bash "$repo/scripts/dataapi.sh" start "$build" "$state" "$api_port" \
    "$pg_port"
daemon_pid=$(cat "$state/dataapi/pid")
read -r access_key secret_key \
    < <(grep -v '^#' "$state/dataapi/keys" | head -n 1)
bash "$repo/scripts/demo-auth.sh" "$state" > /dev/null
api_key=$(jq -r '.tenants[] | select(.tenant_id == "acme") | .api_key' \
          "$state/auth/demo-auth.json")
mkdir -p "$state/nginx/conf" "$state/nginx/logs" "$state/nginx/tmp"

# conf/spectra-local.conf as bench/query.sh renders it for longpoll+sessions
# (rate, connection and queue limits raised so that they never refuse),
# WORKERS workers, and a trivial location for the probe
render_conf() {
    sed -e "s|@MODULE@|$build/ngx_spectra_module.so|g" \
        -e "s|@STATE@|$state|g" \
        -e "s|@HTTP_PORT@|$http_port|g" \
        -e "s|@DATAAPI_PORT@|$api_port|g" \
        -e "s|@AUTH_CONF@|$state/auth/auth.conf|g" \
        -e "s|@DATAAPI_ACCESS_KEY@|$access_key|g" \
        -e "s|@DATAAPI_SECRET_KEY@|$secret_key|g" \
        -e "s|rate=50r/s|rate=1000000r/s|" \
        -e "s|limit_conn spectra_tenant_conns [0-9]*;|limit_conn spectra_tenant_conns 1000;|" \
        -e "s|limit_conn spectra_addr_conns [0-9]*;|limit_conn spectra_addr_conns 1000;|" \
        -e "s|spectra_max_queued [0-9]*;|spectra_max_queued 100;|" \
        -e "s|^worker_processes .*|worker_processes $1;|" \
        -e '/^ *spectra_\(long_poll\|session_keepalive\|poll_interval\) /d' \
        -e "s|^\( *\)\(spectra_database .*\)|&\\
\\1spectra_long_poll 10s;\\
\\1spectra_session_keepalive 300s;|" \
        -e "s|^\( *\)\(location = /v1/health {\)|\\1location = /bench-probe { return 204; }\\
\\1\\2|" \
        "$repo/conf/spectra-local.conf"
}

start_nginx() {
    local conf=$state/nginx/conf/nginx.conf

    (umask 077 && render_conf "$1" > "$conf")
    if ! grep -q "rate=1000000r/s" "$conf" \
        || ! grep -q '^ *spectra_long_poll 10s' "$conf" \
        || ! grep -q 'location = /bench-probe' "$conf"
    then
        echo "load.sh: conf/spectra-local.conf changed shape:" \
             "cannot render $conf" >&2
        exit 1
    fi
    rm -rf "$state/nginx/data"
    mkdir -p "$state/nginx/data"
    chown nobody: "$state/nginx/data"
    : > "$state/nginx/logs/error.log"
    /usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf -t -q
    MALLOC_COUNT_DIR=$state/mc LD_PRELOAD=$state/malloc-count.so \
        /usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf
    wait_port "$http_port" 10
    sleep 0.3
}

stop_nginx() {
    stop_pid "$state/nginx/logs/nginx.pid"
    if grep -q 'exited on signal' "$state/nginx/logs/error.log"; then
        echo "load.sh: an nginx worker crashed:" >&2
        grep 'exited on signal' "$state/nginx/logs/error.log" >&2
        exit 1
    fi
}

worker_pids() {
    pgrep -P "$(cat "$state/nginx/logs/nginx.pid")"
}

# wrk_run CLIENTS SECONDS SCRIPT: "requests/s p50_ms p99_ms errors
# requests wrk_cpu_ms" (wrk_cpu_ms: wrk's own user + system CPU time)
wrk_run() {
    local threads=2 TIMEFORMAT='%U %S'

    if [ "$1" -lt 2 ]; then
        threads=1
    fi
    { time wrk -t"$threads" -c"$1" -d"$2"s --timeout 30s -s "$3" \
          "http://127.0.0.1:$http_port/v1/queries" > "$state/wrk.out"; } \
        2> "$state/wrk.time"
    awk -v cpu="$(awk '{ print ($1 + $2) * 1000 }' "$state/wrk.time")" \
        '$1 == "BENCH" {
             printf "%.1f %.2f %.2f %d %d %.1f\n", $2 / ($3 / 1e6),
                    $4 / 1000, $5 / 1000, $6 + $7, $2, cpu }' "$state/wrk.out"
}

# ticks_of PID...: their user + system CPU time so far, in clock ticks
# (a process's threads are in its own figures)
ticks_of() {
    local p t sum=0

    # (a process may end between listing and reading it: it counts 0 here)
    for p in "$@"; do
        t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2> /dev/null) || t=0
        sum=$((sum + ${t:-0}))
    done
    echo "$sum"
}

# pg_ticks: PostgreSQL's CPU time so far, in clock ticks: the postmaster's
# own and that of its children that have ended (its cutime and cstime),
# and that of the children alive now
pg_ticks() {
    local pm

    pm=$(head -n 1 "$pg_state/pg/postmaster.pid" 2> /dev/null || true)
    if [ -z "$pm" ] || [ ! -r "/proc/$pm/stat" ]; then
        echo 0
        return
    fi
    echo $(($(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat") \
            + $(ticks_of $(pgrep -P "$pm"))))
}

# pgbench_tps CLIENTS: tps of the 100-row SQL as the tenant; pgbench's
# -T includes its connections (SCRAM, a few ms each on a loaded machine),
# its tps does not: a second more per 16 clients
pgbench_tps() {
    local file=$state/pgbench-100.sql threads=2 t=$((seconds + $1 / 16))

    if [ "$1" -lt 2 ]; then
        threads=1
    fi
    printf '%s;\n' "$(sql_for 100)" > "$file"
    PGPASSWORD=$tenant_password pgbench -n -h 127.0.0.1 -p "$pg_port" \
        -U tenant_acme -c "$1" -j "$threads" -T "$t" -f "$file" \
        warehouse 2> /dev/null \
      | awk '/^tps = / { printf "%.1f\n", $3 }'
}

check_answer() {
    local answer

    answer=$(curl -sS -H "X-API-Key: $api_key" \
             -H 'Content-Type: application/json' \
             --data "$(jq -cn --arg sql "$(sql_for "$1")" \
                       '{sql: $sql, row_limit: 10000}')" \
             "http://127.0.0.1:$http_port/v1/queries")
    if [ "$(jq -r '"\(.metadata.row_count) \(.metadata.truncated)"' \
            <<< "$answer")" != "$1 false" ]
    then
        echo "load.sh: $1 rows: unexpected answer:" \
             "$(head -c 300 <<< "$answer")" >&2
        exit 1
    fi
}

# the shim's counters of a process: "calls bytes"
alloc_of() {
    od -An -tu8 -w16 "$state/mc/$1" | awk '{ print $1, $2 }'
}

kib() {
    awk -v k="$2" '$1 == k ":" { print $2 }' "/proc/$1/status"
}

# --- 1. throughput by concurrency -------------------------------------------

wrk_script "$state/lua/q100.lua" 100 "$api_key"
wrk_script "$state/lua/q10k.lua" 10000 "$api_key"

say "throughput by concurrency, $runs runs x ($clients_list) clients"
start_nginx 2
check_answer 100
# with each run, the CPU time per query of every process of the stack (ms):
# the nginx workers, spectra-dataapi, PostgreSQL and wrk itself; what two
# CPUs can serve at that cost is their sum's ceiling
hz=$(getconf CLK_TCK)
{
    printf 'run\tclients\tqueries_s\tp50_ms\tp99_ms\terrors\tpgbench_tps'
    printf '\tnginx_cpu_ms\tdataapi_cpu_ms\tpostgres_cpu_ms\twrk_cpu_ms\n'
    for ((run = 1; run <= runs; run++)); do
        for c in $clients_list; do
            workers=$(worker_pids | tr '\n' ' ')
            # shellcheck disable=SC2086
            w0=$(ticks_of $workers)
            d0=$(ticks_of "$daemon_pid")
            p0=$(pg_ticks)
            read -r qps p50 p99 errs n wrk_ms \
                < <(wrk_run "$c" "$seconds" "$state/lua/q100.lua")
            # shellcheck disable=SC2086
            w1=$(ticks_of $workers)
            d1=$(ticks_of "$daemon_pid")
            p1=$(pg_ticks)
            tps=$(pgbench_tps "$c")
            cpu=$(awk -v n="$n" -v hz="$hz" -v w=$((w1 - w0)) \
                      -v d=$((d1 - d0)) -v p=$((p1 - p0)) -v k="$wrk_ms" \
                      'BEGIN {
                           if (n < 1) n = 1
                           printf "%.3f\t%.3f\t%.3f\t%.3f",
                                  w * 1000 / hz / n, d * 1000 / hz / n,
                                  p * 1000 / hz / n, k / n }')
            printf '%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$c" "$qps" \
                "$p50" "$p99" "$errs" "$tps" "$cpu"
            say "run $run, $c clients: $qps q/s ($errs errors), pgbench $tps," \
                "CPU ms/query nginx, dataapi, postgres, wrk: $cpu"
        done
    done
} > "$out/concurrency.tsv"
stop_nginx

# --- 2. event-loop health ---------------------------------------------------

say "event loop: 1 worker, 32 clients, probes at 100/s"
start_nginx 1
check_answer 100
plain_nginx_start "$state/plain" "$plain_port" 1
probe() {
    /usr/bin/python3 "$here/answers-client.py" health "$1" "$2" \
        "$state/probe-stop"
}
rm -f "$state/probe-stop"
probe "http://127.0.0.1:$http_port/bench-probe" 3 > "$state/probe-idle.txt"
probe "http://127.0.0.1:$http_port/bench-probe" $((seconds + 30)) \
    > "$state/probe-load.txt" &
probe_pid=$!
probe "http://127.0.0.1:$plain_port/" $((seconds + 30)) \
    > "$state/probe-plain.txt" &
plain_probe_pid=$!
sleep 0.5
worker=$(worker_pids | head -n 1)
t0=$(awk '{ print $14 + $15 }' "/proc/$worker/stat")
read -r qps p50 p99 errs _ \
    < <(wrk_run 32 "$seconds" "$state/lua/q100.lua")
t1=$(awk '{ print $14 + $15 }' "/proc/$worker/stat")
touch "$state/probe-stop"
wait "$probe_pid" "$plain_probe_pid"
# probe lines: sent_unix latency_ms status
stats() {
    local bad

    bad=$(awk '$3 != 204 && $3 != 200' "$1" | wc -l)
    awk '{ print $2 }' "$1" | sort -g \
      | awk -v bad="$bad" '{ v[++n] = $1 }
             END {
                 if (n == 0) { print "0 0 0 0 0"; exit }
                 p50 = int(n * 0.50); if (p50 < 1) p50 = 1
                 p99 = int(n * 0.99); if (p99 < 1) p99 = 1
                 printf "%d %.2f %.2f %.2f %d\n", n, v[p50], v[p99], v[n], bad
             }'
}
{
    printf 'case\tn\tp50_ms\tp99_ms\tmax_ms\tnot_ok\n'
    printf 'worker return 204, idle\t%s\n' \
        "$(stats "$state/probe-idle.txt" | tr ' ' '\t')"
    printf 'worker return 204, 32 clients\t%s\n' \
        "$(stats "$state/probe-load.txt" | tr ' ' '\t')"
    printf 'plain nginx, same time\t%s\n' \
        "$(stats "$state/probe-plain.txt" | tr ' ' '\t')"
    printf 'load\t%s queries/s\t%s errors\tworker CPU %s s\n' "$qps" "$errs" \
        "$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" \
           'BEGIN { printf "%.2f", (b - a) / hz }')"
} > "$out/eventloop.tsv"
stop_pid "$state/plain/nginx.pid"
cp "$state/probe-load.txt" "$out/probe-load.txt"

# --- 2b. the worker's loop turns, and where its time goes --------------------
# The same load with strace on the worker tracing only epoll_wait: the time
# from one epoll_wait's return to the next call is one turn of the event
# loop (every event of that turn handled), which the probe waits behind;
# strace adds its own cost to each turn, so these are upper bounds. perf
# record (cpu-clock) shows where the worker's time goes meanwhile.
say "event loop: the worker's loop turns under strace, perf profile"
strace -p "$worker" -e trace=epoll_wait -ttt -T -o "$state/strace.txt" &
strace_pid=$!
perf_pid=''
if command -v perf > /dev/null; then
    perf record -F 499 -g -p "$worker" -o "$state/perf.data" \
        > /dev/null 2>&1 &
    perf_pid=$!
fi
sleep 0.5
read -r qps_s _ _ errs_s _ < <(wrk_run 32 "$seconds" "$state/lua/q100.lua")
kill -INT "$strace_pid" 2> /dev/null
if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2> /dev/null
fi
wait "$strace_pid" 2> /dev/null || true
if [ -n "$perf_pid" ]; then
    wait "$perf_pid" 2> /dev/null || true
fi
# lines: "1733140000.123456 epoll_wait(8, [...], 512, 500) = 3 <0.000123>"
awk '$2 ~ /^epoll_wait\(/ && $NF ~ /^<[0-9.]+>$/ {
         t = $1; d = substr($NF, 2, length($NF) - 2)
         if (have) print (t - last) * 1000
         last = t + d; have = 1 }' "$state/strace.txt" | sort -g \
  | awk -v q="$qps_s" -v e="$errs_s" '{ v[++n] = $1 }
         END {
             if (n == 0) { print "turns\t0"; exit }
             p50 = int(n * 0.50); if (p50 < 1) p50 = 1
             p99 = int(n * 0.99); if (p99 < 1) p99 = 1
             over = 0
             for (i = 1; i <= n; i++) if (v[i] > 5) over++
             printf "turns\t%d\t%.2f\t%.2f\t%.2f\t%d\t%s queries/s, %s errors\n",
                    n, v[p50], v[p99], v[n], over, q, e
         }' > "$out/loopturns.tsv"
if [ -s "$state/perf.data" ]; then
    # (head ends the pipes early: not a failure)
    {
        perf report -i "$state/perf.data" --stdio --no-children -g none \
            --sort dso 2> /dev/null | grep -v '^#' | grep '%' | head -n 12
        echo
        perf report -i "$state/perf.data" --stdio --no-children -g none \
            --sort dso,symbol 2> /dev/null | grep -v '^#' | grep '%' \
            | head -n 25
    } > "$out/worker-perf.txt" || true
fi

# --- 3. memory --------------------------------------------------------------

say "memory: 10,000-row answers"
check_answer 10000
echo 5 > "/proc/$worker/clear_refs"
echo 5 > "/proc/$daemon_pid/clear_refs"
w_base=$(kib "$worker" VmHWM)
d_base=$(kib "$daemon_pid" VmHWM)
read -r qps10k p50_10k _ errs10k _ \
    < <(wrk_run 4 "$seconds" "$state/lua/q10k.lua")
w_hwm=$(kib "$worker" VmHWM)
d_hwm=$(kib "$daemon_pid" VmHWM)

body=$(jq -cn --arg sql "$(sql_for 10000)" '{sql: $sql, row_limit: 10000}')
read -r wc0 wb0 < <(alloc_of "$worker")
read -r dc0 db0 < <(alloc_of "$daemon_pid")
for ((i = 0; i < alloc_n; i++)); do
    curl -sS -o /dev/null -H "X-API-Key: $api_key" \
        -H 'Content-Type: application/json' --data "$body" \
        "http://127.0.0.1:$http_port/v1/queries"
done
read -r wc1 wb1 < <(alloc_of "$worker")
read -r dc1 db1 < <(alloc_of "$daemon_pid")
size=$(curl -sS -o /dev/null -w '%{size_download}' -H "X-API-Key: $api_key" \
       -H 'Content-Type: application/json' --data "$body" \
       "http://127.0.0.1:$http_port/v1/queries")
{
    printf 'process\tbase_kib\tpeak_kib\tcalls_per_response\tbytes_per_response\n'
    printf 'nginx worker\t%s\t%s\t%s\t%s\n' "$w_base" "$w_hwm" \
        $(((wc1 - wc0) / alloc_n)) $(((wb1 - wb0) / alloc_n))
    printf 'spectra-dataapi\t%s\t%s\t%s\t%s\n' "$d_base" "$d_hwm" \
        $(((dc1 - dc0) / alloc_n)) $(((db1 - db0) / alloc_n))
    printf 'load\t4 clients, %s queries/s, p50 %s ms, %s errors\n' \
        "$qps10k" "$p50_10k" "$errs10k"
    printf 'response_bytes\t%s\n' "$size"
} > "$out/memory.tsv"
stop_nginx

cat "$out/concurrency.tsv" "$out/eventloop.tsv" "$out/memory.tsv"
