#!/usr/bin/env bash
# Live changes persist (control.state_dir): one switch whose CLI changes
# (port add/del, vnet add, endpoint add/move/del, also of YAML-defined
# objects) are saved to $STATE/state.yaml.
#   1. After SIGTERM and a restart with the same YAML, `show` lists the same
#      ports, networks and endpoints (revisions aside) and the log says the
#      state was restored; the same after SIGKILL.
#   2. 20 rounds of: a burst of changes in the background, SIGKILL of the
#      switch at a random moment within it, restart.  Every restart comes up
#      with the state file loaded, never rejected, and holds every change
#      that was acknowledged (plus at most the one in flight).
#   3. `config reload` makes the YAML authoritative again: the CLI's changes
#      go, the state file is rewritten (a restart keeps the YAML's objects).
#   4. A reload of a broken YAML (syntax error; duplicate MAC) is refused
#      with FILE:LINE:COL, and nothing changes (show, state file).
#   5. A corrupted (truncated) state file is rejected at start with a clear
#      message, renamed to state.yaml.rejected, and the switch starts from
#      the YAML; the next change is saved and restored again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init persistence

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
STATE=$VS_TMP/state
YAML=$VS_TMP/sw.yaml
SOCK=$VS_TMP/sw.sock
ROUNDS=${PERSIST_ROUNDS:-20}

# --- underlay: one veth, the peer in a namespace ------------------------------
vs_netns "ul$S"
vs_dpdk_veth "vP$S" "uP$S" "ul$S"
ip -n "ul$S" addr add 198.51.100.2/24 dev "uP$S"

mkdir -p "$VS_TMP/vm"
cat > "$YAML" <<EOF
eal:
  lcores: "0@0,1@1"
  main_lcore: 0
  memory_mb: 128
  file_prefix: vs-p-$S
  in_memory: true
  args: [--no-pci, "--log-level=*:notice"]
workers:
  lcores: [1]
  idle_sleep_max_us: 500
  mbufs: 4096
control:
  socket: $SOCK
  state_dir: $STATE
physical_ports:
  - name: underlay0
    devargs: net_af_packet_p$S,iface=vP$S
    ip: 198.51.100.1/24
vhost_ports:
  - name: p1
    socket: $VS_TMP/vm/p1.sock
    mode: server
  - name: p2
    socket: $VS_TMP/vm/p2.sock
    mode: server
    vm: vm2
virtual_networks:
  - name: blue
    vni: 100
    subnets: [10.0.0.0/24]
  - name: red
    vni: 200
    flood: true
endpoints:
  - name: e1
    mac: "02:00:00:00:00:01"
    ips: [10.0.0.1]
    vnet: blue
    port: p1
  - name: e2
    mac: "02:00:00:00:00:02"
    ips: [10.0.0.2]
    vnet: blue
    port: p2
  - name: r1
    mac: "02:00:00:00:01:01"
    ips: [10.0.0.11]
    vnet: blue
    tep: 198.51.100.2
  - name: r2
    mac: "02:00:00:00:02:01"
    ips: [10.0.0.12]
    vnet: red
    tep: 198.51.100.3
EOF
"$SW" -c "$YAML" --check
cp "$YAML" "$VS_TMP/good.yaml"

ctl() { "$CTL" -s "$SOCK" "$@"; }
# must CMD...: a change that has to succeed
must() {
	local out
	out=$(ctl "$@" 2>&1) || vs_fail "vswitchctl $* failed: $out"
}
# start_sw: start the switch, wait until it serves; never a rejected state
start_sw() {
	vs_bg sw "$SW" -c "$YAML"
	vs_wait_log sw "running" 60
	if grep -q 'state file rejected' < <(vs_log_since sw); then
		vs_log_since sw | tail -n 20 >&2
		vs_fail "${1:-start}: the switch rejected its state file"
	fi
}
# stop_sw SIG: vs_stop, with stderr off meanwhile (bash reports a job
# killed by SIGKILL there, with the whole vs_bg subshell's text)
stop_sw() {
	local err
	exec {err}>&2 2>/dev/null
	vs_stop sw "$1"
	exec 2>&"$err" {err}>&-
}
restored() { grep -q "restored from $STATE/state.yaml" < <(vs_log_since sw); }
# The ports, networks and endpoints of `show`, sorted by name.  Left out:
# endpoint revisions (a counter of changes) and, of vhost-user ports, the
# link (no VM here) and the MAC (the vhost PMD derives it from the ethdev
# port id, i.e. from the order in which ports were created).
filt() {
	ctl --json show | jq -S '{
		ports: ([.ports[] | if .type == "vhost-user" then del(.mac, .link) else . end] | sort_by(.name)),
		networks: (.networks | sort_by(.name)),
		endpoints: ([.endpoints[] | del(.revision)] | sort_by(.name))}'
}
# snap: the same as sorted lines ("P name mode socket", "N name vni",
# "E name vni mac location"), the form the model below uses
snap() {
	ctl --json show | jq -r '
		(.ports[] | select(.type == "vhost-user") | "P \(.name) \(.mode) \(.address)"),
		(.networks[] | "N \(.name) \(.vni)"),
		(.endpoints[] | "E \(.name) \(.vni) \(.mac | ascii_downcase) \(.location)")' |
		LC_ALL=C sort
}
same_json() { # A B WHAT
	if ! diff -u "$1" "$2" > "$VS_TMP/diff.out"; then
		head -n 60 "$VS_TMP/diff.out" >&2
		vs_fail "$3: show differs (- before, + after)"
	fi
}

