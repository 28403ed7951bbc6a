#!/usr/bin/env bash
# Every vswitchctl command against a real dpdk-vswitch, in both output modes
# (human tables and --json), and the errors operators run into:
#   - client side: options, exit codes 0/1/2, -s and VSWITCHCTL_SOCKET;
#   - help lists every command, version, show;
#   - port list/show/add/del, vnet list/show/add/del,
#     endpoint list (vnet= filter)/show/add/del/move (port= and tep=);
#   - stats, stats ports|workers|drops, stats --clear (counters restart from 0);
#   - config check FILE (valid: the changes; broken: file:line:col),
#     config reload (a change appears; a restart-only change is refused);
#   - log level (one module, all, a DPDK log type);
#   - trace, when the daemon has it;
#   - the policy model (docs/policy.md): tenant and group list/add/del,
#     vnet add tenant= gateways=, endpoint add groups=, policy
#     list/show/add (allow, deny, chain, priority, tenant; replace)/del,
#     policy table (a1 -> a2 with its policy; a deny takes effect at once),
#     policy-service status, debug policy-service-watch (refused: not etcd);
#   - network services (docs/services.md): service register/list/show/
#     configure/enable/disable/unregister, pool add/list/del, profile create
#     (FILE and NAME service=..)/list/show/delete, catalog list/show, a
#     network service (port pair) and an external one (ip, vni) with chain
#     create/list/show/delete, lb show (config/services/load-balancer.yaml),
#     their refusals (catalog unchanged), and the catalog back to its start;
#   - unknown commands, wrong argument counts and bad values: exit 1, a
#     clear message, and `show --json` unchanged.
# One switch: a physical port (net_af_packet on a veth into a namespace whose
# kernel owns the tunnel endpoints 198.51.100.2 and .3) and two VMs (vm-bridge)
# on server-mode vhost-user ports.  Live changes persist in $VS_TMP/state.
#
# VS_CLI_TRANSCRIPT=FILE appends every command run with its output and exit
# status to FILE (the examples in docs/cli.md come from there).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init cli_commands

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
SOCK=$VS_TMP/ctl.sock
CFG=$VS_TMP/sw.yaml
TRANSCRIPT=${VS_CLI_TRANSCRIPT:-}

# --- underlay: a veth into namespace ul, whose kernel is the remote host -----
vs_netns "ul$S"
vs_dpdk_veth "vC$S" "uC$S" "ul$S"
ip -n "ul$S" addr add 198.51.100.2/24 dev "uC$S"
ip -n "ul$S" addr add 198.51.100.3/24 dev "uC$S"

# --- configuration --------------------------------------------------------------
# write_config [IDLE_SLEEP_MAX_US] [EXTRA NETWORK YAML] [EXTRA ENDPOINT YAML]
write_config() {
	cat > "$CFG" <<EOF
eal:
  lcores: "0@0,1@1"
  main_lcore: 0
  memory_mb: 256
  file_prefix: vs-cli-$S
  in_memory: true
  args: [--no-pci, "--log-level=*:notice"]
workers:
  lcores: [1]
  idle_sleep_max_us: ${1:-200}
  mbufs: 8192
control:
  socket: $SOCK
  state_dir: $VS_TMP/state
physical_ports:
  - name: underlay0
    devargs: net_af_packet_c$S,iface=vC$S
    rx_queues: 1
    ip: 198.51.100.1/24
    mtu: 1550
vhost_ports:
  - name: a1
    socket: $VS_TMP/vm/a1.sock
    mode: server
    vm: vm-a1
  - name: a2
    socket: $VS_TMP/vm/a2.sock
    mode: server
    vm: vm-a2
virtual_networks:
  - name: blue
    vni: 100
    subnets: [10.0.0.0/24]
  - name: red
    vni: 200
    flood: true
${2:-}
endpoints:
  - name: a1
    mac: "02:00:00:00:0a:01"
    ips: [10.0.0.1]
    vnet: blue
    port: a1
  - name: a2
    mac: "02:00:00:00:0a:02"
    ips: [10.0.0.4]
    vnet: blue
    port: a2
  - name: b1
    mac: "02:00:00:00:0b:01"
    ips: [10.0.0.2]
    vnet: blue
    tep: 198.51.100.2
  - name: r1
    mac: "02:00:00:00:0b:02"
    ips: [10.0.0.2]
    vnet: red
    tep: 198.51.100.3
${3:-}
EOF
}
write_config
mkdir -p "$VS_TMP/vm"
"$SW" -c "$CFG" --check >/dev/null || vs_fail "the test configuration is invalid"

vs_bg sw "$SW" -c "$CFG"
vs_wait_log sw "running" 60
vs_vm_bridge vms "$VS_TMP/vm" a1 a2
vs_netns "na1$S"
vs_netns "na2$S"
vs_vm_attach a1 "na1$S" 10.0.0.1/24 02:00:00:00:0a:01
vs_vm_attach a2 "na2$S" 10.0.0.4/24 02:00:00:00:0a:02
vs_vm_wait_up a1
vs_vm_wait_up a2

# --- helpers ----------------------------------------------------------------------
# Checks of command output fail softly: the failure is printed, the test goes
# on, and it fails at the end (so one misbehaving command hides nothing else).
FAILS=0
MARK=0
soft() {
	printf 'FAIL: %s\n' "$*" >&2
	FAILS=$((FAILS + 1))
}
# pass MESSAGE: PASS when no check failed since the previous pass
pass() {
	if [ "$FAILS" = "$MARK" ]; then
		vs_pass "$*"
	else
		printf 'FAILED: %s (%d failed checks)\n' "$*" $((FAILS - MARK)) >&2
	fi
	MARK=$FAILS
}
record() { # record "ARGS" RC STDOUT STDERR
	[ -n "$TRANSCRIPT" ] || return 0
	{
		printf '$ vswitchctl %s\n' "$1"
		[ -z "$3" ] || printf '%s\n' "$3"
		[ -z "$4" ] || printf '%s\n' "$4"
		printf '[exit %s]\n\n' "$2"
	} >>"$TRANSCRIPT"
}
# run [--json] ARGS...: vswitchctl -s $SOCK ARGS; stdout in $OUT, stderr in $ERR, status in $RC
run() {
	local json=() shown
	if [ "${1:-}" = --json ]; then json=(--json); shift; fi
	RC=0
	OUT=$("$CTL" -s "$SOCK" "${json[@]}" "$@" 2>"$VS_TMP/stderr") || RC=$?
	ERR=$(cat "$VS_TMP/stderr")
	shown="${json[*]}${json:+ }$*"
	LAST="vswitchctl $shown"
	record "$shown" "$RC" "$OUT" "$ERR"
}
# human ARGS...: must succeed; output in $H
human() {
	run "$@"
	[ "$RC" = 0 ] || vs_fail "vswitchctl $*: exit $RC: $ERR"
	H=$OUT
	HLAST=$LAST
}
# json ARGS...: must succeed with valid JSON; output in $J
json() {
	run --json "$@"
	[ "$RC" = 0 ] || vs_fail "vswitchctl --json $*: exit $RC: $ERR"
	jq -e . >/dev/null <<<"$OUT" || vs_fail "vswitchctl --json $*: not JSON: $OUT"
	J=$OUT
}
# both ARGS...: the same read-only command in both modes
both() {
	human "$@"
	json "$@"
}
# hhas TEXT...: the last human output has a line matching each ERE
hhas() {
	local re
	for re in "$@"; do
		grep -qE -- "$re" <<<"$H" || { printf '%s\n' "$H" >&2; soft "human output of '$HLAST' lacks /$re/"; }
	done
}
# jhas FILTER...: each jq filter is true on the last JSON output
jhas() {
	local f
	for f in "$@"; do
		jq -e "$f" >/dev/null <<<"$J" || { printf '%s\n' "$J" >&2; soft "JSON output of '$LAST': '$f' is not true"; }
	done
}
# The configuration part of `show --json` (no counters, link states or ARP state).
snapshot() {
	"$CTL" -s "$SOCK" --json show | jq -S '{config, vxlan_port,
		ports: [.ports[] | del(.link)] | sort_by(.name),
		networks: (.networks | sort_by(.name)),
		endpoints: (.endpoints | sort_by(.name)),
		tunnels: ([.tunnels[] | {tep, port, endpoints}] | sort_by(.tep)),
		workers: [.workers[] | {worker, lcore, rx_queues}]}'
}
# refused RE ARGS...: exit 1 with a message matching RE on stderr, nothing
# printed on stdout, and `show --json` unchanged, in both output modes
refused() {
	local re=$1 before after mode full
	shift
	# RE is searched in the message after "vswitchctl: "; ^RE matches at its start
	if [ "${re:0:1}" = "^" ]; then full=${re:1}; else full=".*$re"; fi
	before=$(snapshot)
	for mode in "" --json; do
		run $mode "$@"
		if [ "$RC" != 1 ]; then
			soft "$LAST: exit $RC, expected 1 (stdout: $OUT, stderr: $ERR)"
		elif [ -n "$OUT" ]; then
			soft "$LAST: failed but printed '$OUT'"
		elif ! grep -qE -- "^vswitchctl: $full" <<<"$ERR"; then
			soft "$LAST: message '$ERR' does not match /$re/"
		fi
	done
	after=$(snapshot)
	if [ "$before" != "$after" ]; then
		diff <(echo "$before") <(echo "$after") >&2 || true
		soft "vswitchctl $* failed but changed the switch"
	fi
}
names() { jq -c "[$1[].name] | sort" <<<"$J"; }
ping_vms() { ip netns exec "na1$S" ping -c "${1:-3}" -i 0.2 -W 2 10.0.0.4 >/dev/null || vs_fail "a1 cannot ping a2"; }

# --- the client itself --------------------------------------------------------------
rc=0; "$CTL" >/dev/null 2>"$VS_TMP/e" || rc=$?
[ "$rc" = 2 ] && grep -q "^usage: vswitchctl \[OPTIONS\] COMMAND" "$VS_TMP/e" || vs_fail "vswitchctl without a command: exit $rc"
[ -z "$TRANSCRIPT" ] || printf '$ vswitchctl \n%s\n[exit %s]\n\n' "$(cat "$VS_TMP/e")" "$rc" >>"$TRANSCRIPT"
"$CTL" --help | grep -q -- "--socket PATH" || vs_fail "vswitchctl --help"
"$CTL" -h | grep -q "^exit status: 0 ok, 1 the command failed, 2 usage, connection or protocol error" || vs_fail "vswitchctl -h: no exit status line"
"$CTL" -V | grep -qE "^vswitchctl [^ ]+$" || vs_fail "vswitchctl -V"
rc=0; "$CTL" --frobnicate show 2>"$VS_TMP/e" || rc=$?
[ "$rc" = 2 ] || vs_fail "an unknown option: exit $rc, expected 2"
rc=0; "$CTL" -s "$SOCK" -t 0 show 2>"$VS_TMP/e" || rc=$?
[ "$rc" = 2 ] && grep -q "invalid timeout '0'" "$VS_TMP/e" || vs_fail "-t 0: exit $rc: $(cat "$VS_TMP/e")"
rc=0; "$CTL" -s "$VS_TMP/nothing.sock" show 2>"$VS_TMP/e" || rc=$?
record "-s $VS_TMP/nothing.sock show" "$rc" "" "$(cat "$VS_TMP/e")"
[ "$rc" = 2 ] && grep -q "cannot connect to $VS_TMP/nothing.sock: No such file or directory (is dpdk-vswitch running?)" "$VS_TMP/e" ||
	vs_fail "no daemon: exit $rc: $(cat "$VS_TMP/e")"
