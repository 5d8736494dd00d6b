#!/usr/bin/env bash
# run-all.sh — every benchmark of bench/ in one go (~2–3 min on the project's 2-core VM), one
# markdown report: $RESULTS/summary.md (default /tmp/berth-bench-results/summary.md).
#   Env: RUNS, WARMUP, RESULTS, BERTH_RUNTIME, BUN (lib.sh); N, LAYOUTS (monitor-density.sh);
#        TRACES (cli-breakdown.sh); LIB_RUNS (library-start.ts, default 50)
# Nothing is built here (others may be rebuilding the tree): run `node scripts/build.mjs` first
# when dist/ or native/build/ is stale.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LIB_RUNS=${LIB_RUNS:-50}
cd "$REPO"
{
	echo "# Berth runtime benchmarks, $(machine_note)"
	echo
	echo "Commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + uncommitted changes'); dist/berth-runtime.mjs built $(date -u -r dist/berth-runtime.mjs +%FT%TZ)."
	echo
} >"$RESULTS/summary.md"
for step in runtime-lifecycle library monitor-density cli-breakdown; do
	case $step in
	library)
		for mode in exit wait; do
			node --import tsx bench/library-start.ts --runs "$LIB_RUNS" --mode "$mode"
			echo
		done
		;;
	*) bash "bench/$step.sh" ;;
	esac >"$RESULTS/$step.out" || die "$step failed (output: $RESULTS/$step.out)"
	{ cat "$RESULTS/$step.out"; echo; } >>"$RESULTS/summary.md"
	echo "done: $step" >&2
done
cat "$RESULTS/summary.md"
