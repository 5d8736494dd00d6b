#!/usr/bin/env bash
# image-pull.sh — `berth pull` of the nginx fixture image (debian layer + nginx-light layer) from
# the local plain registry, beside podman and skopeo against the same registry (issue 3: "at
# least as fast as podman"). Three scenarios, each tool on its own private store:
#   cold  empty store before every run: download + verify + unpack of both layers
#   base  debian:bookworm-slim pulled first (untimed), then nginx: only the nginx layer moves
#   warm  nginx already there: the no-op path (manifest check, nothing downloaded)
# Tools: berth (CLI, NODE_EXTRA_CA_CERTS unset), `podman pull --tls-verify=false` (private
# --root/--runroot), `skopeo copy` to an OCI layout (download only, NO unpack: a floor for the
# transfer) and to containers-storage (podman's store, private root: download + unpack).
# Runs are interleaved: every round runs each scenario for every tool back to back (the order of
# the tools alternates between rounds), so machine drift hits all tools alike and each round gives
# a paired berth/podman ratio. Then (BREAKDOWN=1) where a cold berth pull spends its time: progress
# lines timestamped, a CPU profile, syscall counts, and the same work done by GNU tar and gzip.
#   Usage: bench/image-pull.sh           (markdown on stdout, raw files in $RESULTS/image-pull*)
#   Env:   PULL_RUNS=5 timed rounds, PULL_WARMUP=1 untimed rounds before them, BREAKDOWN=1,
#          TRACES=3 traced cold pulls for the breakdown, TOOLS="berth podman skopeo-oci skopeo-cs",
#          BERTH (CLI to measure, default <repo>/berth), REGISTRY (default 127.0.0.1:5000),
#          BERTH_BASE (a second berth CLI, e.g. a build of the previous tree: adds the tool
#          berth-base to the default TOOLS, so before and after run in the same rounds)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need node podman skopeo curl jq gzip tar awk
PULL_RUNS=${PULL_RUNS:-5}
PULL_WARMUP=${PULL_WARMUP:-1}
BREAKDOWN=${BREAKDOWN:-1}
TRACES=${TRACES:-3}
BERTH_BASE=${BERTH_BASE:-}
TOOLS=${TOOLS:-berth ${BERTH_BASE:+berth-base }podman skopeo-oci skopeo-cs}
BERTH=${BERTH:-$REPO/berth}
REGISTRY=${REGISTRY:-127.0.0.1:5000}
case $REGISTRY in 127.0.0.1:* | localhost:*) ;; *) die "REGISTRY must be on 127.0.0.1: $REGISTRY" ;; esac
IMAGE=$REGISTRY/nginx:latest
BASE=$REGISTRY/debian:bookworm-slim
OUT=$RESULTS/image-pull
STARTED_REGISTRY=0

# Every store lives under $WORK. podman and skopeo's containers-storage mount even to pull (see
# LEFT_MOUNTS below), and rm -rf must never descend through a mount: unmount first, then remove.
mounts_under() {
	awk -v p="$1/" 'index($5 "/", p) == 1 { print $5 }' /proc/self/mountinfo
}

