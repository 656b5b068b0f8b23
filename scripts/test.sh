#!/usr/bin/env bash
# make test: builds everything, runs the C unit tests, starts the fixtures
# the suites need (PostgreSQL with the demo warehouse, spectra-dataapi),
# runs every t/*.t with prove, lints, stops the fixtures, and runs a set of
# suites again on a build with the sanitizers (scripts/suites-sanitize.sh).
#
# SPECTRA_PORT_BASE (default: the first free block of 50 from 21400) moves
# every port, so that two runs can share a machine: PostgreSQL base, spectra-dataapi base+1, nginx base+2,
# base+10..48 for extra daemons a suite starts itself (t/002's make run
# stack: base+45..47, t/003: base+48), all below base+50.  The default stays
# below Linux's ephemeral port range (32768-60999): a listening port there
# can be taken at random by an outgoing connection, e.g. of a pool.
set -euo pipefail

# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"

bash "$repo/scripts/deps.sh"

echo "test: building"
make -s -C "$repo" BUILD="$build" all

if [ -z "${TESTS:-}" ]; then
    echo "test: C unit tests"
    make -s -C "$repo" BUILD="$build" unit
    echo "test: C unit tests under AddressSanitizer and UBSan"
    bash "$repo/scripts/unit-sanitize.sh"
    echo "test: fuzz targets, briefly (make fuzz runs them for longer)"
    bash "$repo/scripts/fuzz.sh" smoke
fi

# Every suite's port is in base..base+49.  A port there held by anything
# else (a daemon of this machine, another run, an outgoing connection's
# local port) would fail whichever suite wants it, so the whole block must
# be free: with SPECTRA_PORT_BASE set, or else the first free block from
# 21400 up, in steps of 50, outside the kernel's ephemeral port range.
if [ -n "${SPECTRA_PORT_BASE:-}" ]; then
    base=$SPECTRA_PORT_BASE
    busy=$(ports_busy "$base" $((base + 49)) | tr '\n' ' ')
    if [ -n "$busy" ]; then
        echo "test: ports in use in $base..$((base + 49)): $busy(choose another SPECTRA_PORT_BASE)" >&2
        exit 1
    fi
else
    # outside the ephemeral range first; where it covers every block, the
    # first free one all the same
    found=
    for pass in outside any; do
        for ((base = 21400; base <= 65485; base += 50)); do
            if [ "$pass" = outside ] &&
                ephemeral_overlaps "$base" $((base + 49)); then
                continue
            fi
            busy=$(ports_busy "$base" $((base + 49)) | tr '\n' ' ')
            if [ -z "$busy" ]; then
                found=1
                break 2
            fi
            echo "test: ports in use in $base..$((base + 49)): $busy; trying the next block"
        done
        echo "test: no free block of 50 ports outside the ephemeral range" \
             "($(cat /proc/sys/net/ipv4/ip_local_port_range)); any block will do"
    done
    if [ -z "$found" ]; then
        echo "test: no free block of 50 ports" >&2
        exit 1
    fi
fi
# and no outgoing connection may take one of them while the suites run
if ports_reserve "$base" $((base + 49)); then
    reserved=1
    kept="reserved for the run"
else
    reserved=
    kept="not reserved: ip_local_reserved_ports is not writable"
fi
echo "test: ports $base..$((base + 49)), $kept (outgoing connections: $(tr "\t" - < /proc/sys/net/ipv4/ip_local_port_range))"
state=$state_root/test-$base

cleanup() {
    set +e
    if [ -n "$reserved" ]; then
        ports_unreserve "$base" $((base + 49))
    fi
    bash "$repo/scripts/dataapi.sh" stop "$state" 2>/dev/null
    bash "$repo/scripts/pg.sh" stop "$state/pg"
}
trap cleanup EXIT

rm -rf "$state"
mkdir -p "$state/nginx-data"
chmod 711 "$state_root" "$state"
chmod 700 "$state/nginx-data"
chown nobody: "$state/nginx-data"

echo "test: starting PostgreSQL and loading the demo warehouse"
bash "$repo/scripts/pg.sh" start "$state/pg" "$base"
bash "$repo/scripts/pg.sh" demo "$state/pg" "$base"
bash "$repo/scripts/demo-credentials.sh" "$state/pg" "$base" "$state/dataapi"

# The test warehouse only: the suites need statements that run long
# without burning the shared cores, and pg_sleep is what they sleep with
# (demo.sql revokes it from PUBLIC; t/002 checks make run's warehouse).
# Data API sessions keep temporary tables: globex and initech get
# TEMPORARY back for the suites that show it (acme, the isolation suites'
# tenant, stays as demo.sql leaves it).
PGPASSFILE=$state/pg.pgpass psql -X -q -w -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$base" -U postgres -d warehouse \
    -c 'GRANT EXECUTE ON FUNCTION pg_sleep(double precision)
            TO tenant_acme, tenant_globex, tenant_initech' \
    -c 'GRANT TEMPORARY ON DATABASE warehouse TO tenant_globex, tenant_initech'

