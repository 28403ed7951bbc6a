#!/usr/bin/env bash
# Multiqueue: a VM's traffic spreads over several workers.  One switch with
# two workers (lcores 1 and 2 on CPUs 1 and 0: this machine has 2), guest
# g1 with 2 vCPUs and a 2-queue-pair port (QEMU queues=2, mq=on), guest g2
# with one queue.  The switch starts with ports gx (a VM that is gone) and
# g2; a `config reload` removes gx, another adds g1, so g1's port arrives
# when one worker already polls two queues and the other none.  Checks:
#   - g1's two rx queues are polled by different workers (`stats workers`),
#     and g2's queue did not move when gx went and g1 came;
#   - the guest uses both queue pairs and its virtio-net sends on the tx
#     queue of the vCPU it runs on (XPS): pings pinned to vCPU 0, then to
#     vCPU 1 (busybox taskset), arrive on g1's queue 0, then queue 1, each
#     counted by the worker polling that queue (per-worker packet counters
#     minus what the single-queue ports brought in);
#   - pings both ways without loss, and 1 MiB g1 -> g2 from each vCPU at
#     once plus 1 MiB g2 -> g1 with busybox nc, md5sum equal.
# Skips (77) only when QEMU and the guest tooling cannot be installed.
# shellcheck disable=SC2016  # the $ in guest commands expand in the guest
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$VS_SRC/tests/vm/guest.sh"
vs_init qemu_multiqueue

vm_require qemu_multiqueue
T0=$SECONDS
CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
NPING=100

vm_image || vs_fail "cannot build the guest image (tests/vm/build-guest.sh)"
vs_log "guest image: $VM_IMAGE"

vs_netns "ul$S"
vs_dpdk_veth "vM$S" "uM$S" "ul$S" 1600

SOCK=$VS_TMP/vh
mkdir -p "$SOCK"
CFG=$VS_TMP/sw.yaml
# write_cfg PORT...: the switch config with these vhost ports (PORT:QUEUES)
# and an endpoint for each of g1/g2 among them.  Two workers: lcore 2
# shares CPU 0 with the control thread; idle workers nap.
write_cfg() {
	local p name q
	vs_switch_yaml "$CFG" sw 198.51.100.1 "vM$S"
	sed -i 's/^  lcores: "0@0,1@1"$/  lcores: "0@0,1@1,2@0"/; s/^  lcores: \[1\]$/  lcores: [1, 2]/' "$CFG"
	grep -q '^  lcores: \[1, 2\]$' "$CFG" || vs_fail "vs_switch_yaml changed: cannot set two workers"
	echo "vhost_ports:" >> "$CFG"
	for p in "$@"; do
		name=${p%:*} q=${p#*:}
		printf '  - name: %s\n    socket: %s\n    mode: client\n    queues: %s\n    vm: %s\n' \
			"$name" "$SOCK/$name.sock" "$q" "$name" >> "$CFG"
	done
	printf 'virtual_networks:\n  - name: blue\n    vni: 100\n    subnets: [10.0.0.0/24]\nendpoints:\n' >> "$CFG"
	for p in "$@"; do
		name=${p%:*}
		case $name in g1 | g2) ;; *) continue ;; esac
		printf '  - name: %s\n    mac: "52:54:00:00:0d:0%s"\n    ips: [10.0.0.%s]\n    vnet: blue\n    port: %s\n' \
			"$name" "${name#g}" "${name#g}" "$name" >> "$CFG"
	done
}

