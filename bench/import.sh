#!/usr/bin/env bash
# A 1,000,000-row CSV+gzip import end to end through the real stack, next
# to psql's \copy of the same file into the same table on the same
# PostgreSQL in the same run: POST /v1/imports (a demo tenant's API key),
# the file PUT to the presigned upload URL (the verifying local object
# store: nginx, spectra_object_store on, written by the dav module),
# PATCH {"state": "UploadComplete"}, GET /v1/imports/{id} polled until
# JobComplete (spectra-dataapi's COPY as the tenant's role, under its
# row-level security), against
#   psql -c "\copy events from program 'gzip -dc file' with (format csv)"
# Prints the ratio.
#
# The baseline runs as the superuser: PostgreSQL refuses COPY FROM into
# a table with row-level security for any role it applies to ("COPY FROM
# not supported with row-level security"), so the tenant itself cannot
# \copy into events; the superuser bypasses RLS and its \copy is the
# fastest load PostgreSQL offers, a lower bound the import is held to.
#
#   bench/import.sh [BUILD_DIR]        (default $BUILD, else build/)
#
# It starts its own PostgreSQL (demo warehouse), spectra-dataapi and nginx
# on BENCH_PORT_BASE .. +2, stops everything and removes the files at
# exit, prints a table and writes it to bench/results/import-latest.txt.
#
# Environment:
#   BENCH_PORT_BASE      first of the loopback ports (default 22470)
#   BENCH_IMPORT_TENANT  the demo tenant (default acme; acme or globex)
#   BENCH_IMPORT_ROWS    rows of the file (default 1000000)
#   SPECTRA_DATAAPI_ARGS extra spectra-dataapi flags
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/../scripts/env.sh"

if [ $# -gt 0 ]; then
    build=$(cd "$1" && pwd)
fi

base=${BENCH_PORT_BASE:-22470}
http_port=$base
pg_port=$((base + 1))
api_port=$((base + 2))
tenant=${BENCH_IMPORT_TENANT:-acme}
rows=${BENCH_IMPORT_ROWS:-1000000}
state=/tmp/spectra-bench-import-$base
url=http://127.0.0.1:$http_port
results=$repo/bench/results/import-latest.txt

case $tenant in
acme | globex) ;;
*)
    echo "import.sh: BENCH_IMPORT_TENANT must be acme or globex" >&2
    exit 2
    ;;
esac
case $rows in
'' | *[!0-9]*)
    echo "import.sh: BENCH_IMPORT_ROWS must be a number" >&2
    exit 2
    ;;
esac

for tool in psql curl jq gzip /usr/sbin/nginx; do
    if ! command -v "$tool" > /dev/null; then
        echo "import.sh: $tool is missing (scripts/deps.sh)" >&2
        exit 1
    fi
done

if [ ! -f "$build/ngx_spectra_module.so" ] \
    || [ ! -x "$build/spectra-dataapi" ]
then
    echo "import.sh: $build has no module or spectra-dataapi (make -s)" >&2
    exit 1
fi

say() {
    echo "import.sh: $*" >&2
}

cleanup() {
    set +e
    stop_pid "$state/nginx/logs/nginx.pid"
    bash "$repo/scripts/dataapi.sh" stop "$state" 2> /dev/null
    bash "$repo/scripts/pg.sh" stop "$state/pg" 2> /dev/null
    rm -rf "$state/objects" "$state/events.csv.gz" "$state/tenant.pgpass"
}
trap cleanup EXIT

for port in "$http_port" "$pg_port" "$api_port"; do
    if ! port_free "$port"; then
        echo "import.sh: port $port is in use (BENCH_PORT_BASE)" >&2
        exit 1
    fi
done

rm -rf "$state"
mkdir -p "$state/nginx/conf" "$state/nginx/logs" "$state/nginx/tmp"
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
    echo "import.sh: no secret for tenant_$tenant" >&2
    exit 1
fi

say "starting spectra-dataapi on 127.0.0.1:$api_port"
bash "$repo/scripts/dataapi.sh" start "$build" "$state" "$api_port" \
    "$pg_port"
