#!/usr/bin/env bash
# cli-run-jit.sh — what JavaScriptCore's JIT costs a `berth-runtime run` of a busybox /bin/true
# bundle, under the Bun executable: paired runs (anchors' pair-bench.py, alternating, the ratio
# taken pair by pair) of the same binary with and without a setting, each against the default.
#   default          as built: src/cli/runtime/main.ts sets Bun.unsafe.setJITPolicy(JIT_RELUCTANCE)
#   useJIT=0         BUN_JSC_useJIT=0: no JIT at all, from the first instruction on (start-up too)
#   runc             `runc run` on the same bundle, for scale
# NODE_EXTRA_CA_CERTS is unset (lib.sh). State roots on a private tmpfs, removed on exit.
#   Usage: bench/cli-run-jit.sh            Env: RUNS (default 20), BERTH_RUNTIME
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need python3 runc
[[ -x $BERTH_RUNTIME ]] || die "$BERTH_RUNTIME missing: run node scripts/build.mjs"
LC=$BENCH_DIR/lifecycle.sh

cleanup() {
	local root id
	for root in "${STATE:-}"/root-*; do
		[[ -d $root ]] || continue
		for id in $("$BERTH_RUNTIME" --root "$root" list -q 2>/dev/null); do "$BERTH_RUNTIME" --root "$root" delete --force "$id" >/dev/null 2>&1 || true; done
		for id in $(runc --root "$root" list -q 2>/dev/null); do runc --root "$root" delete --force "$id" >/dev/null 2>&1 || true; done
	done
	[[ -n ${STATE:-} ]] && { umount "$STATE" 2>/dev/null || umount -l "$STATE" 2>/dev/null || true; }
	bench_cleanup_work
}

bench_work
STATE=$WORK/state
mkdir -p "$STATE"
mount -t tmpfs -o mode=711 berth-bench-jit "$STATE"
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$STATE/root-a" "$STATE/root-b" "$STATE/root-runc"
make_bundle "$WORK/bundle" /bin/true

# pair LABEL ENV_A ENV_B — berth run with ENV_A (A) against berth run with ENV_B (B)
pair() {
	echo "### $1"
	python3 "$ANCHORS/pair-bench.py" -n "$RUNS" --warmup 3 \
		--vs "env $3 $LC run $BERTH_RUNTIME $STATE/root-b $WORK/bundle" \
		-- env $2 "$LC" run "$BERTH_RUNTIME" "$STATE/root-a" "$WORK/bundle" | sed 's/^/    /'
}

{
	echo "## berth-runtime run: JIT settings (${RUNS} pairs; $(cli_form "$BERTH_RUNTIME"))"
	pair "A = BUN_JSC_useJIT=0, B = as built" BUN_JSC_useJIT=0 BERTH_BENCH=1
	echo "### A = berth as built, B = runc"
	python3 "$ANCHORS/pair-bench.py" -n "$RUNS" --warmup 3 \
		--vs "$LC run $(command -v runc) $STATE/root-runc $WORK/bundle" \
		-- "$LC" run "$BERTH_RUNTIME" "$STATE/root-a" "$WORK/bundle" | sed 's/^/    /'
} | tee "$RESULTS/cli-run-jit.md"
