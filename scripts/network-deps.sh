#!/usr/bin/env bash
# Debian packages the network layer (src/network) spawns: the CNI plugins (bridge, host-local,
# portmap, firewall in /usr/lib/cni), iproute2 (ip), util-linux (unshare, umount, mountpoint),
# iptables (used by the plugins), conntrack (UDP flows of published ports dropped at detach) and
# busybox for the network tests. Installs only what is
# missing; idempotent; called by scripts/setup.sh.
set -euo pipefail

need=()
for pkg in containernetworking-plugins iproute2 util-linux iptables conntrack busybox-static; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
# busybox-static and busybox provide the same binary; either will do.
if [[ " ${need[*]-} " == *" busybox-static "* ]] && command -v busybox >/dev/null; then
  need=("${need[@]/busybox-static}")
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | grep -v '^$' || true)
if ((${#need[@]})); then
  echo "network-deps: installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q -o DPkg::Lock::Timeout=900 --no-install-recommends "${need[@]}" >/dev/null
fi
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/portmap && -x /usr/lib/cni/firewall ]] || {
  echo "network-deps: CNI plugins missing from /usr/lib/cni after install" >&2
  exit 1
}
