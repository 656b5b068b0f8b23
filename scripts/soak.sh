#!/usr/bin/env bash
# make soak: the local stack of make run on ports of its own, a bounded
# mixed load for SOAK_SECONDS (default 600) from bench/soak.py (queries
# of 1, 100 and 10,000 rows, async queries, job listings, exports,
# imports, authentication failures), then the report: requests, answers
# by status, p50/p99, and the RSS of nginx's workers and spectra-dataapi
# after the warm-up (SOAK_WARMUP_SECONDS, default 60) and at the end.
# Writes bench/SOAK.md (SOAK_REPORT elsewhere); exits 1 on an unexpected
# answer. Not a test: make test runs a short one (t/075-soak.t).
#
# SOAK_PORT_BASE (default 24700): nginx, PostgreSQL, spectra-dataapi.
set -euo pipefail

# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"

base=${SOAK_PORT_BASE:-24700}
seconds=${SOAK_SECONDS:-600}
warmup=${SOAK_WARMUP_SECONDS:-60}
report=${SOAK_REPORT:-$repo/bench/SOAK.md}
state=$state_root/soak-$base
tmp=$(mktemp -d)

export SPECTRA_STATE_DIR=$state
export SPECTRA_DEMO_JSON=$tmp/demo.json
export SPECTRA_LOCAL_DIR=$tmp/local
export SPECTRA_HTTP_PORT=$base
export SPECTRA_PG_PORT=$((base + 1))
export SPECTRA_DATAAPI_PORT=$((base + 2))
# spectra-dataapi keeps finished statements' results for the Data API's
# 24 hours by default (up to --max-retained-bytes, 1 GiB): its RSS grows
# with them by design until then.  Kept SOAK_RETENTION_SECONDS (default
# 30, less than the warm-up) here, its steady state is reached during the
# warm-up and growth after it is what leaks.
export SPECTRA_DATAAPI_ARGS="--retention-seconds ${SOAK_RETENTION_SECONDS:-30} ${SPECTRA_DATAAPI_ARGS:-}"

# shellcheck disable=SC2317 # called by the EXIT trap only
cleanup() {
    set +e
    bash "$repo/scripts/stop.sh" > /dev/null
    rm -rf "$tmp" "$state"
}
trap cleanup EXIT

rm -rf "$state"
echo "soak: starting the local stack on 127.0.0.1:$base..$((base + 2))"
if ! bash "$repo/scripts/run.sh" > "$tmp/run.log" 2>&1; then
    cat "$tmp/run.log" >&2
    exit 1
fi

printf 'nginx %s\nspectra-dataapi %s\n' \
    "$(cat "$state/nginx/logs/nginx.pid")" "$(cat "$state/dataapi/pid")" \
    > "$tmp/pids"

echo "soak: ${seconds} s of mixed load"
rc=0
/usr/bin/python3 "$repo/bench/soak.py" "$SPECTRA_DEMO_JSON" "$seconds" \
    "$warmup" "$tmp/pids" "$report" || rc=$?

# what the workers logged at error level or worse, and any worker that
# did not exit cleanly, are failures too
if grep -E '\[(alert|crit|emerg)\]|exited on signal' \
        "$state/nginx/logs/error.log" > "$tmp/alerts"; then
    echo "soak: nginx logged alerts:" >&2
    head -20 "$tmp/alerts" >&2
    rc=1
fi
exit "$rc"
