#!/usr/bin/env bash
# monitor-density.sh — memory of N idle containers (`sleep 3600`), each under its own berth-shim
# monitor in WAIT mode, started the way a user would: `berth-runtime run --bundle B ID` in the
# background, stdio on /dev/null (a foreground `run` keeps the shim as the monitor).
#
# Per container it reads, from /proc/PID/smaps_rollup: the shim (the monitor), the container's
# init (busybox sleep) and, if it stayed alive, the Node CLI that started it; from the container's
# v1 memory cgroup: memory.usage_in_bytes and memory.kmem.usage_in_bytes; from /proc/meminfo: the
# growth of kernel memory (SUnreclaim + KernelStack + PageTables + Percpu) over the N starts.
#
# Shim layouts (LAYOUTS), the shim's exe is printed with each:
#   default  BERTH_SHIM unset: what a user gets (the runtime picks the installed read-only copy
#            /run/berth/shim/berth-shim when it matches the build, else native/build/berth-shim,
#            i.e. the memfd case: re-run scripts/install-shim.sh after each build)
#   memfd    BERTH_SHIM=native/build/berth-shim, on a writable filesystem: each shim re-executes
#            itself from its own sealed memfd (CVE-2019-5736), so its text is private
#   ro       a copy of the shim on a read-only bind mount under the scratch dir: the installed
#            layout, for hosts where scripts/install-shim.sh has not run
#
#   Usage: bench/monitor-density.sh        Env: N=50  LAYOUTS="default ro memfd"  SETTLE=3 (seconds)
# Cleans up every container, process, mount and directory it made, also on error or ^C.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need jq awk
N=${N:-50}
LAYOUTS=${LAYOUTS:-default ro memfd}
SETTLE=${SETTLE:-3}
CLI_PIDS=()
RO_MOUNT=

cleanup() {
	local root id pid i
	set +e
	# Killing the init ends the shim's WAIT, and the CLI waiting on it deletes its container. On an
	# interrupted start some inits are not known yet: the runtime's kill reaches those.
	for pid in ${INIT_PIDS[@]+"${INIT_PIDS[@]}"}; do kill -KILL "$pid" 2>/dev/null; done
	for root in "${WORK:-/nonexistent}"/root-*; do
		[[ -d $root ]] || continue
		for id in $("$BERTH_RUNTIME" --root "$root" list -q 2>/dev/null); do
			"$BERTH_RUNTIME" --root "$root" kill "$id" KILL >/dev/null 2>&1
		done
	done
	for ((i = 0; i < 100; i++)); do
		alive=0
		for pid in ${CLI_PIDS[@]+"${CLI_PIDS[@]}"}; do kill -0 "$pid" 2>/dev/null && alive=1 && break; done
		((alive)) || break
		sleep 0.1
	done
	# not a bare `wait`: it would also wait for the tee process substitution, which never ends first
	for pid in ${CLI_PIDS[@]+"${CLI_PIDS[@]}"}; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	for root in "${WORK:-/nonexistent}"/root-*; do
		[[ -d $root ]] || continue
		for id in $("$BERTH_RUNTIME" --root "$root" list -q 2>/dev/null); do
			"$BERTH_RUNTIME" --root "$root" delete --force "$id" >/dev/null 2>&1
		done
	done
	[[ -n $RO_MOUNT ]] && umount "$RO_MOUNT"
	bench_cleanup_work
}

rollup() { # rollup PID — "RSS PSS" in kB, or "0 0" once gone
	awk '/^Rss:/{r=$2} /^Pss:/{p=$2} END{print (r?r:0), (p?p:0)}' "/proc/$1/smaps_rollup" 2>/dev/null || echo "0 0"
}

kernel_kb() {
	awk '/^(SUnreclaim|KernelStack|PageTables|Percpu):/{s+=$2} END{print s}' /proc/meminfo
}

# child_of PID — the first child of PID (the CLI's shim, the shim's container init)
child_of() {
	local c
	c=$(<"/proc/$1/task/$1/children") 2>/dev/null || return 1
	c=${c%% *}
	[[ -n $c ]] && echo "$c"
}

# stats — median, total, min, max of numbers on stdin (one per line)
stats() {
	sort -n | awk '{v[NR]=$1; s+=$1} END{
		if (NR == 0) { print "- - - -"; exit }
		m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%g %d %d %d\n", m, s, v[1], v[NR]}'
}

bench_work
trap cleanup EXIT
trap 'exit 130' INT TERM
[[ -x $REPO/native/build/berth-shim ]] || die "native/build/berth-shim missing: run node scripts/build.mjs"
make_bundle "$WORK/bundle" sleep 3600

