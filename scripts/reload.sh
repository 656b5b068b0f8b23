#!/usr/bin/env bash
# make reload: the running local stack picks up a changed configuration
# (conf/spectra-local.conf, and the user's own API keys and config
# additions in var/local, see scripts/local-conf.sh) without a restart:
# rendered, checked with nginx -t, then nginx -s reload.  A configuration
# that fails nginx -t changes nothing and the running nginx goes on.
set -euo pipefail

# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"

state=${SPECTRA_STATE_DIR:-$state_root/run}

if [ ! -f "$state/nginx/logs/nginx.pid" ] || [ ! -f "$state/ports" ]; then
    echo "reload: Spectra is not running (make run first)" >&2
    exit 1
fi

make -s -C "$repo" module
read -r http_port _ dataapi_port < "$state/ports"
bash "$repo/scripts/local-conf.sh" "$state" "$http_port" "$dataapi_port"
/usr/sbin/nginx -p "$state/nginx" -c conf/nginx.conf -s reload
echo "reload: nginx reloads its configuration (new workers take new" \
     "requests; the old ones finish theirs)"