# a server that never answers, and one that answers garbage: exit 2
fake_server() { # NAME REPLY ("" = none)
	vs_bg "$1" /usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8); print("LISTENING", flush=True)
while True:
    c, _ = s.accept(); c.recv(65536); c.sendall(sys.argv[2].encode()); time.sleep(0.2) if sys.argv[2] else time.sleep(60)' "$VS_TMP/$1.sock" "$2"
	vs_wait_log "$1" "^LISTENING$" 10
}
fake_server mute ""
fake_server garbage $'this is not JSON\n'
t0=$SECONDS
rc=0; "$CTL" -s "$VS_TMP/mute.sock" -t 0.5 version 2>"$VS_TMP/e" || rc=$?
record "-s $VS_TMP/mute.sock -t 0.5 version" "$rc" "" "$(cat "$VS_TMP/e")"
[ "$rc" = 2 ] && grep -q "^vswitchctl: timed out waiting for the reply$" "$VS_TMP/e" && [ $((SECONDS - t0)) -le 3 ] ||
	vs_fail "-t 0.5 against a server that never answers: exit $rc after $((SECONDS - t0)) s: $(cat "$VS_TMP/e")"
rc=0; "$CTL" -s "$VS_TMP/garbage.sock" version 2>"$VS_TMP/e" || rc=$?
record "-s $VS_TMP/garbage.sock version" "$rc" "" "$(cat "$VS_TMP/e")"
[ "$rc" = 2 ] && grep -q "^vswitchctl: malformed reply: " "$VS_TMP/e" || vs_fail "a reply that is not JSON: exit $rc: $(cat "$VS_TMP/e")"
vs_stop mute
vs_stop garbage
VSWITCHCTL_SOCKET=$SOCK "$CTL" version >/dev/null || vs_fail "VSWITCHCTL_SOCKET is not used"
VSWITCHCTL_SOCKET=$VS_TMP/nothing.sock "$CTL" -s "$SOCK" version >/dev/null || vs_fail "-s does not override VSWITCHCTL_SOCKET"
rc=0; VSWITCHCTL_SOCKET=$VS_TMP/nothing.sock "$CTL" version 2>/dev/null || rc=$?
[ "$rc" = 2 ] || vs_fail "VSWITCHCTL_SOCKET pointing nowhere: exit $rc, expected 2"
pass "client: usage and unknown option exit 2, no daemon, a timeout or a bad reply exit 2, -s and VSWITCHCTL_SOCKET"

# --- help ----------------------------------------------------------------------------
expected='catalog/list catalog/show chain/create chain/delete chain/list chain/show config/check config/reload debug/policy-service-watch debug/stall-control
endpoint/add endpoint/del endpoint/list endpoint/move endpoint/show flow/list group/add group/del group/list help lb/show log/level
policy-service/status policy/add policy/del policy/list policy/show policy/table pool/add pool/del pool/list
port/add port/del port/list port/show profile/create profile/delete profile/list profile/show
service/configure service/disable service/enable service/list service/register service/show service/unregister
show stats tenant/add tenant/del tenant/list version vnet/add vnet/del vnet/list vnet/show'
both help
listed=$(jq -r '.commands[].name' <<<"$J")
have_trace=0
grep -qE '^trace(/|$)' <<<"$listed" && have_trace=1
want=$( (tr -s ' \n' '\n\n' <<<"$expected"; [ "$have_trace" = 0 ] || grep -E '^trace(/|$)' <<<"$listed") | sort)
[ "$(sort <<<"$listed")" = "$want" ] || vs_fail "help lists $(tr '\n' ' ' <<<"$listed"), expected $(tr '\n' ' ' <<<"$want")"
[ "$(jq -r '.commands[].name' <<<"$J")" = "$(jq -r '.commands[].name' <<<"$J" | LC_ALL=C sort)" ] || vs_fail "help is not sorted"
jhas 'all(.commands[]; (.help | length) > 0 and has("usage"))'
hhas '^usage: vswitchctl \[OPTIONS\] COMMAND \[ARGS\.\.\.\]$' '^commands:$'
while IFS=$'\t' read -r name usage; do
	line="  ${name/\//\ }${usage:+ $usage}"
	grep -qF -- "$line" <<<"$H" || vs_fail "human help lacks '$line'"
done < <(jq -r '.commands[] | [.name, .usage] | @tsv' <<<"$J")
pass "help lists all $(wc -l <<<"$listed") commands (trace: $have_trace), sorted, with usage and help"

# --- version ------------------------------------------------------------------------
both version
v=$(jq -r .version <<<"$J")
[ -n "$v" ] && [ "$v" != null ] || vs_fail "no version"
hhas "^version: $v\$"
[ "$("$CTL" -V)" = "vswitchctl $v" ] || vs_fail "vswitchctl -V says $("$CTL" -V), the daemon $v"
pass "version: $v"

# --- show ----------------------------------------------------------------------------
vs_wait_cmd 20 bash -c "'$CTL' -s '$SOCK' --json show | jq -e '[.tunnels[] | select(.resolved)] | length == 2' >/dev/null"
ping_vms 2
both show
jhas '.version != null' ".config == \"$CFG\"" '.vxlan_port == 4789' '.tsc_hz > 0' \
	'[.ports[].name] == ["underlay0", "a1", "a2"]' \
	'[.networks[].name] | sort == ["blue", "red"]' \
	'[.endpoints[].name] | sort == ["a1", "a2", "b1", "r1"]' \
	'[.tunnels[].tep] | sort == ["198.51.100.2", "198.51.100.3"]' \
	'all(.tunnels[]; .resolved and .next_hop_mac != "-")' \
	'.workers | length == 1 and .[0].lcore == 1' \
	'.ports[] | select(.name == "a1") | .type == "vhost-user" and .mode == "server" and .link == "up"'
hhas "^config: +$CFG\$" '^vxlan_port: +4789$' '^ports$' '^networks$' '^endpoints$' '^tunnels$' '^workers$' \
	'^  NAME +TYPE +LINK +MAC +RX_QUEUES +TX_QUEUES +ADDRESS' \
	'^  underlay0 +physical +up +' '^  a1 +vhost-user +up ' \
	'^  NAME +VNI +SUBNETS +FLOOD +LOCAL_PORTS +REMOTE_TEPS +TENANT +GATEWAYS$' '^  blue +100 +10\.0\.0\.0/24 +false ' \
	'^  NAME +VNI +MAC +IPS +LOCATION +REVISION +GROUPS$' '^  b1 +100 +02:00:00:00:0b:01 +10\.0\.0\.2 +tep 198\.51\.100\.2 ' \
	'^  +ID +TEP +PORT +NEXT_HOP +NEXT_HOP_MAC +RESOLVED +STATIC +ENDPOINTS$' '198\.51\.100\.3 +underlay0 +198\.51\.100\.3 +[0-9A-Fa-f:]{17} +true ' \
	'^  WORKER +LCORE +PACKETS +BUSY_CYCLES +CYCLES_PER_PACKET +IDLE_SLEEPS +PUNTED +ICMP_FRAG_NEEDED +ICMP_RATE_LIMITED +EMC_HITS +EMC_MISSES +RX_QUEUES$' \
	'^ +0 +1 +[0-9]+ .*underlay0:0'
pass "show: ports, networks, endpoints, tunnels (resolved), workers"

# --- ports ----------------------------------------------------------------------------
both port list
jhas '[.ports[].name] == ["underlay0", "a1", "a2"]' \
	'.ports[0] | .type == "physical" and .address == "198.51.100.1/24" and .mtu == 1550' \
	".ports[1] | .type == \"vhost-user\" and .address == \"$VS_TMP/vm/a1.sock\" and .mode == \"server\""
hhas '^ports$' '^  NAME +TYPE +LINK +MAC +RX_QUEUES +TX_QUEUES +ADDRESS' '^  a2 +vhost-user +up '
# the vhost-only columns are shown too, even though the first row is a physical port
hhas '^  NAME .* MTU +MODE +VM +GUEST_MTU +ENDPOINT' '^  a1 .* 1500 +server +vm-a1 +1500 +a1$'
both port/list   # module/verb spelt with a slash is the same command
jhas '[.ports[].name] == ["underlay0", "a1", "a2"]'

both port show a1
jhas '.name == "a1"' '.type == "vhost-user"' '.mode == "server"' '.link == "up"' \
	'.stats | .name == "a1" and (.rx_packets | type) == "number" and (.tx_bytes | type) == "number"'
hhas '^name: +a1$' '^type: +vhost-user$' '^mode: +server$' '^stats$' '^  rx_packets: +[0-9]+$'
both port show underlay0
jhas '.type == "physical"' '.address == "198.51.100.1/24"' '.mtu == 1550' '.rx_queues == 1' '.tx_queues == 1'

human port add p9 "$VS_TMP/vm/p9.sock" mode=server queues=1 vm=vm9
hhas '^port: +p9$' '^status: +applied$'
json port list
jhas ".ports[] | select(.name == \"p9\") | .mode == \"server\" and .address == \"$VS_TMP/vm/p9.sock\" and .link == \"down\""
json port show p9
jhas '.vm == "vm9"'   # the VM name given with vm=
[ -S "$VS_TMP/vm/p9.sock" ] || vs_fail "port add p9 mode=server: no socket $VS_TMP/vm/p9.sock"
# by its socket path: "p9" alone may be part of $VS_TMP's random name
[ -f "$VS_TMP/state/state.yaml" ] && grep -qF "$VS_TMP/vm/p9.sock" "$VS_TMP/state/state.yaml" || vs_fail "port add p9 was not saved to $VS_TMP/state/state.yaml"
human port del p9
hhas '^port: +p9$' '^status: +applied$'
json port list
jhas '[.ports[].name] == ["underlay0", "a1", "a2"]'
grep -qF "$VS_TMP/vm/p9.sock" "$VS_TMP/state/state.yaml" && vs_fail "port del p9 is not reflected in the state file"
json port add p8 "$VS_TMP/vm/p8.sock"
jhas '.port == "p8"' '.status == "applied"'
json port show p8
jhas '.mode == "client"' '.link == "down"'
json port del p8
jhas '.port == "p8"' '.status == "applied"'
json port list
jhas '[.ports[].name] == ["underlay0", "a1", "a2"]'
pass "port list/show/add/del (server and client mode), saved to the state file"

