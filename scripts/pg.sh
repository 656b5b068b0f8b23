#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the local stack and tests.
#
#   pg.sh start DIR PORT   create (first time) and start a cluster in DIR
#   pg.sh demo  DIR PORT   (re)load the demo warehouse into database warehouse
#   pg.sh stop  DIR        stop it (fast shutdown)
#
# DIR must be traversable by the postgres user; initdb refuses root, so
# every server command runs as postgres.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pgbin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

as_postgres() {
    runuser -u postgres -- "$@"
}

cmd=${1:?usage: pg.sh start|demo|stop DIR [PORT]}
dir=${2:?usage: pg.sh start|demo|stop DIR [PORT]}

case "$cmd" in
start)
    port=${3:?port}
    mkdir -p "$dir"
    chown postgres: "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
        as_postgres "$pgbin/initdb" -D "$dir" -U postgres --auth=trust \
            --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
        cat >> "$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_connections = 200
log_min_messages = warning
CONF
        # Loopback only; the cluster is throwaway and bound to 127.0.0.1.
        printf 'host all all 127.0.0.1/32 trust\n' > "$dir/pg_hba.conf"
    fi
    if ss -Hltn "sport = :$port" | grep -q .; then
        echo "pg.sh: port $port is already in use" >&2
        exit 1
    fi
    as_postgres "$pgbin/pg_ctl" -D "$dir" -o "-p $port" -l "$dir/server.log" \
        -w -t 30 start >/dev/null
    ;;
demo)
    port=${3:?port}
    psql=(psql -X -q -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1)
    export PGOPTIONS='-c client_min_messages=warning'
    "${psql[@]}" -d postgres -c 'DROP DATABASE IF EXISTS warehouse' \
        -c 'CREATE DATABASE warehouse' >/dev/null
    # Roles are cluster-wide: drop them so the load can start clean.
    "${psql[@]}" -d postgres >/dev/null 2>&1 <<'SQL' || true
DROP ROLE IF EXISTS spectra_dataapi, tenant_acme, tenant_globex,
    tenant_initech, spectra_tenants, spectra_owner;
SQL
    "${psql[@]}" -d warehouse -f "$here/demo.sql" >/dev/null
    ;;
stop)
    if [ -f "$dir/postmaster.pid" ]; then
        as_postgres "$pgbin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    fi
    ;;
*)
    echo "pg.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
