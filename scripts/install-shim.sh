#!/usr/bin/env bash
# Installs berth-shim and berth-init (docker's --init) in /run/berth/shim/ on a read-only bind
# mount. No container can then reach a writable copy of a binary that runs beside it or inside
# it (CVE-2019-5736), and every monitor shares one page cache instead of each running a private
# sealed memfd copy. Each copy keeps its build's mtime: the engine uses it only while it matches.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=/run/berth/shim
binaries=(berth-shim berth-init)
for name in "${binaries[@]}"; do
  [[ -x native/build/$name ]] || { echo "install-shim: native/build/$name not built (run node scripts/build.mjs)" >&2; exit 1; }
done
current=1
for name in "${binaries[@]}"; do
  [[ -f $dir/$name && $(stat -c '%s %y' "$dir/$name") == $(stat -c '%s %y' "native/build/$name") ]] && cmp -s "native/build/$name" "$dir/$name" || current=0
done
((current)) && exit 0
mkdir -p "$dir"
if mountpoint -q "$dir"; then umount "$dir"; fi
for name in "${binaries[@]}"; do
  install -m 0755 "native/build/$name" "$dir/.$name.new"
  mv "$dir/.$name.new" "$dir/$name"
  touch -r "native/build/$name" "$dir/$name"
done
mount --bind "$dir" "$dir"
mount -o remount,bind,ro "$dir"
echo "install-shim: ${binaries[*]} in $dir (read-only)" >&2