refused "no port 'nosuch'" port show nosuch
refused "duplicate port name 'a1'" port add a1 "$VS_TMP/vm/other.sock"
refused "socket: $VS_TMP/vm/a1.sock is already used by vhost port 'a1'" port add p7 "$VS_TMP/vm/a1.sock"
refused "is also the control socket" port add p7 "$SOCK"
refused "'relative/p7.sock' is not an absolute path" port add p7 relative/p7.sock
refused "invalid character ' ' in 'bad name!'" port add "bad name!" "$VS_TMP/vm/p7.sock"
refused "mode: 'sideways' is neither client nor server" port add p7 "$VS_TMP/vm/p7.sock" mode=sideways
refused "queues: 'x' is not a number" port add p7 "$VS_TMP/vm/p7.sock" queues=x
refused "queues: '0' is not a number from 1 to 16" port add p7 "$VS_TMP/vm/p7.sock" queues=0
refused "unexpected argument 'colour=red'" port add p7 "$VS_TMP/vm/p7.sock" colour=red
refused "mtu: '67' is not a number from 68 to 9600" port add p7 "$VS_TMP/vm/p7.sock" mtu=67
refused "port 'underlay0' is a physical port" port del underlay0
refused "no vhost-user port 'nosuch'" port del nosuch
refused "endpoint 'a1'.*bound|bound.*endpoint 'a1'" port del a1  # endpoint a1 is bound to it
pass "port errors: exit 1, a message, nothing changed"

# --- virtual networks ---------------------------------------------------------------
both vnet list
jhas '[.networks[].name] | sort == ["blue", "red"]' \
	'.networks[] | select(.name == "blue") | .vni == 100 and .subnets == ["10.0.0.0/24"] and .flood == false' \
	'.networks[] | select(.name == "red") | .vni == 200 and .flood == true and .remote_teps == 1'
hhas '^networks$' '^  NAME +VNI +SUBNETS +FLOOD +LOCAL_PORTS +REMOTE_TEPS +TENANT +GATEWAYS$' '^  red +200 +- +true '
both vnet show blue
jhas '.name == "blue"' '.vni == 100' '[.endpoints[].name] | sort == ["a1", "a2", "b1"]'
hhas '^name: +blue$' '^vni: +100$' '^subnets: +10\.0\.0\.0/24$' '^endpoints$' '^  a2 +100 +02:00:00:00:0a:02 +10\.0\.0\.4 +port a2 '

human vnet add green 300 subnets=10.3.0.0/24,fd00:3::/64 flood=true
hhas '^network: +green$' '^status: +applied$'
json vnet show green
jhas '.vni == 300' '.subnets == ["10.3.0.0/24", "fd00:3::/64"]' '.flood == true' '.endpoints == []'
human vnet show green
hhas '^subnets: +10\.3\.0\.0/24,fd00:3::/64$' '^endpoints$' '^  \(none\)$'
human vnet del green
json vnet list
jhas '[.networks[].name] | sort == ["blue", "red"]'
json vnet add green 300
jhas '.network == "green"' '.status == "applied"'
json vnet del green
jhas '.network == "green"' '.status == "applied"'
json vnet list
jhas '[.networks[].name] | sort == ["blue", "red"]'
pass "vnet list/show/add/del"

refused "no network 'nosuch'" vnet show nosuch
refused "vni: '16777216' is not a number from 1 to 16777215" vnet add x 16777216
refused "vni: '0' is not a number from 1 to 16777215" vnet add x 0
refused "vni: 'abc' is not a number" vnet add x abc
refused "vni: '-5' is not a number" vnet add x -5
refused "vni: 100 is already used by network 'blue'" vnet add x 100
refused "duplicate virtual network name 'blue'" vnet add blue 301
refused "10\.0\.0\.1/24 has host bits set" vnet add x 301 subnets=10.0.0.1/24
refused "subnets: 'banana' is not an address/length prefix" vnet add x 301 subnets=banana
refused "flood: 'maybe' is not true or false" vnet add x 301 flood=maybe
refused "network 'blue' still has endpoint" vnet del blue
refused "no network 'nosuch'" vnet del nosuch
pass "vnet errors: exit 1, a message, nothing changed"

# --- endpoints -------------------------------------------------------------------------
both endpoint list
jhas '[.endpoints[].name] | sort == ["a1", "a2", "b1", "r1"]' \
	'.endpoints[] | select(.name == "a1") | .vni == 100 and (.mac | ascii_downcase) == "02:00:00:00:0a:01" and .ips == ["10.0.0.1"] and .location == "port a1"' \
	'.endpoints[] | select(.name == "r1") | .vni == 200 and .location == "tep 198.51.100.3"'
hhas '^endpoints$' '^  NAME +VNI +MAC +IPS +LOCATION +REVISION +GROUPS$' '^  r1 +200 +02:00:00:00:0b:02 +10\.0\.0\.2 +tep 198\.51\.100\.3 +[0-9]+ +-$'
both endpoint list vnet=red
jhas '[.endpoints[].name] == ["r1"]'
hhas '^  r1 ' ; grep -q '^  a1 ' <<<"$H" && vs_fail "endpoint list vnet=red shows a1"
both endpoint list vnet=blue
jhas '[.endpoints[].name] | sort == ["a1", "a2", "b1"]'
both endpoint show a1
jhas '.name == "a1"' '.network == "blue"' '.vni == 100' '.location == "port a1"' '.ips == ["10.0.0.1"]'
hhas '^name: +a1$' '^network: +blue$' '^location: +port a1$' '^mac: +02:00:00:00:0a:01$'

human endpoint add c1 02:00:00:00:0c:01 blue tep=198.51.100.3 ips=10.0.0.9
hhas '^endpoint: +c1$' '^status: +applied$'
json endpoint show c1
jhas '.location == "tep 198.51.100.3"' '.ips == ["10.0.0.9"]' '.network == "blue"'
rev0=$(jq .revision <<<"$J")
human endpoint move c1 tep=198.51.100.2
hhas '^endpoint: +c1$' '^status: +applied$'
json endpoint show c1
jhas '.location == "tep 198.51.100.2"' ".revision > $rev0"
human port add p9 "$VS_TMP/vm/p9.sock" mode=server
human endpoint move c1 port=p9
json endpoint show c1
jhas '.location == "port p9"'
refused "endpoint 'c1'.*bound|bound.*endpoint 'c1'" port del p9  # c1 is bound to it
refused "vhost port 'p9' is already bound to endpoint 'c1'" endpoint add c2 02:00:00:00:0c:02 blue port=p9
human endpoint move c1 tep=198.51.100.3
json endpoint show c1
jhas '.location == "tep 198.51.100.3"'
human endpoint del c1
hhas '^endpoint: +c1$' '^status: +applied$'
json endpoint list
jhas '[.endpoints[].name] | sort == ["a1", "a2", "b1", "r1"]'
json endpoint add c2 02:00:00:00:0c:02 red port=p9 ips=10.9.0.1,fd00::9
jhas '.endpoint == "c2"' '.status == "applied"'
json endpoint move c2 tep=198.51.100.2
jhas '.endpoint == "c2"' '.status == "applied"'
json endpoint show c2
jhas '.location == "tep 198.51.100.2"' '.network == "red"' '.ips == ["10.9.0.1", "fd00::9"]'
json endpoint del c2
jhas '.endpoint == "c2"'
human port del p9
json endpoint list
jhas '[.endpoints[].name] | sort == ["a1", "a2", "b1", "r1"]'
pass "endpoint list (vnet=)/show/add/del/move (tep= and port=)"

refused "no endpoint 'nosuch'" endpoint show nosuch
refused "no network 'nosuch'" endpoint list vnet=nosuch
refused "unexpected argument 'colour=red'" endpoint list colour=red
refused "'02:00:00:00:0c' is not a MAC address" endpoint add c3 02:00:00:00:0c blue tep=198.51.100.2
refused "'zz:00:00:00:0c:03' is not a MAC address" endpoint add c3 zz:00:00:00:0c:03 blue tep=198.51.100.2
refused "01:00:5e:00:00:03 is a multicast address" endpoint add c3 01:00:5e:00:00:03 blue tep=198.51.100.2
refused "is the broadcast address" endpoint add c3 ff:ff:ff:ff:ff:ff blue tep=198.51.100.2
refused "no virtual network named 'nosuch'" endpoint add c3 02:00:00:00:0c:03 nosuch tep=198.51.100.2
refused "02:00:00:00:0a:01 is already used in network 'blue' by endpoint 'a1'" endpoint add c3 02:00:00:00:0a:01 blue tep=198.51.100.2
refused "10\.0\.0\.1 is already used in network 'blue' by endpoint 'a1'" endpoint add c3 02:00:00:00:0c:03 blue tep=198.51.100.2 ips=10.0.0.1
refused "192\.168\.9\.9 is not inside any subnet of network 'blue'" endpoint add c3 02:00:00:00:0c:03 blue tep=198.51.100.2 ips=192.168.9.9
refused "ips: 'ten' is not an IP address" endpoint add c3 02:00:00:00:0c:03 blue tep=198.51.100.2 ips=ten
refused "duplicate endpoint name 'a1'" endpoint add a1 02:00:00:00:0c:03 blue tep=198.51.100.2
refused "say where the endpoint lives" endpoint add c3 02:00:00:00:0c:03 blue ips=10.0.0.9
refused "say where the endpoint lives" endpoint add c3 02:00:00:00:0c:03 blue port=a1 tep=198.51.100.2
refused "vhost port 'a2' is already bound to endpoint 'a2'" endpoint add c3 02:00:00:00:0c:03 blue port=a2
refused "no vhost port named 'nosuch'" endpoint add c3 02:00:00:00:0c:03 blue port=nosuch
refused "'underlay0' is a physical port" endpoint add c3 02:00:00:00:0c:03 blue port=underlay0
refused "198\.51\.100\.1 is this host's own address" endpoint add c3 02:00:00:00:0c:03 blue tep=198.51.100.1
refused "no physical port reaches" endpoint add c3 02:00:00:00:0c:03 blue tep=203.0.113.5
refused "tep: 'fd00::1' is not an IPv4 address" endpoint add c3 02:00:00:00:0c:03 blue tep=fd00::1
refused "no endpoint 'nosuch'" endpoint move nosuch tep=198.51.100.2
refused "no vhost port named 'nosuch'" endpoint move a1 port=nosuch
refused "unexpected argument 'ips=10\.0\.0\.1'" endpoint move a1 ips=10.0.0.1
refused "usage: endpoint/move NAME" endpoint move a1 port=a2 tep=198.51.100.2
refused "no endpoint 'nosuch'" endpoint del nosuch
pass "endpoint errors: exit 1, a message, nothing changed"

