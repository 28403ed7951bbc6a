#!/usr/bin/env bash
# A VM cannot exhaust the switch's shared tables: VM a1 sends to thousands
# of destinations nobody knows, as fast as it can.
#   - the decisions it causes stay within policy.cache_entries_per_port
#     (its oldest are evicted, counted in evictions_port);
#   - its miss requests beyond policy.misses_per_port_per_s are dropped by
#     the control thread and counted (misses_rate_limited);
#   - meanwhile a2 and a3 keep talking, and the switch keeps answering.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init fault_miss_flood

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
PER_PORT=64
MISS_RATE=50

vs_underlay "ul$S" "br$S" 1600 "vA$S:uA$S"
vs_switch_yaml "$VS_TMP/a.yaml" a 198.51.100.1 "vA$S"
cat >> "$VS_TMP/a.yaml" <<EOF
policy:
  cache_entries: 4096
  cache_entries_per_port: $PER_PORT
  misses_per_port_per_s: $MISS_RATE
vhost_ports:
EOF
for vm in a1 a2 a3; do
	echo "  - {name: $vm, socket: $VS_TMP/vm/$vm.sock, mode: server, queues: 1}" >> "$VS_TMP/a.yaml"
done
cat >> "$VS_TMP/a.yaml" <<EOF
virtual_networks:
  - {name: blue, vni: 100, subnets: [10.0.0.0/24]}
endpoints:
  - {name: a1, mac: "02:00:00:00:0a:01", ips: [10.0.0.1], vnet: blue, port: a1}
  - {name: a2, mac: "02:00:00:00:0a:02", ips: [10.0.0.2], vnet: blue, port: a2}
  - {name: a3, mac: "02:00:00:00:0a:03", ips: [10.0.0.3], vnet: blue, port: a3}
EOF
mkdir -p "$VS_TMP/vm"
vs_bg sw "$SW" -c "$VS_TMP/a.yaml"
vs_wait_log sw "running" 60
ctl() { "$CTL" -s "$VS_TMP/a.sock" "$@"; }
vs_vm_bridge vms "$VS_TMP/vm" a1 a2 a3
n=1
for vm in a1 a2 a3; do
	vs_netns "n$vm$S"
	vs_vm_attach "$vm" "n$vm$S" "10.0.0.$n/24" "02:00:00:00:0a:0$n"
	n=$((n + 1))
done
for vm in a1 a2 a3; do vs_vm_wait_up "$vm" 30; done
ip netns exec "na2$S" ping -c 2 -i 0.2 -W 2 10.0.0.3 >/dev/null || vs_fail "a2 cannot ping a3 before the flood"

# a1: 4000 unicast frames to 4000 different unknown MACs, from its own MAC/IP
ip netns exec "na2$S" ping -i 0.05 -c 60 -W 1 10.0.0.3 > "$VS_TMP/ping.out" 2>&1 &
pingpid=$!
ip netns exec "na1$S" /usr/bin/python3 - "$(vs_vm_tap a1)" <<'PY'
import sys
from scapy.all import Ether, IP, UDP, sendp
frames = [Ether(src='02:00:00:00:0a:01', dst='02:aa:%02x:%02x:%02x:01' % (i >> 16 & 255, i >> 8 & 255, i & 255)) /
          IP(src='10.0.0.1', dst='10.0.0.200') / UDP(sport=1000, dport=2000) for i in range(4000)]
sendp(frames, iface=sys.argv[1], verbose=False)
PY
wait "$pingpid" || true
st=$(ctl --json policy-service status)
mine=$(ctl --json policy table vm=a1 | jq '[.decisions[] | select(.from_vm == "a1")] | length')
evp=$(jq '.decisions.cache.evictions_port' <<<"$st")
rl=$(jq '.decisions.misses_rate_limited' <<<"$st")
vs_log "after the flood: a1 holds $mine decisions, evictions_port $evp, misses_rate_limited $rl"
[ "$mine" -le "$PER_PORT" ] || vs_fail "a1 holds $mine cached decisions, more than its limit $PER_PORT"
[ "$evp" -gt 0 ] || vs_fail "the per-port limit never evicted (evictions_port $evp)"
[ "$rl" -gt 0 ] || vs_fail "no miss request was rate-limited (misses_rate_limited $rl)"
rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$VS_TMP/ping.out")
[ "${rx:-0}" -ge 58 ] || vs_fail "a2 -> a3 suffered during a1's flood: $(tail -2 "$VS_TMP/ping.out")"
ctl show >/dev/null || vs_fail "the switch stopped answering"
vs_pass "a1's flood of unknown destinations: at most $PER_PORT decisions held (evictions_port $evp), misses rate-limited ($rl), a2 -> a3 unaffected ($rx/60)"

echo "fault_miss_flood: all checks passed"