echo "test: starting spectra-dataapi"
# small pages (the default is one page up to 100 MiB): keeps the suites'
# multi-page results, in the CLI and in the module, covered; small Parquet
# row groups (64 MiB by default) for files of many row groups and pages
SPECTRA_DATAAPI_ARGS="--page-rows 1000 --parquet-row-group-bytes 262144 \
${SPECTRA_DATAAPI_ARGS:-}" \
    bash "$repo/scripts/dataapi.sh" start "$build" "$state" $((base + 1)) \
    "$base"
read -r access_key secret_key < <(grep -v '^#' "$state/dataapi/keys" | head -n 1)

# psql -U postgres in the suites finds the superuser's password here
export PGPASSFILE=$state/pg.pgpass
export SPECTRA_PG_PASSFILE=$state/pg.pgpass
export SPECTRA_PG_DIR=$state/pg
export SPECTRA_DATAAPI_DIR=$state/dataapi
export SPECTRA_DATAAPI_SECRETS_FILE=$state/dataapi/secrets.json
export SPECTRA_DATAAPI_PG_PASSWORD_FILE=$state/dataapi/pg-password
export SPECTRA_REPO=$repo
export SPECTRA_BUILD=$build
export SPECTRA_PORT_BASE=$base
export SPECTRA_STATE=$state
export TEST_NGINX_BINARY=/usr/sbin/nginx
export TEST_NGINX_SERVER_PORT=$((base + 2))
export TEST_NGINX_SERVROOT=$state/servroot
# every block's nginx logs, kept for t/099
export TEST_NGINX_LOG_ARCHIVE=$state/nginx-logs
export TEST_NGINX_LOAD_MODULES=$build/ngx_spectra_module.so
export TEST_NGINX_REPO=$repo
export TEST_NGINX_DATA_DIR=$state/nginx-data
# spectra-dataapi's --export-dir: UNLOAD files at bucket/key below it
export TEST_NGINX_OBJECTS_DIR=$state/objects
export TEST_NGINX_PG_PORT=$base
export TEST_NGINX_DATAAPI_PORT=$((base + 1))
export TEST_NGINX_DATAAPI_ACCESS_KEY=$access_key
export TEST_NGINX_DATAAPI_SECRET_KEY=$secret_key
export TEST_NGINX_DATAAPI_REGION=us-east-1
# the local object store: spectra-dataapi's UNLOAD files, bucket/key
export TEST_NGINX_OBJECTS_DIR=$state/objects

echo "test: Test::Nginx and end-to-end suites"
cd "$repo"
# TESTS="t/050-query.t t/053-jobs.t" runs only those files (and no lint)
read -r -a files <<< "${TESTS:-$(echo t/*.t)}"
# TEST_NGINX_LIB=/path/to/test-nginx/lib runs the suites under the
# real Test::Nginx (openresty/test-nginx) instead of t/lib's runner
# (PROVE_FLAGS=-v: prove's own options)
read -r -a flags <<< "${PROVE_FLAGS:-}"
if [ -n "${TEST_NGINX_LIB:-}" ]; then
    # its generated server listens on 127.0.0.1 only (a copy, rewritten)
    bash "$repo/scripts/test-nginx-loopback.sh" "$TEST_NGINX_LIB" \
        "$state/test-nginx-lib"
    flags+=(-I "$state/test-nginx-lib")
fi
if ! prove "${flags[@]}" -I t/lib "${files[@]}" 2>&1 |
        tee "$state/prove.log"; then
    # CI shows the end of the output: what holds the block's ports, the
    # failures' first messages and prove's list of the failed files come
    # last.  The fixture's PostgreSQL and spectra-dataapi hold base and
    # base+1; a port a suite could not bind shows here as held.
    echo "test: ports $base..$((base + 49)), $kept;" \
         "held now: $(ports_busy "$base" $((base + 49)) | tr '\n' ' ')"
    ss -Htlnp | awk -v lo=$((base + 2)) -v hi=$((base + 49)) '{
        n = split($4, a, ":"); p = a[n] + 0
        if (p >= lo && p <= hi) print "  " $1, $4, $NF
    }'
    echo "test: the failed suites' first messages:"
    awk '/^Test Summary Report/ { exit }
         /^ *#   Failed test/ { take = 4 }
         take > 0 && /^ *#/ { print; take--; next }
         { take = 0 }
         /Dubious|Bail out|No plan found|already in use|\[emerg\]|[Cc]annot |failed at |[Dd]ied|FATAL| at [^ ]+ line [0-9]+\.$/ &&
             !seen[$0]++ { print }' "$state/prove.log" | head -n 16 | cut -c1-240
    sed -n '/^Test Summary Report/,$p' "$state/prove.log" |
        grep -E 'Wstat: |^(Files=|Result:)'
    exit 1
fi

if [ -z "${TESTS:-}" ]; then
    echo "test: lint"
    bash "$repo/scripts/lint.sh"

    # this run's fixtures go first: the sanitized run starts its own
    cleanup
    trap - EXIT
    echo "test: suites on the module and spectra-dataapi built with ASan+UBSan"
    bash "$repo/scripts/suites-sanitize.sh"
fi
