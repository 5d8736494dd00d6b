#!/usr/bin/env bash
# network.sh — what networking costs (issue 5). Two measurements:
#   start   `docker run --rm busybox true` through berthd (the real docker CLI) on the default
#           bridge network vs `--network none`, and podman's `run --rm` on its default (netavark)
#           bridge vs `--network none` if podman is installed. Target: the network adds ≤ 10 ms to
#           a berthd start with the warm pool warm (every timed run is preceded by a pause in
#           which the pool refills). The two commands alternate run by run (the order flips every
#           round), so the load of other sessions on this shared VM hits both alike; the report gives
#           each command's median and the median of the per-round differences.
#   tcp     throughput of a fixed byte count from the host into a busybox `nc` sink in a container,
#           through a published port on 127.0.0.1 vs straight to the container's address, runs
#           alternating. Target: published ≥ 90 % of direct.
# berthd is bundled from src/ (esbuild) into the scratch dir and started by this script on its own
# socket, data root, exec root, bridge, CNI prefix and netns dir; podman uses a private --root and
# --runroot and the anchors' containers.conf settings, with runc as its runtime (crun 1.8 refuses
# this VM's hybrid cgroup layout unless the host is changed, see lib.sh). NODE_EXTRA_CA_CERTS is unset (lib.sh).
# The EXIT trap removes every container, stops berthd, destroys its default network (bridge,
# leases, netns), deletes the iptables chains and empty nft tables that were not there before,
# restores ip_forward, unmounts and removes the scratch dir.
#   Usage: bench/network.sh             (markdown on stdout, raw files in $RESULTS/network)
#   Env:   RUNS=20 (start runs per command), WARMUP=3, SETTLE_S=0.3 (pause before each start),
#          TCP_RUNS=10 (per path), TCP_BYTES=1073741824, TCP_TIMEOUT_MS=60000,
#          PODMAN=1 (0 skips podman), DOCKER_CLI=/usr/local/bin/docker, NETWORK_POOL (berthd's)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need node jq ip iptables-save awk
DOCKER_CLI=${DOCKER_CLI:-/usr/local/bin/docker}
[[ -x $DOCKER_CLI ]] || die "missing docker CLI: $DOCKER_CLI"
SETTLE_S=${SETTLE_S:-0.3}
TCP_RUNS=${TCP_RUNS:-10}
TCP_BYTES=${TCP_BYTES:-1073741824}
TCP_TIMEOUT_MS=${TCP_TIMEOUT_MS:-60000}
PODMAN=${PODMAN:-1}
FIXTURES=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}
BUSYBOX_TAR=$FIXTURES/archives/busybox.docker.tar
[[ -f $BUSYBOX_TAR ]] || die "missing $BUSYBOX_TAR (scripts/fixtures)"
OUT=$RESULTS/network
mkdir -p "$OUT"
((RUNS >= 10)) || die "RUNS must be at least 10"

TAG=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
BRIDGE=bb${TAG}0
CNI_PREFIX=bb${TAG}-
NETNS_DIR=/run/berth/bench-netns-$TAG
HOST_TS=(node --import tsx "$BENCH_DIR/network-host.ts")
BERTHD_PID=
EXEC_ROOT=

mounts_under() {
	awk -v p="$1/" 'index($5 "/", p) == 1 { print $5 }' /proc/self/mountinfo
}

