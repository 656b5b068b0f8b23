#!/usr/bin/env bash
# Issue 9's bench answers, measured in one run with their baselines from the
# same run: the nginx worker's peak memory per 10,000-row answer (the module
# of today against the module before the statement engine rewrite), the
# time from a client's disconnect to CancelStatement, and /v1/health's
# latency while six 1,600-column answers stream from the same worker.
#
#   bench/answers.sh [BUILD_DIR]          (default $BUILD, else build/)
#
# It starts its own PostgreSQL (demo warehouse), spectra-dataapi and nginx
# (worker_processes 1) on BENCH_PORT_BASE .. +3, builds the "before" module
# in a temporary git worktree, stops and removes everything at exit, prints
# a table and writes it to bench/results/answers-latest.txt.
#
# Environment:
#   BENCH_PORT_BASE     first of four loopback ports (default 22420): nginx,
#                       PostgreSQL, spectra-dataapi, a plain nginx
#   BENCH_PARTS         what to measure (default "memory cancel health")
#   BENCH_BEFORE_REV    the "before" revision (default fb2dc7f: main just
#                       before the statement engine rewrite, 9d8d6d2 and
#                       db04588)
#   BENCH_BEFORE_BUILD  a build directory that already holds that
#                       revision's ngx_spectra_module.so (skips the build)
#   BENCH_CANCEL_TRIALS disconnect trials (default 10)
#   BENCH_HEALTH_ROWS   rows of each 1,600-column query (default 2000)
#   BENCH_HEALTH_ROUNDS rounds of six such queries at once (default 3)
#   BENCH_HEALTH_SECONDS  each idle latency baseline (default 5)
#   SPECTRA_DATAAPI_ARGS  extra spectra-dataapi flags
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/../scripts/env.sh"
# shellcheck source=bench/plain-nginx.sh
. "$here/plain-nginx.sh"

if [ $# -gt 0 ]; then
    build=$(cd "$1" && pwd)
fi

base=${BENCH_PORT_BASE:-22420}
http_port=$base
pg_port=$((base + 1))
api_port=$((base + 2))
plain_port=$((base + 3))
parts=${BENCH_PARTS:-memory cancel health}
before_rev=${BENCH_BEFORE_REV:-fb2dc7f}
before_build=${BENCH_BEFORE_BUILD:-}
cancel_trials=${BENCH_CANCEL_TRIALS:-10}
health_rows=${BENCH_HEALTH_ROWS:-2000}
health_rounds=${BENCH_HEALTH_ROUNDS:-3}
idle_seconds=${BENCH_HEALTH_SECONDS:-5}
state=/tmp/spectra-bench-answers-$base
before_src=$state/before-src
url=http://127.0.0.1:$http_port
results=$repo/bench/results/answers-latest.txt
client=$here/answers-client.py
python=/usr/bin/python3

# the figures issue 9 recorded for the module before the rewrite, used
# only when that module cannot be built or run here
recorded_bytes=736000000
recorded_peak_mib=761

for tool in psql curl jq git "$python" /usr/sbin/nginx; do
    if ! command -v "$tool" > /dev/null; then
        echo "answers.sh: $tool is missing (scripts/deps.sh)" >&2
        exit 1
    fi
done

if [ ! -f "$build/ngx_spectra_module.so" ] \
    || [ ! -x "$build/spectra-dataapi" ]
then
    echo "answers.sh: $build has no module or spectra-dataapi (make -s)" >&2
    exit 1
fi

say() {
    echo "answers.sh: $*" >&2
}

has_part() {
    case " $parts " in
    *" $1 "*) return 0 ;;
    esac
    return 1
}

cleanup() {
    set +e
    rm -f "$state/body-"*.json
    stop_pid "$state/nginx/logs/nginx.pid"
    stop_pid "$state/plain/nginx.pid"
    bash "$repo/scripts/dataapi.sh" stop "$state" 2> /dev/null
    bash "$repo/scripts/pg.sh" stop "$state/pg" 2> /dev/null
    if [ -d "$before_src" ]; then
        git -C "$repo" worktree remove --force "$before_src"
    fi
}
trap cleanup EXIT

for port in "$http_port" "$pg_port" "$api_port" "$plain_port"; do
    if ! port_free "$port"; then
        echo "answers.sh: port $port is in use (BENCH_PORT_BASE)" >&2
        exit 1
    fi
