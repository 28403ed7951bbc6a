#!/usr/bin/env bash
# shellcheck shell=bash
# Small QEMU guests (TCG) whose virtio-net NIC is a vhost-user port of the
# switch.  A library for the tests and a command line for people:
#
#   . tests/vm/guest.sh                      # library
#   vm_start NAME SOCKET IP/PREFIX MAC [MTU] # boot; QEMU owns SOCKET (server)
#   vm_wait_booted NAME [TIMEOUT]            # eth0 configured, agent answers
#   vm_exec NAME CMD...                      # output; exit status of CMD
#   vm_qmp NAME CMD [JSON_ARGS]             # one QMP command, prints "return"
#   vm_stop NAME | vm_stop_all
#
#   tests/vm/guest.sh start|wait|exec|stop|console|list|image ...   # by hand
#
# QEMU is the vhost-user socket server (`server=on,wait=off`); the switch
# connects as a client (vhost_ports mode: client), and reconnects after it
# restarts without the guest noticing more than a link flap.  QEMU does
# not start the guest before the first connection on SOCKET.
#
# Per guest, in $VM_RUN: NAME.pid, NAME.console (serial ttyS0: kernel and
# /init), NAME.agent (unix socket of ttyS1: the command agent, protocol in
# tests/vm/init), NAME.qmp (QMP monitor), NAME.log (QEMU's stderr).
#
# Environment:
#   VM_RUN          state directory (default $VS_TMP/vm in a test, else
#                   /tmp/dpdk-vswitch-vm); keep its paths < 108 bytes
#   VM_MEM          guest RAM in MiB (default 256), memfd shared with the switch
#   VM_ROLE         free text passed to the guest (/etc/vsrole)
#   VM_GW           default gateway of the guest
#   VM_QUEUES       vhost-user queue pairs (default 1; >1 adds mq=on, and
#                   the guest uses min(queues, VM_SMP) of them)
#   VM_SMP          guest vCPUs (default 1)
#   VM_HOST_MTU     MTU QEMU advertises to the guest (virtio host_mtu)
#   VM_QEMU_ARGS    extra QEMU arguments (word-split)
#   VM_INCOMING     QEMU -incoming URI (one word, e.g. "exec:cat FILE"): the
#                   guest resumes from a saved state instead of booting
#   VM_EXEC_TIMEOUT seconds vm_exec waits for a command (default 60)
#   VS_VM_CACHE, VS_VM_FLAVOUR: see build-guest.sh

VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
declare -A _VM_PID=()   # name -> QEMU pid started by this shell
VM_IMAGE=${VM_IMAGE:-}  # directory with vmlinuz + initramfs.cpio.gz

_vm_err() {
	printf 'guest.sh: %s\n' "$*" >&2
}

_vm_run_dir() {
	local d=${VM_RUN:-}
	if [ -z "$d" ]; then
		if [ -n "${VS_TMP:-}" ]; then d=$VS_TMP/vm; else d=/tmp/dpdk-vswitch-vm; fi
	fi
	mkdir -p "$d" && printf '%s\n' "$d"
}

# vm_have_qemu: qemu-system-x86_64, a static busybox, cpio and python3 exist
vm_have_qemu() {
	command -v qemu-system-x86_64 >/dev/null 2>&1 &&
		command -v cpio >/dev/null 2>&1 &&
		command -v python3 >/dev/null 2>&1 &&
		{ [ -x /bin/busybox ] || [ -x /usr/bin/busybox ]; }
}

# vm_require TEST (integration tests, after vs_init): QEMU and the guest
# tooling, installed when missing (scripts/deps.sh normally has); exits
# 77 (SKIP) when they cannot be.  Every guest is stopped at the test's exit.
vm_require() {
	local t=${1:?vm_require TEST}
	if ! vm_have_qemu; then
		echo "$t: installing qemu-system-x86 busybox-static cpio" >&2
		for _ in 1 2; do
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				qemu-system-x86 busybox-static cpio >/dev/null 2>&1 && break
			apt-get update -qq >/dev/null 2>&1 || true
		done
	fi
	if ! vm_have_qemu; then
		echo "SKIP: $t needs qemu-system-x86, busybox-static, cpio, python3 (not installable here)"
		exit 77
	fi
	vs_at_exit vm_stop_all
}

# vm_image: build or reuse the guest image; sets VM_IMAGE
vm_image() {
	[ -n "$VM_IMAGE" ] && [ -s "$VM_IMAGE/vmlinuz" ] && return 0
	VM_IMAGE=$("$VM_LIB_DIR/build-guest.sh") || { _vm_err "guest image build failed"; return 1; }
}

_vm_pid() {
	local pid=${_VM_PID[$1]:-} run
	if [ -z "$pid" ]; then
		run=$(_vm_run_dir) || return 1
		pid=$(cat "$run/$1.pid" 2>/dev/null) || true
	fi
	printf '%s\n' "$pid"
}