cleanup() {
	set +e
	if [[ -n $BERTHD_PID ]]; then
		for id in $(dk ps -aq 2>/dev/null); do dk rm -f "$id" >/dev/null 2>&1; done
		kill "$BERTHD_PID" 2>/dev/null && wait "$BERTHD_PID" 2>/dev/null
	fi
	if [[ -n ${WORK:-} && -d $WORK ]]; then
		if [[ -d $WORK/podman ]]; then
			pm rm -af >/dev/null 2>&1
		fi
		if [[ -f $WORK/host-before.json ]]; then
			(cd "$REPO" && "${HOST_TS[@]}" restore "$WORK/host-before.json" "$WORK/root" "$NETNS_DIR" "$BRIDGE" "$CNI_PREFIX") ||
				echo "network.sh: restoring the host's network state failed" >&2
		fi
		for m in $(mounts_under "$WORK" | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
		bench_cleanup_work
	fi
	[[ -n $EXEC_ROOT ]] && rm -rf "$EXEC_ROOT"
	rmdir "$NETNS_DIR" 2>/dev/null
	return 0
}

bench_work
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$REPO"
"${HOST_TS[@]}" snapshot "$WORK/host-before.json"

# -- berthd ---------------------------------------------------------------------------------------
SOCK=$WORK/berth.sock
EXEC_ROOT=$(mktemp -d /run/berth-bench-net.XXXXXX)
mkdir -p "$WORK/root" "$WORK/docker-config"
node_modules/.bin/esbuild src/bin/berthd.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning --outfile="$WORK/berthd.mjs"
BERTH_SHIM=$REPO/native/build/berth-shim node "$WORK/berthd.mjs" -H "unix://$SOCK" --data-root "$WORK/root" --exec-root "$EXEC_ROOT" \
	--bridge "$BRIDGE" --cni-prefix "$CNI_PREFIX" --netns-dir "$NETNS_DIR" ${NETWORK_POOL:+--network-pool "$NETWORK_POOL"} \
	>"$OUT/berthd.log" 2>&1 &
BERTHD_PID=$!

dk() {
	DOCKER_CONFIG=$WORK/docker-config DOCKER_HOST= DOCKER_CONTEXT= "$DOCKER_CLI" -H "unix://$SOCK" "$@"
}

for _ in $(seq 150); do dk version >/dev/null 2>&1 && break; sleep 0.1; done
dk version >/dev/null || die "berthd did not start: $(cat "$OUT/berthd.log")"
dk load -q -i "$BUSYBOX_TAR" >/dev/null
DK="env DOCKER_CONFIG=$WORK/docker-config $DOCKER_CLI -H unix://$SOCK"

echo "## Networking (issue 5): \`run --rm\` with and without a network, published-port throughput"
echo
echo "$(machine_note); docker CLI $("$DOCKER_CLI" version --format '{{.Client.Version}}' 2>/dev/null), berthd bundled from the working tree at $(git -C "$REPO" rev-parse --short HEAD)+uncommitted"
echo

# -- start latency ----------------------------------------------------------------------------------
# paired NAME_A NAME_B FILE -- CMD_A... -- CMD_B...: alternating timed runs, microseconds per line
paired() {
	local a=$1 b=$2 file=$3 i s first
	shift 4
	local -a ca=() cb=()
	while [[ $1 != -- ]]; do ca+=("$1"); shift; done
	shift
	cb=("$@")
	: >"$file"
	for ((i = 1; i <= WARMUP + RUNS; i++)); do
		for first in 0 1; do
			sleep "$SETTLE_S"
			if (((i + first) % 2)); then name=$a; cmd=("${ca[@]}"); else name=$b; cmd=("${cb[@]}"); fi
			s=$(date +%s%N)
			"${cmd[@]}" >/dev/null 2>>"$OUT/start-errors.log" || die "$name failed: $(tail -3 "$OUT/start-errors.log")"
			((i > WARMUP)) && printf '%d\t%s\t%d\n' "$i" "$name" $((($(date +%s%N) - s) / 1000)) >>"$file"
		done
	done
	return 0
}
paired "berth bridge" "berth none" "$OUT/start-berth.tsv" -- $DK run --rm busybox true -- $DK run --rm --network none busybox true

PODMAN_RAN=0
if ((PODMAN)) && command -v podman >/dev/null; then
	mkdir -p "$WORK/podman"
	# podman's defaults (1048576) fail without CAP_SYS_RESOURCE here (anchors' bench-podman.sh)
	hn=$(ulimit -Hn) hu=$(ulimit -Hu)
	[[ $hn == unlimited ]] && hn=20000
	[[ $hu == unlimited || $hu -gt 32768 ]] && hu=32768
	cat >"$WORK/podman/containers.conf" <<-EOF
		[containers]
		default_ulimits = ["nofile=$hn:$hn", "nproc=$hu:$hu"]
		[engine]
		# crun 1.8 refuses this hybrid cgroup layout (lib.sh); runc takes it as it is
		runtime = "runc"
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		[network]
		network_backend = "netavark"
	EOF
	pm() {
		CONTAINERS_CONF=$WORK/podman/containers.conf podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" "$@"
	}
	if pm load -q -i "$BUSYBOX_TAR" >/dev/null 2>"$OUT/podman-load.err" && pm run --rm --network none busybox true 2>"$OUT/podman-run.err"; then
		PM="env CONTAINERS_CONF=$WORK/podman/containers.conf podman --root $WORK/podman/root --runroot $WORK/podman/run"
		paired "podman bridge" "podman none" "$OUT/start-podman.tsv" -- $PM run --rm busybox true -- $PM run --rm --network none busybox true
		PODMAN_RAN=1
	fi
fi

# median_ms FILE NAME; row FILE NAME; diff_ms FILE A B (median of per-round A − B)
median_ms() { awk -F'\t' -v n="$2" '$2 == n { print $3 / 1000 }' "$1" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
row() {
	local lo hi
	lo=$(awk -F'\t' -v n="$2" '$2 == n { print $3 / 1000 }' "$1" | sort -g | head -1)
	hi=$(awk -F'\t' -v n="$2" '$2 == n { print $3 / 1000 }' "$1" | sort -g | tail -1)
	awk -v n="$2" -v m="$(median_ms "$1" "$2")" -v lo="$lo" -v hi="$hi" -v r="$RUNS" 'BEGIN { printf "| %s | %.1f | %.1f – %.1f | %d |\n", n, m, lo, hi, r }'
}
diff_ms() {
	awk -F'\t' -v a="$2" -v b="$3" '$2 == a { x[$1] = $3 } $2 == b { y[$1] = $3 } END { for (i in x) if (i in y) print (x[i] - y[i]) / 1000 }' "$1" |
		sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}

echo "### Start: \`run --rm busybox true\`, default bridge vs \`--network none\`"
echo
echo "$RUNS timed rounds after $WARMUP warm-up, the two commands alternating (order flipped every round), each run preceded by \`sleep $SETTLE_S\` (the warm pool refills meanwhile); wall time of the docker CLI / podman process."
echo
echo "| command | median ms | min – max | runs |"
echo "|---|---:|---|---:|"
row "$OUT/start-berth.tsv" "berth bridge"
row "$OUT/start-berth.tsv" "berth none"
if ((PODMAN_RAN)); then
	row "$OUT/start-podman.tsv" "podman bridge"
	row "$OUT/start-podman.tsv" "podman none"
fi
echo
bb=$(median_ms "$OUT/start-berth.tsv" "berth bridge")
bn=$(median_ms "$OUT/start-berth.tsv" "berth none")
bd=$(diff_ms "$OUT/start-berth.tsv" "berth bridge" "berth none")
awk -v b="$bb" -v n="$bn" -v d="$bd" 'BEGIN { printf "berth: the network adds **%.1f ms** to a start (median of per-round differences; medians %.1f vs %.1f ms, %.2f×); target ≤ 10 ms: **%s**\n", d, b, n, b / n, (d <= 10 ? "met" : "not met") }'
if ((PODMAN_RAN)); then
	pb=$(median_ms "$OUT/start-podman.tsv" "podman bridge")
	pn=$(median_ms "$OUT/start-podman.tsv" "podman none")
	echo
	pd=$(diff_ms "$OUT/start-podman.tsv" "podman bridge" "podman none")
	awk -v b="$pb" -v n="$pn" -v d="$pd" 'BEGIN { printf "podman: the network adds %.1f ms (median of per-round differences; medians %.1f vs %.1f ms, %.2f×)\n", d, b, n, b / n }'
else
	echo
	echo "podman: not measured (PODMAN=0, not installed, or it failed: $OUT/podman-*.err)"
fi
echo

# -- TCP throughput ---------------------------------------------------------------------------------
# The sink is dd with 1 MiB reads (busybox wc reads 7× slower than loopback TCP here, and
# would measure itself). A sink that stopped early would reset the connection: the sender fails.
SINK_ID=$(dk run -d -p 127.0.0.1:0:5001 busybox sh -c 'while :; do nc -l -p 5001 -e dd of=/dev/null bs=1M; done')
PORT=$(dk port "$SINK_ID" 5001/tcp | head -1 | sed 's/.*://')
IP=$(dk inspect -f '{{.NetworkSettings.IPAddress}}' "$SINK_ID")
[[ -n $PORT && -n $IP ]] || die "no published port or address for the sink"
: >"$OUT/tcp.tsv"
for i in $(seq "$TCP_RUNS"); do
	# alternate which path goes first, so drift hits both alike
	if ((i % 2)); then order="published direct"; else order="direct published"; fi
	for path in $order; do
		if [[ $path == published ]]; then host=127.0.0.1 port=$PORT; else host=$IP port=5001; fi
		s=$("${HOST_TS[@]}" send "$host" "$port" "$TCP_BYTES" "$TCP_TIMEOUT_MS")
		printf '%s\t%s\n' "$path" "$s" >>"$OUT/tcp.tsv"
	done
done
dk logs "$SINK_ID" >"$OUT/tcp-sink.log" 2>&1
dk rm -f "$SINK_ID" >/dev/null

median_of() { awk -v p="$1" '$1 == p { print $2 }' "$OUT/tcp.tsv" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
range_of() { awk -v p="$1" '$1 == p { print $2 }' "$OUT/tcp.tsv" | sort -g | awk -v b="$TCP_BYTES" 'NR == 1 { hi = b / $1 } { lo = b / $1 } END { printf "%.0f – %.0f", lo / 1048576, hi / 1048576 }'; }
pub=$(median_of published)
dir=$(median_of direct)
echo "### TCP throughput into a container: published port (127.0.0.1:$PORT, DNAT) vs the container's address"
echo
echo "$((TCP_BYTES / 1048576)) MiB per connection from a Node sender on the host into \`nc -l -e dd of=/dev/null bs=1M\` in a busybox container, timed from connect to the sink's close (a sink closing early would reset the connection and fail the run); $TCP_RUNS runs per path, alternating."
echo
echo "| path | median s | median MiB/s | min – max MiB/s |"
echo "|---|---:|---:|---|"
awk -v s="$pub" -v b="$TCP_BYTES" -v r="$(range_of published)" 'BEGIN { printf "| published 127.0.0.1 | %.3f | %.0f | %s |\n", s, b / s / 1048576, r }'
awk -v s="$dir" -v b="$TCP_BYTES" -v r="$(range_of direct)" 'BEGIN { printf "| direct %s | %.3f | %.0f | %s |\n", "container IP", s, b / s / 1048576, r }'
echo
awk -v p="$pub" -v d="$dir" 'BEGIN { r = d / p * 100; printf "published / direct = **%.1f %%**; target ≥ 90 %%: **%s**\n", r, (r >= 90 ? "met" : "not met") }'
