#!/usr/bin/env bash
# The C unit tests again, built with clang's AddressSanitizer (with
# LeakSanitizer) and UndefinedBehaviorSanitizer into BUILD/asan (part of
# make test).  Any report fails the test that made it.
set -euo pipefail

# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# the sanitizers make the tests several times slower than check's 4 s
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-20}

make -s -C "$repo" BUILD="$build/asan" CC=clang \
    CFLAGS="-O1 -g -fno-omit-frame-pointer $san" unit