done

if [ -d "$before_src" ]; then
    git -C "$repo" worktree remove --force "$before_src"
fi
rm -rf "$state"
mkdir -p "$state/plain" "$state/nginx/conf" "$state/nginx/logs" \
    "$state/nginx/tmp"
chmod 755 "$state"
notes=()

# --- the module before the rewrite ----------------------------------------

# Its own worktree and build directory; the same nginx and flags
# (scripts/configure-nginx.sh of that revision).
before_ok=0
if has_part memory; then
    if [ -z "$before_build" ]; then
        say "building the module of $before_rev in a temporary worktree"
        before_build=$state/before-build
        if git -C "$repo" worktree add --force --detach "$before_src" \
                "$before_rev" > /dev/null 2>&1 \
            && make -s -C "$before_src" BUILD="$before_build" module \
                > "$state/before-build.log" 2>&1
        then
            before_ok=1
        else
            notes+=("the module of $before_rev did not build" \
                    "($state/before-build.log): before = issue 9's figures")
        fi
    elif [ -f "$before_build/ngx_spectra_module.so" ]; then
        before_ok=1
    fi
fi

# --- the stack -------------------------------------------------------------

say "starting PostgreSQL on 127.0.0.1:$pg_port, loading the demo"
bash "$repo/scripts/pg.sh" start "$state/pg" "$pg_port"
bash "$repo/scripts/pg.sh" demo "$state/pg" "$pg_port"
bash "$repo/scripts/demo-credentials.sh" "$state/pg" "$pg_port" \
    "$state/dataapi"
export PGPASSFILE=$state/pg.pgpass

# Pages of 8 MiB as make run has them (they must fit the
# subrequest_output_buffer_size of 16m); six statements of one tenant
# at once.
say "starting spectra-dataapi on 127.0.0.1:$api_port"
SPECTRA_DATAAPI_ARGS="--page-bytes 8388608 --workers 8 \
--max-running-per-user 8 --pool-per-user 8 --max-statements 200 \
${SPECTRA_DATAAPI_ARGS:-}" \
    bash "$repo/scripts/dataapi.sh" start "$build" "$state" "$api_port" \
    "$pg_port"
read -r access_key secret_key \
    < <(grep -v '^#' "$state/dataapi/keys" | head -n 1)
bash "$repo/scripts/demo-auth.sh" "$state"
api_key=$(jq -r '.tenants[] | select(.tenant_id == "acme") | .api_key' \
          "$state/auth/demo-auth.json")

# render_conf MODULE KIND: nginx.conf for one module; KIND "before" (the
# directives of fb2dc7f only), "after" (today's, spectra_byte_limit raised
# to 1024m so that a 10,000-row answer is not cut), "after-default"
# (today's with its default byte limit, 25m) or "after-wide" (as "after",
# with spectra_output_buffers 8 256k: see the 1,600-column case). One
# worker, so that every request shares it.
render_conf() {
    local module=$1 kind=$2 extra=''

    case $kind in
    after*)
        extra="spectra_dataapi_url http://127.0.0.1:$api_port/;"
        ;;
    esac
    case $kind in
    after | after-wide)
        extra="$extra
    spectra_byte_limit 1024m;"
        ;;
    esac
    if [ "$kind" = after-wide ]; then
        extra="$extra
    spectra_output_buffers 8 256k;"
    fi

    cat <<CONF
load_module $module;

worker_processes 1;
error_log $state/nginx/logs/error.log notice;
pid $state/nginx/logs/nginx.pid;

events {
    worker_connections 1024;
}

