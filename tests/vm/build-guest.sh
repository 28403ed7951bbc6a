#!/usr/bin/env bash
# Build (or find in the cache) the guest kernel + initramfs that the QEMU
# end-to-end tests boot.  Prints the directory holding `vmlinuz` and
# `initramfs.cpio.gz` on stdout; progress goes to stderr.
#
#   tests/vm/build-guest.sh [--force]
#
# Inputs: a Debian kernel package (linux-image-<abi>-$VS_VM_FLAVOUR, from
# the apt cache or `apt-get download`, never installed on the host), the
# host's static busybox (busybox-static), and tests/vm/init.  The result
# lives in $VS_VM_CACHE/guest-<key>/ where <key> hashes every input (this
# script, the init script, the kernel package file, busybox), so editing
# the init script or a new kernel in the archive makes a new image and an
# unchanged input reuses the old one.  Nothing is written to the repo.
#
# Environment:
#   VS_VM_CACHE    cache directory (default /var/cache/dpdk-vswitch-vm)
#   VS_VM_FLAVOUR  Debian kernel flavour (default cloud-amd64; amd64 works)
#
# Exit status: 0 built or cached, 1 error, 2 a host tool is missing
# (busybox-static, cpio, apt-get...).
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${VS_VM_CACHE:-/var/cache/dpdk-vswitch-vm}
FLAVOUR=${VS_VM_FLAVOUR:-cloud-amd64}
FORCE=0
[ "${1:-}" = --force ] && FORCE=1

# Load order matters: the package ships no modules.dep.
MODULES="kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko
kernel/drivers/virtio/virtio_pci.ko kernel/net/core/failover.ko
kernel/drivers/net/net_failover.ko kernel/drivers/net/virtio_net.ko"

log() { printf 'build-guest: %s\n' "$*" >&2; }
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	log "missing host tool '$1' (apt-get install $2)"
	exit 2
}

need cpio cpio
need gzip gzip
need sha256sum coreutils
need apt-get apt
need dpkg-deb dpkg
need flock util-linux
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then BUSYBOX=$b; break; fi
done
[ -n "$BUSYBOX" ] || { log "no static busybox (apt-get install busybox-static)"; exit 2; }

mkdir -p "$CACHE/debs"
exec 9>"$CACHE/.lock"
flock 9   # one builder at a time; the others then find the result

# The kernel ABI package the flavour's meta package points at now.
PKG=$(apt-cache depends "linux-image-$FLAVOUR" 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/{print $2; exit}') || true
if [ -z "$PKG" ]; then
	log "apt-cache knows no linux-image-$FLAVOUR; running apt-get update"
	apt-get update -qq >&2 || true
	PKG=$(apt-cache depends "linux-image-$FLAVOUR" 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/{print $2; exit}') || true
fi
[ -n "$PKG" ] || { log "cannot resolve linux-image-$FLAVOUR"; exit 1; }

deb=$(ls -t "$CACHE/debs/${PKG}"_*.deb /var/cache/apt/archives/"${PKG}"_*.deb 2>/dev/null | head -n 1) || true
if [ -z "$deb" ]; then
	log "downloading $PKG"
	if ! (cd "$CACHE/debs" && apt-get download -qq "$PKG" >&2 2>/dev/null); then
		apt-get update -qq >&2 || true
		(cd "$CACHE/debs" && apt-get download -qq "$PKG" >&2) ||
			{ log "apt-get download $PKG failed"; exit 1; }
	fi
	deb=$(ls -t "$CACHE/debs/${PKG}"_*.deb | head -n 1)
fi

key=$(cat "${BASH_SOURCE[0]}" "$VM_DIR/init" "$deb" "$BUSYBOX" | sha256sum | cut -c1-16)
out=$CACHE/guest-$key
if [ "$FORCE" = 0 ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initramfs.cpio.gz" ]; then
	printf '%s\n' "$out"
	exit 0
fi

log "building $out from ${deb##*/}"
work=$(mktemp -d "$CACHE/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/k"
kver=$(ls "$work/k/lib/modules" | head -n 1)
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,lib/modules}
cp "$BUSYBOX" "$root/bin/busybox"
mods=
for m in $MODULES; do
	cp "$work/k/lib/modules/$kver/$m" "$root/lib/modules/" ||
		{ log "$kver lacks $m"; exit 1; }
	mods="$mods ${m##*/}"
done
printf '%s\n' $mods > "$root/lib/modules/order"
cp "$VM_DIR/init" "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.cpio.gz"
cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"
printf 'kernel=%s\npackage=%s\nbusybox=%s\n' "$kver" "${deb##*/}" "$BUSYBOX" > "$work/info"
rm -rf "$out"
mkdir -p "$out"
mv "$work/vmlinuz" "$work/initramfs.cpio.gz" "$work/info" "$out/"
# older images are garbage once a newer one exists
for d in "$CACHE"/guest-*; do
	[ "$d" = "$out" ] || rm -rf "$d"
done
log "done: kernel $kver, initramfs $(stat -c %s "$out/initramfs.cpio.gz") bytes"
printf '%s\n' "$out"
