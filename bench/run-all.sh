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
TRACE_DIR=$(mktemp -d /tmp/berth-bench-trace.XXXXXX)
trap 'rm -rf "$TRACE_DIR"' EXIT
cd "$REPO"
{
	echo "# Berth runtime benchmarks, $(machine_note)"
	echo
	echo "Commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + uncommitted changes'); dist/berth-runtime.mjs built $(date -u -r dist/berth-runtime.mjs +%FT%TZ)."
	echo "./berth-runtime: $(cli_form "$BERTH_RUNTIME")."
	echo
} >"$RESULTS/summary.md"
for step in runtime-lifecycle library monitor-density cli-breakdown; do
	case $step in
	library)
		for mode in exit wait; do
			node --import tsx bench/library-start.ts --runs "$LIB_RUNS" --mode "$mode"
			echo
		done
		# the same cycles under the cli-trace.ts preload, cut into phases (5 warm-up cycles left out)
		"$REPO/node_modules/.bin/esbuild" bench/cli-trace.ts --format=esm --platform=node --target=node20 \
			--outfile="$TRACE_DIR/cli-trace.mjs" --log-level=warning
		BERTH_TRACE_OUT=$TRACE_DIR/library.json node --import tsx --import "$TRACE_DIR/cli-trace.mjs" \
			bench/library-start.ts --runs 20 --warmup 5 >/dev/null
		echo "Phases of the library cycles (mode exit, traced: the preload adds a little to each node:fs call):"
		echo
		node --import tsx bench/cli-breakdown.ts --library "$TRACE_DIR/library.json" 5
		echo
		;;
	*) bash "bench/$step.sh" ;;
	esac >"$RESULTS/$step.out" || die "$step failed (output: $RESULTS/$step.out)"
	{ cat "$RESULTS/$step.out"; echo; } >>"$RESULTS/summary.md"
	echo "done: $step" >&2
done
cat "$RESULTS/summary.md"
