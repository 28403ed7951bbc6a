#!/usr/bin/env bash
# 100 real QEMU connect/disconnect cycles on one vhost-user port leak
# nothing and disturb no other VM.  One switch, client-mode ports g1, g2,
# g3; guests g1 and g2 stay up, g3 is cycled.
#
# A cold boot costs ~3 s on TCG, so g3 boots once, starts its own ping to
# g1, and QEMU saves the running guest to a file (QMP migrate "exec:", a
# live migration: the switch logs dirty pages meanwhile).  Each cycle
# then starts a new QEMU resuming from that file (-incoming):
# the switch connects to the new socket, vhost-user is negotiated, QEMU
# starts the device with the saved rings (the guest driver is live), the
# port comes up, g3's own ping and QEMU's announce reach the switch and
# g2's ping to g3 leaves through the port; then QEMU dies (SIGKILL, or QMP
# quit every other cycle) and the port goes down.  Each cycle waits for:
# link up, a frame received from and a frame sent to g3, link down.
#
# Meanwhile g1 pings g2 continuously: no loss allowed.  At the end:
#   - mbufs in use (`vswitchctl stats workers`) back at the baseline;
#   - no drop reasons other than those of a VM that comes and goes
#     (tx_full while down, its ARP/RARP announces);
#   - the switch's RSS grew by less than RSS_MAX_KB.
# Skips (77) only when QEMU and the guest tooling cannot be installed.
# shellcheck disable=SC2016  # the $ in guest commands expand in the guest
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$VS_SRC/tests/vm/guest.sh"
vs_init qemu_cycles

vm_require qemu_cycles
T0=$SECONDS
CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
# The sanitizer pass (scripts/test.sh) runs 25: the same paths, a quarter of the time.
CYCLES=${QEMU_CYCLES:-100}
[ "${VS_SANITIZER:-0}" != 1 ] || CYCLES=${QEMU_CYCLES:-25}
RSS_MAX_KB=4096
# ASan keeps freed memory in its quarantine (256 MB by default), so RSS
# grows by design there; LeakSanitizer checks for leaks instead.
[ "${VS_SANITIZER:-0}" != 1 ] || RSS_MAX_KB=$((300 * 1024))
MBUF_SLACK=8          # mbufs allowed to still be in flight at the end
EXPECTED_DROPS='tx_full|arp_gratuitous|bum_dropped'

vm_image || vs_fail "cannot build the guest image (tests/vm/build-guest.sh)"
vs_log "guest image: $VM_IMAGE"

vs_netns "ul$S"
vs_dpdk_veth "vC$S" "uC$S" "ul$S" 1600

SOCK=$VS_TMP/vh
mkdir -p "$SOCK"
CFG=$VS_TMP/sw.yaml
vs_switch_yaml "$CFG" sw 198.51.100.1 "vC$S"
{
	echo "vhost_ports:"
	for i in 1 2 3; do
		printf '  - name: g%s\n    socket: %s\n    mode: client\n    vm: g%s\n' "$i" "$SOCK/g$i.sock" "$i"
	done
	printf 'virtual_networks:\n  - name: blue\n    vni: 100\n    subnets: [10.0.0.0/24]\nendpoints:\n'
	for i in 1 2 3; do
		printf '  - name: g%s\n    mac: "52:54:00:00:0c:0%s"\n    ips: [10.0.0.%s]\n    vnet: blue\n    port: g%s\n' \
			"$i" "$i" "$i" "$i"
	done
} >> "$CFG"
"$SW" -c "$CFG" --check

