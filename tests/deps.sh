#!/bin/sh
# Install what jit needs to build, test and demo on Debian 12 (root).
# Idempotent: apt-get skips what is there.
set -eu
pkgs="cmake make gcc pkg-config
      libpam0g-dev libsodium-dev libcurl4-openssl-dev libcjson-dev libsystemd-dev
      libcmocka-dev
      sudo openssh-server openssh-client iproute2 passwd login bsdutils util-linux procps python3
      openssl ca-certificates
      systemd-container mmdebstrap zstd mandoc
      etcd-server etcd-client
      clang libclang-rt-14-dev
      dpkg-dev lintian
      valgrind"
missing=$(for p in $pkgs; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
        echo "== installing: $(echo $missing)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
