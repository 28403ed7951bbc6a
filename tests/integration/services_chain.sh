#!/usr/bin/env bash
# Network services, insertion points 2 and 3: service chains.
#   - two appliance VMs on vhost-user ports (DPDK testpmd over virtio_user):
#     "fw" on one port used both ways (macswap: it rewrites the MACs),
#     "ids" on an in/out pair (io); a chain fw -> ids named by a policy
#     a1 -> a2;
#   - before the hops are enabled the chain fails closed; once enabled,
#     pings and a TCP transfer a1 <-> a2 go through both appliances, in
#     order (fw, then ids; answers ids, then fw), shown by the appliances'
#     own counters and the switch's per-hop counters; a3 is untouched;
#   - with the first appliance gone nothing reaches the second;
#   - an external service: the Linux kernel's VXLAN device in a network
#     namespace (service VNI 5000) reflecting what it receives (tc mirred)
#     gets a1 -> a3's traffic and its answers reach a3 and a1;
#   - the chain survives a restart of the switch.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init services_chain

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX

vs_underlay "ul$S" "br$S" 1600 "vA$S:uA$S"
# the external service's host on the same underlay
vs_netns "x$S"
vs_veth "vX$S" "uX$S" "ul$S" "x$S"
ip -n "ul$S" link set "uX$S" mtu 1600 master "br$S" up
ip -n "x$S" link set "vX$S" mtu 1600
ip -n "x$S" addr add 198.51.100.9/24 dev "vX$S"
ip netns exec "x$S" ethtool -K "vX$S" tx off >/dev/null

vs_switch_yaml "$VS_TMP/a.yaml" a 198.51.100.1 "vA$S"
mkdir -p "$VS_TMP/vm" "$VS_TMP/app"
{
	echo "vhost_ports:"
	for vm in a1 a2 a3; do
		echo "  - {name: $vm, socket: $VS_TMP/vm/$vm.sock, mode: client, queues: 1}"
	done
	for p in fw0 idi ido; do
		echo "  - {name: $p, socket: $VS_TMP/app/$p.sock, mode: client, queues: 1}"
	done
	cat <<EOF
virtual_networks:
  - {name: blue, vni: 100, subnets: [10.0.0.0/24]}
endpoints:
  - {name: a1, mac: "02:00:00:00:0a:01", ips: [10.0.0.1], vnet: blue, port: a1}
  - {name: a2, mac: "02:00:00:00:0a:02", ips: [10.0.0.2], vnet: blue, port: a2}
  - {name: a3, mac: "02:00:00:00:0a:03", ips: [10.0.0.3], vnet: blue, port: a3}
EOF
} >> "$VS_TMP/a.yaml"

# The appliances: testpmd with virtio_user ports (socket servers), their
# forwarding cores on CPU 1 at low priority (they busy-poll).
appliance() { # name fwd-mode topology port...
	local name=$1 mode=$2 topo=$3 i=0 p args=()
	shift 3
	for p in "$@"; do
		args+=(--vdev "virtio_user$i,path=$VS_TMP/app/$p.sock,server=1,queues=1")
		i=$((i + 1))
	done
	vs_bg --stdin-fifo "$name" timeout -s INT 600 nice -n 10 stdbuf -oL -eL dpdk-testpmd \
		--lcores 0@0,1@1 --no-pci --in-memory --single-file-segments \
		--file-prefix "$name-$S" -m 256 "${args[@]}" -- -i \
		--forward-mode="$mode" --port-topology="$topo" --nb-cores=1 \
		--total-num-mbufs=4096 --disable-link-check --auto-start
}
# rx_of NAME PORT: RX-packets of testpmd NAME's port PORT, now
rx_of() {
	local log n
	log=$(vs_logfile "$1")
	n=$(wc -l < "$log")
	vs_bg_send "$1" "show port stats $2"
	for _ in $(seq 50); do
		if tail -n +"$((n + 1))" "$log" | grep -q 'RX-packets'; then break; fi
		sleep 0.1
	done
	tail -n +"$((n + 1))" "$log" | grep -m1 -o 'RX-packets: *[0-9]*' | grep -o '[0-9]*$'
}
appliance tpf macswap loop fw0
appliance tpi io paired idi ido

VS_VM_SERVER=1 vs_vm_bridge vms "$VS_TMP/vm" a1 a2 a3
vs_bg sw "$SW" -c "$VS_TMP/a.yaml"
vs_wait_log sw "running" 60
# virtio_user servers wait for the switch to connect before they start
vs_wait_log tpf 'testpmd>' 30
vs_wait_log tpi 'testpmd>' 30
ctl() { "$CTL" -s "$VS_TMP/a.sock" "$@"; }
drops() { ctl --json stats drops | jq -r --arg r "$1" '.drops[] | select(.reason==$r) | .count'; }
n=1
for vm in a1 a2 a3; do
	vs_netns "n$vm$S"
	vs_vm_attach "$vm" "n$vm$S" "10.0.0.$n/24" "02:00:00:00:0a:0$n"
	n=$((n + 1))
