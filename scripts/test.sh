#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up, fixtures, unit tests, integration tests
# (real containers, as root), then a leak check. This is what CI runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $(id -u) == 0 ]] || { echo "test: run as root (the tests create real containers)" >&2; exit 1; }

# Containers made by `berth-runtime create` outlive the CLI (as runc's do): their caller is
# expected to be a subreaper (containerd-shim, conmon, systemd). This machine's PID 1 reaps no
# orphans, so this script makes itself one (prctl PR_SET_CHILD_SUBREAPER survives exec).
if [[ -z ${BERTH_TEST_SUBREAPER:-} ]]; then
  export BERTH_TEST_SUBREAPER=1
  exec perl -e 'syscall(157, 36, 1, 0, 0, 0) == 0 or die "prctl: $!"; exec @ARGV or die "exec: $!"' bash "$0" "$@"
fi

bash scripts/setup.sh
# Test images from Debian packages and the local registries (127.0.0.1:5000-5003), stopped at the end.
bash scripts/fixtures/all.sh >/dev/null

leaks=$(mktemp)
trap 'rm -f "$leaks"; bash scripts/fixtures/registry.sh stop all >/dev/null 2>&1 || true' EXIT
bash scripts/leak-check.sh snapshot "$leaks"

# Users' machines don't set it, and it triples Node's start-up in every CLI call the tests make.
unset NODE_EXTRA_CA_CERTS

# Types first: strict TypeScript over src, tests and bench.
npx --no-install tsc -p tsconfig.json

passed=0
failed=0
flaky=()
broken=()

# One node:test run; adds its counts to the totals. Returns non-zero when anything failed.
run_tests() {
  local log status=0
  log=$(mktemp)
  node --import tsx --test --test-concurrency=1 --test-reporter=spec "$@" 2>&1 | tee "$log" || status=$?
  local p f
  p=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$log" | tail -1)
  rm -f "$log"
  last_pass=${p:-0}
  last_fail=${f:-0}
  ((status == 0 && last_fail == 0))
}

mapfile -t unit < <(find src bench -name '*.test.ts' | sort)
if ! run_tests "${unit[@]}"; then
  echo "test: unit tests failed ($last_fail failing); running them once more" >&2
  if run_tests "${unit[@]}"; then
    flaky+=("unit tests")
  else
    broken+=("unit tests")
    failed=$((failed + (last_fail > 0 ? last_fail : 1)))
  fi
fi
passed=$((passed + last_pass))

# Integration tests drive real containers, daemons and networks on a shared 2-core machine: a file
# that fails is run once more, and a pass on the second run is reported as flaky, by name.
mapfile -t integration < <(find tests -name '*.test.ts' | sort)
for file in "${integration[@]}"; do
  if run_tests "$file"; then
    passed=$((passed + last_pass))
    continue
  fi
  echo "test: $file failed ($last_fail failing); running it once more" >&2
  if run_tests "$file"; then
    flaky+=("$file")
    passed=$((passed + last_pass))
  else
    broken+=("$file")
    passed=$((passed + last_pass))
    # A file that died before its summary still counts as a failure.
    failed=$((failed + (last_fail > 0 ? last_fail : 1)))
  fi
done

status=0
((${#flaky[@]} == 0)) || echo "test: FLAKY (failed once, passed on the second run): ${flaky[*]}" >&2
if ((${#broken[@]})); then
  echo "test: FAILED: ${broken[*]}" >&2
  status=1
fi

# The OCI runtime conformance suite: at least 43 of its 58 programs must pass fully (crun's
# score on this VM; the rest fail for reasons tests/conformance/README.md explains).
MIN_PASSING=43 bash scripts/conformance.sh || status=1

# The runtime keeps its parent cgroups between containers (as runc keeps its own); the suite made
# them, so it removes them when empty. A parent that still holds a container is not empty: rmdir
# refuses, and the leak check below names it.
for parent in /sys/fs/cgroup/berth /sys/fs/cgroup/*/berth; do
  [[ -d $parent ]] && rmdir "$parent" 2>/dev/null || true
done
bash scripts/leak-check.sh compare "$leaks" || status=1
echo "$passed passed, $failed failed"
exit $status
