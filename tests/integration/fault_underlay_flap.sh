#!/usr/bin/env bash
# Fault injection: the underlay link goes down and comes back while VM a1
# (switch A) pings VM b1 (switch B) across VXLAN.  Two flaps, one per end:
#   1. the switch's own end: `ip link set vA down` (the interface under
#      switch A's af_packet port loses IFF_UP);
#   2. the far end: `ip link set uB down` in the underlay namespace (switch
#      B's interface vB stays up but loses its carrier).
# Each time: pings stop while the link is down, resume within a few
# seconds after it is up, both switches keep running and answering, and the
# counters show where the frames went (sent by A into the dead link, never
# received by B, or dropped with a reason).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init fault_underlay_flap

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX

vs_underlay "ul$S" "br$S" 1500 "vA$S:uA$S" "vB$S:uB$S"

write_config() { # host ip ifname lcores peer_ip local_mac peer_mac port peer_port
	cat > "$VS_TMP/$1.yaml" <<EOF
eal:
  lcores: "$4"
  main_lcore: 0
  memory_mb: 256
  file_prefix: vs-flap$1-$S
  in_memory: true
  args: [--no-pci, "--log-level=*:notice"]
workers:
  lcores: [1]
  idle_sleep_max_us: 200
  mbufs: 8192
control:
  socket: $VS_TMP/$1.sock
  state_dir: ''
physical_ports:
  - {name: underlay0, devargs: "net_af_packet_f$1$S,iface=$3", ip: $2/24}
vhost_ports:
  - {name: $8, socket: $VS_TMP/vm/$8.sock, mode: server, queues: 1, vm: $8}
virtual_networks:
  - {name: blue, vni: 100, subnets: [10.0.0.0/24]}
endpoints:
  - {name: $8, mac: "$6", ips: [10.0.0.${2##*.}], vnet: blue, port: $8}
  - {name: $9, mac: "$7", ips: [10.0.0.${5##*.}], vnet: blue, tep: $5}
EOF
}
mkdir -p "$VS_TMP/vm"
write_config a 198.51.100.1 "vA$S" "0@0,1@1" 198.51.100.2 02:00:00:00:0a:01 02:00:00:00:0b:01 a1 b1
write_config b 198.51.100.2 "vB$S" "0@0,1@1" 198.51.100.1 02:00:00:00:0b:01 02:00:00:00:0a:01 b1 a1
vs_bg swA "$SW" -c "$VS_TMP/a.yaml"
vs_bg swB "$SW" -c "$VS_TMP/b.yaml"
vs_wait_log swA "running" 60
vs_wait_log swB "running" 60

ctl() { local h=$1; shift; "$CTL" -s "$VS_TMP/$h.sock" "$@"; }
drops_total() { ctl "$1" --json stats drops | jq '[.drops[].count] | add'; }
drops_nz() { ctl "$1" --json stats drops | jq -c '[.drops[] | select(.count > 0) | {(.reason): .count}] | add'; }
port_stat() { ctl "$1" --json stats ports | jq -r --arg p "$2" --arg f "$3" '.ports[] | select(.name==$p) | .[$f]'; }

vs_vm_bridge vms "$VS_TMP/vm" a1 b1
vs_netns "na1$S"
vs_netns "nb1$S"
vs_vm_attach a1 "na1$S" 10.0.0.1/24 02:00:00:00:0a:01
vs_vm_attach b1 "nb1$S" 10.0.0.2/24 02:00:00:00:0b:01
vs_vm_wait_up a1 30
vs_vm_wait_up b1 30
vs_wait_cmd 30 ip netns exec "na1$S" ping -c 1 -W 1 10.0.0.2
vs_pass "a1 pings b1 across the underlay"

replies() { grep -c 'bytes from' "$(vs_logfile "$1")" || true; }

# flap NAME NS|"" IFNAME: continuous ping a1 -> b1 (every 0.1 s), link down
# for 3 s, up again; pings must come back.
flap() {
	local name=$1 ns=$2 ifn=$3 c0 c1 c2 tA0 tA1 rB0 rB1 dA0 dA1 rxA0 rxA1 inA0 inA1 end
	vs_bg "ping-$name" ip netns exec "na1$S" ping -i 0.1 -W 1 -w 30 10.0.0.2
	vs_wait_cmd 10 bash -c "[ \$(grep -c 'bytes from' '$(vs_logfile "ping-$name")') -ge 10 ]"
	inA0=$(port_stat a a1 rx_packets); tA0=$(port_stat a underlay0 tx_packets)
	rxA0=$(port_stat a underlay0 rx_packets); rB0=$(port_stat b underlay0 rx_packets)
	dA0=$(drops_total a)
	c0=$(replies "ping-$name")
	vs_log "$name: link $ifn down"
	_vs_ip "$ns" link set "$ifn" down
	sleep 3
	c1=$(replies "ping-$name")
	ctl a show >/dev/null || vs_fail "switch A stopped answering with the link down"
	ctl b show >/dev/null || vs_fail "switch B stopped answering with the link down"
	vs_log "$name: switch A port list while down: $(ctl a --json port list | jq -c '[.ports[] | {(.name): .link}] | add')"
	inA1=$(port_stat a a1 rx_packets); tA1=$(port_stat a underlay0 tx_packets)
	rxA1=$(port_stat a underlay0 rx_packets); rB1=$(port_stat b underlay0 rx_packets)
	dA1=$(drops_total a)
	vs_log "$name: link $ifn up"
	_vs_ip "$ns" link set "$ifn" up
	# replies that were already under way may still come in: allow 3
	[ $((c1 - c0)) -le 3 ] || vs_fail "$name: $((c1 - c0)) replies while $ifn was down"
	end=$((SECONDS + 15))
	while :; do
		c2=$(replies "ping-$name")
		[ $((c2 - c1)) -lt 10 ] || break
		if [ "$SECONDS" -ge "$end" ]; then
			tail -n 5 "$(vs_logfile "ping-$name")" >&2
			ctl a stats; ctl b stats; ctl a show
			vs_fail "$name: pings did not resume within 15 s after $ifn came back up"
		fi
		sleep 0.2
	done
	vs_stop "ping-$name" INT
	vs_log "$name: while down: a1 sent $((inA1 - inA0)) frames; A: underlay0 tx +$((tA1 - tA0)) rx +$((rxA1 - rxA0)), drops +$((dA1 - dA0)); B: underlay0 rx +$((rB1 - rB0))"
	vs_log "$name: drops on A now: $(drops_nz a), on B: $(drops_nz b)"
	# Conservation on A: every frame from a1 was sent on underlay0 or dropped
	# with a reason.  B (no link) received none of them.
	# (counters are read one after the other: allow 2 frames in flight)
	[ $((tA1 - tA0 + dA1 - dA0 + 2)) -ge $((inA1 - inA0)) ] ||
		vs_fail "$name: A took $((inA1 - inA0)) frames from a1, sent $((tA1 - tA0)) + dropped $((dA1 - dA0)): frames lost without a counter"
	[ $((rB1 - rB0)) -le 3 ] || vs_fail "$name: B received $((rB1 - rB0)) underlay frames through a down link"
	[ $((rxA1 - rxA0)) -le 3 ] || vs_fail "$name: A received $((rxA1 - rxA0)) underlay frames through a down link"
	vs_pass "$name: pings stopped while $ifn was down and resumed after ($(tail -n 2 "$(vs_logfile "ping-$name")" | head -n 1))"
}

flap near "" "vA$S"
flap far "ul$S" "uB$S"

kill -0 "$(vs_pid swA)" || vs_fail "switch A died"
kill -0 "$(vs_pid swB)" || vs_fail "switch B died"
ip netns exec "na1$S" ping -c 5 -i 0.1 -W 1 10.0.0.2 >/dev/null || vs_fail "a1 cannot ping b1 after the flaps"
ip netns exec "nb1$S" ping -c 5 -i 0.1 -W 1 10.0.0.1 >/dev/null || vs_fail "b1 cannot ping a1 after the flaps"
vs_pass "both switches up, pings in both directions after two flaps"
echo "fault_underlay_flap: all checks passed"
