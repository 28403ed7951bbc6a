#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root): install
# dependencies, reserve hugepages, build, run the unit and integration
# tests, then the unit tests again built with ASan and UBSan.
# Arguments go to the first `meson test` (e.g. --suite unit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/hugepages.sh 1024
scripts/build.sh
meson test -C build --print-errorlogs --num-processes 1 "$@"

if [ ! -f build-asan/build.ninja ]; then
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
		-Dintegration_tests=false >/dev/null
fi
ninja -C build-asan >/dev/null
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --suite unit --print-errorlogs --num-processes 1
