#!/usr/bin/env bash
# Shared settings for run.sh, stop.sh and test.sh; meant to be sourced.
#
# Runtime state (PostgreSQL data, logs, pid files, job store) lives under
# /tmp/spectra-<hash of the checkout>/: PostgreSQL and nginx's workers
# (nobody) must be able to traverse every parent directory, which a
# checkout under /root does not allow.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-$repo/build}
case "$build" in
/*) ;;
*) build=$repo/$build ;;
esac
# shellcheck disable=SC2034 # used by the scripts that source this file
state_root=/tmp/spectra-$(printf '%s' "$repo" | md5sum | cut -c1-10)

# port_free PORT: true when nothing listens on 127.0.0.1:PORT
port_free() {
    ! ss -Hltn "sport = :$1" | grep -q .
}

# wait_port PORT SECONDS: wait until something listens on PORT
wait_port() {
    local i
    for ((i = 0; i < $2 * 20; i++)); do
        if ! port_free "$1"; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# stop_pid FILE: stop the process whose pid FILE holds, and wait for it
stop_pid() {
    local pid i
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}
