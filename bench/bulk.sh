#!/usr/bin/env bash
# A 1,000,000-row CSV+gzip export end to end through the real stack, next
# to psql's \copy of the same query as the same tenant on the same
# PostgreSQL in the same run: POST /v1/bulk (a demo tenant's API key),
# GET /v1/bulk/{id} polled until COMPLETED, then every file downloaded
# through its presigned URL from the verifying local object store (nginx,
# spectra_object_store on), against
#   psql -c "\copy (SAME QUERY) to program 'gzip > file' with (format csv)"
# as the tenant's database user. Prints the ratio (target <= 1.3x) and
# spectra-dataapi's peak RSS (VmHWM) before and after the export.
#
#   bench/bulk.sh [BUILD_DIR]          (default $BUILD, else build/)
#
# It starts its own PostgreSQL (demo warehouse), spectra-dataapi (its
# exports under the state directory's objects/) and nginx on
# BENCH_PORT_BASE .. +2, stops everything and removes the exported and
# downloaded files at exit, prints a table and writes it to
# bench/results/bulk-latest.txt.
#
# Environment:
#   BENCH_PORT_BASE     first of the loopback ports (default 22460): nginx,
#                       PostgreSQL, spectra-dataapi (base .. base+2)
#   BENCH_BULK_TENANT   the demo tenant (default acme: 600,000 rows of
#                       sales, read twice and cut at 1,000,000)
#   BENCH_BULK_ROWS     rows of the export (default 1000000)
#   SPECTRA_DATAAPI_ARGS  extra spectra-dataapi flags
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/../scripts/env.sh"

if [ $# -gt 0 ]; then
    build=$(cd "$1" && pwd)
fi

base=${BENCH_PORT_BASE:-22460}
http_port=$base
pg_port=$((base + 1))
api_port=$((base + 2))
tenant=${BENCH_BULK_TENANT:-acme}
rows=${BENCH_BULK_ROWS:-1000000}
state=/tmp/spectra-bench-bulk-$base
url=http://127.0.0.1:$http_port
results=$repo/bench/results/bulk-latest.txt
target=1.3

case $tenant in
acme | globex) ;;
*)
    # tenant_initech has no secret: its password is minted by the daemon
    echo "bulk.sh: BENCH_BULK_TENANT must be acme or globex" >&2
    exit 2
    ;;
esac
case $rows in
'' | *[!0-9]*)
    echo "bulk.sh: BENCH_BULK_ROWS must be a number" >&2
    exit 2
    ;;
esac

for tool in psql curl jq gzip /usr/sbin/nginx; do
    if ! command -v "$tool" > /dev/null; then
        echo "bulk.sh: $tool is missing (scripts/deps.sh)" >&2
        exit 1
    fi
done

if [ ! -f "$build/ngx_spectra_module.so" ] \
    || [ ! -x "$build/spectra-dataapi" ]
then
    echo "bulk.sh: $build has no module or spectra-dataapi (make -s)" >&2
    exit 1
fi

say() {
    echo "bulk.sh: $*" >&2
}

cleanup() {
    set +e
    stop_pid "$state/nginx/logs/nginx.pid"
    bash "$repo/scripts/dataapi.sh" stop "$state" 2> /dev/null
    bash "$repo/scripts/pg.sh" stop "$state/pg" 2> /dev/null
    # hundreds of MB: the exports, the downloads, psql's file
    rm -rf "$state/objects" "$state/download" "$state/psql.csv.gz" \
        "$state/tenant.pgpass"
}
trap cleanup EXIT

for port in "$http_port" "$pg_port" "$api_port"; do
    if ! port_free "$port"; then
        echo "bulk.sh: port $port is in use (BENCH_PORT_BASE)" >&2
        exit 1
    fi
done

rm -rf "$state"
mkdir -p "$state/nginx/conf" "$state/nginx/logs" "$state/nginx/tmp" \
    "$state/download"
chmod 755 "$state"
notes=()

# --- the stack -------------------------------------------------------------

say "starting PostgreSQL on 127.0.0.1:$pg_port, loading the demo"
bash "$repo/scripts/pg.sh" start "$state/pg" "$pg_port"
bash "$repo/scripts/pg.sh" demo "$state/pg" "$pg_port"
bash "$repo/scripts/demo-credentials.sh" "$state/pg" "$pg_port" \
    "$state/dataapi"

