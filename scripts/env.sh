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

# port_free PORT: true when 127.0.0.1:PORT can be bound (nothing listens
# there, and no socket of anything else is bound to it)
port_free() {
    [ -z "$(ports_unbindable "$1" "$1")" ]
}

# ports_unbindable FIRST LAST: print the ports in FIRST..LAST that
# 127.0.0.1 cannot be bound to now, one per line, by trying to, with
# SO_REUSEADDR as every listener of ours sets it.  This is what catches a
# socket that is bound but neither listens nor connects: it holds its port
# as firmly as a listener does, and ss(8) (iproute2 6.1, without
# --bound-inactive) does not show it.
ports_unbindable() {
    perl -MSocket -e '
        for my $p ($ARGV[0] .. $ARGV[1]) {
            socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!\n";
            setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1) or die "SO_REUSEADDR: $!\n";
            print "$p\n"
                unless bind($s, pack_sockaddr_in($p, inet_aton("127.0.0.1")));
            close $s;
        }' "$1" "$2"
}

# ports_busy FIRST LAST: print the ports in FIRST..LAST that a TCP socket
# of this machine holds as its local port, or that cannot be bound
# (ports_unbindable), one per line.  A listener is
# not the only thing in the way: an established connection's local port
# (an outgoing connection of another program) fails every later bind(2) to
# it, SO_REUSEADDR or not, because the connection's socket did not set it.
# TIME-WAIT does not count: every listener of the suites binds with
# SO_REUSEADDR, as PostgreSQL and nginx do, and the TIME-WAIT connections a
# stopped fixture leaves would otherwise stop the next run.
ports_busy() {
    {
        ss -Htan exclude time-wait | awk -v lo="$1" -v hi="$2" '{
            n = split($4, a, ":"); p = a[n] + 0
            if (p >= lo && p <= hi) print p
        }'
        ports_unbindable "$1" "$2"
    } | sort -un
}

# ephemeral_overlaps FIRST LAST: true when FIRST..LAST meets the kernel's
# range for outgoing connections' local ports: a port there can be taken
# at any moment by a connection of anything on the machine, ours included
ephemeral_overlaps() {
    local lo hi
    read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range || return 1
    [ "$1" -le "$hi" ] && [ "$2" -ge "$lo" ]
}

# ports_reserve FIRST LAST: add FIRST-LAST to the kernel's reserved ports
# (net.ipv4.ip_local_reserved_ports), so that no outgoing connection of
# any program on the machine is given one of them as its local port while
# the suites run: bind(2) to a reserved port still works, only the
# kernel's own choice of a port skips them.  Needs root and a writable
# /proc/sys; false, changing nothing, otherwise.
ports_reserve() {
    local f=/proc/sys/net/ipv4/ip_local_reserved_ports now
    [ -w "$f" ] || return 1
    now=$(cat "$f") || return 1
    printf '%s\n' "${now:+$now,}$1-$2" 2> /dev/null > "$f"
}

# ports_unreserve FIRST LAST: take FIRST-LAST out of the reserved ports
# again, leaving what other runs reserved (where the kernel merged it with
# an adjoining range of another run, that range stays reserved)
ports_unreserve() {
    local f=/proc/sys/net/ipv4/ip_local_reserved_ports now
    [ -w "$f" ] || return 0
    now=$(tr ',' '\n' < "$f" | grep -vxF "$1-$2" | paste -sd, -)
    printf '%s\n' "$now" 2> /dev/null > "$f" || true
}

# wait_port PORT SECONDS: wait until something listens on PORT
wait_port() {
    local i
    for ((i = 0; i < $2 * 20; i++)); do
        if ss -Hltn "sport = :$1" | grep -q .; then
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