http {
    default_type application/json;
    log_format bench '\$msec \$request_time \$status \$body_bytes_sent '
                     '"\$request"';
    access_log $state/nginx/logs/access.log bench;

    client_body_temp_path $state/nginx/tmp/client_body;
    proxy_temp_path $state/nginx/tmp/proxy;
    fastcgi_temp_path $state/nginx/tmp/fastcgi;
    uwsgi_temp_path $state/nginx/tmp/uwsgi;
    scgi_temp_path $state/nginx/tmp/scgi;
    client_max_body_size 1m;
    client_body_buffer_size 1m;

    spectra_jobs_db $state/nginx/data/jobs.db;
    spectra_session_zone spectra_sessions:1m;
    spectra_dataapi_host 127.0.0.1:$api_port;
    spectra_aws_region us-east-1;
    spectra_aws_access_key_id $access_key;
    spectra_aws_secret_access_key $secret_key;
    spectra_cluster_identifier spectra-local;
    spectra_database warehouse;
    spectra_long_poll 10s;
    spectra_session_keepalive 300s;
    $extra

    upstream spectra_dataapi {
        server 127.0.0.1:$api_port;
        keepalive 32;
    }

    server {
        listen 127.0.0.1:$http_port;
        include $state/auth/auth.conf;

        location = /v1/health {
            spectra_auth off;
            spectra_api;
        }

        location /v1/ {
            spectra_api;
        }

        location /_spectra/dataapi {
            internal;
            proxy_pass http://spectra_dataapi/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$spectra_host;
            proxy_ignore_client_abort on;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            subrequest_output_buffer_size 16m;
        }
    }
}
CONF
}

# start_nginx MODULE KIND: a fresh nginx (a fresh worker, an empty job
# store)
start_nginx() {
    local conf=$state/nginx/conf/nginx.conf

    stop_pid "$state/nginx/logs/nginx.pid"
    (umask 077 && render_conf "$1" "$2" > "$conf")
    rm -rf "$state/nginx/data"
    mkdir -p "$state/nginx/data"
    chown nobody: "$state/nginx/data"
    /usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf -t -q
    /usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf
    wait_port "$http_port" 10
}

worker_pid() {
    ps -o pid= --ppid "$(cat "$state/nginx/logs/nginx.pid")" | tr -d ' '
}

# status_kb PID FIELD: VmHWM or VmRSS in kB
status_kb() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# body_file NAME SQL FORMAT [JSON]: a POST /v1/queries body, in a file (the
# SQL of the wide cases is long)
body_file() {
    local file=$state/body-$1.json more=${4:-'{}'}

    jq -cn --arg sql "$2" --arg f "$3" --argjson more "$more" \
        '{sql: $sql, row_limit: 10000, result_format: $f} + $more' > "$file"
    echo "$file"
}

# fetch BODY_FILE [MAX_SECONDS]: "status bytes first_byte_s total_s
# row_count truncated" of one POST /v1/queries, the answer read to its end
# and dropped but for its tail (the metadata); row_count and truncated are
# "-" for an answer cut short
fetch() {
    local tail=$state/tail-$BASHPID stats rows trunc

    curl -sS -H "X-API-Key: $api_key" -H 'Content-Type: application/json' \
        --max-time "${2:-600}" --data-binary "@$1" \
        -w '\n%{http_code} %{size_download} %{time_starttransfer} %{time_total}\n' \
        "$url/v1/queries" | tail -c 2000 > "$tail" || true
    stats=$(tail -n 1 "$tail")
    rows=$(grep -o '"row_count":[0-9]*' "$tail" | tail -n 1 | cut -d: -f2 \
           || true)
    trunc=$(grep -o '"truncated":[a-z]*' "$tail" | tail -n 1 | cut -d: -f2 \
            || true)
    rm -f "$tail"
    echo "$stats ${rows:--} ${trunc:--}"
}

mib() {
    awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'
}

# pctl FILE COLUMN: "n p50 p99 max" of a column of numbers
pctl() {
    sort -g -k "$2,$2" "$1" \
      | awk -v c="$2" '{ v[NR] = $c }
             END {
                 if (NR == 0) { print "0 - - -"; exit }
                 p50 = int(NR * 0.50); if (p50 < NR * 0.50) p50++
                 p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++
                 printf "%d %.2f %.2f %.2f\n", NR, v[p50], v[p99], v[NR]
             }'
}

# name N: a 60-character column name, as BI tools generate them
name60() {
    local prefix

    printf -v prefix '%-56s' 'quarterly_revenue_by_region_product_and_channel'
    printf '%s_%03d' "${prefix// /x}" "$1"
}

sql_narrow="select * from sales order by id limit 10000"

sql_hostile="select "
for ((i = 1; i <= 200; i++)); do
    sql_hostile+="g as \"$(name60 "$i")\", "
done
sql_hostile="${sql_hostile%, } from generate_series(1, 10000) g"

# 1,600 columns, every second one named "dup" (800 times: the names are
# made unique, dup, dup_2 .. dup_800)
sql_wide="select "
for ((i = 1; i <= 1600; i++)); do
    if ((i % 2 == 0)); then
        sql_wide+="g as dup, "
    else
        sql_wide+="g as c$i, "
    fi
