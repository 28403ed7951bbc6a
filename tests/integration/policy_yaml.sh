#!/usr/bin/env bash
# Logical policies with the YAML policy service, two hosts (A, B):
#   - tenant acme: networks blue (10.0.0.0/24) and green (10.1.0.0/24),
#     each with a distributed gateway; groups web and db;
#   - same network, no policy: allowed (default); a1 -> b2 denied by a VM
#     policy and counted as policy_deny;
#   - blue -> green is denied by default between networks; group policies
#     web <-> db allow it, and the switch routes it (local and across the
#     underlay): gateway ARP answered, TTL decremented;
#   - `policy table` shows each (originating VM, destination) with its
#     policy, revision and physical path; `trace` names the policy;
#   - a policy added and removed through the CLI applies at once;
#   - a policy naming a physical address is refused (YAML and CLI).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_init policy_yaml

CTL=$VS_BUILD/vswitchctl
SW=$VS_BUILD/dpdk-vswitch
S=$VS_SUFFIX

vs_underlay "ul$S" "br$S" 1600 "vA$S:uA$S" "vB$S:uB$S"

write_config() { # host ip ifname
	vs_switch_yaml "$VS_TMP/$1.yaml" "$1" "$2" "$3"
	cat >> "$VS_TMP/$1.yaml" <<EOF
tenants:
  - name: acme
virtual_networks:
  - name: blue
    vni: 100
    tenant: acme
    subnets: [{prefix: 10.0.0.0/24, gateway: 10.0.0.254}]
  - name: green
    vni: 200
    tenant: acme
    subnets: [{prefix: 10.1.0.0/24, gateway: 10.1.0.254}]
groups:
  - name: web
    tenant: acme
  - name: db
    tenant: acme
policies:
  - name: web-to-db
    from: {group: web}
    to: {group: db}
    action: allow
  - name: db-to-web
    from: {group: db}
    to: {group: web}
    action: allow
  - name: a1-not-b2
    from: {vm: a1}
    to: {vm: b2}
    action: deny
vhost_ports:
EOF
}
vhost() {
	cat >> "$VS_TMP/$1.yaml" <<EOF
  - name: $2
    socket: $VS_TMP/vm/$2.sock
    mode: server
    queues: 1
EOF
}
ep() { # host name mac ip vnet group where(port|tep) value
	cat >> "$VS_TMP/$1.yaml" <<EOF
  - name: $2
    mac: "$3"
    ips: [$4]
    vnet: $5
    groups: [$6]
    $7: $8
EOF
}
mkdir -p "$VS_TMP/vm"
write_config a 198.51.100.1 "vA$S"; vhost a a1; vhost a a2
write_config b 198.51.100.2 "vB$S"; vhost b b1; vhost b b2; vhost b b3
for h in a b; do echo "endpoints:" >> "$VS_TMP/$h.yaml"; done
for h in a b; do
	if [ $h = a ]; then L=port R=tep; LV=; RV=198.51.100.2; else L=tep R=port; LV=198.51.100.1; RV=; fi
	ep $h a1 02:00:00:00:0a:01 10.0.0.1 blue web $L "${LV:-a1}"
	ep $h a2 02:00:00:00:0a:02 10.1.0.2 green db $L "${LV:-a2}"
	ep $h b1 02:00:00:00:0b:01 10.0.0.2 blue web $R "${RV:-b1}"
	ep $h b2 02:00:00:00:0b:02 10.0.0.3 blue web $R "${RV:-b2}"
	ep $h b3 02:00:00:00:0b:03 10.1.0.3 green db $R "${RV:-b3}"
done

"$SW" -c "$VS_TMP/a.yaml" --check >/dev/null
"$SW" -c "$VS_TMP/b.yaml" --check >/dev/null
# A policy that names a host address is refused with its position.
sed 's/    to: {vm: b2}/    to: {vm: b2}\n    tep: 198.51.100.2/' "$VS_TMP/a.yaml" > "$VS_TMP/bad.yaml"
if "$SW" -c "$VS_TMP/bad.yaml" --check > "$VS_TMP/bad.out" 2>&1; then vs_fail "a policy with a tunnel endpoint was accepted"; fi
grep -qE "^$VS_TMP/bad.yaml:[0-9]+:[0-9]+: .*physical" "$VS_TMP/bad.out" ||
	vs_fail "no file:line:col 'physical' error: $(cat "$VS_TMP/bad.out")"
