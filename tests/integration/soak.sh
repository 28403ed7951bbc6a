#!/usr/bin/env bash
# Soak: two switches (hosts A and B) on one underlay bridge, two VMs on each
# (x1, x2 on A; y1, y2 on B).  For SOAK_SECONDS (default 120) traffic runs
# all the time:
#   - x1 -> y1 and y2 -> x2 ping at 50/s (across the underlay),
#   - x1 -> x2 and y1 -> y2 ping at 20/s (local on each switch),
#   - x2 -> y2 a paced UDP stream (SOAK_UDP_PPS, default 200/s, 200 bytes),
# while a churn loop changes both switches at a steady rate (one change every
# SOAK_CHURN_INTERVAL s, default 0.25): port add/del of spare vhost ports,
# endpoint add/del/move (port= and tep=) of spare endpoints, vnet add/del of a
# spare network, policies added, replaced and removed (one on a live flow,
# allowing it: its cached decision is recomputed under traffic), `config
# reload` of the unchanged file.  The churn touches
# only spare objects, so no ping may be lost.  `stats --clear` is never used:
# the counter check below needs the counters since start.
# At the end, after the traffic stopped and a short settle:
#   1. both switches run, answer, exit 0 on SIGINT, and their logs hold no
#      error / crash / sanitizer text (see BENIGN below);
#   2. mbufs in use are back to the level at the start (slack SOAK_MBUF_SLACK)
#      and VmRSS grew by at most SOAK_RSS_MB (default 20) MB since warm-up;
#   3. the counters of each switch are consistent (identity in check_counters);
#   4. every churn command succeeded, no ping was lost, the UDP stream lost
#      at most 0.5 %.
# docs/soak.md: how to run it for an hour.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init soak

T=${SOAK_SECONDS:-120}
CHURN_IV=${SOAK_CHURN_INTERVAL:-0.25}
UDP_PPS=${SOAK_UDP_PPS:-200}
RSS_MB=${SOAK_RSS_MB:-20}
MIN_RATE=2  # changes per second the churn must reach
if [ "${VS_SANITIZER:-0}" = 1 ]; then
	# ASan keeps freed heap in its quarantine (256 MB by default) and maps
	# shadow memory as the heap is touched, so VmRSS grows without a leak
	# (LeakSanitizer reports real leaks at exit); and every vswitchctl call
	# is slower.
	RSS_MB=${SOAK_RSS_MB:-300}
	MIN_RATE=1
	# The first pass ran the full two minutes; here the point is the
	# sanitizers' view of the same churn, which a shorter run gives.
	T=${SOAK_SECONDS:-45}
fi
# mbufs in use may differ from the start by frames sitting in a worker's tx
# buffers or the punt/inject rings when measured (at most a couple of bursts
# of DP_BURST = 32).  Per-lcore mempool caches do not matter: the pool's
# avail count includes them, so they are not "in use".
MBUF_SLACK=${SOAK_MBUF_SLACK:-64}
[ "$T" -ge 20 ] || vs_fail "SOAK_SECONDS must be >= 20"

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
IPA=198.51.100.1
IPB=198.51.100.2

# --- underlay: a bridge in namespace ul, one veth per host (as live_changes) -
vs_underlay "ul$S" "br$S" 1600 "vA$S:uA$S" "vB$S:uB$S"

