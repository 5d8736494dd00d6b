#!/usr/bin/env bash
# Installs berth-shim as /run/berth/shim/berth-shim on a read-only bind mount. No container can
# then reach a writable copy of the binary that runs beside it (CVE-2019-5736), and every
# monitor shares one page cache instead of each running a private sealed memfd copy.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
src=native/build/berth-shim
dir=/run/berth/shim
[[ -x $src ]] || { echo "install-shim: $src not built (run node scripts/build.mjs)" >&2; exit 1; }
if [[ -f $dir/berth-shim ]] && cmp -s "$src" "$dir/berth-shim"; then exit 0; fi
mkdir -p "$dir"
if mountpoint -q "$dir"; then umount "$dir"; fi
install -m 0755 "$src" "$dir/.berth-shim.new"
mv "$dir/.berth-shim.new" "$dir/berth-shim"
touch -r "$src" "$dir/berth-shim"
mount --bind "$dir" "$dir"
mount -o remount,bind,ro "$dir"
echo "install-shim: $dir/berth-shim (read-only)" >&2
