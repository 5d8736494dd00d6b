#!/usr/bin/env bash
# Counts what Berth's tests could leave on the host (mounts, cgroups, processes, network
# namespaces, veths, state dirs). `snapshot FILE` records the counts; `compare FILE` fails if
# any grew, and lists what is new.
set -euo pipefail

counts() {
  echo "mounts $(grep -c -E 'berth' /proc/self/mountinfo || true)"
  echo "cgroups $(find /sys/fs/cgroup -mindepth 2 -maxdepth 5 -type d -path '*berth*' 2>/dev/null | wc -l)"
  echo "shims $(pgrep -c -f 'berth-shim' || true)"
  echo "netns $(ip netns list 2>/dev/null | wc -l)"
  echo "veths $(ip -o link show type veth 2>/dev/null | wc -l)"
  echo "states $(find /run/berth /run -maxdepth 1 -name 'berth-test-state-*' 2>/dev/null | wc -l)"
  echo "leases $(find /var/lib/cni/networks -path '*berth-*' -type f ! -name 'last_reserved_ip*' ! -name lock 2>/dev/null | wc -l)"
  echo "rules $( (iptables-save 2>/dev/null || true) | grep -c -i berth || true)"
}

case ${1:-} in
  snapshot) counts >"$2" ;;
  compare)
    now=$(mktemp)
    counts >"$now"
    status=0
    while read -r name before; do
      after=$(awk -v n="$name" '$1 == n { print $2 }' "$now")
      if ((after > before)); then
        echo "leak-check: $name grew from $before to $after" >&2
        status=1
      fi
    done <"$2"
    if ((status)); then
      grep berth /proc/self/mountinfo | head -20 >&2 || true
      find /sys/fs/cgroup -mindepth 2 -maxdepth 5 -type d -path '*berth*' 2>/dev/null | head -20 >&2 || true
      pgrep -af berth-shim | head >&2 || true
    else
      echo "leak-check: nothing left behind ($(tr '\n' ' ' <"$now"))"
    fi
    rm -f "$now"
    exit $status
    ;;
  *) echo "usage: leak-check.sh snapshot|compare FILE" >&2; exit 2 ;;
esac
