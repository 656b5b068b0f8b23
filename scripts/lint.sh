#!/usr/bin/env bash
# Lints what the compiler does not see: shell scripts and the Dockerfile.
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
echo "lint: clean"
