#!/usr/bin/python3
"""Send malformed VXLAN frames at a switch's underlay port.

usage: send_bad_vxlan.py IFACE DST_MAC SRC_IP DST_IP COUNT
COUNT frames of each kind: truncated inner frame (malformed), I flag clear,
unknown VNI, bad outer IPv4 checksum, outer fragment, wrong destination IP,
a source that is no known tunnel endpoint.
"""
import sys

from scapy.all import Ether, IP, UDP, Raw, sendp, conf  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402

iface, dmac, src, dst, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
conf.verb = 0
inner = Ether(dst="02:00:00:00:0a:01", src="02:00:00:00:0c:01") / IP(src="10.0.0.3", dst="10.0.0.1") / Raw(b"x" * 32)


def outer(**ip):
    return Ether(dst=dmac) / IP(src=ip.pop("src", src), dst=ip.pop("dst", dst), **ip) / UDP(sport=50000, dport=4789)


frames = [
    outer() / VXLAN(flags=0x08, vni=100) / Raw(b"\x00" * 6),     # inner frame too short
    outer() / VXLAN(flags=0x00, vni=100) / inner,                # I flag clear
    outer() / VXLAN(flags=0x08, vni=4242) / inner,               # unknown VNI
    outer(chksum=0x1234) / VXLAN(flags=0x08, vni=100) / inner,   # bad header checksum
    outer(flags="MF") / VXLAN(flags=0x08, vni=100) / inner,      # fragment
    outer(dst="198.51.100.77") / VXLAN(flags=0x08, vni=100) / inner,  # not our address
    outer(src="198.51.100.99") / VXLAN(flags=0x08, vni=100) / inner,  # unknown tunnel endpoint
]
sendp(frames * count, iface=iface, inter=0.001)
