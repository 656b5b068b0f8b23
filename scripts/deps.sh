#!/usr/bin/env bash
# Installs every Debian and npm package Spectra needs to build, run and test.
# Idempotent: does nothing when everything is already there.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

# --build: only what building the module and the daemon needs (the
# Dockerfile's build stage); default: everything to run and test as well.
build_debs=(
    build-essential pkg-config ca-certificates
    nginx nginx-dev
    libssl-dev libjansson-dev libjwt-dev libcurl4-openssl-dev
    libmicrohttpd-dev libpq-dev libsqlite3-dev zlib1g-dev libzstd-dev
    libsnappy-dev libpg-query-dev libprotobuf-c-dev libexpat1-dev
)

debs=(
    build-essential pkg-config git curl jq procps iproute2 openssl
    nginx nginx-dev
    libssl-dev libjansson-dev libjwt-dev libcurl4-openssl-dev
    libmicrohttpd-dev libpq-dev libsqlite3-dev sqlite3 zlib1g-dev
    libzstd-dev zstd libsnappy-dev
    libpg-query-dev libprotobuf-c-dev libexpat1-dev
    postgresql postgresql-client
    check valgrind shellcheck
    clang libclang-rt-14-dev  # libFuzzer, ASan, UBSan (scripts/fuzz.sh)
    prometheus  # promtool checks the metrics text (t/085); not started
    awscli python3-botocore
    libtest-base-perl libtest-longstring-perl libtext-diff-perl
    liblist-moreutils-perl libwww-perl liburi-perl libipc-run-perl
    libtest-tcp-perl libdbd-pg-perl libcrypt-jwt-perl libjson-perl
    wrk hyperfine
    gnuplot-nox  # make bench: the charts of bench/RESULTS.md
)

# The machine image ships Node.js with its own npm; Debian's npm conflicts
# with that build, so only fall back to Debian's when node is absent.
if ! command -v npm >/dev/null 2>&1; then
    debs+=(nodejs npm)
fi

if [ "${1:-}" = --build ]; then
    debs=("${build_debs[@]}")
fi

missing=()
for p in "${debs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
        | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    # Packaged services (nginx on :80, the default PostgreSQL cluster) must
    # not start: Spectra runs its own instances on loopback high ports.
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod 755 "$policy"
        created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    if [ "$created_policy" = 1 ]; then
        rm -f "$policy"
    fi
fi

if [ "${1:-}" = --build ]; then
    exit 0
fi

# npm tools: the Dockerfile linters, DuckDB (reads exports back in tests),
# the OpenAPI 3.1 validator and ajv (lint and t/080 check docs/openapi.json),
# dynalite (t/090's DynamoDB-compatible job store).
if [ ! -d "$top/node_modules/@duckdb/node-api" ] \
    || [ ! -d "$top/node_modules/hyparquet" ] \
    || [ ! -d "$top/node_modules/@seriousme/openapi-schema-validator" ] \
    || [ ! -d "$top/node_modules/ajv" ] \
    || [ ! -d "$top/node_modules/ajv-formats" ] \
    || [ ! -e "$top/node_modules/dynalite/cli.js" ] \
    || [ ! -e "$top/node_modules/.bin/dockerfilelint" ] \
    || [ ! -e "$top/node_modules/.bin/dockerfile-utils" ]; then
    echo "deps: installing npm packages"
    # npm ci trips over the lock file's optional per-platform DuckDB
    # bindings (npm 11); install keeps to the locked versions all the same.
    (cd "$top" && npm install --no-audit --no-fund --loglevel=error)
fi
