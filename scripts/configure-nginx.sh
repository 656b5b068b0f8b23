#!/usr/bin/env bash
# Configures Debian's nginx-dev tree for building ngx_spectra_module as a
# dynamic module with Debian's own configure flags (binary compatible with
# /usr/sbin/nginx). Usage: configure-nginx.sh <repo> <builddir>
set -euo pipefail

repo=$1
builddir=$2
nginx_src=${NGINX_SRC:-/usr/share/nginx/src}

if [ ! -f "$nginx_src/conf_flags" ]; then
    echo "configure-nginx: $nginx_src/conf_flags missing (apt-get install nginx-dev)" >&2
    exit 1
fi

# conf_flags defines the NGX_CONF_FLAGS array.
# shellcheck disable=SC1091
. "$nginx_src/conf_flags"

mkdir -p "$builddir"
cd "$nginx_src"
./configure "${NGX_CONF_FLAGS[@]}" \
    --add-dynamic-module="$repo" --builddir="$builddir" \
    > "$builddir/configure.log" 2>&1 || {
        tail -n 30 "$builddir/configure.log" >&2
        exit 1
    }
