#!/usr/bin/env bash
# rte_flow on physical ports (C7) where the device says no.  One switch,
# run inside its own namespace h, with two physical ports:
#   underlay-tap  net_tap (the kernel lacks TC flower: rules validate or
#                 not, but are never created), 198.51.100.1/24; its peer is
#                 the kernel of namespace h itself on the tap, 198.51.100.3,
#                 with a kernel VXLAN device (VNI 100, 10.0.0.3);
#   underlay-pkt  net_af_packet on a veth (no rte_flow at all: ENOSYS),
#                 203.0.113.1/24; its peer is namespace p, 203.0.113.3,
#                 with a kernel VXLAN device (VNI 100, 10.0.0.5).
# VM a1 (10.0.0.1, VNI 100) is behind a vhost-user port.  Checks, through
# `vswitchctl flow list`: every rule of both ports is listed as not in
# hardware with its error, the fallback counters count them, the refusal
# is logged once per port and rule kind; a new network gets its VNI rule
# tried (and counted) without logging again; and traffic
# works both ways over both ports through software classification.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init flow_rules

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
H=h$S
TAP=tp$S
KMAC_T=02:00:00:00:0c:01
KMAC_P=02:00:00:00:0c:02

vs_netns "$H"
vs_netns "p$S"
# the af_packet port's veth: vP in the switch's namespace, kP in p
vs_veth "vP$S" "kP$S" "p$S" "$H"
ip -n "p$S" addr add 203.0.113.3/24 dev "kP$S"
vs_kernel_vxlan "p$S" "vxp$S" 100 203.0.113.3 203.0.113.1 10.0.0.5/24 "$KMAC_P" "kP$S"

mkdir -p "$VS_TMP/vm"
cat > "$VS_TMP/h.yaml" <<EOF
eal:
  lcores: "0@0,1@1"
  main_lcore: 0
  memory_mb: 256
  file_prefix: vs-h-$S
  in_memory: true
  args: [--no-pci, "--log-level=*:notice"]
workers:
  lcores: [1]
  idle_sleep_max_us: 500
  mbufs: 8192
control:
  socket: $VS_TMP/h.sock
  state_dir: $VS_TMP/state-h
physical_ports:
  - name: underlay-tap
    devargs: net_tap_h$S,iface=$TAP
    rx_queues: 1
    ip: 198.51.100.1/24
    mtu: 1550
  - name: underlay-pkt
    devargs: net_af_packet_h$S,iface=vP$S
    rx_queues: 1
    ip: 203.0.113.1/24
    mtu: 1550
vhost_ports:
  - name: a1
    socket: $VS_TMP/vm/a1.sock
    mode: server
    queues: 1
    vm: a1
virtual_networks:
  - name: blue
    vni: 100
    subnets: [10.0.0.0/24]
endpoints:
  - name: a1
    mac: "02:00:00:00:0a:01"
    ips: [10.0.0.1]
    vnet: blue
    port: a1
  - name: kt
    mac: "$KMAC_T"
    ips: [10.0.0.3]
    vnet: blue
    tep: 198.51.100.3
  - name: kp
    mac: "$KMAC_P"
    ips: [10.0.0.5]
    vnet: blue
    tep: 203.0.113.3
EOF

# The switch in namespace h: net_tap creates its interface there.
vs_bg sw ip netns exec "$H" "$SW" -c "$VS_TMP/h.yaml"
vs_wait_log sw "running" 60

# The kernel of h is the tap port's peer.  Its side of the tap gets its own
# MAC (net_tap gives both sides the port's) so that each side sees the
# other's frames as addressed to it.
ip -n "$H" link set "$TAP" down
ip -n "$H" link set "$TAP" address 02:00:00:00:0c:0f mtu 1600 up
ip -n "$H" addr add 198.51.100.3/24 dev "$TAP"
vs_kernel_vxlan "$H" "vxt$S" 100 198.51.100.3 198.51.100.1 10.0.0.3/24 "$KMAC_T" "$TAP"

ctl() { "$CTL" -s "$VS_TMP/h.sock" "$@"; }
flows() { ctl --json flow list; }

# --- every rule listed, none in hardware, each with its error ------------------
flows > "$VS_TMP/flows.json"
jq -e '.ports | length == 2' "$VS_TMP/flows.json" >/dev/null || vs_fail "flow list should show 2 physical ports: $(cat "$VS_TMP/flows.json")"
for port in underlay-tap underlay-pkt; do
	kinds=$(jq -r --arg p "$port" '[.rules[] | select(.port==$p) | .kind] | join(",")' "$VS_TMP/flows.json")
	[ "$kinds" = "vxlan,arp,notify,vni" ] || vs_fail "$port: rule kinds '$kinds', expected vxlan,arp,notify,vni"
	jq -e --arg p "$port" '[.rules[] | select(.port==$p) | select(.hardware != "no" or .error == null or (.error | length) == 0)] | length == 0' \
		"$VS_TMP/flows.json" >/dev/null || vs_fail "$port: a rule in hardware or without its error: $(cat "$VS_TMP/flows.json")"
	jq -e --arg p "$port" '.ports[] | select(.port==$p) | .hardware == 0 and .software == 4' \
		"$VS_TMP/flows.json" >/dev/null || vs_fail "$port: summary wrong: $(cat "$VS_TMP/flows.json")"
	jq -e --arg p "$port" '[.counters[] | select(.port==$p and .fallback == 1 and .hardware == 0)] | length == 4' \
		"$VS_TMP/flows.json" >/dev/null || vs_fail "$port: expected fallback 1 for each kind: $(cat "$VS_TMP/flows.json")"
