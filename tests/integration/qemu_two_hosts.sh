#!/usr/bin/env bash
# Two switches ("hosts" A and B, one machine) joined by an underlay bridge
# with a 9000-byte MTU, a real QEMU guest on each (TCG, tests/vm/), guest
# MTU 8900 (QEMU host_mtu), one virtual network over VXLAN.  Checks, from
# inside the guests:
#   - each switch reports the MTU QEMU advertises to its guest (8900);
#   - g1 (on A) and g2 (on B) ping each other across VXLAN;
#   - 8,000-byte pings cross the overlay whole, both ways;
#   - 1 MiB moves g1 -> g2 with busybox nc in 8900-byte segments, same md5;
#   - A restarted with a 4000-byte underlay MTU (the guests keep running):
#     g1's TCP segments no longer fit once encapsulated, A drops them
#     (mtu_exceeded) and answers with ICMP fragmentation needed (next-hop
#     MTU 3950); g1 lowers its path MTU and 1 MiB still arrives intact.
# Skips (77) only when QEMU and the guest tooling cannot be installed.
# shellcheck disable=SC2016  # the $ in guest commands expand in the guest
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$VS_SRC/tests/vm/guest.sh"
vs_init qemu_two_hosts

vm_require qemu_two_hosts
T0=$SECONDS
CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
vm_image || vs_fail "cannot build the guest image (tests/vm/build-guest.sh)"

# Jumbo underlay: the kernel side of the veths carries 9100, and
# net_af_packet needs ring frames as large as the switch's mbufs
# (frames of 9216 bytes, 4 to a 36 KiB block: docs/qemu.md).
vs_underlay "ul$S" br0 9100 "vA$S:pA$S" "vB$S:pB$S"
export VS_UL_DEVARGS="framesz=9216,blocksz=36864"

SOCK=$VS_TMP/vh
mkdir -p "$SOCK"
ctl() { local h=$1; shift; "$CTL" -s "$VS_TMP/$h.sock" "$@"; }

