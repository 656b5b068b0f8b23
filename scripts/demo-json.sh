#!/usr/bin/env bash
# Prints var/demo.json: the facts of the running local stack that tests,
# benchmarks and people need (URL, tenants, PostgreSQL, Data API, and the
# demo credentials when authentication is configured).
# Usage: demo-json.sh STATE_DIR HTTP_PORT PG_PORT DATAAPI_PORT
set -euo pipefail

state=$1
http_port=$2
pg_port=$3
dataapi_port=$4

read -r access_key secret_key < <(grep -v '^#' "$state/dataapi/keys" | head -n 1)
pg_password=$(cut -d: -f5- "$state/pg.pgpass")

# secrets go to jq on its standard input, never on a command line
base=$(printf '%s\n%s\n%s\n' "$access_key" "$secret_key" "$pg_password" \
    | jq -R -n \
    --arg url "http://127.0.0.1:$http_port" \
    --argjson pg_port "$pg_port" \
    --arg endpoint "http://127.0.0.1:$dataapi_port" \
    'input as $access_key | input as $secret_key | input as $pg_password | {
      url: $url,
      tenants: [
        {tenant_id: "acme", db_user: "tenant_acme", rows: 600000},
        {tenant_id: "globex", db_user: "tenant_globex", rows: 300000},
        {tenant_id: "initech", db_user: "tenant_initech", rows: 100000}
      ],
      postgres: {host: "127.0.0.1", port: $pg_port, user: "postgres",
                 password: $pg_password, database: "warehouse"},
      dataapi: {endpoint: $endpoint, region: "us-east-1",
                access_key_id: $access_key, secret_access_key: $secret_key,
                database: "warehouse", cluster_identifier: "spectra-local"}
    }')

auth=$state/auth/demo-auth.json
if [ -f "$auth" ]; then
    # Per-tenant credentials are merged by tenant_id; the rest is top level.
    jq -s '.[0] as $b | .[1] as $a
           | $b + ($a | del(.tenants))
           | .tenants = [$b.tenants[] as $t
                         | $t + ([$a.tenants[]? | select(.tenant_id
                                                        == $t.tenant_id)]
                                 | add // {})]' \
        <(printf '%s' "$base") "$auth"
else
    printf '%s\n' "$base"
fi
