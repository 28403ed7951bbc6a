#!/bin/bash
# The benchmark in one command (docs/performance.md):
#   bench/run.sh [--quick] [--build DIR] [--out DIR] [bench.py options]
# Needs root, huge pages and the packages of bench/deps.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/bench.py" "$@"
