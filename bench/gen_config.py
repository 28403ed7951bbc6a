#!/usr/bin/python3
"""Write the dpdk-vswitch configuration of one benchmark topology.

One VM port (vm1, the generator), a physical port (net_null discarding, a
replaying net_pcap for decapsulation, or a net_pcap writing a capture), the
remote VM vm2 behind tunnel endpoint 172.31.250.2 pinned by a static
neighbour, and enough remote filler endpoints for a table of N entries.
"""
import argparse

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--dir", required=True, help="run directory: sockets")
p.add_argument("--phys", required=True, help="devargs of the physical port")
p.add_argument("--endpoints", type=int, default=1000, help="table size, vm1 and vm2 included")
p.add_argument("--idle-us", type=int, default=1)
a = p.parse_args()

n_fill = max(0, a.endpoints - 2)
# memory_mb 0: EAL grows its heap on demand, so the huge pages mapped
# after loading show what the tables cost (docs/performance.md).
mem = 0
with open(a.out, "w") as f:
    f.write(f"""eal:
  lcores: "0@0,1@1"
  main_lcore: 0
  memory_mb: {mem}
  file_prefix: vsbench-{abs(hash(a.dir)) % 100000}
  in_memory: true
  args: [--no-pci, "--log-level=*:notice"]
workers:
  lcores: [1]
  idle_sleep_max_us: {a.idle_us}
  mbufs: 16384
control:
  socket: {a.dir}/vs.sock
  state_dir: ""
physical_ports:
  - name: ul0
    devargs: "{a.phys}"
    ip: 172.31.250.1/24
    mtu: 1600
    neighbors:
      - {{ip: 172.31.250.2, mac: "02:00:5e:00:02:02"}}
vhost_ports:
  - name: vm1
    socket: {a.dir}/vm1.sock
    mode: client
virtual_networks:
  - name: blue
    vni: 100
    subnets: [198.18.0.0/15, 10.0.0.0/8]
endpoints:
  - {{name: vm1, mac: "02:00:00:00:00:01", ips: [198.18.0.1], vnet: blue, port: vm1}}
  - {{name: vm2, mac: "02:00:00:00:00:02", ips: [198.18.0.2], vnet: blue, tep: 172.31.250.2}}
""")
    # Filler endpoint k: MAC 02:01:kk:kk:kk:kk, IP 10.k (k from 1), all
    # behind the same remote tunnel endpoint; gen_pcap.py sends to them.
    for k in range(1, n_fill + 1):
        f.write(f'  - {{name: e{k}, mac: "02:01:{k >> 24 & 255:02x}:{k >> 16 & 255:02x}:'
                f'{k >> 8 & 255:02x}:{k & 255:02x}", ips: [10.{k >> 16 & 255}.{k >> 8 & 255}.'
                f'{k & 255}], vnet: blue, tep: 172.31.250.2}}\n')