# psql logs in as the tenant's own database user, with the password its
# secret holds (a pgpass file: never on a command line)
(
    umask 077
    jq -r --arg u "tenant_$tenant" --arg p "$pg_port" \
        'to_entries[] | select(.value.username == $u)
         | "127.0.0.1:\($p):warehouse:\($u):\(.value.password)"' \
        "$state/dataapi/secrets.json" > "$state/tenant.pgpass"
)
if [ ! -s "$state/tenant.pgpass" ]; then
    echo "bulk.sh: no secret for tenant_$tenant" >&2
    exit 1
fi

say "starting spectra-dataapi on 127.0.0.1:$api_port"
bash "$repo/scripts/dataapi.sh" start "$build" "$state" "$api_port" \
    "$pg_port"
dataapi_pid=$(cat "$state/dataapi/pid")
read -r access_key secret_key \
    < <(grep -v '^#' "$state/dataapi/keys" | head -n 1)
bash "$repo/scripts/demo-auth.sh" "$state"
api_key=$(jq -r --arg t "$tenant" \
          '.tenants[] | select(.tenant_id == $t) | .api_key' \
          "$state/auth/demo-auth.json")

# The exports as t/063-bulk.t has them: the module signs links for this
# same server (path style), which serves the daemon's export directory
# (bucket/key) at /spectra-exports/ after verifying each presigned URL, and
# proxies the module's own reads (the manifests) from /_spectra/s3/ to it.
render_conf() {
    cat <<CONF
load_module $build/ngx_spectra_module.so;

worker_processes 1;
error_log $state/nginx/logs/error.log notice;
pid $state/nginx/logs/nginx.pid;

events {
    worker_connections 1024;
}

http {
    default_type application/json;
    log_format bench '\$msec \$request_time \$status \$body_bytes_sent '
                     '"\$request_method \$uri"';
    access_log $state/nginx/logs/access.log bench;

    client_body_temp_path $state/nginx/tmp/client_body;
    proxy_temp_path $state/nginx/tmp/proxy;
    fastcgi_temp_path $state/nginx/tmp/fastcgi;
    uwsgi_temp_path $state/nginx/tmp/uwsgi;
    scgi_temp_path $state/nginx/tmp/scgi;
    client_max_body_size 1m;
    client_body_buffer_size 1m;

    spectra_jobs_db $state/nginx/data/jobs.db;
    spectra_dataapi_url http://127.0.0.1:$api_port/;
    spectra_dataapi_host 127.0.0.1:$api_port;
    spectra_aws_region us-east-1;
    spectra_aws_access_key_id $access_key;
    spectra_aws_secret_access_key $secret_key;
    spectra_cluster_identifier spectra-local;
    spectra_database warehouse;

    spectra_export_bucket spectra-exports;
    spectra_export_prefix exports;
    spectra_s3_endpoint http://127.0.0.1:$http_port;
    spectra_s3_path_style on;

    upstream spectra_dataapi {
        server 127.0.0.1:$api_port;
        keepalive 32;
    }

    upstream spectra_objects {
        server 127.0.0.1:$http_port;
    }

    server {
        listen 127.0.0.1:$http_port;
        include $state/auth/auth.conf;

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

        # the module's reads of the object store (the manifests)
        location /_spectra/s3/ {
            internal;
            proxy_pass http://spectra_objects/;
            proxy_set_header Host \$spectra_host;
            subrequest_output_buffer_size 1m;
        }

        # the local object store: the presigned URL is verified, then the
        # file is sent
        location /spectra-exports/ {
            spectra_auth off;
            spectra_object_store on;
            root $state/objects;
        }
    }
}
CONF
}

(umask 077 && render_conf > "$state/nginx/conf/nginx.conf")
mkdir -p "$state/nginx/data"
chown nobody: "$state/nginx/data"
/usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf -t -q
/usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf
wait_port "$http_port" 10

# --- the measurements ---------------------------------------------------------

# acme's sales read twice, cut at ROWS: the tenant's row-level security
# applies to both sides alike
sql="select * from (select s.* from sales s cross join generate_series(1, 2) g limit $rows) x"

status_kb() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

mib() {
    awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'
}

now() {
    echo "$EPOCHREALTIME"
}

tenant_psql() {
    PGPASSFILE=$state/tenant.pgpass psql -X -q -w -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$pg_port" -U "tenant_$tenant" -d warehouse "$@"
}