done
for vm in a1 a2 a3; do vs_vm_wait_up "$vm" 30; done
pings() { # from to count: succeeds when all answered
	timeout 30 ip netns exec "n$1$S" ping -c "$3" -i 0.2 -W 2 "$2" 2>&1 | grep -q " $3 received"
}
pings a1 10.0.0.2 3 || vs_fail "a1 cannot ping a2 before any chain"

# --- register the appliances, their profiles and the chain --------------------------
cat > "$VS_TMP/chain.yaml" <<EOF
service:
  vendor: Example Networks
  name: fw-appliance
  description: a firewall VM on one port, both ways
  contact: secops@example.com
  insertion: network
  endpoints: [{port: fw0}]
  levels: [{name: standard, parameters: {}}]
---
service:
  vendor: Example Networks
  name: ids-appliance
  description: an IDS VM on an in/out pair of ports
  contact: secops@example.com
  insertion: network
  endpoints: [{port: idi, out: ido}]
  levels: [{name: standard, parameters: {}}]
---
service:
  vendor: Example Cloud
  name: remote-scan
  description: a scanning service outside the network, over VXLAN
  contact: cloud@example.com
  insertion: external
  endpoints: [{ip: 198.51.100.9, vni: 5000}]
  levels: [{name: standard, parameters: {}}]
---
profile: {name: fw-blue, service: fw-appliance, level: standard, scope: {vnets: [blue]}}
---
profile: {name: ids-blue, service: ids-appliance, level: standard, scope: {vnets: [blue]}}
---
profile: {name: scan-blue, service: remote-scan, level: standard, scope: {vnets: [blue]}}
---
chain: {name: inspect, hops: [fw-blue, ids-blue]}
---
chain: {name: scan, hops: [scan-blue]}
EOF
ctl service register "$VS_TMP/chain.yaml" >/dev/null
ctl policy add web-inspect from=vm:a1 to=vm:a2 action=chain:inspect >/dev/null
d0=$(drops service_chain_down)
if pings a1 10.0.0.2 2; then vs_fail "the chain's hops are not enabled, yet a1 reaches a2"; fi
d1=$(drops service_chain_down)
[ "$d1" -gt "$d0" ] || vs_fail "service_chain_down did not count ($d0 -> $d1)"
pings a1 10.0.0.3 2 || vs_fail "a3 lost its traffic to a chain policy for a2"
ctl --json policy-service status | jq -r '.decisions.chain_error' |
	grep -q 'not enabled' || vs_fail "no reason given for the chain being down: $(ctl --json policy-service status)"
vs_pass "chain inspect fails closed until its hops are enabled (service_chain_down $d0 -> $d1)"

ctl service enable fw-blue vm=a1 >/dev/null
ctl service enable ids-blue vm=a1 >/dev/null
f0=$(rx_of tpf 0); i0=$(rx_of tpi 0); o0=$(rx_of tpi 1)
pings a1 10.0.0.2 10 || vs_fail "a1 cannot ping a2 through the chain"
f1=$(rx_of tpf 0); i1=$(rx_of tpi 0); o1=$(rx_of tpi 1)
# 10 requests and 10 answers: each through fw0 and each into idi, none into ido
[ $((f1 - f0)) -ge 20 ] || vs_fail "fw appliance saw $((f1 - f0)) frames, expected >= 20"
[ $((i1 - i0)) -ge 20 ] || vs_fail "ids appliance (in port) saw $((i1 - i0)) frames, expected >= 20"
[ $((o1 - o0)) -eq 0 ] || vs_fail "ids appliance got $((o1 - o0)) frames on its out port"
ctl --json chain show inspect > "$VS_TMP/chain.json"
hop() { jq -r --argjson h "$1" --arg k "$2" '.hops[$h][$k]' "$VS_TMP/chain.json"; }
for h in 0 1; do
	for k in sent_fwd back_fwd sent_rev back_rev; do
		[ "$(hop $h $k)" -ge 10 ] || vs_fail "hop $h $k = $(hop $h $k): $(cat "$VS_TMP/chain.json")"
	done
done
vs_pass "pings a1 <-> a2 through fw (one port) then ids (in/out pair): fw +$((f1 - f0)), ids in +$((i1 - i0)), per-hop counters both ways"

# a TCP transfer through both appliances, checked end to end
head -c 2000000 /dev/urandom > "$VS_TMP/blob"
want=$(md5sum < "$VS_TMP/blob" | cut -d' ' -f1)
vs_bg rx ip netns exec "na2$S" /usr/bin/python3 -c '
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.0.2", 5001)); s.listen(1); print("LISTENING", flush=True)
c, _ = s.accept(); h = hashlib.md5()
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b)
print("MD5", h.hexdigest(), flush=True)'
vs_wait_log rx "^LISTENING$" 10
ip netns exec "na1$S" /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("10.0.0.2", 5001), timeout=20)
s.sendall(open(sys.argv[1], "rb").read()); s.close()' "$VS_TMP/blob" ||
	vs_fail "TCP transfer a1 -> a2 through the chain failed"
