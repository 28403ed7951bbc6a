#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root) to a running switch:
# install dependencies, reserve hugepages, build, then run dpdk-vswitch on
# its built-in default configuration (config/default.yaml) in the foreground.
# Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/hugepages.sh 1024
scripts/build.sh
echo "setup: starting build/dpdk-vswitch (control: build/vswitchctl show)"
exec build/dpdk-vswitch
