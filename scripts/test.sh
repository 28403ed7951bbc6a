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

# One closing line over both runs, in the plain form CI reads.
/usr/bin/python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
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