vs_wait_log rx '^MD5 [0-9a-f]{32}$' 30
got=$(grep -oE '^MD5 [0-9a-f]{32}$' "$(vs_logfile rx)" | cut -d' ' -f2)
[ "$got" = "$want" ] || vs_fail "TCP transfer through the chain corrupted: $got != $want"
vs_pass "2 MB over TCP a1 -> a2 through the chain arrive intact"

# the trace names the hops in order
ctl trace in_port=a1 dst_mac=02:00:00:00:0a:02 dst_ip=10.0.0.2 > "$VS_TMP/trace.txt" 2>&1 || true
grep -q 'hop 1.*fw0' "$VS_TMP/trace.txt" || vs_fail "trace does not send a1 -> a2 to hop 1 (fw0): $(cat "$VS_TMP/trace.txt")"
vs_pass "trace: a1 -> a2 goes to hop 1 on fw0"

# without the first appliance nothing reaches the second
vs_stop tpf
sleep 1
i2=$(rx_of tpi 0)
if pings a1 10.0.0.2 3; then vs_fail "a1 reaches a2 with the chain's first appliance gone"; fi
i3=$(rx_of tpi 0)
[ "$i3" -eq "$i2" ] || vs_fail "ids saw $((i3 - i2)) frames while fw was gone: hops out of order"
pings a1 10.0.0.3 2 || vs_fail "a3 affected by the loss of an appliance"
vs_pass "fw gone: nothing reaches ids (hop 2 only after hop 1), a3 unaffected"
appliance tpf macswap loop fw0
vs_wait_log tpf 'testpmd>' 30
vs_wait_cmd 20 pings a1 10.0.0.2 2
vs_pass "fw back: the chain works again"

# --- insertion point 3: an external service over VXLAN ---------------------------
ip -n "x$S" link add "sx$S" type vxlan id 5000 dstport 4789 local 198.51.100.9 \
	remote 198.51.100.1 dev "vX$S"
_VS_LINKS+=("x$S|sx$S")
ip -n "x$S" link set "sx$S" up
# the service: whatever arrives goes back the way it came
ip netns exec "x$S" tc qdisc add dev "sx$S" ingress
ip netns exec "x$S" tc filter add dev "sx$S" parent ffff: protocol all u32 match u32 0 0 \
	action mirred egress redirect dev "sx$S"
svc_rx() { ip netns exec "x$S" tc -s filter show dev "sx$S" parent ffff: | grep -m1 -o 'Sent [0-9]* bytes [0-9]* pkt' | awk '{print $4}'; }
ctl policy add scan-a3 from=vm:a1 to=vm:a3 action=chain:scan >/dev/null
ctl service enable scan-blue vm=a3 >/dev/null
# the first frames wait for the service's address to be resolved on the underlay
vs_wait_cmd 20 pings a1 10.0.0.3 1
x0=$(svc_rx)
if ! pings a1 10.0.0.3 10; then
	ctl --json stats drops | jq -c '[.drops[] | select(.count > 0)]' >&2
	vs_fail "a1 cannot ping a3 through the external service"
fi
x1=$(svc_rx)
[ $((x1 - x0)) -ge 20 ] || vs_fail "the external service saw $((x1 - x0)) frames, expected >= 20"
vs_pass "a1 <-> a3 through the external service in VNI 5000 (kernel VXLAN, $((x1 - x0)) frames), answers delivered"
ip netns exec "x$S" tc filter del dev "sx$S" parent ffff:
if pings a1 10.0.0.3 2; then vs_fail "a1 reaches a3 with the external service not answering"; fi
pings a1 10.0.0.2 2 || vs_fail "the external service's loss affected chain inspect"
vs_pass "external service silent: a1 -> a3 stops, a1 -> a2 unaffected"
ctl policy del scan-a3 >/dev/null
vs_wait_cmd 10 pings a1 10.0.0.3 1

# --- restart -------------------------------------------------------------------------
vs_stop sw
vs_bg sw "$SW" -c "$VS_TMP/a.yaml"
vs_wait_log sw "running" 60
for vm in a1 a2 a3; do vs_vm_wait_up "$vm" 30; done
f0=$(rx_of tpf 0)
vs_wait_cmd 20 pings a1 10.0.0.2 2
pings a1 10.0.0.2 5 || vs_fail "after a restart a1 cannot reach a2"
f1=$(rx_of tpf 0)
[ $((f1 - f0)) -ge 10 ] || vs_fail "after a restart the chain is not used (fw +$((f1 - f0)))"
vs_pass "the chain, its profiles, enables and policy survive a restart"

echo "services_chain: all checks passed"
