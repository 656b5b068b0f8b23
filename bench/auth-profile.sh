#!/usr/bin/env bash
# The cost of a fresh JWT in instructions, which the load of a shared
# machine does not move: bench/auth.sh's nginx (its config, keys and
# tokens, so run auth.sh first) as one process (master_process off) under
# valgrind --tool=callgrind; N requests of each case on one keep-alive
# connection, the counters dumped between cases. Per request:
#   - all instructions of the worker (fresh RS256 or ES256 token, and
#     empty_gif without authentication),
#   - those under EVP_PKEY_verify (the signature check, as openssl speed
#     times it) and under jansson (json_loadb, json_delete),
# and "added / signature" = (fresh - empty_gif) / EVP_PKEY_verify, the
# issue's 1.3x target in instructions.
#
#   bench/auth-profile.sh   (env: N=300, SPECTRA_BENCH_PORT=22011,
#                            AUTH_PROFILE_TSV=FILE, MODULE=another build's
#                            ngx_spectra_module.so, for a before/after)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$repo/var/bench-auth
n=${N:-300}
port=${SPECTRA_BENCH_PORT:-22011}
prof=$work/profile

for tool in valgrind callgrind_annotate callgrind_control; do
    if ! command -v "$tool" > /dev/null; then
        echo "auth-profile.sh: needs $tool (valgrind)" >&2
        exit 1
    fi
done
if [ ! -f "$work/nginx/conf/nginx.conf" ] \
    || [ ! -f "$work/auth/bench-rs256.txt" ]; then
    echo "auth-profile.sh: run bench/auth.sh first" >&2
    exit 1
fi

rm -rf "$prof"
mkdir -p "$prof"
sed -e 's/^worker_processes 1;/worker_processes 1; master_process off; daemon off;/' \
    -e "s/listen 127.0.0.1:[0-9]*;/listen 127.0.0.1:$port;/" \
    -e "s|^pid .*|pid $prof/nginx.pid;|" \
    -e "s|^load_module .*|load_module ${MODULE:-$(sed -n \
           's/^load_module \(.*\);$/\1/p' "$work/nginx/conf/nginx.conf")};|" \
    "$work/nginx/conf/nginx.conf" > "$work/nginx/conf/profile.conf"

valgrind --tool=callgrind --callgrind-out-file="$prof/cg" \
    /usr/sbin/nginx -p "$work/nginx" -c conf/profile.conf \
    > "$prof/valgrind.log" 2>&1 &
vg=$!
trap 'kill "$vg" 2> /dev/null; wait "$vg" 2> /dev/null || true' EXIT

for ((i = 0; i < 100; i++)); do
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
        break
    fi
    sleep 0.2
done

# send PATH TOKENS|- COUNT: COUNT GETs on one connection; fails unless 200
send() {
    /usr/bin/python3 - "$port" "$@" <<'PY'
import http.client, sys
port, path, tokfile, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], \
    int(sys.argv[4])
toks = [l.strip() for l in open(tokfile)] if tokfile != "-" else []
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for i in range(n):
    h = {"Authorization": "Bearer " + toks[i % len(toks)]} if toks else {}
    c.request("GET", path, headers=h)
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("auth-profile.sh: %s answered %d" % (path, r.status))
PY
}

dump() {
    callgrind_control -d "$vg" > /dev/null
    sleep 0.5
}

# warm-up, then one dump per case (files cg.1 .. cg.4)
send /gif/x - 20
send /fresh/x "$work/auth/bench-rs256.txt" 20
send /fresh/x "$work/auth/bench-es256.txt" 20
dump
send /gif/x - "$n"
dump
send /fresh/x "$work/auth/bench-rs256.txt" "$n"
dump
send /fresh/x "$work/auth/bench-es256.txt" "$n"
dump

# fn_ir FILE REGEX: inclusive instructions of the functions matching REGEX
fn_ir() {
    callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$1" 2> /dev/null \
      | awk -v re="$2" '$0 ~ re { gsub(",", "", $1); s += $1 }
                        END { print s + 0 }'
}
total() {
    callgrind_annotate "$1" 2> /dev/null \
      | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'
}

gif=$(( $(total "$prof/cg.2") / n ))
{
    printf 'case\tir_per_request\tverify_ir\tjansson_ir\tadded_ir\tadded_per_verify\n'
    printf 'empty_gif\t%d\t0\t0\t0\t0\n' "$gif"
    for pair in "rs256 3" "es256 4"; do
        read -r name file <<< "$pair"
        t=$(( $(total "$prof/cg.$file") / n ))
        v=$(( $(fn_ir "$prof/cg.$file" ':EVP_PKEY_verify ') / n ))
        j=$(( $(fn_ir "$prof/cg.$file" ':json_(loadb|delete) ') / n ))
        printf '%s_fresh\t%d\t%d\t%d\t%d\t%s\n' "$name" "$t" "$v" "$j" \
            $((t - gif)) "$(awk -v a=$((t - gif)) -v b="$v" \
                            'BEGIN { printf "%.3f", b ? a / b : 0 }')"
    done
} > "$prof/profile.tsv"

if [ -n "${AUTH_PROFILE_TSV:-}" ]; then
    cp "$prof/profile.tsv" "$AUTH_PROFILE_TSV"
fi
column -t -s "$(printf '\t')" "$prof/profile.tsv"