# --- stats -------------------------------------------------------------------------------
ping_vms 3
both stats
jhas 'keys == ["drops", "mbufs", "ports", "workers"]' '[.ports[].name] == ["underlay0", "a1", "a2"]' \
	'.mbufs.size == 8192 and .mbufs.in_use >= 0 and .mbufs.in_use < .mbufs.size' \
	'(.drops | length) > 20' 'all(.drops[]; (.reason | length) > 0 and (.help | length) > 0)' \
	'.ports[] | select(.name == "a1") | .rx_packets > 0 and .tx_packets > 0'
hhas '^ports$' '^workers$' '^drops$' '^  NAME +RX_PACKETS +RX_BYTES +TX_PACKETS +TX_BYTES +DROPS$' \
	'^  REASON +COUNT +HELP$' '^  spoof_mac +[0-9]+ +source MAC is not' '^  a1 +[1-9][0-9]* '
for what in ports drops; do
	both stats "$what"
	jhas "keys == [\"$what\"]"
	hhas "^$what\$"
done
both stats workers
jhas 'keys == ["mbufs", "workers"]'
hhas '^workers$' '^mbufs$' '^  in_use: +[0-9]+$'
both stats all
jhas 'keys == ["drops", "mbufs", "ports", "workers"]'
refused "unknown statistics 'bogus'" stats bogus
refused "usage: stats" stats ports drops --clear

# --clear: the reply has the counters as they were, then they restart from 0
a1_rx() { "$CTL" -s "$SOCK" --json stats ports | jq '.ports[] | select(.name == "a1") | .rx_packets'; }
vm_counters() { "$CTL" -s "$SOCK" --json stats ports | jq '[.ports[] | select(.name == "a1" or .name == "a2") | .rx_packets, .rx_bytes, .tx_packets, .tx_bytes, .drops] | add'; }
[ "$(a1_rx)" -gt 0 ] || vs_fail "no packets counted on a1 after pinging"
human stats ports --clear
hhas '^cleared: +true$' '^  a1 +[1-9][0-9]* '
[ "$(vm_counters)" = 0 ] || soft "after stats --clear the VM ports count $(vm_counters), expected 0"
ping_vms 3
[ "$(a1_rx)" -ge 3 ] || vs_fail "a1 counts $(a1_rx) rx packets after 3 pings from a cleared start"
json stats --clear
jhas '.cleared == true' '.ports[] | select(.name == "a1") | .rx_packets >= 3'
idle0=$(jq '.workers[0].idle_sleeps' <<<"$J")
[ "$(vm_counters)" = 0 ] || soft "after --json stats --clear the VM ports count $(vm_counters), expected 0"
json stats drops
jhas '[.drops[].count] | add == 0'
json stats workers
# every worker counter restarts, idle_sleeps and punted (ARP from the underlay) too
jhas '.workers[0].packets < 10' '.workers[0].busy_cycles < 100000000' \
	".workers[0].idle_sleeps < $idle0" '.workers[0].punted == 0'
ping_vms 2
[ "$(a1_rx)" -ge 2 ] || vs_fail "counters do not move after --clear"
json stats workers
# the second ping of a flow finds its decision in the worker's own cache
jhas '.workers[0].emc_hits > 0' '.workers[0].emc_misses >= 0'
human stats clear   # "clear" works like --clear
hhas '^cleared: +true$'
pass "stats, stats ports|workers|drops|all, stats --clear restarts the counters from 0"

# --- config check -------------------------------------------------------------------------
cp "$CFG" "$VS_TMP/sw.yaml.orig"
extra_net='  - name: green
    vni: 300
    subnets: [10.3.0.0/24]'
extra_ep='  - name: g1
    mac: "02:00:00:00:0d:01"
    ips: [10.3.0.5]
    vnet: green
    tep: 198.51.100.2'
write_config 200 "$extra_net" "$extra_ep"
cp "$CFG" "$VS_TMP/check.yaml"
cp "$VS_TMP/sw.yaml.orig" "$CFG"
both config check "$VS_TMP/check.yaml"
jhas ".file == \"$VS_TMP/check.yaml\"" '.valid == true' '.changes.networks.added == 1' \
	'.changes.endpoints.added == 1' '.changes.ports == {"added": 0, "removed": 0}' '.restart_needed == null'
hhas "^file: +$VS_TMP/check.yaml\$" '^valid: +true$' '^changes$' '^changes\.networks$' '^  added: +1$'
json vnet list
jhas '[.networks[].name] | sort == ["blue", "red"]'   # check changes nothing
# FILE relative to the directory vswitchctl runs in
rc=0
rel=$(cd "$VS_TMP" && "$CTL" -s "$SOCK" --json config check check.yaml 2>&1) || rc=$?
record "config check check.yaml   # in $VS_TMP" "$rc" "$rel" ""
[ "$rc" = 0 ] && jq -e '.valid == true' >/dev/null <<<"$rel" ||
	soft "cd \$VS_TMP && vswitchctl config check check.yaml: exit $rc: $rel (expected the file in the current directory to be checked)"

sed 's/    vni: 200/    vni: 300000000/' "$CFG" > "$VS_TMP/broken.yaml"
refused "^$VS_TMP/broken.yaml:[0-9]+:[0-9]+: .*vni" config check "$VS_TMP/broken.yaml"
printf 'workers:\n  lcores: [1\n' > "$VS_TMP/syntax.yaml"
refused "^$VS_TMP/syntax.yaml:[0-9]+:[0-9]+: " config check "$VS_TMP/syntax.yaml"
refused "$VS_TMP/missing.yaml: No such file or directory" config check "$VS_TMP/missing.yaml"
write_config 300
cp "$CFG" "$VS_TMP/restart.yaml"
cp "$VS_TMP/sw.yaml.orig" "$CFG"
json config check "$VS_TMP/restart.yaml"
jhas '.valid == true' '.restart_needed | type == "string" and test("idle_sleep|workers")'
human config check "$VS_TMP/restart.yaml"
hhas '^restart_needed: +.*(idle_sleep|workers)'
pass "config check: valid file with its changes, broken file with file:line:col, restart-only change flagged"

# --- config reload --------------------------------------------------------------------------
json config reload
jhas ".file == \"$CFG\"" '[.changes[][]] | add == 0'
write_config 200 "$extra_net" "$extra_ep"
human config reload
hhas "^file: +$CFG\$" '^changes\.networks$' '^  added: +1$'
json show
jhas '[.networks[].name] | sort == ["blue", "green", "red"]' '.endpoints[] | select(.name == "g1") | .location == "tep 198.51.100.2"'
cp "$VS_TMP/sw.yaml.orig" "$CFG"
json config reload
jhas '.changes.networks.removed == 1' '.changes.endpoints.removed == 1'
json vnet list
jhas '[.networks[].name] | sort == ["blue", "red"]'
# the file is authoritative again: a live change is undone by a reload
human endpoint add c5 02:00:00:00:0c:05 red tep=198.51.100.2
json config reload
jhas '.changes.endpoints.removed == 1'
json endpoint list
jhas '[.endpoints[].name] | sort == ["a1", "a2", "b1", "r1"]'
# a restart-only setting: refused as a whole, nothing applied
write_config 300 "$extra_net"
refused "(idle_sleep|workers)" config reload
json vnet list
jhas '[.networks[].name] | sort == ["blue", "red"]'
sed 's/    vni: 200/    vni: 300000000/' "$VS_TMP/sw.yaml.orig" > "$CFG"
refused "^$CFG:[0-9]+:[0-9]+: .*vni" config reload
cp "$VS_TMP/sw.yaml.orig" "$CFG"
json config reload
jhas '[.changes[][]] | add == 0'
pass "config reload: changes applied, live changes undone, restart-only and broken files refused"

# --- log level --------------------------------------------------------------------------------
both log level ctl debug
jhas '.pattern == "vswitch.ctl*"' '.level == "debug"'
hhas '^pattern: +vswitch\.ctl\*$' '^level: +debug$'
n0=$(vs_log_since sw | grep -c "request failed: unknown command 'logprobe'" || true)
run logprobe
vs_wait_log sw "request failed: unknown command 'logprobe'" 5
human log level ctl notice
run logprobe
sleep 0.5
n1=$(vs_log_since sw | grep -c "request failed: unknown command 'logprobe'" || true)
[ "$n1" = $((n0 + 1)) ] || vs_fail "log level ctl debug/notice: $n1 debug lines, expected $((n0 + 1))"
both log level info
jhas '.pattern == "vswitch.*"' '.level == "info"'
both log level all warning
jhas '.pattern == "vswitch.*"' '.level == "warning"'
both log level lib.eal notice
jhas '.pattern == "lib.eal"' '.level == "notice"'
for m in ctl datapath policy switch underlay apply; do json log level "$m" notice; done
refused "unknown level 'loud'" log level loud
refused "unknown level 'loud'" log level ctl loud
refused "unknown module 'nosuch'" log level nosuch info
refused "usage: log/level \[MODULE\] LEVEL" log level
refused "usage: log/level \[MODULE\] LEVEL" log level ctl info extra
pass "log level: one module (takes effect), all, a DPDK log type; bad level or module refused"

# --- debug -------------------------------------------------------------------------------------
both debug stall-control 0
jhas '.stalled_seconds == 0'
hhas '^stalled_seconds: +0$'
refused "is not a number of seconds from 0 to 60" debug stall-control 61

