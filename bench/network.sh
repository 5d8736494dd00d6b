#!/usr/bin/env bash
# network.sh — what networking costs (issue 5). Two measurements:
#   start   `docker run --rm busybox true` through berthd (the real docker CLI) on the default
#           bridge network vs `--network none`, and podman's `run --rm` on its default (netavark)
#           bridge vs `--network none` if podman is installed. Target: the network adds ≤ 10 ms to
#           a berthd start with the warm pool warm (every timed run is preceded by a pause in
#           which the pool refills: hyperfine --prepare 'sleep $SETTLE_S').
#   tcp     throughput of a fixed byte count from the host into a busybox `nc` sink in a container,
#           through a published port on 127.0.0.1 vs straight to the container's address, runs
#           alternating. Target: published ≥ 90 % of direct.
# berthd is bundled from src/ (esbuild) into the scratch dir and started by this script on its own
# socket, data root, exec root, bridge, CNI prefix and netns dir; podman uses a private --root and
# --runroot and the anchors' containers.conf settings. NODE_EXTRA_CA_CERTS is unset (lib.sh).
# The EXIT trap removes every container, stops berthd, destroys its default network (bridge,
# leases, netns), deletes the iptables chains and empty nft tables that were not there before,
# restores ip_forward, unmounts and removes the scratch dir.
#   Usage: bench/network.sh             (markdown on stdout, raw files in $RESULTS/network)
#   Env:   RUNS=20 (start runs per command), WARMUP=3, SETTLE_S=0.3 (pause before each start),
#          TCP_RUNS=10 (per path), TCP_BYTES=1073741824, TCP_TIMEOUT_MS=60000,
#          PODMAN=1 (0 skips podman), DOCKER_CLI=/usr/local/bin/docker, NETWORK_POOL (berthd's)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need node hyperfine jq ip iptables-save awk
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
hyperfine -N --style none --runs "$RUNS" --warmup "$WARMUP" --prepare "sleep $SETTLE_S" --export-json "$OUT/start-berth.json" \
	-n "berth bridge" "$DK run --rm busybox true" \
	-n "berth none" "$DK run --rm --network none busybox true" >"$OUT/start-berth.txt"

PODMAN_RAN=0
if ((PODMAN)) && command -v podman >/dev/null; then
	mkdir -p "$WORK/podman"
	hn=$(ulimit -Hn)
	[[ $hn == unlimited ]] && hn=20000
	cat >"$WORK/podman/containers.conf" <<-EOF
		[containers]
		default_ulimits = ["nofile=$hn:$hn"]
		[engine]
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
		hyperfine -N --style none --runs "$RUNS" --warmup "$WARMUP" --prepare "sleep $SETTLE_S" --export-json "$OUT/start-podman.json" \
			-n "podman bridge" "$PM run --rm busybox true" \
			-n "podman none" "$PM run --rm --network none busybox true" >"$OUT/start-podman.txt"
		PODMAN_RAN=1
	fi
fi

median_ms() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000' "$1"; }
row() {
	local file=$1 name=$2
	jq -r --arg n "$name" '.results[] | select(.command == $n) | [.command, (.median*1000), (.min*1000), (.max*1000), (.times|length)] | @tsv' "$file" |
		awk -F'\t' '{ printf "| %s | %.1f | %.1f – %.1f | %d |\n", $1, $2, $3, $4, $5 }'
}

echo "### Start: \`run --rm busybox true\`, default bridge vs \`--network none\`"
echo
echo "hyperfine -N, $RUNS runs after $WARMUP warm-up, each preceded by \`sleep $SETTLE_S\` (the warm pool refills meanwhile)."
echo
echo "| command | median ms | min – max | runs |"
echo "|---|---:|---|---:|"
row "$OUT/start-berth.json" "berth bridge"
row "$OUT/start-berth.json" "berth none"
if ((PODMAN_RAN)); then
	row "$OUT/start-podman.json" "podman bridge"
	row "$OUT/start-podman.json" "podman none"
fi
echo
bb=$(median_ms "$OUT/start-berth.json" "berth bridge")
bn=$(median_ms "$OUT/start-berth.json" "berth none")
awk -v b="$bb" -v n="$bn" 'BEGIN { d = b - n; printf "berth: the network adds **%.1f ms** to a start (%.2f× `--network none`); target ≤ 10 ms: **%s**\n", d, b / n, (d <= 10 ? "met" : "not met") }'
if ((PODMAN_RAN)); then
	pb=$(median_ms "$OUT/start-podman.json" "podman bridge")
	pn=$(median_ms "$OUT/start-podman.json" "podman none")
	echo
	awk -v b="$pb" -v n="$pn" 'BEGIN { printf "podman: the network adds %.1f ms (%.2f× `--network none`)\n", b - n, b / n }'
else
	echo
	echo "podman: not measured (PODMAN=0, not installed, or it failed: $OUT/podman-*.err)"
fi
echo

# -- TCP throughput ---------------------------------------------------------------------------------
# The sink counts what each connection delivered, so a short transfer shows in the log.
SINK_ID=$(dk run -d -p 127.0.0.1:0:5001 busybox sh -c 'while :; do nc -l -p 5001 </dev/null | wc -c; done')
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
short=$(awk -v n="$TCP_BYTES" '$1 != n' "$OUT/tcp-sink.log" | wc -l)
dk rm -f "$SINK_ID" >/dev/null

median_of() { awk -v p="$1" '$1 == p { print $2 }' "$OUT/tcp.tsv" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
range_of() { awk -v p="$1" '$1 == p { print $2 }' "$OUT/tcp.tsv" | sort -g | awk -v b="$TCP_BYTES" 'NR == 1 { hi = b / $1 } { lo = b / $1 } END { printf "%.0f – %.0f", lo / 1048576, hi / 1048576 }'; }
pub=$(median_of published)
dir=$(median_of direct)
echo "### TCP throughput into a container: published port (127.0.0.1:$PORT, DNAT) vs the container's address"
echo
echo "$((TCP_BYTES / 1048576)) MiB per connection from a Node sender on the host into \`nc -l | wc -c\` in a busybox container, timed from connect to the sink's close; $TCP_RUNS runs per path, alternating. Connections that delivered fewer bytes: $short."
echo
echo "| path | median s | median MiB/s | min – max MiB/s |"
echo "|---|---:|---:|---|"
awk -v s="$pub" -v b="$TCP_BYTES" -v r="$(range_of published)" 'BEGIN { printf "| published 127.0.0.1 | %.3f | %.0f | %s |\n", s, b / s / 1048576, r }'
awk -v s="$dir" -v b="$TCP_BYTES" -v r="$(range_of direct)" 'BEGIN { printf "| direct %s | %.3f | %.0f | %s |\n", "container IP", s, b / s / 1048576, r }'
echo
awk -v p="$pub" -v d="$dir" 'BEGIN { r = d / p * 100; printf "published / direct = **%.1f %%**; target ≥ 90 %%: **%s**\n", r, (r >= 90 ? "met" : "not met") }'
