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

# The module is compiled with -O2 (nginx's own default is -O, Debian's
# flags have no --with-cc-opt of their own to replace) and without
# semantic interposition: its functions call each other directly, not
# through the PLT, and may be inlined (the result encoder and the JSON
# scanner are most of a large answer's CPU). SPECTRA_MODULE_CC_OPT:
# compiler (and linker) flags for the module only, after these, e.g. the
# sanitizers (scripts/suites-sanitize.sh, with an -O of their own).
# -fno-strict-aliasing: the glue passes nginx's ngx_str_t to the core as
# its spectra_str_t (the same layout; ngx_http_spectra_str()), which -O2's
# type-based aliasing rules would otherwise leave undefined.
cc_opt="-O2 -fno-strict-aliasing -fno-semantic-interposition"
cc_opt="$cc_opt ${SPECTRA_MODULE_CC_OPT:-}"
extra=(--with-cc-opt="$cc_opt")
if [ -n "${SPECTRA_MODULE_CC_OPT:-}" ]; then
    extra+=(--with-ld-opt="$SPECTRA_MODULE_CC_OPT")
fi

mkdir -p "$builddir"
cd "$nginx_src"
./configure "${NGX_CONF_FLAGS[@]}" "${extra[@]}" \
    --add-dynamic-module="$repo" --builddir="$builddir" \
    > "$builddir/configure.log" 2>&1 || {
        tail -n 30 "$builddir/configure.log" >&2
        exit 1
    }