# --- trace (when the daemon has it) -----------------------------------------------------------
if [ "$have_trace" = 1 ]; then
	# a dry run: nothing is sent and no counter of the switch moves
	counters() { "$CTL" -s "$SOCK" --json stats | jq -c '[(.ports[] | select(.name != "underlay0") | .rx_packets, .tx_packets, .drops), (.drops[] | .count)]'; }
	c0=$(counters)
	both trace in_port=a1 dst_mac=02:00:00:00:0a:02 dst_ip=10.0.0.4
	jhas '.result == "output port a2 (not sent)"' '.packet | test("^in_port a1: .*10\\.0\\.0\\.1 → 10\\.0\\.0\\.4, ICMP echo request")' \
		'[.steps[].stage] | index("port security") != null and index("output") != null' \
		'all(.steps[]; (.stage | length) > 0 and (.decision | length) > 0)'
	hhas '^packet: +in_port a1: ' '^result: +output port a2 \(not sent\)$' '^steps$' '^  STAGE +DECISION$' \
		'^  lookup +\(VNI 100, 02:00:00:00:0a:01 → 02:00:00:00:0a:02\) endpoint a2 ' \
		'^  policy +default: allow \(revision 0\); path: a2, local on port a2, VNI 100$' '^  output +a2 .*\(not sent\)$'
	both trace in_port=a1 dst_mac=02:00:00:00:0b:01 dst_ip=10.0.0.2 proto=tcp dport=80
	jhas '.result == "output port underlay0 (not sent)"' \
		'any(.steps[]; .stage == "policy" and (.decision | test("^default: allow .*TEP 198\\.51\\.100\\.2, VNI 100.*\\(decided for this trace, not installed\\)$")))' \
		'any(.steps[]; .stage == "encapsulation" and (.decision | test("VNI 100 → TEP 198\\.51\\.100\\.2 via underlay0")))'
	both trace in_port=a1 proto=arp dst_ip=10.0.0.4
	jhas '.result | test("^answered locally")' 'any(.steps[]; .decision | test("10\\.0\\.0\\.4 is-at 02:00:00:00:0a:02"))'
	both trace in_port=a1 src_ip=10.0.0.99 dst_mac=02:00:00:00:0a:02 dst_ip=10.0.0.4
	jhas '.result == "dropped: spoof_ip"'
	hhas '^result: +dropped: spoof_ip$' '^  port security +drop: spoof_ip'
	both trace in_port=a1 src_mac=02:00:00:00:0a:02 dst_mac=02:00:00:00:0b:01 dst_ip=10.0.0.2
	jhas '.result == "dropped: spoof_mac"' 'any(.steps[]; .stage == "port security" and (.decision | test("spoof_mac")))'
	both trace in_port=a1 dst_mac=02:00:00:00:0e:0e dst_ip=10.0.0.4
	jhas '.result == "dropped: unknown_unicast"' 'any(.steps[]; .stage == "lookup" and (.decision | test("02:00:00:00:0e:0e")))'
	hhas '^result: +dropped: unknown_unicast$'
	both trace in_port=a1 proto=arp dst_ip=10.0.0.77
	jhas '.result == "dropped: arp_unknown_target"'
	both trace in_port=underlay0 vni=100 outer_src=198.51.100.2 src_mac=02:00:00:00:0b:01 src_ip=10.0.0.2 dst_mac=02:00:00:00:0a:01 dst_ip=10.0.0.1 proto=udp dport=53
	jhas '.result == "output port a1 (not sent)"' '[.steps[].stage] | index("decap") != null' \
		'.packet | test("VXLAN VNI 100 \\[02:00:00:00:0b:01 → 02:00:00:00:0a:01")'
	both trace in_port=underlay0 vni=999 outer_src=198.51.100.2 src_mac=02:00:00:00:0b:01 src_ip=10.0.0.2 dst_mac=02:00:00:00:0a:01 dst_ip=10.0.0.1
	jhas '.result == "dropped: unknown_vni"'
	sleep 0.2
	[ "$(counters)" = "$c0" ] || soft "trace moved the switch's counters: $c0 -> $(counters)"
	refused "usage: trace in_port=PORT" trace
	refused "in_port: required" trace dst_ip=10.0.0.4
	refused "in_port: 'nosuch' is not a port of this switch" trace in_port=nosuch
	refused "unknown key 'colour'" trace in_port=a1 colour=red
	refused "in_port: given twice" trace in_port=a1 in_port=a2
	refused "'in_port' is not key=value" trace in_port
	refused "proto: 'sctp' is not icmp, tcp, udp or arp" trace in_port=a1 proto=sctp
	refused "dst_mac: 'zz' is not a MAC address" trace in_port=a1 dst_mac=zz
	refused "dst_mac: required" trace in_port=a1 dst_ip=10.0.0.4
	refused "vni: only for a physical in_port" trace in_port=a1 vni=5
	refused "vni: required" trace in_port=underlay0 dst_mac=02:00:00:00:0a:01
	pass "trace: local, remote (VXLAN), ARP answered, spoof and unknown VNI dropped; nothing sent; bad descriptions refused"
fi

# --- tenants, groups, policies, the decision cache, the policy service -------------------
# The logical model of docs/policy.md, edited live with the YAML backend.
# model: tenants, groups and policies as JSON (not in `show`)
model() {
	local w
	for w in tenant group policy; do "$CTL" -s "$SOCK" --json "$w" list; done | jq -cS .
}
# refused_model RE ARGS...: `refused`, and the tenants, groups and policies unchanged too
refused_model() {
	local before
	before=$(model)
	refused "$@"
	[ "$(model)" = "$before" ] || soft "vswitchctl ${*:2} failed but changed the tenants, groups or policies"
}
# decision FROM TO: the row FROM -> TO of the last `policy table` (JSON)
decision() { jq -c --arg f "$1" --arg t "$2" '[.decisions[] | select(.from_vm == $f and .to_vm == $t)] | first' <<<"$J"; }
ping_fails() { ! ip netns exec "na1$S" ping -c 1 -W 1 10.0.0.4 >/dev/null; }

both tenant list
jhas '.tenants == []'
hhas '^tenants$' '^  \(none\)$'
human tenant add acme
hhas '^tenant: +acme$' '^status: +applied$'
json tenant add beta
jhas '.tenant == "beta"' '.status == "applied"'
human group add web tenant=acme
hhas '^group: +web$' '^status: +applied$'
json group add db tenant=acme
jhas '.group == "db"' '.status == "applied"'
human group add ops
human vnet add green 300 subnets=10.3.0.0/24,10.4.0.0/24 tenant=acme gateways=10.3.0.254,-
hhas '^network: +green$' '^status: +applied$'
json vnet add yellow 400 subnets=10.5.0.0/24 tenant=acme gateways=10.5.0.1
jhas '.network == "yellow"' '.status == "applied"'
both vnet list
jhas '.networks[] | select(.name == "green") | .tenant == "acme" and .gateways == ["10.3.0.254", null]' \
	'.networks[] | select(.name == "blue") | .tenant == null and .gateways == [null]'
hhas '^  NAME +VNI +SUBNETS +FLOOD +LOCAL_PORTS +REMOTE_TEPS +TENANT +GATEWAYS$' \
	'^  green +300 +10\.3\.0\.0/24,10\.4\.0\.0/24 +false .* acme +10\.3\.0\.254,-$' \
	'^  yellow +400 +10\.5\.0\.0/24 +false .* acme +10\.5\.0\.1$'
both vnet show green
jhas '.tenant == "acme"' '.gateways == ["10.3.0.254", null]'
hhas '^tenant: +acme$' '^gateways: +10\.3\.0\.254,-$'
human endpoint add g1 02:00:00:00:0d:01 green tep=198.51.100.2 ips=10.3.0.5 groups=web
hhas '^endpoint: +g1$' '^status: +applied$'
json endpoint add g2 02:00:00:00:0d:02 yellow tep=198.51.100.3 ips=10.5.0.6 groups=web,db
jhas '.endpoint == "g2"' '.status == "applied"'
both endpoint list vnet=yellow
jhas '[.endpoints[] | {name, groups}] == [{"name": "g2", "groups": ["web", "db"]}]'
hhas '^  NAME +VNI +MAC +IPS +LOCATION +REVISION +GROUPS$' '^  g2 +400 +02:00:00:00:0d:02 +10\.5\.0\.6 +tep 198\.51\.100\.3 +[0-9]+ +web,db$'
both endpoint show g1
jhas '.groups == ["web"]'
hhas '^groups: +web$'
both tenant list
jhas '[.tenants[].name] == ["acme", "beta"]' \
	'.tenants[] | select(.name == "acme") | .networks == 2 and .origin == "config"' \
	'.tenants[] | select(.name == "beta") | .networks == 0'
hhas '^tenants$' '^  NAME +NETWORKS +ORIGIN +REVISION$' '^  acme +2 +config ' '^  beta +0 +config '
both group list
jhas '[.groups[] | {name, tenant, members}] == [{"name": "web", "tenant": "acme", "members": 2},
	{"name": "db", "tenant": "acme", "members": 1}, {"name": "ops", "tenant": null, "members": 0}]'
hhas '^groups$' '^  NAME +TENANT +MEMBERS +ORIGIN +REVISION$' '^  web +acme +2 +config ' '^  ops +- +0 +config '
pass "tenant and group add/list, networks with tenant and gateways, endpoints with groups"

# policies: allow, deny, chain, priority, tenant; list, show, replace, del
both policy list
jhas '.policies == []'
hhas '^policies$' '^  \(none\)$'
human policy add web-to-db from=group:web to=group:db action=allow tenant=acme
hhas '^policy: +web-to-db$' '^status: +applied$'
json policy add g1-not-g2 from=vm:g1 to=vm:g2 action=deny
jhas '.policy == "g1-not-g2"' '.status == "applied"'
human policy add inspect from=vnet:green to=any action=chain:fw-ids priority=5
human policy add ops-out from=group:ops to=any action=deny priority=-3
human policy add a1-to-a2 from=vm:a1 to=vm:a2 action=allow priority=10
both policy list
jhas '[.policies[].name] == ["web-to-db", "g1-not-g2", "inspect", "ops-out", "a1-to-a2"]' \
	'.policies[] | select(.name == "web-to-db") | .from == "group:web" and .to == "group:db" and .action == "allow" and .tenant == "acme" and .priority == 0' \
	'.policies[] | select(.name == "inspect") | .action == "chain" and .chain == "fw-ids" and .to == "any" and .priority == 5' \
	'.policies[] | select(.name == "ops-out") | .priority == -3 and .tenant == null' \
	'all(.policies[]; .origin == "config")'
hhas '^  NAME +TENANT +FROM +TO +ACTION +CHAIN +PRIORITY +ORIGIN +REVISION$' \
	'^  web-to-db +acme +group:web +group:db +allow +- +0 +config ' \
	'^  inspect +- +vnet:green +any +chain +fw-ids +5 +config ' \
	'^  g1-not-g2 +- +vm:g1 +vm:g2 +deny +- +0 +config '
