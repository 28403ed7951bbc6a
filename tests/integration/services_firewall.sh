#!/usr/bin/env bash
# Network services, insertion point 1 (rules in the switch), with the
# built-in stateless firewall of config/services:
#   - the definitions of control.services_dir are registered at start;
#   - a profile scoped to a pool; enabling it for a VM outside the scope
#     is refused and changes nothing;
#   - nothing happens to a VM's traffic until the enable; then TCP/23 to
#     the pool's VM is dropped (service_drop) while TCP/22 and ICMP pass,
#     and a VM the profile is not enabled for is untouched;
#   - registrations and enables survive a restart of the switch (the VMs
#     stay up: they are vhost-user servers);
#   - `service configure ... default=drop` drops what no rule matches, at once;
#   - disable restores the traffic; a broken definition is refused with
#     file:line:col and changes nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init services_firewall

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX

vs_underlay "ul$S" "br$S" 1600 "vA$S:uA$S"
vs_switch_yaml "$VS_TMP/a.yaml" a 198.51.100.1 "vA$S"
sed -i "s|^  state_dir: .*|&\n  services_dir: $VS_SRC/config/services|" "$VS_TMP/a.yaml"
cat >> "$VS_TMP/a.yaml" <<EOF
vhost_ports:
EOF
for vm in a1 a2 a3; do
	cat >> "$VS_TMP/a.yaml" <<EOF
  - {name: $vm, socket: $VS_TMP/vm/$vm.sock, mode: client, queues: 1}
EOF
done
cat >> "$VS_TMP/a.yaml" <<EOF
virtual_networks:
  - {name: blue, vni: 100, subnets: [10.0.0.0/24]}
endpoints:
  - {name: a1, mac: "02:00:00:00:0a:01", ips: [10.0.0.1], vnet: blue, port: a1}
  - {name: a2, mac: "02:00:00:00:0a:02", ips: [10.0.0.2], vnet: blue, port: a2}
  - {name: a3, mac: "02:00:00:00:0a:03", ips: [10.0.0.3], vnet: blue, port: a3}
EOF
mkdir -p "$VS_TMP/vm"
VS_VM_SERVER=1 vs_vm_bridge vms "$VS_TMP/vm" a1 a2 a3
vs_bg sw "$SW" -c "$VS_TMP/a.yaml"
vs_wait_log sw "running" 60
ctl() { "$CTL" -s "$VS_TMP/a.sock" "$@"; }
drops() { ctl --json stats drops | jq -r --arg r "$1" '.drops[] | select(.reason==$r) | .count'; }
n=1
for vm in a1 a2 a3; do
	vs_netns "n$vm$S"
	vs_vm_attach "$vm" "n$vm$S" "10.0.0.$n/24" "02:00:00:00:0a:0$n"
	n=$((n + 1))
done
for vm in a1 a2 a3; do vs_vm_wait_up "$vm" 30; done

# TCP servers on ports 22 and 23 in a1 and a3: accept, say hello, close.
for vm in a1 a3; do
	vs_bg "srv$vm" ip netns exec "n$vm$S" /usr/bin/python3 -c '
import socket, threading
def serve(p):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p)); s.listen(16)
    while True:
        c, _ = s.accept(); c.sendall(b"hello\n"); c.close()
for p in (22, 23): threading.Thread(target=serve, args=(p,), daemon=True).start()
print("SERVING", flush=True)
threading.Event().wait()'
	vs_wait_log "srv$vm" "^SERVING$" 10
done
tcp_ok() { # from-vm ip port
	ip netns exec "n$1$S" /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5)
sys.exit(0 if s.recv(6) == b"hello\n" else 1)' "$2" "$3" 2>/dev/null
}

ctl --json service list | jq -e '.services[] | select(.name == "stateless-firewall")' >/dev/null ||
	vs_fail "the built-in firewall of services_dir is not registered: $(ctl service list)"
tcp_ok a2 10.0.0.1 23 || vs_fail "a2 cannot reach a1:23 before any enable"
vs_pass "services_dir registered the built-in firewall; before any enable, TCP/23 passes"

