#!/usr/bin/env bash
# Runs the OCI runtime conformance suite (runtime-tools validation/, built from Debian sources by
# ../shared/conformance/oci-validation/run.sh) against berth-runtime, and checks the number of
# fully passing programs against the floor recorded in tests/conformance/README.md.
#   usage: scripts/conformance.sh [TEST...]     (env MIN_PASSING, default 44)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
suite=${OCI_VALIDATION:-../shared/conformance/oci-validation/run.sh}
[[ -f $suite ]] || { echo "conformance: $suite not found" >&2; exit 2; }
bash scripts/setup.sh >/dev/null
unset NODE_EXTRA_CA_CERTS
results=${RESULTS_DIR:-/var/tmp/berth-conformance}
status=0
RESULTS_DIR=$results RUNTIME_NAME=berth-runtime bash "$suite" "$PWD/berth-runtime" "$@" | tee "$results.log" || status=$?
((status != 2)) || exit 2
if (($# == 0)); then
  passing=$(sed -n 's/^tests: [0-9]* programs, \([0-9]*\) fully passing.*/\1/p' "$results.log")
  echo "conformance: $passing programs fully passing (floor ${MIN_PASSING:-44})"
  ((passing >= ${MIN_PASSING:-44})) || exit 1
fi
exit 0