both policy show g1-not-g2
jhas '.name == "g1-not-g2"' '.from == "vm:g1"' '.to == "vm:g2"' '.action == "deny"' '.chain == null'
hhas '^name: +g1-not-g2$' '^from: +vm:g1$' '^to: +vm:g2$' '^action: +deny$' '^chain: +-$'
# add with an existing name replaces the policy in place
human policy add g1-not-g2 from=vm:g1 to=vm:g2 action=allow priority=3
hhas '^policy: +g1-not-g2$' '^status: +applied$'
json policy show g1-not-g2
jhas '.action == "allow"' '.priority == 3'
json policy list
jhas '[.policies[].name] == ["web-to-db", "g1-not-g2", "inspect", "ops-out", "a1-to-a2"]'
human policy del g1-not-g2
hhas '^policy: +g1-not-g2$' '^status: +applied$'
json policy del web-to-db
jhas '.policy == "web-to-db"' '.status == "applied"'
json policy list
jhas '[.policies[].name] == ["inspect", "ops-out", "a1-to-a2"]'
pass "policy add (allow, deny, chain, priority, tenant)/list/show/replace/del"

# the decision cache: a1 -> a2 now follows a1-to-a2, a2 -> a1 the default
ping_vms 2
both policy table vm=a1
rev=$("$CTL" -s "$SOCK" --json policy show a1-to-a2 | jq .revision)
d=$(decision a1 a2)
jq -e --argjson rev "$rev" '.policy == "a1-to-a2" and .decision == "forward" and .revision == $rev and
	.where == "local" and .output_port == "a2" and .vni == 100 and .kind == "switched"' <<<"$d" >/dev/null ||
	soft "policy table vm=a1: a1 -> a2 is $d, expected a1-to-a2 (revision $rev), forward, local on a2"
jhas '[.decisions[] | select(.from_vm == "a2" and .to_vm == "a1") | .policy] == ["(default)"]' \
	'all(.decisions[]; .from_vm == "a1" or .to_vm == "a1")' '.cache | type == "object"'
hhas '^decisions$' '^  FROM_VM +TO_VM +DESTINATION +KIND +POLICY +DECISION +REVISION +AGE_MS ' \
	"^  a1 +a2 +02:00:00:00:0a:02 +switched +a1-to-a2 +forward +$rev .* local"
both policy table
jhas '[.decisions[] | select(.from_vm == "a1" and .to_vm == "a2")] | length == 1'
# a deny takes effect on the cached decision at once, and its removal too
human policy add a1-to-a2 from=vm:a1 to=vm:a2 action=deny priority=10
ping_fails || soft "a1 still pings a2 with policy a1-to-a2 denying it"
json policy table vm=a1
jhas '[.decisions[] | select(.from_vm == "a1" and .to_vm == "a2") | .decision] == ["drop (denied)"]'
human policy del a1-to-a2
ping_vms 2
json policy table vm=a1
jhas '[.decisions[] | select(.from_vm == "a1" and .to_vm == "a2") | .policy] == ["(default)"]'
if [ "$have_trace" = 1 ]; then
	human policy add a1-to-a2 from=vm:a1 to=vm:a2 action=allow priority=10
	both trace in_port=a1 dst_mac=02:00:00:00:0a:02 dst_ip=10.0.0.4
	hhas '^  policy +a1-to-a2: allow \(revision [0-9]+\); path: a2, local on port a2, VNI 100'
	jhas '.result == "output port a2 (not sent)"'
	human policy del a1-to-a2
fi
pass "policy table: a1 -> a2 with its policy, revision and local path; a deny and its removal take effect at once"

both policy-service status
jhas '.backend == "yaml"' '.health == "ok"' '(.policy_revision | type) == "number"' \
	'.notifications | (.sent, .received, .acted, .ignored, .invalid, .unknown_peer) | type == "number"' \
	'.decisions | .misses >= 1 and .installed >= 1 and (.refreshed | type) == "number"' \
	'.decisions.cache | .entries >= 2 and .capacity > 0'
hhas '^backend: +yaml$' '^health: +ok$' '^notifications$' '^  received: +[0-9]+$' \
	'^decisions$' '^  installed: +[1-9][0-9]*$' '^decisions\.cache$' '^  entries: +[0-9]+$'
pass "policy-service status: yaml backend, health ok, notification and cache counters"

# refusals: a message, and nothing changed
refused_model "physical" policy add bad from=vm:10.0.0.1 to=any action=allow
refused_model "policy 'bad': from: no group named 'nosuch'" policy add bad from=group:nosuch to=any action=allow
refused_model "to: 'host:h1' is not vm:NAME, group:NAME, vnet:NAME or any" policy add bad from=any to=host:h1 action=allow
refused_model "action: 'maybe' is not allow, deny or chain:CHAIN" policy add bad from=any to=any action=maybe
refused_model "priority: 'high' is not a number from -1000000 to 1000000" policy add bad from=any to=any action=allow priority=high
refused_model "say action=allow\|deny\|chain:CHAIN" policy add bad from=any to=any priority=1
refused_model "unexpected argument 'tep=198\.51\.100\.2'" policy add bad from=any to=any action=allow tep=198.51.100.2
refused_model "no policy 'nosuch'" policy del nosuch
refused_model "no policy 'nosuch'" policy show nosuch
refused_model "tenant 'acme' is used by network 'green'" tenant del acme
refused_model "no tenant 'nosuch'" tenant del nosuch
refused_model "tenant 'acme' already exists" tenant add acme
refused_model "group 'web' still has endpoint 'g1'" group del web
refused_model "group 'db' still has endpoint 'g2'" group del db
refused_model "group 'ops' is used by policy 'ops-out'" group del ops
refused_model "group 'web' already exists" group add web
refused_model "endpoint 'g3': groups: no group named 'nosuch'" endpoint add g3 02:00:00:00:0d:03 green tep=198.51.100.2 groups=nosuch
refused_model "virtual network 'x': tenant: no tenant named 'nosuch'" vnet add x 301 tenant=nosuch
refused_model "gateways: 2 given for 1 subnets" vnet add x 301 subnets=10.6.0.0/24 gateways=10.6.0.1,10.6.0.2
refused_model "the policy service is not etcd" debug policy-service-watch stop
refused_model "expected stop or start, got 'pause'" debug policy-service-watch pause
refused_model "expected vm=NAME, got 'colour=red'" policy table colour=red
pass "policy, tenant and group errors: exit 1, a message, nothing changed"

# back to the start
for p in inspect ops-out; do json policy del "$p"; done
for e in g1 g2; do json endpoint del "$e"; done
for v in green yellow; do json vnet del "$v"; done
for g in web db ops; do json group del "$g"; done
human tenant del acme
hhas '^tenant: +acme$' '^status: +applied$'
json tenant del beta
jhas '.tenant == "beta"' '.status == "applied"'
[ "$(model)" = "$(jq -cS . <<<'{"tenants": []}
{"groups": []}
{"policies": []}')" ] || soft "tenants, groups and policies left behind: $(model)"
pass "policy, group, tenant del: the model is empty again"

# --- network services: definitions, pools, profiles, enables, the catalog ---------------------
# docs/services.md. The test's configuration has no services_dir and its state
# directory starts empty, so the catalog starts empty; it must end as it started.
# catalog_state: everything the service commands change, as JSON
catalog_state() {
	local w s
	for w in catalog service profile pool chain; do "$CTL" -s "$SOCK" --json "$w" list; done
	"$CTL" -s "$SOCK" --json lb show
	for s in $("$CTL" -s "$SOCK" --json service list | jq -r '.services[].name'); do
		"$CTL" -s "$SOCK" --json service show "$s"
	done
	for s in $("$CTL" -s "$SOCK" --json profile list | jq -r '.profiles[].name'); do
		"$CTL" -s "$SOCK" --json profile show "$s"
	done
	for s in $("$CTL" -s "$SOCK" --json chain list | jq -r '.chains[].name'); do
		"$CTL" -s "$SOCK" --json chain show "$s"
	done
	for s in a1 a2; do "$CTL" -s "$SOCK" --json catalog show "vm=$s"; done
}
# refused_svc RE ARGS...: `refused`, and the catalog unchanged too
refused_svc() {
	local before list0
	before=$(catalog_state | jq -cS .)
	list0=$("$CTL" -s "$SOCK" --json catalog list)
	refused "$@"
	[ "$(catalog_state | jq -cS .)" = "$before" ] || soft "vswitchctl ${*:2} failed but changed the catalog"
	[ "$("$CTL" -s "$SOCK" --json catalog list)" = "$list0" ] || soft "vswitchctl ${*:2} failed but changed catalog list"
}
both catalog list
jhas '.catalog == [] and .chains == []'
hhas '^catalog$' '^chains$' '^  \(none\)$'
catalog0=$J
state0=$(catalog_state | jq -cS .)
for w in service profile pool chain; do
	both "$w" list
	jhas ".${w}s == []"
	hhas "^${w}s\$" '^  \(none\)$'
done
both lb show
jhas '.load_balancers == []'
hhas '^load_balancers$' '^  \(none\)$'
json stats drops
jhas '.drops[] | select(.reason == "service_drop") | .count == 0 and (.help | test("service"))'

mkdir -p "$VS_TMP/svc"
cat >"$VS_TMP/svc/telnet-guard.yaml" <<'EOF'
service:
  vendor: example
  name: telnet-guard
  description: Drops telnet to the VMs
  contact: netops@example.com
  insertion: switch
  levels:
    - {name: basic, parameters: {log: "off"}}
    - {name: strict, parameters: {log: "on"}}
  parameters: {default: allow}
  rules:
    - {direction: ingress, proto: tcp, dport: 23, action: drop}
EOF
cat >"$VS_TMP/svc/tg-a1.yaml" <<'EOF'
profile:
  name: tg-a1
  service: telnet-guard
  level: strict
  scope:
    vms: [a1]
EOF
cat >"$VS_TMP/svc/broken.yaml" <<'EOF'
service:
  vendor: example
  name: broken
  contact: netops@example.com
  insertion: switch
  levels:
    - {name: basic}
  rules:
    - {direction: sideways, action: drop}
EOF

human service register "$VS_TMP/svc/telnet-guard.yaml"
hhas "^file: +$VS_TMP/svc/telnet-guard\.yaml\$" '^status: +applied$'
both service list
jhas '.services == [{"name": "telnet-guard", "vendor": "example", "insertion": "switch", "levels": 2, "rules": 1, "profiles": 0}]'
hhas '^services$' '^  NAME +VENDOR +INSERTION +LEVELS +RULES +PROFILES$' '^  telnet-guard +example +switch +2 +1 +0$'
both service show telnet-guard
jhas '.name == "telnet-guard" and .vendor == "example" and .insertion == "switch" and .contact == "netops@example.com"' \
	'[.levels[].name] == ["basic", "strict"]' '.levels[1].parameters == {"log": "on"}' \
	'.parameters == {"default": "allow"}' '.configured == {}' '.endpoints == [] and .profiles == []' \
	'.rules == [{"direction": "ingress", "proto": "tcp", "src": "any", "dst": "any", "sport": "any", "dport": "23-23", "action": "drop", "target": ""}]'
hhas '^name: +telnet-guard$' '^description: +Drops telnet to the VMs$' '^insertion: +switch$' \
	'^  NAME +PARAMETERS$' '^  strict +\{"log":"on"\}$' '^parameters$' '^  default: allow$' \
	'^  DIRECTION +PROTO +SRC +DST +SPORT +DPORT +ACTION +TARGET$' '^  ingress +tcp +any +any +any +23-23 +drop'
human service configure telnet-guard default=drop
hhas '^service: +telnet-guard$' '^status: +applied$'
json service show telnet-guard
jhas '.parameters == {"default": "drop"}' '.configured == {"default": "drop"}'
json service configure telnet-guard default=allow
jhas '.service == "telnet-guard"' '.status == "applied"'
json service show telnet-guard
jhas '.parameters == {"default": "allow"}' '.configured == {"default": "allow"}'
pass "service register/list/show/configure: a switch service with two levels and a rule"

human pool add web a1,a2
hhas '^pool: +web$' '^status: +applied$'
json pool add spare a2
jhas '.pool == "spare"' '.status == "applied"'
both pool list
jhas '.pools == [{"name": "web", "vms": ["a1", "a2"]}, {"name": "spare", "vms": ["a2"]}]'
hhas '^pools$' '^  NAME +VMS$' '^  web +a1,a2$' '^  spare +a2$'
human profile create "$VS_TMP/svc/tg-a1.yaml"
hhas "^file: +$VS_TMP/svc/tg-a1\.yaml\$" '^status: +applied$'
json profile create tg-web service=telnet-guard level=basic pools=web param.log=on
jhas '.profile == "tg-web"' '.status == "applied"'
both profile list
jhas '.profiles == [{"name": "tg-a1", "service": "telnet-guard", "level": "strict", "enables": 0,
	"slot": 0, "allowed": 0, "dropped": 0, "mirrored": 0, "redirected": 0},
	{"name": "tg-web", "service": "telnet-guard", "level": "basic", "enables": 0,
	"slot": 1, "allowed": 0, "dropped": 0, "mirrored": 0, "redirected": 0}]'
