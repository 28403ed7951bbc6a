# Sourced by the bench tools' tests: check WHAT EXPECTED_RC ARGS... runs
# "$exe" ARGS, leaves its stdout in $out and its stderr in "$err", and
# sets fail=1 when the exit status is not EXPECTED_RC.
fail=0
err=$(mktemp)
trap 'rm -f "$err"' EXIT
check() {
	local what=$1 want=$2
	shift 2
	out=$("$exe" "$@" 2>"$err")
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL $what: exit $rc, expected $want ($(cat "$err"))"
		fail=1
	fi
}
