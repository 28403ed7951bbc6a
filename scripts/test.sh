#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root): install
# dependencies, reserve hugepages, build, run the unit and integration
# tests, then the unit and integration tests again built with ASan and
# UBSan, then the libFuzzer targets (tests/fuzz, docs/fuzzing.md) for a short budget each.
# Arguments go to the first `meson test` (e.g. --suite unit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/hugepages.sh 1024
scripts/build.sh
meson test -C build --print-errorlogs --num-processes 1 "$@"

if [ ! -f build-asan/build.ninja ]; then
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
else
	meson configure build-asan -Dintegration_tests=true >/dev/null
fi
ninja -C build-asan >/dev/null
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --suite unit --print-errorlogs --num-processes 1

# Integration tests against the sanitized switch, vswitchctl and vm-bridge:
# any ASan, LeakSanitizer or UBSan report in a process log fails the test
# (tests/integration/lib_sanitizer.sh, loaded by lib.sh on VS_SANITIZER=1).
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 VS_SANITIZER=1 \
	meson test -C build-asan --print-errorlogs --num-processes 1 \
		--logbase asan-integration --suite integration --no-suite harness

# The fuzz targets: clang-14, ASan+UBSan+libFuzzer; only the fuzz suite
# (the unit tests ran twice above), 10 s each here to keep the suite short
# (FUZZ_SECONDS=N for longer).
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang-14 meson setup build-fuzz -Dfuzz=true -Dtests=false \
		-Dintegration_tests=false >/dev/null
fi
ninja -C build-fuzz >/dev/null
FUZZ_SECONDS=${FUZZ_SECONDS:-10} meson test -C build-fuzz --suite fuzz --print-errorlogs

# One closing line over every run, in the plain form CI reads.
/usr/bin/python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
	build-asan/meson-logs/asan-integration.json build-fuzz/meson-logs/testlog.json <<'PY'
import json, sys
ok = bad = skip = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            ok += 1
        elif r == "SKIP":
            skip += 1
        else:
            bad += 1
print(f"{ok} passed, {bad} failed, {skip} skipped")
PY
