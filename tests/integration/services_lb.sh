#!/usr/bin/env bash
# The built-in L4 load balancer (builtin: load-balancer, config/services):
#   - the definition of control.services_dir is registered at start;
#   - a profile created through the CLI, its backends set at run time with
#     `service configure`; before the enable the VIP does not answer;
#   - enabled for the client: 1,000 TCP connections to VIP:80 all answered,
#     each of the 3 backends gets 333 +-20%, `lb show` counts them all;
#   - `service configure ... backends=b1,b2`: new connections reach only b1
#     and b2; an unknown backend is skipped with a log line; with no
#     backend left frames to the VIP count as lb_no_backend; disable: the
#     VIP no longer answers.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init services_lb

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX
VMS="c1 b1 b2 b3"
VIP=10.0.0.100

vs_underlay "ul$S" "br$S" 1600 "vA$S:uA$S"
vs_switch_yaml "$VS_TMP/a.yaml" a 198.51.100.1 "vA$S"
sed -i "s|^  state_dir: .*|&\n  services_dir: $VS_SRC/config/services|" "$VS_TMP/a.yaml"
echo "vhost_ports:" >> "$VS_TMP/a.yaml"
for vm in $VMS; do
	echo "  - {name: $vm, socket: $VS_TMP/vm/$vm.sock, mode: client, queues: 1}" >> "$VS_TMP/a.yaml"
done
cat >> "$VS_TMP/a.yaml" <<YAML
virtual_networks:
  - {name: blue, vni: 100, subnets: [10.0.0.0/24]}
endpoints:
  - {name: c1, mac: "02:00:00:00:0a:01", ips: [10.0.0.1], vnet: blue, port: c1}
  - {name: b1, mac: "02:00:00:00:0b:01", ips: [10.0.0.11], vnet: blue, port: b1}
  - {name: b2, mac: "02:00:00:00:0b:02", ips: [10.0.0.12], vnet: blue, port: b2}
  - {name: b3, mac: "02:00:00:00:0b:03", ips: [10.0.0.13], vnet: blue, port: b3}
YAML
mkdir -p "$VS_TMP/vm"
# shellcheck disable=SC2086
VS_VM_SERVER=1 vs_vm_bridge vms "$VS_TMP/vm" $VMS
vs_bg sw "$SW" -c "$VS_TMP/a.yaml"
vs_wait_log sw "running" 60
ctl() { "$CTL" -s "$VS_TMP/a.sock" "$@"; }
vs_netns "nc1$S"
vs_vm_attach c1 "nc1$S" 10.0.0.1/24 02:00:00:00:0a:01
for n in 1 2 3; do
	vs_netns "nb$n$S"
	vs_vm_attach "b$n" "nb$n$S" "10.0.0.1$n/24" "02:00:00:00:0b:0$n"
done
for vm in $VMS; do vs_vm_wait_up "$vm" 30; done

# Each backend answers every connection on port 80 with its own name.
for n in 1 2 3; do
	vs_bg "srvb$n" ip netns exec "nb$n$S" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80)); s.listen(128)
print("SERVING", flush=True)
while True:
    c, _ = s.accept()
    try:
        c.sendall(sys.argv[1].encode() + b"\n")
    except OSError:
        pass
    c.close()' "b$n"
	vs_wait_log "srvb$n" "^SERVING$" 10
done

# connect COUNT [TIMEOUT]: COUNT connections from c1 to VIP:80, one after
# the other; prints {"failed": n, "b1": n, ...}.
connect() {
	ip netns exec "nc1$S" /usr/bin/python3 -c '
import json, socket, sys
count, timeout = int(sys.argv[2]), float(sys.argv[3])
res = {"failed": 0}
for i in range(count):
    try:
        s = socket.create_connection((sys.argv[1], 80), timeout=timeout)
        name = s.makefile().readline().strip() or "empty"
        s.close()
        res[name] = res.get(name, 0) + 1
    except OSError:
        res["failed"] += 1
print(json.dumps(res))' "$VIP" "$1" "${2:-2}"
}
connected() { [ "$(got "$(connect 1 1)" failed)" = 0 ]; }
got() { jq -r --arg k "$2" '.[$k] // 0' <<<"$1"; }

ctl --json service list | jq -e '.services[] | select(.name == "l4-load-balancer")' >/dev/null ||
	vs_fail "the built-in load balancer of services_dir is not registered: $(ctl service list)"
