#!/bin/sh
# run_fuzz.sh TARGET SEED_DIR WORK_DIR SECONDS [libFuzzer flags...]
# (FUZZ_SECONDS in the environment overrides SECONDS)
# One short fuzzing run for `meson test --suite fuzz`: the seed corpus
# (every file in it must pass: crashes found earlier live there as
# regression inputs) and then SECONDS of fuzzing.  New inputs go to
# WORK_DIR/corpus, never into the source tree; a crash or leak is written
# to WORK_DIR/artifacts/ and fails the test (exit 1; libFuzzer's own 77
# would read as "skipped" to meson).
set -eu
exe=$1 seeds=$2 work=$3 secs=${FUZZ_SECONDS:-$4}
shift 4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
exec "$exe" -max_total_time="$secs" -timeout=10 -error_exitcode=1 -rss_limit_mb=4096 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$seeds"
