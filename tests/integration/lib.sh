# shellcheck shell=bash
# shellcheck disable=SC2034  # VS_* variables are used by the tests
# Integration test library for dpdk-vswitch.  Source it, then call vs_init:
#
#   . "$(dirname "$0")/lib.sh"
#   vs_init my_test
#
# Everything created through the vs_* functions (network namespaces, links,
# background processes, the temp dir) is recorded and undone by the EXIT
# trap, and nothing else is touched.  Names of namespaces and interfaces
# must be unique per test run: build them with `vs_name BASE` (BASE plus
# the run's 5-char suffix $VS_SUFFIX, checked against the 15-char IFNAMSIZ
# limit, so BASE has at most 10 chars; VM names too, taps are VM+suffix).
#
# Environment:
#   VS_BUILD_DIR   build dir holding tests/tools/vm-bridge (default $VS_SRC/build)
#   VS_KEEP=1      keep $VS_TMP (logs, pcaps) after the test
#   VS_VM_SERVER=1 vs_vm_bridge: virtio_user is the vhost-user server
#                  (the switch must connect as client), default: client
#   VS_VERBOSE=1   print the commands run by the library helpers
#
# Exit status 77 (meson: SKIP) when not run as root.

VS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VS_SRC=$(cd "$VS_LIB_DIR/../.." && pwd)
export VS_SRC

_VS_CLEANED=0
_VS_NETNS=()          # namespaces we created
_VS_LINKS=()          # "netns|ifname" ("" = root ns) of links we created
_VS_PROCS=()          # names of background processes, start order
declare -A _VS_PID=() # name -> pid
declare -A _VS_FIFO_FD=() # name -> fd of the stdin FIFO we hold open
declare -A _VS_LOGOFF=() # name -> size of NAME.log when it was last started
declare -A VS_VM_TAP=() VS_VM_VDEV=() VS_VM_BRIDGE=() VS_VM_SOCK=()
VS_LAST_RC=0

vs_log() {
	printf '[%s] %s\n' "$(date +%T.%3N)" "$*"
}

vs_pass() {
	printf 'PASS: %s\n' "$*"
}

vs_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

_vs_run() {
	if [ "${VS_VERBOSE:-0}" = 1 ]; then
		printf '+ %s\n' "$*" >&2
	fi
	"$@"
}

# vs_name BASE -> BASE + unique suffix (fails if longer than 15 chars)
vs_name() {
	local n="$1$VS_SUFFIX"
	if [ "${#n}" -gt 15 ]; then
		vs_fail "name '$n' longer than 15 characters (shorten '$1')"
	fi
	printf '%s\n' "$n"
}

_vs_base36() {
	local n=$1 s='' d=0123456789abcdefghijklmnopqrstuvwxyz
	while [ "$n" -gt 0 ]; do
		s="${d:$((n % 36)):1}$s"
		n=$((n / 36))
	done
	printf '%s\n' "${s:-0}"
}

