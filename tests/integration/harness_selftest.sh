#!/usr/bin/env bash
# Self-test of the integration harness (lib.sh + vm-bridge), no switch needed.
#
# dpdk-testpmd with two net_vhost ports and io forwarding stands in for the
# switch.  vm-bridge connects two "VMs" (netns + tap) to it, VM1 pings VM2:
#   1. virtio_user = vhost-user client (testpmd owns the sockets); the
#      bridge is started before the "switch"; then the switch restarts.
#   2. virtio_user = vhost-user server (VS_VM_SERVER=1, testpmd client=1);
#      same, including a restart of the switch.
#   3. kernel plumbing: underlay bridge + veths + two kernel VXLAN VTEPs,
#      capture on the underlay, VXLAN frames counted with tshark.
#   4. vs_stop ends a whole process tree that ignores SIGINT.
#   5. after vs_cleanup nothing of this test is left (netns, links,
#      processes, sockets, hugepage files).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
vs_init harness_selftest

NS1=$(vs_name v1)
NS2=$(vs_name v2)
vs_netns "$NS1"
vs_netns "$NS2"
PIDS=()

# start_switch NAME SOCKDIR VM_A VM_B [client]
start_switch() {
	local name=$1 dir=$2 a=$3 b=$4 opt=''
	[ "${5:-}" = client ] && opt=',client=1'
	vs_bg --stdin-fifo "$name" timeout -s INT 120 stdbuf -oL -eL dpdk-testpmd \
		--lcores 0@0,1@1 --no-pci --in-memory --file-prefix "tp-$VS_SUFFIX" -m 256 \
		--vdev "net_vhost0,iface=$dir/$a.sock,queues=1$opt" \
		--vdev "net_vhost1,iface=$dir/$b.sock,queues=1$opt" -- \
		--forward-mode=io --nb-cores=1 --total-num-mbufs=8192 \
		--disable-link-check --auto-start
	PIDS+=("$(vs_pid "$name")")
	vs_wait_log "$name" 'Press enter to exit' 30
}

# ping5 WHAT: 5 pings VM1 -> VM2, all must succeed
ping5() {
	local out
	if ! out=$(ip netns exec "$NS1" ping -c 5 -i 0.2 -W 2 10.0.0.2 2>&1) ||
		! grep -q ' 5 received' <<<"$out"; then
		printf '%s\n' "$out" >&2
		vs_fail "$1: ping 10.0.0.1 -> 10.0.0.2 lost packets"
	fi
	vs_pass "$1: 5/5 pings VM1 -> VM2 ($(grep -o 'rtt.*' <<<"$out"))"
}

stop_bridge() {
	local name=$1
	vs_stop "$name"
	[ "$VS_LAST_RC" = 0 ] || vs_fail "vm-bridge $name exited with $VS_LAST_RC"
	grep -q '^VM_BRIDGE STATS' "$(vs_logfile "$name")" || vs_fail "$name printed no STATS"
	vs_log "$name stats: $(grep '^VM_BRIDGE STATS' "$(vs_logfile "$name")" | cut -d' ' -f3- | paste -sd';')"
}

# ---- 1. virtio_user client mode ------------------------------------------
S1=$VS_TMP/s1
vs_vm_bridge br1 "$S1" vm1 vm2
PIDS+=("$(vs_pid br1)")
vs_vm_attach vm1 "$NS1" 10.0.0.1/24 52:54:00:00:00:01
vs_vm_attach vm2 "$NS2" 10.0.0.2/24 52:54:00:00:00:02
vs_vm_is_down vm1 || vs_fail "vm1 up without a switch"
start_switch sw1 "$S1" vm1 vm2
vs_vm_wait_up vm1
vs_vm_wait_up vm2
ping5 "client mode"

vs_stop sw1
vs_vm_wait_down vm1
vs_vm_wait_down vm2
vs_running br1 || vs_fail "vm-bridge died with the switch"
start_switch sw1 "$S1" vm1 vm2
vs_vm_wait_up vm1
vs_vm_wait_up vm2
ping5 "client mode after switch restart"
vs_stop sw1
stop_bridge br1

# ---- 2. virtio_user server mode ------------------------------------------
S2=$VS_TMP/s2
VS_VM_SERVER=1 vs_vm_bridge br2 "$S2" vm3 vm4
PIDS+=("$(vs_pid br2)")
if [ ! -S "$S2/vm3.sock" ] || [ ! -S "$S2/vm4.sock" ]; then
	vs_fail "server sockets missing after READY"
fi
vs_vm_attach vm3 "$NS1" 10.0.0.1/24 52:54:00:00:00:01
vs_vm_attach vm4 "$NS2" 10.0.0.2/24 52:54:00:00:00:02
start_switch sw2 "$S2" vm3 vm4 client
vs_vm_wait_up vm3
vs_vm_wait_up vm4
ping5 "server mode"