# --- configurations ---------------------------------------------------------
write_config() { # host ip ifname
	cat > "$VS_TMP/$1.yaml" <<EOF
eal:
  lcores: "0@0,1@1"
  main_lcore: 0
  memory_mb: 256
  file_prefix: vs-$1-$S
  in_memory: true
  args: [--no-pci, "--log-level=*:notice"]
workers:
  lcores: [1]
  idle_sleep_max_us: 200
  mbufs: 8192
control:
  socket: $VS_TMP/$1.sock
  state_dir: $VS_TMP/$1.state
physical_ports:
  - name: underlay0
    devargs: net_af_packet_$1$S,iface=$3
    rx_queues: 1
    ip: $2/24
    mtu: 1550
vhost_ports:
EOF
}
vhost() { # host port
	printf '  - {name: %s, socket: %s, mode: server, queues: 1, vm: %s}\n' \
		"$2" "$VS_TMP/vm/$2.sock" "$2" >> "$VS_TMP/$1.yaml"
}
nets() {
	printf 'virtual_networks:\n  - {name: blue, vni: 100, subnets: [10.0.0.0/24]}\nendpoints:\n' >> "$VS_TMP/$1.yaml"
}
ep() { # host name mac ip port|tep WHERE
	printf '  - {name: %s, mac: "%s", ips: [%s], vnet: blue, %s: %s}\n' "$2" "$3" "$4" "$5" "$6" >> "$VS_TMP/$1.yaml"
}
MX1=02:00:00:00:0a:01 MX2=02:00:00:00:0a:02 MY1=02:00:00:00:0b:01 MY2=02:00:00:00:0b:02
mkdir -p "$VS_TMP/vm" "$VS_TMP/churn"
write_config a $IPA "vA$S"
vhost a x1; vhost a x2
nets a
ep a x1 $MX1 10.0.0.1 port x1
ep a x2 $MX2 10.0.0.3 port x2
ep a y1 $MY1 10.0.0.2 tep $IPB
ep a y2 $MY2 10.0.0.4 tep $IPB
write_config b $IPB "vB$S"
vhost b y1; vhost b y2
nets b
ep b y1 $MY1 10.0.0.2 port y1
ep b y2 $MY2 10.0.0.4 port y2
ep b x1 $MX1 10.0.0.1 tep $IPA
ep b x2 $MX2 10.0.0.3 tep $IPA
"$SW" -c "$VS_TMP/a.yaml" --check
"$SW" -c "$VS_TMP/b.yaml" --check

# --- start both switches, then the VMs --------------------------------------
vs_bg swA "$SW" -c "$VS_TMP/a.yaml"
vs_bg swB "$SW" -c "$VS_TMP/b.yaml"
vs_wait_log swA "running" 60
vs_wait_log swB "running" 60

ctl() { local h=$1; shift; "$CTL" -s "$VS_TMP/$h.sock" "$@"; }
tunnel_up() { # host tep
	ctl "$1" --json show | jq -e --arg t "$2" '[.tunnels[] | select(.tep==$t and .resolved)] | length == 1' >/dev/null
}
vs_wait_cmd 20 tunnel_up a $IPB
vs_wait_cmd 20 tunnel_up b $IPA

vs_vm_bridge vms "$VS_TMP/vm" x1 x2 y1 y2
for vm in x1 x2 y1 y2; do vs_netns "n$vm$S"; done
vs_vm_attach x1 "nx1$S" 10.0.0.1/24 $MX1
vs_vm_attach x2 "nx2$S" 10.0.0.3/24 $MX2
vs_vm_attach y1 "ny1$S" 10.0.0.2/24 $MY1
vs_vm_attach y2 "ny2$S" 10.0.0.4/24 $MY2
for vm in x1 x2 y1 y2; do vs_vm_wait_up "$vm"; done
vs_wait_cmd 20 ip netns exec "nx1$S" ping -c 1 -W 1 10.0.0.2
while read -r src dst; do
	ip netns exec "n$src$S" ping -c 3 -i 0.1 -W 1 "$dst" > /dev/null || vs_fail "$src cannot ping $dst before the soak"
