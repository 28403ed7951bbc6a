#!/usr/bin/env bash
# Real QEMU guests (TCG, tests/vm/) survive what production does to the
# switch and to their neighbours.  One switch, vhost ports in client mode
# (QEMU owns the sockets), guests g1 and g2, and a port g3.  Checks:
#   - switch restart without restarting any VM: SIGKILL, start again (same
#     config and state_dir), then SIGTERM and start again; each time the
#     guests ping again within 30 s; the outage seen by g2's own
#     continuous ping (lost requests x interval + longest late reply) is
#     printed and must stay under 10 s;
#   - g3 configured but its QEMU never started: g1 <-> g2 unaffected;
#   - g3 boots late (the switch connects), then g2 reboots (QMP
#     system_reset: the guest reboots inside the same QEMU) while g1
#     pings g3 without loss; g2 comes back and pings;
#   - g3 disconnects (QEMU stopped): g1 <-> g2 unaffected;
#   - quick QEMU start/stop cycles on g3's port (6 cold boots, ~4 s each on
#     TCG; qemu_cycles.sh runs 100 resumed guests) while g1 pings g3, then the mbuf pool
#     (`vswitchctl stats workers`: mbufs.in_use) is back at its baseline.
# Skips (77) only when QEMU and the guest tooling cannot be installed.
# shellcheck disable=SC2016  # the $ in guest commands expand in the guest
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$VS_SRC/tests/vm/guest.sh"
vs_init qemu_restart

vm_require qemu_restart
T0=$SECONDS
CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
PING_IVL_MS=200
OUTAGE_MAX_MS=10000

vm_image || vs_fail "cannot build the guest image (tests/vm/build-guest.sh)"
vs_log "guest image: $VM_IMAGE"

vs_netns "ul$S"
vs_dpdk_veth "vQ$S" "uQ$S" "ul$S" 1600

SOCK=$VS_TMP/vh
mkdir -p "$SOCK"
CFG=$VS_TMP/sw.yaml
vs_switch_yaml "$CFG" sw 198.51.100.1 "vQ$S"
{
	echo "vhost_ports:"
	for i in 1 2 3; do
		printf '  - name: g%s\n    socket: %s\n    mode: client\n    vm: g%s\n' "$i" "$SOCK/g$i.sock" "$i"
	done
	printf 'virtual_networks:\n  - name: blue\n    vni: 100\n    subnets: [10.0.0.0/24]\nendpoints:\n'
	for i in 1 2 3; do
		printf '  - name: g%s\n    mac: "52:54:00:00:0a:0%s"\n    ips: [10.0.0.%s]\n    vnet: blue\n    port: g%s\n' \
			"$i" "$i" "$i" "$i"
	done
} >> "$CFG"
"$SW" -c "$CFG" --check

ctl() { "$CTL" -s "$VS_TMP/sw.sock" "$@"; }
# port_link NAME: "up"/"down" as the switch shows it
port_link() { ctl --json show | jq -r --arg n "$1" '.ports[] | select(.name == $n) | .link'; }
mbufs_in_use() { ctl --json stats workers | jq -r '.mbufs.in_use'; }

sw_start() {
	vs_bg sw "$SW" -c "$CFG"
	vs_wait_log sw "running" 60
}

# ping_ok FROM DST: one ping gets a reply
ping_ok() { vm_exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }

# wait_ping FROM DST TIMEOUT: retry single pings; prints seconds waited
wait_ping() {
	local t=$SECONDS
	until ping_ok "$1" "$2"; do
		[ $((SECONDS - t)) -lt "$3" ] || return 1
	done
	echo $((SECONDS - t))
}

# ping5 FROM DST: a run of 5 pings without loss.  Up to 3 runs: the test
# machines have 2 CPUs shared by TCG guests and other tests' switches, and
# a second-long stall of a vCPU is not the switch's fault.
ping5() {
	local out i
	for i in 1 2 3; do
		out=$(vm_exec "$1" ping -c 5 -i 0.2 -W 2 "$2") && grep -q ' 0% packet loss' <<<"$out" && return 0
		vs_log "$1 -> $2 run $i: $(grep -E 'packet loss' <<<"$out" || echo "$out")"
	done
	ctl stats drops
	return 1
}

