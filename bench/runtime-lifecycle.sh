#!/usr/bin/env bash
# runtime-lifecycle.sh — berth-runtime vs runc vs crun on the same busybox /bin/true bundle:
#   run   `RT run --bundle B ID` (foreground, waits for the exit)
#   csd   `RT create` + `RT start` + `RT delete --force`
# hyperfine -N (no shell), RUNS timed runs after WARMUP (lib.sh), one hyperfine per runtime
# (crun needs its own mount namespace here, see lib.sh), then the anchors' pair-bench.py for
# berth vs runc `run` alternating, whose per-pair ratio cancels the machine's drift.
#   Usage: bench/runtime-lifecycle.sh        (markdown on stdout, raw files in $RESULTS)
# `berth` is $BERTH_RUNTIME (./berth-runtime: the Bun executable when the build made one);
# `berth-node` is the Node form ./berth-runtime falls back to ($BERTH_RUNTIME_NODE, default
# dist/berth-runtime.cjs), listed by default when ./berth-runtime is something else.
#   Env:   RUNTIMES="berth [berth-node] runc crun"  PAIRED=1 (0 skips pair-bench)
#          STATE_FS=tmpfs: every runtime's --root on one tmpfs, where /run keeps it on most hosts
#          (this VM's /run is ext4: a new file there costs 0.1-0.5 ms); STATE_FS=disk: in the
#          scratch dir on /tmp (ext4)
#          SECCOMP=1: the bundle gets the seccomp filter podman and berthd give containers
#          (bench/seccomp-bundle.ts: containers-common's profile, Docker's default capabilities)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need hyperfine jq python3 node
if [[ $(readlink -f "$BERTH_RUNTIME") == $(readlink -f "$BERTH_RUNTIME_NODE") ]]; then
	RUNTIMES=${RUNTIMES:-berth runc crun}
else
	RUNTIMES=${RUNTIMES:-berth berth-node runc crun}
fi
PAIRED=${PAIRED:-1}
STATE_FS=${STATE_FS:-tmpfs}
SECCOMP=${SECCOMP:-0}
[[ $STATE_FS == tmpfs || $STATE_FS == disk ]] || die "STATE_FS must be tmpfs or disk"
LC=$BENCH_DIR/lifecycle.sh

rt_bin() {
	case $1 in
	berth) echo "$BERTH_RUNTIME" ;;
	berth-node) echo "$BERTH_RUNTIME_NODE" ;;
	*) command -v "$1" ;;
	esac
}

# Deletes whatever is left in each runtime's root, then the scratch dir. Also the error path:
# hyperfine stops at the first failed run, possibly with a container half made.
cleanup() {
	local rt bin id
	for rt in $RUNTIMES; do
		[[ -d ${STATE:-}/root-$rt ]] || continue
		bin=$(rt_bin "$rt")
		for id in $(run_rt "$rt" "$bin" --root "$STATE/root-$rt" list -q 2>/dev/null); do
			run_rt "$rt" "$bin" --root "$STATE/root-$rt" delete --force "$id" >/dev/null 2>&1 || true
		done
	done
	[[ $STATE_FS == tmpfs && -n ${STATE:-} ]] && { umount "$STATE" 2>/dev/null || umount -l "$STATE" 2>/dev/null; }
	bench_cleanup_work
}

run_rt() {
	local rt=$1
	shift
	if [[ $rt == crun ]]; then in_crun_ns "$@"; else "$@"; fi
}

# leftovers RT — containers still listed in RT's root (a leak of the runtime or of the wrapper)
leftovers() {
	local bin
	bin=$(rt_bin "$1")
	run_rt "$1" "$bin" --root "$STATE/root-$1" list -q 2>/dev/null | grep -c . || true
}

bench_work
STATE=$WORK/state
mkdir -p "$STATE"
[[ $STATE_FS == tmpfs ]] && mount -t tmpfs -o mode=711 berth-bench-state "$STATE"
trap cleanup EXIT
trap 'exit 130' INT TERM
for rt in $RUNTIMES; do
	[[ -n $(rt_bin "$rt") && -x $(rt_bin "$rt") ]] || die "runtime $rt not found"
	mkdir -p "$STATE/root-$rt"
