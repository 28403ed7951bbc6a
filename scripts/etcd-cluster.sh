#!/usr/bin/env bash
# A local etcd cluster on 127.0.0.1 for the distributed policy service and
# its tests (docs/etcd.md).  Uses Debian's etcd-server (/usr/bin/etcd).
#
#   etcd-cluster.sh start          start every member, wait until healthy
#   etcd-cluster.sh stop [--wipe]  stop the members this script started
#                                  (pid files); --wipe removes ETCD_DIR
#   etcd-cluster.sh status         endpoint status of every member
#   etcd-cluster.sh kill N         SIGKILL member N (1-based), as a crash
#   etcd-cluster.sh restart N      start member N again; it rejoins
#   etcd-cluster.sh endpoints      print the client URLs, comma-separated
#
# Environment:
#   ETCD_MEMBERS    number of members (default 3)
#   ETCD_BASE_PORT  member i: client port BASE+2(i-1), peer port +1
#                   (default 32379)
#   ETCD_DIR        data, logs and pid files (default /tmp/dpdk-vswitch-etcd)
#   ETCD_TOKEN      initial cluster token (default dpdk-vswitch-etcd-BASE)
set -euo pipefail

N=${ETCD_MEMBERS:-3}
BASE=${ETCD_BASE_PORT:-32379}
DIR=${ETCD_DIR:-/tmp/dpdk-vswitch-etcd}
TOKEN=${ETCD_TOKEN:-dpdk-vswitch-etcd-$BASE}
ETCD=${ETCD_BIN:-/usr/bin/etcd}
ETCDCTL=${ETCDCTL_BIN:-/usr/bin/etcdctl}
export ETCDCTL_API=3

die() {
	echo "etcd-cluster: $*" >&2
	exit 1
}

client_port() { echo $((BASE + 2 * ($1 - 1))); }
peer_port() { echo $((BASE + 2 * ($1 - 1) + 1)); }
client_url() { echo "http://127.0.0.1:$(client_port "$1")"; }

endpoints() {
	local i out=''
	for ((i = 1; i <= N; i++)); do
		out+="${out:+,}$(client_url "$i")"
	done
	echo "$out"
}

initial_cluster() {
	local i out=''
	for ((i = 1; i <= N; i++)); do
		out+="${out:+,}m$i=http://127.0.0.1:$(peer_port "$i")"
	done
	echo "$out"
}

check_member() {
	if ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ] || [ "$1" -gt "$N" ]; then
		die "member must be 1..$N, not '$1'"
	fi
}

# pid of member N if it is running and is the etcd we started
member_pid() {
	local f=$DIR/m$1/pid pid
	[ -f "$f" ] || return 1
	pid=$(<"$f")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	grep -qa -- "--name" "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

# launch_member N new|existing
launch_member() {
	local i=$1 state=$2 d=$DIR/m$1
	if member_pid "$i" >/dev/null; then
		echo "m$i already running"
		return 0
	fi
	mkdir -p "$d/data"
	chmod 700 "$d/data"
	setsid "$ETCD" --name "m$i" --data-dir "$d/data" \
		--listen-client-urls "$(client_url "$i")" \
		--advertise-client-urls "$(client_url "$i")" \
		--listen-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
		--initial-advertise-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
		--initial-cluster "$(initial_cluster)" \
		--initial-cluster-token "$TOKEN" --initial-cluster-state "$state" \
		--heartbeat-interval 100 --election-timeout 1000 \
		--logger zap --log-outputs "$d/etcd.log" \
		</dev/null >>"$d/stdout.log" 2>&1 &
	echo $! >"$d/pid"
}

# wait_healthy URLS SECONDS
wait_healthy() {
	local eps=$1 tmo=$2 t0=$SECONDS
	while ((SECONDS - t0 < tmo)); do
		if "$ETCDCTL" --endpoints "$eps" --dial-timeout 1s --command-timeout 2s \
			endpoint health >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

cmd_start() {
	local i state=new
	mkdir -p "$DIR"
	# a cluster that has run before rejoins with its data
	[ -d "$DIR/m1/data/member" ] && state=existing
	for ((i = 1; i <= N; i++)); do
		launch_member "$i" "$state"
	done
	wait_healthy "$(endpoints)" 20 || die "cluster not healthy after 20 s (logs in $DIR/m*/etcd.log)"
	echo "etcd cluster up: $(endpoints)"
}

cmd_stop() {
	local i pid t
	for ((i = 1; i <= N; i++)); do
		if pid=$(member_pid "$i"); then
			kill "$pid" 2>/dev/null || true
			for ((t = 0; t < 50; t++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$DIR/m$i/pid"
	done
	if [ "${1:-}" = --wipe ]; then
		rm -rf "$DIR"
	fi
}

cmd_kill() {
	local pid
	check_member "$1"
	pid=$(member_pid "$1") || die "m$1 is not running"
	kill -9 "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	rm -f "$DIR/m$1/pid"
}

cmd_restart() {
	check_member "$1"
	launch_member "$1" existing
}

cmd_status() {
	local i pid
	for ((i = 1; i <= N; i++)); do
		if pid=$(member_pid "$i"); then
			echo "m$i $(client_url "$i") pid $pid"
		else
			echo "m$i $(client_url "$i") down"
		fi
	done
	"$ETCDCTL" --endpoints "$(endpoints)" --dial-timeout 1s --command-timeout 2s \
		endpoint status -w table 2>/dev/null || true
}

[ -x "$ETCD" ] || die "$ETCD not found (apt-get install etcd-server etcd-client)"
case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
status) cmd_status ;;
kill) cmd_kill "${2:?kill N}" ;;
restart) cmd_restart "${2:?restart N}" ;;
endpoints) endpoints ;;
*) die "usage: $0 start|stop [--wipe]|status|kill N|restart N|endpoints" ;;
esac
