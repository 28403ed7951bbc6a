#!/usr/bin/python3
"""The benchmark's replayed traffic, written with scapy.

  encap  FILE SIZE FLOWS ENDPOINTS  frames vm1 sends: to vm2 (1 flow), or
         FLOWS distinct inner 5-tuples spread over the remote endpoints of
         a table of ENDPOINTS entries (gen_config.py numbers them), so every
         cache keyed on addresses or ports sees FLOWS different keys
  decap  FILE SIZE                  VXLAN frames from the remote tunnel
         endpoint 172.31.250.2 to this host's 172.31.250.1 (MAC of the
         first net_pcap port), VNI 100, inner vm2 -> vm1
  capture FILE SIZE                 64 flows from vm1 to filler endpoints, 16 times
  empty  FILE                       no frames: the rx side of a capture port
SIZE is the inner Ethernet frame length without FCS, as testpmd's --txpkts.
"""
import sys

from scapy.all import IP, UDP, Ether, Raw, wrpcap
from scapy.layers.vxlan import VXLAN

VM1 = ("02:00:00:00:00:01", "198.18.0.1")
VM2 = ("02:00:00:00:00:02", "198.18.0.2")
TEP_LOCAL = ("02:70:63:61:70:00", "172.31.250.1")   # net_pcap's first port MAC
TEP_REMOTE = ("02:00:5e:00:02:02", "172.31.250.2")


def inner(src, dst, size, sport=9, dport=9):
    f = Ether(src=src[0], dst=dst[0]) / IP(src=src[1], dst=dst[1], ttl=64) / \
        UDP(sport=sport, dport=dport)
    return f / Raw(b"\x00" * max(0, size - len(f)))


def filler(k):
    mac = "02:01:%02x:%02x:%02x:%02x" % (k >> 24 & 255, k >> 16 & 255, k >> 8 & 255, k & 255)
    return (mac, "10.%d.%d.%d" % (k >> 16 & 255, k >> 8 & 255, k & 255))


def main(argv):
    kind, out = argv[1], argv[2]
    if kind == "empty":
        wrpcap(out, [])
        return
    size = int(argv[3])
    if kind == "decap":
        # 256 frames: net_pcap replays from memory, which holds a small file whole
        f = Ether(src=TEP_REMOTE[0], dst=TEP_LOCAL[0]) / \
            IP(src=TEP_REMOTE[1], dst=TEP_LOCAL[1], ttl=64, flags="DF") / \
            UDP(sport=49152, dport=4789, chksum=0) / VXLAN(vni=100, flags=0x08) / \
            inner(VM2, VM1, size)
        wrpcap(out, [f] * 256)
        return
    if kind == "capture":
        # 64 flows to 64 endpoints, 16 rounds: the first frame of each may wait
        # for its decision, the others show the steady state
        wrpcap(out, [inner(VM1, filler(1 + i), size, 1024 + i, 2000) for i in range(64)] * 16)
        return
    flows, endpoints = int(argv[4]), int(argv[5])
    if flows == 1:
        wrpcap(out, [inner(VM1, VM2, size)] * 256)
        return
    n_dst = max(1, min(endpoints - 2, flows))
    # flow i: destination endpoint 1 + i % n_dst, ports vary with i
    wrpcap(out, [inner(VM1, filler(1 + i % n_dst), size, 1024 + i % 50000, 2000 + i // n_dst)
                 for i in range(flows)])


if __name__ == "__main__":
    main(sys.argv)
