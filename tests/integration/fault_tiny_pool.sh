#!/usr/bin/env bash
# Fault injection: the smallest packet pool the configuration allows
# (workers.mbufs: 1024) under a flood.  VMs a1 and a2 share one switch;
# a1 floods a2 with UDP from several senders at once plus `ping -f`, for a
# bounded time.  Checks:
#   - the switch survives and keeps answering on its control socket;
#   - every frame the switch took in was forwarded or dropped with a reason;
#   - afterwards normal pings work again (both directions, no loss);
#   - the pool does not leak: the mbufs in use (vswitchctl stats workers)
#     return to where they were before the flood, and 3000 paced datagrams
#     (more than the pool) get through as well as before.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init fault_tiny_pool

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
PREFIX=vs-tiny-$S

cat > "$VS_TMP/sw.yaml" <<EOF
eal:
  lcores: "0@0,1@1"
  main_lcore: 0
  memory_mb: 256
  file_prefix: $PREFIX
  in_memory: true
  args: [--no-pci, "--log-level=*:notice"]
workers:
  lcores: [1]
  idle_sleep_max_us: 200
  mbufs: 1024
control:
  socket: $VS_TMP/sw.sock
  state_dir: ''
vhost_ports:
  - {name: a1, socket: $VS_TMP/vm/a1.sock, mode: server, queues: 1, vm: a1}
  - {name: a2, socket: $VS_TMP/vm/a2.sock, mode: server, queues: 1, vm: a2}
virtual_networks:
  - {name: blue, vni: 100, subnets: [10.0.0.0/24]}
endpoints:
  - {name: a1, mac: "02:00:00:00:0a:01", ips: [10.0.0.1], vnet: blue, port: a1}
  - {name: a2, mac: "02:00:00:00:0a:02", ips: [10.0.0.2], vnet: blue, port: a2}
EOF
mkdir -p "$VS_TMP/vm"
"$SW" -c "$VS_TMP/sw.yaml" --check
vs_bg sw "$SW" -c "$VS_TMP/sw.yaml"
vs_wait_log sw "running" 60

ctl() { "$CTL" -s "$VS_TMP/sw.sock" "$@"; }
drops_total() { ctl --json stats drops | jq '[.drops[].count] | add'; }
drops_nz() { ctl --json stats drops | jq -c '[.drops[] | select(.count > 0) | {(.reason): .count}] | add'; }
port_stat() { ctl --json stats ports | jq -r --arg p "$1" --arg f "$2" '.ports[] | select(.name==$p) | .[$f]'; }
# mbufs of the packet pool in use, as the switch reports them
in_use() { ctl --json stats workers | jq '.mbufs.in_use'; }
# The pool's size as DPDK telemetry sees it (/mempool/info dp_pool): an
# independent check that the configured size was applied.
pool_size() {
	/usr/bin/python3 - "/var/run/dpdk/$PREFIX/dpdk_telemetry.v2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
json.loads(s.recv(16384))  # greeting
s.send(b"/mempool/info,dp_pool")
print(json.loads(s.recv(65536))["/mempool/info"]["size"])
PY
}
# paced N: a1 sends N small UDP datagrams to a2, 50 at a time, 2 ms apart
# (the switch could forward all of them with a healthy pool)
paced() {
	ip netns exec "na1$S" /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    s.sendto(b"y" * 64, ("10.0.0.2", 9))
    if i % 50 == 49:
        time.sleep(0.002)
' "$1"
}

vs_vm_bridge vms "$VS_TMP/vm" a1 a2
vs_netns "na1$S"
vs_netns "na2$S"
vs_vm_attach a1 "na1$S" 10.0.0.1/24 02:00:00:00:0a:01
vs_vm_attach a2 "na2$S" 10.0.0.2/24 02:00:00:00:0a:02
vs_vm_wait_up a1 30
vs_vm_wait_up a2 30
vs_wait_cmd 20 ip netns exec "na1$S" ping -c 1 -W 1 10.0.0.2
ip netns exec "na1$S" ping -c 5 -i 0.1 -W 1 10.0.0.2 >/dev/null || vs_fail "a1 cannot ping a2 before the flood"
size=$(pool_size) || vs_fail "cannot read dp_pool from DPDK telemetry"
[ "$size" = 1024 ] || vs_fail "dp_pool has $size mbufs, configured 1024"
# 3000 paced datagrams, more than the whole pool: the pool's mbufs come back
t0=$(port_stat a2 tx_packets); paced 3000; sleep 0.3; t1=$(port_stat a2 tx_packets)
base=$((t1 - t0))
sleep 0.5
used0=$(in_use)
[ "$base" -ge 2850 ] || vs_fail "before any flood, only $base of 3000 paced datagrams reached a2"
vs_pass "switch with a 1024-mbuf pool forwards ($base of 3000 paced datagrams to a2)"

