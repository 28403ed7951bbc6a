#!/usr/bin/env bash
# The control socket of a real dpdk-vswitch under load and abuse:
#   - the socket file has mode 0660;
#   - 8 concurrent clients x 1,000 requests (show, stats, port list,
#     endpoint list) on one connection each: every reply ok, id echoed;
#   - garbage (cli_garbage.py): malformed JSON, an array instead of an
#     object, a non-string "cmd", bad "args", unknown commands, 100 KiB
#     without a newline, silent clients, half requests, more than 64
#     clients; after each one another client is still served;
#   - vswitchctl says "too many clients" when all 64 slots are taken;
#   - clients that disconnect before reading a large (> 256 KiB) reply;
#   - a client idle for 30 s is disconnected;
#   - a second switch on the same control socket fails with a clear
#     message and the first keeps serving (a live socket is never stolen);
#     so does one whose socket path is a regular file;
#   - after SIGKILL a new switch replaces the stale socket.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init cli_robustness

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
PY=/usr/bin/python3
G=$(cd "$(dirname "$0")" && pwd)/cli_garbage.py
S=$VS_SUFFIX
SOCK=$VS_TMP/ctl/r.sock    # its directory does not exist yet: the switch creates it

# --- one switch, its physical port on a veth into a namespace ---------------
vs_netns "ul$S"
vs_dpdk_veth "vR$S" "uR$S" "ul$S"
ip -n "ul$S" addr add 198.51.100.2/24 dev "uR$S"

write_config() { # file prefix socket [physical port: yes|no]
	# state_dir: live changes are saved there (default /var/lib/dpdk-vswitch)
	cat > "$1" <<EOF
eal:
  lcores: "0@0,1@1"
  main_lcore: 0
  memory_mb: 256
  file_prefix: $2
  in_memory: true
  args: [--no-pci, "--log-level=*:notice", "--log-level=vswitch.ctl*:info"]
workers:
  lcores: [1]
  mbufs: 4096
control:
  socket: $3
  state_dir: $VS_TMP/state-$2
EOF
	[ "${4:-yes}" = yes ] || return 0
	cat >> "$1" <<EOF
physical_ports:
  - name: underlay0
    devargs: net_af_packet_r$S,iface=vR$S
    ip: 198.51.100.1/24
virtual_networks:
  - name: blue
    vni: 100
  - name: big
    vni: 500
endpoints:
  - name: b1
    mac: "02:00:00:00:0b:01"
    ips: [10.0.0.2]
    vnet: blue
    tep: 198.51.100.2
EOF
}
write_config "$VS_TMP/r.yaml" "vs-r-$S" "$SOCK"

ctl() { "$CTL" -s "$SOCK" "$@"; }
# A misbehaviour that does not stop the rest of the test: printed now,
# the test fails at the end.
FAILS=0
soft() {
	printf 'FAIL: %s\n' "$*" >&2
	FAILS=$((FAILS + 1))
}

vs_bg sw "$SW" -c "$VS_TMP/r.yaml"
vs_wait_log sw "running" 60
ctl show >/dev/null || vs_fail "the switch does not answer show"

[ -S "$SOCK" ] || vs_fail "$SOCK is not a socket"
mode=$(stat -c %a "$SOCK")
[ "$mode" = 660 ] || vs_fail "control socket mode is $mode, expected 660"
vs_pass "control socket $SOCK created with mode 0660 (parent directory created)"

# A silent client, opened now and left alone: the daemon drops it after 30 s
# while everything below goes on.
vs_bg idle "$PY" -u "$G" idle "$SOCK" 29 40
vs_wait_log idle "IDLE OPEN" 10

# --- 8 concurrent clients x 1,000 requests -------------------------------------
out=$("$PY" -u "$G" load "$SOCK" 8 1000) || { printf '%s\n' "$out"; vs_fail "concurrent clients saw failures"; }
printf '%s\n' "$out"
grep -q "8000 ok, 0 failed" <<<"$out" || vs_fail "concurrent clients: $out"
vs_pass "8 concurrent clients x 1,000 requests, no failure: ${out#*failed }"

# --- garbage -----------------------------------------------------------------------
if "$PY" -u "$G" garbage "$SOCK"; then
	vs_pass "every garbage case answered or dropped; other clients served after each"
else
	soft "the daemon mishandled garbage (see FAIL lines above)"
fi
vs_running sw || vs_fail "the switch died on garbage"

# --- vswitchctl when every client slot is taken ----------------------------------
vs_bg --stdin-fifo hold "$PY" -u "$G" hold "$SOCK" 64
vs_wait_log hold "HOLDING" 15
bad=0
for i in $(seq 1 100); do
	rc=0
	"$CTL" -s "$SOCK" version >"$VS_TMP/busy.out" 2>"$VS_TMP/busy.err" || rc=$?
	if [ "$rc" = 0 ] || ! grep -q "too many clients (max 64)" "$VS_TMP/busy.err"; then
		bad=$((bad + 1))
		[ "$bad" -gt 3 ] || vs_log "vswitchctl version with 64 clients connected: exit $rc, stderr: $(cat "$VS_TMP/busy.err")"
	fi