# export SQL: POST /v1/bulk, GET /v1/bulk/{id} every 0.1 s until it has
# finished, every file downloaded into $state/download; prints
# "job_id accepted_s completed_s done_s files bytes manifest_rows exec_ms"
# (times from the POST; exec_ms: the job's execution_time_ms, the Data
# API's Duration of the UNLOAD)
export_run() {
    local body t0 t1 t2 t3 out code job id status i n bytes mrows name
    local furl size got exec_ms

    body=$(jq -cn --arg sql "$1" \
           '{sql: $sql, format: "csv", compression: "gzip"}')
    t0=$(now)
    out=$(curl -sS -H "X-API-Key: $api_key" \
          -H 'Content-Type: application/json' --data-binary "$body" \
          -w '\n%{http_code}' "$url/v1/bulk")
    t1=$(now)
    code=$(tail -n 1 <<< "$out")
    if [ "$code" != 202 ]; then
        echo "bulk.sh: POST /v1/bulk answered $code: $(head -n 1 <<< "$out")" \
             >&2
        return 1
    fi
    id=$(head -n 1 <<< "$out" | jq -r .job_id)
    for ((i = 0; ; i++)); do
        job=$(curl -sS -H "X-API-Key: $api_key" "$url/v1/bulk/$id")
        status=$(jq -r .status <<< "$job")
        case $status in
        PENDING | RUNNING) ;;
        *) break ;;
        esac
        if ((i > 12000)); then
            echo "bulk.sh: $id still $status after 20 minutes" >&2
            return 1
        fi
        sleep 0.1
    done
    t2=$(now)
    if [ "$status" != COMPLETED ]; then
        echo "bulk.sh: the export $id is $status: $job" >&2
        return 1
    fi
    n=$(jq '.result.files | length' <<< "$job")
    mrows=$(jq '[.result.files[].rows] | add // 0' <<< "$job")
    exec_ms=$(jq -r '.execution_time_ms // "-"' <<< "$job")
    bytes=0
    for ((i = 0; i < n; i++)); do
        read -r furl size < <(jq -r --argjson i "$i" \
            '.result.files[$i] | "\(.url) \(.size)"' <<< "$job")
        name=${furl%%\?*}
        name=$(printf '%04d-%s' "$i" "${name##*/}")
        code=$(curl -sS -o "$state/download/$name" -w '%{http_code}' "$furl")
        if [ "$code" != 200 ]; then
            echo "bulk.sh: file $i answered $code ($furl)" >&2
            return 1
        fi
        got=$(stat -c %s "$state/download/$name")
        if [ "$got" != "$size" ]; then
            echo "bulk.sh: file $i: $got bytes, the manifest says $size" >&2
            return 1
        fi
        bytes=$((bytes + got))
    done
    t3=$(now)
    awk -v id="$id" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" \
        -v n="$n" -v b="$bytes" -v r="$mrows" -v e="$exec_ms" 'BEGIN {
            printf "%s %.3f %.3f %.3f %d %d %d %s\n", id, t1 - t0, t2 - t0,
                   t3 - t0, n, b, r, e
        }'
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# Warm-up: the query once as the tenant (shared buffers for both sides),
# and one small export (the daemon's connection, code paths and libraries,
# the module's job store and manifest reads), so that neither side pays
# for a first time
say "warm-up: the query as tenant_$tenant, a one-row export"
warm_rows=$(tenant_psql -Atc "select count(*) from ($sql) q")
if [ "$warm_rows" != "$rows" ]; then
    echo "bulk.sh: the query has $warm_rows rows, not $rows" >&2
    exit 1
fi
export_run "select 1 as a" > /dev/null
rm -f "$state/download/"*

say "psql: \\copy ($rows rows) to program 'gzip > file'"
hwm_idle=$(status_kb "$dataapi_pid" VmHWM)
rss_idle=$(status_kb "$dataapi_pid" VmRSS)
p0=$(now)
tenant_psql -c "\\copy ($sql) to program 'gzip > $state/psql.csv.gz' with (format csv)"
p1=$(now)
psql_s=$(awk -v a="$p0" -v b="$p1" 'BEGIN { printf "%.3f", b - a }')
psql_bytes=$(stat -c %s "$state/psql.csv.gz")

say "export: POST /v1/bulk ($rows rows, csv, gzip), poll, download"
hwm_before=$(status_kb "$dataapi_pid" VmHWM)
rss_before=$(status_kb "$dataapi_pid" VmRSS)
read -r job_id accepted_s completed_s bulk_s files bulk_bytes manifest_rows \
    exec_ms < <(export_run "$sql")
if [ -z "${bulk_s:-}" ]; then
    echo "bulk.sh: the export failed (see above, $state/nginx/logs)" >&2
    exit 1
