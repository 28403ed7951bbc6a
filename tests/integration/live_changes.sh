#!/usr/bin/env bash
# Live changes lose no traffic: two switches (hosts A and B) on one underlay
# bridge; VM x1 on A and VM y1 on B ping each other (50/s each way, 20 s)
# while both switches are changed through vswitchctl:
#   - port add / port del of vhost-user ports (server mode),
#   - endpoint add / del of other VMs (local on one host, remote on the other),
#   - endpoint move of VM z1 on A between its local port and tep=B and back,
#   - vnet add / del of a spare network (with an endpoint in it),
#   - config reload of the unchanged YAML file (which must change nothing),
# at least 50 changes during the pings.  Then:
#   - no ping is lost (both directions), every change command succeeded, and
#     `vswitchctl show` lists exactly what the last change left (a model of
#     every change is kept and compared);
#   - a hot-added port works: port add + endpoint add on A, a new VM attached
#     to it pings y1 across the underlay; endpoint del + port del, and the
#     x1 <-> y1 traffic that ran meanwhile lost nothing;
#   - a moved VM moves: z1 (local on A, reachable from x1 and y1) is stopped
#     and started again on a new port of switch B; `endpoint move` on B
#     (port=) and on A (tep=B) and x1 and y1 reach it again.
# Both switches have one worker, on CPU 1; their control threads are on CPU 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init live_changes

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
IPA=198.51.100.1
IPB=198.51.100.2

# --- underlay: a bridge in namespace ul, one veth per host -------------------
vs_underlay "ul$S" "br$S" 1600 "vA$S:uA$S" "vB$S:uB$S"

# --- configurations ---------------------------------------------------------
write_config() { # host ip ifname
	local host=$1 ip=$2 ifname=$3
	cat > "$VS_TMP/$host.yaml" <<EOF
eal:
  lcores: "0@0,1@1"
  main_lcore: 0
  memory_mb: 256
  file_prefix: vs-$host-$S
  in_memory: true
  args: [--no-pci, "--log-level=*:notice"]
workers:
  lcores: [1]
  idle_sleep_max_us: 200
  mbufs: 8192
control:
  socket: $VS_TMP/$host.sock
  state_dir: $VS_TMP/$host.state
physical_ports:
  - name: underlay0
    devargs: net_af_packet_$host$S,iface=$ifname
    rx_queues: 1
    ip: $ip/24
    mtu: 1550
vhost_ports:
EOF
}
vhost() { # host port
	cat >> "$VS_TMP/$1.yaml" <<EOF
  - name: $2
    socket: $VS_TMP/vm/$2.sock
    mode: server
    queues: 1
    vm: $2
EOF
}
nets() {
	cat >> "$VS_TMP/$1.yaml" <<EOF
virtual_networks:
  - name: blue
    vni: 100
    subnets: [10.0.0.0/24]
endpoints:
EOF
}
ep() { # host name mac ip (port NAME | tep IP)
	cat >> "$VS_TMP/$1.yaml" <<EOF
  - name: $2
    mac: "$3"
    ips: [$4]
    vnet: blue
    $5: $6
EOF
}
MX=02:00:00:00:0a:01 MY=02:00:00:00:0b:01 MZ=02:00:00:00:0a:03 MH=02:00:00:00:0a:21
mkdir -p "$VS_TMP/vm" "$VS_TMP/vmb" "$VS_TMP/churn"
write_config a $IPA "vA$S"
vhost a x1; vhost a z1
nets a
ep a x1 $MX 10.0.0.1 port x1
ep a z1 $MZ 10.0.0.3 port z1
ep a y1 $MY 10.0.0.2 tep $IPB
write_config b $IPB "vB$S"
vhost b y1
nets b
ep b y1 $MY 10.0.0.2 port y1
ep b x1 $MX 10.0.0.1 tep $IPA
ep b z1 $MZ 10.0.0.3 tep $IPA
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
vs_pass "switches A and B resolved each other's tunnel endpoint"

vs_vm_bridge vms "$VS_TMP/vm" x1 y1
vs_vm_bridge vmz "$VS_TMP/vm" z1
for vm in x1 y1 z1; do vs_netns "n$vm$S"; done
vs_vm_attach x1 "nx1$S" 10.0.0.1/24 $MX
vs_vm_attach y1 "ny1$S" 10.0.0.2/24 $MY
vs_vm_attach z1 "nz1$S" 10.0.0.3/24 $MZ
for vm in x1 y1 z1; do vs_vm_wait_up "$vm"; done

