#!/usr/bin/env bash
# The distributed policy service: a 3-member etcd cluster on loopback and
# three switches (hosts A, B, C) on one underlay.
#   - policies live in etcd; A -> B follows them: allowed pair works, denied
#     pair drops with policy_deny, inter-subnet routing works;
#   - VM move (D5): with A's watch cut, VM x moves from B to C (on no host
#     for 1 s); A's stale translation sends to B, B notifies A, A refetches;
#     while x is nowhere A asks etcd again on its misses, and the pings
#     reach C; packets lost and time to converge are reported;
#   - deprecated policy (D8): a policy changes in etcd while A's watch is
#     cut; C's notification makes A refetch and the new policy applies;
#   - forged notifications change nothing but a refetch;
#   - one etcd member down changes nothing visible; two down: degraded, the
#     datapath keeps forwarding; back: recovers by itself;
#   - switch B killed: its endpoints expire from the others (lease).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init policy_etcd

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
PFX=/vs-$S
export ETCD_DIR=$VS_TMP/etcd ETCD_BASE_PORT=$((20000 + $$ % 20000)) ETCD_MEMBERS=3
CLUSTER=$VS_SRC/scripts/etcd-cluster.sh
vs_at_exit bash "$CLUSTER" stop --wipe
bash "$CLUSTER" start >/dev/null || vs_fail "etcd cluster did not start"
EPS=$(bash "$CLUSTER" endpoints)
etcdput() { ETCDCTL_API=3 etcdctl --endpoints "$EPS" put "$PFX/$1" "$2" >/dev/null; }
etcddel() { ETCDCTL_API=3 etcdctl --endpoints "$EPS" del "$PFX/$1" >/dev/null; }
vs_pass "3-member etcd cluster on 127.0.0.1 ($EPS)"

vs_underlay "ul$S" "br$S" 1600 "vA$S:uA$S" "vB$S:uB$S" "vC$S:uC$S"

