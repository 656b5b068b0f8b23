#!/usr/bin/env bash
# Starts and stops spectra-dataapi for the local stack and the tests.
#
#   dataapi.sh start BUILD_DIR STATE_DIR LISTEN_PORT PG_PORT
#       writes STATE_DIR/dataapi/keys (a fresh access key id and secret),
#       starts the daemon in the background (pid STATE_DIR/dataapi/pid,
#       log STATE_DIR/dataapi/log, UNLOAD files under STATE_DIR/objects, laid out as bucket/key)
#       and waits until the port answers. It logs in as spectra_dataapi
#       with STATE_DIR/dataapi/pg-password and resolves SecretArn through
#       STATE_DIR/dataapi/secrets.json (scripts/demo-credentials.sh writes
#       both).
#   dataapi.sh stop STATE_DIR
#       stops it (SIGTERM, then waits for the clean shutdown)
#
# STATE_DIR/dataapi is 0700 and every file in it 0600: the keys, the
# secrets, the password and the log are the daemon's alone.
#
# SPECTRA_DATAAPI_VALGRIND=1 runs the daemon under valgrind (leak check,
# log STATE_DIR/dataapi/valgrind); SPECTRA_DATAAPI_ARGS adds flags.
set -euo pipefail

usage() {
    echo "usage: dataapi.sh start BUILD_DIR STATE_DIR LISTEN_PORT PG_PORT" >&2
    echo "       dataapi.sh stop STATE_DIR" >&2
    exit 2
}

port_answers() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
    local build=$1 state=$2 port=$3 pg_port=$4
    local bin=$build/spectra-dataapi dir=$state/dataapi
    local keys=$state/dataapi/keys pid_file=$state/dataapi/pid
    local akid secret i pg
    local -a cmd extra

    [ -x "$bin" ] || { echo "dataapi.sh: $bin not built" >&2; exit 1; }
    mkdir -p "$dir"
    chmod 700 "$dir"

    if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
        echo "dataapi.sh: already running (pid $(cat "$pid_file"))" >&2
        exit 1
    fi

    if port_answers "$port"; then
        echo "dataapi.sh: port $port is already in use" >&2
        exit 1
    fi

    # AWS-shaped: a 20-character AKID and a 40-character secret.
    akid=AKID$(openssl rand -hex 8 | tr 'a-f' 'A-F')
    secret=$(openssl rand -base64 30)
    mkdir -p "$state/objects"
    chmod 700 "$state/objects"
    (
        umask 077
        {
            echo '# spectra-dataapi keys: ACCESS_KEY_ID SECRET_ACCESS_KEY'
            printf '%s %s\n' "$akid" "$secret"
        } > "$keys"
    )

    pg="host=127.0.0.1 port=$pg_port user=spectra_dataapi dbname=warehouse"
    cmd=("$bin" --listen "127.0.0.1:$port" --pg "$pg"
         --database warehouse --keys-file "$keys"
         --export-dir "$state/objects"
         --pid-file "$pid_file" --log-file "$dir/log")

    if [ -f "$dir/pg-password" ]; then
        cmd+=(--pg-password-file "$dir/pg-password")
    fi

    if [ -f "$dir/secrets.json" ]; then
        cmd+=(--secrets-file "$dir/secrets.json")
    fi

    if [ -n "${SPECTRA_DATAAPI_ARGS:-}" ]; then
        read -r -a extra <<< "$SPECTRA_DATAAPI_ARGS"
        cmd+=("${extra[@]}")
    fi

    if [ "${SPECTRA_DATAAPI_VALGRIND:-0}" = 1 ]; then
        cmd=(valgrind --leak-check=full "--show-leak-kinds=definite,indirect"
             "--errors-for-leak-kinds=definite,indirect" --error-exitcode=99
             --log-file="$dir/valgrind" "${cmd[@]}")
    fi

    rm -f "$pid_file"
    (
        umask 077
        nohup "${cmd[@]}" >> "$dir/log" 2>&1 < /dev/null &
        echo $! > "$dir/launcher.pid"
    )

    for i in $(seq 1 300); do
        if port_answers "$port" && [ -s "$pid_file" ]; then
            return 0
        fi

        if ! kill -0 "$(cat "$dir/launcher.pid")" 2>/dev/null; then
            echo "dataapi.sh: the daemon exited; see $dir/log" >&2
            exit 1
        fi

        sleep 0.1
        : "$i"
    done

    echo "dataapi.sh: spectra-dataapi did not answer on port $port" >&2
    exit 1
}

stop() {
    local state=$1 pid i

    # the launcher pid is the daemon itself, or valgrind running it
    for f in "$state/dataapi/launcher.pid" "$state/dataapi/pid"; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        kill -TERM "$pid" 2>/dev/null || true

        for i in $(seq 1 300); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
            : "$i"
        done

        if kill -0 "$pid" 2>/dev/null; then
            echo "dataapi.sh: pid $pid did not stop; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi

        rm -f "$f"
    done
}

case "${1:-}" in
start)
    [ $# -eq 5 ] || usage
    start "$2" "$3" "$4" "$5"
    ;;
stop)
    [ $# -eq 2 ] || usage
    stop "$2"
    ;;
*)
    usage
    ;;
esac