read -r access_key secret_key \
    < <(grep -v '^#' "$state/dataapi/keys" | head -n 1)
bash "$repo/scripts/demo-auth.sh" "$state"
api_key=$(jq -r --arg t "$tenant" \
          '.tenants[] | select(.tenant_id == $t) | .api_key' \
          "$state/auth/demo-auth.json")

# The imports as t/069-imports-load.t has them: the module presigns the
# upload for this same server (path style), which verifies the PUT and
# writes it into the daemon's object directory (bucket/key), and proxies
# the module's own HEAD of the upload from /_spectra/s3/ to it.
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

    spectra_import_tables events;
    spectra_import_prefix imports;
    spectra_import_max_size 1g;

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

        # the module's reads of the object store (the HEAD of an upload)
        location /_spectra/s3/ {
            internal;
            proxy_pass http://spectra_objects/;
            proxy_set_header Host \$spectra_host;
            subrequest_output_buffer_size 1m;
        }

        # the local object store: the presigned PUT is verified, then
        # nginx's dav module writes the upload (a temporary file renamed)
        location /spectra-exports/ {
            spectra_auth off;
            spectra_object_store on;
            root $state/objects;
            log_not_found off;
            spectra_object_store_uploads on;
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
            client_max_body_size 1g;
        }
    }
}
CONF
}

(umask 077 && render_conf > "$state/nginx/conf/nginx.conf")
# nginx's workers (nobody) write the uploads; spectra-dataapi reads them
mkdir -p "$state/objects/spectra-exports/imports"
chown nobody: "$state/objects/spectra-exports/imports"
mkdir -p "$state/nginx/data"
chown nobody: "$state/nginx/data"
/usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf -t -q
/usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf
wait_port "$http_port" 10

# --- the measurements ---------------------------------------------------------

now() {
    echo "$EPOCHREALTIME"
}

superuser_psql() {
    PGPASSFILE=$state/pg.pgpass psql -X -q -w -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$pg_port" -U postgres -d warehouse "$@"
}

tenant_psql() {
    PGPASSFILE=$state/tenant.pgpass psql -X -q -w -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$pg_port" -U "tenant_$tenant" -d warehouse "$@"
}

# events N FILE: N rows of the tenant's own, kind "bench-import", as
# CSV + gzip (the file both sides load)
events() {
    awk -v n="$1" -v t="$tenant" 'BEGIN {
            for (i = 1; i <= n; i++) {
                printf "%s,%d,bench-import,2026-11-%02dT%02d:%02d:00Z,%d.%02d\n",
                       t, i, 1 + i % 28, i % 24, i % 60, i % 1000, i % 100
            }
        }' | gzip > "$2"
}

say "writing $rows rows of events (CSV + gzip)"
events "$rows" "$state/events.csv.gz"
events 10 "$state/warm.csv.gz"
file_bytes=$(stat -c %s "$state/events.csv.gz")

