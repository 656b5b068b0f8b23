#!/usr/bin/env bash
# make run: PostgreSQL with the demo warehouse, spectra-dataapi and nginx
# with ngx_spectra_module, all on 127.0.0.1; prints how to call it.
set -euo pipefail

# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"

http_port=${SPECTRA_HTTP_PORT:-8480}
pg_port=${SPECTRA_PG_PORT:-25432}
dataapi_port=${SPECTRA_DATAAPI_PORT:-25433}
# SPECTRA_STATE_DIR puts a second stack's state elsewhere (the tests do)
state=${SPECTRA_STATE_DIR:-$state_root/run}
local_dir=${SPECTRA_LOCAL_DIR:-$repo/var/local}

started=$EPOCHREALTIME

# "run: [ 12.3 s] what": each step as it begins, with the time so far
step() {
    awk -v a="$started" -v b="$EPOCHREALTIME" -v m="$*" \
        'BEGIN { printf "run: [%5.1f s] %s\n", b - a, m }'
}

step "checking the packages (scripts/deps.sh)"
bash "$repo/scripts/deps.sh"
step "building the module, spectra-dataapi and the tools"
make -s -C "$repo" all

if [ -f "$state/nginx/logs/nginx.pid" ] || [ -f "$state/dataapi/pid" ]; then
    echo "run: Spectra seems to be running already (make stop first)" >&2
    exit 1
fi

for port in "$http_port" "$pg_port" "$dataapi_port"; do
    if ! port_free "$port"; then
        echo "run: port $port on 127.0.0.1 is in use" \
             "(set SPECTRA_HTTP_PORT, SPECTRA_PG_PORT, SPECTRA_DATAAPI_PORT)" >&2
        exit 1
    fi
done

mkdir -p "$state" "$repo/var"
# Private: directories 0700 and files 0600 to root and the user that uses
# them. The state directories themselves are 0711, so PostgreSQL (pg/) and
# nginx's workers (nginx/data, nginx/tmp) reach their own, and nobody can
# list them.
chmod 711 "$state_root" "$state" 2>/dev/null || chmod 711 "$state"

# From here on, a failure stops whatever was started.
trap 'echo "run: failed; stopping what was started" >&2; bash "$repo/scripts/stop.sh"' ERR

step "starting PostgreSQL on 127.0.0.1:$pg_port"
bash "$repo/scripts/pg.sh" start "$state/pg" "$pg_port"
step "loading the demo warehouse (1,000,000 rows)"
bash "$repo/scripts/pg.sh" demo "$state/pg" "$pg_port"
bash "$repo/scripts/demo-credentials.sh" "$state/pg" "$pg_port" \
    "$state/dataapi"

step "starting spectra-dataapi on 127.0.0.1:$dataapi_port"
# A page must fit nginx's subrequest_output_buffer_size (16m in
# conf/spectra-local.conf): keep the daemon's pages well below it.
# Exports are removed a day and an hour after they were written (the
# retention of conf/spectra-local.conf, and the longest link after it).
SPECTRA_DATAAPI_ARGS="--page-bytes 8388608 --export-retention-seconds 90000 ${SPECTRA_DATAAPI_ARGS:-}" \
    bash "$repo/scripts/dataapi.sh" start "$build" "$state" "$dataapi_port" \
    "$pg_port"

step "demo credentials (keys, API keys, JWTs)"
bash "$repo/scripts/demo-auth.sh" "$state"

step "starting nginx on 127.0.0.1:$http_port"
# imports: nginx's workers (nobody) write the uploads under the store's
# imports/ prefix; spectra-dataapi reads them there
mkdir -p "$state/objects/spectra-exports/imports"
chown nobody: "$state/objects/spectra-exports/imports"
chmod 755 "$state/objects/spectra-exports/imports"
mkdir -p "$state/nginx/conf" "$state/nginx/logs" "$state/nginx/tmp" \
    "$state/nginx/data"
chmod 711 "$state/nginx" "$state/nginx/tmp"
chmod 700 "$state/nginx/conf" "$state/nginx/logs" "$state/nginx/data"
chown nobody: "$state/nginx/data"
# nginx creates files 0644 whatever the umask (ngx_daemon() sets it to 0),
# but keeps the mode of files that exist; logs/ is 0700 all the same
(
    umask 077
    touch "$state/nginx/logs/error.log" "$state/nginx/logs/access.log" \
        "$state/nginx/logs/audit.log"
    echo "$http_port $pg_port $dataapi_port" > "$state/ports"
)
# conf/spectra-local.conf with the user's own keys and additions, checked
bash "$repo/scripts/local-conf.sh" "$state" "$http_port" "$dataapi_port"
/usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf
wait_port "$http_port" 10

demo_json=${SPECTRA_DEMO_JSON:-$repo/var/demo.json}
# it holds every demo credential: the checkout's user only
(
    umask 077
    bash "$repo/scripts/demo-json.sh" "$state" "$http_port" "$pg_port" \
        "$dataapi_port" > "$demo_json.tmp"
    mv -f "$demo_json.tmp" "$demo_json"
)
trap - ERR

url=http://127.0.0.1:$http_port
step "ready"
cat <<MSG

Spectra is running.
  API:          $url/v1/
  PostgreSQL:   127.0.0.1:$pg_port (database warehouse; every role needs
                its password: the superuser's is postgres.password in
                $demo_json, PGPASSFILE=$state/pg.pgpass)
  Data API:     http://127.0.0.1:$dataapi_port (spectra-dataapi)
  Exports:      $state/objects (UNLOAD's files, as bucket/key; uploads
                of imports under spectra-exports/imports/)
  State, logs:  $state
  Demo facts:   $demo_json (tenants, credentials)

Try:
  curl -s $url/v1/health
MSG

key=$(jq -r '.tenants[0].api_key // empty' "$demo_json")
if [ -n "$key" ]; then
    cat <<MSG
  curl -s -H 'X-API-Key: $key' -H 'Content-Type: application/json' \\
       -d '{"sql": "select region, count(*) from sales group by 1"}' \\
       $url/v1/queries
  # an export: 202 with the job; GET /v1/bulk/<job_id> lists its files
  # with presigned URLs (and stable links) once it is COMPLETED
  curl -s -H 'X-API-Key: $key' -H 'Content-Type: application/json' \\
       -d '{"sql": "select * from sales", "format": "csv", "compression": "gzip"}' \\
       $url/v1/bulk
MSG
fi
echo
echo "Your own API keys and nginx additions: $local_dir (api.keys, http.d/,"
echo "server.d/); apply changes with: make reload"
echo "Stop everything with: make stop"