done <<'EOF2'
x1 10.0.0.2
y2 10.0.0.3
x1 10.0.0.3
y1 10.0.0.4
x2 10.0.0.4
EOF2
vs_pass "x1, x2 (on A) and y1, y2 (on B) reach each other"

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$(vs_pid "$1")/status"; } # kB
in_use() { ctl "$1" --json stats workers | jq '.mbufs.in_use'; }
sleep 1
MB0A=$(in_use a) MB0B=$(in_use b)
# offset of the counter identity (see check_counters) before the traffic
declare -A OFF=()
for h in a b; do
	j=$(ctl $h --json stats)
	OFF[$h]=$(jq '([.ports[].tx_packets] | add) + ([.drops[].count] | add) - ([.ports[].rx_packets] | add)' <<<"$j")
	[ "$(jq '([.ports[].tx_packets] | add) + ([.drops[].count] | add) + ([.workers[].punted] | add) - ([.ports[].rx_packets] | add) >= 0' <<<"$j")" = true ] ||
		vs_fail "switch ${h^^}: counters before the traffic: tx + drops + punted < rx: $j"
done
vs_log "mbufs in use at the start: A $MB0A, B $MB0B; counter offsets (tx + drops - rx): A ${OFF[a]}, B ${OFF[b]}"

# --- traffic for the whole duration -----------------------------------------
NX=$((T * 50)) NL=$((T * 20))
vs_bg udprx ip netns exec "ny2$S" /usr/bin/python3 -u -c '
import signal, socket, sys
n = 0
def done(*_):
    print("RECEIVED %d" % n, flush=True)
    sys.exit(0)
signal.signal(signal.SIGINT, done)
signal.signal(signal.SIGTERM, done)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind(("10.0.0.4", 5001))
print("READY", flush=True)
while True:
    s.recv(2048)
    n += 1
'
vs_wait_log udprx '^READY' 10
vs_bg udptx ip netns exec "nx2$S" /usr/bin/python3 -u -c '
import socket, sys, time
secs, pps = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b = b"u" * 200
n, t0 = 0, time.monotonic()
while time.monotonic() - t0 < secs:
    for _ in range(10):  # 10 per tick: bounded rate, modest CPU
        s.sendto(b, ("10.0.0.4", 5001))
        n += 1
    time.sleep(max(0.0, t0 + n / pps - time.monotonic()))
print("SENT %d" % n, flush=True)
' "$T" "$UDP_PPS"
vs_bg pxy ip netns exec "nx1$S" ping -i 0.02 -c $NX -W 2 10.0.0.2
vs_bg pyx ip netns exec "ny2$S" ping -i 0.02 -c $NX -W 2 10.0.0.3
vs_bg pxx ip netns exec "nx1$S" ping -i 0.05 -c $NL -W 2 10.0.0.3
vs_bg pyy ip netns exec "ny1$S" ping -i 0.05 -c $NL -W 2 10.0.0.4
PINGS="pxy pyx pxx pyy"

pinging() { vs_running pxy || vs_running pyx || vs_running pxx || vs_running pyy; }