done
sql_wide="${sql_wide%, } from generate_series(1, $health_rows) g"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
report=$state/report.txt
: > "$report"

# --- 1. worker memory per request --------------------------------------------

# measure_memory REV MODULE KIND CASE SQL FORMAT: one line of the table
measure_memory() {
    local rev=$1 module=$2 kind=$3 name=$4 sql=$5 fmt=$6
    local body warm pid hwm0 hwm1 rss1 out

    start_nginx "$module" "$kind"
    # the first query of a worker opens the job store, the Data API
    # connection and the session: that belongs to the baseline
    warm=$(body_file warm "select 1 as a" "$fmt")
    read -r code _ < <(fetch "$warm")
    if [ "$code" != 200 ]; then
        echo "answers.sh: $rev: warm-up query answered $code" \
             "(see $state/nginx/logs/error.log)" >&2
        return 1
    fi
    pid=$(worker_pid)
    # reset the peak to the current resident size (Linux >= 4.0)
    echo 5 > "/proc/$pid/clear_refs"
    hwm0=$(status_kb "$pid" VmHWM)
    body=$(body_file case "$sql" "$fmt")
    out=$(fetch "$body")
    # the last byte reaches curl before the request's pool is freed
    sleep 0.2
    hwm1=$(status_kb "$pid" VmHWM)
    rss1=$(status_kb "$pid" VmRSS)
    if [ "$(worker_pid)" != "$pid" ]; then
        notes+=("$rev $name $fmt: the worker died (error.log)")
    fi
    read -r code bytes first total rows trunc <<< "$out"
    printf '%-9s %-22s %-8s %6s %12s %6s %5s %9s %9s %8s %7.3f %7.3f\n' \
        "$rev" "$name" "$fmt" "$code" "$bytes" "$rows" "$trunc" \
        "$(mib "$hwm0")" "$(mib $((hwm1 - hwm0)))" "$(mib "$rss1")" \
        "$first" "$total"
    stop_pid "$state/nginx/logs/nginx.pid"
}

if has_part memory; then
    mem=$state/memory.txt
    : > "$mem"
    cases=("narrow (sales, 11 col)|$sql_narrow"
           "hostile (200 x 60 ch)|$sql_hostile")
    for c in "${cases[@]}"; do
        for fmt in objects arrays; do
            if [ "$before_ok" = 1 ]; then
                say "memory: before, ${c%%|*}, $fmt"
                measure_memory before "$before_build/ngx_spectra_module.so" \
                    before "${c%%|*}" "${c#*|}" "$fmt" >> "$mem" \
                    || notes+=("before ${c%%|*} $fmt: no answer")
            fi
            say "memory: after, ${c%%|*}, $fmt"
            measure_memory after "$build/ngx_spectra_module.so" after \
                "${c%%|*}" "${c#*|}" "$fmt" >> "$mem"
        done
    done
    say "memory: after, hostile, objects, default byte_limit"
    measure_memory after-25m "$build/ngx_spectra_module.so" after-default \
        "hostile (200 x 60 ch)" "$sql_hostile" objects >> "$mem"

    {
        echo "1. nginx worker peak memory per request, 10,000-row results"
        echo "   (worker_processes 1, a fresh nginx per line; peak = VmHWM"
        echo "   growth over the request, reset after a warm-up query)"
        printf '%-9s %-22s %-8s %6s %12s %6s %5s %9s %9s %8s %7s %7s\n' \
            rev case format status 'bytes' rows trunc 'base MiB' \
            'peak +MiB' 'RSS then' 'first s' 'total s'
        cat "$mem"
        echo
        printf '%-22s %-8s %14s %14s %12s\n' case format \
            'before +MiB' 'after +MiB' 'after/before'
        awk -v ok="$before_ok" -v rb="$recorded_bytes" \
            -v rp="$recorded_peak_mib" '
            {
                # the case name has spaces: the fields from the end
                key = substr($0, 11, 31)
                peak[$1, key] = $(NF - 3)
                if (!(key in seen)) { seen[key] = 1; order[++n] = key }
            }
            END {
                for (i = 1; i <= n; i++) {
                    k = order[i]
                    a = peak["after", k]
                    b = peak["before", k]
                    if (b == "" && !ok && k ~ /^hostile.*objects/) {
                        b = rp " (issue)"
                    }
                    if (b == "") b = "-"
                    r = (b + 0 > 0) ? sprintf("%.3f", a / b) : "-"
                    printf "%-31s %14s %14s %12s\n", k, b, a, r
                }
            }' "$mem"
        echo
    } >> "$report"