done
[[ -x $REPO/native/build/berth-shim ]] || die "native/build/berth-shim missing: run node scripts/build.mjs"
make_bundle "$WORK/bundle" /bin/true
if [[ $SECCOMP == 1 ]]; then node --import tsx "$BENCH_DIR/seccomp-bundle.ts" "$WORK/bundle" || die "seccomp-bundle.ts failed"; fi
FILTER=
[[ $SECCOMP == 1 ]] && FILTER="; the bundle with containers-common's seccomp filter"

# hf NAME RT MODE — one hyperfine, JSON to $RESULTS/NAME.json
hf() {
	local name=$1 rt=$2 mode=$3 bin
	bin=$(rt_bin "$rt")
	run_rt "$rt" hyperfine -N --style none --warmup "$WARMUP" --runs "$RUNS" \
		--export-json "$RESULTS/$name.json" -n "$rt $mode" \
		"$LC $mode $bin $STATE/root-$rt $WORK/bundle" >"$RESULTS/$name.txt" 2>&1 ||
		{ cat "$RESULTS/$name.txt" >&2; die "hyperfine failed: $rt $mode"; }
}

hf lifecycle-noop berth noop
for mode in run csd; do
	for rt in $RUNTIMES; do hf "lifecycle-$mode-$rt" "$rt" "$mode"; done
done

# One markdown row per runtime and mode; ratio = this median / runc's median (same mode).
row() {
	local mode=$1 rt=$2
	local base=$RESULTS/lifecycle-$mode-runc.json
	[[ -f $base ]] || base=$RESULTS/lifecycle-$mode-$rt.json
	jq -r --slurpfile b "$base" --arg mode "$mode" '
		def ms: . * 1000 * 10 | round / 10;
		.results[0] as $r | $b[0].results[0].median as $base
		| "| \($r.command) | \($r.median|ms) | \($r.min|ms) – \($r.max|ms) | \(($r.user + $r.system)|ms) | \($r.times|length) | \($r.median / $base * 100 | round / 100) |"' \
		"$RESULTS/lifecycle-$mode-$rt.json"
}

{
	echo "### Lifecycle of a busybox /bin/true container ($(machine_note); state roots on $STATE_FS$FILTER)"
	echo
	echo "Wall ms (hyperfine -N, $RUNS runs after $WARMUP warm-up, one runtime after the other); cpu = mean user+sys of the"
	echo "command and its waited-for children. Rows include the wrapper (\`noop\` row). crun ran in a private mount"
	echo "namespace where /sys/fs/cgroup/unified/cgroup.controllers reads empty (lib.sh). berth: $(cli_form "$BERTH_RUNTIME")."
	echo
	echo "| runtime, mode | median | min – max | cpu | n | ÷ runc median |"
	echo "|---|---:|---:|---:|---:|---:|"
	jq -r 'def ms: . * 1000 * 10 | round / 10; .results[0] | "| wrapper noop | \(.median|ms) | \(.min|ms) – \(.max|ms) | \((.user + .system)|ms) | \(.times|length) | |"' \
		"$RESULTS/lifecycle-noop.json"
	for mode in run csd; do
		for rt in $RUNTIMES; do row "$mode" "$rt"; done
	done
} | tee "$RESULTS/lifecycle.md"

if [[ $PAIRED == 1 && " $RUNTIMES " == *" berth "* && " $RUNTIMES " == *" runc "* ]]; then
	python3 "$ANCHORS/pair-bench.py" -n "$RUNS" --warmup 2 \
		--vs "$LC run $(rt_bin runc) $STATE/root-runc $WORK/bundle" \
		-- "$LC" run "$BERTH_RUNTIME" "$STATE/root-berth" "$WORK/bundle" >"$RESULTS/paired-run.txt" || true
	echo
	echo "Paired (anchors' pair-bench.py, berth run = A, runc run = B, alternating, $RUNS pairs; seconds):"
	echo
	sed 's/^/    /' "$RESULTS/paired-run.txt"
fi | tee -a "$RESULTS/lifecycle.md"

echo
for rt in $RUNTIMES; do
	n=$(leftovers "$rt")
	[[ $n == 0 ]] || echo "WARNING: $n containers left in $rt's root after the runs (cleaned up now)" >&2
done
echo "containers left behind before cleanup: $(for rt in $RUNTIMES; do printf '%s=%s ' "$rt" "$(leftovers "$rt")"; done)" |
	tee -a "$RESULTS/lifecycle.md"