unmount_under() {
	local m
	for m in $(mounts_under "$1" | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
}

cleanup() {
	if [[ -n ${WORK:-} && -d $WORK ]]; then
		unmount_under "$WORK"
		bench_cleanup_work
	fi
	if ((STARTED_REGISTRY)); then bash "$REPO/scripts/fixtures/registry.sh" stop plain >/dev/null || true; fi
}

bench_work
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT"
[[ -x $BERTH ]] || die "$BERTH missing: run node scripts/build.mjs"
[[ -z $BERTH_BASE || -x $BERTH_BASE ]] || die "BERTH_BASE $BERTH_BASE is not executable"

# -- registry and image ----------------------------------------------------------------------
tags() { curl -fsS --max-time 5 "http://$REGISTRY/v2/$1/tags/list" 2>/dev/null | jq -r '.tags[]?' 2>/dev/null; }
# Other sessions' tests start and stop the same fixture registry: start it when it is down (also
# in the middle of the runs, see `timed`), and stop it at the end only if this script started it.
# Returns 1 when it had to be started.
ensure_registry() {
	curl -fs --max-time 5 -o /dev/null "http://$REGISTRY/v2/" && return 0
	[[ $REGISTRY == 127.0.0.1:5000 ]] || die "no registry at $REGISTRY"
	echo "registry at $REGISTRY is down: starting it" >&2
	bash "$REPO/scripts/fixtures/registry.sh" start plain >/dev/null
	STARTED_REGISTRY=1
	return 1
}
ensure_registry || true
if ! tags nginx | grep -qx latest || ! tags debian | grep -qx bookworm-slim; then
	[[ $REGISTRY == 127.0.0.1:5000 ]] || die "$REGISTRY lacks nginx:latest or debian:bookworm-slim"
	bash "$REPO/scripts/fixtures/images.sh" debian nginx >/dev/null
	bash "$REPO/scripts/fixtures/registry.sh" push plain debian nginx >/dev/null
fi
ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
manifest() { curl -fsS -H "Accept: $ACCEPT" "http://$REGISTRY/v2/$1/manifests/$2"; }
manifest nginx latest >"$OUT/nginx-manifest.json"
manifest debian bookworm-slim >"$OUT/debian-manifest.json"
mapfile -t LAYERS < <(jq -r '.layers[].digest' "$OUT/nginx-manifest.json")
((${#LAYERS[@]} == 2)) || die "expected 2 layers in $IMAGE, found ${#LAYERS[@]}"
[[ $(jq -r '.layers[0].digest' "$OUT/debian-manifest.json") == "${LAYERS[0]}" ]] || die "nginx's first layer is not debian's"
# compressed bytes from the manifest, unpacked bytes = the uncompressed tar streams
mkdir "$WORK/layers"
GZ=() TAR=()
for d in "${LAYERS[@]}"; do
	f=$WORK/layers/${d#sha256:}.tar.gz
	curl -fsS -o "$f" "http://$REGISTRY/v2/nginx/blobs/$d"
	GZ+=("$(stat -c %s "$f")")
	TAR+=("$(gzip -dc "$f" | wc -c)")
done
GZ_ALL=$((GZ[0] + GZ[1])) TAR_ALL=$((TAR[0] + TAR[1]))

# -- tools -----------------------------------------------------------------------------------
# podman needs a containers.conf here (anchors' bench-podman.sh): root lacks CAP_SYS_RESOURCE
# (podman's default ulimits fail at run time) and there is no systemd. Pulls never start a
# container, but the conf keeps podman's set-up the same as in the runtime benchmarks.
hn=$(ulimit -Hn)
[[ $hn == unlimited ]] && hn=1048576
cat >"$WORK/containers.conf" <<EOF
# generated by bench/image-pull.sh
[containers]
default_ulimits = ["nofile=$hn:$hn"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cp "$WORK/containers.conf" "$OUT/containers.conf"

store() { echo "$WORK/store-$1"; }

# pull TOOL REF — one pull (or copy) of REF into TOOL's store
pull() {
	local s
	s=$(store "$1")
	case $1 in
	berth) "$BERTH" --data-root "$s" pull "$2" ;;
	berth-base) "${BERTH_BASE:?BERTH_BASE is not set}" --data-root "$s" pull "$2" ;;
	podman) CONTAINERS_CONF=$WORK/containers.conf podman --root "$s/root" --runroot "$s/run" --storage-driver overlay \
		pull --tls-verify=false "$2" ;;
	skopeo-oci) skopeo copy --src-tls-verify=false "docker://$2" "oci:$s:${2##*/}" ;;
	skopeo-cs) CONTAINERS_CONF=$WORK/containers.conf skopeo copy --src-tls-verify=false "docker://$2" \
		"containers-storage:[overlay@$s/root+$s/run]$2" ;;
	*) die "unknown tool $1" ;;
	esac
}