vs_stop sw2
vs_vm_wait_down vm3
vs_vm_wait_down vm4
start_switch sw2 "$S2" vm3 vm4 client
vs_vm_wait_up vm3
vs_vm_wait_up vm4
ping5 "server mode after switch restart"
vs_stop sw2
stop_bridge br2
if [ -e "$S2/vm3.sock" ] || [ -e "$S2/vm4.sock" ]; then
	vs_fail "vm-bridge left its server sockets"
fi

# ---- 3. veth, bridge, kernel VXLAN, capture ------------------------------
UL=$(vs_name ul)
U1=$(vs_name u1)
U2=$(vs_name u2)
K1=$(vs_name k1)
K2=$(vs_name k2)
vs_netns "$UL"
vs_veth "$U1" "$K1" "$NS1" "$UL"
vs_veth "$U2" "$K2" "$NS2" "$UL"
vs_bridge "$UL" "$(vs_name br)" "$U1" "$U2"
ip -n "$NS1" addr add 192.0.2.1/24 dev "$K1"
ip -n "$NS2" addr add 192.0.2.2/24 dev "$K2"
vs_kernel_vxlan "$NS1" vx100 100 192.0.2.1 192.0.2.2 10.1.0.1/24 02:00:00:01:00:01 "$K1"
vs_kernel_vxlan "$NS2" vx100 100 192.0.2.2 192.0.2.1 10.1.0.2/24 02:00:00:01:00:02 "$K2"
vs_capture ul "$UL" "$U1" 'udp port 4789'
vs_wait_cmd 10 ip netns exec "$NS1" ping -c 1 -W 1 10.1.0.2
ip netns exec "$NS1" ping -c 3 -i 0.2 -W 2 10.1.0.2 >/dev/null || vs_fail "kernel VXLAN ping failed"
vs_capture_stop ul >/dev/null
n_req=$(vs_pcap_count ul 'vxlan.vni == 100 && icmp.type == 8')
n_rep=$(vs_pcap_count ul 'vxlan.vni == 100 && icmp.type == 0')
n_bad=$(tshark -r "$(vs_pcap ul)" -n -d 'udp.port==4789,vxlan' -o udp.check_checksum:TRUE \
	-Y 'udp.checksum.status == 0' 2>/dev/null | wc -l)
if [ "$n_req" -lt 4 ] || [ "$n_rep" -lt 4 ]; then
	vs_fail "expected >= 4 VXLAN echo requests/replies on the underlay, got $n_req/$n_rep"
fi
[ "$n_bad" = 0 ] || vs_fail "$n_bad VXLAN frames with a bad outer UDP checksum"
vs_pass "kernel VXLAN over the underlay bridge: $n_req requests, $n_rep replies, 0 bad checksums"

# ---- 4. a command that ignores SIGINT under wrappers ----------------------
# vs_stop must end the command itself, not only the timeout/nice wrappers.
vs_bg sigint_deaf timeout -s INT 600 nice -n 5 bash -c 'trap "" INT; sleep 600 & wait'
sleep 0.5
tree=$(_vs_descendants "$(vs_pid sigint_deaf)")
[ "$(wc -w <<<"$tree")" -ge 2 ] || vs_fail "sigint_deaf: expected bash and sleep below timeout, got '$tree'"
vs_stop sigint_deaf
for p in $tree; do
	! kill -0 "$p" 2>/dev/null || vs_fail "vs_stop left process $p of a command that ignores SIGINT"
done
vs_pass "vs_stop ends a SIGINT-ignoring command and its children below timeout and nice"

# ---- 5. nothing left behind ----------------------------------------------
vs_cleanup
nslist=$(ip netns list)
for n in "$NS1" "$NS2" "$UL"; do
	if grep -q "^$n\( \|\$\)" <<<"$nslist"; then
		vs_fail "netns $n left behind"
	fi
done
for n in "$U1" "$U2" "$K1" "$K2" "$(vs_name br)" vm1 vm2 vm3 vm4; do
	[[ $n == *"$VS_SUFFIX" ]] || n=$n$VS_SUFFIX
	! ip link show "$n" >/dev/null 2>&1 || vs_fail "link $n left behind"
done
for p in "${PIDS[@]}"; do
	! kill -0 "$p" 2>/dev/null || vs_fail "process $p still running"
done
left=$(pgrep -af -- "(vmb-br[12]|tp)-$VS_SUFFIX( |\$)" || true)
[ -z "$left" ] || vs_fail "DPDK processes of this test still running: $left"
left=$(find "$S1" "$S2" -type s 2>/dev/null)
[ -z "$left" ] || vs_fail "sockets left: $left"
left=$(find /dev/hugepages -maxdepth 1 -name "*$VS_SUFFIX*" 2>/dev/null)
[ -z "$left" ] || vs_fail "hugepage files left: $left"
vs_pass "nothing left behind (netns, links, ${#PIDS[@]} processes, sockets, hugepages)"
