# shellcheck shell=bash
# Sanitizer support for the integration tests, sourced by lib.sh when
# VS_SANITIZER=1 (scripts/test.sh sets it when it runs tests against
# build-asan, the ASan+UBSan build).  Every process the test started logs
# to $VS_TMP/NAME.log; a sanitizer report in any of them fails the test.
# LeakSanitizer reports are written when a process exits, so the logs are
# checked after vs_cleanup has stopped everything, at the very end.
#
# Options (when not set by the caller): ASan aborts on the first error,
# LSan runs at exit, UBSan halts on the first error with a stack trace;
# tests/integration/lsan.supp lists leaks to ignore (none so far: the
# switch and vm-bridge free everything; DPDK's own memory is hugepage
# memory from rte_malloc, which LSan does not track).

_vs_san_supp=$VS_LIB_DIR/lsan.supp
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
if [ -f "$_vs_san_supp" ] && [ -z "${LSAN_OPTIONS:-}" ]; then
	export LSAN_OPTIONS=suppressions=$_vs_san_supp:print_suppressions=0
fi

# vs_sanitizer_check: 0 if no log in $VS_TMP holds a sanitizer report,
# else print the reports and return 1
vs_sanitizer_check() {
	local f bad=0 pat='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer'
	for f in "$VS_TMP"/*.log; do
		[ -f "$f" ] || continue
		if grep -qE "$pat" "$f"; then
			printf -- '----- sanitizer report in %s -----\n' "$f" >&2
			grep -E -A 30 "$pat" "$f" | head -n 80 >&2
			printf -- '-----\n' >&2
			bad=1
		fi
	done
	[ "$bad" = 0 ]
}

# Wrap the EXIT trap: stop everything first (LSan reports come at exit),
# check the logs, then let the original trap clean up with a failing
# status if a report was found.
eval "$(declare -f _vs_exit_trap | sed '1s/^_vs_exit_trap/_vs_san_orig_exit_trap/')"
_vs_exit_trap() {
	local rc=$?
	set +e +u
	trap - EXIT INT TERM HUP
	if [ "$_VS_CLEANED" != 1 ] && [ -d "${VS_TMP:-}" ]; then
		vs_cleanup
		if ! vs_sanitizer_check; then
			printf 'FAIL: %s: sanitizer report (see above)\n' "${VS_NAME:-test}" >&2
			[ "$rc" != 0 ] || rc=1
		fi
	fi
	(exit "$rc")
	_vs_san_orig_exit_trap
}
