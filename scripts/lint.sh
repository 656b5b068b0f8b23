#!/usr/bin/env bash
# Lints what the compiler does not see: shell scripts, the Dockerfile and
# the OpenAPI document.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
shellcheck -x "${scripts[@]}"

node_modules/.bin/dockerfilelint Dockerfile
# dockerfile-utils prints its findings and exits 0: any output is a finding.
out=$(node_modules/.bin/dockerfile-utils lint Dockerfile)
if [ -n "$out" ]; then
    printf '%s\n' "$out"
    exit 1
fi
# docs/openapi.json: OpenAPI 3.1 by its JSON Schema, and the API's own
# rules (t/data/openapi/lint.mjs)
node t/data/openapi/lint.mjs docs/openapi.json

echo "lint: clean"