# --- 1. changes survive SIGTERM and SIGKILL ----------------------------------
start_sw
restored && vs_fail "first start: the log says a state was restored, but there was none"
filt > "$VS_TMP/yaml.json"
snap > "$VS_TMP/yaml.snap"
must port add p3 "$VS_TMP/vm/p3.sock" mode=server vm=v3
must port add p4 "$VS_TMP/vm/p4.sock" mode=client queues=2
must vnet add green 300 subnets=10.3.0.0/24 flood=true
must endpoint add g1 02:00:00:00:03:01 green port=p3 ips=10.3.0.1
must endpoint add g2 02:00:00:00:03:02 green tep=198.51.100.4 ips=10.3.0.2
must endpoint move r1 tep=198.51.100.3
must endpoint move e2 port=p4
must endpoint del e1
must port del p1
[ -s "$STATE/state.yaml" ] || vs_fail "no $STATE/state.yaml after 9 changes"
[ "$(stat -c %a "$STATE")" = 755 ] || vs_fail "the state dir was created with mode $(stat -c %a "$STATE"), not 0755"
filt > "$VS_TMP/cli.json"
jq -e '([.ports[].name] | index("p3") and index("p4") and (index("p1") | not)) and
	([.endpoints[].name] | index("g1") and (index("e1") | not)) and
	([.networks[].name] | index("green"))' "$VS_TMP/cli.json" > /dev/null ||
	{ cat "$VS_TMP/cli.json" >&2; vs_fail "show does not reflect the CLI changes"; }
vs_pass "9 CLI changes applied and saved to $STATE/state.yaml"

for sig in TERM KILL; do
	stop_sw "$sig"
	if [ "$sig" = TERM ] && [ "$VS_LAST_RC" != 0 ]; then
		vs_fail "the switch exited with $VS_LAST_RC after SIGTERM"
	fi
	start_sw "restart after SIG$sig"
	restored || { vs_log_since sw | tail -n 20 >&2; vs_fail "after SIG$sig: the log does not say the state was restored"; }
	filt > "$VS_TMP/after-$sig.json"
	same_json "$VS_TMP/cli.json" "$VS_TMP/after-$sig.json" "restart after SIG$sig"
	vs_pass "after SIG$sig and a restart with the same YAML, show is identical (state restored)"
done

