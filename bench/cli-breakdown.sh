#!/usr/bin/env bash
# cli-breakdown.sh — where the wall time of one `berth-runtime run` of /bin/true goes.
#  1. hyperfine -N: `node -e 0` (with and without the workplace's NODE_EXTRA_CA_CERTS), the
#     Node bundles' `--version` (Node start-up + bundle load; ESM and the CommonJS form
#     ./berth-runtime falls back to) and the CommonJS form's `run`; when the build
#     made the Bun executable dist/berth-runtime (scripts/build.mjs), its `--version` and `run` and
#     `bun -e 0`; runc's `run`. Then the Bun executable vs the Node form, `run` alternating
#     (pair-bench.py)
#  2. TRACES traced runs of the ESM bundle (cli-trace.ts as a --import preload: node:fs calls,
#     spawn, exit) cut into phases by cli-breakdown.ts, medians
#  3. CPU profiles (node --cpu-prof) of the ESM bundle's `--version` and `run`: top self time
#     (cpu-profile-top.ts)
#   Usage: bench/cli-breakdown.sh            Env: TRACES=10, RUNS, WARMUP, BUN, BERTH_RUNTIME_NODE (lib.sh),
#          BERTH_RUNTIME_BUN (the Bun executable, default dist/berth-runtime)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need hyperfine jq node
TRACES=${TRACES:-10}
LC=$BENCH_DIR/lifecycle.sh
# the Node form ./berth-runtime falls back to (CommonJS), and the ESM bundle the traces are cut for
NODE_CLI=$(readlink -f "$BERTH_RUNTIME_NODE")
BUNDLE_JS=$REPO/dist/berth-runtime.mjs
# the Bun executable the build made, if any (else dist/berth-runtime is a symlink to the bundle)
BUN_EXE=$(readlink -f "${BERTH_RUNTIME_BUN:-$REPO/dist/berth-runtime}")
[[ $(cli_form "$BUN_EXE") == Bun* ]] || BUN_EXE=

cleanup() {
	local root id
	for root in "${WORK:-/nonexistent}"/root-*; do
		[[ -d $root ]] || continue
		for id in $("$BERTH_RUNTIME" --root "$root" list -q 2>/dev/null); do
			"$BERTH_RUNTIME" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
		done
	done
	for id in $(runc --root "${WORK:-/nonexistent}/root-runc" list -q 2>/dev/null); do
		runc --root "$WORK/root-runc" delete --force "$id" >/dev/null 2>&1 || true
	done
	bench_cleanup_work
}
bench_work
trap cleanup EXIT
trap 'exit 130' INT TERM
make_bundle "$WORK/bundle" /bin/true
mkdir -p "$WORK/root-node" "$WORK/root-bun" "$WORK/root-trace" "$WORK/root-runc"
need python3
BUN=$(find_bun)

# -- 1. start-up floor and totals -----------------------------------------------------------
cmds=(-n "node -e 0" "node -e 0")
if [[ -n $WORKPLACE_NODE_EXTRA_CA_CERTS ]]; then
	cmds+=(-n "node -e 0 with NODE_EXTRA_CA_CERTS set" "env NODE_EXTRA_CA_CERTS=$WORKPLACE_NODE_EXTRA_CA_CERTS node -e 0")
fi
cmds+=(-n "node berth-runtime.mjs --version" "node $BUNDLE_JS --version")
cmds+=(-n "node ${NODE_CLI##*/} --version" "node $NODE_CLI --version")
cmds+=(-n "node ${NODE_CLI##*/} run" "$LC run $NODE_CLI $WORK/root-node $WORK/bundle")
if [[ -n $BUN ]]; then
	cmds+=(-n "bun -e 0" "$BUN -e 0")
fi
if [[ -n $BUN_EXE ]]; then
	cmds+=(-n "Bun executable --version" "$BUN_EXE --version")
	cmds+=(-n "Bun executable run" "$LC run $BUN_EXE $WORK/root-bun $WORK/bundle")
