#!/bin/sh
# Writes the C header that embeds docs/openapi.json in the module (GET
# /v1/openapi.json serves these bytes). Run by the addon script ("config")
# when nginx is configured, and by the Makefile when the document changes.
# POSIX sh, od and sed: nginx's configure runs addon scripts with sh.
# Usage: embed-openapi.sh <openapi.json> <header.h>
set -eu

in=$1
out=$2

if [ ! -r "$in" ]; then
    echo "embed-openapi: $in: not readable" >&2
    exit 1
fi

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT

{
    echo "/* generated from docs/openapi.json by scripts/embed-openapi.sh */"
    echo
    echo "static const u_char  ngx_http_spectra_openapi_json[] = {"
    od -An -v -tx1 "$in" | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g' \
                               -e 's/^/    /'
    echo "};"
} > "$tmp"

# od writes nothing for a file it could not read: never embed a partial one
size=$(wc -c < "$in")
bytes=$(grep -o '0x[0-9a-f][0-9a-f],' "$tmp" | wc -l)

if [ "$size" -ne "$bytes" ]; then
    echo "embed-openapi: $in: $size bytes, $bytes embedded" >&2
    exit 1
fi

mv -f "$tmp" "$out"
trap - EXIT