ctl() { "$CTL" -s "$VS_TMP/sw.sock" "$@"; }
port_link() { ctl --json show | jq -r --arg n "$1" '.ports[] | select(.name == $n) | .link'; }
# port_counts NAME: "RX TX" packets of port NAME
port_counts() {
	ctl --json stats ports | jq -r --arg n "$1" '.ports[] | select(.name == $n) | "\(.rx_packets) \(.tx_packets)"'
}
mbufs_in_use() { ctl --json stats workers | jq -r '.mbufs.in_use'; }
sw_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$(vs_pid sw)/status"; }
ping_ok() { vm_exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
wait_ping() {
	local t=$SECONDS
	until ping_ok "$1" "$2"; do
		[ $((SECONDS - t)) -lt "$3" ] || return 1
	done
}
# wait_link NAME up|down TIMEOUT
wait_link() {
	local e=$((SECONDS + $3))
	until [ "$(port_link "$1")" = "$2" ]; do
		[ "$SECONDS" -lt "$e" ] || return 1
		sleep 0.05
	done
}
# ping_summary GUEST LOG: stop GUEST's background pings, print "SENT RECEIVED"
ping_summary() {
	vm_exec "$1" 'kill -INT $(pidof ping) 2>/dev/null; sleep 0.3; true' >/dev/null
	vm_exec "$1" cat "$2" |
		sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/\1 \2/p'
}

vm_start g1 "$SOCK/g1.sock" 10.0.0.1/24 52:54:00:00:0c:01
vm_start g2 "$SOCK/g2.sock" 10.0.0.2/24 52:54:00:00:0c:02
VM_MEM=128 vm_start g3 "$SOCK/g3.sock" 10.0.0.3/24 52:54:00:00:0c:03
for g in g1 g2 g3; do
	vm_wait_socket "$g" "$SOCK/$g.sock" || vs_fail "QEMU $g did not create its socket"
done
vs_bg sw "$SW" -c "$CFG"
vs_wait_log sw "running" 60
for g in g1 g2 g3; do
	vm_wait_booted "$g" || vs_fail "guest $g did not boot"
done
wait_ping g1 10.0.0.2 30 || { ctl stats drops; vs_fail "g1 never got a ping reply from g2"; }
wait_ping g3 10.0.0.1 30 || { ctl stats drops; vs_fail "g3 never got a ping reply from g1"; }
vs_pass "g1, g2, g3 booted and ping ($((SECONDS - T0)) s)"

# g3 pings g1 from now on, in the saved state too: every resumed g3 sends.
vm_exec g3 "(ping -i 0.2 10.0.0.1 > /dev/null 2>&1 &)" || vs_fail "g3: cannot start its ping"
STATE=$VS_TMP/g3.state
t=$SECONDS
vm_qmp g3 migrate "{\"uri\": \"exec:cat > $STATE\"}" >/dev/null || vs_fail "QMP migrate of g3 to a file failed"
e=$((SECONDS + 60))
until st=$(vm_qmp g3 query-migrate | jq -r .status) && [ "$st" = completed ]; do
	[ "$st" != failed ] || vs_fail "saving g3's state failed: $(vm_qmp g3 query-migrate)"
	[ "$SECONDS" -lt "$e" ] || vs_fail "saving g3's state: still '$st' after 60 s"
	sleep 0.2
done
vm_stop g3 2>/dev/null
wait_link g3 down 10 || { ctl show; vs_fail "g3's QEMU stopped but its port is not down"; }
vs_pass "g3's state saved in $((SECONDS - t)) s ($(($(stat -c %s "$STATE") / 1024)) KiB): each cycle resumes it"

# Baseline with g3 away, then g1's ping to g2 (must lose nothing) and g2's
# ping to g3 (frames for g3's port while it comes and goes).
sleep 1
ctl stats --clear >/dev/null
base_mbufs=$(mbufs_in_use)
base_rss=$(sw_rss_kb)
vm_exec g1 "(ping -i 0.2 10.0.0.2 > /tmp/ping2.log 2>&1 &)" || vs_fail "g1: cannot start its ping"
ping_t0=$(date +%s)
vm_exec g2 "(ping -i 0.1 10.0.0.3 > /tmp/ping3.log 2>&1 &)" || vs_fail "g2: cannot start its ping"

t=$SECONDS
up_ms=0
for ((c = 1; c <= CYCLES; c++)); do
	read -r rx0 tx0 < <(port_counts g3)
	tc=$(date +%s%N)
	VM_MEM=128 VM_INCOMING="exec:cat $STATE" vm_start g3 "$SOCK/g3.sock" 10.0.0.3/24 52:54:00:00:0c:03
	wait_link g3 up 20 || { ctl show; vm_console g3 | tail -n 5; vs_fail "cycle $c: g3 not up within 20 s"; }
	up_ms=$((up_ms + ($(date +%s%N) - tc) / 1000000))
	# live rings: a frame from the guest and one to it
	e=$((SECONDS + 15))
	while read -r rx tx < <(port_counts g3) && { [ "$rx" -le "$rx0" ] || [ "$tx" -le "$tx0" ]; }; do
		[ "$SECONDS" -lt "$e" ] || { ctl stats ports; vs_fail "cycle $c: g3 up but no frame both ways in 15 s (rx $rx0->$rx, tx $tx0->$tx)"; }
		sleep 0.05
	done
	if ((c % 2)); then
		pid=$(cat "$VS_TMP/vm/g3.pid")
		{ kill -KILL "$pid"; wait "$pid"; } 2>/dev/null || true   # no "Killed" notice
	else
		vm_qmp g3 quit >/dev/null || vs_fail "cycle $c: QMP quit failed"
	fi
	wait_link g3 down 10 || { ctl show; vs_fail "cycle $c: g3's QEMU gone but its port is still up"; }
	vm_stop g3
	((c % 20)) || vs_log "$c cycles, $((SECONDS - t)) s, switch RSS $(sw_rss_kb) KiB"
done
dt=$((SECONDS - t))
vs_pass "$CYCLES QEMU connect/disconnect cycles on g3's port in $dt s (start->link up ~$((up_ms / CYCLES)) ms), each with frames both ways"

read -r sent recv < <(ping_summary g1 /tmp/ping2.log)
read -r sent3 recv3 < <(ping_summary g2 /tmp/ping3.log)
vs_log "g1 -> g2: $recv/$sent replies; g2 -> g3 (cycled): $recv3/$sent3 replies"
[ -n "$sent" ] && [ "$sent" -gt 0 ] || vs_fail "g1's ping to g2 printed no summary"
missing=$(vm_exec g1 cat /tmp/ping2.log | sed -n 's/.*seq=\([0-9]*\) .*/\1/p' | sort -n |
	awk -v n="$sent" -v t0="$ping_t0" '{ seen[$1] = 1 }
		END { for (i = 0; i < n; i++) if (!(i in seen)) printf "%d(~%s) ", i, strftime("%T", t0 + i / 5) }')
slow=$(vm_exec g1 cat /tmp/ping2.log | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n | tail -n 3 | tr '\n' ' ')
vs_log "g1 -> g2: seqs without reply: ${missing:-none}; slowest replies (ms): $slow"
vs_log "port drops: $(ctl --json stats ports | jq -c '[.ports[] | {(.name): .drops}] | add')"
[ $((sent - recv)) -le 1 ] || { ctl stats drops; vs_fail "g1 -> g2 lost $((sent - recv)) of $sent pings during the g3 cycles"; }
[ "${recv3:-0}" -gt 0 ] || vs_fail "g2 never got a reply from a resumed g3"
ping_ok g1 10.0.0.2 && ping_ok g2 10.0.0.1 || vs_fail "g1 <-> g2 do not ping after the cycles"
vs_pass "g1 -> g2 during the cycles: $recv/$sent replies (the last may be in flight); g2 -> g3 answered $recv3 times"

# Nothing flows now: the pool must settle at the baseline.
e=$((SECONDS + 5))
now=$(mbufs_in_use)
while [ "$now" -gt "$base_mbufs" ] && [ "$SECONDS" -lt "$e" ]; do
	sleep 0.5
	now=$(mbufs_in_use)
done
[ "$now" -le $((base_mbufs + MBUF_SLACK)) ] ||
	{ ctl stats workers; vs_fail "mbufs leaked: $now in use after $CYCLES cycles, baseline $base_mbufs"; }
rss=$(sw_rss_kb)
[ $((rss - base_rss)) -lt "$RSS_MAX_KB" ] || vs_fail "switch RSS grew from $base_rss to $rss KiB over $CYCLES cycles"
drops=$(ctl --json stats drops | jq -r '.drops[] | select(.count > 0) | "\(.reason)=\(.count)"' | tr '\n' ' ')
unexpected=$(tr ' ' '\n' <<<"$drops" | grep -Ev "^($EXPECTED_DROPS)=|^$" || true)
[ -z "$unexpected" ] || { ctl stats drops; vs_fail "unexpected drops: $unexpected"; }
vs_pass "after $CYCLES cycles: mbufs in use $now (baseline $base_mbufs), RSS $base_rss -> $rss KiB, drops: ${drops:-none}"

vs_log "total $((SECONDS - T0)) s"
echo "qemu_cycles: all checks passed"