write_config() { # host ip
	vs_switch_yaml "$VS_TMP/$1.yaml" "$1" "$2" "v${1^^}$S" 1000
	cat >> "$VS_TMP/$1.yaml" <<EOF
policy:
  notify_interval_ms: 200
policy_service:
  backend: etcd
  etcd:
    endpoints: [${EPS//,/, }]
    prefix: $PFX
    lease_ttl: 3
    timeout_ms: 1000
tenants:
  - name: acme
virtual_networks:
  - name: blue
    vni: 100
    tenant: acme
    subnets: [{prefix: 10.0.0.0/24, gateway: 10.0.0.254}]
  - name: green
    vni: 200
    tenant: acme
    subnets: [{prefix: 10.1.0.0/24, gateway: 10.1.0.254}]
vhost_ports:
EOF
}
vhost() {
	cat >> "$VS_TMP/$1.yaml" <<EOF
  - name: $2
    socket: $VS_TMP/vm/$2.sock
    mode: server
    queues: 1
EOF
}
ep() { # host name mac ip vnet port
	cat >> "$VS_TMP/$1.yaml" <<EOF
  - name: $2
    mac: "$3"
    ips: [$4]
    vnet: $5
    port: $6
EOF
}
XMAC=02:00:00:00:00:09
mkdir -p "$VS_TMP/vm"
write_config a 198.51.100.1; vhost a a1
write_config b 198.51.100.2; vhost b b1; vhost b b2; vhost b xb
write_config c 198.51.100.3; vhost c xc
echo "endpoints:" >> "$VS_TMP/a.yaml"; ep a a1 02:00:00:00:0a:01 10.0.0.1 blue a1
echo "endpoints:" >> "$VS_TMP/b.yaml"; ep b b1 02:00:00:00:0b:01 10.0.0.2 blue b1
ep b b2 02:00:00:00:0b:02 10.1.0.2 green b2; ep b x "$XMAC" 10.0.0.9 blue xb

# Policies live in etcd only (the switches' files have none).
etcdput policies/a1-not-b1 '{"from":{"vm":"a1"},"to":{"vm":"b1"},"action":"deny"}'
etcdput policies/blue-green '{"from":{"vnet":"blue"},"to":{"vnet":"green"},"action":"allow","tenant":"acme"}'
etcdput policies/green-blue '{"from":{"vnet":"green"},"to":{"vnet":"blue"},"action":"allow","tenant":"acme"}'

for h in a b c; do "$SW" -c "$VS_TMP/$h.yaml" --check >/dev/null; done
for h in a b c; do vs_bg "sw${h^^}" "$SW" -c "$VS_TMP/$h.yaml"; done
for h in A B C; do vs_wait_log "sw$h" "running" 60; done
ctl() { local h=$1; shift; "$CTL" -s "$VS_TMP/$h.sock" "$@"; }
drops() { ctl "$1" --json stats drops | jq -r --arg r "$2" '.drops[] | select(.reason==$r) | .count'; }
status() { ctl "$1" --json policy-service status; }
notif() { status "$1" | jq -r --arg k "$2" '.notifications[$k] // 0'; }
has_ep() { # host vm tep
	ctl "$1" --json endpoint list | jq -e --arg n "$2" --arg t "$3" \
		'.endpoints[] | select(.name==$n and .location==("tep " + $t))' >/dev/null
}
wait_ep() { # host vm tep timeout
	local end=$((SECONDS + $4))
	until has_ep "$1" "$2" "$3"; do
		[ $SECONDS -lt "$end" ] || { ctl "$1" endpoint list; ctl "$1" policy-service status; vs_fail "host $1 never saw $2 at $3"; }
		sleep 0.2
	done
}
wait_ep a b1 198.51.100.2 30
wait_ep a x 198.51.100.2 30
wait_ep c a1 198.51.100.1 30
[ "$(status a | jq -r .backend)" = etcd ] || vs_fail "A does not report the etcd backend"
vs_pass "each switch publishes its endpoints in etcd and learns the others' (A sees b1, x; C sees a1)"

vs_vm_bridge vma "$VS_TMP/vm" a1
vs_vm_bridge vmb "$VS_TMP/vm" b1 b2 xb
vs_vm_bridge vmc "$VS_TMP/vm" xc
attach() { # vm ip/len mac gateway
	vs_netns "n$1$S"
	vs_vm_attach "$1" "n$1$S" "$2" "$3"
	ip -n "n$1$S" route add default via "$4"
}
attach a1 10.0.0.1/24 02:00:00:00:0a:01 10.0.0.254
attach b1 10.0.0.2/24 02:00:00:00:0b:01 10.0.0.254
attach b2 10.1.0.2/24 02:00:00:00:0b:02 10.1.0.254
attach xb 10.0.0.9/24 "$XMAC" 10.0.0.254
attach xc 10.0.0.9/24 "$XMAC" 10.0.0.254   # the same VM once it has moved to C
for vm in a1 b1 b2 xb xc; do vs_vm_wait_up "$vm" 30; done
for h in a b c; do
	vs_wait_cmd 20 bash -c "'$CTL' -s '$VS_TMP/$h.sock' --json show | jq -e '[.tunnels[] | select(.resolved)] | length >= 1' >/dev/null"
done
ping_ok() { ip netns exec "n$1$S" ping -c "${3:-3}" -i 0.2 -W 2 "$2" >/dev/null; }
seqs() { sed -n 's/.*bytes from.*icmp_seq=\([0-9]*\).*/\1/p' "$1"; }   # replied sequence numbers

# --- policies from etcd ---------------------------------------------------------
ping_ok a1 10.0.0.9 || { ctl a policy table; vs_fail "a1 cannot ping x on B (allowed)"; }
d0=$(drops a policy_deny)
if ping_ok a1 10.0.0.2 2; then vs_fail "a1 reached b1 although a1-not-b1 (in etcd) denies it"; fi
d1=$(drops a policy_deny)
[ "$d1" -ge $((d0 + 2)) ] || vs_fail "policy_deny on A moved $d0 -> $d1"
ping_ok a1 10.1.0.2 || { ctl a policy table; vs_fail "a1 (blue) cannot reach b2 (green) on B: routing + blue-green policy"; }
rev=$(ctl a --json policy table | jq -r '.decisions[] | select(.from_vm=="a1" and .to_vm=="b1") | .revision')
[ -n "$rev" ] && [ "$rev" -gt 0 ] || vs_fail "A's decision a1 -> b1 does not carry the policy's etcd revision ('$rev')"
vs_pass "policies from etcd: a1 -> x allowed, a1 -> b1 denied (policy_deny +$((d1 - d0)), revision $rev), a1 -> b2 routed"

# --- VM move with A's watch cut: B's notification makes A refetch ----------------
ctl a debug policy-service-watch stop >/dev/null
moved0=$(notif b sent); acted0=$(notif a acted)
ip netns exec "na1$S" ping -D -i 0.1 -c 80 -W 1 10.0.0.9 > "$VS_TMP/move.ping" 2>&1 &
pingpid=$!
sleep 2
ctl b endpoint del x >/dev/null
sleep 1   # the VM is in flight: on neither host for a second
t_move=$(date +%s.%N)
ctl c endpoint add x "$XMAC" blue port=xc ips=10.0.0.9 >/dev/null
wait "$pingpid" || true
# a reply after the move comes from C (x on B is gone)
wait_ep a x 198.51.100.3 10
rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$VS_TMP/move.ping")
lost=$((80 - rx))
# converged: the first reply after the last lost one (or after the move when none was lost)
gap=$(seqs "$VS_TMP/move.ping" | awk 'NR > 1 && $1 != prev + 1 { g = $1 } { prev = $1 } END { print g + 0 }')
first_after=$(awk -v t="$t_move" -v g="$gap" '/bytes from/ { gsub(/[\[\]]/, "", $1); split($6, a, "=");
	if ($1 > t && a[2] >= g) { print $1; exit } }' "$VS_TMP/move.ping")
[ -n "$first_after" ] || vs_fail "no reply after the move: $(tail -3 "$VS_TMP/move.ping")"
conv=$(awk -v a="$first_after" -v b="$t_move" 'BEGIN { printf "%.2f", a - b }')
last20=$(seqs "$VS_TMP/move.ping" | awk '$1 > 60 { n++ } END { print n + 0 }')
[ "$last20" = 20 ] ||
	vs_fail "pings did not converge after the move: $(tail -5 "$VS_TMP/move.ping")"
[ "$(notif b sent)" -gt "$moved0" ] || vs_fail "B sent no notification for x"
[ "$(notif a acted)" -gt "$acted0" ] || vs_fail "A did not act on B's notification"
[ "$(status a | jq -r '.etcd.watching')" = false ] || vs_fail "A's watch should still be cut"
vs_log "VM move: $lost of 80 pings lost (0.1 s apart; x was on no host for 1 s), replies steady again ${conv}s after x appeared on C"
vs_pass "VM move B -> C with A's watch cut: B notified A, A refetched, pings reach C ($lost lost, converged in ${conv}s)"

# --- deprecated policy with A's watch still cut -----------------------------------
st0=$(notif c sent); d0=$(drops a policy_deny)
etcdput policies/a1-not-x '{"from":{"vm":"a1"},"to":{"vm":"x"},"action":"deny"}'
ip netns exec "na1$S" ping -i 0.1 -c 50 -W 1 10.0.0.9 > "$VS_TMP/stale.ping" 2>&1 || true
[ "$(notif c sent)" -gt "$st0" ] || vs_fail "C sent no stale-policy notification"
late=$(seqs "$VS_TMP/stale.ping" | awk '$1 > 30 { n++ } END { print n + 0 }')
[ "$late" = 0 ] || vs_fail "a1 still reaches x 3 s after the policy changed: $(tail -3 "$VS_TMP/stale.ping")"
[ "$(drops a policy_deny)" -gt "$d0" ] || vs_fail "A does not drop under the new policy"
ctl a --json policy table | jq -e '.decisions[] | select(.from_vm=="a1" and .to_vm=="x" and .policy=="a1-not-x")' >/dev/null ||
	vs_fail "A's table does not show a1-not-x for a1 -> x"
vs_pass "deprecated policy: C's notification made A refetch; a1-not-x applies without A's watch"
etcddel policies/a1-not-x
etcdput meta/policy-revision '{"deleted":"a1-not-x"}'
ctl a debug policy-service-watch start >/dev/null
vs_wait_cmd 10 ip netns exec "na1$S" ping -c 1 -W 1 10.0.0.9
vs_pass "the watch resumed: the deletion arrived and a1 reaches x again"

# --- forged notifications -------------------------------------------------------
amac=$(cat "/sys/class/net/vA$S/address")
forge() { # src_ip type vni mac
	ip netns exec "ul$S" /usr/bin/python3 - "br$S" "$amac" "$1" "$2" "$3" "$4" <<'PY'
import socket, struct, sys
from scapy.all import Ether, IP, UDP, Raw, sendp
ifc, dmac, src, typ, vni, mac = sys.argv[1:]
m = bytes(int(b, 16) for b in mac.split(':'))
payload = b'DVSN' + struct.pack('!BBH', 1, int(typ), 32) + socket.inet_aton(src) + \
          struct.pack('!I', int(vni)) + m + b'\0\0' + struct.pack('!Q', 0)
sendp(Ether(dst=dmac, src='02:00:00:ba:d0:01') / IP(src=src, dst='198.51.100.1') /
      UDP(sport=4799, dport=4799) / Raw(payload), iface=ifc, verbose=False)
PY
}
ig0=$(notif a ignored); up0=$(notif a unknown_peer); ac0=$(notif a acted)
forge 198.51.100.2 1 100 "$XMAC"     # B claims x moved: A knows x is on C
forge 198.51.100.77 1 100 "$XMAC"    # no such tunnel endpoint
sleep 0.5
forge 198.51.100.3 1 100 "$XMAC"     # "from C": a refetch, which finds x on C again
sleep 1
[ "$(notif a ignored)" -gt "$ig0" ] || vs_fail "a notification about an endpoint A locates elsewhere was not ignored"
[ "$(notif a unknown_peer)" -gt "$up0" ] || vs_fail "a notification from an unknown peer was not counted"
[ "$(notif a acted)" -gt "$ac0" ] || vs_fail "a plausible notification did not cause a refetch"
has_ep a x 198.51.100.3 || vs_fail "a forged notification changed where A locates x"
ping_ok a1 10.0.0.9 || vs_fail "a1 lost x after forged notifications"
vs_pass "forged notifications: ignored, counted, or a harmless refetch; x stays on C"

# --- etcd failures ------------------------------------------------------------------
bash "$CLUSTER" kill 1 >/dev/null
sleep 3
ping_ok a1 10.1.0.2 || vs_fail "forwarding broken with one etcd member down"
[ "$(status a | jq -r .health)" = ok ] || vs_fail "one member down out of three should not degrade A: $(status a | jq -c .etcd)"
etcdput policies/probe1 '{"from":{"vm":"nobody"},"to":"any","action":"deny"}' || vs_fail "etcd lost with one member down"
vs_pass "one etcd member down: nothing visible changes"
bash "$CLUSTER" kill 2 >/dev/null
end=$((SECONDS + 20))
until [ "$(status a | jq -r .health)" = degraded ]; do
	[ $SECONDS -lt $end ] || vs_fail "A never reported degraded with 2 of 3 members down: $(status a | jq -c .etcd)"
	sleep 0.5
done
ping_ok a1 10.1.0.2 5 || vs_fail "forwarding stopped when etcd lost quorum"
ping_ok a1 10.0.0.9 || vs_fail "forwarding to x stopped when etcd lost quorum"
vs_pass "quorum lost: A reports degraded and keeps forwarding on its cache"
bash "$CLUSTER" restart 1 >/dev/null
bash "$CLUSTER" restart 2 >/dev/null
end=$((SECONDS + 40))
until [ "$(status a | jq -r .health)" = ok ]; do
	[ $SECONDS -lt $end ] || vs_fail "A did not recover after quorum returned: $(status a | jq -c .etcd)"
	sleep 0.5
done
etcdput policies/probe2 '{"from":{"vm":"nobody"},"to":"any","action":"deny"}'
vs_wait_cmd 15 bash -c "'$CTL' -s '$VS_TMP/a.sock' --json policy list | jq -e '.policies[] | select(.name==\"probe2\")' >/dev/null"
vs_pass "quorum back: A recovers by itself and sees new policies"

# --- a dead host's endpoints expire ---------------------------------------------------
kill -9 "$(vs_pid swB)"
end=$((SECONDS + 15))
while has_ep a b1 198.51.100.2 || has_ep c b2 198.51.100.2; do
	[ $SECONDS -lt $end ] || vs_fail "B's endpoints did not expire from A and C after B died"
	sleep 0.5
done
vs_pass "switch B killed: its endpoints expired from A and C (lease TTL 3 s)"

echo "policy_etcd: all checks passed"
