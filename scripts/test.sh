#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up, fixtures, unit tests, integration tests
# (real containers, as root), then a leak check. This is what CI runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $(id -u) == 0 ]] || { echo "test: run as root (the tests create real containers)" >&2; exit 1; }

bash scripts/setup.sh
bash scripts/fixtures/busybox-rootfs.sh >/dev/null

leaks=$(mktemp)
trap 'rm -f "$leaks"' EXIT
bash scripts/leak-check.sh snapshot "$leaks"

# Users' machines don't set it, and it triples Node's start-up in every CLI call the tests make.
unset NODE_EXTRA_CA_CERTS

mapfile -t unit < <(find src -name '*.test.ts' | sort)
mapfile -t integration < <(find tests -name '*.test.ts' | sort)
status=0
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${unit[@]}" "${integration[@]}" || status=$?

bash scripts/leak-check.sh compare "$leaks" || status=1
exit $status
