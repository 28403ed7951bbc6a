#!/bin/bash
# Debian packages the benchmark needs: the OVS-DPDK peer, tshark for the
# capture check, gnuplot for the chart, scapy for the pcap generators.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	openvswitch-switch-dpdk dpdk tshark gnuplot-nox python3-scapy procps >/dev/null
# The DPDK build of ovs-vswitchd; the plain one has no dpdk ports.
update-alternatives --set ovs-vswitchd /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