# host_cfg HOST TEP IFNAME UNDERLAY_MTU LOCAL_VM REMOTE_VM REMOTE_TEP
host_cfg() {
	local h=$1 tep=$2 ifn=$3 mtu=$4 vm=$5 rvm=$6 rtep=$7
	VS_UL_MTU=$mtu vs_switch_yaml "$VS_TMP/$h.yaml" "$h" "$tep" "$ifn"
	cat >> "$VS_TMP/$h.yaml" <<EOF
vhost_ports:
  - name: $vm
    socket: $SOCK/$vm.sock
    mode: client
    mtu: 8900
    vm: $vm
virtual_networks:
  - name: blue
    vni: 100
    subnets: [10.0.0.0/24]
endpoints:
  - name: $vm
    mac: "52:54:00:00:0a:0${vm#g}"
    ips: [10.0.0.${vm#g}]
    vnet: blue
    port: $vm
  - name: $rvm
    mac: "52:54:00:00:0a:0${rvm#g}"
    ips: [10.0.0.${rvm#g}]
    vnet: blue
    tep: $rtep
EOF
	"$SW" -c "$VS_TMP/$h.yaml" --check
}
host_cfg a 198.51.100.1 "vA$S" 9000 g1 g2 198.51.100.2
host_cfg b 198.51.100.2 "vB$S" 9000 g2 g1 198.51.100.1

VM_HOST_MTU=8900 vm_start g1 "$SOCK/g1.sock" 10.0.0.1/24 52:54:00:00:0a:01 8900
VM_HOST_MTU=8900 vm_start g2 "$SOCK/g2.sock" 10.0.0.2/24 52:54:00:00:0a:02 8900
vm_wait_socket g1 "$SOCK/g1.sock" || vs_fail "QEMU g1 did not create its socket"
vm_wait_socket g2 "$SOCK/g2.sock" || vs_fail "QEMU g2 did not create its socket"
vs_bg a "$SW" -c "$VS_TMP/a.yaml"
vs_bg b "$SW" -c "$VS_TMP/b.yaml"
vs_wait_log a "running" 60
vs_wait_log b "running" 60
vm_wait_booted g1 || vs_fail "guest g1 did not boot"
vm_wait_booted g2 || vs_fail "guest g2 did not boot"
vs_log "both guests up $((SECONDS - T0)) s after start"

[ "$(vm_exec g1 cat /sys/class/net/eth0/mtu)" = 8900 ] || vs_fail "g1's eth0 MTU is not 8900"
for h in a b; do
	vm=g1; [ $h = a ] || vm=g2
	ctl $h --json show > "$VS_TMP/show-$h.json"
	jq -e --arg vm "$vm" '.ports[] | select(.name == $vm) | .link == "up" and .mtu == 8900 and .guest_mtu == 8900' \
		"$VS_TMP/show-$h.json" >/dev/null ||
		{ jq '.ports' "$VS_TMP/show-$h.json"; vs_fail "switch $h does not show $vm up with MTU 8900 as configured and advertised"; }
done
vs_pass "both switches see their guest up, advertised MTU 8900 = configured MTU"

ok=0
for _ in $(seq 30); do
	if vm_exec g1 ping -c 1 -W 2 10.0.0.2 >/dev/null; then ok=1; break; fi
done
[ "$ok" = 1 ] || { ctl a stats ports; ctl b stats ports; ctl a show; vm_exec g1 ip neigh; vs_fail "g1 never got a ping reply from g2"; }
for pair in "g1 10.0.0.2" "g2 10.0.0.1"; do
	set -- $pair
	out=$(vm_exec "$1" ping -c 5 -i 0.2 -W 2 "$2") || { echo "$out"; vs_fail "$1 -> $2 ping failed"; }
	grep -q ' 0% packet loss' <<<"$out" || { echo "$out"; vs_fail "$1 -> $2 lost pings"; }
done
vs_pass "g1 (host A) and g2 (host B) ping each other across VXLAN (5/5 each way)"

ctl a stats --clear >/dev/null
for pair in "g1 10.0.0.2" "g2 10.0.0.1"; do
	set -- $pair
	out=$(vm_exec "$1" ping -c 3 -i 0.3 -W 3 -s 8000 "$2") || { echo "$out"; vs_fail "$1 -> $2 8000-byte ping failed"; }
	grep -q ' 0% packet loss' <<<"$out" || { echo "$out"; vs_fail "$1 -> $2 lost 8000-byte pings"; }
done
# whole frames: 8028-byte IP packets, so 8078-byte outer IP packets, not fragments
big=$(ctl a --json stats | jq '[.ports[] | select(.name == "underlay0")][0] | (.tx_bytes / (.tx_packets | if . == 0 then 1 else . end))')
jq -en --argjson b "$big" '$b > 8000' >/dev/null || vs_fail "A's underlay frames average $big bytes: the pings were fragmented"
vs_pass "8,000-byte pings cross the overlay unfragmented both ways (frames of $big bytes on A's underlay)"

# nc_check FROM TO_IP TO: 1 MiB of random data FROM -> TO, md5 compared.
# busybox nc shuts down its sending side when its stdin ends; the
# receiver's stdin (a sleep) must stay open or it closes at once.
nc_check() {
	local from=$1 ip=$2 to=$3 sum1 sum2 size
	vm_exec "$from" 'dd if=/dev/urandom of=/tmp/blob bs=1024 count=1024 2>/dev/null' || vs_fail "$from: dd failed"
	sum1=$(vm_exec "$from" md5sum /tmp/blob | cut -d' ' -f1)
	vm_exec "$to" 'rm -f /tmp/recv /tmp/nc.rc; (sleep 120 | (nc -l -p 5001 > /tmp/recv 2>/tmp/nc.err; echo $? > /tmp/nc.rc)) >/dev/null 2>&1 &' ||
		vs_fail "$to: cannot start the nc listener"
	vm_exec "$to" 'i=0; while ! netstat -ltn | grep -q ":5001 "; do i=$((i+1)); [ $i -lt 50 ] || exit 1; sleep 0.1; done' ||
		vs_fail "$to: nc does not listen on 5001"
	VM_EXEC_TIMEOUT=120 vm_exec "$from" "timeout 100 nc $ip 5001 < /tmp/blob" || vs_fail "$from: nc send failed"
	VM_EXEC_TIMEOUT=30 vm_exec "$to" 'i=0; while [ ! -s /tmp/nc.rc ]; do i=$((i+1)); [ $i -lt 200 ] || exit 1; sleep 0.1; done' ||
		vs_fail "$to: nc did not finish receiving ($(vm_exec "$to" 'ls -l /tmp/recv; cat /tmp/nc.err'))"
	vm_exec "$to" 'kill $(pidof sleep) 2>/dev/null; true' >/dev/null
	[ "$(vm_exec "$to" cat /tmp/nc.rc)" = 0 ] || vs_fail "$to: nc exited with $(vm_exec "$to" cat /tmp/nc.rc /tmp/nc.err)"
	sum2=$(vm_exec "$to" md5sum /tmp/recv | cut -d' ' -f1)
	size=$(vm_exec "$to" stat -c %s /tmp/recv)
	[ "$size" = 1048576 ] || vs_fail "$to received $size bytes, expected 1048576"
	[ -n "$sum1" ] && [ "$sum1" = "$sum2" ] || vs_fail "md5 differs: sent '$sum1', received '$sum2'"
	NC_SUM=$sum1
}

t=$SECONDS
nc_check g1 10.0.0.2 g2
vs_pass "1 MiB crosses g1 (A) -> g2 (B) over VXLAN with nc in $((SECONDS - t)) s, md5sum $NC_SUM on both sides"

# Host A's underlay shrinks to 4000 (a physical port setting: restart).
vs_stop a
host_cfg a 198.51.100.1 "vA$S" 4000 g1 g2 198.51.100.2
vs_bg a "$SW" -c "$VS_TMP/a.yaml"
vs_wait_log a "running" 60
ok=0
for _ in $(seq 30); do
	if vm_exec g1 ping -c 1 -W 2 10.0.0.2 >/dev/null; then ok=1; break; fi
done
[ "$ok" = 1 ] || vs_fail "g1 does not reach g2 after A's restart"
t=$SECONDS
nc_check g1 10.0.0.2 g2
ctl a --json stats > "$VS_TMP/stats-a.json"
ctl a --json stats drops > "$VS_TMP/drops-a.json"
icmp=$(jq '[.workers[].icmp_frag_needed] | add' "$VS_TMP/stats-a.json")
mtux=$(jq '.drops[] | select(.reason == "mtu_exceeded") | .count' "$VS_TMP/drops-a.json")
[ "$icmp" -ge 1 ] || { ctl a stats; vs_fail "A sent no ICMP fragmentation needed"; }
[ "$mtux" -ge 1 ] || { ctl a stats drops; vs_fail "A counted no mtu_exceeded drop"; }
vs_pass "with A's underlay at 4000: $mtux oversized frames dropped, $icmp ICMP frag-needed sent, 1 MiB intact in $((SECONDS - t)) s"

# g1 has learnt the path MTU (3950) from the ICMP: its 8,000-byte pings
# now leave it in fragments that fit, and none is dropped any more.
ctl a stats --clear >/dev/null
out=$(vm_exec g1 ping -c 3 -i 0.3 -W 3 -s 8000 10.0.0.2) || { echo "$out"; vs_fail "g1 -> g2 8000-byte ping failed after PMTU discovery"; }
grep -q ' 0% packet loss' <<<"$out" || { echo "$out"; vs_fail "g1 -> g2 lost 8000-byte pings after PMTU discovery"; }
ctl a --json stats > "$VS_TMP/stats-a.json"
mtux=$(jq '.drops[] | select(.reason == "mtu_exceeded") | .count' "$VS_TMP/stats-a.json")
big=$(jq '[.ports[] | select(.name == "underlay0")][0] | (.tx_bytes / (.tx_packets | if . == 0 then 1 else . end))' "$VS_TMP/stats-a.json")
[ "$mtux" = 0 ] || vs_fail "A still drops $mtux oversized frames: g1 did not lower its path MTU"
jq -en --argjson b "$big" '$b <= 4014' >/dev/null || vs_fail "A's underlay frames average $big bytes, more than its MTU allows"
vs_pass "g1 learnt the path MTU: 8,000-byte pings pass in fragments of at most 3950 bytes, nothing dropped"

ctl a stats drops || true
vs_log "total $((SECONDS - T0)) s"
echo "qemu_two_hosts: all checks passed"