# --- churn --------------------------------------------------------------------
NCHG=0 FAILED=''
# chg HOST CMD...: one change; a failure is recorded and stops the churn
chg() {
	local h=$1 out
	shift
	if ! out=$(ctl "$h" "$@" 2>&1); then
		FAILED="switch ${h^^}: vswitchctl $* -> $out"
		return 1
	fi
	NCHG=$((NCHG + 1))
}
# reload HOST: config reload of the unchanged file; the churn has undone
# its objects at this point, so it must change nothing
reload() {
	local out
	if ! out=$(ctl "$1" --json config reload 2>&1); then
		FAILED="switch ${1^^}: vswitchctl config reload -> $out"
		return 1
	fi
	NCHG=$((NCHG + 1))
	if ! jq -e '[.changes[][]] | all(. == 0)' <<<"$out" >/dev/null; then
		FAILED="switch ${1^^}: config reload of the unchanged file at the YAML state changed something: $out"
		return 1
	fi
}
mac_of() { printf '02:00:00:%02x:%02x:%02x' "$1" $(($2 / 256 % 256)) $(($2 % 256)); }
STEPS=()
gen_steps() { # iteration
	local i=$1 ma mb ms ia ib
	ma=$(mac_of 1 "$i") mb=$(mac_of 2 "$i") ms=$(mac_of 3 "$i")
	ia=10.0.0.$((100 + i % 50)) ib=10.0.0.$((150 + i % 50))
	STEPS=(
	"chg a port add pa$i $VS_TMP/churn/pa$i.sock mode=server"
	"chg a endpoint add wa$i $ma blue port=pa$i ips=$ia"
	"chg b endpoint add wa$i $ma blue tep=$IPA ips=$ia"
	"chg b port add pb$i $VS_TMP/churn/pb$i.sock mode=server queues=1 vm=vb$i"
	"chg b endpoint add wb$i $mb blue port=pb$i ips=$ib"
	"chg a endpoint add wb$i $mb blue tep=$IPB ips=$ib"
	"chg a vnet add spare 4000 subnets=10.9.0.0/24"
	"chg b vnet add spare 4000 subnets=10.9.0.0/24 flood=true"
	"chg a endpoint add sp$i $ms spare tep=$IPB ips=10.9.0.$((1 + i % 200))"
	"chg a policy add sp-deny$i from=vm:wa$i to=vm:wb$i action=deny"
	"chg a policy add live-allow from=vm:x1 to=vm:y1 action=allow priority=$((i % 7))"
	"chg b policy add live-allow from=vm:nobody$((i % 2)) to=any action=deny"
	"chg a endpoint move wa$i tep=$IPB"
	"chg b endpoint move wb$i tep=$IPA"
	"chg a endpoint move wa$i port=pa$i"
	"chg b endpoint move wb$i port=pb$i"
	"chg a endpoint del sp$i"
	"chg a policy del sp-deny$i"
	"chg a policy del live-allow"
	"chg b policy del live-allow"
	"chg a vnet del spare"
	"chg b vnet del spare"
	"chg a endpoint del wa$i"
	"chg a port del pa$i"
	"chg b endpoint del wa$i"
	"chg b endpoint del wb$i"
	"chg b port del pb$i"
	"chg a endpoint del wb$i"
	"reload a"
	"reload b"
	)
}