# import FILE: POST, PUT, PATCH, GET polled every 0.1 s until the import
# has ended; prints "job_id created_s uploaded_s patched_s done_s state
# rows_loaded exec_ms" (times from the POST)
import_run() {
    local body t0 t1 t2 t3 t4 out code job id state i upload exec_ms

    body='{"table": "events", "format": "csv", "compression": "gzip"}'
    t0=$(now)
    out=$(curl -sS -H "X-API-Key: $api_key" \
          -H 'Content-Type: application/json' --data-binary "$body" \
          -w '\n%{http_code}' "$url/v1/imports")
    t1=$(now)
    code=$(tail -n 1 <<< "$out")
    if [ "$code" != 201 ]; then
        echo "import.sh: POST /v1/imports answered $code: $(head -n 1 <<< "$out")" >&2
        return 1
    fi
    id=$(head -n 1 <<< "$out" | jq -r .job_id)
    upload=$(head -n 1 <<< "$out" | jq -r .upload_url)
    code=$(curl -sS -o /dev/null -w '%{http_code}' -T "$1" "$upload")
    t2=$(now)
    if [ "$code" != 201 ]; then
        echo "import.sh: the PUT answered $code" >&2
        return 1
    fi
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X PATCH \
           -H "X-API-Key: $api_key" -H 'Content-Type: application/json' \
           --data-binary '{"state": "UploadComplete"}' "$url/v1/imports/$id")
    t3=$(now)
    if [ "$code" != 202 ] && [ "$code" != 200 ]; then
        echo "import.sh: PATCH answered $code" >&2
        return 1
    fi
    for ((i = 0; ; i++)); do
        job=$(curl -sS -H "X-API-Key: $api_key" "$url/v1/imports/$id")
        state=$(jq -r .state <<< "$job")
        case $state in
        Open | UploadComplete | InProgress) ;;
        *) break ;;
        esac
        if ((i > 12000)); then
            echo "import.sh: $id still $state after 20 minutes" >&2
            return 1
        fi
        sleep 0.1
    done
    t4=$(now)
    if [ "$state" != JobComplete ]; then
        echo "import.sh: the import $id is $state: $job" >&2
        return 1
    fi
    exec_ms=$(jq -r '.execution_time_ms // "-"' <<< "$job")
    awk -v id="$id" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" \
        -v t4="$t4" -v s="$state" -v r="$(jq -r .rows_loaded <<< "$job")" \
        -v e="$exec_ms" 'BEGIN {
            printf "%s %.3f %.3f %.3f %.3f %s %s %s\n", id, t1 - t0, t2 - t0,
                   t3 - t0, t4 - t0, s, r, e
        }'
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# Warm-up: a ten-row import (the daemon's connection, the module's job
# store, the code paths), removed again
say "warm-up: a ten-row import"
import_run "$state/warm.csv.gz" > /dev/null
superuser_psql -c "delete from events where kind = 'bench-import'"

say "psql as the tenant: \\copy events from ... (refused under RLS)"
if tenant_psql -c "\\copy events from program 'gzip -dc $state/warm.csv.gz' with (format csv)" 2> "$state/tenant-copy.err"; then
    notes+=("the tenant's own \\copy into events was accepted")
    superuser_psql -c "delete from events where kind = 'bench-import'"
else
    notes+=("tenant_$tenant's \\copy: $(head -n 1 "$state/tenant-copy.err")")
fi

# CPU seconds (user + system) of processes: a measure the other jobs of a
# shared machine disturb less than time. The tenant's backends are the
# daemon's pooled connections (those that exist before and after).
tck=$(getconf CLK_TCK)
cpu_ticks() {
    local pid total=0 t
    for pid in "$@"; do
        t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2> /dev/null || true)
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
tenant_backends() {
    superuser_psql -Atc "select pid from pg_stat_activity
                         where usename = 'tenant_$tenant'"
}
dataapi_pid=$(cat "$state/dataapi/pid")

say "psql as the superuser: \\copy events from program 'gzip -dc' ($rows rows)"
p0=$(now)
superuser_psql <<SQL
select pg_backend_pid() as pid \\gset
\\setenv BENCH_PID :pid
\\! awk '{ print \$14 + \$15 }' /proc/\$BENCH_PID/stat > $state/psql-cpu0
\\copy events from program 'gzip -dc $state/events.csv.gz' with (format csv)
\\! awk '{ print \$14 + \$15 }' /proc/\$BENCH_PID/stat > $state/psql-cpu1
SQL
p1=$(now)
psql_cpu=$(awk -v a="$(cat "$state/psql-cpu1")" -v b="$(cat "$state/psql-cpu0")" \
           -v t="$tck" 'BEGIN { printf "%.2f", (a - b) / t }')
psql_s=$(awk -v a="$p0" -v b="$p1" 'BEGIN { printf "%.3f", b - a }')
psql_rows=$(superuser_psql -Atc "select count(*) from events where kind = 'bench-import'")
superuser_psql -c "delete from events where kind = 'bench-import'"
superuser_psql -c "vacuum events"

say "import: POST /v1/imports, PUT, PATCH, poll ($rows rows, csv, gzip)"
mapfile -t backends_before < <(tenant_backends)
b0=$(cpu_ticks "${backends_before[@]}")
d0=$(cpu_ticks "$dataapi_pid")
read -r job_id created_s uploaded_s patched_s import_s end_state loaded exec_ms \
    < <(import_run "$state/events.csv.gz")