# --- flood: 4 UDP senders (1400-byte datagrams) and ping -f, 5 s ----------
rx0=$(port_stat a1 rx_packets); rx20=$(port_stat a2 rx_packets)
tx0=$(( $(port_stat a1 tx_packets) + $(port_stat a2 tx_packets) ))
d0=$(drops_total)
for i in 1 2 3 4; do
	vs_bg "udp$i" ip netns exec "na1$S" timeout 5 /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
b = b"x" * 1400
while True:
    try:
        s.sendto(b, ("10.0.0.2", 9))
    except OSError:
        pass
'
done
vs_bg pingf ip netns exec "na1$S" ping -f -w 5 -s 1000 10.0.0.2
for _ in $(seq 1 8); do
	sleep 0.5
	ctl -t 5 version >/dev/null || vs_fail "switch stopped answering during the flood"
done
for i in 1 2 3 4; do vs_stop "udp$i"; done
vs_stop pingf
kill -0 "$(vs_pid sw)" || vs_fail "switch died under the flood"
sleep 1
rx1=$(port_stat a1 rx_packets); rx21=$(port_stat a2 rx_packets)
tx1=$(( $(port_stat a1 tx_packets) + $(port_stat a2 tx_packets) ))
d1=$(drops_total)
in=$(( rx1 - rx0 + rx21 - rx20 ))
vs_log "flood: in $in frames, forwarded $((tx1 - tx0)), dropped $((d1 - d0)) $(drops_nz)"
[ "$in" -gt 10000 ] || vs_fail "the flood brought only $in frames in"
# every frame taken in is forwarded or counted as dropped (ARP answers
# from the proxy add to tx, hence >=)
[ $((tx1 - tx0 + d1 - d0)) -ge "$in" ] || vs_fail "frames lost without a counter: in $in, forwarded $((tx1 - tx0)), dropped $((d1 - d0))"
grep -E "ping statistics" -A 2 "$(vs_logfile pingf)" || true
vs_pass "the switch survived the flood, every frame is forwarded or counted"

# --- afterwards -----------------------------------------------------------------
ip netns exec "na1$S" ping -c 10 -i 0.1 -W 1 10.0.0.2 >/dev/null || vs_fail "a1 cannot ping a2 after the flood"
ip netns exec "na2$S" ping -c 10 -i 0.1 -W 1 10.0.0.1 >/dev/null || vs_fail "a2 cannot ping a1 after the flood"
# No leak: the mbufs in use come back to their level before the flood
sleep 2
used1=$(in_use)
vs_log "mbufs in use: $used0 before the flood, $used1 after"
[ "$used1" -le "$used0" ] || vs_fail "mbufs in use grew from $used0 to $used1 across the flood: a leak"
# and the same 3000 paced datagrams get through as before
r0=$(port_stat a1 rx_packets); f0=$(drops_total)
t0=$(port_stat a2 tx_packets); paced 3000; sleep 0.3; t1=$(port_stat a2 tx_packets)
r1=$(port_stat a1 rx_packets); f1=$(drops_total)
vs_log "after the flood: a1 rx +$((r1 - r0)), a2 tx +$((t1 - t0)), drops +$((f1 - f0)) $(drops_nz)"
[ $((t1 - t0)) -ge $((base - 150)) ] || vs_fail "after the flood only $((t1 - t0)) of 3000 paced datagrams reached a2 (before: $base): mbufs leaked?"
vs_pass "normal pings after the flood; $((t1 - t0)) of 3000 paced datagrams reach a2 (before: $base)"
echo "fault_tiny_pool: all checks passed"
