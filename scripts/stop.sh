#!/usr/bin/env bash
# make stop: stops exactly what make run started, by pid.
set -euo pipefail

# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"

# SPECTRA_STATE_DIR puts a second stack's state elsewhere (the tests do)
state=${SPECTRA_STATE_DIR:-$state_root/run}

if [ -f "$state/nginx/logs/nginx.pid" ]; then
    echo "stop: nginx"
    # QUIT lets in-flight requests finish; stop_pid waits for the master.
    stop_pid "$state/nginx/logs/nginx.pid"
fi

if [ -f "$state/dataapi/pid" ] || [ -f "$state/dataapi/launcher.pid" ]; then
    echo "stop: spectra-dataapi"
    bash "$repo/scripts/dataapi.sh" stop "$state"
fi

if [ -f "$state/pg/postmaster.pid" ]; then
    echo "stop: PostgreSQL"
    bash "$repo/scripts/pg.sh" stop "$state/pg"
fi
