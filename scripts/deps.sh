#!/usr/bin/env bash
# Install the Debian 12 packages dpdk-vswitch needs to build, run and test.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
	build-essential pkg-config meson ninja-build python3
	libdpdk-dev dpdk dpdk-dev libyaml-dev libjansson-dev libcunit1-dev
	iproute2 iputils-ping ethtool procps tcpdump tshark python3-scapy jq
	clang-14 libclang-rt-14-dev   # fuzz targets: clang's libFuzzer and sanitizer runtimes
	libcurl4-openssl-dev libssl-dev   # etcd v3 JSON gateway (HTTP), base64
	etcd-server etcd-client          # the distributed policy service and its CLI
	qemu-system-x86 busybox-static cpio   # real guests (tests/vm): TCG QEMU, busybox initramfs
)
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
echo "deps: installed ${#pkgs[@]} packages"