# --- 2. SIGKILL within bursts of changes --------------------------------------
# The model: MOD["P|name"]="P name mode socket", ["N|name"]="N name vni",
# ["E|name"]="E name vni mac location".
declare -A MOD=()
model_from() { # snapshot file
	local line k
	for k in "${!MOD[@]}"; do unset "MOD[$k]"; done
	while read -r line; do
		k=${line#* }
		MOD["${line%% *}|${k%% *}"]=$line
	done < "$1"
}
model_print() {
	local k
	for k in "${!MOD[@]}"; do printf '%s\n' "${MOD[$k]}"; done | LC_ALL=C sort
}
vni_of() { local v=${MOD[N|$1]}; printf '%s\n' "${v##* }"; }
# change WORDS... : record a burst command and apply it to the model
BURST=()
change() {
	BURST+=("$*")
	local a=("$@") mac
	case "${a[0]} ${a[1]}" in
	"port add") MOD["P|${a[2]}"]="P ${a[2]} ${a[4]#mode=} ${a[3]}" ;;
	"port del") unset "MOD[P|${a[2]}]" ;;
	"vnet add") MOD["N|${a[2]}"]="N ${a[2]} ${a[3]}" ;;
	"vnet del") unset "MOD[N|${a[2]}]" ;;
	"endpoint add")
		case ${a[5]} in
		port=*) MOD["E|${a[2]}"]="E ${a[2]} $(vni_of "${a[4]}") ${a[3]} port ${a[5]#port=}" ;;
		tep=*) MOD["E|${a[2]}"]="E ${a[2]} $(vni_of "${a[4]}") ${a[3]} tep ${a[5]#tep=}" ;;
		esac ;;
	"endpoint move")
		local e=${MOD[E|${a[2]}]} w=${a[3]}
		read -r _ _ vni mac _ <<<"$e"
		MOD["E|${a[2]}"]="E ${a[2]} $vni $mac ${w%%=*} ${w#*=}" ;;
	"endpoint del") unset "MOD[E|${a[2]}]" ;;
	*) vs_fail "model: unknown change $*" ;;
	esac
}
snap > "$VS_TMP/cur.snap"
model_from "$VS_TMP/cur.snap"
cmp -s <(model_print) "$VS_TMP/cur.snap" || vs_fail "model round trip broken"

