#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs to build and run Berth: Debian packages, npm
# packages, the TypeScript bundle and the C shim. Idempotent; safe to re-run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need=()
# golang-github-containers-common ships /usr/share/containers/seccomp.json, berthd's default profile.
for pkg in gcc make libc6-dev musl-tools busybox-static jq procps iproute2 util-linux python3 golang-github-containers-common; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if ((${#need[@]})); then
  echo "setup: installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q -o DPkg::Lock::Timeout=900 --no-install-recommends "${need[@]}" >/dev/null
fi

# CNI plugins, iptables and friends for the network library.
bash scripts/network-deps.sh

if [[ ! -d node_modules/.bin || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

node scripts/build.mjs
bash scripts/install-shim.sh
echo "setup: built dist/berth-runtime.mjs and native/build/berth-shim" >&2