done
vs_stop hold
# the daemon frees the slots when it sees the connections close
vs_wait_cmd 5 "$CTL" -s "$SOCK" version
if [ "$bad" = 0 ]; then
	vs_pass "vswitchctl reports 'too many clients (max 64)' when every slot is taken"
else
	soft "$bad of 100 vswitchctl runs did not report 'too many clients (max 64)' while all slots were taken"
fi

# --- large replies ---------------------------------------------------------------
# 3,000 more endpoints (remote, in network big) make `show` > 256 KiB, more
# than a unix socket buffers: the daemon is left with a half-sent reply.
awk -v n=3000 'BEGIN { for (i = 0; i < n; i++)
	printf "  - name: big%d\n    mac: \"02:00:00:01:%02x:%02x\"\n    vnet: big\n    tep: 198.51.100.2\n",
		i, int(i / 256), i % 256 }' >> "$VS_TMP/r.yaml"
added=$(ctl --json config reload | jq -r '.changes.endpoints.added') || vs_fail "config reload with 3,000 more endpoints failed"
[ "$added" = 3000 ] || vs_fail "config reload added $added endpoints, expected 3000"
if "$PY" -u "$G" large "$SOCK" 262144; then
	vs_pass "clients that disconnect before reading a large reply leave the daemon serving"
else
	soft "clients that leave before reading a large reply upset the daemon"
fi
vs_running sw || vs_fail "the switch died"

# --- a live socket is never stolen ---------------------------------------------------
ino=$(stat -c %i "$SOCK")
write_config "$VS_TMP/second.yaml" "vs-r2-$S" "$SOCK" no
rc=0
timeout 60 "$SW" -c "$VS_TMP/second.yaml" >"$VS_TMP/second.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || vs_fail "a second switch started on the control socket of a running one"
[ "$rc" != 124 ] || vs_fail "the second switch hung"
grep -q "control socket $SOCK: another switch is serving it" "$VS_TMP/second.out" ||
	vs_fail "no clear message from the second switch: $(tail -n 5 "$VS_TMP/second.out")"
vs_running sw || vs_fail "the first switch died when a second one tried its socket"
[ "$(stat -c %i "$SOCK")" = "$ino" ] || vs_fail "the control socket file was replaced"
ctl show >/dev/null || vs_fail "the first switch no longer answers"
vs_pass "a second switch on the same socket exits $rc: '$(grep -o 'control socket.*' "$VS_TMP/second.out" | head -n 1)'; the first keeps serving"

# ... nor is a file that is not a socket
echo "not a socket" > "$VS_TMP/plain"
write_config "$VS_TMP/third.yaml" "vs-r3-$S" "$VS_TMP/plain" no
rc=0
timeout 60 "$SW" -c "$VS_TMP/third.yaml" >"$VS_TMP/third.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || vs_fail "a switch took over a regular file as its socket (exit $rc)"
grep -q "control socket $VS_TMP/plain: " "$VS_TMP/third.out" ||
	vs_fail "no clear message for a socket path that is a regular file: $(tail -n 5 "$VS_TMP/third.out")"
[ "$(cat "$VS_TMP/plain")" = "not a socket" ] || vs_fail "the regular file was changed"
vs_pass "a socket path that is a regular file is refused: '$(grep -o 'control socket.*' "$VS_TMP/third.out" | head -n 1)'"

# --- the idle client was dropped after 30 s -----------------------------------------
vs_wait_log idle "IDLE CLOSED" 45
for i in $(seq 1 50); do vs_running idle || break; sleep 0.1; done
vs_stop idle
[ "$VS_LAST_RC" = 0 ] || vs_fail "idle client: $(vs_log_since idle | tail -n 2)"
vs_pass "a silent client is disconnected: $(grep -o 'IDLE CLOSED.*' "$(vs_logfile idle)")"

# --- SIGKILL leaves a stale socket, which the next switch replaces -------------------
vs_stop sw KILL
[ -S "$SOCK" ] || vs_fail "expected a stale socket after SIGKILL"
rc=0
"$CTL" -s "$SOCK" show >/dev/null 2>"$VS_TMP/stale.err" || rc=$?
[ "$rc" = 2 ] && grep -q "cannot connect to $SOCK: Connection refused" "$VS_TMP/stale.err" ||
	vs_fail "vswitchctl on a stale socket: exit $rc, $(cat "$VS_TMP/stale.err")"
vs_bg sw "$SW" -c "$VS_TMP/r.yaml"
vs_wait_log sw "running" 60
vs_log_since sw | grep -q "replacing stale socket $SOCK" || vs_fail "no 'replacing stale socket' message"
[ "$(stat -c %a "$SOCK")" = 660 ] || vs_fail "the new socket's mode is $(stat -c %a "$SOCK")"
n=$(ctl --json show | jq '.endpoints | length')
[ "$n" = 3001 ] || vs_fail "the restarted switch has $n endpoints, expected 3001"
vs_pass "after SIGKILL a new switch replaces the stale socket and serves"

ctl show >/dev/null || vs_fail "the switch does not answer show at the end"
vs_running sw || vs_fail "the switch is not running at the end"
[ "$FAILS" = 0 ] || vs_fail "$FAILS checks failed (see FAIL lines above)"
echo "cli_robustness: all checks passed"