# vs_init NAME
vs_init() {
	local name=${1:?vs_init NAME}
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: $name needs root"
		exit 77
	fi
	set -euo pipefail
	VS_NAME=$name
	VS_TMP=$(mktemp -d "/tmp/vs-$name.XXXXXX")
	export VS_TMP VS_NAME
	trap '_vs_exit_trap' EXIT
	trap '_vs_signal_trap INT 130' INT
	trap '_vs_signal_trap TERM 143' TERM
	trap '_vs_signal_trap HUP 129' HUP
	# Fixed-length (5 chars) base-36 form of PID + k * 2^22: unique among
	# running tests (pid_max <= 2^22), and with a fixed length BASE+suffix
	# names of two tests can never be equal.  k > 0 only if leftovers of
	# a crashed earlier run use the name already.
	local existing k
	existing=$(ip netns list 2>/dev/null; ip -o link show 2>/dev/null | cut -d: -f2)
	for ((k = 0; k < 14; k++)); do
		VS_SUFFIX=$(_vs_base36 $(($$ + k * 4194304)))
		VS_SUFFIX=0000$VS_SUFFIX
		VS_SUFFIX=${VS_SUFFIX: -5}
		[[ $existing == *"$VS_SUFFIX"* ]] || break
	done
	export VS_SUFFIX
	if [ -n "${VS_BUILD_DIR:-}" ]; then
		VS_BUILD=$VS_BUILD_DIR
	else
		VS_BUILD=$VS_SRC/build
	fi
	export VS_BUILD
	[ -f "$VS_SRC/scripts/hugepages.sh" ] || vs_fail "missing $VS_SRC/scripts/hugepages.sh"
	bash "$VS_SRC/scripts/hugepages.sh" >/dev/null || vs_fail "hugepages setup failed"
	vs_log "test $name: tmp=$VS_TMP suffix=$VS_SUFFIX build=$VS_BUILD"
}

# ---- namespaces and links ---------------------------------------------

_vs_no_ipv6() {	# _vs_no_ipv6 NS|"" IFNAME
	local ns=$1 ifn=$2
	if [ -n "$ns" ]; then
		ip netns exec "$ns" sysctl -qw "net/ipv6/conf/$ifn/disable_ipv6=1" 2>/dev/null || true
	else
		sysctl -qw "net/ipv6/conf/$ifn/disable_ipv6=1" 2>/dev/null || true
	fi
}

_vs_ip() {	# _vs_ip NS|"" ARGS...
	local ns=$1
	shift
	if [ -n "$ns" ]; then
		_vs_run ip -n "$ns" "$@"
	else
		_vs_run ip "$@"
	fi
}

