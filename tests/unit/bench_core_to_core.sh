#!/bin/bash
# The benchmark's placement probe (bench/core_to_core.c): a plausible
# one-way time between CPU 0 and CPU 1, and clear refusals of bad requests.
set -u
exe=$1
. "$(dirname "$0")/lib_check.sh"
if [ "$(nproc)" -lt 2 ]; then
	echo "SKIP: needs two CPUs"
	exit 77
fi
check "CPU 0 to CPU 1" 0 0 1 4 200
if ! [[ $out =~ ^[0-9]+\.[0-9]$ ]] || ! awk -v v="$out" 'BEGIN { exit !(v > 0 && v < 100000) }'; then
	echo "FAIL CPU 0 to CPU 1: printed '$out', expected nanoseconds between 0 and 100000"
	fail=1
fi
check "the same CPU twice" 2 0 0
grep -q "two different CPUs" "$err" || { echo "FAIL: no usage line for 0 0"; fail=1; }
check "a CPU that is not a number" 2 x 1
check "zero batches" 2 0 1 0
check "too many trips" 2 0 1 8 1000001
check "a CPU this machine lacks" 1 0 1023
grep -q "CPUs 0 and 1023" "$err" || { echo "FAIL: no error naming CPU 1023"; fail=1; }

[ $fail = 0 ] && echo "PASS"
exit $fail
