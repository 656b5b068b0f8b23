#!/usr/bin/env bash
# make test's sanitized suites: the module, the core, spectra-dataapi and
# the tools built again with AddressSanitizer and UndefinedBehaviorSanitizer
# (-fno-sanitize-recover: a report ends the process) into build/asan-suites,
# then the suites that drive most of their code run on that build: nginx
# (Debian's binary) loads the sanitized module with libasan preloaded
# (TEST_NGINX_LD_PRELOAD), spectra-dataapi and the tools are the sanitized
# ones. A sanitizer report anywhere in nginx's logs (every block's, kept
# for t/099) or the daemon's log fails the run. Leaks are left to the
# valgrind mode (LeakSanitizer also reports what stock nginx never frees).
#
# SANITIZE_SUITES overrides the list; the ports are the first free block
# (scripts/test.sh), so this runs beside a make test's own fixtures.
set -euo pipefail

# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"

san="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined"
san="$san -fno-sanitize-recover=undefined"
asan_build=$repo/build/asan-suites
suites=${SANITIZE_SUITES:-t/001-api-basics.t t/011-auth-jwt-hostile.t \
t/030-dataapi-cli.t t/050-query.t t/051-query-errors.t t/052-sql-policy.t \
t/053-jobs.t t/061-answers.t t/063-bulk.t t/069-imports.t \
t/073-isolation-matrix.t}

echo "sanitize: building the module, core, daemon and tools with ASan+UBSan"
SPECTRA_MODULE_CC_OPT="$san" CFLAGS="$san" \
    make -s -C "$repo" -j2 BUILD="$asan_build" all

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "sanitize: $suites"
rc=0
env -u SPECTRA_PORT_BASE -u SPECTRA_STATE \
    BUILD="$asan_build" TESTS="$suites" \
    TEST_NGINX_LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
    ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" \
    UBSAN_OPTIONS="print_stacktrace=1" \
    bash "$repo/scripts/test.sh" 2>&1 | tee "$log" || rc=$?

# where that run kept its state: its logs are read for reports below
base=$(sed -n 's/^test: ports \([0-9]*\)\.\..*/\1/p' "$log" | tail -n 1)
state=$state_root/test-$base
if [ -z "$base" ] || [ ! -d "$state" ]; then
    echo "sanitize: the run's state is missing" >&2
    exit 1
fi

if grep -rlE 'ERROR: AddressSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' \
        "$state/nginx-logs" "$state/dataapi/log" 2> /dev/null; then
    echo "sanitize: sanitizer reports in the logs above" >&2
    grep -rhE -A12 'ERROR: AddressSanitizer|runtime error:' \
        "$state/nginx-logs" "$state/dataapi/log" | head -60 >&2
    rc=1
fi
rm -rf "$state"
exit "$rc"
