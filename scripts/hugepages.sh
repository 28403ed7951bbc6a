#!/usr/bin/env bash
# Reserve 2 MiB hugepages and mount hugetlbfs at /dev/hugepages if needed.
# Usage: scripts/hugepages.sh [PAGES]   (default 1024 = 2 GiB; never lowers)
set -euo pipefail
want=${1:-1024}
have=$(cat /proc/sys/vm/nr_hugepages)
if [ "$have" -lt "$want" ]; then
	sysctl -qw vm.nr_hugepages="$want"
	have=$(cat /proc/sys/vm/nr_hugepages)
	[ "$have" -ge "$want" ] || echo "hugepages: only $have of $want pages could be reserved" >&2
fi
if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
fi
echo "hugepages: $have x 2 MiB, hugetlbfs on /dev/hugepages"
