#!/bin/bash
# The fast path's cycle counter (bench/fastpath_cycles.c): it encapsulates
# every frame of its bursts (it refuses to print a figure otherwise),
# prints a plausible figure for small and large frames and for many
# flows, and refuses sizes and flow counts it cannot build.
set -u
exe=$1
. "$(dirname "$0")/lib_check.sh"
for size in 64 1500; do
	check "$size-byte frames" 0 "$size" 3
	re="^$size B: dp_input ([0-9]+\.[0-9]) cycles/frame \(median of 3 rounds\), lowest ([0-9]+\.[0-9])$"
	if ! [[ $out =~ $re ]] ||
	   ! awk -v m="${BASH_REMATCH[1]}" -v l="${BASH_REMATCH[2]}" \
		'BEGIN { exit !(l > 0 && l <= m && m < 1000000) }'; then
		echo "FAIL $size-byte frames: printed '$out'"
		fail=1
	fi
done
check "100 flows" 0 64 3 100
re="^64 B, 100 flows: dp_input ([0-9]+\.[0-9]) cycles/frame \(median of 3 rounds\), lowest ([0-9]+\.[0-9])$"
[[ $out =~ $re ]] || { echo "FAIL 100 flows: printed '$out'"; fail=1; }
check "a frame shorter than its headers" 2 59
check "a frame larger than an Ethernet frame" 2 1515
check "zero flows" 2 64 3 0
check "more flows than the tables hold" 2 64 3 1001
check "zero rounds" 2 64 0
grep -q "usage" "$err" || { echo "FAIL: no usage line for zero rounds"; fail=1; }

[ $fail = 0 ] && echo "PASS"
exit $fail
