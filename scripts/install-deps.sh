#!/usr/bin/env bash
# Installs the Debian packages berth's build and tests need (idempotent; run as root).
#   build:  gcc, make, libc6-dev (static libc for the native helper); libisal-dev (ISA-L inflate)
#           and libssl-dev (OpenSSL SHA-256) are for speed, not required: with them berth-unpack
#           builds its fast codec, without them its portable one (zlib at run time + own SHA-256)
#   run:    libseccomp2 (berth-seccomp dlopens libseccomp.so.2 for containers with a seccomp profile)
#   tests:  containerd (the real ctr, and a containerd to compare against), runc, crun,
#           docker-registry, skopeo, umoci, busybox-static, attr, iproute2, apache2-utils (htpasswd -B
#           for the registry auth tests), openssl (the token auth fixture signs with a key it makes),
#           golang-github-containerd-containerd-dev (the upstream API protos the proto test checks against),
#           jq (the CLI tests parse --format json with it), zstd (the CLI compresses the zstd layers the tests build; berth-unpack itself dlopens libzstd.so.1),
#           linux-image-amd64 and qemu-system-x86 (test/vm boots a cgroup-v2-only guest: Debian's kernel
#           and its modules, under qemu's software emulation; busybox-static is its initramfs)
#   network: containernetworking-plugins (bridge, host-local, portmap, firewall, loopback under
#           /usr/lib/cni), iptables (the plugins' and berth's isolation rules), iproute2 (routes,
#           bridges), util-linux and mount (unshare and umount pin network namespaces), conntrack
#           (deletes stale flows to a UDP port as it is published)
set -euo pipefail
PKGS=(gcc make libc6-dev libisal-dev libssl-dev libseccomp2 containerd runc crun docker-registry skopeo umoci busybox-static attr iproute2 apache2-utils openssl
      golang-github-containerd-containerd-dev containernetworking-plugins linux-image-amd64 qemu-system-x86 zstd jq
      iptables util-linux mount conntrack)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  # Debian's containerd package starts a system containerd when it is installed. berth's tests run
  # their own private one, so stop the one this install started, and only that one: a containerd
  # (or Docker) that was already running on this machine is never stopped or changed.
  was_active=no
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet containerd 2>/dev/null; then was_active=yes; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$was_active" = no ] && [[ " ${missing[*]} " == *" containerd "* ]] && command -v systemctl >/dev/null 2>&1 \
     && systemctl is-active --quiet containerd 2>/dev/null; then
    systemctl stop containerd || true
  fi
fi