t0=$SECONDS iter=0 k=0 last='' warm=0 RSS0A=0 RSS0B=0
WARM=$((T / 6 < 10 ? 10 : T / 6))
NST=0
while pinging; do
	if [ "$warm" = 0 ] && [ $((SECONDS - t0)) -ge "$WARM" ]; then
		RSS0A=$(rss swA) RSS0B=$(rss swB) warm=1
		vs_log "after ${WARM}s warm-up: VmRSS A ${RSS0A} kB, B ${RSS0B} kB; $NCHG changes so far"
	fi
	if [ -z "$FAILED" ]; then
		if [ "$k" -ge "$NST" ]; then
			iter=$((iter + 1)) k=0
			gen_steps "$iter"
			NST=${#STEPS[@]}
		fi
		last=${STEPS[$k]}
		eval "$last" || vs_log "churn stopped: $FAILED"
		k=$((k + 1))
	fi
	sleep "$CHURN_IV"
done
DUR=$((SECONDS - t0))
vs_log "traffic ran ${DUR}s; $NCHG changes, $iter iterations; last: $last"
[ "$warm" = 1 ] || vs_fail "the traffic ended before the warm-up measurement (${DUR}s)"

# --- results of the traffic ------------------------------------------------
ERRS=()
err() { ERRS+=("$*"); printf 'FAIL: %s\n' "$*" >&2; }
PSENT=0 PRECV=0
for p in $PINGS; do
	vs_stop "$p"
	sum=$(vs_log_since "$p" | grep -E 'packets transmitted' || true)
	tx=$(sed -E 's/^([0-9]+) packets transmitted.*/\1/' <<<"$sum")
	rx=$(sed -E 's/.* ([0-9]+) received.*/\1/' <<<"$sum")
	[[ $tx =~ ^[0-9]+$ && $rx =~ ^[0-9]+$ ]] || { err "ping $p: no summary: '$sum'"; continue; }
	PSENT=$((PSENT + tx)) PRECV=$((PRECV + rx))
	if [ "$tx" != "$rx" ]; then err "ping $p lost $((tx - rx)) of $tx: $sum"; else vs_pass "ping $p: $sum"; fi
done
while vs_running udptx; do sleep 0.1; done
vs_stop udptx
sleep 0.5
vs_stop udprx
USENT=$(vs_log_since udptx | sed -nE 's/^SENT ([0-9]+)$/\1/p')
URECV=$(vs_log_since udprx | sed -nE 's/^RECEIVED ([0-9]+)$/\1/p')
if [ -z "$USENT" ] || [ -z "$URECV" ]; then
	err "UDP stream: no counts (sent '$USENT', received '$URECV')"
elif [ $((URECV * 1000)) -lt $((USENT * 995)) ]; then
	err "UDP stream x2 -> y2 lost more than 0.5 %: $URECV of $USENT received"
else
	vs_pass "UDP stream x2 -> y2: $URECV of $USENT received"
fi
if [ -n "$FAILED" ]; then err "a churn command failed: $FAILED"; else vs_pass "all $NCHG churn commands succeeded"; fi
MINCHG=$((DUR * MIN_RATE))
[ "$NCHG" -ge "$MINCHG" ] || [ -n "$FAILED" ] || err "only $NCHG changes in ${DUR}s (want >= $MIN_RATE/s)"

# --- after a settle: health, leaks, counters ----------------------------------
sleep 3
for h in A B; do
	vs_running "sw$h" || err "switch $h died"
	ctl "${h,}" -t 5 version > /dev/null || err "switch $h does not answer on its control socket"
done
MB1A=$(in_use a) MB1B=$(in_use b)
RSS1A=$(rss swA) RSS1B=$(rss swB)
for h in A B; do
	eval "m0=\$MB0$h m1=\$MB1$h r0=\$RSS0$h r1=\$RSS1$h"
	# shellcheck disable=SC2154
	if [ "$m1" -gt $((m0 + MBUF_SLACK)) ]; then
		err "switch $h: mbufs in use $m0 at the start, $m1 at the end (slack $MBUF_SLACK): a leak"
	else
		vs_pass "switch $h: mbufs in use $m0 at the start, $m1 at the end"
	fi
	# shellcheck disable=SC2154
	if [ "$r1" -gt $((r0 + RSS_MB * 1024)) ]; then
		err "switch $h: VmRSS grew from $r0 kB (after warm-up) to $r1 kB (bound +$RSS_MB MB)"
	else
		vs_pass "switch $h: VmRSS $r0 kB after warm-up, $r1 kB at the end"
	fi
done

# Counter identity, per switch, over all ports (VM ports, the underlay, and
# the spare ports, which see no traffic), counters since start:
#   every frame a port received (rx) was transmitted (tx), dropped with a
#   reason (one count in `stats drops`), or punted to the control thread
#   (underlay ARP, `punted` in `stats workers`); on top, tx counts the ARP
#   frames the control thread injects on the underlay (its replies to the
#   punted requests for its address and its own requests to resolve/refresh
#   the next hop), which were never received.  An ARP request a VM sends is
#   answered in place (rx and tx on that VM port: 1 in, 1 out) and needs no
#   term.  Blue does not flood, so nothing is replicated (the spare flooding
#   network on B has no traffic).  Hence
#       sum(tx) + sum(drops) + punted - sum(rx) = injected >= 0
#   and, as every punted frame here is either the peer's request (answered:
#   one injected reply) or the peer's reply to one of our requests (one
#   injected request), injected == punted up to requests or replies still
#   in flight (we allow 2) -- and up to requests sent before the peer was
#   up, never answered: that offset, OFF = injected - punted, is measured
#   before the traffic starts and must not change.  So, with D = sum(tx) +
#   sum(drops) - sum(rx) = injected - punted:  |D - OFF| <= 2.
check_counters() { # host [OFF] -> counters in $VS_TMP/cnt-HOST; 0 if consistent
	local j
	j=$(ctl "$1" --json stats)
	jq -r '[([.ports[].rx_packets] | add), ([.ports[].tx_packets] | add),
		([.drops[].count] | add), ([.workers[].punted] | add)] | @tsv' <<<"$j" > "$VS_TMP/cnt-$1"
	jq -c '[.drops[] | select(.count > 0) | {(.reason): .count}] | add // {}' <<<"$j" > "$VS_TMP/drops-$1"
	jq -r '[.ports[] | select(.name|test("^(underlay0|x1|x2|y1|y2)$")) | "\(.name)=\(.rx_packets)/\(.tx_packets)"] | join(" ")' <<<"$j" > "$VS_TMP/ports-$1"
	read -r rx tx dr pu < "$VS_TMP/cnt-$1"
	inj=$((tx + dr + pu - rx))
	d=$((tx + dr - rx - ${2:-0}))
	[ "$inj" -ge 0 ] && [ "$d" -le 2 ] && [ "$d" -ge -2 ]
}
FWD=0
for h in a b; do
	ok=0
	for _ in 1 2 3; do   # an ARP refresh may be on its way: read again
		if check_counters $h "${OFF[$h]}"; then ok=1; break; fi
		sleep 1
	done
	read -r rx tx dr pu < "$VS_TMP/cnt-$h"
	FWD=$((FWD + tx))
	msg="switch ${h^^}: rx $rx, tx $tx, drops $dr $(cat "$VS_TMP/drops-$h"), punted $pu, injected (tx+drops+punted-rx) $((tx + dr + pu - rx)), offset at start ${OFF[$h]}; ports (rx/tx) $(cat "$VS_TMP/ports-$h")"
	if [ "$ok" = 1 ]; then vs_pass "counters consistent: $msg"; else err "counters inconsistent: $msg"; fi
