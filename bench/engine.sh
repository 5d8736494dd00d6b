#!/usr/bin/env bash
# engine.sh — the engine end to end (issue 4). Three measurements on a berthd this script starts
# (bundled from src/ with esbuild, own socket, data root and exec root, `--bridge none` so no
# network is involved), busybox loaded into it from the fixture archive:
#   e2e      `berth run --rm busybox true` (our CLI: dist/berth or the bundle, see BERTH_CLI), the real docker
#            CLI against berthd, and `podman run --rm --network none busybox true` (private --root
#            and --runroot, the anchors' containers.conf settings, runc: crun 1.8 refuses this hybrid
#            host), the three alternating run by run (order rotating) so the shared VM's load hits
#            all alike. Target: berth ≥ 4× faster than podman.
#   start    daemon-side create→running: engine-start.ts times POST /containers/create and
#            POST /containers/{id}/start over the socket (keep-alive, no CLI). Target ≤ 5 ms.
#   density  N idle `docker run -d busybox sleep 3600`: per container the kernel memory added
#            (Δ SUnreclaim+KernelStack+PageTables+Percpu+Shmem — Shmem: state files on the exec
#            root's tmpfs —, and memcg usage of its cgroup beside it),
#            PSS of the berth-shim monitor (the process we add), the sleep's PSS apart, berthd's
#            growth; `docker ps` latency with N containers. Target ≤ 450 kB per container.
# NODE_EXTRA_CA_CERTS is unset for every run (lib.sh). The EXIT trap removes every container
# (berthd's and podman's), stops berthd, unmounts what is left under the scratch dirs and removes
# them; the report states what was left *before* that cleanup.
#   Usage: bench/engine.sh               (markdown on stdout, raw files in $RESULTS/engine)
#   Env:   RUNS=20 (e2e runs per command, start samples), WARMUP=3, N=200 (density containers),
#          BERTH_CLI (default dist/berth when it is the Bun executable, else node + the bundle),
#          PS_RUNS=10, SETTLE_S=3 (pause before reading memory), PODMAN=1, DOCKER_CLI,
#          SHIM_LAYOUT=ro: berthd runs a copy of the build's shim on a read-only bind mount in the
#          scratch dir, the layout scripts/install-shim.sh sets up (one shared page cache for every
#          monitor); SHIM_LAYOUT=memfd: the build dir's binary, which re-executes itself from a
#          private sealed memfd copy per monitor (the CVE-2019-5736 guard for a writable binary)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need node jq awk
DOCKER_CLI=${DOCKER_CLI:-/usr/local/bin/docker}
[[ -x $DOCKER_CLI ]] || die "missing docker CLI: $DOCKER_CLI"
N=${N:-200}
PS_RUNS=${PS_RUNS:-10}
SETTLE_S=${SETTLE_S:-3}
PODMAN=${PODMAN:-1}
FIXTURES=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}
BUSYBOX_TAR=$FIXTURES/archives/busybox.docker.tar
[[ -f $BUSYBOX_TAR ]] || die "missing $BUSYBOX_TAR (scripts/fixtures)"
[[ -x $REPO/native/build/berth-shim ]] || die "missing native/build/berth-shim (build the tree)"
OUT=$RESULTS/engine
mkdir -p "$OUT"
((RUNS >= 10)) || die "RUNS must be at least 10"

SHIM_LAYOUT=${SHIM_LAYOUT:-ro}
[[ $SHIM_LAYOUT == ro || $SHIM_LAYOUT == memfd ]] || die "SHIM_LAYOUT must be ro or memfd"
BERTHD_PID=
EXEC_ROOT=

mounts_under() {
	awk -v p="$1/" 'index($5 "/", p) == 1 { print $5 }' /proc/self/mountinfo
}

