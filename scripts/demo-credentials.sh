#!/usr/bin/env bash
# The demo warehouse's passwords, as its DBA would set them: spectra-dataapi's
# administrative role, and a Secrets Manager secret for the tenants reached
# through SecretArn. tenant_initech has no secret: spectra-dataapi mints its
# passwords (spectra_admin.get_cluster_credentials), as GetClusterCredentials
# does for a DbUser, so every run uses both paths.
#
#   demo-credentials.sh PG_DIR PG_PORT DATAAPI_DIR
#       PG_DIR.pgpass     the superuser's (pg.sh start writes it)
#       DATAAPI_DIR/pg-password    the password of spectra_dataapi (0600)
#       DATAAPI_DIR/secrets.json   ARN -> {username, password} (0600)
#
# Passwords never appear on a command line and are set in a session that
# logs no statement.
set -euo pipefail

pg_dir=${1:?usage: demo-credentials.sh PG_DIR PG_PORT DATAAPI_DIR}
pg_port=${2:?usage: demo-credentials.sh PG_DIR PG_PORT DATAAPI_DIR}
out=${3:?usage: demo-credentials.sh PG_DIR PG_PORT DATAAPI_DIR}

# the ARNs the suites and conf/ use
arn_prefix=arn:aws:secretsmanager:us-east-1:123456789012:secret:spectra
secret_tenants=(acme globex)

mkdir -p "$out"
chmod 700 "$out"

admin=$(openssl rand -hex 32)
declare -A password
for t in "${secret_tenants[@]}"; do
    password[$t]=$(openssl rand -hex 32)
done

{
    echo "SET log_statement = 'none';"
    printf "ALTER ROLE spectra_dataapi PASSWORD '%s';\n" "$admin"
    for t in "${secret_tenants[@]}"; do
        printf "ALTER ROLE tenant_%s PASSWORD '%s';\n" "$t" "${password[$t]}"
    done
} | PGPASSFILE=${pg_dir%/}.pgpass psql -X -q -w -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$pg_port" -U postgres -d warehouse >/dev/null

(
    umask 077
    printf '%s\n' "$admin" > "$out/pg-password.tmp"
    mv -f "$out/pg-password.tmp" "$out/pg-password"
    {
        echo '{'
        sep=''
        for t in "${secret_tenants[@]}"; do
            printf '%s  "%s/tenant_%s-Ab1Cd2": {"engine": "redshift", ' \
                "$sep" "$arn_prefix" "$t"
            printf '"username": "tenant_%s", "password": "%s"}' \
                "$t" "${password[$t]}"
            sep=$',\n'
        done
        printf '\n}\n'
    } > "$out/secrets.json.tmp"
    mv -f "$out/secrets.json.tmp" "$out/secrets.json"
)