fi
hwm_after=$(status_kb "$dataapi_pid" VmHWM)
rss_after=$(status_kb "$dataapi_pid" VmRSS)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# what each side wrote (outside the timings)
say "checking both outputs"
psql_lines=$(gzip -dc "$state/psql.csv.gz" | wc -l)
psql_raw=$(gzip -dc "$state/psql.csv.gz" | wc -c)
bulk_lines=$(cat "$state/download/"* | gzip -dc | wc -l)
bulk_raw=$(cat "$state/download/"* | gzip -dc | wc -c)
if [ "$bulk_lines" != "$rows" ]; then
    notes+=("the export's files hold $bulk_lines lines, not $rows")
fi
if [ "$manifest_rows" != "$rows" ]; then
    notes+=("the manifest counts $manifest_rows rows, not $rows")
fi
if [ "$psql_lines" != "$rows" ]; then
    notes+=("psql's file holds $psql_lines lines, not $rows")
fi
errors=$(grep -c '\[\(error\|crit\|alert\|emerg\)\]\|exited on signal' \
         "$state/nginx/logs/error.log" || true)
if [ "$errors" != 0 ]; then
    cp "$state/nginx/logs/error.log" "$state/error.log"
    notes+=("nginx error.log: $errors error lines (kept in $state/error.log)")
fi

ratio=$(awk -v a="$bulk_s" -v b="$psql_s" 'BEGIN { printf "%.2f", a / b }')
met=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r <= t) ? "yes" : "NO" }')

{
    echo "Spectra bench bulk (bench/bulk.sh), $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) CPUs ($(awk -F': ' \
        '/^model name/ { print $2; exit }' /proc/cpuinfo));" \
         "load average $load_before at start, $load_after at end"
    echo "commit $(git -C "$repo" rev-parse --short HEAD); nginx" \
         "$(/usr/sbin/nginx -v 2>&1 | sed 's|.*nginx/||'), PostgreSQL" \
         "$(tenant_psql -Atc 'show server_version' | cut -d' ' -f1)"
    echo
    echo "$rows rows as tenant_$tenant, CSV + gzip, one run each:"
    echo "  $sql"
    echo
    printf '%-40s %9s %6s %12s %12s %9s\n' case seconds files 'gzip bytes' \
        'CSV bytes' lines
    printf '%-40s %9s %6s %12s %12s %9s\n' \
        "psql \\copy to program 'gzip > file'" "$psql_s" 1 "$psql_bytes" \
        "$psql_raw" "$psql_lines"
    printf '%-40s %9s %6s %12s %12s %9s\n' \
        "POST /v1/bulk .. last file downloaded" "$bulk_s" "$files" \
        "$bulk_bytes" "$bulk_raw" "$bulk_lines"
    printf '   %-37s %9s\n' "202 Accepted" "$accepted_s" \
        "GET /v1/bulk/{id}: COMPLETED" "$completed_s" \
        "  (the UNLOAD's execution_time_ms)" \
        "$(awk -v e="$exec_ms" 'BEGIN {
               if (e == "-") print "-"; else printf "%.3f", e / 1000 }')" \
        "files downloaded (presigned URLs)" \
        "$(awk -v a="$bulk_s" -v b="$completed_s" \
           'BEGIN { printf "%.3f", a - b }')"
    echo
    echo "ratio bulk / psql: ${ratio}x (target <= ${target}x: met: $met)"
    echo
    echo "spectra-dataapi memory, MiB (VmHWM = peak RSS since it started):"
    printf '   %-37s %9s %9s\n' '' VmHWM VmRSS
    printf '   %-37s %9s %9s\n' "after the warm-up" "$(mib "$hwm_idle")" \
        "$(mib "$rss_idle")"
    printf '   %-37s %9s %9s\n' "before the export" "$(mib "$hwm_before")" \
        "$(mib "$rss_before")"
    printf '   %-37s %9s %9s\n' "after the export" "$(mib "$hwm_after")" \
        "$(mib "$rss_after")"
    echo "   peak growth during the export: +$(mib $((hwm_after - hwm_before)))" \
         "MiB"
    echo "export $job_id; manifest rows $manifest_rows"
    if [ "${#notes[@]}" -gt 0 ]; then
        printf '%s\n' "${notes[@]}"
    fi
} > "$state/final.txt"

mkdir -p "$(dirname "$results")"
cp "$state/final.txt" "$results"
cat "$state/final.txt"