cleanup() {
	set +e
	if [[ -n $BERTHD_PID ]]; then
		ids=$(dk ps -aq 2>/dev/null)
		# shellcheck disable=SC2086 # one id per word
		[[ -n $ids ]] && dk rm -f $ids >/dev/null 2>&1
		kill "$BERTHD_PID" 2>/dev/null && wait "$BERTHD_PID" 2>/dev/null
	fi
	if [[ -n ${WORK:-} && -d $WORK ]]; then
		[[ -d $WORK/podman ]] && pm rm -af -t 0 >/dev/null 2>&1
		# the read-only shim mount stays busy while a shim runs from it (berthd's spare exits
		# on EOF of its plan socket right after berthd): then it goes lazily
		for m in $(mounts_under "$WORK" | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
		bench_cleanup_work
	fi
	if [[ -n $EXEC_ROOT && -d $EXEC_ROOT ]]; then
		for m in $(mounts_under "$EXEC_ROOT" | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
		rm -rf "$EXEC_ROOT"
	fi
	return 0
}

bench_work
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$REPO"

# -- berthd and the CLI, bundled from the working tree (dist/ is rebuilt by others meanwhile) ------
SOCK=$WORK/berth.sock
EXEC_ROOT=$(mktemp -d /run/berth-bench-engine.XXXXXX)
# berthd keeps its default exec root in memory (a tmpfs of its own where /run is on a disk, as on
# this VM: runtime/state/memory-root.ts); this one is given, so the script does the same
mount -t tmpfs -o mode=711,size=64m berth-bench-state "$EXEC_ROOT"
mkdir -p "$WORK/root" "$WORK/docker-config"
for b in berthd berth; do
	node_modules/.bin/esbuild "src/bin/$b.ts" --bundle --platform=node --format=esm --target=node20 \
		--log-level=warning --outfile="$WORK/$b.mjs"
done
SHIM=$REPO/native/build/berth-shim
if [[ $SHIM_LAYOUT == ro ]]; then
	mkdir -p "$WORK/shim-ro"
	cp "$SHIM" "$WORK/shim-ro/berth-shim"
	mount --bind "$WORK/shim-ro" "$WORK/shim-ro"
	mount -o remount,bind,ro "$WORK/shim-ro"
	SHIM=$WORK/shim-ro/berth-shim
fi
BERTH_SHIM=$SHIM node "$WORK/berthd.mjs" -H "unix://$SOCK" --data-root "$WORK/root" \
	--exec-root "$EXEC_ROOT" --bridge none >"$OUT/berthd.log" 2>&1 &
BERTHD_PID=$!

dk() {
	DOCKER_CONFIG=$WORK/docker-config DOCKER_HOST='' DOCKER_CONTEXT='' "$DOCKER_CLI" -H "unix://$SOCK" "$@"
}

for _ in $(seq 150); do dk version >/dev/null 2>&1 && break; sleep 0.1; done
dk version >/dev/null || die "berthd did not start: $(cat "$OUT/berthd.log")"
dk load -q -i "$BUSYBOX_TAR" >/dev/null

# the CLI as users get it: dist/berth when the build made it a Bun executable (the default with
# the bun package), else the Node bundle of the working tree
if [[ -z ${BERTH_CLI:-} && -f $REPO/dist/berth && ! -L $REPO/dist/berth ]]; then BERTH_CLI=$REPO/dist/berth; fi
if [[ -n ${BERTH_CLI:-} ]]; then
	BERTH=(env BERTH_SHIM="$SHIM" "$BERTH_CLI" -H "unix://$SOCK")
else
	BERTH=(env BERTH_SHIM="$SHIM" node "$WORK/berth.mjs" -H "unix://$SOCK")
fi
DOCKER=(env DOCKER_CONFIG="$WORK/docker-config" "$DOCKER_CLI" -H "unix://$SOCK")
"${BERTH[@]}" run --rm busybox true || die "berth run failed"

PODMAN_RAN=0
if ((PODMAN)) && command -v podman >/dev/null; then
	mkdir -p "$WORK/podman"
	# podman's default ulimits (1048576) fail without CAP_SYS_RESOURCE here (anchors' gotcha 2)
	cat >"$WORK/podman/containers.conf" <<-EOF
		[containers]
		default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
		[engine]
		runtime = "runc"
		cgroup_manager = "cgroupfs"
		events_logger = "file"
	EOF
	# its run root and tmpdir in memory too, where /run keeps them on most hosts
	mkdir -p "$WORK/podman/run"
	mount -t tmpfs -o mode=700 berth-bench-podman-run "$WORK/podman/run"
	PODMAN_CMD=(env CONTAINERS_CONF="$WORK/podman/containers.conf" podman --root "$WORK/podman/root" --runroot "$WORK/podman/run/root" --tmpdir "$WORK/podman/run/libpod")
	pm() { "${PODMAN_CMD[@]}" "$@"; }
	# the same archive berthd loaded: both start the same rootfs
	if pm load -q -i "$BUSYBOX_TAR" >/dev/null 2>"$OUT/podman-load.err" &&
		pm run --rm --network none --runtime runc busybox true 2>"$OUT/podman-run.err"; then
		PODMAN_RAN=1
	else
		echo "engine.sh: podman skipped: $(tail -2 "$OUT/podman-load.err" "$OUT/podman-run.err")" >&2
	fi
fi

echo "## Engine (issue 4): \`run --rm\` end to end, create→running, 200 idle containers"
echo
echo "$(machine_note); docker CLI $("$DOCKER_CLI" version --format '{{.Client.Version}}' 2>/dev/null), $(podman --version 2>/dev/null || echo 'no podman'); berthd bundled from the working tree at $(git -C "$REPO" rev-parse --short HEAD)+uncommitted, berth CLI ${BERTH_CLI:-node + bundle}, \`--bridge none\`, shim layout \`$SHIM_LAYOUT\`"
echo

# -- e2e ----------------------------------------------------------------------------------------------
names=("berth CLI" "docker CLI → berthd")
cmds=("${BERTH[*]} run --rm busybox true" "${DOCKER[*]} run --rm busybox true")
if ((PODMAN_RAN)); then
	names+=("podman --network none")
	cmds+=("${PODMAN_CMD[*]} run --rm --network none --runtime runc busybox true")
fi
E2E=$OUT/e2e.tsv
: >"$E2E"
k=${#names[@]}
for ((i = 1; i <= WARMUP + RUNS; i++)); do
	for ((j = 0; j < k; j++)); do
		c=$(((i + j) % k))
		read -r -a cmd <<<"${cmds[c]}"
		s=$(date +%s%N)
		"${cmd[@]}" >/dev/null 2>>"$OUT/e2e-errors.log" || die "${names[c]} failed: $(tail -3 "$OUT/e2e-errors.log")"
		((i > WARMUP)) && printf '%d\t%s\t%d\n' "$i" "${names[c]}" $((($(date +%s%N) - s) / 1000)) >>"$E2E"
	done
done

# stats FILE NAME -> "median min max" in ms
stats() {
	awk -F'\t' -v n="$2" '$2 == n { print $3 / 1000 }' "$1" | sort -g |
		awk '{ a[NR] = $1 } END { printf "%.1f %.1f %.1f\n", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[1], a[NR] }'
}
echo "### End to end: \`run --rm busybox true\`"
echo
echo "$RUNS timed rounds after $WARMUP warm-up, the commands alternating (order rotating every round); wall time of the CLI process."
echo
echo "| command | median ms | min – max |"
echo "|---|---:|---|"
for n in "${names[@]}"; do
	read -r med lo hi <<<"$(stats "$E2E" "$n")"
	echo "| $n | $med | $lo – $hi |"
done
echo
if ((PODMAN_RAN)); then
	pmed=$(stats "$E2E" "podman --network none" | cut -d' ' -f1)
	for n in "berth CLI" "docker CLI → berthd"; do
		med=$(stats "$E2E" "$n" | cut -d' ' -f1)
		awk -v n="$n" -v b="$med" -v p="$pmed" 'BEGIN { printf "- %s: **%.2f×** faster than podman (medians %.1f vs %.1f ms); target ≥ 4×: **%s**\n", n, p / b, b, p, (p / b >= 4 ? "met" : "not met") }'
	done
	echo
fi

# -- create→running ----------------------------------------------------------------------------------
node --import tsx "$BENCH_DIR/engine-start.ts" "$SOCK" --runs "$RUNS" --warmup "$WARMUP" >"$OUT/start.json"
echo "### Daemon side: create→running"
echo
echo "\`engine-start.ts\`: $RUNS containers (\`sleep 60\`, after $WARMUP warm-up) created and started over the unix socket with a keep-alive Node HTTP client; State.Running checked after each start, then removed."
echo
echo "| step | median ms | min – max |"
echo "|---|---:|---|"
for f in create start createToRunning; do
	jq -r --arg f "$f" '.[$f] | sort | [(if length % 2 == 1 then .[(length - 1) / 2] else (.[length / 2 - 1] + .[length / 2]) / 2 end), .[0], .[-1]] | map(. / 1000 * 10 | round / 10) | "| \($f) | \(.[0]) | \(.[1]) – \(.[2]) |"' "$OUT/start.json"
done
echo
jq -r '.createToRunning | sort | (if length % 2 == 1 then .[(length - 1) / 2] else (.[length / 2 - 1] + .[length / 2]) / 2 end) / 1000 | "create→running median **\(. * 10 | round / 10) ms**; target ≤ 5 ms: **\(if . <= 5 then "met" else "not met" end)**"' "$OUT/start.json"
echo

# -- density -----------------------------------------------------------------------------------------
# kernel_kb: SUnreclaim + KernelStack + PageTables + Percpu + Shmem (the runtime state on the
# exec root's tmpfs is memory too), kB; avail_kb: MemAvailable
kernel_kb() { awk '/^(SUnreclaim|KernelStack|PageTables|Percpu|Shmem):/ { s += $2 } END { print s }' /proc/meminfo; }
# the counters one by one (kB, in that order): page tables and kernel stacks swing with
# other sessions' processes, SUnreclaim much less, so the split tells noise from a real change
kernel_parts() { awk '/^(SUnreclaim|KernelStack|PageTables|Percpu|Shmem):/ { v[$1] = $2 } END { print v["SUnreclaim:"], v["KernelStack:"], v["PageTables:"], v["Percpu:"], v["Shmem:"] }' /proc/meminfo; }
avail_kb() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }
# started PID: its start time in clock ticks (pid_max is 32768 here: pids come back quickly)
started() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'; }
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

sleep "$SETTLE_S"
k0=$(kernel_kb) a0=$(avail_kb) d0=$(pss_kb "$BERTHD_PID") p0=$(kernel_parts)
s=$(date +%s%N)
for ((i = 1; i <= N; i++)); do
	dk run -d --name "bench-idle-$i" busybox sleep 3600 >/dev/null 2>>"$OUT/density-errors.log" ||
		die "run $i failed: $(tail -3 "$OUT/density-errors.log")"
done
start_ms=$((($(date +%s%N) - s) / 1000000))
sleep "$SETTLE_S"
k1=$(kernel_kb) a1=$(avail_kb) d1=$(pss_kb "$BERTHD_PID") p1=$(kernel_parts)

# per container: pid of its sleep, its memcg usage, PSS of the sleep and of the shim above it
# shellcheck disable=SC2046 # one id per word
dk inspect --format '{{.Name}} {{.State.Pid}}' $(dk ps -q) >"$OUT/density-pids.txt"
: >"$OUT/density.tsv"
while read -r name pid; do
	ppid=$(awk '{ print $4 }' "/proc/$pid/stat")
	pcomm=$(cat "/proc/$ppid/comm")
	mcg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' "/proc/$pid/cgroup")
	mu=$(($(cat "/sys/fs/cgroup/memory$mcg/memory.usage_in_bytes") / 1024))
	printf '%s\t%d\t%d\t%s\t%d\t%d\t%s\t%s\n' "$name" "$(pss_kb "$pid")" "$ppid" "$pcomm" "$(pss_kb "$ppid")" "$mu" "$mcg" "$(started "$ppid")" >>"$OUT/density.tsv"
done <"$OUT/density-pids.txt"
running=$(wc -l <"$OUT/density.tsv")

: >"$OUT/ps.txt"
for ((i = 1; i <= PS_RUNS; i++)); do
	s=$(date +%s%N)
	dk ps >/dev/null
	echo $((($(date +%s%N) - s) / 1000)) >>"$OUT/ps.txt"
done
ps_lines=$(dk ps -q | wc -l)

s=$(date +%s%N)
# shellcheck disable=SC2046
dk rm -f $(dk ps -aq) >/dev/null
rm_ms=$((($(date +%s%N) - s) / 1000000))
sleep 1
left_ctr=$(dk ps -aq | wc -l)
left_shim=0 left_zombie=0
while IFS=$'\t' read -r _ _ ppid _ _ _ _ t; do
	if [[ $(started "$ppid") == "$t" ]]; then
		# an exited shim waits for PID 1 (here process_api, not an init) to reap it
		if [[ $(sed 's/.*) //' "/proc/$ppid/stat" 2>/dev/null | cut -d' ' -f1) == Z ]]; then
			left_zombie=$((left_zombie + 1))
		else
			left_shim=$((left_shim + 1))
		fi
	fi
done <"$OUT/density.tsv"
left_cg=0
while IFS=$'\t' read -r _ _ _ _ _ _ mcg _; do
	for ctl in /sys/fs/cgroup/*/; do if [[ -d $ctl${mcg#/} ]]; then left_cg=$((left_cg + 1)); fi; done
done <"$OUT/density.tsv"
left_mnt=$(mounts_under "$EXEC_ROOT" | wc -l)
left_mnt=$((left_mnt + $(mounts_under "$WORK/root" | wc -l)))

med() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
col_med() { cut -f"$1" "$OUT/density.tsv" | med; }
col_sum() { awk -F'\t' -v c="$1" '{ s += $c } END { print s }' "$OUT/density.tsv"; }
sleep_pss=$(col_med 2)
shim_pss_sum=$(col_sum 5)
shim_comm=$(cut -f4 "$OUT/density.tsv" | sort | uniq -c | awk '{ printf "%s%s×%s", (NR > 1 ? ", " : ""), $1, $2 }')
memcg_med=$(col_med 6)
ps_med=$(med <"$OUT/ps.txt")

echo "### $N idle containers (\`docker run -d busybox sleep 3600\`)"
echo
echo "Started one after another in ${start_ms} ms ($((start_ms / N)) ms each); $running running when measured (parents of the sleeps: $shim_comm). Memory read before and ${SETTLE_S} s after; kB per container:"
echo
awk -v n="$N" -v k="$((k1 - k0))" -v a="$((a0 - a1))" -v sh="$shim_pss_sum" -v sl="$sleep_pss" -v mc="$memcg_med" -v d="$((d1 - d0))" -v p0="$p0" -v p1="$p1" 'BEGIN {
	split(p0, b); split(p1, e)
	printf "| per container | kB |\n|---|---:|\n"
	printf "| **accounted** = kernel Δ + shim PSS | **%.0f** |\n", k / n + sh / n
	printf "| accounted by memcg = container memcg (median) + shim PSS | %.0f |\n", mc + sh / n
	printf "| kernel Δ (SUnreclaim + KernelStack + PageTables + Percpu + Shmem) | %.0f |\n", k / n
	printf "| … SUnreclaim / KernelStack / PageTables / Percpu / Shmem | %.0f / %.0f / %.0f / %.0f / %.0f |\n", (e[1] - b[1]) / n, (e[2] - b[2]) / n, (e[3] - b[3]) / n, (e[4] - b[4]) / n, (e[5] - b[5]) / n
	printf "| berth-shim PSS (mean of %d) | %.0f |\n", n, sh / n
	printf "| berthd PSS growth / %d | %.0f |\n", n, d / n
	printf "| container memcg `memory.usage_in_bytes` (median; includes the sleep) | %.0f |\n", mc
	printf "| workload: busybox `sleep` PSS (median) | %.0f |\n", sl
	printf "| Δ MemAvailable (noisy: other sessions share the VM) | %.0f |\n", a / n
	printf "\naccounted %.0f kB per container (by memcg: %.0f); target ≤ 450 kB: **%s** (berthd growth and the sleep PSS excluded; the memcg figure includes what the sleep charged)\n", k / n + sh / n, mc + sh / n, (k / n + sh / n <= 450 ? (mc + sh / n <= 450 ? "met" : "met by kernel counters, not by memcg") : (mc + sh / n <= 450 ? "met by memcg, not by kernel counters" : "not met"))
}'
echo
awk -v p="$ps_med" -v r="$PS_RUNS" -v l="$ps_lines" -v rm="$rm_ms" -v n="$N" 'BEGIN { printf "`docker ps` with %d containers: median **%.1f ms** of %d runs. `docker rm -f` of all %d: %d ms.\n", l, p / 1000, r, n, rm }'
echo
echo "Left after \`docker rm -f\` (before the trap's cleanup): $left_ctr containers, $left_shim berth-shim processes (plus $left_zombie exited, not yet reaped by PID 1), $left_cg container cgroup dirs, $left_mnt mounts."