# vm_running NAME: its QEMU process is alive
vm_running() {
	local pid
	pid=$(_vm_pid "${1:?vm_running NAME}")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# vm_start NAME SOCKET IP/PREFIX|- MAC [MTU]: boot guest NAME in the
# background with its NIC on vhost-user SOCKET (QEMU listens there).
# Returns at once; the guest boots when the switch connects.
vm_start() {
	local name=${1:?vm_start NAME SOCKET IP/PREFIX MAC [MTU]} sock=${2:?} ipa=${3:?} mac=${4:?}
	local mtu=${5:-} mem=${VM_MEM:-256} q=${VM_QUEUES:-1} run append pid
	local netdev=vhost-user,id=n0,chardev=vh0 dev="virtio-net-pci,netdev=n0,mac=$mac,romfile=,vectors=0"
	local -a extra=()
	[[ $name =~ ^[A-Za-z0-9_-]+$ ]] || { _vm_err "bad VM name '$name'"; return 1; }
	vm_image || return 1
	run=$(_vm_run_dir) || return 1
	if vm_running "$name"; then
		_vm_err "$name is already running"
		return 1
	fi
	if [ "${#sock}" -ge 108 ] || [ "${#run}" -ge 90 ]; then
		_vm_err "socket path too long (unix sockets: < 108 bytes)"
		return 1
	fi
	rm -f "$run/$name.agent" "$run/$name.qmp" "$run/$name.console" "$run/$name.pid"
	append="console=ttyS0 quiet panic=-1 vsname=$name"
	[ "$ipa" = - ] || append+=" vsip=$ipa"
	[ -z "$mtu" ] || append+=" vsmtu=$mtu"
	[ -z "${VM_GW:-}" ] || append+=" vsgw=$VM_GW"
	[ -z "${VM_ROLE:-}" ] || append+=" vsrole=$VM_ROLE"
	# shellcheck disable=SC2206  # word splitting wanted
	[ -z "${VM_QEMU_ARGS:-}" ] || extra=($VM_QEMU_ARGS)
	[ -z "${VM_INCOMING:-}" ] || extra+=(-incoming "$VM_INCOMING")
	[ "$q" = 1 ] || { netdev+=",queues=$q"; dev+=",mq=on"; }
	[ -z "${VM_HOST_MTU:-}" ] || dev+=",host_mtu=$VM_HOST_MTU"
	printf '### %s: start %s\n' "$(date +%T.%3N)" "$name" >>"$run/$name.log"
	# KVM here is nested PVM on which stock kernels hang: always TCG.
	# vectors=0: QEMU 7.2 + TCG crashes starting vhost-user with MSI-X.
	qemu-system-x86_64 -name "$name" -accel tcg -M q35 -m "$mem" -smp "${VM_SMP:-1}" \
		-object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -numa node,memdev=mem \
		-nodefaults -no-user-config -no-reboot -display none \
		-chardev "file,id=con,path=$run/$name.console" -serial chardev:con \
		-chardev "socket,id=agent,path=$run/$name.agent,server=on,wait=off" -serial chardev:agent \
		-qmp "unix:$run/$name.qmp,server=on,wait=off" \
		-kernel "$VM_IMAGE/vmlinuz" -initrd "$VM_IMAGE/initramfs.cpio.gz" -append "$append" \
		-chardev "socket,id=vh0,path=$sock,server=on,wait=off" \
		-netdev "$netdev" -device "$dev" \
		"${extra[@]}" </dev/null >>"$run/$name.log" 2>&1 &
	pid=$!
	_VM_PID[$name]=$pid
	echo "$pid" > "$run/$name.pid"
}

# vm_wait_socket NAME SOCKET [TIMEOUT]: QEMU listens on its vhost-user socket
vm_wait_socket() {
	local name=${1:?vm_wait_socket NAME SOCKET [TIMEOUT]} sock=${2:?} end=$((SECONDS + ${3:-30}))
	until [ -S "$sock" ]; do
		vm_running "$name" || { _vm_err "$name: QEMU exited"; _vm_tail "$name"; return 1; }
		[ "$SECONDS" -lt "$end" ] || { _vm_err "$name: no socket $sock"; return 1; }
		sleep 0.1
	done
}

_vm_tail() {
	local run
	run=$(_vm_run_dir) || return 0
	{
		printf -- '----- %s: QEMU log -----\n' "$1"
		tail -n 15 "$run/$1.log" 2>/dev/null
		printf -- '----- %s: console -----\n' "$1"
		tail -n 25 "$run/$1.console" 2>/dev/null | tr -d '\r'
		printf -- '-----\n'
	} >&2
}

# vm_wait_booted NAME [TIMEOUT]: wait until /init printed VSVM_READY and
# the command agent answers (default 180 s: TCG on a loaded machine)
vm_wait_booted() {
	local name=${1:?vm_wait_booted NAME [TIMEOUT]} tmo=${2:-180} run end
	run=$(_vm_run_dir) || return 1
	end=$((SECONDS + tmo))
	until grep -q VSVM_READY "$run/$name.console" 2>/dev/null; do
		if ! vm_running "$name"; then
			_vm_err "$name: QEMU exited before the guest was ready"
			_vm_tail "$name"
			return 1
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			_vm_err "$name: not booted after ${tmo}s"
			_vm_tail "$name"
			return 1
		fi
		sleep 0.2
	done
	VM_EXEC_TIMEOUT=$((end - SECONDS > 5 ? end - SECONDS : 5)) vm_exec "$name" true >/dev/null ||
		{ _vm_err "$name: the command agent does not answer"; _vm_tail "$name"; return 1; }
}

# vm_exec NAME CMD...: run CMD (words joined by spaces, a shell command
# line) in guest NAME; prints its stdout+stderr and returns its exit
# status (124: no answer in VM_EXEC_TIMEOUT s, 125: agent unreachable)
vm_exec() {
	local name=${1:?vm_exec NAME CMD...} run
	shift
	run=$(_vm_run_dir) || return 125
	python3 "$VM_LIB_DIR/agent.py" "$run/$name.agent" "${VM_EXEC_TIMEOUT:-60}" "$*"
}

# vm_qmp NAME CMD [JSON_ARGS]: run one QMP command on NAME's monitor and
# print its "return" value as JSON; 1 on a QMP error (printed on stderr).
# QEMU answers QMP only once its vhost-user socket has been connected.
vm_qmp() {
	local name=${1:?vm_qmp NAME CMD [JSON_ARGS]} cmd=${2:?} args=${3:-"{}"} run
	run=$(_vm_run_dir) || return 1
	python3 - "$run/$name.qmp" "$cmd" "$args" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()                        # greeting
for cmd, args in (("qmp_capabilities", {}), (sys.argv[2], json.loads(sys.argv[3]))):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
    while True:
        line = f.readline()
        if not line:                # "quit": QEMU closes the monitor
            sys.exit(0)
        r = json.loads(line)
        if "error" in r:
            sys.stderr.write("vm_qmp %s: %s\n" % (cmd, r["error"].get("desc", r)))
            sys.exit(1)
        if "return" in r:
            break
print(json.dumps(r["return"]))
EOF
}

# vm_console NAME: the guest's serial console so far (without \r)
vm_console() {
	local run
	run=$(_vm_run_dir) || return 1
	tr -d '\r' < "$run/${1:?vm_console NAME}.console"
}

# vm_stop NAME: SIGTERM its QEMU (the guest is not asked: it has no disk),
# SIGKILL after 5 s.  Only the PID recorded at start is signalled.
vm_stop() {
	local name=${1:?vm_stop NAME} pid run i
	run=$(_vm_run_dir) || return 1
	pid=$(_vm_pid "$name")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
		grep -q qemu "/proc/$pid/cmdline" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	[ -z "${_VM_PID[$name]:-}" ] || wait "${_VM_PID[$name]}" 2>/dev/null || true
	unset "_VM_PID[$name]"
	rm -f "$run/$name.pid" "$run/$name.agent" "$run/$name.qmp"
	return 0
}

# vm_stop_all: stop every guest this shell started
vm_stop_all() {
	local name
	for name in "${!_VM_PID[@]}"; do
		vm_stop "$name"
	done
}

_vm_usage() {
	cat >&2 <<'EOF'
usage: guest.sh image                                  build/find the guest image, print its dir
       guest.sh start NAME SOCKET IP/PREFIX|- MAC [MTU] boot a guest (QEMU serves SOCKET)
       guest.sh wait NAME [TIMEOUT]                    wait until booted
       guest.sh exec NAME CMD...                       run CMD inside, exit with its status
       guest.sh console NAME                           print the serial console
       guest.sh stop NAME                              stop the guest
       guest.sh list                                   guests and their QEMU pids
State lives in $VM_RUN (default /tmp/dpdk-vswitch-vm).
EOF
	return 2
}

_vm_main() {
	local cmd=${1:-} run f n
	[ $# -gt 0 ] && shift
	case $cmd in
	image) vm_image && printf '%s\n' "$VM_IMAGE" ;;
	start) [ $# -ge 4 ] || _vm_usage || return; vm_start "$@" ;;
	wait) [ $# -ge 1 ] || _vm_usage || return; vm_wait_booted "$@" ;;
	exec) [ $# -ge 2 ] || _vm_usage || return; vm_exec "$@" ;;
	console) [ $# -eq 1 ] || _vm_usage || return; vm_console "$1" ;;
	stop) [ $# -eq 1 ] || _vm_usage || return; vm_stop "$1" ;;
	list)
		run=$(_vm_run_dir) || return 1
		for f in "$run"/*.pid; do
			[ -e "$f" ] || continue
			n=${f##*/}
			n=${n%.pid}
			if vm_running "$n"; then echo "$n $(cat "$f") running"; else echo "$n $(cat "$f") dead"; fi
		done
		;;
	*) _vm_usage ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	_vm_main "$@"
	exit $?
fi
