#!/usr/bin/env bash
# The container's entry point (the image's /usr/local/bin/spectra-entrypoint):
# writes the Data API's upstream and location from the environment, renders
# the configuration templates, then runs the command (nginx).
#
#   SPECTRA_DATAAPI_ENDPOINT  the Data API: https://host[:port] (TLS, the
#                             certificate verified against the system CAs)
#                             or http://host[:port] (a spectra-dataapi next
#                             to it); default https://redshift-data.
#                             $AWS_REGION.amazonaws.com with AWS_REGION set,
#                             else http://127.0.0.1:8081
#   /etc/spectra/templates/*.conf.template
#                             rendered into /etc/spectra/conf.d/*.conf (the
#                             server's settings) with ${NAME} replaced by
#                             the environment's NAME (names that are not
#                             set are left as they are, so nginx's own
#                             $variables pass through)
#   SPECTRA_ETC               /etc/spectra (the tests move it)
set -euo pipefail

etc=${SPECTRA_ETC:-/etc/spectra}
endpoint=${SPECTRA_DATAAPI_ENDPOINT:-}

if [ -z "$endpoint" ] && [ -n "${AWS_REGION:-}" ]; then
    endpoint=https://redshift-data.$AWS_REGION.amazonaws.com
fi
endpoint=${endpoint:-http://127.0.0.1:8081}
endpoint=${endpoint%/}

case $endpoint in
https://*) scheme=https; hostport=${endpoint#https://}; port=443 ;;
http://*) scheme=http; hostport=${endpoint#http://}; port=80 ;;
*)
    echo "spectra: SPECTRA_DATAAPI_ENDPOINT must be https://host[:port] or" \
         "http://host[:port], not \"$endpoint\"" >&2
    exit 1
    ;;
esac

host=${hostport%%:*}
if [ "$hostport" != "$host" ]; then
    port=${hostport#*:}
fi

if ! [[ $host =~ ^[A-Za-z0-9.-]+$ ]] || ! [[ $port =~ ^[0-9]{1,5}$ ]]; then
    echo "spectra: SPECTRA_DATAAPI_ENDPOINT \"$endpoint\" is not" \
         "scheme://host[:port]" >&2
    exit 1
fi

# the Host the calls are signed for: with the port unless it is the
# scheme's own
signed=$host
if { [ "$scheme" = https ] && [ "$port" != 443 ]; } \
    || { [ "$scheme" = http ] && [ "$port" != 80 ]; }
then
    signed=$host:$port
fi

mkdir -p "$etc/conf.d"

cat > "$etc/dataapi.conf" <<CONF
# Written by spectra-entrypoint from SPECTRA_DATAAPI_ENDPOINT ($endpoint).
upstream spectra_dataapi {
    server $host:$port;
    keepalive 16;
}

spectra_dataapi_host $signed;
spectra_dataapi_url $scheme://$signed/;
CONF

{
    echo "# Written by spectra-entrypoint from SPECTRA_DATAAPI_ENDPOINT ($endpoint)."
    echo "location /_spectra/dataapi {"
    echo "    internal;"
    echo "    proxy_pass $scheme://spectra_dataapi/;"
    echo "    proxy_http_version 1.1;"
    echo "    proxy_set_header Connection \"\";"
    echo "    proxy_set_header Host \$spectra_host;"
    echo "    proxy_ignore_client_abort on;"
    if [ "$scheme" = https ]; then
        echo "    proxy_ssl_server_name on;"
        echo "    proxy_ssl_name $host;"
        echo "    proxy_ssl_verify on;"
        echo "    proxy_ssl_verify_depth 4;"
        echo "    proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;"
    fi
    echo "    proxy_connect_timeout 5s;"
    echo "    proxy_read_timeout 30s;"
    echo "    subrequest_output_buffer_size 64m;"
    echo "}"
} > "$etc/dataapi-location.conf"

# ${NAME} of the variables that are set only
vars=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')

for t in "$etc"/templates/*.conf.template; do
    [ -e "$t" ] || continue
    out=$etc/conf.d/$(basename "$t" .template)
    envsubst "$vars" < "$t" > "$out.tmp"
    mv -f "$out.tmp" "$out"
done

exec "$@"