mapfile -t backends_after < <(tenant_backends)
b1=$(cpu_ticks "${backends_after[@]}")
d1=$(cpu_ticks "$dataapi_pid")
backend_cpu=$(awk -v a="$b1" -v b="$b0" -v t="$tck" \
              'BEGIN { printf "%.2f", (a - b) / t }')
dataapi_cpu=$(awk -v a="$d1" -v b="$d0" -v t="$tck" \
              'BEGIN { printf "%.2f", (a - b) / t }')
if [ -z "${import_s:-}" ]; then
    echo "import.sh: the import failed (see above, $state/nginx/logs)" >&2
    exit 1
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

say "checking both loads"
tenant_rows=$(tenant_psql -Atc "select count(*) from events where kind = 'bench-import'")
all_rows=$(superuser_psql -Atc "select count(*) from events where kind = 'bench-import'")
if [ "$psql_rows" != "$rows" ]; then
    notes+=("psql loaded $psql_rows rows, not $rows")
fi
if [ "$loaded" != "$rows" ] || [ "$tenant_rows" != "$rows" ] \
    || [ "$all_rows" != "$rows" ]
then
    notes+=("the import loaded $loaded rows (tenant sees $tenant_rows, warehouse has $all_rows), not $rows")
fi
errors=$(grep -c '\[\(error\|crit\|alert\|emerg\)\]\|exited on signal' \
         "$state/nginx/logs/error.log" || true)
if [ "$errors" != 0 ]; then
    cp "$state/nginx/logs/error.log" "$state/error.log"
    notes+=("nginx error.log: $errors error lines (kept in $state/error.log)")
fi

ratio=$(awk -v a="$import_s" -v b="$psql_s" 'BEGIN { printf "%.2f", a / b }')

{
    echo "Spectra bench import (bench/import.sh), $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) CPUs ($(awk -F': ' \
        '/^model name/ { print $2; exit }' /proc/cpuinfo));" \
         "load average $load_before at start, $load_after at end"
    echo "commit $(git -C "$repo" rev-parse --short HEAD); nginx" \
         "$(/usr/sbin/nginx -v 2>&1 | sed 's|.*nginx/||'), PostgreSQL" \
         "$(superuser_psql -Atc 'show server_version' | cut -d' ' -f1)"
    echo
    echo "$rows rows of events for tenant $tenant, CSV + gzip ($file_bytes bytes), one run each:"
    echo
    printf '%-44s %9s %9s\n' case seconds rows
    printf '%-44s %9s %9s\n' \
        "psql \\copy from program 'gzip -dc' (superuser)" "$psql_s" "$psql_rows"
    printf '%-44s %9s %9s\n' \
        "POST /v1/imports .. JobComplete (tenant)" "$import_s" "$loaded"
    printf '   %-41s %9s\n' "201 Created (upload URL)" "$created_s" \
        "PUT of the file (presigned)" "$uploaded_s" \
        "PATCH UploadComplete (COPY submitted)" "$patched_s" \
        "GET /v1/imports/{id}: $end_state" "$import_s" \
        "  (the COPY's execution_time_ms)" \
        "$(awk -v e="$exec_ms" 'BEGIN {
               if (e == "-") print "-"; else printf "%.3f", e / 1000 }')"
    echo
    echo "ratio import / psql: ${ratio}x"
    echo
    echo "CPU seconds (user + system):"
    echo "  psql's \\copy: its PostgreSQL backend            $psql_cpu"
    echo "  import: the tenant's PostgreSQL backends        $backend_cpu"
    echo "  import: spectra-dataapi                         $dataapi_cpu"
    echo "ratio of backend CPU import / psql: $(awk -v a="$backend_cpu" \
        -v b="$psql_cpu" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')"
    echo "import $job_id"
    if [ "${#notes[@]}" -gt 0 ]; then
        printf '%s\n' "${notes[@]}"
    fi
} > "$state/final.txt"

mkdir -p "$(dirname "$results")"
cp "$state/final.txt" "$results"
cat "$state/final.txt"