t0=$SECONDS
kills_mid=0
for ((r = 1; r <= ROUNDS; r++)); do
	BURST=()
	model_print > "$VS_TMP/snap.$r.0"
	h=$(printf '%02x' "$r")
	change endpoint add "k$r" "02:00:00:10:00:$h" blue "tep=198.51.100.$((10 + r))" "ips=10.0.0.$((100 + r))"
	model_print > "$VS_TMP/snap.$r.1"
	change vnet add "n$r" $((1000 + r)) "subnets=10.50.$r.0/24"
	model_print > "$VS_TMP/snap.$r.2"
	change port add "q$r" "$VS_TMP/vm/q$r.sock" mode=server
	model_print > "$VS_TMP/snap.$r.3"
	change endpoint add "kq$r" "02:00:00:11:00:$h" "n$r" "port=q$r" "ips=10.50.$r.1"
	model_print > "$VS_TMP/snap.$r.4"
	change endpoint move r1 "tep=198.51.100.$((20 + r))"
	model_print > "$VS_TMP/snap.$r.5"
	change endpoint move "kq$r" tep=198.51.100.2
	model_print > "$VS_TMP/snap.$r.6"
	change port del "q$r"
	model_print > "$VS_TMP/snap.$r.7"
	change endpoint del "kq$r"
	model_print > "$VS_TMP/snap.$r.8"
	change vnet del "n$r"
	model_print > "$VS_TMP/snap.$r.9"
	change vnet add "m$r" $((2000 + r))
	model_print > "$VS_TMP/snap.$r.10"
	change endpoint add "km$r" "02:00:00:12:00:$h" "m$r" tep=198.51.100.2 "ips=10.60.$r.1"
	model_print > "$VS_TMP/snap.$r.11"
	change endpoint move "k$r" tep=198.51.100.2
	model_print > "$VS_TMP/snap.$r.12"
	n=${#BURST[@]}
	printf '%s\n' "${BURST[@]}" > "$VS_TMP/burst.$r"
	: > "$VS_TMP/acked.$r"
	# the burst: one change after the other, each acknowledged in acked.$r
	vs_bg burst bash -c 'j=0; while read -r -a c; do j=$((j + 1));
		"$0" -s "$1" -t 5 "${c[@]}" > /dev/null 2>> "$3.err" || exit 0
		echo "$j" >> "$3"; done < "$2"' "$CTL" "$SOCK" "$VS_TMP/burst.$r" "$VS_TMP/acked.$r"
	# kill -9 as soon as a random number of changes are acknowledged, plus
	# a random 0-3 ms: builtins only (no fork), so the kill lands within
	# the next change, sometimes while the state file is being written
	k=$((RANDOM % n))
	swpid=$(vs_pid sw)
	end=$((SECONDS + 20))
	while :; do
		mapfile -t acks < "$VS_TMP/acked.$r"
		[ "${#acks[@]}" -lt "$k" ] || break
		if [ "$SECONDS" -ge "$end" ] || ! vs_running burst; then
			cat "$VS_TMP/acked.$r.err" >&2 || true
			vs_fail "round $r: the burst stopped after ${#acks[@]} of $n changes"
		fi
	done
	for ((x = RANDOM % 2000; x > 0; x--)); do :; done
	kill -KILL "$swpid"
	stop_sw KILL
	while vs_running burst; do sleep 0.05; done
	vs_stop burst
	acked=$(wc -l < "$VS_TMP/acked.$r")
	[ "$acked" -lt "$n" ] && kills_mid=$((kills_mid + 1))
	start_sw "round $r"
	restored || { vs_log_since sw | tail -n 20 >&2; vs_fail "round $r: the restart did not restore the state file"; }
	snap > "$VS_TMP/cur.snap"
	m=''
	for j in "$acked" $((acked + 1)); do
		[ "$j" -le "$n" ] || continue
		if cmp -s "$VS_TMP/snap.$r.$j" "$VS_TMP/cur.snap"; then m=$j; break; fi
	done
	if [ -z "$m" ]; then
		diff -u "$VS_TMP/snap.$r.$acked" "$VS_TMP/cur.snap" >&2 || true
		vs_fail "round $r: killed after $acked of $n acknowledged changes, but the restarted switch holds neither that state nor the next one (- expected after $acked, + shown)"
	fi
	vs_log "round $r: killed after $acked/$n acknowledged changes (target $k), restarted with $m applied"
	model_from "$VS_TMP/cur.snap"
done
vs_pass "$ROUNDS x SIGKILL within a burst of changes ($kills_mid with changes still to come): every restart loaded the state file, with every acknowledged change"
vs_log "state dir after the kills: $(ls -A "$STATE" | tr '\n' ' ')"
[ ! -e "$STATE/state.yaml.rejected" ] || vs_fail "a state file was rejected during the kill loop"
must vnet add after-kills 3000
vs_stop sw TERM
start_sw "restart after the kill loop"
restored || vs_fail "restart after the kill loop: state not restored"
snap | grep -qx 'N after-kills 3000' || vs_fail "the change after the kill loop was not kept"
# a kill during a save leaves state.yaml.tmp.PID; the next start removes it
leftovers=$(ls -A "$STATE" | grep -vx 'state.yaml' || true)
[ -z "$leftovers" ] || vs_fail "temporary state files left after a restart: $(tr '\n' ' ' <<<"$leftovers")"
vs_pass "after the kill loop the state dir holds only state.yaml"
vs_log "kill loop: $((SECONDS - t0)) s"

# --- 3. config reload makes the YAML authoritative again ---------------------
out=$(ctl --json config reload 2>&1) || vs_fail "config reload failed: $out"
filt > "$VS_TMP/reload.json"
same_json "$VS_TMP/yaml.json" "$VS_TMP/reload.json" "config reload (vs. the YAML at first start)"
for n in green p3 g1 after-kills k1; do
	if grep -qw -- "$n" "$STATE/state.yaml"; then
		vs_fail "the state file still names '$n' after config reload"
	fi
done
vs_stop sw TERM
start_sw "restart after config reload"
filt > "$VS_TMP/reload-restart.json"
same_json "$VS_TMP/yaml.json" "$VS_TMP/reload-restart.json" "restart after config reload"
vs_pass "config reload dropped the CLI changes and rewrote the state file; a restart keeps the YAML's objects"

# --- 4. a broken YAML is refused, nothing changes ----------------------------
must vnet add kept 700
# everything `show` says but the workers' counters
live() { ctl --json show | jq -S 'del(.workers)'; }
live > "$VS_TMP/before.json"
sum0=$(md5sum < "$STATE/state.yaml")
# reload_refused WHAT ERE: reload fails with an error matching ERE, and
# changes nothing (show, state file)
reload_refused() {
	local out
	if out=$(ctl config reload 2>&1); then
		vs_fail "$1: config reload succeeded: $out"
	fi
	grep -qE "$2" <<<"$out" || vs_fail "$1: the error does not match /$2/: $out"
	live > "$VS_TMP/after.json"
	same_json "$VS_TMP/before.json" "$VS_TMP/after.json" "$1: refused reload"
	[ "$(md5sum < "$STATE/state.yaml")" = "$sum0" ] || vs_fail "$1: the refused reload rewrote the state file"
	vs_pass "$1: reload refused ($(grep -oE "$2.*" <<<"$out" | head -n 1 | sed "s|$VS_TMP/||")); show and state file unchanged"
}
line=$(grep -n '^    vni: 200$' "$VS_TMP/good.yaml" | cut -d: -f1)
sed "${line}s/.*/    vni: 200: 300/" "$VS_TMP/good.yaml" > "$YAML"
reload_refused "syntax error" "$YAML:$line:[0-9]+: "
# e2 takes e1's MAC: the second occurrence is reported
line=$(grep -n '"02:00:00:00:00:02"' "$VS_TMP/good.yaml" | cut -d: -f1)
sed "${line}s/02:00:00:00:00:02/02:00:00:00:00:01/" "$VS_TMP/good.yaml" > "$YAML"
reload_refused "duplicate MAC" "$YAML:$line:[0-9]+: "
# a valid file that changes a restart-only setting
sed 's|ip: 198.51.100.1/24|ip: 198.51.100.9/24|' "$VS_TMP/good.yaml" > "$YAML"
reload_refused "underlay address changed" "underlay0.*restart"
cp "$VS_TMP/good.yaml" "$YAML"

# --- 5. a corrupted state file is rejected, the YAML used --------------------
# corrupt WHAT POSITION(yes|no) HOW...: with a CLI change saved (so the state
# differs from the YAML), stop the switch, corrupt state.yaml with HOW, start
# (from the 2nd case on, an older state.yaml.rejected is there to be replaced)
corrupt() {
	local what=$1 pos=$2 size msg new
	shift 2
	must vnet add "c$((++NCORRUPT))" $((900 + NCORRUPT))
	vs_stop sw TERM
	size=$(stat -c %s "$STATE/state.yaml")
	"$@"
	new=$(stat -c %s "$STATE/state.yaml")
	vs_log "$what: state.yaml cut from $size to $new bytes, ending '$(tail -c 24 "$STATE/state.yaml" | tr '\n' '|')'"
	vs_bg sw "$SW" -c "$YAML"
	vs_wait_log sw "running" 60
	msg=$(grep -E 'state file rejected' < <(vs_log_since sw) || true)
	[ -n "$msg" ] || { vs_log_since sw | tail -n 20 >&2; vs_fail "$what: the state file was not reported as rejected"; }
	if [ "$pos" = yes ]; then
		grep -qE "$STATE/state.yaml:[0-9]+:[0-9]+: " <<<"$msg" ||
			vs_fail "$what: the rejection does not say where the state file is broken: $msg"
	else
		grep -qF "$STATE/state.yaml" <<<"$msg" || vs_fail "$what: the rejection does not name the file: $msg"
	fi
	[ -f "$STATE/state.yaml.rejected" ] || vs_fail "$what: the file was not renamed to state.yaml.rejected ($(ls -A "$STATE"))"
	[ "$(stat -c %s "$STATE/state.yaml.rejected")" = "$new" ] || vs_fail "$what: state.yaml.rejected is not the corrupted file"
	if restored; then vs_fail "$what: the log says the state was restored from the corrupted file"; fi
	filt > "$VS_TMP/fallback.json"
	same_json "$VS_TMP/yaml.json" "$VS_TMP/fallback.json" "$what: start after a rejected state file (vs. the YAML)"
	vs_pass "$what: rejected at start (${msg##*: state file rejected, }), kept as state.yaml.rejected; the switch started from the YAML"
}
NCORRUPT=0
cut_lines() { # keep the first half of the lines: valid YAML, no final '...'
	local n
	n=$(wc -l < "$STATE/state.yaml")
	head -n $((n / 2)) "$STATE/state.yaml" > "$STATE/cut" && mv "$STATE/cut" "$STATE/state.yaml"
}
cut_mac() { # inside the first MAC: an unterminated quoted string (or a bad MAC)
	local at
	at=$(grep -bo 'mac: ' "$STATE/state.yaml" | head -n 1 | cut -d: -f1)
	[ -n "$at" ] || { cat "$STATE/state.yaml" >&2; vs_fail "no MAC in the state file"; }
	truncate -s $((at + 9)) "$STATE/state.yaml"
}
corrupt "cut between two lines" yes cut_lines
corrupt "cut inside a MAC" yes cut_mac
corrupt "cut to 0 bytes" no truncate -s 0 "$STATE/state.yaml"
must vnet add again 800
vs_stop sw TERM
start_sw "restart after recovering from a rejected state file"
restored || vs_fail "the state saved after recovery was not restored"
snap | grep -qx 'N again 800' || vs_fail "the change made after the recovery was not restored"
vs_pass "after the recovery changes are saved and restored again"

vs_stop sw TERM
[ "$VS_LAST_RC" = 0 ] || vs_fail "the switch exited with $VS_LAST_RC"
echo "persistence: all checks passed"