vs_pass "a policy naming a physical location is refused at file:line:col"

vs_bg swA "$SW" -c "$VS_TMP/a.yaml"
vs_bg swB "$SW" -c "$VS_TMP/b.yaml"
vs_wait_log swA "running" 60
vs_wait_log swB "running" 60
ctl() { local h=$1; shift; "$CTL" -s "$VS_TMP/$h.sock" "$@"; }
drops() { ctl "$1" --json stats drops | jq -r --arg r "$2" '.drops[] | select(.reason==$r) | .count'; }

vs_vm_bridge vma "$VS_TMP/vm" a1 a2
vs_vm_bridge vmb "$VS_TMP/vm" b1 b2 b3
attach() { # vm ip/len mac gateway
	vs_netns "n$1$S"
	vs_vm_attach "$1" "n$1$S" "$2" "$3"
	ip -n "n$1$S" route add default via "$4"
}
attach a1 10.0.0.1/24 02:00:00:00:0a:01 10.0.0.254
attach a2 10.1.0.2/24 02:00:00:00:0a:02 10.1.0.254
attach b1 10.0.0.2/24 02:00:00:00:0b:01 10.0.0.254
attach b2 10.0.0.3/24 02:00:00:00:0b:02 10.0.0.254
attach b3 10.1.0.3/24 02:00:00:00:0b:03 10.1.0.254
for vm in a1 a2 b1 b2 b3; do vs_vm_wait_up "$vm" 30; done
vs_wait_cmd 20 bash -c "'$CTL' -s '$VS_TMP/a.sock' --json show | jq -e '[.tunnels[] | select(.resolved)] | length == 1' >/dev/null"

ping_ok() { ip netns exec "n$1$S" ping -c "${3:-3}" -i 0.2 -W 2 "$2" >/dev/null; }

# --- same network: the default allows, a VM policy denies ---------------------
ping_ok a1 10.0.0.2 || vs_fail "a1 cannot ping b1 (same network, no policy: allowed by default)"
vs_pass "a1 -> b1: same network, default allow"
d0=$(drops a policy_deny)
if ping_ok a1 10.0.0.3 2; then vs_fail "a1 reached b2 although policy a1-not-b2 denies it"; fi
d1=$(drops a policy_deny)
[ "$d1" -ge $((d0 + 2)) ] || vs_fail "policy_deny on A moved $d0 -> $d1, expected +2"
vs_pass "a1 -> b2 denied by policy a1-not-b2 and counted (policy_deny $d0 -> $d1)"