# vs_netns NAME: new namespace, lo up, IPv6 off
vs_netns() {
	local ns=${1:?vs_netns NAME}
	_vs_run ip netns add "$ns" || vs_fail "cannot create netns $ns"
	_VS_NETNS+=("$ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
}

# vs_veth A B [NS_B [NS_A]]: veth pair, both ends up, IPv6 off
vs_veth() {
	local a=${1:?vs_veth A B [NS_B [NS_A]]} b=${2:?vs_veth A B [NS_B [NS_A]]}
	local nsb=${3:-} nsa=${4:-}
	if [ "${#a}" -gt 15 ] || [ "${#b}" -gt 15 ]; then
		vs_fail "vs_veth: interface name longer than 15 chars ($a/$b)"
	fi
	_vs_run ip link add "$a" type veth peer name "$b" || vs_fail "cannot create veth $a/$b"
	_VS_LINKS+=("|$a")
	if [ -n "$nsa" ]; then
		_vs_run ip link set "$a" netns "$nsa"
		_VS_LINKS[-1]="$nsa|$a"
	fi
	[ -z "$nsb" ] || _vs_run ip link set "$b" netns "$nsb"
	_vs_no_ipv6 "$nsa" "$a"
	_vs_no_ipv6 "$nsb" "$b"
	_vs_ip "$nsa" link set "$a" up
	_vs_ip "$nsb" link set "$b" up
}

# vs_bridge NS BR IF...: Linux bridge in NS (STP and multicast snooping
# off) enslaving the given interfaces of NS ("" = root ns)
# vs_dpdk_veth ROOT PEER NS [MTU]: a veth whose root-namespace end ROOT a
# DPDK af_packet port uses, PEER moved into NS.  The root kernel must not
# answer ARP on ROOT for addresses it owns elsewhere (this machine's eth0
# may sit on a test network), so arp_ignore=8 there.
vs_dpdk_veth() {
	local root=${1:?vs_dpdk_veth ROOT PEER NS [MTU]} peer=${2:?} ns=${3:?} mtu=${4:-}
	vs_veth "$root" "$peer" "$ns"
	sysctl -qw "net.ipv4.conf.$root.arp_ignore=8"
	if [ -n "$mtu" ]; then
		ip link set "$root" mtu "$mtu"
		ip -n "$ns" link set "$peer" mtu "$mtu"
	fi
}

# vs_underlay NS BR MTU ROOT:PEER...: the underlay switch of a test: netns NS
# holding bridge BR, and one vs_dpdk_veth per host with its PEER on BR.
vs_underlay() {
	local ns=${1:?vs_underlay NS BR MTU ROOT:PEER...} br=${2:?} mtu=${3:?} pair peers=()
	shift 3
	vs_netns "$ns"
	for pair in "$@"; do
		vs_dpdk_veth "${pair%%:*}" "${pair#*:}" "$ns" "$mtu"
		peers+=("${pair#*:}")
	done
	vs_bridge "$ns" "$br" "${peers[@]}"
	ip -n "$ns" link set "$br" mtu "$mtu"
}

vs_bridge() {
	local ns=$1 br=${2:?vs_bridge NS BR IF...} ifn
	shift 2
	_vs_ip "$ns" link add "$br" type bridge stp_state 0 mcast_snooping 0 ||
		vs_fail "cannot create bridge $br"
	_VS_LINKS+=("$ns|$br")
	_vs_no_ipv6 "$ns" "$br"
	# A wire, not a firewall: br_netfilter would drop or reassemble
	# malformed IPv4 (bad checksums, fragments) that tests send on purpose.
	if [ -n "$ns" ]; then
		ip netns exec "$ns" sh -c 'for f in /proc/sys/net/bridge/bridge-nf-call-*; do [ -e "$f" ] && echo 0 > "$f"; done' 2>/dev/null || true
	fi
	for ifn in "$@"; do
		_vs_ip "$ns" link set "$ifn" master "$br" || vs_fail "cannot enslave $ifn to $br"
		_vs_ip "$ns" link set "$ifn" up
	done
	_vs_ip "$ns" link set "$br" up
}

# vs_kernel_vxlan NS DEV VNI LOCAL_IP REMOTE_IP OVERLAY_IP/LEN MAC [PHYSDEV]
# Kernel VXLAN device (dstport 4789) as a third VTEP.  REMOTE_IP "-" omits
# the remote (use fdb entries).  With PHYSDEV, tx checksum offload is
# turned off on it so that outer UDP checksums are valid on the wire.
vs_kernel_vxlan() {
	local ns=$1 dev=$2 vni=$3 lip=$4 rip=$5 oip=$6 mac=$7 phys=${8:-}
	local args=(id "$vni" dstport 4789 local "$lip")
	[ $# -ge 7 ] || vs_fail "vs_kernel_vxlan NS DEV VNI LOCAL_IP REMOTE_IP OVERLAY_IP/LEN MAC [PHYSDEV]"
	[ "$rip" = - ] || args+=(remote "$rip")
	if [ -n "$phys" ]; then
		args+=(dev "$phys")
		_vs_run ip netns exec "$ns" ethtool -K "$phys" tx off >/dev/null ||
			vs_fail "ethtool -K $phys tx off failed"
	fi
	_vs_ip "$ns" link add "$dev" type vxlan "${args[@]}" || vs_fail "cannot create vxlan $dev"
	_VS_LINKS+=("$ns|$dev")
	_vs_no_ipv6 "$ns" "$dev"
	_vs_ip "$ns" link set "$dev" address "$mac"
	_vs_ip "$ns" addr add "$oip" dev "$dev"
	_vs_ip "$ns" link set "$dev" up
}

# ---- background processes ---------------------------------------------

# vs_bg [--stdin-fifo] NAME CMD...: run CMD in the background, output to
# $VS_TMP/NAME.log.  --stdin-fifo: stdin is a FIFO ($VS_TMP/NAME.in) held
# open by the test (no EOF; e.g. non-interactive testpmd), see vs_bg_send.
vs_bg() {
	local fifo=0 name fd f
	if [ "${1:-}" = --stdin-fifo ]; then
		fifo=1
		shift
	fi
	name=${1:?vs_bg [--stdin-fifo] NAME CMD...}
	shift
	[ $# -gt 0 ] || vs_fail "vs_bg $name: no command"
	if [ -n "${_VS_PID[$name]:-}" ] && kill -0 "${_VS_PID[$name]}" 2>/dev/null; then
		vs_fail "vs_bg: $name is already running"
	fi
	[ "${VS_VERBOSE:-0}" = 1 ] && printf '+ [bg %s] %s\n' "$name" "$*" >&2
	# a restarted NAME appends to its log; waits only look at the new part
	_VS_LOGOFF[$name]=$(stat -c %s "$VS_TMP/$name.log" 2>/dev/null || echo 0)
	printf '### %s: %s\n' "$(date +%T.%3N)" "$*" >>"$VS_TMP/$name.log"
	fd=
	if [ "$fifo" = 1 ]; then
		rm -f "$VS_TMP/$name.in"
		mkfifo "$VS_TMP/$name.in"
		exec {fd}<>"$VS_TMP/$name.in"
	fi
	# A subshell that execs the command, so $! is the command's PID.
	# Unlike a plain `cmd &` in a script, it does not start the command
	# with SIGINT/SIGQUIT ignored.  FIFO fds held for other processes are
	# closed in it.
	(
		trap - INT QUIT
		for f in "${_VS_FIFO_FD[@]}"; do
			exec {f}>&-
		done
		if [ -n "$fd" ]; then
			exec "$@" <&"$fd" {fd}>&- >>"$VS_TMP/$name.log" 2>&1
		fi
		exec "$@" </dev/null >>"$VS_TMP/$name.log" 2>&1
	) &
	_VS_PID[$name]=$!
	[ -z "$fd" ] || _VS_FIFO_FD[$name]=$fd
	_VS_PROCS+=("$name")
}

# vs_bg_send NAME TEXT: write a line to the stdin FIFO of NAME
vs_bg_send() {
	local fd=${_VS_FIFO_FD[${1:?}]:-}
	[ -n "$fd" ] || vs_fail "vs_bg_send: $1 has no stdin FIFO"
	printf '%s\n' "$2" >&"$fd"
}

vs_pid() {
	printf '%s\n' "${_VS_PID[${1:?}]:-}"
}

vs_running() {
	local pid=${_VS_PID[${1:?}]:-}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# _vs_descendants PID: the PIDs below PID, deepest last
_vs_descendants() {
	local k
	for k in $(pgrep -P "$1"); do
		printf '%s\n' "$k"
		_vs_descendants "$k"
	done
}

_vs_any_alive() {
	local p
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && return 0
	done
	return 1
}

# vs_stop NAME [SIG]: SIG (default INT), wait up to 10 s, then SIGKILL it
# and every process below it.  Exit status in $VS_LAST_RC; always returns 0.
vs_stop() {
	local name=${1:?vs_stop NAME [SIG]} sig=${2:-INT} pid kids i rc=0 fd
	pid=${_VS_PID[$name]:-}
	VS_LAST_RC=0
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		# a niced poller competing with other pollers exits slowly
		kids=$(_vs_descendants "$pid")
		renice -n 0 -p "$pid" $kids >/dev/null 2>&1 || true
		kill -s "$sig" "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			vs_log "$name (pid $pid) ignored SIG$sig for 10 s, killing it"
			kids=$(_vs_descendants "$pid")
			kill -KILL "$pid" $kids 2>/dev/null || true
			for ((i = 0; i < 100; i++)); do
				_vs_any_alive "$pid" $kids || break
				sleep 0.1
			done
		fi
	fi
	# Seen here: timeout spinning in the kernel (shrink_dcache_parent)
	# for minutes while it reaps a killed testpmd.  The command is dead
	# by then; do not block the test on the reaping.
	if _vs_any_alive "$pid"; then
		vs_log "$name (pid $pid) not gone 10 s after SIGKILL, not waiting for it"
		rc=137
	else
		wait "$pid" 2>/dev/null || rc=$?
	fi
	VS_LAST_RC=$rc
	unset "_VS_PID[$name]"
	if [ -n "${_VS_FIFO_FD[$name]:-}" ]; then
		fd=${_VS_FIFO_FD[$name]}
		exec {fd}>&-
		unset "_VS_FIFO_FD[$name]"
	fi
	return 0
}

vs_logfile() {
	printf '%s\n' "$VS_TMP/${1:?}.log"
}

# vs_log_since NAME: NAME's log output since NAME was last started
vs_log_since() {
	local f=$VS_TMP/${1:?vs_log_since NAME}.log
	[ -f "$f" ] || return 0
	tail -c +"$((${_VS_LOGOFF[$1]:-0} + 1))" "$f"
}

_vs_tail() {
	local f=$VS_TMP/$1.log
	[ -f "$f" ] || return 0
	printf -- '----- last lines of %s -----\n' "$f" >&2
	tail -n "${2:-25}" "$f" >&2
	printf -- '-----\n' >&2
}

# vs_wait_log NAME PATTERN [TIMEOUT]: wait for an ERE in NAME's log
# (output since NAME was last started by vs_bg)
vs_wait_log() {
	local name=${1:?vs_wait_log NAME PATTERN [TIMEOUT]} pat=${2:?} tmo=${3:-30}
	local end
	end=$((SECONDS + tmo))
	while :; do
		if grep -qE -- "$pat" < <(vs_log_since "$name"); then
			return 0
		fi
		if [ -n "${_VS_PID[$name]:-}" ] && ! kill -0 "${_VS_PID[$name]}" 2>/dev/null; then
			grep -qE -- "$pat" < <(vs_log_since "$name") && return 0
			_vs_tail "$name"
			vs_fail "$name exited before logging /$pat/"
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			_vs_tail "$name"
			vs_fail "timeout (${tmo}s) waiting for /$pat/ in $name log"
		fi
		sleep 0.1
	done
}

# vs_wait_cmd TIMEOUT CMD...: run CMD until it succeeds
vs_wait_cmd() {
	local tmo=${1:?vs_wait_cmd TIMEOUT CMD...} end out
	shift
	end=$((SECONDS + tmo))
	while :; do
		if out=$("$@" 2>&1); then
			return 0
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			printf -- '----- last output of: %s -----\n%s\n-----\n' "$*" "$out" >&2
			vs_fail "timeout (${tmo}s) waiting for: $*"
		fi
		sleep 0.2
	done
}

# ---- VMs: vm-bridge = virtio_user (vhost-user frontend) <-> net_tap ------

# vs_switch_yaml FILE HOST IP IFNAME [IDLE_SLEEP_US]: the common head of a
# switch configuration: one worker on lcore 1, control socket and state in
# $VS_TMP, one physical port (af_packet on IFNAME) with underlay IP/24.
# Append the rest (vhost_ports, networks, ...) to FILE.
# VS_UL_MTU: the underlay MTU (default 1550); VS_UL_DEVARGS: more af_packet
# devargs (jumbo frames need framesz=, docs/qemu.md).
vs_switch_yaml() {
	local file=${1:?vs_switch_yaml FILE HOST IP IFNAME} host=${2:?} ip=${3:?} ifn=${4:?}
	cat > "$file" <<EOF
eal:
  lcores: "0@0,1@1"
  main_lcore: 0
  memory_mb: 256
  file_prefix: vs-$host-$VS_SUFFIX
  in_memory: true
  args: [--no-pci, "--log-level=*:notice"]
workers:
  lcores: [1]
  idle_sleep_max_us: ${5:-500}
  mbufs: 8192
control:
  socket: $VS_TMP/$host.sock
  state_dir: $VS_TMP/state-$host
physical_ports:
  - name: underlay0
    devargs: net_af_packet_$host$VS_SUFFIX,iface=$ifn${VS_UL_DEVARGS:+,$VS_UL_DEVARGS}
    rx_queues: 1
    ip: $ip/24
    mtu: ${VS_UL_MTU:-1550}
EOF
}

# vs_vm_bridge NAME SOCKDIR VM...: one vm-bridge process NAME with a
# virtio_user port on SOCKDIR/<vm>.sock and a tap "<vm>$VS_SUFFIX" per VM.
# Default: virtio_user is the client (the switch owns the sockets); with
# VS_VM_SERVER=1 virtio_user creates the sockets and the switch connects.
# Waits for READY (taps exist, server sockets listening); the virtio side
# connects whenever the switch is there: see vs_vm_wait_up.
vs_vm_bridge() {
	local name=${1:?vs_vm_bridge NAME SOCKDIR VM...} dir=${2:?} vm i=0 tap sock srv=''
	local bin=$VS_BUILD/tests/tools/vm-bridge args
	shift 2
	[ $# -gt 0 ] || vs_fail "vs_vm_bridge: no VM names"
	[ -x "$bin" ] || vs_fail "vm-bridge not built: $bin"
	[ "${VS_VM_SERVER:-0}" = 1 ] && srv=',server=1'
	mkdir -p "$dir"
	args=(--no-pci --in-memory --single-file-segments
		--file-prefix "vmb-$name-$VS_SUFFIX"
		--lcores "0@(0-$(($(nproc) - 1)))")
	for vm in "$@"; do
		if [ -n "${VS_VM_BRIDGE[$vm]:-}" ] && vs_running "${VS_VM_BRIDGE[$vm]}"; then
			vs_fail "VM $vm already belongs to the running vm-bridge ${VS_VM_BRIDGE[$vm]}"
		fi
		tap=$vm$VS_SUFFIX
		[ "${#tap}" -le 15 ] || vs_fail "VM name '$vm' too long for a tap name ($tap)"
		sock=$dir/$vm.sock
		[ "${#sock}" -lt 108 ] || vs_fail "socket path too long: $sock"
		args+=(--vdev "virtio_user$i,path=$sock,queues=1$srv" --vdev "net_tap$i,iface=$tap")
		VS_VM_TAP[$vm]=$tap
		VS_VM_VDEV[$vm]=virtio_user$i
		VS_VM_BRIDGE[$vm]=$name
		VS_VM_SOCK[$vm]=$sock
		i=$((i + 1))
	done
	vs_bg "$name" timeout -s INT "${VS_VM_BRIDGE_TIMEOUT:-1800}" "$bin" "${args[@]}"
	vs_wait_log "$name" '^VM_BRIDGE READY' 30
}

# vs_vm_attach VM NS IP/LEN|- MAC [MTU]: move the VM's tap into NS and
# configure it like a guest NIC; `ip netns exec NS ping ...` is then the
# VM pinging.  IP "-" configures no address.  MTU default 1500 (frames
# towards the VM are limited to MTU 1500 by net_tap).
vs_vm_attach() {
	local vm=${1:?vs_vm_attach VM NS IP/LEN MAC [MTU]} ns=${2:?} ipa=${3:?} mac=${4:?}
	local mtu=${5:-1500} tap
	tap=${VS_VM_TAP[$vm]:-}
	[ -n "$tap" ] || vs_fail "vs_vm_attach: unknown VM $vm"
	if ! ip -n "$ns" link show "$tap" >/dev/null 2>&1; then
		_vs_run ip link set "$tap" netns "$ns" || vs_fail "cannot move $tap into $ns"
	fi
	_vs_no_ipv6 "$ns" "$tap"
	ip netns exec "$ns" sysctl -qw "net/ipv4/conf/$tap/arp_notify=0" 2>/dev/null || true
	_vs_ip "$ns" link set "$tap" down
	_vs_ip "$ns" link set "$tap" address "$mac"
	_vs_ip "$ns" link set "$tap" mtu "$mtu"
	if [ "$ipa" != - ]; then
		_vs_ip "$ns" addr replace "$ipa" dev "$tap"
	fi
	_vs_ip "$ns" link set "$tap" up
	[ "$mtu" -le 1500 ] || vs_log "note: $vm MTU $mtu: frames above 1522 bytes towards the VM are dropped by net_tap"
}

vs_vm_tap() {
	printf '%s\n' "${VS_VM_TAP[${1:?}]:?unknown VM $1}"
}

# vs_vm_is_up VM: the VM's virtio_user port is connected (last UP/DOWN/LINK
# line of its vm-bridge for it says so)
vs_vm_is_up() {
	local vm=${1:?} dev br last
	dev=${VS_VM_VDEV[$vm]:?unknown VM $vm}
	br=${VS_VM_BRIDGE[$vm]}
	last=$(vs_log_since "$br" | grep -E "^VM_BRIDGE (UP|DOWN|LINK) $dev( |$)" | tail -n 1) || true
	case $last in
	"VM_BRIDGE UP $dev "* | "VM_BRIDGE LINK $dev up") return 0 ;;
	esac
	return 1
}

vs_vm_is_down() {
	! vs_vm_is_up "$@"
}

# vs_vm_wait_up VM [TIMEOUT]: wait until the VM is connected to the switch
vs_vm_wait_up() {
	local vm=${1:?vs_vm_wait_up VM [TIMEOUT]} tmo=${2:-30} end
	end=$((SECONDS + tmo))
	until vs_vm_is_up "$vm"; do
		if [ "$SECONDS" -ge "$end" ]; then
			_vs_tail "${VS_VM_BRIDGE[$vm]}"
			vs_fail "timeout (${tmo}s) waiting for VM $vm to connect"
		fi
		sleep 0.1
	done
}

# vs_vm_wait_down VM [TIMEOUT]: wait until the VM lost its switch connection
vs_vm_wait_down() {
	local vm=${1:?vs_vm_wait_down VM [TIMEOUT]} tmo=${2:-30} end
	end=$((SECONDS + tmo))
	while vs_vm_is_up "$vm"; do
		if [ "$SECONDS" -ge "$end" ]; then
			_vs_tail "${VS_VM_BRIDGE[$vm]}"
			vs_fail "timeout (${tmo}s) waiting for VM $vm to disconnect"
		fi
		sleep 0.1
	done
}

# ---- captures ----------------------------------------------------------

# vs_capture NAME NS|"" IF [FILTER]: tcpdump on IF into $VS_TMP/NAME.pcap
vs_capture() {
	local name=${1:?vs_capture NAME NS IF [FILTER]} ns=${2:-} ifn=${3:?} filter=${4:-}
	# --immediate-mode: without it packets still in the kernel ring's
	# current block are lost when tcpdump is stopped
	local cmd=(tcpdump -i "$ifn" -n -U --immediate-mode -Z root -w "$VS_TMP/$name.pcap")
	[ -z "$filter" ] || cmd+=("$filter")
	if [ -n "$ns" ]; then
		cmd=(ip netns exec "$ns" "${cmd[@]}")
	fi
	vs_bg "cap-$name" "${cmd[@]}"
	vs_wait_log "cap-$name" 'listening on' 15
}

# vs_capture_stop NAME: stop tcpdump (pcap complete afterwards); prints path
vs_capture_stop() {
	local name=${1:?vs_capture_stop NAME}
	vs_stop "cap-$name" INT
	printf '%s\n' "$VS_TMP/$name.pcap"
}

vs_pcap() {
	printf '%s\n' "$VS_TMP/${1:?}.pcap"
}

# vs_pcap_count NAME [DISPLAY_FILTER]: frames in NAME.pcap matching a
# tshark display filter (UDP 4789 decoded as VXLAN)
vs_pcap_count() {
	local f=$VS_TMP/${1:?vs_pcap_count NAME [FILTER]}.pcap filt=${2:-}
	local args=(-r "$f" -n -d 'udp.port==4789,vxlan')
	[ -z "$filt" ] || args+=(-Y "$filt")
	tshark "${args[@]}" 2>/dev/null | wc -l
}

# ---- cleanup -----------------------------------------------------------

# vs_cleanup: stop our processes, delete our links and namespaces.
# Idempotent; also run by the EXIT trap (which then removes $VS_TMP
# unless VS_KEEP=1).
vs_cleanup() {
	local i name entry ns ifn
	for ((i = ${#_VS_PROCS[@]} - 1; i >= 0; i--)); do
		name=${_VS_PROCS[$i]}
		[ -n "${_VS_PID[$name]:-}" ] || continue
		vs_stop "$name" INT
	done
	_VS_PROCS=()
	for ((i = ${#_VS_LINKS[@]} - 1; i >= 0; i--)); do
		entry=${_VS_LINKS[$i]}
		ns=${entry%%|*}
		ifn=${entry#*|}
		if [ -n "$ns" ]; then
			ip -n "$ns" link del "$ifn" 2>/dev/null || true
		else
			ip link del "$ifn" 2>/dev/null || true
		fi
	done
	_VS_LINKS=()
	for ((i = ${#_VS_NETNS[@]} - 1; i >= 0; i--)); do
		ip netns del "${_VS_NETNS[$i]}" 2>/dev/null || true
	done
	_VS_NETNS=()
}

# vs_at_exit CMD...: run CMD (a simple command) at exit, after the vs_bg
# processes are stopped and before $VS_TMP is removed: for what the test
# started outside vs_bg (e.g. an etcd cluster).
_VS_AT_EXIT=()
vs_at_exit() {
	_VS_AT_EXIT+=("$(printf '%q ' "$@")")
}

# On a signal (meson's timeout sends TERM) say where the script was, so
# a hang can be located from the log alone.
_vs_signal_trap() {
	local i
	printf '%s: SIG%s while in' "$VS_NAME" "$1" >&2
	for ((i = 1; i + 1 < ${#FUNCNAME[@]}; i++)); do
		printf ' %s, called at %s:%s;' "${FUNCNAME[$i]}" "${BASH_SOURCE[$i + 1]##*/}" "${BASH_LINENO[$i]}" >&2
	done
	printf '\n' >&2
	exit "$2"
}

_vs_exit_trap() {
	local rc=$? f c
	set +e +u
	trap - EXIT INT TERM HUP
	[ "$_VS_CLEANED" = 1 ] && exit "$rc"
	_VS_CLEANED=1
	if [ "$rc" != 0 ] && [ -d "${VS_TMP:-}" ]; then
		for f in "$VS_TMP"/*.log; do
			[ -f "$f" ] || continue
			f=${f##*/}
			_vs_tail "${f%.log}" 15
		done
	fi
	vs_cleanup
	for c in "${_VS_AT_EXIT[@]}"; do
		eval "$c" >/dev/null 2>&1
	done
	if [ -n "${VS_TMP:-}" ] && [ -d "$VS_TMP" ]; then
		if [ "${VS_KEEP:-0}" = 1 ]; then
			echo "kept $VS_TMP" >&2
		else
			rm -rf "$VS_TMP"
		fi
	fi
	exit "$rc"
}

# ASan/UBSan runs (scripts/test.sh): fail the test on any sanitizer report
[ "${VS_SANITIZER:-0}" != 1 ] || . "$VS_LIB_DIR/lib_sanitizer.sh"