# pings NS DST COUNT WHAT: COUNT pings, all answered
pings() {
	local out
	if ! out=$(ip netns exec "$1" ping -c "$3" -i 0.2 -W 2 "$2" 2>&1) ||
		! grep -q " $3 received" <<<"$out"; then
		printf '%s\n' "$out" >&2
		vs_fail "$4: ping $2 from $1 lost packets"
	fi
}
pings "nx1$S" 10.0.0.2 3 "x1 -> y1"
pings "ny1$S" 10.0.0.1 3 "y1 -> x1"
pings "ny1$S" 10.0.0.3 3 "y1 -> z1 (z1 local on A)"
pings "nx1$S" 10.0.0.3 3 "x1 -> z1 (same host)"
vs_pass "x1, y1 and z1 reach each other"

# --- a model of what each switch should show --------------------------------
# M["h|P|name"]=name, M["h|N|name"]="name vni", M["h|E|name"]="name vni mac location"
declare -A M=()
model_yaml() {
	local k
	for k in "${!M[@]}"; do unset "M[$k]"; done
	M[a|P|x1]=x1; M[a|P|z1]=z1
	M[a|N|blue]="blue 100"; M[b|N|blue]="blue 100"
	M[a|E|x1]="x1 100 $MX port x1"
	M[a|E|z1]="z1 100 $MZ port z1"
	M[a|E|y1]="y1 100 $MY tep $IPB"
	M[b|P|y1]=y1
	M[b|E|y1]="y1 100 $MY port y1"
	M[b|E|x1]="x1 100 $MX tep $IPA"
	M[b|E|z1]="z1 100 $MZ tep $IPA"
}
model_show() { # host: sorted "P ..", "N ..", "E .." lines
	local k k2
	for k in "${!M[@]}"; do
		[[ $k == "$1|"* ]] || continue
		k2=${k#*|}
		printf '%s %s\n' "${k2%%|*}" "${M[$k]}"
	done | LC_ALL=C sort
}
actual_show() { # host
	ctl "$1" --json show | jq -r '
		(.ports[] | select(.type == "vhost-user") | "P \(.name)"),
		(.networks[] | "N \(.name) \(.vni)"),
		(.endpoints[] | "E \(.name) \(.vni) \(.mac | ascii_downcase) \(.location)")' |
		LC_ALL=C sort
}
check_model() { # what
	local h
	for h in a b; do
		if ! diff -u <(model_show $h) <(actual_show $h) > "$VS_TMP/model-$h.diff"; then
			cat "$VS_TMP/model-$h.diff" >&2
			vs_fail "$1: switch ${h^^} does not show what the changes left (- expected, + shown)"
		fi
	done
}
model_yaml
check_model "at start"

# --- changes while x1 and y1 ping each other --------------------------------
NPING=1000
vs_bg pingxy ip netns exec "nx1$S" ping -i 0.02 -c $NPING -W 2 10.0.0.2
vs_bg pingyx ip netns exec "ny1$S" ping -i 0.02 -c $NPING -W 2 10.0.0.1

pinging() {
	vs_running pingxy && ! grep -q 'packets transmitted' < <(vs_log_since pingxy)
}
# ping_ok NAME COUNT WHAT: its summary says COUNT transmitted, COUNT received
ping_ok() {
	local name=$1 n=$2 sum
	while vs_running "$name"; do sleep 0.1; done
	vs_stop "$name"
	sum=$(vs_log_since "$name" | grep -E 'packets transmitted' || true)
	[[ $sum == "$n packets transmitted, $n received,"* ]] ||
		{ vs_log_since "$name" | tail -n 5 >&2; vs_fail "$3: lost pings: '$sum'"; }
	vs_pass "$3: $sum"
}

NCHG=0 NDURING=0 FAILED=''
# chg HOST CMD...: one change; a failure is recorded and stops the loop
chg() {
	local h=$1 out
	shift
	if ! out=$(ctl "$h" "$@" 2>&1); then
		FAILED="switch ${h^^}: vswitchctl $* -> $out"
		return 1
	fi
	NCHG=$((NCHG + 1))
	if pinging; then NDURING=$((NDURING + 1)); fi
	return 0
}
# reload HOST: config reload of the unchanged file, which changes nothing here
reload() {
	local out
	if ! out=$(ctl "$1" --json config reload 2>&1); then
		FAILED="switch ${1^^}: vswitchctl config reload -> $out"
		return 1
	fi
	NCHG=$((NCHG + 1))
	if pinging; then NDURING=$((NDURING + 1)); fi
	if ! jq -e '[.changes[][]] | all(. == 0)' <<<"$out" >/dev/null; then
		FAILED="switch ${1^^}: config reload of the unchanged file at the YAML state changed something: $out"
		return 1
	fi
}
mac_of() { printf '02:00:00:%02x:%02x:%02x' "$1" $(($2 / 256)) $(($2 % 256)); }

STEPS=()
gen_steps() { # iteration
	local i=$1 ma mb ms ia ib
	ma=$(mac_of 1 "$i") mb=$(mac_of 2 "$i") ms=$(mac_of 3 "$i")
	ia=10.0.0.$((100 + i % 50)) ib=10.0.0.$((150 + i % 50))
	STEPS+=(
	"chg a port add pa$i $VS_TMP/churn/pa$i.sock mode=server && M[a|P|pa$i]=pa$i"
	"chg a endpoint add wa$i $ma blue port=pa$i ips=$ia && M[a|E|wa$i]='wa$i 100 $ma port pa$i'"
	"chg b endpoint add wa$i $ma blue tep=$IPA ips=$ia && M[b|E|wa$i]='wa$i 100 $ma tep $IPA'"
	"chg b port add pb$i $VS_TMP/churn/pb$i.sock mode=server queues=1 vm=vb$i && M[b|P|pb$i]=pb$i"
	"chg b endpoint add wb$i $mb blue port=pb$i ips=$ib && M[b|E|wb$i]='wb$i 100 $mb port pb$i'"
	"chg a endpoint add wb$i $mb blue tep=$IPB ips=$ib && M[a|E|wb$i]='wb$i 100 $mb tep $IPB'"
	"chg a endpoint move z1 tep=$IPB && M[a|E|z1]='z1 100 $MZ tep $IPB'"
	"chg a vnet add spare 4000 subnets=10.9.0.0/24 && M[a|N|spare]='spare 4000'"
	"chg b vnet add spare 4000 subnets=10.9.0.0/24 flood=true && M[b|N|spare]='spare 4000'"
	"chg a endpoint add sp$i $ms spare tep=$IPB ips=10.9.0.$((1 + i % 200)) && M[a|E|sp$i]='sp$i 4000 $ms tep $IPB'"
	"chg a endpoint move wa$i tep=$IPB && M[a|E|wa$i]='wa$i 100 $ma tep $IPB'"
	"chg a endpoint move z1 port=z1 && M[a|E|z1]='z1 100 $MZ port z1'"
	"chg a endpoint del sp$i && unset 'M[a|E|sp$i]'"
	"chg a vnet del spare && unset 'M[a|N|spare]'"
	"chg b vnet del spare && unset 'M[b|N|spare]'"
	"chg a endpoint del wa$i && unset 'M[a|E|wa$i]'"
	"chg a port del pa$i && unset 'M[a|P|pa$i]'"
	"chg b endpoint del wa$i && unset 'M[b|E|wa$i]'"
	"chg b endpoint del wb$i && unset 'M[b|E|wb$i]'"
	"chg b port del pb$i && unset 'M[b|P|pb$i]'"
	"chg a endpoint del wb$i && unset 'M[a|E|wb$i]'"
	"reload a"
	"reload b"
	)
}

t0=$SECONDS
iter=0 k=0 last=''
while pinging && [ -z "$FAILED" ]; do
	if [ "$k" -ge "${#STEPS[@]}" ]; then
		iter=$((iter + 1))
		gen_steps "$iter"
	fi
	last=${STEPS[$k]}
	eval "$last" || break
	k=$((k + 1))
	sleep 0.02
done
vs_log "$NCHG changes ($NDURING while x1 and y1 were pinging) in $((SECONDS - t0)) s, $iter iterations; last: ${last%% && *}"
ping_ok pingxy $NPING "x1 -> y1 during $NDURING live changes"
ping_ok pingyx $NPING "y1 -> x1 during $NDURING live changes"
[ -z "$FAILED" ] || vs_fail "a change command failed: $FAILED"
vs_pass "all $NCHG change commands succeeded"
[ "$NDURING" -ge 50 ] || vs_fail "only $NDURING changes while the pings ran (want >= 50)"
check_model "after $NCHG changes (the last: ${last%% && *})"
ctl a show > "$VS_TMP/show-a.txt"
ctl b show > "$VS_TMP/show-b.txt"
vs_pass "vswitchctl show on A and B lists exactly what the last change left"

# back to the YAML: the CLI's leftovers go
ctl a --json config reload > /dev/null || vs_fail "config reload on A failed"
ctl b --json config reload > /dev/null || vs_fail "config reload on B failed"
model_yaml
check_model "after config reload"
pings "ny1$S" 10.0.0.3 2 "y1 -> z1 after the changes"
vs_pass "config reload brought back the YAML's objects on both switches"

# --- a hot-added port works ------------------------------------------------
vs_bg pingxy ip netns exec "nx1$S" ping -i 0.02 -c $NPING -W 2 10.0.0.2
vs_bg pingyx ip netns exec "ny1$S" ping -i 0.02 -c $NPING -W 2 10.0.0.1
ctl a port add h1 "$VS_TMP/vm/h1.sock" mode=server > /dev/null || vs_fail "port add h1 on A failed"
ctl a endpoint add h1 $MH blue port=h1 ips=10.0.0.21 > /dev/null || vs_fail "endpoint add h1 on A failed"
ctl b endpoint add h1 $MH blue tep=$IPA ips=10.0.0.21 > /dev/null || vs_fail "endpoint add h1 on B failed"
vs_vm_bridge vmh "$VS_TMP/vm" h1
vs_netns "nh1$S"
vs_vm_attach h1 "nh1$S" 10.0.0.21/24 $MH
vs_vm_wait_up h1
pings "nh1$S" 10.0.0.2 5 "h1 (hot-added port on A) -> y1 (on B)"
pings "ny1$S" 10.0.0.21 3 "y1 -> h1"
ctl a --json show | jq -e '.ports[] | select(.name == "h1" and .link == "up" and .vm == "h1")' > /dev/null ||
	{ ctl a show >&2; vs_fail "show on A does not list port h1 up with endpoint h1"; }
vs_pass "a VM on a hot-added port pings y1 across the underlay"
pinging || vs_fail "the background pings ended before the hot-added port was removed; raise NPING"
ctl a endpoint del h1 > /dev/null || vs_fail "endpoint del h1 on A failed"
ctl a port del h1 > /dev/null || vs_fail "port del h1 on A failed"
ctl b endpoint del h1 > /dev/null || vs_fail "endpoint del h1 on B failed"
if ip netns exec "nh1$S" ping -c 2 -i 0.2 -W 1 10.0.0.2 > /dev/null 2>&1; then
	vs_fail "h1 still reaches y1 after endpoint del + port del"
fi
vs_stop vmh
check_model "after the hot-added port went"
ping_ok pingxy $NPING "x1 -> y1 while a port was hot-added, used and removed"
ping_ok pingyx $NPING "y1 -> x1 while a port was hot-added, used and removed"

# --- a moved VM moves ------------------------------------------------------
pings "ny1$S" 10.0.0.3 3 "y1 -> z1 (z1 local on A)"
vs_stop vmz
ctl b port add z1 "$VS_TMP/vmb/z1.sock" mode=server > /dev/null || vs_fail "port add z1 on B failed"
vs_vm_bridge vmz2 "$VS_TMP/vmb" z1
vs_vm_attach z1 "nz1$S" 10.0.0.3/24 $MZ
vs_vm_wait_up z1
ctl b endpoint move z1 port=z1 > /dev/null || vs_fail "endpoint move z1 port=z1 on B failed"
ctl a endpoint move z1 tep=$IPB > /dev/null || vs_fail "endpoint move z1 tep=$IPB on A failed"
M[b|P|z1]=z1
M[b|E|z1]="z1 100 $MZ port z1"
M[a|E|z1]="z1 100 $MZ tep $IPB"
check_model "after z1 moved to B"
pings "ny1$S" 10.0.0.3 3 "y1 -> z1 (z1 now local on B)"
before=$(ctl a --json stats ports | jq '.ports[] | select(.name == "underlay0") | .tx_packets')
pings "nx1$S" 10.0.0.3 3 "x1 -> z1 (z1 now behind B's tunnel endpoint)"
after=$(ctl a --json stats ports | jq '.ports[] | select(.name == "underlay0") | .tx_packets')
[ $((after - before)) -ge 3 ] || vs_fail "x1 -> z1 did not cross the underlay ($before -> $after)"
pings "nz1$S" 10.0.0.1 3 "z1 -> x1"
vs_pass "z1 moved from A to B: y1 reaches it locally, x1 through the tunnel"

# --- the switches are still healthy -----------------------------------------
vs_running swA || vs_fail "switch A died"
vs_running swB || vs_fail "switch B died"
vs_stop swA
[ "$VS_LAST_RC" = 0 ] || vs_fail "switch A exited with $VS_LAST_RC"
vs_stop swB
[ "$VS_LAST_RC" = 0 ] || vs_fail "switch B exited with $VS_LAST_RC"
echo "live_changes: all checks passed"