# measure LAYOUT — start N, measure, stop them; one markdown row group on stdout, JSON in RESULTS
measure() {
	local layout=$1 root=$WORK/root-$1 i id cli shim init t0 t1 k0 k1 mcg
	local -a shim_env=()
	if [[ $layout == ro ]]; then
		mkdir -p "$WORK/shim-ro"
		cp "$REPO/native/build/berth-shim" "$WORK/shim-ro/"
		mount --bind "$WORK/shim-ro" "$WORK/shim-ro"
		RO_MOUNT=$WORK/shim-ro
		mount -o remount,bind,ro "$WORK/shim-ro"
		shim_env=(BERTH_SHIM="$WORK/shim-ro/berth-shim")
	elif [[ $layout == memfd ]]; then
		shim_env=(BERTH_SHIM="$REPO/native/build/berth-shim")
	fi
	mkdir -p "$root"
	CLI_PIDS=()
	INIT_PIDS=()
	local -a shims=()
	sleep "$SETTLE"
	k0=$(kernel_kb)
	t0=$(date +%s%N)
	for ((i = 1; i <= N; i++)); do
		id=dens-$layout-$i
		env ${shim_env[@]+"${shim_env[@]}"} "$BERTH_RUNTIME" --root "$root" run --bundle "$WORK/bundle" "$id" \
			</dev/null >/dev/null 2>&1 &
		cli=$!
		CLI_PIDS+=("$cli")
		# up = the shim's child runs busybox (no longer the shim's own image)
		for ((w = 0; w < 500; w++)); do
			shim=$(child_of "$cli") && init=$(child_of "$shim") &&
				[[ $(readlink "/proc/$init/exe" 2>/dev/null) != *berth-shim* ]] && break
			kill -0 "$cli" 2>/dev/null || die "berth-runtime run $id exited before its container was up"
			sleep 0.01
		done
		((w < 500)) || die "container $id not up after 5 s"
		shims+=("$shim")
		INIT_PIDS+=("$init")
	done
	t1=$(date +%s%N)
	sleep "$SETTLE"
	k1=$(kernel_kb)

	local f=$RESULTS/density-$layout
	: >"$f.tsv"
	for ((i = 0; i < N; i++)); do
		init=${INIT_PIDS[$i]}
		mcg=$(awk -F: '$2 == "memory" {print $3}' "/proc/$init/cgroup")
		# rollup prints two numbers: 8 columns in all
		printf '%s %s %s %s %s %s\n' \
			"$(rollup "${shims[$i]}")" "$(rollup "$init")" "$(rollup "${CLI_PIDS[$i]}")" \
			"$(($(cat "/sys/fs/cgroup/memory$mcg/memory.usage_in_bytes") / 1024))" \
			"$(($(cat "/sys/fs/cgroup/memory$mcg/memory.kmem.usage_in_bytes") / 1024))" \
			"$(readlink "/proc/${shims[$i]}/exe")" >>"$f.tsv"
	done
	local cli_alive=0 pid
	for pid in "${CLI_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && cli_alive=$((cli_alive + 1)); done
	local shim_exe
	shim_exe=$(awk '{print $9, $10}' "$f.tsv" | sort | uniq -c | sed 's/^ *//' | paste -sd';')

	col() { awk -v c="$1" '{print $c}' "$f.tsv" | stats; }
	local -a srss spss irss ipss crss cpss mu mk
	read -ra srss < <(col 1)
	read -ra spss < <(col 2)
	read -ra irss < <(col 3)
	read -ra ipss < <(col 4)
	read -ra crss < <(col 5)
	read -ra cpss < <(col 6)
	read -ra mu < <(col 7)
	read -ra mk < <(col 8)
	local kper=$(((k1 - k0) / N)) start_ms=$(((t1 - t0) / 1000000 / N))
	{
		echo "#### shim layout \`$layout\` (shim exe: $shim_exe)"
		echo
		echo "| per container, kB | median | total ($N) | min – max |"
		echo "|---|---:|---:|---:|"
		echo "| **berth-shim monitor PSS** | **${spss[0]}** | ${spss[1]} | ${spss[2]} – ${spss[3]} |"
		echo "| berth-shim monitor RSS | ${srss[0]} | ${srss[1]} | ${srss[2]} – ${srss[3]} |"
		echo "| container init (busybox sleep) PSS / RSS | ${ipss[0]} / ${irss[0]} | ${ipss[1]} / ${irss[1]} | |"
		echo "| Node CLI still alive (foreground \`run\`) PSS / RSS | ${cpss[0]} / ${crss[0]} | ${cpss[1]} / ${crss[1]} | |"
		echo "| container memcg memory.usage_in_bytes | ${mu[0]} | ${mu[1]} | ${mu[2]} – ${mu[3]} |"
		echo "| of which memory.kmem.usage_in_bytes | ${mk[0]} | ${mk[1]} | ${mk[2]} – ${mk[3]} |"
		echo "| kernel growth (SUnreclaim+KernelStack+PageTables+Percpu) ÷ N | $kper | $((k1 - k0)) | |"
		echo
		echo "Node CLI processes alive with their container: **$cli_alive of $N**. Sequential start: $start_ms ms per container (CLI \`run\` up to the init's exec)."
		echo
	}
	# stop them: the shims report the exit, the CLIs delete their containers and exit
	cleanup_layout "$root"
	local left
	left=$("$BERTH_RUNTIME" --root "$root" list -q 2>/dev/null | grep -c . || true)
	echo "Containers left in the root after stopping: $left."
	echo
	if [[ $layout == ro ]]; then
		umount "$WORK/shim-ro"
		RO_MOUNT=
	fi
}

cleanup_layout() {
	local pid i alive
	for pid in "${INIT_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	for ((i = 0; i < 300; i++)); do
		alive=0
		for pid in "${CLI_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1 && break; done
		((alive)) || break
		sleep 0.1
	done
	for pid in "${CLI_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	INIT_PIDS=()
	CLI_PIDS=()
}

INIT_PIDS=()
# not `{ ...; } | tee`: a pipeline would run measure in a subshell the EXIT trap cannot clean up
exec > >(tee "$RESULTS/density.md")
echo "### Monitor density: $N idle busybox \`sleep 3600\` containers ($(machine_note))"
echo
for layout in $LAYOUTS; do measure "$layout"; done
