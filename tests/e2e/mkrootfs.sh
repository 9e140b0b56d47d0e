#!/bin/sh
# Build (once) the small Debian rootfs the systemd tests boot with
# systemd-nspawn, and print its path.  The tarball is cached outside the
# repository; delete it to force a rebuild.
set -eu
cache=${JIT_TEST_CACHE:-/var/cache/jit-tests}
out="$cache/rootfs-bookworm-v1.tar.zst"
if [ -s "$out" ]; then echo "$out"; exit 0; fi
mkdir -p "$cache"
# The same mirror apt uses on this machine.
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
mmdebstrap --mode=root --variant=minbase --format=tar \
  --include=systemd,systemd-sysv,dbus,sudo,libpam-systemd,libsodium23,libcurl4,libcjson1,procps,passwd \
  --customize-hook='echo jitct > "$1/etc/hostname"; printf "127.0.0.1 localhost\n127.0.1.1 jitct\n" > "$1/etc/hosts"' \
  bookworm - "deb $mirror bookworm main" </dev/null | zstd -q -T0 -o "$tmp" >&2
mv "$tmp" "$out"
trap - EXIT
echo "$out"