fi
cmds+=(-n "runc run" "$LC run $(command -v runc) $WORK/root-runc $WORK/bundle")
hyperfine -N --style none --warmup "$WARMUP" --runs "$RUNS" --export-json "$RESULTS/cli-startup.json" "${cmds[@]}" \
	>"$RESULTS/cli-startup.txt" 2>&1 || { cat "$RESULTS/cli-startup.txt" >&2; die "hyperfine failed"; }

{
	echo "### Where \`berth-runtime run\` spends its time ($(machine_note))"
	echo
	echo "hyperfine -N, $RUNS runs after $WARMUP warm-up, wall ms; cpu = mean user+sys. Node: $NODE_CLI (ESM bundle, traced below: $BUNDLE_JS); Bun executable: ${BUN_EXE:-none built}${BUN:+; bun -e 0: $("$BUN" --version) ($BUN)}."
	echo
	echo "| command | median | min – max | cpu |"
	echo "|---|---:|---:|---:|"
	jq -r 'def ms: . * 1000 * 10 | round / 10;
		.results[] | "| \(.command) | \(.median|ms) | \(.min|ms) – \(.max|ms) | \((.user + .system)|ms) |"' \
		"$RESULTS/cli-startup.json"
	echo
} | tee "$RESULTS/cli-breakdown.md"

# Bun executable vs the Node form, `run` alternating (pair-bench.py)
if [[ -n $BUN_EXE ]]; then
	mkdir -p "$WORK/root-bun-paired" "$WORK/root-node-paired"
	python3 "$ANCHORS/pair-bench.py" -n "$RUNS" --warmup 2 \
		--vs "$LC run $NODE_CLI $WORK/root-node-paired $WORK/bundle" \
		-- "$LC" run "$BUN_EXE" "$WORK/root-bun-paired" "$WORK/bundle" >"$RESULTS/paired-bun.txt" || true
	{
		echo "Paired (pair-bench.py, \`run\`: the Bun executable = A, the Node form = B, alternating, $RUNS pairs; seconds):"
		echo
		grep -v '^[AB] =' "$RESULTS/paired-bun.txt" | sed 's/^/    /'
		echo
	} | tee -a "$RESULTS/cli-breakdown.md"
fi

# -- 2. traced phases -------------------------------------------------------------------------
"$REPO/node_modules/.bin/esbuild" "$BENCH_DIR/cli-trace.ts" --format=esm --platform=node --target=node20 \
	--outfile="$WORK/cli-trace.mjs" --log-level=warning
for ((i = 0; i < TRACES + 2; i++)); do
	# the first two warm the page cache and are not kept
	out=$WORK/trace-$i.json
	((i < 2)) && out=$WORK/warm-$i.json
	BERTH_TRACE_OUT=$out node --import "$WORK/cli-trace.mjs" "$BUNDLE_JS" --root "$WORK/root-trace" \
		run --bundle "$WORK/bundle" "trace-$i" </dev/null || die "traced run $i failed"
done
cp "$WORK"/trace-*.json "$RESULTS/" 2>/dev/null || true
node --import tsx "$BENCH_DIR/cli-breakdown.ts" "$WORK"/trace-*.json | tee -a "$RESULTS/cli-breakdown.md"

# -- 3. CPU profiles ------------------------------------------------------------------------------
for ((i = 0; i < 5; i++)); do
	node --cpu-prof --cpu-prof-dir="$WORK/prof-version" --cpu-prof-interval 100 "$BUNDLE_JS" --version >/dev/null
	node --cpu-prof --cpu-prof-dir="$WORK/prof-run" --cpu-prof-interval 100 "$BUNDLE_JS" --root "$WORK/root-trace" \
		run --bundle "$WORK/bundle" "prof-$i" </dev/null
done
{
	echo
	echo "CPU profile of \`node berth-runtime --version\` (Node start-up + bundle load only), top self time:"
	echo
	node --import tsx "$BENCH_DIR/cpu-profile-top.ts" --top 12 "$WORK"/prof-version/*.cpuprofile
	echo
	echo "CPU profile of \`node berth-runtime run\`, top self time:"
	echo
	node --import tsx "$BENCH_DIR/cpu-profile-top.ts" --top 15 "$WORK"/prof-run/*.cpuprofile
} | tee -a "$RESULTS/cli-breakdown.md"