fi

# --- 2. client disconnect to CancelStatement ---------------------------------

# the watcher: waits (as the superuser, in the server, so at the server's
# clock) until a statement whose text has MARK is active, then until it is
# not; prints "seen <epoch>" and "gone <epoch>" (NOTICE lines)
watch_sql() {
    cat <<SQL
SET client_min_messages = notice;
DO \$\$
DECLARE
    seen boolean := false;
    t0 timestamptz := clock_timestamp();
    busy boolean;
BEGIN
    LOOP
        PERFORM pg_stat_clear_snapshot();
        SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                       WHERE state = 'active' AND pid <> pg_backend_pid()
                         AND query LIKE '%$1%')
          INTO busy;
        IF busy AND NOT seen THEN
            seen := true;
            RAISE NOTICE 'seen %', extract(epoch FROM clock_timestamp());
        ELSIF NOT busy AND seen THEN
            RAISE NOTICE 'gone %', extract(epoch FROM clock_timestamp());
            RETURN;
        END IF;
        IF clock_timestamp() - t0 > interval '90 s' THEN
            RAISE NOTICE 'timeout %', extract(epoch FROM clock_timestamp());
            RETURN;
        END IF;
        PERFORM pg_sleep(0.002);
    END LOOP;
END
\$\$;
SQL
}

# cancel_seen CLOSED: the time (epoch) spectra-dataapi read the first
# CancelStatement after CLOSED, from strace's record of its reads; empty
# if none came within 5 s
cancel_seen() {
    local i at

    for ((i = 0; i < 100; i++)); do
        at=$(awk -v c="$1" '/RedshiftData\.CancelStatement/ && $2 >= c - 1 {
                                print $2; exit
                            }' "$state/strace.txt")
        if [ -n "$at" ]; then
            echo "$at"
            return 0
        fi
        sleep 0.05
    done
}