ctl() { "$CTL" -s "$VS_TMP/sw.sock" "$@"; }
# worker_of QUEUE: index of the worker polling QUEUE ("g1:0"), or empty
worker_of() {
	ctl --json stats workers | jq -r --arg q "$1" '.workers[] | select(.rx_queues | index($q)) | .worker'
}
# counters: "W0_PACKETS W1_PACKETS G1_RX G2_RX UL_RX"
counters() {
	ctl --json stats all | jq -r '[.workers[0].packets, .workers[1].packets,
		(.ports[] | select(.name == "g1") | .rx_packets),
		(.ports[] | select(.name == "g2") | .rx_packets),
		(.ports[] | select(.name == "underlay0") | .rx_packets)] | @tsv'
}
ping_ok() { vm_exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
wait_ping() {
	local t=$SECONDS
	until ping_ok "$1" "$2"; do
		[ $((SECONDS - t)) -lt "$3" ] || return 1
	done
}
# ping_n FROM DST ARGS...: pings without loss (up to 3 runs: a TCG vCPU on
# 2 shared CPUs may stall for a second, not the switch's fault).
# PING_CPU: run ping pinned to that vCPU of FROM.
ping_n() {
	local from=$1 dst=$2 out i pre=
	shift 2
	[ -z "${PING_CPU:-}" ] || pre="taskset -c $PING_CPU"
	for i in 1 2 3; do
		out=$(vm_exec "$from" "$pre" ping "$@" -W 2 "$dst") && grep -q ' 0% packet loss' <<<"$out" && return 0
		vs_log "$from -> $dst run $i: $(grep -E 'packet loss' <<<"$out" || echo "$out")"
	done
	return 1
}

# ---- g1's port arrives by config reload, after gx left ------------------
VM_SMP=2 VM_QUEUES=2 vm_start g1 "$SOCK/g1.sock" 10.0.0.1/24 52:54:00:00:0d:01
vm_start g2 "$SOCK/g2.sock" 10.0.0.2/24 52:54:00:00:0d:02
vm_wait_socket g1 "$SOCK/g1.sock" || vs_fail "QEMU g1 did not create its socket"
vm_wait_socket g2 "$SOCK/g2.sock" || vs_fail "QEMU g2 did not create its socket"
write_cfg gx:1 g2:1
"$SW" -c "$CFG" --check
vs_bg sw "$SW" -c "$CFG"
vs_wait_log sw "running" 60
ctl --json stats workers | jq -e '.workers | length == 2' >/dev/null || { ctl stats workers; vs_fail "the switch does not run two workers"; }
w_g2=$(worker_of g2:0)
vs_log "before the reload: $(ctl --json stats workers | jq -c '[.workers[] | .rx_queues]')"
write_cfg g2:1
ctl config reload >/dev/null || vs_fail "config reload (gx removed) failed"
vs_log "gx removed: $(ctl --json stats workers | jq -c '[.workers[] | .rx_queues]')"
write_cfg g2:1 g1:2
ctl config reload >/dev/null || vs_fail "config reload (g1 with 2 queues added) failed"
ctl --json show | jq -e '.ports[] | select(.name == "g1") | .rx_queues == 2' >/dev/null ||
	{ ctl show; vs_fail "g1's port does not have 2 rx queues"; }
w0=$(worker_of g1:0) w1=$(worker_of g1:1)
vs_log "after the reload: $(ctl --json stats workers | jq -c '[.workers[] | .rx_queues]')"
[ -n "$w0" ] && [ -n "$w1" ] || { ctl stats workers; vs_fail "g1's rx queues are not both polled"; }
[ "$w0" != "$w1" ] || { ctl stats workers; vs_fail "g1:0 and g1:1 are both polled by worker $w0"; }
[ "$(worker_of g2:0)" = "$w_g2" ] || vs_fail "g2's rx queue moved from worker $w_g2 to $(worker_of g2:0)"
vs_pass "g1's rx queues on workers $w0 and $w1; g2's queue stayed on worker $w_g2"

vm_wait_booted g1 || vs_fail "guest g1 did not boot"
vm_wait_booted g2 || vs_fail "guest g2 did not boot"
vs_log "both guests up $((SECONDS - T0)) s after start"
[ "$(vm_exec g1 nproc)" = 2 ] || vs_fail "g1 does not have 2 vCPUs"
qs=$(vm_exec g1 'ls /sys/class/net/eth0/queues | tr "\n" " "')
xps=$(vm_exec g1 'for q in 0 1; do printf "tx-$q:%s " $(cat /sys/class/net/eth0/queues/tx-$q/xps_cpus); done')
vs_log "g1 queues: $qs; XPS: $xps"
[ "$qs" = "rx-0 rx-1 tx-0 tx-1 " ] || vs_fail "g1 does not use 2 queue pairs: $qs"
wait_ping g1 10.0.0.2 30 || { ctl stats drops; vs_fail "g1 never got a ping reply from g2"; }
ping_n g1 10.0.0.2 -c 5 -i 0.2 || vs_fail "g1 -> g2 lost pings"
ping_n g2 10.0.0.1 -c 5 -i 0.2 || vs_fail "g2 -> g1 lost pings"
vs_pass "g1 (2 vCPUs, 2 queue pairs) and g2 ping each other (5/5 each way)"

# ---- each vCPU's traffic arrives on its own queue and worker -------------
declare -A g1_on=()   # "CPU:WORKER" -> g1's packets that worker received
for cpu in 0 1; do
	read -r a0 a1 ag1 ag2 aul < <(counters)
	PING_CPU=$cpu ping_n g1 10.0.0.2 -c "$NPING" -i 0.01 -q ||
		vs_fail "g1 -> g2: $NPING pings from vCPU $cpu lost some"
	read -r b0 b1 bg1 bg2 bul < <(counters)
	# What each worker got from g1: its packets minus the single-queue
	# ports' (g2's queue and the underlay's each have one worker).
	for w in 0 1; do
		d=$(( w == 0 ? b0 - a0 : b1 - a1 ))
		[ "$(worker_of g2:0)" != "$w" ] || d=$((d - (bg2 - ag2)))
		[ "$(worker_of underlay0:0)" != "$w" ] || d=$((d - (bul - aul)))
		g1_on[$cpu:$w]=$d
	done
	vs_log "vCPU $cpu: g1 sent $((bg1 - ag1)) frames; worker 0 got ${g1_on[$cpu:0]}, worker 1 ${g1_on[$cpu:1]} of them"
	wq=$(worker_of "g1:$cpu")
	[ "${g1_on[$cpu:$wq]}" -ge "$NPING" ] ||
		{ ctl stats workers; vs_fail "vCPU $cpu's $NPING pings did not arrive on g1:$cpu (worker $wq got ${g1_on[$cpu:$wq]})"; }
	[ "${g1_on[$cpu:$((1 - wq))]}" -lt $((NPING / 10)) ] ||
		vs_fail "vCPU $cpu's pings also arrived on the other queue (worker $((1 - wq)) got ${g1_on[$cpu:$((1 - wq))]})"
done
vs_pass "$NPING pings from g1's vCPU 0 arrive on g1:0 (worker $w0: ${g1_on[0:$w0]}), from vCPU 1 on g1:1 (worker $w1: ${g1_on[1:$w1]}): both workers carry g1's traffic"

# ---- data both ways, g1 sending from both vCPUs at once ------------------
# busybox nc shuts its sending side at the end of stdin and exits when the
# peer does; a receiver's stdin (a sleep) must stay open.
# listen GUEST PORT: nc receiving into /tmp/recvPORT, exit status in /tmp/rcPORT
listen() {
	vm_exec "$1" "rm -f /tmp/recv$2 /tmp/rc$2; (sleep 300 | (nc -l -p $2 > /tmp/recv$2 2>/dev/null; echo \$? > /tmp/rc$2)) >/dev/null 2>&1 &" ||
		vs_fail "$1: cannot start nc on port $2"
	vm_exec "$1" "i=0; while ! netstat -ltn | grep -q ':$2 '; do i=\$((i+1)); [ \$i -lt 50 ] || exit 1; sleep 0.1; done" ||
		vs_fail "$1: nc does not listen on $2"
}
# received GUEST PORT: wait for the receiver, print "SIZE MD5"
received() {
	VM_EXEC_TIMEOUT=150 vm_exec "$1" "i=0; while [ ! -s /tmp/rc$2 ]; do i=\$((i+1)); [ \$i -lt 1200 ] || exit 1; sleep 0.1; done" ||
		vs_fail "$1: nc on port $2 did not finish ($(vm_exec "$1" ls -l "/tmp/recv$2"))"
	[ "$(vm_exec "$1" cat /tmp/rc$2)" = 0 ] || vs_fail "$1: nc on port $2 exited with $(vm_exec "$1" cat /tmp/rc$2)"
	echo "$(vm_exec "$1" stat -c %s /tmp/recv$2) $(vm_exec "$1" md5sum /tmp/recv$2 | cut -d' ' -f1)"
}
for g in g1 g2; do
	vm_exec "$g" 'dd if=/dev/urandom of=/tmp/blob bs=1024 count=1024 2>/dev/null' || vs_fail "$g: dd failed"
done
sum1=$(vm_exec g1 md5sum /tmp/blob | cut -d' ' -f1)
sum2=$(vm_exec g2 md5sum /tmp/blob | cut -d' ' -f1)
listen g2 5000
listen g2 5001
listen g1 5002
read -r a0 a1 ag1 _ < <(counters)
t=$SECONDS
vm_exec g1 "for c in 0 1; do (taskset -c \$c timeout 120 nc 10.0.0.2 500\$c < /tmp/blob > /dev/null 2>&1 &); done" ||
	vs_fail "g1: cannot start the senders"
VM_EXEC_TIMEOUT=150 vm_exec g2 'timeout 120 nc 10.0.0.1 5002 < /tmp/blob' || vs_fail "g2 -> g1: nc send failed"
for p in 5000 5001; do
	read -r size sum < <(received g2 $p)
	[ "$size" = 1048576 ] && [ "$sum" = "$sum1" ] || vs_fail "g1 (vCPU ${p#500}) -> g2: $size bytes, md5 $sum, sent md5 $sum1"
done
read -r size sum < <(received g1 5002)
[ "$size" = 1048576 ] && [ "$sum" = "$sum2" ] || vs_fail "g2 -> g1: $size bytes, md5 $sum, sent md5 $sum2"
read -r b0 b1 bg1 _ < <(counters)
vm_exec g2 'kill $(pidof sleep) 2>/dev/null; true' >/dev/null
vm_exec g1 'kill $(pidof sleep) 2>/dev/null; true' >/dev/null
vs_pass "1 MiB g1 -> g2 from each vCPU at once and 1 MiB g2 -> g1 in $((SECONDS - t)) s, md5sums equal; workers counted $((b0 - a0)) and $((b1 - a1)) packets ($((bg1 - ag1)) from g1)"

drops=$(ctl --json stats drops | jq -r '.drops[] | select(.count > 0) | "\(.reason)=\(.count)"' | tr '\n' ' ')
vs_log "drops: ${drops:-none}"
ctl stats workers || true
vs_log "total $((SECONDS - T0)) s"
echo "qemu_multiqueue: all checks passed"