ctl pool add servers a1 >/dev/null
ctl profile create fw-servers service=stateless-firewall level=basic pools=servers >/dev/null
before=$(ctl --json catalog list)
if ctl service enable fw-servers vm=a3 > "$VS_TMP/out" 2>&1; then vs_fail "a3 (outside the profile's scope) was enabled"; fi
grep -qi "scope" "$VS_TMP/out" || vs_fail "unclear refusal for a VM outside the scope: $(cat "$VS_TMP/out")"
[ "$before" = "$(ctl --json catalog list)" ] || vs_fail "a refused enable changed the catalog"
tcp_ok a2 10.0.0.3 23 || vs_fail "a refused enable changed a3's traffic"
vs_pass "enabling a profile for a VM outside its scope is refused and changes nothing"

ctl service enable fw-servers pool=servers >/dev/null
d0=$(drops service_drop)
if tcp_ok a2 10.0.0.1 23; then vs_fail "a2 reached a1:23 with the firewall enabled on a1"; fi
d1=$(drops service_drop)
[ "$d1" -gt "$d0" ] || vs_fail "service_drop did not count the dropped SYNs ($d0 -> $d1)"
ctl --json profile show fw-servers | jq -e '.counters.dropped > 0' >/dev/null ||
	vs_fail "profile show fw-servers counts no dropped frame: $(ctl profile show fw-servers)"
tcp_ok a2 10.0.0.1 22 || vs_fail "TCP/22 to a1 blocked by the firewall"
ip netns exec "na2$S" ping -c 2 -i 0.2 -W 2 10.0.0.1 >/dev/null || vs_fail "ICMP to a1 blocked by the firewall"
tcp_ok a2 10.0.0.3 23 || vs_fail "a3 (firewall not enabled) lost TCP/23"
ctl --json catalog show vm=a1 | jq -e '.profiles[] | select(.profile == "fw-servers" and .enabled)' >/dev/null ||
	vs_fail "catalog show vm=a1 does not list fw-servers: $(ctl catalog show vm=a1)"
vs_pass "enabled for pool servers: TCP/23 to a1 dropped (service_drop $d0 -> $d1), TCP/22 and ICMP pass, a3 untouched"

# --- a restart keeps registrations and enables -------------------------------
vs_stop sw
vs_bg sw "$SW" -c "$VS_TMP/a.yaml"
vs_wait_log sw "running" 60
for vm in a1 a2 a3; do vs_vm_wait_up "$vm" 30; done
ctl --json profile show fw-servers >/dev/null || vs_fail "profile fw-servers lost across the restart"
vs_wait_cmd 10 tcp_ok a2 10.0.0.1 22
if tcp_ok a2 10.0.0.1 23; then vs_fail "after a restart the firewall no longer applies to a1"; fi
tcp_ok a2 10.0.0.3 23 || vs_fail "after a restart a3 lost TCP/23"
vs_pass "registrations, the pool, the profile and its enable survive a restart"

# default=drop: what no rule matches is dropped too, for a1 only
ctl service configure stateless-firewall default=drop >/dev/null
if tcp_ok a2 10.0.0.1 22; then vs_fail "default=drop: a2 still reaches a1:22"; fi
if ip netns exec "na2$S" ping -c 1 -W 1 10.0.0.1 >/dev/null; then vs_fail "default=drop: ICMP to a1 passes"; fi
tcp_ok a2 10.0.0.3 22 || vs_fail "default=drop on a1's firewall changed a3's traffic"
ctl service configure stateless-firewall default=allow >/dev/null
tcp_ok a2 10.0.0.1 22 || vs_fail "default=allow again: TCP/22 to a1 still blocked"
vs_pass "service configure default=drop applies at once to a1 only; default=allow restores it"

ctl service disable fw-servers pool=servers >/dev/null
tcp_ok a2 10.0.0.1 23 || vs_fail "TCP/23 to a1 still blocked after disable"
vs_pass "disable restores the traffic"

# --- a broken definition changes nothing ------------------------------------------
sed 's/insertion: switch/insertion: sideways/' "$VS_SRC/config/services/firewall.yaml" |
	sed 's/name: stateless-firewall/name: broken-fw/' > "$VS_TMP/broken.yaml"
before=$(ctl --json service list)
if ctl service register "$VS_TMP/broken.yaml" > "$VS_TMP/out" 2>&1; then vs_fail "a broken definition was registered"; fi
grep -qE "broken.yaml:[0-9]+:[0-9]+: " "$VS_TMP/out" || vs_fail "no file:line:col in: $(cat "$VS_TMP/out")"
[ "$before" = "$(ctl --json service list)" ] || vs_fail "a refused registration changed the service list"
vs_pass "a broken definition is refused at file:line:col; nothing changes"

echo "services_firewall: all checks passed"
