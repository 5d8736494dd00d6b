# shellcheck shell=bash
# lib.sh — shared set-up of the bench scripts (sourced, not run).
#
# Every bench script runs the runtimes the way a user would: NODE_EXTRA_CA_CERTS unset (this
# workplace exports it, and it makes Node load the whole CA bundle at every start, ~3× the
# start-up of `node -e 0`), each runtime on its own --root under one scratch directory that the
# script's trap removes.
#
#   Env: BERTH_RUNTIME  CLI to measure (default: <repo>/berth-runtime: the Bun executable
#                       dist/berth-runtime when the build made one, else the Node bundle)
#        BERTH_RUNTIME_NODE  the Node form of the same CLI (default: <repo>/dist/berth-runtime.cjs,
#                       what ./berth-runtime runs when there is no Bun executable)
#        RUNS           timed runs per command (default 20, the issue's minimum)
#        WARMUP         untimed runs before them (default 3)
#        RESULTS        where raw JSON/text goes (default /tmp/berth-bench-results)
#        ANCHORS        reference scripts (default /work/shared/anchors)
#        BUN            a bun binary to try the CLI under (default: bun on PATH, else the copy
#                       `npm install --prefix /tmp/bun-try bun` leaves in /tmp/bun-try)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
BERTH_RUNTIME=${BERTH_RUNTIME:-$REPO/berth-runtime}
BERTH_RUNTIME_NODE=${BERTH_RUNTIME_NODE:-$REPO/dist/berth-runtime.cjs}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
RESULTS=${RESULTS:-/tmp/berth-bench-results}
ANCHORS=${ANCHORS:-/work/shared/anchors}
# kept (exported, so run-all.sh passes it on) only for cli-breakdown.sh to show what it costs
export WORKPLACE_NODE_EXTRA_CA_CERTS=${WORKPLACE_NODE_EXTRA_CA_CERTS:-${NODE_EXTRA_CA_CERTS:-}}
unset NODE_EXTRA_CA_CERTS
mkdir -p "$RESULTS"

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

need() {
	local c
	for c in "$@"; do command -v "$c" >/dev/null || die "missing command: $c"; done
}

# Scratch directory for roots and bundles; the caller's trap must call bench_cleanup_work.
bench_work() {
	WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
	chmod 0755 "$WORK"
}

bench_cleanup_work() {
	[[ -n ${WORK:-} && -d $WORK ]] && rm -rf "$WORK"
	return 0
}

# make_bundle DIR ARGS... — the project's busybox bundle fixture (runc-compatible config.json).
make_bundle() {
	bash "$REPO/scripts/fixtures/bundle.sh" "$@" >/dev/null
}

# crun 1.8 refuses the hybrid cgroup layout while cgroup2 holds a controller (here: hugetlb).
# Rather than move hugetlb to v1 for the whole host (the anchors' host-fixups.sh), crun runs in a
# private mount namespace where that one file reads empty; no other process sees the change.
# crun_needs_ns: true when that is needed.
crun_needs_ns() {
	# a cgroupfs file has size 0 whatever it holds: read it
	grep -q . /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null
}

# in_crun_ns CMD... — CMD in a private mount namespace in which crun accepts the layout.
in_crun_ns() {
	if crun_needs_ns; then
		: >"$WORK/empty-controllers"
		# shellcheck disable=SC2016 # $0 and $@ belong to the inner sh
		unshare --mount --propagation private -- sh -c \
			'mount --bind "$0" /sys/fs/cgroup/unified/cgroup.controllers && exec "$@"' \
			"$WORK/empty-controllers" "$@"
	else
		"$@"
	fi
}

# machine_note — one line for result tables: date, load, node version.
machine_note() {
	printf '%s, load average %s, %s CPUs, node %s, NODE_EXTRA_CA_CERTS unset\n' \
		"$(date -u +%FT%TZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)" "$(node --version)"
}

# find_bun — path of a bun binary, or nothing
find_bun() {
	local b
	for b in "${BUN:-}" "${BERTH_BUN:-}" "$REPO/node_modules/bun/bin/bun.exe" "$(command -v bun 2>/dev/null)" /tmp/bun-try/node_modules/bun/bin/bun.exe; do
		[[ -n $b && -x $b ]] && "$b" --version >/dev/null 2>&1 && { echo "$b"; return; }
	done
	return 0
}

# cli_form PATH — what a CLI path runs as: "Bun executable (bun X)" or "Node bundle (node vX)"
cli_form() {
	local target
	target=$(readlink -f "$1")
	if [[ $(head -c 4 "$target" | od -An -c | tr -d ' ') == 177ELF ]]; then
		echo "Bun executable ($(basename "$target"), bun $(BUN_BE_BUN=1 "$target" --version 2>/dev/null || echo '?'))"
	else
		echo "Node bundle ($(basename "$target"), node $(node --version))"
	fi
}
