#!/usr/bin/env bash
# The etcd client (src/policy/ps_etcd.c) against a real 3-member etcd
# cluster on loopback: snapshot, watch events with their revisions, the
# request API, a leased key expiring when its owner dies, watch failover
# when its member is killed (no loss, no duplicate), pause/resume, a
# compacted resume point, quorum loss (degraded, no blocking poll) and
# recovery.  tests/tools/etcd_client_check.c runs the scenarios and
# prints PASS/FAIL lines; this script owns the cluster.
#
# Needs no root, hugepages or namespaces (so it does not use vs_init);
# SKIP (77) when etcd is not installed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
set -euo pipefail

if [ ! -x /usr/bin/etcd ] || ! command -v etcdctl >/dev/null; then
	echo "SKIP: etcd_client needs etcd-server and etcd-client"
	exit 77
fi
BUILD=${VS_BUILD_DIR:-$VS_SRC/build}
CHECK=$BUILD/tests/tools/etcd-client-check
[ -x "$CHECK" ] || vs_fail "missing $CHECK (build with -Dtests=true)"

# A private cluster: own ports and data dir, away from a developer's one.
export ETCD_BASE_PORT=${ETCD_TEST_BASE_PORT:-42379}
ETCD_DIR=$(mktemp -d /tmp/vs-etcd-client.XXXXXX)
export ETCD_DIR
export ETCD_CLUSTER=$VS_SRC/scripts/etcd-cluster.sh
export ETCDCTL=${ETCDCTL:-etcdctl}

cleanup() {
	local rc=$?
	set +e
	if [ "$rc" != 0 ]; then
		tail -n 5 "$ETCD_DIR"/m*/etcd.log 2>/dev/null
	fi
	"$ETCD_CLUSTER" stop --wipe
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for port in $ETCD_BASE_PORT $((ETCD_BASE_PORT + 5)); do
	if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
		vs_fail "port $port is in use (set ETCD_TEST_BASE_PORT)"
	fi
done

t0=$SECONDS
vs_log "starting etcd cluster in $ETCD_DIR, ports $ETCD_BASE_PORT..$((ETCD_BASE_PORT + 5))"
"$ETCD_CLUSTER" start
ETCD_ENDPOINTS=$("$ETCD_CLUSTER" endpoints)
export ETCD_ENDPOINTS
vs_log "cluster up after $((SECONDS - t0)) s"

out=$(mktemp /tmp/vs-etcd-client-out.XXXXXX)
rc=0
timeout -s KILL 150 "$CHECK" run 2>&1 | tee "$out" || rc=$?
n_fail=$(grep -c '^FAIL' "$out" || true)
n_pass=$(grep -c '^PASS' "$out" || true)
rm -f "$out"
vs_log "etcd-client-check: $n_pass passed, $n_fail failed, exit $rc, $((SECONDS - t0)) s in all"
if [ "$rc" != 0 ] || [ "$n_fail" != 0 ] || [ "$n_pass" -lt 15 ]; then
	vs_fail "etcd client scenarios"
fi
vs_pass "etcd client"
