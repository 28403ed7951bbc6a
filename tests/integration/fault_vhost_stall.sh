#!/usr/bin/env bash
# Fault injection: a VM whose frontend stops reading its rx ring.
# One switch, three local VMs in network blue (a1, a2, a3).  vm-bridge is
# told (VM_BRIDGE_STALL) that SIGUSR2 stops/resumes polling a3's
# virtio_user port, so a3's vhost ring fills up.  Checks:
#   - traffic towards a3 is dropped by the switch and counted (tx_full, and
#     the port's drops), every frame taken in from a1 is accounted for;
#   - during the stall, a2 <-> a1 pings all succeed (the worker is not
#     held up by the full ring);
#   - once a3 reads again, it answers pings and tx_full stops growing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init fault_vhost_stall

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX

cat > "$VS_TMP/sw.yaml" <<EOF
eal:
  lcores: "0@0,1@1"
  main_lcore: 0
  memory_mb: 256
  file_prefix: vs-stall-$S
  in_memory: true
  args: [--no-pci, "--log-level=*:notice"]
workers:
  lcores: [1]
  idle_sleep_max_us: 200
  mbufs: 8192
control:
  socket: $VS_TMP/sw.sock
  state_dir: ''
vhost_ports:
EOF
for vm in a1 a2 a3; do
	cat >> "$VS_TMP/sw.yaml" <<EOF
  - {name: $vm, socket: $VS_TMP/vm/$vm.sock, mode: server, queues: 1, vm: $vm}
EOF
done
cat >> "$VS_TMP/sw.yaml" <<EOF
virtual_networks:
  - {name: blue, vni: 100, subnets: [10.0.0.0/24]}
endpoints:
  - {name: a1, mac: "02:00:00:00:0a:01", ips: [10.0.0.1], vnet: blue, port: a1}
  - {name: a2, mac: "02:00:00:00:0a:02", ips: [10.0.0.2], vnet: blue, port: a2}
  - {name: a3, mac: "02:00:00:00:0a:03", ips: [10.0.0.3], vnet: blue, port: a3}
EOF
mkdir -p "$VS_TMP/vm"
"$SW" -c "$VS_TMP/sw.yaml" --check
vs_bg sw "$SW" -c "$VS_TMP/sw.yaml"
vs_wait_log sw "running" 60

ctl() { "$CTL" -s "$VS_TMP/sw.sock" "$@"; }
drops() { ctl --json stats drops | jq -r --arg r "$1" '.drops[] | select(.reason==$r) | .count'; }
drops_total() { ctl --json stats drops | jq '[.drops[].count] | add'; }
port_stat() { ctl --json stats ports | jq -r --arg p "$1" --arg f "$2" '.ports[] | select(.name==$p) | .[$f]'; }

# a3 is virtio_user2 of this bridge: SIGUSR2 stalls its rx
VM_BRIDGE_STALL=virtio_user2 vs_vm_bridge vms "$VS_TMP/vm" a1 a2 a3
# vs_vm_bridge runs vm-bridge under timeout(1): signal vm-bridge itself
vmb_pid() { pgrep -P "$(vs_pid vms)" -x vm-bridge; }
for i in 1 2 3; do
	vs_netns "na$i$S"
	vs_vm_attach "a$i" "na$i$S" "10.0.0.$i/24" "02:00:00:00:0a:0$i"
done
for vm in a1 a2 a3; do vs_vm_wait_up "$vm" 30; done

# --- before: everybody reaches everybody --------------------------------------
vs_wait_cmd 20 ip netns exec "na1$S" ping -c 1 -W 1 10.0.0.3
ip netns exec "na1$S" ping -c 3 -i 0.2 -W 2 10.0.0.3 >/dev/null || vs_fail "a1 cannot ping a3 before the stall"
ip netns exec "na2$S" ping -c 3 -i 0.2 -W 2 10.0.0.1 >/dev/null || vs_fail "a2 cannot ping a1 before the stall"
vs_pass "a1, a2 and a3 reach each other"

# --- stall a3's rx ------------------------------------------------------------
stall_lines() { grep -c '^VM_BRIDGE STALL virtio_user2 ' "$(vs_logfile vms)" || true; }
n0=$(stall_lines)
kill -USR2 "$(vmb_pid)"
vs_wait_cmd 10 bash -c "[ \$(grep -c '^VM_BRIDGE STALL virtio_user2 on' '$(vs_logfile vms)') -ge 1 ]"
[ "$(stall_lines)" -eq $((n0 + 1)) ] || vs_fail "vm-bridge did not report the stall once"

# Frames a1's guest side could not put into its ring toward the switch
# (vm-bridge's drop count for virtio_user0, printed on SIGUSR1): on a
# loaded machine, or in a sanitizer build, the switch may fall behind a
# burst for a moment, and those frames never reach it.
a1_ring_drops() {
	local f n
	f=$(vs_logfile vms)
	n=$(grep -c '^VM_BRIDGE STATS virtio_user0 ' "$f" || true)
	kill -USR1 "$(vmb_pid)"
	vs_wait_cmd 10 bash -c "[ \$(grep -c '^VM_BRIDGE STATS virtio_user0 ' '$f') -gt $n ]"
	grep '^VM_BRIDGE STATS virtio_user0 ' "$f" | tail -n 1 | grep -oE 'drop=[0-9]+' | cut -d= -f2
}