ctl profile create lb-web service=l4-load-balancer level=basic vms=c1 \
	param.vip=$VIP param.port=80 >/dev/null
ctl service configure l4-load-balancer backends=b1,b2,b3 >/dev/null
r=$(connect 1 1)
[ "$(got "$r" failed)" = 1 ] || vs_fail "the VIP answered before the enable: $r"
vs_pass "profile created, backends configured; before the enable the VIP does not answer"

ctl service enable lb-web vm=c1 >/dev/null
# c1's failed ARP for the VIP (above) would refuse connections for a while
ip -n "nc1$S" neigh flush to "$VIP" 2>/dev/null || true
vs_wait_cmd 10 connected
t0=$(date +%s)
r=$(connect 1000)
[ "$(got "$r" failed)" = 0 ] || vs_fail "connections to the VIP failed: $r"
for b in b1 b2 b3; do
	n=$(got "$r" "$b")
	[ "$n" -ge 267 ] && [ "$n" -le 400 ] || vs_fail "$b got $n of 1000 connections (267..400): $r"
done
[ "$(jq '[.[]] | add' <<<"$r")" = 1000 ] || vs_fail "answers from something else than b1..b3: $r"
vs_pass "enabled for c1: 1000 connections to $VIP:80 all answered in $(($(date +%s) - t0))s: $r"

ctl --json lb show lb-web > "$VS_TMP/lb.json"
jq -e --arg vip "$VIP" '.vip == $vip and .port == 80 and .proto == "tcp" and
       (.backends | length) == 3 and all(.backends[]; .packets > 0 and (.ip | startswith("10.0.0.1")))' \
	"$VS_TMP/lb.json" >/dev/null || vs_fail "lb show lb-web: $(cat "$VS_TMP/lb.json")"
ctl --json lb show | jq -e '.load_balancers | length == 1' >/dev/null || vs_fail "lb show: $(ctl lb show)"
vs_pass "lb show counts frames to every backend: $(jq -c '[.backends[] | {name, packets}]' "$VS_TMP/lb.json")"

ctl service configure l4-load-balancer backends=b1,b2 >/dev/null
r=$(connect 200)
[ "$(got "$r" failed)" = 0 ] || vs_fail "connections failed after the backends changed: $r"
[ "$(got "$r" b3)" = 0 ] || vs_fail "b3 still reached after it left the backends: $r"
[ "$(got "$r" b1)" -gt 0 ] && [ "$(got "$r" b2)" -gt 0 ] || vs_fail "b1 and b2 not both reached: $r"
ctl --json lb show lb-web | jq -e '(.backends | length) == 2' >/dev/null ||
	vs_fail "lb show after configure: $(ctl lb show lb-web)"
vs_pass "service configure backends=b1,b2: new connections only reach b1 and b2: $r"

ctl service configure l4-load-balancer backends=b1,ghost >/dev/null
vs_wait_log sw "backend ghost is no VM" 5
r=$(connect 20)
[ "$(got "$r" b1)" = 20 ] || vs_fail "with backends b1,ghost not every connection reached b1: $r"
ctl --json lb show lb-web | jq -e '.backends[1] | .name == "ghost" and .ip == "unknown"' >/dev/null ||
	vs_fail "lb show with an unknown backend: $(ctl lb show lb-web)"
vs_pass "an unknown backend is skipped with a log line: $r"

drops() { ctl --json stats drops | jq -r --arg r "$1" '.drops[] | select(.reason==$r) | .count'; }
ctl service configure l4-load-balancer backends=ghost >/dev/null
d0=$(drops lb_no_backend)
r=$(connect 1 1)
d1=$(drops lb_no_backend)
[ "$(got "$r" failed)" = 1 ] && [ "$d1" -gt "$d0" ] ||
	vs_fail "no backend left: $r, lb_no_backend $d0 -> $d1"
vs_pass "no backend left: the VIP does not answer, lb_no_backend $d0 -> $d1"
ctl lb show lb-web
ctl service configure l4-load-balancer backends=b1,b2,b3 >/dev/null

ctl service disable lb-web vm=c1 >/dev/null
r=$(connect 1 1)
[ "$(got "$r" failed)" = 1 ] || vs_fail "the VIP still answers after the disable: $r"
vs_pass "disable: the VIP no longer answers"

echo "services_lb: all checks passed"
