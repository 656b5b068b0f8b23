#!/usr/bin/env bash
# test-nginx-loopback.sh LIB OUT: copies the real Test::Nginx's lib
# directory (openresty/test-nginx) to OUT with the one change the suites
# need on a shared machine: the server it generates listens on
# $ServerAddr (127.0.0.1) instead of every address ("listen PORT;").
# Fails if the lines it rewrites are not there, so that a new harness
# version that moved them is noticed instead of listening everywhere.
set -euo pipefail

lib=${1:?usage: test-nginx-loopback.sh LIB OUT}
out=${2:?usage: test-nginx-loopback.sh LIB OUT}
util=$out/Test/Nginx/Util.pm

if [ ! -f "$lib/Test/Nginx/Socket.pm" ] || [ ! -f "$lib/Test/Nginx/Util.pm" ]
then
    echo "test-nginx-loopback: $lib has no Test/Nginx/Socket.pm and Util.pm" \
         "(give the lib directory of openresty/test-nginx)" >&2
    exit 1
fi

rm -rf "$out"
mkdir -p "$out"
cp -R "$lib/." "$out/"

# "listen          $ServerPort$listen_opts;" -> "... $ServerAddr:$ServerPort..."
# (Perl variables in the patterns: single quotes on purpose)
# shellcheck disable=SC2016
sed -i -E 's/^(\s*listen\s+)\$ServerPort\b/\1$ServerAddr:$ServerPort/' "$util"

# shellcheck disable=SC2016
if grep -Eq '^\s*listen\s+\$ServerPort\b' "$util" \
   || ! grep -Eq '^\s*listen\s+\$ServerAddr:\$ServerPort\b' "$util"
then
    echo "test-nginx-loopback: $util: the generated listen line was not" \
         "found; this harness version is not supported" >&2
    exit 1
fi