if has_part cancel; then
    say "cancel: $cancel_trials trials"
    start_nginx "$build/ngx_spectra_module.so" after
    # spectra-dataapi logs no call: its reads say when a CancelStatement
    # arrives (every thread, only the calls that read)
    strace -f -ttt -qq -s 1024 -e trace=read,recvfrom -e signal=none \
        -o "$state/strace.txt" -p "$(cat "$state/dataapi/pid")" &
    tracer=$!
    sleep 1
    can=$state/cancel.txt
    : > "$can"
    for ((t = 1; t <= cancel_trials; t++)); do
        mark=bench_cancel_${t}_$RANDOM
        # 10^10 rows: minutes of work, stopped only by the cancel
        body=$(body_file cancel "select count(*) as $mark
            from generate_series(1, 100000) a, generate_series(1, 100000) b" \
            objects '{"wait_timeout_seconds": 60, "timeout_seconds": 120}')
        watch_sql "$mark" | psql -X -q -w -h 127.0.0.1 -p "$pg_port" \
            -U postgres -d warehouse > /dev/null 2> "$state/watch.txt" &
        watcher=$!
        read -r sent closed got < <("$python" "$client" cancel 127.0.0.1 \
            "$http_port" "$api_key" "$body" 1.0)
        wait "$watcher" || true
        seen=$(awk '/NOTICE: *seen/ { print $NF }' "$state/watch.txt")
        gone=$(awk '/NOTICE: *gone/ { print $NF }' "$state/watch.txt")
        call=$(cancel_seen "$closed")
        awk -v t="$t" -v sent="$sent" -v closed="$closed" -v got="$got" \
            -v seen="${seen:-0}" -v gone="${gone:-0}" -v call="${call:-0}" '
            function ms(x) { return sprintf("%.1f", x * 1000) }
            BEGIN {
                c = (call > 0) ? ms(call - closed) : "-"
                g = (gone > 0) ? ms(gone - closed) : "-"
                ok = (got == 0 && seen > 0 && seen < closed) ? "yes" : "NO"
                printf "%5d %6s %9s %12s %10s\n", t, ok, ms(closed - sent),
                       c, g
            }' >> "$can"
    done
    kill "$tracer"
    wait "$tracer" || true
    cancelled=$(curl -sS -H "X-API-Key: $api_key" \
                "$url/v1/jobs?status=CANCELLED&limit=100" \
                | jq '.jobs | length')
    stop_pid "$state/nginx/logs/nginx.pid"

    {
        echo "2. client disconnect -> CancelStatement, ms after the client's"
        echo "   close (the query ran 1 s first: a cross join counting 10^10"
        echo "   rows); valid = the statement was running and no byte came"
        printf '%5s %6s %9s %12s %10s\n' trial valid 'open ms' \
            'dataapi read' 'pg stopped'
        cat "$can"
        for col in 4 5; do
            awk -v c="$col" '$2 == "yes" && $c != "-" { print $c }' "$can" \
                > "$state/col-$col.txt"
        done
        printf '%-40s %4s %8s %8s\n' '' n median max
        for spec in "4|spectra-dataapi reads CancelStatement" \
                    "5|statement no longer active (pg)"; do
            read -r n p50 _ max < <(pctl "$state/col-${spec%%|*}.txt" 1)
            printf '%-40s %4s %8s %8s\n' "${spec#*|}" "$n" "$p50" "$max"
        done
        echo "jobs CANCELLED afterwards: $cancelled of $cancel_trials"
        echo
    } >> "$report"
fi

# --- 3. /v1/health next to six 1,600-column answers --------------------------

start_plain_nginx() {
    plain_nginx_start "$state/plain" "$plain_port" 1
}

# health_line LABEL FILE: "label n p50 p99 max <50ms" of a probe's samples
health_line() {
    local n p50 p99 max bad

    read -r n p50 p99 max < <(pctl "$2" 2)
    bad=$(awk '$3 != 200' "$2" | wc -l)
    printf '%-44s %6s %8s %8s %8s %7s %6s\n' "$1" "$n" "$p50" "$p99" \
        "$max" "$(awk -v m="$max" 'BEGIN { print (m < 50) ? "yes" : "NO" }')" \
        "$bad"
}

# cpu_ticks PID: user + system clock ticks of a process so far
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

if has_part health; then
    say "health: baselines, $idle_seconds s each"
    start_plain_nginx
    "$python" "$client" health "http://127.0.0.1:$plain_port/" \
        "$idle_seconds" "$state/none" > "$state/h-plain.txt"

    # With the default spectra_output_buffers (8 64k) a 1,600-column
    # answer of this shape stalls or is cut (bench/README.md): one, alone,
    # with 15 s to finish, says whether it still does
    start_nginx "$build/ngx_spectra_module.so" after
    wide=$(body_file wide "$sql_wide" objects)
    read -r canary < <(fetch "$wide" 15 2> /dev/null)

    start_nginx "$build/ngx_spectra_module.so" after-wide
    "$python" "$client" health "$url/v1/health" "$idle_seconds" \
        "$state/none" > "$state/h-idle.txt"

    say "health: $health_rounds rounds of six 1,600-column answers of" \
        "$health_rows rows"
    # the same probe on the plain nginx at the same time: what the load of
    # the machine alone does to a request
    rm -f "$state/stop"
    "$python" "$client" health "$url/v1/health" 900 "$state/stop" \
        > "$state/h-load.txt" &
    probe=$!
    "$python" "$client" health "http://127.0.0.1:$plain_port/" 900 \
        "$state/stop" > "$state/h-plain-load.txt" &
    plain_probe=$!
    pid=$(worker_pid)
    ticks0=$(cpu_ticks "$pid")
    : > "$state/windows.txt"
    : > "$state/wide.txt"
    for ((round = 1; round <= health_rounds; round++)); do
        loaders=()
        for ((i = 1; i <= 6; i++)); do
            (
                start=$(date +%s.%N)
                out=$(fetch "$wide")
                echo "$start $out"
            ) > "$state/wide-$i.txt" &
            loaders+=($!)
        done
        wait "${loaders[@]}"
        cat "$state"/wide-[1-6].txt >> "$state/wide.txt"
        # streaming: the first byte of the first answer to the last byte
        # of the last
        cat "$state"/wide-[1-6].txt \
            | awk 'NR == 1 || $1 + $4 < a { a = $1 + $4 }
                   NR == 1 || $1 + $5 > b { b = $1 + $5 }
                   END { printf "%.6f %.6f\n", a, b }' >> "$state/windows.txt"
    done
    ticks1=$(cpu_ticks "$pid")
    touch "$state/stop"
    wait "$probe" "$plain_probe"
    stop_pid "$state/nginx/logs/nginx.pid"
    stop_pid "$state/plain/nginx.pid"

    for f in h-load h-plain-load; do
        awk 'NR == FNR { a[NR] = $1; b[NR] = $2; n = NR; next }
             { for (i = 1; i <= n; i++) if ($1 >= a[i] && $1 <= b[i]) {
                   print; next
               } }' "$state/windows.txt" "$state/$f.txt" \
            > "$state/$f-stream.txt"
    done
    streaming=$(awk '{ t += $2 - $1 } END { printf "%.2f", t }' \
                "$state/windows.txt")
    worker_cpu=$(awk -v t=$((ticks1 - ticks0)) -v hz="$(getconf CLK_TCK)" \
                 -v w="$streaming" 'BEGIN { printf "%.2f", t / hz }')

    {
        echo "3. latency of a 10 ms probe on one keep-alive connection," \
             "ms (worker_processes 1)"
        printf '%-44s %6s %8s %8s %8s %7s %6s\n' case n p50 p99 max \
            '<50 ms' not-200
        health_line "plain nginx return 200, idle" "$state/h-plain.txt"
        health_line "/v1/health, idle" "$state/h-idle.txt"
        health_line "/v1/health, 6 answers streaming" \
            "$state/h-load-stream.txt"
        health_line "plain nginx, same time (other process)" \
            "$state/h-plain-load-stream.txt"
        health_line "/v1/health, whole loaded run" "$state/h-load.txt"
        echo "the answers ($health_rounds rounds of six at once; 1,600" \
             "columns, 800 named dup, $health_rows rows, objects):"
        printf '   %6s %12s %6s %5s %8s %8s %6s\n' status bytes rows trunc \
            'first s' 'total s' count
        awk '{ print $2, $3, $6, $7 }' "$state/wide.txt" | sort | uniq -c \
            | while read -r count code bytes rows trunc; do
                read -r _ first total < <(awk -v c="$code" -v b="$bytes" \
                    '$2 == c && $3 == b { f += $4; t += $5; n++ }
                     END { printf "x %.3f %.3f\n", f / n, t / n }' \
                    "$state/wide.txt")
                printf '   %6s %12s %6s %5s %8s %8s %6s\n' "$code" \
                    "$bytes" "$rows" "$trunc" "$first" "$total" "$count"
            done
        echo "   (first s, total s: means) streaming ${streaming} s in all;" \
             "the worker used ${worker_cpu} s of CPU over the rounds"
        echo "   spectra_output_buffers 8 256k; the same answer alone with" \
             "the default 8 64k:"
        read -r code bytes first total rows trunc <<< "$canary"
        printf '   %6s %12s %6s %5s %8s %8s\n' "$code" "$bytes" "$rows" \
            "$trunc" "$first" "$total"
        echo
    } >> "$report"
fi

errors=$(grep -c '\[\(error\|crit\|alert\|emerg\)\]\|exited on signal' \
         "$state/nginx/logs/error.log" || true)
if [ "$errors" != 0 ]; then
    notes+=("nginx error.log: $errors error lines (kept in $state/error.log)")
    cp "$state/nginx/logs/error.log" "$state/error.log"
fi

{
    echo "Spectra bench answers (bench/answers.sh), issue 9," \
         "$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) CPUs ($(awk -F': ' \
        '/^model name/ { print $2; exit }' /proc/cpuinfo));" \
         "load average $load_before at start," \
         "$(cut -d' ' -f1-3 /proc/loadavg) at end"
    echo "after = $(git -C "$repo" rev-parse --short HEAD)," \
         "before = $before_rev; nginx $(/usr/sbin/nginx -v 2>&1 \
         | sed 's|.*nginx/||'), PostgreSQL $(psql -X -h 127.0.0.1 \
         -p "$pg_port" -U postgres -d warehouse -Atc 'show server_version' \
         | cut -d' ' -f1)"
    echo
    cat "$report"
    if [ "${#notes[@]}" -gt 0 ]; then
        printf '%s\n' "${notes[@]}"
    fi
} > "$state/final.txt"

mkdir -p "$(dirname "$results")"
cp "$state/final.txt" "$results"
cat "$state/final.txt"