t0=$(drops tx_full)
d0=$(port_stat a3 drops)
b0=$(a1_ring_drops)
tx0=$(port_stat a3 tx_packets)
rx0=$(port_stat a1 rx_packets)
all0=$(drops_total)
fwd0=$(( $(port_stat a3 tx_packets) + $(port_stat a2 tx_packets) + $(port_stat a1 tx_packets) ))

# a1 sends 3000 UDP datagrams towards a3 (more than a vhost ring holds) in
# the background, while a2 and a1 ping each other.
N=3000
vs_bg flood ip netns exec "na1$S" /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = 0
end = time.time() + 20
while sent < int(sys.argv[1]) and time.time() < end:
    try:
        s.sendto(b"x" * 64, ("10.0.0.3", 9999)); sent += 1
    except OSError:
        time.sleep(0.001)
    if sent % 100 == 0:
        time.sleep(0.005)
print("sent", sent)
' "$N"
out=$(ip netns exec "na2$S" ping -c 20 -i 0.1 -W 1 10.0.0.1) || { echo "$out"; vs_fail "a2 -> a1 pings failed while a3 was stalled"; }
vs_wait_log flood '^sent [0-9]+' 30
vs_stop flood
[ "$VS_LAST_RC" = 0 ] || vs_fail "UDP sender failed (rc $VS_LAST_RC)"
sent=$(grep -oE '^sent [0-9]+' "$(vs_logfile flood)" | awk '{print $2}')
[ "$sent" -eq "$N" ] || vs_fail "UDP sender sent only $sent of $N datagrams"
echo "$out" | grep -q ' 0% packet loss' || { echo "$out"; vs_fail "a2 -> a1 lost pings during the stall"; }
vs_pass "a2 <-> a1: 20/20 pings during a3's stall ($(echo "$out" | tail -n 1))"
sleep 0.5

t1=$(drops tx_full)
d1=$(port_stat a3 drops)
tx1=$(port_stat a3 tx_packets)
rx1=$(port_stat a1 rx_packets)
all1=$(drops_total)
b1=$(a1_ring_drops)
fwd1=$(( $(port_stat a3 tx_packets) + $(port_stat a2 tx_packets) + $(port_stat a1 tx_packets) ))
vs_log "a3 stalled: a1 rx +$((rx1 - rx0)) (+$((b1 - b0)) not into its ring), a3 tx +$((tx1 - tx0)) drops +$((d1 - d0)), tx_full +$((t1 - t0))"
# A vhost ring (256 entries on the vm-bridge side) takes a few hundred,
# everything else has to be dropped and counted.
[ $((tx1 - tx0)) -le 512 ] || vs_fail "a3 (stalled) was sent $((tx1 - tx0)) frames: its ring cannot hold that many"
[ $((t1 - t0)) -ge $((N - 512)) ] || { ctl stats; vs_fail "tx_full moved only $t0 -> $t1 for $N frames to a stalled VM"; }
[ $((d1 - d0)) -eq $((t1 - t0)) ] || vs_fail "port a3 drops (+$((d1 - d0))) differ from tx_full (+$((t1 - t0)))"
# every frame a1 and a2 sent was forwarded or dropped with a reason
in=$(( rx1 - rx0 + 0 ))
acc=$(( (fwd1 - fwd0) + (all1 - all0) ))
# a2's 20 pings and a1's 20 replies also crossed the switch (a1 rx counts a1's replies)
[ $((b1 - b0)) -le $((N / 4)) ] || vs_fail "a1's ring overflowed for $((b1 - b0)) of $N frames: the switch stopped draining it"
[ $((rx1 - rx0 + b1 - b0)) -ge "$N" ] ||
	vs_fail "port a1 received only $((rx1 - rx0)) frames of $N ($((b1 - b0)) never entered its ring)"
vs_log "frames in from a1: $in, forwarded to any VM + dropped: $acc"
[ "$acc" -ge "$in" ] || { ctl stats; vs_fail "frames lost without a counter: a1 sent $in, forwarded+dropped $acc"; }
vs_pass "frames to the stalled VM are dropped and counted: tx_full +$((t1 - t0)), a3 delivered $((tx1 - tx0))"
ctl show >/dev/null || vs_fail "switch stopped answering during the stall"

# --- resume -------------------------------------------------------------------
kill -USR2 "$(vmb_pid)"
vs_wait_cmd 10 bash -c "grep -q '^VM_BRIDGE STALL virtio_user2 off' '$(vs_logfile vms)'"
vs_wait_cmd 10 ip netns exec "na1$S" ping -c 1 -W 1 10.0.0.3
t2=$(drops tx_full)
ip netns exec "na1$S" ping -c 10 -i 0.1 -W 2 10.0.0.3 >/dev/null || vs_fail "a1 cannot ping a3 after it reads again"
ip netns exec "na3$S" ping -c 5 -i 0.1 -W 2 10.0.0.2 >/dev/null || vs_fail "a3 cannot ping a2 after it reads again"
t3=$(drops tx_full)
[ "$t3" -eq "$t2" ] || vs_fail "tx_full still grows after a3 reads again ($t2 -> $t3)"
vs_pass "a3 reads again: pings in both directions, no more tx_full"
kill -0 "$(vs_pid sw)" || vs_fail "switch died"
echo "fault_vhost_stall: all checks passed"
