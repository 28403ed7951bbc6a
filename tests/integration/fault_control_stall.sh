#!/usr/bin/env bash
# The control thread blocked: workers keep forwarding on the tables they
# have.  Two switches, a VM on each pinging the other across VXLAN, while
# both control threads are blocked for 5 s (debug stall-control); not one
# ping may be lost, and the control socket is shown to be stuck meanwhile.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init fault_control_stall

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX

vs_underlay "ul$S" "br$S" 1600 "vA$S:uA$S" "vB$S:uB$S"

config() { # host ip ifname local_vm local_mac local_ip remote_vm remote_mac remote_ip remote_tep
	cat > "$VS_TMP/$1.yaml" <<EOF
eal: {lcores: "0@0,1@1", memory_mb: 256, file_prefix: vs-$1-$S, in_memory: true,
      args: [--no-pci, "--log-level=*:notice"]}
workers: {lcores: [1], mbufs: 8192}
control: {socket: $VS_TMP/$1.sock, state_dir: $VS_TMP/state-$1}
physical_ports:
  - {name: underlay0, devargs: "net_af_packet_$1$S,iface=$3", ip: $2/24, mtu: 1550}
vhost_ports:
  - {name: $4, socket: $VS_TMP/vm/$4.sock, mode: server}
virtual_networks:
  - {name: blue, vni: 100, subnets: [10.0.0.0/24]}
endpoints:
  - {name: $4, mac: "$5", ips: [$6], vnet: blue, port: $4}
  - {name: $7, mac: "$8", ips: [$9], vnet: blue, tep: ${10}}
EOF
}
mkdir -p "$VS_TMP/vm"
config a 198.51.100.1 "vA$S" x1 02:00:00:00:0a:01 10.0.0.1 y1 02:00:00:00:0b:01 10.0.0.2 198.51.100.2
config b 198.51.100.2 "vB$S" y1 02:00:00:00:0b:01 10.0.0.2 x1 02:00:00:00:0a:01 10.0.0.1 198.51.100.1
vs_bg swA "$SW" -c "$VS_TMP/a.yaml"
vs_bg swB "$SW" -c "$VS_TMP/b.yaml"
vs_wait_log swA "running" 60
vs_wait_log swB "running" 60
vs_vm_bridge vms "$VS_TMP/vm" x1 y1
vs_netns "nx$S"
vs_netns "ny$S"
vs_vm_attach x1 "nx$S" 10.0.0.1/24 02:00:00:00:0a:01
vs_vm_attach y1 "ny$S" 10.0.0.2/24 02:00:00:00:0b:01
vs_wait_cmd 30 ip netns exec "nx$S" ping -c 1 -W 1 10.0.0.2
vs_pass "x1 reaches y1 across VXLAN"

# 200 pings over ~8 s; both control threads blocked for 5 s in the middle
ip netns exec "nx$S" ping -i 0.04 -c 200 -W 1 10.0.0.2 > "$VS_TMP/ping.out" 2>&1 &
ping_pid=$!
sleep 1
"$CTL" -s "$VS_TMP/a.sock" -t 20 debug stall-control 5 > "$VS_TMP/stallA.out" 2>&1 &
stall_a=$!
"$CTL" -s "$VS_TMP/b.sock" -t 20 debug stall-control 5 > "$VS_TMP/stallB.out" 2>&1 &
stall_b=$!
sleep 1
# the control socket is stuck meanwhile: proof the stall is real
if "$CTL" -s "$VS_TMP/a.sock" -t 1 show > /dev/null 2>&1; then
	vs_fail "switch A answered during its control-thread stall"
fi
wait "$stall_a" || vs_fail "stall-control on A failed: $(cat "$VS_TMP/stallA.out")"
wait "$stall_b" || vs_fail "stall-control on B failed: $(cat "$VS_TMP/stallB.out")"
wait "$ping_pid" || true
summary=$(grep -E 'packets transmitted' "$VS_TMP/ping.out" || true)
vs_log "ping: $summary"
grep -qE '^200 packets transmitted, 200 received' "$VS_TMP/ping.out" ||
	vs_fail "pings lost while the control threads were blocked: $summary"
vs_pass "both control threads blocked for 5 s: 200/200 pings across VXLAN, none lost"

"$CTL" -s "$VS_TMP/a.sock" show > /dev/null || vs_fail "switch A does not answer after the stall"
"$CTL" -s "$VS_TMP/a.sock" debug stall-control 61 > /dev/null 2>&1 && vs_fail "a 61 s stall was accepted"
vs_pass "the control socket serves again after the stall; stalls are bounded to 60 s"
echo "fault_control_stall: all checks passed"
