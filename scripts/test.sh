#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root): install
# dependencies, reserve hugepages, build, run unit and integration tests.
# Arguments go to `meson test` (e.g. --suite unit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/hugepages.sh 1024
scripts/build.sh
meson test -C build --print-errorlogs --num-processes 1 "$@"