done

# Logs.  BENIGN: lines known to be harmless.  None is needed at the moment:
# the pattern is matched against every line the switches logged.
BENIGN=${SOAK_BENIGN:-'^$'}
for h in A B; do
	bad=$(grep -nEi 'error|segmentation|sanitizer|runtime error|panic|abort|assert|leak' "$(vs_logfile sw$h)" |
		grep -vE -- "$BENIGN" || true)
	[ -z "$bad" ] || err "switch $h logged: $(head -n 5 <<<"$bad")"
done
for h in A B; do
	vs_stop "sw$h"
	[ "$VS_LAST_RC" = 0 ] || err "switch $h exited with $VS_LAST_RC on SIGINT"
done

printf 'SOAK SUMMARY: %ss, changes %s (%s iterations), pings %s sent / %s received, UDP %s sent / %s received, frames tx A+B %s, drops A %s B %s, mbufs in use A %s->%s B %s->%s, VmRSS kB A %s->%s B %s->%s\n' \
	"$DUR" "$NCHG" "$iter" "$PSENT" "$PRECV" "${USENT:-?}" "${URECV:-?}" "$FWD" \
	"$(cat "$VS_TMP/drops-a")" "$(cat "$VS_TMP/drops-b")" \
	"$MB0A" "$MB1A" "$MB0B" "$MB1B" "$RSS0A" "$RSS1A" "$RSS0B" "$RSS1B"
if [ "${#ERRS[@]}" -gt 0 ]; then
	printf 'FAIL: %s\n' "${ERRS[@]}" >&2
	vs_fail "soak: ${#ERRS[@]} check(s) failed"
fi
echo "soak: all checks passed"