# --- between networks: routed by the distributed gateway, allowed by group policies
ping_ok a1 10.1.0.2 || { ctl a policy table; vs_fail "a1 (blue) cannot ping a2 (green) on the same host"; }
ttl=$(ip netns exec "na1$S" ping -c 1 -W 2 10.1.0.3 | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
[ "$ttl" = 63 ] || { ctl a policy table; vs_fail "a1 -> b3 (routed across the underlay): reply TTL '$ttl', expected 63"; }
gwmac=$(ip -n "na1$S" neigh show 10.0.0.254 | awk '{print $5}')
[ "$gwmac" = 02:00:5e:00:01:01 ] || vs_fail "gateway 10.0.0.254 resolved to '$gwmac', expected the gateway MAC"
vs_pass "blue <-> green routed by the switch, locally and across the underlay (TTL 64 -> 63, gateway ARP answered)"

# Without the group policies the default between networks denies.
ctl a policy del web-to-db >/dev/null
d0=$(drops a policy_deny)
if ping_ok a1 10.1.0.2 2; then vs_fail "a1 reached a2 with web-to-db removed (default between networks is deny)"; fi
d1=$(drops a policy_deny)
[ "$d1" -gt "$d0" ] || vs_fail "policy_deny did not count the default deny ($d0 -> $d1)"
ctl a policy add web-to-db from=group:web to=group:db action=allow >/dev/null
ping_ok a1 10.1.0.2 || vs_fail "a1 cannot reach a2 after web-to-db was added back"
vs_pass "default deny between networks; a policy removed and added back through the CLI applies at once"

# --- a VM policy beats a group policy ------------------------------------------
ctl a policy add a1-not-b1 from=vm:a1 to=vm:b1 action=deny >/dev/null
if ping_ok a1 10.0.0.2 2; then vs_fail "a1 reached b1 although a1-not-b1 denies it"; fi
ctl a policy add a1-b1 from=vm:a1 to=vm:b1 action=allow priority=10 >/dev/null
ping_ok a1 10.0.0.2 || vs_fail "a1 cannot reach b1: the higher-priority allow should win the tie"
ctl a policy del a1-b1 >/dev/null
ctl a policy del a1-not-b1 >/dev/null
ping_ok a1 10.0.0.2 || vs_fail "a1 cannot reach b1 after both policies were removed"
vs_pass "equally specific policies: the higher priority wins; removing them restores the default"

# --- the policy table (fig. 10) ------------------------------------------------
ctl a policy table > "$VS_TMP/table.txt"
t=$(ctl a --json policy table)
echo "$t" | jq -e '.decisions[] | select(.from_vm=="a1" and .to_vm=="b2" and .policy=="a1-not-b2" and (.decision|startswith("drop")) and .revision > 0)' >/dev/null ||
	vs_fail "policy table lacks a1 -> b2 denied by a1-not-b2: $(cat "$VS_TMP/table.txt")"
echo "$t" | jq -e '.decisions[] | select(.from_vm=="a1" and .to_vm=="b3" and .kind=="routed" and .policy=="web-to-db" and .tep=="198.51.100.2" and .vni==200 and .next_hop_mac != "unresolved" and .output_port=="underlay0")' >/dev/null ||
	vs_fail "policy table lacks the routed a1 -> b3 translation: $(cat "$VS_TMP/table.txt")"
echo "$t" | jq -e '.decisions[] | select(.from_vm=="a1" and .to_vm=="a2" and .where=="local" and .output_port=="a2")' >/dev/null ||
	vs_fail "policy table lacks the local a1 -> a2 translation: $(cat "$VS_TMP/table.txt")"
grep -q "a1-not-b2" "$VS_TMP/table.txt" || vs_fail "the text table does not show the policy names"
vs_pass "policy table: per (VM, destination) the policy, its revision and the physical path"

ctl a trace in_port=a1 dst_mac=02:00:00:00:0b:02 dst_ip=10.0.0.3 > "$VS_TMP/trace.txt" 2>&1 || true
grep -q "a1-not-b2" "$VS_TMP/trace.txt" || vs_fail "trace does not name the policy: $(cat "$VS_TMP/trace.txt")"
vs_pass "trace names the policy that decided"

# --- bad policies through the CLI change nothing ---------------------------------
n0=$(ctl a --json policy list | jq '.policies | length')
if ctl a policy add evil from=vm:198.51.100.2 to=any action=allow > "$VS_TMP/evil.out" 2>&1; then
	vs_fail "a policy naming an address was accepted"
fi
grep -q physical "$VS_TMP/evil.out" || vs_fail "unclear error for an address in a policy: $(cat "$VS_TMP/evil.out")"
if ctl a policy add p2 from=group:nosuch to=any action=allow >/dev/null 2>&1; then
	vs_fail "a policy naming an unknown group was accepted"
fi
n1=$(ctl a --json policy list | jq '.policies | length')
[ "$n0" = "$n1" ] || vs_fail "refused policies changed the policy list ($n0 -> $n1)"
ping_ok a1 10.0.0.2 || vs_fail "forwarding broken after refused policies"
vs_pass "policies naming addresses or unknown groups are refused; nothing changes"

echo "policy_yaml: all checks passed"