hhas '^profiles$' '^  NAME +SERVICE +LEVEL +ENABLES +SLOT +ALLOWED +DROPPED +MIRRORED +REDIRECTED$' \
	'^  tg-a1 +telnet-guard +strict +0 +0 +0 +0 +0 +0$' '^  tg-web +telnet-guard +basic +0 +1 +0 +0 +0 +0$'
both profile show tg-web
jhas '.name == "tg-web" and .service == "telnet-guard" and .level == "basic"' '.parameters == {"log": "on"}' \
	'.scope == {"vms": [], "pools": ["web"], "vnets": [], "tenants": [], "hosts": []}' '.enabled == []' \
	'.slot == 1' '.counters == {"allowed": 0, "dropped": 0, "mirrored": 0, "redirected": 0}'
hhas '^name: +tg-web$' '^level: +basic$' '^  log: on$' '^  pools: web$' '^slot: +1$' '^  dropped: +0$' \
	'^  redirected: +0$'
both catalog list
jhas '.catalog == [{"service": "telnet-guard", "vendor": "example", "insertion": "switch",
	"description": "Drops telnet to the VMs", "profiles": ["tg-a1", "tg-web"]}]' '.chains == []'
hhas '^  SERVICE +VENDOR +INSERTION +DESCRIPTION +PROFILES$' '^  telnet-guard +example +switch +Drops telnet to the VMs +tg-a1,tg-web$'
both catalog show vm=a1
jhas '.vm == "a1" and .vnet == "blue"' \
	'.profiles == [{"profile": "tg-a1", "service": "telnet-guard", "level": "strict", "enabled": false},
	{"profile": "tg-web", "service": "telnet-guard", "level": "basic", "enabled": false}]'
hhas '^vm: +a1$' '^vnet: +blue$' '^  PROFILE +SERVICE +LEVEL +ENABLED$' '^  tg-a1 +telnet-guard +strict +false$'
json catalog show vm=a2
jhas '[.profiles[].profile] == ["tg-web"]'
pass "pool add/list, profile create (FILE and NAME service=..)/list/show, catalog list/show"

human service enable tg-a1 vm=a1
hhas '^profile: +tg-a1$' '^status: +applied$'
json service enable tg-web pool=web
jhas '.profile == "tg-web"' '.status == "applied"'
both catalog show vm=a1
jhas '[.profiles[] | {profile, enabled}] == [{"profile": "tg-a1", "enabled": true}, {"profile": "tg-web", "enabled": true}]'
hhas '^  tg-a1 +telnet-guard +strict +true$'
both profile show tg-a1
jhas '.enabled == ["vm=a1"]' '.scope.vms == ["a1"]'
hhas '^enabled: +vm=a1$'
json profile list
jhas '[.profiles[].enables] == [1, 1]'
pass "service enable: a VM and a pool in scope; catalog show and profile show say so"

refused_svc "VM 'a2' is outside the scope of profile 'tg-a1'" service enable tg-a1 vm=a2
refused_svc "no profile 'nosuch'" service enable nosuch vm=a1
refused_svc "profile 'tg-a1' is already enabled for vm 'a1'" service enable tg-a1 vm=a1
refused_svc "expected vm=VM, pool=POOL or vnet=NET, got 'host=x'" service enable tg-a1 host=x
refused_svc "no service 'nosuch' is registered" service show nosuch
refused_svc "no service 'nosuch' is registered" service configure nosuch default=drop
refused_svc "service 'telnet-guard' has no parameter 'colour'" service configure telnet-guard colour=red
refused_svc "service 'telnet-guard' has no parameter 'colour'" service configure telnet-guard default=drop colour=red
refused_svc "profile 'tg-x': no service 'nosuch' is registered" profile create tg-x service=nosuch level=basic vms=a1
refused_svc "profile 'tg-x': service 'telnet-guard' has no level 'nosuch'" profile create tg-x service=telnet-guard level=nosuch vms=a1
refused_svc "profile needs service=S and level=L" profile create tg-x vms=a1
refused_svc "service 'telnet-guard' has profile 'tg-a1': delete its profiles first" service unregister telnet-guard
refused_svc "no service 'nosuch' is registered" service unregister nosuch
refused_svc "profile 'tg-a1' is enabled for vm 'a1': disable it first" profile delete tg-a1
refused_svc "no profile 'nosuch'" profile show nosuch
refused_svc "^$VS_TMP/svc/broken\.yaml:9:19: rule direction: 'sideways' is not one of: ingress, egress, both$" service register "$VS_TMP/svc/broken.yaml"
refused_svc "^$VS_TMP/svc/telnet-guard\.yaml:[0-9]+:[0-9]+: service 'telnet-guard' is already registered" service register "$VS_TMP/svc/telnet-guard.yaml"
refused_svc "^$VS_TMP/svc/nothere\.yaml: No such file or directory" service register "$VS_TMP/svc/nothere.yaml"
refused_svc "pool 'web' has profile 'tg-web' enabled: disable it first" pool del web
refused_svc "no pool 'nosuch'" pool del nosuch
refused_svc "no VM 'nosuch'" catalog show vm=nosuch
refused_svc "expected vm=VM, got 'a1'" catalog show a1
pass "service, profile, pool and catalog errors: exit 1, a message, nothing changed"

human service disable tg-a1 vm=a1
hhas '^profile: +tg-a1$' '^status: +applied$'
json service disable tg-web pool=web
jhas '.profile == "tg-web"' '.status == "applied"'
json catalog show vm=a1
jhas '[.profiles[].enabled] == [false, false]'
refused_svc "profile 'tg-a1' is not enabled for vm 'a1'" service disable tg-a1 vm=a1
refused_svc "pool 'web' is in the scope of profile 'tg-web'" pool del web
pass "service disable; a pool in a profile's scope still cannot be deleted"

# --- chains through network and external services; the built-in load balancer ----------------
# A network service is an appliance VM on an in/out pair of ports, an
# external one sits behind a tunnel endpoint and a VNI; neither needs its
# ports or hosts to exist to be registered.  A chain's hops are their profiles.
cat >"$VS_TMP/svc/appliances.yaml" <<'EOF'
service:
  vendor: example
  name: ids-appliance
  description: An IDS VM on an in/out pair of ports
  contact: secops@example.com
  insertion: network
  endpoints: [{port: idi, out: ido}]
  levels: [{name: standard}]
---
service:
  vendor: example
  name: remote-scan
  description: A scanning service outside the network, over VXLAN
  contact: cloud@example.com
  insertion: external
  endpoints: [{ip: 198.51.100.9, vni: 5000}]
  levels: [{name: standard}]
EOF
human service register "$VS_TMP/svc/appliances.yaml"
hhas "^file: +$VS_TMP/svc/appliances\.yaml\$" '^status: +applied$'
both service show ids-appliance
jhas '.name == "ids-appliance" and .insertion == "network"' '.rules == [] and .profiles == []' \
	'.endpoints == [{"kind": "port", "address": "idi", "out": "ido"}]'
hhas '^insertion: +network$' '^endpoints$' '^  KIND +ADDRESS +OUT$' '^  port +idi +ido$'
both service show remote-scan
jhas '.name == "remote-scan" and .insertion == "external"' \
	'.endpoints == [{"kind": "ip", "address": "198.51.100.9", "vni": 5000}]'
hhas '^insertion: +external$' '^  KIND +ADDRESS +VNI$' '^  ip +198\.51\.100\.9 +5000$'
human profile create ids-blue service=ids-appliance level=standard vnets=blue
hhas '^profile: +ids-blue$' '^status: +applied$'
json profile create scan-blue service=remote-scan level=standard vnets=blue
jhas '.profile == "scan-blue"' '.status == "applied"'
json profile list
jhas '[.profiles[] | {name, slot}] == [{"name": "tg-a1", "slot": 0}, {"name": "tg-web", "slot": 1},
	{"name": "ids-blue", "slot": 2}, {"name": "scan-blue", "slot": 3}]'
pass "service register: a network service (port pair) and an external one (ip, vni); their profiles"

human chain create inspect ids-blue scan-blue
hhas '^chain: +inspect$' '^status: +applied$'
json chain create scan scan-blue
jhas '.chain == "scan"' '.status == "applied"'
both chain list
jhas '.chains == [{"name": "inspect", "hops": ["ids-blue", "scan-blue"], "slot": 0},
	{"name": "scan", "hops": ["scan-blue"], "slot": 1}]'