# Empties TOOL's store. Not `podman system reset`: with a private --root it still deletes the
# host's podman networks (rootful network config lives in /etc/containers/networks).
reset_store() {
	local s
	s=$(store "$1")
	unmount_under "$s"
	rm -rf "$s"
}

# reset_for TOOL SCENARIO — the store state a scenario starts from (warm: as the last run left it)
reset_for() {
	case $2 in
	cold) reset_store "$1" ;;
	base)
		reset_store "$1"
		pull "$1" "$BASE" >"$WORK/base.log" 2>&1 || { ! ensure_registry && pull "$1" "$BASE" >"$WORK/base.log" 2>&1; } || {
			cat "$WORK/base.log" >&2
			die "$1: pull $BASE failed"
		}
		;;
	esac
	return 0
}

# Proof that a pull produced a runnable tree: nginx's binary in the unpacked layers.
check_store() {
	local s
	s=$(store "$1")
	case $1 in
	skopeo-oci) [[ -f $s/blobs/sha256/${LAYERS[1]#sha256:} ]] ;;
	*) find "$s" -path '*/usr/sbin/nginx' -type f -print -quit | grep -q . ;;
	esac || die "$1: no nginx in its store after a pull"
}

RAW=$OUT/runs.tsv
printf 'round\ttool\tscenario\treal_s\tuser_s\tsys_s\n' >"$RAW"

# timed ROUND TOOL SCENARIO — one timed pull of nginx; round 0 = warm-up, not recorded
timed() {
	local t log=$WORK/last.log
	TIMEFORMAT='%R %U %S'
	# a pull failed because the registry was stopped under it is run again, once
	{ time pull "$2" "$IMAGE" >"$log" 2>&1; } 2>"$WORK/time" ||
		{ ! ensure_registry && reset_for "$2" "$3" && { time pull "$2" "$IMAGE" >"$log" 2>&1; } 2>"$WORK/time"; } || {
		cat "$log" >&2
		die "$2 $3 pull failed"
	}
	read -r -a t <"$WORK/time"
	cp "$log" "$OUT/last-$2-$3.log"
	(($1 > 0)) && printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${t[0]}" "${t[1]}" "${t[2]}" >>"$RAW"
	return 0
}

NOTE=$(machine_note)
declare -A DISK
# shellcheck disable=SC2206 # word splitting of TOOLS is the point
tools=($TOOLS)
for ((round = 1 - PULL_WARMUP; round <= PULL_RUNS; round++)); do
	order=("${tools[@]}")
	if ((round % 2 == 0)); then
		order=()
		for ((i = ${#tools[@]} - 1; i >= 0; i--)); do order+=("${tools[i]}"); done
	fi
	echo "round $round/$PULL_RUNS at ${SECONDS}s: ${order[*]}" >&2
	for tool in "${order[@]}"; do
		reset_for "$tool" cold
		timed "$round" "$tool" cold
		if [[ $round == 1 ]]; then
			check_store "$tool"
			DISK[$tool]=$(du -sb "$(store "$tool")" | cut -f1)
		fi
	done
	for tool in "${order[@]}"; do
		reset_for "$tool" base
		timed "$round" "$tool" base
	done
	for tool in "${order[@]}"; do timed "$round" "$tool" warm; done
done
# c/storage's overlay driver bind-mounts ROOT/overlay onto itself (private propagation), also for
# a pull; podman and skopeo do not always unmount it before they exit
mapfile -t LEFT_MOUNTS < <(mounts_under "$WORK")
for tool in "${tools[@]}"; do reset_store "$tool"; done
AFTER_RESET=$(mounts_under "$WORK" | wc -l)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# -- report ----------------------------------------------------------------------------------
# stat TOOL SCENARIO COLUMN — "median min max" of a column of the raw runs
stat_of() {
	awk -F'\t' -v t="$1" -v s="$2" -v c="$3" 'NR > 1 && $2 == t && $3 == s { print (c == "cpu" ? $5 + $6 : $4) }' "$RAW" |
		sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'
}

# paired TOOL SCENARIO — "median min max" of TOOL/podman run time, round by round
paired() {
	awk -F'\t' -v t="$1" -v s="$2" 'NR > 1 && $3 == s && $2 == t { a[$1] = $4 } NR > 1 && $3 == s && $2 == "podman" { b[$1] = $4 }
		END { for (r in a) if (r in b && b[r] > 0) print a[r] / b[r] }' "$RAW" |
		sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

report() {
	local scenario tool s m lo hi cpu gz tar rate urate ratio p pr pm plo phi
	echo "## Image pull ($IMAGE, $PULL_RUNS interleaved rounds after $PULL_WARMUP warm-up)"
	echo
	echo "started $NOTE; load average at the end of the runs: $LOAD_AFTER"
	echo "berth $("$BERTH" --version 2>/dev/null | head -1), $(podman --version), $(skopeo --version)"
	echo
	echo "Image: 2 layers, $(mb "$GZ_ALL") MB compressed, $(mb "$TAR_ALL") MB unpacked (tar streams; MB = 10^6 bytes):" \
		"debian $(mb "${GZ[0]}") / $(mb "${TAR[0]}"), nginx-light $(mb "${GZ[1]}") / $(mb "${TAR[1]}")."
	echo "MB/s = layer bytes moved in the scenario ÷ median wall time. ÷ podman = median ÷ podman's median;"
	echo "paired = median (min–max) of the per-round ratio to podman's run of the same round."
	echo
	echo "| scenario | tool | median s | min – max s | cpu s | MB/s compressed | MB/s unpacked | ÷ podman | paired |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	for scenario in cold base warm; do
		case $scenario in
		cold) gz=$GZ_ALL tar=$TAR_ALL ;;
		base) gz=${GZ[1]} tar=${TAR[1]} ;;
		warm) gz=0 tar=0 ;;
		esac
		read -r pm _ _ < <(stat_of podman "$scenario" real || echo "0 0 0")
		for tool in "${tools[@]}"; do
			s=$(stat_of "$tool" "$scenario" real) || continue
			[[ -n $s ]] || continue
			read -r m lo hi <<<"$s"
			read -r cpu _ _ < <(stat_of "$tool" "$scenario" cpu)
			rate=— urate=— ratio=— p=—
			if ((gz > 0)); then
				rate=$(awk -v b="$gz" -v t="$m" 'BEGIN { printf "%.1f", b / 1e6 / t }')
				[[ $tool == skopeo-oci ]] || urate=$(awk -v b="$tar" -v t="$m" 'BEGIN { printf "%.1f", b / 1e6 / t }')
			fi
			if [[ $tool != podman && ${pm:-0} != 0 ]]; then
				ratio=$(awk -v a="$m" -v b="$pm" 'BEGIN { printf "%.2f", a / b }')
				pr=$(paired "$tool" "$scenario")
				[[ -n $pr ]] && read -r p plo phi <<<"$pr" && p="$p ($plo–$phi)"
			fi
			[[ $tool == podman ]] && ratio=1
			echo "| $scenario | $tool | $m | $lo – $hi | $cpu | $rate | $urate | $ratio | $p |"
		done
	done
	echo
	echo "Store size after a cold pull (du -sb): $(for t in "${tools[@]}"; do printf '%s %s MB; ' "$t" "$(mb "${DISK[$t]:-0}")"; done)"
	echo "Mounts the tools left under the scratch dir: ${#LEFT_MOUNTS[@]} (${LEFT_MOUNTS[*]#"$WORK"/}); after the script's clean-up: $AFTER_RESET."
}
report | tee "$OUT/summary.md"

((BREAKDOWN)) || exit 0

# -- where a cold berth pull spends its time ---------------------------------------------------
# Progress lines are written synchronously to a pipe, so stamping each as it arrives splits the
# pull into phases: start-up + store open (exec → "Pulling from"), manifest + config (→ first
# "Pulling fs layer"), download (→ last "Download complete"; each layer is unpacked while it
# downloads, side by side), the rest of each layer's unpack (→ its "Pull complete"; committed in
# chain order), then the image record and exit.
stamp() {
	local t0=$1 line
	while IFS= read -r line; do printf '%s\t%s\n' "$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')" "$line"; done
}
: >"$OUT/trace-phases.tsv"
for ((i = 1; i <= TRACES; i++)); do
	reset_store berth
	t0=$EPOCHREALTIME
	"$BERTH" --data-root "$(store berth)" pull "$IMAGE" 2>&1 | stamp "$t0" >"$OUT/trace-$i.txt"
	end=$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
	awk -F'\t' -v end="$end" -v l0="${LAYERS[0]:7:12}" -v l1="${LAYERS[1]:7:12}" '
		/Pulling from/ { a = $1 } /Pulling fs layer/ && !b { b = $1 } /Download complete/ { c = $1 }
		index($2, l0 ": Pull complete") { d = $1 } index($2, l1 ": Pull complete") { e = $1 }
		END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a, b - a, c - b, d - c, e - d, end - e, end }' \
		"$OUT/trace-$i.txt" >>"$OUT/trace-phases.tsv"
done
col_median() {
	cut -f"$1" "$OUT/trace-phases.tsv" | sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'
}

# CPU profile and syscall counts of one more cold pull each
reset_store berth
mkdir -p "$WORK/prof"
# node --cpu-prof needs the JavaScript bundle itself, not a launcher in front of it
profiled=$BERTH
[[ $profiled == *.mjs || $profiled == *.js ]] || profiled=$REPO/dist/berth.mjs
node --cpu-prof --cpu-prof-dir="$WORK/prof" "$profiled" --data-root "$(store berth)" pull "$IMAGE" >/dev/null
node --import tsx "$BENCH_DIR/cpu-profile-top.ts" --top 25 "$WORK"/prof/*.cpuprofile >"$OUT/cpu-profile.md"
if command -v strace >/dev/null; then
	reset_store berth
	strace -f -c -o "$OUT/strace-berth.txt" "$BERTH" --data-root "$(store berth)" pull "$IMAGE" >/dev/null 2>&1
	reset_store podman
	CONTAINERS_CONF=$WORK/containers.conf strace -f -c -o "$OUT/strace-podman.txt" \
		podman --root "$(store podman)/root" --runroot "$(store podman)/run" --storage-driver overlay pull -q --tls-verify=false "$IMAGE" >/dev/null 2>&1
fi
# the same work by other programs: gzip alone, node's zlib alone, GNU tar unpacking both layers
floor() {
	local t
	TIMEFORMAT='%R'
	t=$({ time "$@" >/dev/null 2>&1; } 2>&1)
	echo "$t"
}
median3() { printf '%s\n' "$@" | sort -g | awk 'NR == 2 { print }'; }
f_gzip=() f_zlib=() f_tar=() f_node=()
for i in 1 2 3; do
	# shellcheck disable=SC2016 # $f belongs to the inner sh
	f_gzip+=("$(floor sh -c 'for f; do gzip -dc "$f"; done' sh "$WORK"/layers/*.tar.gz)")
	f_zlib+=("$(floor node -e 'const z=require("zlib"),fs=require("fs");for(const f of process.argv.slice(1)){z.gunzipSync(fs.readFileSync(f))}' "$WORK"/layers/"${LAYERS[0]#sha256:}".tar.gz "$WORK"/layers/"${LAYERS[1]#sha256:}".tar.gz)")
	rm -rf "$WORK/tar" && mkdir "$WORK/tar"
	# shellcheck disable=SC2016 # $0 and $f belong to the inner sh
	f_tar+=("$(floor sh -c 'for f; do tar -C "$0" --numeric-owner -xzf "$f"; done' "$WORK/tar" "$WORK"/layers/"${LAYERS[0]#sha256:}".tar.gz "$WORK"/layers/"${LAYERS[1]#sha256:}".tar.gz)")
	f_node+=("$(floor "$BERTH" --version)")
done
rm -rf "$WORK/tar"
# What one awaited node:fs/promises call costs here against its synchronous twin: the unpack makes
# one per tar chunk written and ~8 per file (lstat, open, close, lchown, chmod, utimes...), each a
# hand-off to libuv's thread pool and back (futex + epoll wake-ups).
# shellcheck disable=SC2016 # a JavaScript template literal, not shell
ROUNDTRIP=$(node --input-type=module -e '
import { open, lstat } from "node:fs/promises";
import { openSync, writeSync, closeSync, lstatSync } from "node:fs";
const dir = process.argv[1], buf = Buffer.alloc(1800, 1), n = 20000, us = (t) => ((performance.now() - t) * 1000 / n).toFixed(1);
let t = performance.now(); const fh = await open(`${dir}/a`, "w"); for (let i = 0; i < n; i++) await fh.write(buf); await fh.close(); const aw = us(t);
t = performance.now(); const fd = openSync(`${dir}/b`, "w"); for (let i = 0; i < n; i++) writeSync(fd, buf); closeSync(fd); const sw = us(t);
t = performance.now(); for (let i = 0; i < n; i++) await lstat(dir); const al = us(t);
t = performance.now(); for (let i = 0; i < n; i++) lstatSync(dir); const sl = us(t);
console.log(`awaited \`FileHandle.write\` of 1800 B ${aw} µs vs \`writeSync\` ${sw} µs; awaited \`lstat\` ${al} µs vs \`lstatSync\` ${sl} µs`);
' "$WORK")
rm -f "$WORK/a" "$WORK/b"
reset_store berth
reset_store podman

syscalls() { # FILE — total calls, and the counts of the calls named
	local f=$1
	shift
	awk -v names="$*" 'BEGIN { n = split(names, w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
		$NF == "total" { total = $4 } ($NF in want) { c[$NF] = $4 }
		END { printf "%s calls", total; for (i = 1; i <= n; i++) printf ", %s %s", w[i], (w[i] in c ? c[w[i]] : 0); print "" }' "$f"
}

{
	echo
	echo "### Where a cold berth pull spends its time ($TRACES traced pulls, median s)"
	echo
	echo "| phase | s |"
	echo "|---|---:|"
	echo "| exec → \`Pulling from\` (Node start-up, bundle, store open) | $(col_median 1) |"
	echo "| manifest + config fetched (→ first \`Pulling fs layer\`) | $(col_median 2) |"
	echo "| download + verify, both layers in parallel, each unpacking as it lands (→ last \`Download complete\`) | $(col_median 3) |"
	echo "| rest of the debian layer's unpack, $(mb "${GZ[0]}") → $(mb "${TAR[0]}") MB (→ its \`Pull complete\`) | $(col_median 4) |"
	echo "| rest of the nginx-light layer's unpack, $(mb "${GZ[1]}") → $(mb "${TAR[1]}") MB, and its commit | $(col_median 5) |"
	echo "| image record + exit | $(col_median 6) |"
	echo "| **total** | **$(col_median 7)** |"
	echo
	echo "Same bytes, other programs (median of 3, s): \`gzip -dc\` both layers $(median3 "${f_gzip[@]}");" \
		"node zlib \`gunzipSync\` both layers (incl. ~0.03 s start-up) $(median3 "${f_zlib[@]}");" \
		"GNU \`tar -xzf\` both layers into one dir $(median3 "${f_tar[@]}"); \`berth --version\` $(median3 "${f_node[@]}")."
	if [[ -f $OUT/strace-berth.txt ]]; then
		echo
		echo "Syscalls of one cold pull (strace -f -c): berth: $(syscalls "$OUT/strace-berth.txt" fsync fdatasync openat write lchown fchownat chmod fchmodat utimensat newfstatat statx futex epoll_pwait);" \
			"podman: $(syscalls "$OUT/strace-podman.txt" fsync fdatasync openat write lchown fchownat chmod fchmodat utimensat newfstatat statx futex epoll_pwait)."
	fi
	echo
	echo "One file-system call from Node here (20 000 in a row, per call): $ROUNDTRIP."
	echo
	echo "CPU profile of one cold berth pull (\`node --cpu-prof\`, self time):"
	echo
	head -n 22 "$OUT/cpu-profile.md"
} | tee -a "$OUT/summary.md"