# g2's background ping: busybox prints "64 bytes from ...: seq=N ..."
ping_seqs() { vm_exec g2 cat /tmp/ping.log | sed -n 's/.*seq=\([0-9]*\) .*/\1/p' | sort -un; }
ping_max_seq() { ping_seqs | tail -n 1; }
# ping_outage AFTER: "LOST LATE OUTAGE_MS" for the requests after seq AFTER.
# A request the guest sent while the switch was down either is lost (no
# reply: its seq is missing) or waits in the virtio ring until the switch
# is back and is answered late (its rtt shows the wait).  Outage: lost
# requests x interval + the longest wait.
ping_outage() {
	vm_exec g2 cat /tmp/ping.log | sed -n 's/.*seq=\([0-9]*\) .*time=\([0-9.]*\) ms.*/\1 \2/p' | sort -un -k1,1 |
		awk -v a="$1" -v ivl="$PING_IVL_MS" '$1 > a { n++; m = $1; if ($2 > w) w = $2; if ($2 > 2 * ivl) late++ }
			END { lost = m ? m - a - n : 0; printf "%d %d %d\n", lost, late, lost * ivl + w }'
}

# QEMU first (it owns the sockets), then the switch connects.  g3 is not
# started: its port has no socket to connect to.
vm_start g1 "$SOCK/g1.sock" 10.0.0.1/24 52:54:00:00:0a:01
vm_start g2 "$SOCK/g2.sock" 10.0.0.2/24 52:54:00:00:0a:02
vm_wait_socket g1 "$SOCK/g1.sock" || vs_fail "QEMU g1 did not create its socket"
vm_wait_socket g2 "$SOCK/g2.sock" || vs_fail "QEMU g2 did not create its socket"
sw_start
vm_wait_booted g1 || vs_fail "guest g1 did not boot"
vm_wait_booted g2 || vs_fail "guest g2 did not boot"
vs_log "both guests up $((SECONDS - T0)) s after start"
wait_ping g1 10.0.0.2 30 >/dev/null || { ctl stats drops; vs_fail "g1 never got a ping reply from g2"; }
ping5 g1 10.0.0.2 || vs_fail "g1 -> g2 lost pings"
ping5 g2 10.0.0.1 || vs_fail "g2 -> g1 lost pings"
[ "$(port_link g3)" = down ] || { ctl show; vs_fail "g3 (no QEMU) is not shown down"; }
vs_pass "g3's QEMU never started: g3 down, g1 <-> g2 ping 5/5 each way"

# ---- switch restarts under g2's own continuous ping ---------------------
vm_exec g2 "(ping -i 0.$((PING_IVL_MS / 100)) 10.0.0.1 > /tmp/ping.log 2>&1 &)" ||
	vs_fail "g2: cannot start the background ping"
sleep 2
[ -n "$(ping_max_seq)" ] || vs_fail "g2's background ping gets no replies: $(vm_exec g2 cat /tmp/ping.log)"

for sig in KILL TERM; do
	pre=$(ping_max_seq)
	tk=$SECONDS
	vs_stop sw "$sig" 2>/dev/null	# no "Killed" job notice
	vs_log "switch stopped with SIG$sig (exit status $VS_LAST_RC), g2 last reply seq=$pre"
	[ "$sig" = KILL ] || [ "$VS_LAST_RC" = 0 ] || vs_fail "switch exited with $VS_LAST_RC on SIGTERM"
	sw_start
	ts=$SECONDS
	w=$(wait_ping g2 10.0.0.1 30) || { ctl show; ctl stats drops; vs_fail "after SIG$sig + restart, g2 cannot ping g1 within 30 s"; }
	ping_ok g1 10.0.0.2 || vs_fail "after SIG$sig + restart, g1 cannot ping g2"
	sleep 1
	read -r lost late out_ms < <(ping_outage "$pre")
	vs_log "SIG$sig: stop->start $((ts - tk)) s, start->first reply ${w} s; g2's ping: $lost lost, $late answered late"
	[ "$out_ms" -lt "$OUTAGE_MAX_MS" ] || vs_fail "SIG$sig restart: outage ~$out_ms ms (bound $OUTAGE_MAX_MS)"
	ctl --json show | jq -e '[.ports[] | select(.name == "g1" or .name == "g2") | select(.link == "up")] | length == 2' \
		>/dev/null || { ctl show; vs_fail "after SIG$sig restart g1/g2 not shown up"; }
	vs_pass "switch SIG$sig + restart, no VM restarted: pings resume, outage ~$out_ms ms (g2's own ping, ${PING_IVL_MS} ms interval)"
done
vm_exec g2 'kill $(pidof ping) 2>/dev/null; true' >/dev/null

# ---- VM lifecycle -------------------------------------------------------
t=$SECONDS
vm_start g3 "$SOCK/g3.sock" 10.0.0.3/24 52:54:00:00:0a:03
vm_wait_booted g3 60 || vs_fail "guest g3 (started after the switch) did not boot"
wait_ping g3 10.0.0.1 30 >/dev/null || vs_fail "g3 cannot ping g1"
vs_pass "g3 started late: the switch connects, g3 boots and pings in $((SECONDS - t)) s"