hhas '^chains$' '^  NAME +HOPS +SLOT$' '^  inspect +ids-blue,scan-blue +0$' '^  scan +scan-blue +1$'
both chain show inspect
jhas '. == {"name": "inspect", "slot": 0, "hops": [
	{"hop": 1, "profile": "ids-blue", "service": "ids-appliance", "insertion": "network",
	 "endpoints": ["port idi/ido"], "sent_fwd": 0, "back_fwd": 0, "sent_rev": 0, "back_rev": 0},
	{"hop": 2, "profile": "scan-blue", "service": "remote-scan", "insertion": "external",
	 "endpoints": ["ip 198.51.100.9 vni 5000"], "sent_fwd": 0, "back_fwd": 0, "sent_rev": 0, "back_rev": 0}]}'
hhas '^name: +inspect$' '^slot: +0$' '^hops$' \
	'^  HOP +PROFILE +SERVICE +INSERTION +ENDPOINTS +SENT_FWD +BACK_FWD +SENT_REV +BACK_REV$' \
	'^ +1 +ids-blue +ids-appliance +network +port idi/ido +0 +0 +0 +0$' \
	'^ +2 +scan-blue +remote-scan +external +ip 198\.51\.100\.9 vni 5000 +0 +0 +0 +0$'
json chain show scan
jhas '.slot == 1 and [.hops[].profile] == ["scan-blue"]'
both catalog list
jhas '[.catalog[] | {service, insertion, profiles}] == [
	{"service": "telnet-guard", "insertion": "switch", "profiles": ["tg-a1", "tg-web"]},
	{"service": "ids-appliance", "insertion": "network", "profiles": ["ids-blue"]},
	{"service": "remote-scan", "insertion": "external", "profiles": ["scan-blue"]}]' \
	'.chains == [{"name": "inspect", "hops": ["ids-blue", "scan-blue"], "slot": 0},
	{"name": "scan", "hops": ["scan-blue"], "slot": 1}]'
hhas '^  ids-appliance +example +network +An IDS VM on an in/out pair of ports +ids-blue$' \
	'^chains$' '^  inspect +ids-blue,scan-blue +0$'
json service list
jhas '[.services[] | {name, profiles}] == [{"name": "telnet-guard", "profiles": 2},
	{"name": "ids-appliance", "profiles": 1}, {"name": "remote-scan", "profiles": 1}]'
pass "chain create/list/show: hops in order, each with its service, endpoints and zero counters; catalog list has the chains"

# the built-in load balancer: its definition is config/services/load-balancer.yaml
cp "$VS_SRC/config/services/load-balancer.yaml" "$VS_TMP/svc/load-balancer.yaml"
human service register "$VS_TMP/svc/load-balancer.yaml"
hhas '^status: +applied$'
human profile create lb-web service=l4-load-balancer level=basic vms=a1 param.vip=10.0.0.100 param.port=80
hhas '^profile: +lb-web$' '^status: +applied$'
json profile create lb-bad service=l4-load-balancer level=basic vms=a1 param.port=80
both lb show
jhas ".load_balancers == [{\"profile\": \"lb-web\", \"service\": \"l4-load-balancer\", \"enabled\": [],
	\"vip\": \"10.0.0.100\", \"port\": 80, \"proto\": \"tcp\", \"backend_port\": 80, \"backends\": []},
	{\"profile\": \"lb-bad\", \"service\": \"l4-load-balancer\", \"enabled\": [],
	\"problem\": \"vip: '' is not an IPv4 address\"}]"
hhas '^load_balancers$' '^  PROFILE +SERVICE +ENABLED +VIP +PORT +PROTO +BACKEND_PORT +BACKENDS +PROBLEM$' \
	"^  lb-bad +l4-load-balancer +- +- +- +- +- +- +vip: '' is not an IPv4 address\$"
json profile delete lb-bad
human service configure l4-load-balancer backends=a2,b1,ghost
hhas '^service: +l4-load-balancer$' '^status: +applied$'
json service show l4-load-balancer
jhas '.insertion == "network"' '.configured == {"backends": "a2,b1,ghost"}' '.profiles == ["lb-web"]'
human service enable lb-web vm=a1
hhas '^profile: +lb-web$' '^status: +applied$'
both lb show lb-web
jhas '. == {"profile": "lb-web", "service": "l4-load-balancer", "enabled": ["vm=a1"],
	"vip": "10.0.0.100", "port": 80, "proto": "tcp", "backend_port": 80,
	"backends": [{"name": "a2", "ip": "10.0.0.4", "packets": 0}, {"name": "b1", "ip": "10.0.0.2", "packets": 0},
	{"name": "ghost", "ip": "unknown", "packets": 0}]}'
hhas '^profile: +lb-web$' '^service: +l4-load-balancer$' '^enabled: +vm=a1$' '^vip: +10\.0\.0\.100$' \
	'^port: +80$' '^proto: +tcp$' '^backend_port: +80$' '^backends$' '^  NAME +IP +PACKETS$' \
	'^  a2 +10\.0\.0\.4 +0$' '^  b1 +10\.0\.0\.2 +0$' '^  ghost +unknown +0$'
json lb show
jhas '[.load_balancers[].profile] == ["lb-web"]'
pass "lb show: a load balancer profile's VIP, port, backends (an unknown VM too) and enables; a bad VIP is a problem"

# refusals: a message, and the catalog unchanged
refused_svc "chain 'x': no profile 'nosuch'" chain create x ids-blue nosuch
refused_svc "chain 'x': profile 'tg-a1' is of service 'telnet-guard', whose insertion is 'switch'; a hop is a 'network' or 'external' service" chain create x tg-a1
refused_svc "chain 'x': profile 'lb-web' is of the built-in load-balancer 'l4-load-balancer', which is not a hop" chain create x scan-blue lb-web
refused_svc "chain 'x': profile 'ids-blue' is a hop twice" chain create x ids-blue scan-blue ids-blue
refused_svc "chain 'inspect' already exists" chain create inspect scan-blue
refused_svc "chain 'x': 9 hops; a chain has 1 to 8" chain create x h1 h2 h3 h4 h5 h6 h7 h8 h9
refused_svc "'x/y' is not a valid chain name" chain create x/y ids-blue
refused_svc "no chain 'nosuch'" chain show nosuch
refused_svc "no chain 'nosuch'" chain delete nosuch
refused_svc "profile 'ids-blue' is hop 1 of chain 'inspect': delete the chain first" profile delete ids-blue
refused_svc "profile 'scan-blue' is hop 2 of chain 'inspect': delete the chain first" profile delete scan-blue
refused_svc "service 'ids-appliance' has profile 'ids-blue': delete its profiles first" service unregister ids-appliance
refused_svc "no load balancer profile 'ids-blue'" lb show ids-blue
refused_svc "no load balancer profile 'nosuch'" lb show nosuch
pass "chain and lb errors: exit 1, a message, nothing changed"

human chain delete scan
hhas '^chain: +scan$' '^status: +applied$'
json chain delete inspect
jhas '.chain == "inspect"' '.status == "applied"'
both chain list
jhas '.chains == []'
json catalog list
jhas '.chains == []'
json service disable lb-web vm=a1
jhas '.profile == "lb-web"' '.status == "applied"'
pass "chain delete: the chains are gone, their profiles may be deleted"

# back to the start
human profile delete tg-a1
hhas '^profile: +tg-a1$' '^status: +applied$'
json profile delete tg-web
jhas '.profile == "tg-web"' '.status == "applied"'
human pool del web
hhas '^pool: +web$' '^status: +applied$'
json pool del spare
jhas '.pool == "spare"' '.status == "applied"'
human service unregister telnet-guard
hhas '^service: +telnet-guard$' '^status: +applied$'
for p in ids-blue scan-blue lb-web; do json profile delete "$p"; done
for s in ids-appliance remote-scan l4-load-balancer; do json service unregister "$s"; done
json catalog list
[ "$J" = "$catalog0" ] || soft "catalog list at the end: $J, at the start: $catalog0"
[ "$(catalog_state | jq -cS .)" = "$state0" ] || soft "services, profiles or pools left behind: $(catalog_state | jq -cS .)"
pass "profile delete, pool del, service unregister: the catalog is as it was at start"

# --- generic errors ----------------------------------------------------------------------------
refused "unknown command 'frobnicate' \(try 'help'\)" frobnicate
refused "unknown command 'port' \(try 'help'\)" port frobnicate
refused "unknown command 'port' \(try 'help'\)" port
refused "usage: version$" version extra
refused "usage: show$" show ports
refused "usage: help$" help port
refused "usage: port/show NAME$" port show
refused "usage: port/show NAME$" port show a1 a2
refused "usage: port/add NAME SOCKET \[mode=client\|server\] \[queues=N\] \[mtu=N\] \[vm=VM\]$" port add p7
refused "usage: endpoint/add NAME MAC VNET port=PORT\|tep=IPV4 \[ips=IP,\.\.\.\] \[groups=G,\.\.\.\]$" endpoint add c3 02:00:00:00:0c:03 blue
refused "usage: endpoint/move NAME port=PORT\|tep=IPV4$" endpoint move a1
refused "usage: vnet/add NAME VNI" vnet add x
refused "usage: policy/add NAME from=SEL to=SEL action=allow\|deny\|chain:CHAIN \[priority=N\] \[tenant=T\]$" policy add p1 from=any
refused "usage: tenant/add NAME$" tenant add
refused "usage: debug/policy-service-watch stop\|start$" debug policy-service-watch
refused "usage: config/check FILE$" config check
refused "usage: config/reload$" config reload now
refused "usage: service/enable PROFILE vm=VM\|pool=POOL\|vnet=NET$" service enable tg-a1
refused "usage: pool/add NAME VM,\.\.\.$" pool add web
refused "usage: chain/create NAME PROFILE \[PROFILE\.\.\.\]$" chain create x
refused "usage: chain/show NAME$" chain show
refused "usage: lb/show \[PROFILE\]$" lb show lb-web extra
refused "usage: flow/list \[PORT\]$" flow list underlay0 extra
pass "unknown commands and wrong argument counts: exit 1 with 'unknown command' / 'usage:'"

# --- rte_flow: af_packet has no rte_flow, so every rule is in software ------------------------
both flow list
json flow list underlay0
jq -e '[.rules[] | select(.port == "underlay0")] | length >= 3 and all(.hardware == "no")' <<<"$J" >/dev/null ||
	vs_fail "flow list: underlay0's rules are not all listed as software"
refused "port 'a1' is not a physical port|no physical port 'a1'" flow list a1
refused "no physical port 'nosuch'|no port 'nosuch'" flow list nosuch
pass "flow list: every rule of the physical port, not in hardware, with why; vhost and unknown ports refused"

# --- the end: the VMs still talk, the switch still runs ---------------------------------------
ping_vms 2
vs_running sw || vs_fail "the switch died"
[ "$FAILS" = 0 ] || vs_fail "$FAILS checks failed (see FAIL lines above)"
echo "cli_commands: all checks passed"