done
jq -e '[.rules[] | select(.port=="underlay-pkt" and .errno == 38)] | length == 4' "$VS_TMP/flows.json" >/dev/null ||
	vs_fail "af_packet rules should fail with ENOSYS: $(cat "$VS_TMP/flows.json")"
jq -e '[.rules[] | select(.port=="underlay-tap" and .errno != 38)] | length == 4' "$VS_TMP/flows.json" >/dev/null ||
	vs_fail "net_tap rules should fail with the kernel's error, not ENOSYS: $(cat "$VS_TMP/flows.json")"
jq -e '.rules[] | select(.port=="underlay-tap" and .kind=="vni") | .pattern | test("vxlan vni 100$")' "$VS_TMP/flows.json" >/dev/null ||
	vs_fail "no VNI 100 rule on the tap port"
vs_pass "flow list: every rule of both ports not in hardware, with its error (net_tap: kernel, af_packet: ENOSYS) and fallback counters"

# The text form shows the same rules.
ctl flow list > "$VS_TMP/flows.txt"
grep -qE 'underlay-pkt +vxlan +eth / ipv4 dst 203\.0\.113\.1 / udp dst 4789 .* no +Function not implemented' "$VS_TMP/flows.txt" ||
	vs_fail "text flow list lacks the af_packet VXLAN rule: $(cat "$VS_TMP/flows.txt")"
ctl flow list underlay-tap | grep -q underlay-pkt && vs_fail "flow list underlay-tap shows the other port"
if ctl flow list a1 > /dev/null 2>&1; then vs_fail "flow list accepted a vhost-user port"; fi
vs_pass "flow list in text, for one port, and refusing a port that is not physical"

# One log line per port and rule kind.
logged() { vs_log_since sw | grep -c "flow: $1: $2 rule not in hardware" || true; }
for port in underlay-tap underlay-pkt; do
	for kind in vxlan arp notify vni; do
		[ "$(logged "$port" "$kind")" = 1 ] || vs_fail "$port $kind: expected one log line, got $(logged "$port" "$kind")"
	done
done
vs_pass "each refusal logged once per port and rule kind"

# --- traffic over both ports, classified in software ----------------------------
vs_vm_bridge vms "$VS_TMP/vm" a1
vs_netns "na1$S"
vs_vm_attach a1 "na1$S" 10.0.0.1/24 02:00:00:00:0a:01
vs_vm_wait_up a1 30
ip netns exec "na1$S" ping -c 3 -i 0.3 -W 2 10.0.0.3 >/dev/null || { ctl show; ctl stats drops; vs_fail "a1 cannot ping the kernel VXLAN peer behind the net_tap port"; }
ip netns exec "na1$S" ping -c 3 -i 0.3 -W 2 10.0.0.5 >/dev/null || { ctl show; ctl stats drops; vs_fail "a1 cannot ping the kernel VXLAN peer behind the af_packet port"; }
ip netns exec "$H" ping -c 3 -i 0.3 -W 2 10.0.0.1 >/dev/null || vs_fail "the peer behind the net_tap port cannot ping a1"
ip netns exec "p$S" ping -c 3 -i 0.3 -W 2 10.0.0.1 >/dev/null || vs_fail "the peer behind the af_packet port cannot ping a1"
ctl --json show | jq -e '[.tunnels[] | select(.resolved)] | length == 2' >/dev/null ||
	vs_fail "ARP over the underlay (control traffic) did not resolve both tunnels"
vs_pass "VXLAN and ARP work both ways over both ports without any rule in hardware"

# --- a new network: its VNI rule tried and counted, not logged again ------------
ctl vnet add green 200 subnets=10.9.0.0/24 >/dev/null
flows > "$VS_TMP/flows2.json"
for port in underlay-tap underlay-pkt; do
	vnis=$(jq -r --arg p "$port" '[.rules[] | select(.port==$p and .kind=="vni") | .pattern | split(" ") | last] | join(",")' "$VS_TMP/flows2.json")
	[ "$vnis" = "100,200" ] || vs_fail "$port: VNI rules '$vnis' after vnet add, expected 100,200"
	jq -e --arg p "$port" '.counters[] | select(.port==$p and .kind=="vni") | .fallback == 2' "$VS_TMP/flows2.json" >/dev/null ||
		vs_fail "$port: vni fallback counter should be 2 (VNI 100, then 200): $(jq -c '.counters' "$VS_TMP/flows2.json")"
	jq -e --arg p "$port" '.counters[] | select(.port==$p and .kind=="vxlan") | .fallback == 1' "$VS_TMP/flows2.json" >/dev/null ||
		vs_fail "$port: the VXLAN rule, which does not depend on networks, was tried again"
	[ "$(logged "$port" vni)" = 1 ] || vs_fail "$port: the VNI refusal was logged again"
done
# an endpoint change leaves the networks, and the rules, alone
ctl vnet del green >/dev/null
ctl vnet add green 200 subnets=10.9.0.0/24 >/dev/null
n0=$(ctl --json flow list | jq '.counters[] | select(.port=="underlay-pkt" and .kind=="vni") | .fallback')
ctl endpoint add g1 02:00:00:00:0a:09 green tep=203.0.113.3 ips=10.9.0.9 >/dev/null
n1=$(ctl --json flow list | jq '.counters[] | select(.port=="underlay-pkt" and .kind=="vni") | .fallback')
[ "$n0" = "$n1" ] || vs_fail "an endpoint change re-created the rules ($n0 -> $n1)"
ip netns exec "na1$S" ping -c 2 -i 0.3 -W 2 10.0.0.5 >/dev/null || vs_fail "forwarding broken after the rules were re-created"
vs_pass "a new network gets its VNI rule tried and counted; endpoint changes try nothing; traffic goes on"

echo "flow_rules: all checks passed"
