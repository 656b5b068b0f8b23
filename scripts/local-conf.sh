#!/usr/bin/env bash
# The local stack's nginx configuration, for make run and make reload:
# conf/spectra-local.conf rendered into STATE/nginx/conf/nginx.conf, and
# the API keys nginx reads, the demo tenants' (scripts/demo-auth.sh) and
# the user's own, merged.  Then nginx -t.
#
# The user's additions live outside the state directory and are never
# written once they exist (SPECTRA_LOCAL_DIR, default var/local):
#   api.keys     key lines of the user's own (spectra-apikey prints them)
#   http.d/      *.conf included at the end of http {}
#   server.d/    *.conf included at the end of the API's server {}
#
# Usage: local-conf.sh STATE HTTP_PORT DATAAPI_PORT
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: local-conf.sh STATE HTTP_PORT DATAAPI_PORT" >&2
    exit 2
fi

# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"

state=$1
http_port=$2
dataapi_port=$3
local_dir=${SPECTRA_LOCAL_DIR:-$repo/var/local}

mkdir -p "$local_dir/http.d" "$local_dir/server.d"
if [ ! -f "$local_dir/api.keys" ]; then
    (
        umask 077
        cat > "$local_dir/api.keys" <<'KEYS'
# Your own API keys for the local stack, one line per key as
# build/spectra-apikey prints it (make run and make reload add these to
# the demo tenants' keys; this file is never rewritten):
#   build/spectra-apikey --tenant acme --permissions query
KEYS
    )
fi

read -r access_key secret_key < <(grep -v '^#' "$state/dataapi/keys" | head -n 1)

# the demo keys, then the user's: a key id in both is nginx -t's error
(
    umask 077
    {
        cat "$state/auth/demo.keys"
        echo "# from $local_dir/api.keys"
        cat "$local_dir/api.keys"
    } > "$state/auth/api.keys.tmp"
    mv -f "$state/auth/api.keys.tmp" "$state/auth/api.keys"

    sed -e "s|@MODULE@|$build/ngx_spectra_module.so|g" \
        -e "s|@STATE@|$state|g" \
        -e "s|@LOCAL@|$local_dir|g" \
        -e "s|@HTTP_PORT@|$http_port|g" \
        -e "s|@DATAAPI_PORT@|$dataapi_port|g" \
        -e "s|@AUTH_CONF@|$state/auth/auth.conf|g" \
        -e "s|@DATAAPI_ACCESS_KEY@|$access_key|g" \
        -e "s|@DATAAPI_SECRET_KEY@|$secret_key|g" \
        "$repo/conf/spectra-local.conf" > "$state/nginx/conf/nginx.conf.tmp"
)

if ! out=$(/usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf.tmp -t -q 2>&1)
then
    rm -f "$state/nginx/conf/nginx.conf.tmp"
    echo "$out" >&2
    echo "the configuration (with $local_dir) does not pass nginx -t;" \
         "nothing was changed" >&2
    exit 1
fi

mv -f "$state/nginx/conf/nginx.conf.tmp" "$state/nginx/conf/nginx.conf"
