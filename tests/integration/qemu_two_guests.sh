#!/usr/bin/env bash
# Two real QEMU guests (TCG, Debian kernel + busybox, tests/vm/) on one
# switch, in one virtual network.  The switch's vhost ports are in client
# mode: QEMU owns the sockets.  Checks, from inside the guests:
#   - the switch attaches both guests (vswitchctl shows the ports up);
#   - g1 pings g2 and g2 pings g1 (5 pings each, no loss);
#   - 1 MiB of random data crosses g1 -> g2 with busybox nc, same md5sum.
# Skips (77) only when QEMU and the guest tooling cannot be installed.
# shellcheck disable=SC2016  # the $ in guest commands expand in the guest
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$VS_SRC/tests/vm/guest.sh"
vs_init qemu_two_guests

vm_require qemu_two_guests
T0=$SECONDS
CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX

vm_image || vs_fail "cannot build the guest image (tests/vm/build-guest.sh)"
vs_log "guest image: $VM_IMAGE"

# The switch needs an underlay port even for local traffic.
vs_netns "ul$S"
vs_dpdk_veth "vQ$S" "uQ$S" "ul$S" 1600

SOCK=$VS_TMP/vh
mkdir -p "$SOCK"
CFG=$VS_TMP/sw.yaml
vs_switch_yaml "$CFG" sw 198.51.100.1 "vQ$S"
cat >> "$CFG" <<EOF
vhost_ports:
  - name: g1
    socket: $SOCK/g1.sock
    mode: client
    vm: g1
  - name: g2
    socket: $SOCK/g2.sock
    mode: client
    vm: g2
virtual_networks:
  - name: blue
    vni: 100
    subnets: [10.0.0.0/24]
endpoints:
  - name: g1
    mac: "52:54:00:00:0a:01"
    ips: [10.0.0.1]
    vnet: blue
    port: g1
  - name: g2
    mac: "52:54:00:00:0a:02"
    ips: [10.0.0.2]
    vnet: blue
    port: g2
EOF
"$SW" -c "$CFG" --check

# QEMU first (it owns the sockets), then the switch connects to them.
vm_start g1 "$SOCK/g1.sock" 10.0.0.1/24 52:54:00:00:0a:01
vm_start g2 "$SOCK/g2.sock" 10.0.0.2/24 52:54:00:00:0a:02
vm_wait_socket g1 "$SOCK/g1.sock" || vs_fail "QEMU g1 did not create its socket"
vm_wait_socket g2 "$SOCK/g2.sock" || vs_fail "QEMU g2 did not create its socket"
vs_bg sw "$SW" -c "$CFG"
vs_wait_log sw "running" 60
vm_wait_booted g1 || vs_fail "guest g1 did not boot"
vm_wait_booted g2 || vs_fail "guest g2 did not boot"
vs_log "both guests up $((SECONDS - T0)) s after start"
vs_pass "two QEMU guests boot on the switch's client-mode vhost ports"

ctl() { "$CTL" -s "$VS_TMP/sw.sock" "$@"; }
ctl --json show > "$VS_TMP/show.json"
jq -e '[.ports[] | select(.type == "vhost-user" and .mode == "client" and .link == "up")] | length == 2' \
	"$VS_TMP/show.json" >/dev/null || { ctl show; vs_fail "the switch does not show g1 and g2 up in client mode"; }

[ "$(vm_exec g1 cat /sys/class/net/eth0/address)" = 52:54:00:00:0a:01 ] || vs_fail "g1 has the wrong MAC"
[ "$(vm_exec g2 hostname)" = g2 ] || vs_fail "g2 has the wrong hostname"

# The first ping after boot may be lost (link just up): wait for one reply.
ok=0
for _ in $(seq 30); do
	if vm_exec g1 ping -c 1 -W 2 10.0.0.2 >/dev/null; then ok=1; break; fi
done
[ "$ok" = 1 ] || { ctl stats; ctl stats drops; vs_fail "g1 never got a ping reply from g2"; }
out=$(vm_exec g1 ping -c 5 -i 0.2 -W 2 10.0.0.2) || { echo "$out"; ctl stats drops; vs_fail "g1 -> g2 ping failed"; }
grep -q ' 0% packet loss' <<<"$out" || { echo "$out"; vs_fail "g1 -> g2 lost pings"; }
vs_log "g1 -> g2: $(grep -E 'round-trip|rtt' <<<"$out")"
out=$(vm_exec g2 ping -c 5 -i 0.2 -W 2 10.0.0.1) || { echo "$out"; ctl stats drops; vs_fail "g2 -> g1 ping failed"; }
grep -q ' 0% packet loss' <<<"$out" || { echo "$out"; vs_fail "g2 -> g1 lost pings"; }
vs_pass "g1 and g2 ping each other from inside the guests (5/5 each way)"

# 1 MiB g1 -> g2 over TCP.  busybox nc shuts down its sending side when its
# stdin ends and exits when the peer does; the receiver's stdin (a sleep)
# must stay open, or it would close the connection at once.
vm_exec g1 'dd if=/dev/urandom of=/tmp/blob bs=1024 count=1024 2>/dev/null' || vs_fail "g1: dd failed"
sum1=$(vm_exec g1 md5sum /tmp/blob | cut -d' ' -f1)
vm_exec g2 'rm -f /tmp/recv /tmp/nc.rc; (sleep 120 | (nc -l -p 5001 > /tmp/recv 2>/tmp/nc.err; echo $? > /tmp/nc.rc)) >/dev/null 2>&1 &' ||
	vs_fail "g2: cannot start the nc listener"
vm_exec g2 'i=0; while ! netstat -ltn | grep -q ":5001 "; do i=$((i+1)); [ $i -lt 50 ] || exit 1; sleep 0.1; done' ||
	vs_fail "g2: nc does not listen on 5001"
t=$SECONDS
VM_EXEC_TIMEOUT=120 vm_exec g1 'timeout 100 nc 10.0.0.2 5001 < /tmp/blob' || vs_fail "g1: nc send failed"
VM_EXEC_TIMEOUT=30 vm_exec g2 'i=0; while [ ! -s /tmp/nc.rc ]; do i=$((i+1)); [ $i -lt 200 ] || exit 1; sleep 0.1; done' ||
	vs_fail "g2: nc did not finish receiving ($(vm_exec g2 'ls -l /tmp/recv; cat /tmp/nc.err'))"
vm_exec g2 'kill $(pidof sleep) 2>/dev/null; true' >/dev/null
[ "$(vm_exec g2 cat /tmp/nc.rc)" = 0 ] || vs_fail "g2: nc exited with $(vm_exec g2 cat /tmp/nc.rc /tmp/nc.err)"
sum2=$(vm_exec g2 md5sum /tmp/recv | cut -d' ' -f1)
size2=$(vm_exec g2 stat -c %s /tmp/recv)
[ "$size2" = 1048576 ] || vs_fail "g2 received $size2 bytes, expected 1048576"
[ -n "$sum1" ] || vs_fail "g1: no md5sum"
[ "$sum1" = "$sum2" ] || vs_fail "md5 differs: sent $sum1, received $sum2"
vs_pass "1 MiB crosses g1 -> g2 with nc in $((SECONDS - t)) s, md5sum $sum1 on both sides"

ctl stats ports || true
ctl stats drops || true
vs_log "total $((SECONDS - T0)) s"
echo "qemu_two_guests: all checks passed"