# g2 reboots inside its QEMU (QMP system_reset: virtio reset, vhost stop
# and start again) while g1 pings g3.
ready0=$(grep -c VSVM_READY "$VS_TMP/vm/g2.console")
python3 - "$VS_TMP/vm/g2.qmp" <<'EOF' || vs_fail "QMP system_reset of g2 failed"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
# guest.sh starts QEMU with -no-reboot: a reset would make it exit
for cmd, args in (("qmp_capabilities", {}), ("set-action", {"reboot": "reset"}),
                  ("system_reset", {})):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "error" in r:
            sys.exit(str(r))
        if "return" in r:
            break
EOF
t=$SECONDS
out=$(vm_exec g1 ping -c 10 -i 0.2 -W 2 10.0.0.3) || { echo "$out"; vs_fail "g1 -> g3 ping failed while g2 reboots"; }
grep -q ' 0% packet loss' <<<"$out" || { echo "$out"; vs_fail "g1 -> g3 lost pings while g2 reboots"; }
until [ "$(grep -c VSVM_READY "$VS_TMP/vm/g2.console")" -gt "$ready0" ]; do
	[ $((SECONDS - t)) -lt 90 ] || { vm_console g2 | tail -n 20; vs_fail "g2 did not come back after its reboot"; }
	vm_running g2 || vs_fail "g2's QEMU exited on reboot"
	sleep 0.2
done
vm_wait_booted g2 30 || vs_fail "g2's agent does not answer after its reboot"
w=$(wait_ping g2 10.0.0.1 30) || { ctl show; vs_fail "g2 cannot ping g1 after its reboot"; }
ping5 g1 10.0.0.2 || vs_fail "g1 -> g2 lost pings after g2's reboot"
vs_pass "g2 reboots ($((SECONDS - t)) s until it pings again): g1 -> g3 10/10 meanwhile, g1 <-> g2 fine after"

sleep 1
base=$(mbufs_in_use)
size=$(ctl --json stats workers | jq -r '.mbufs.size')
vm_stop g3
sleep 0.5
[ "$(port_link g3)" = down ] || { ctl show; vs_fail "g3 stopped but its port is not down"; }
ping5 g1 10.0.0.2 || vs_fail "g1 -> g2 lost pings after g3 disconnected"
ping5 g2 10.0.0.1 || vs_fail "g2 -> g1 lost pings after g3 disconnected"
vs_pass "g3 disconnects (QEMU stopped): port down, g1 <-> g2 5/5 each way"

# Quick connect/disconnect cycles while g1 pings g3's address, so frames
# are on their way to g3's port when it goes away: QEMU starts, the switch
# connects, the guest's virtio driver brings the port up, QEMU is stopped.
# A cycle costs ~4 s on TCG (the guest kernel must probe virtio-net):
# 100 would take minutes, so 6 (at most 30 s).
vm_exec g1 "(ping -i 0.1 10.0.0.3 > /tmp/ping3.log 2>&1 &)" || vs_fail "g1: cannot start the ping to g3"
cycles=0
t=$SECONDS
while [ "$cycles" -lt 6 ] && [ $((SECONDS - t)) -lt 30 ]; do
	vm_start g3 "$SOCK/g3.sock" 10.0.0.3/24 52:54:00:00:0a:03
	e=$((SECONDS + 20))
	until [ "$(port_link g3)" = up ]; do
		[ "$SECONDS" -lt "$e" ] || { ctl show; vs_fail "cycle $((cycles + 1)): g3 not up within 20 s"; }
		sleep 0.1
	done
	vm_stop g3
	cycles=$((cycles + 1))
done
dt=$((SECONDS - t))
e=$((SECONDS + 10))
until [ "$(port_link g3)" = down ]; do
	[ "$SECONDS" -lt "$e" ] || { ctl show; vs_fail "g3 still up after the last cycle"; }
	sleep 0.1
done
vm_exec g1 'kill $(pidof ping) 2>/dev/null; true' >/dev/null
ping5 g1 10.0.0.2 || vs_fail "g1 -> g2 lost pings after the g3 cycles"
# Nothing in flight now: the pool must settle at the baseline.
e=$((SECONDS + 5))
now=$(mbufs_in_use)
while [ "$now" -gt "$base" ] && [ "$SECONDS" -lt "$e" ]; do
	sleep 0.5
	now=$(mbufs_in_use)
done
vs_log "mbufs in use: baseline $base, after $cycles cycles $now (pool $size)"
[ "$now" -le "$base" ] || { ctl stats workers; vs_fail "mbufs leaked: $now in use after $cycles g3 cycles, baseline $base"; }
vs_pass "$cycles QEMU start/stop cycles on g3's port in $dt s (~$((dt * 1000 / cycles)) ms each): mbufs in use back to $now (baseline $base)"

ctl stats drops || true
vs_log "total $((SECONDS - T0)) s"
echo "qemu_restart: all checks passed"
