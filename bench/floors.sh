#!/usr/bin/env bash
# floors.sh — what issue 4's memory and create→running targets cannot go below on this host,
# measured the way bench/engine.sh measures Berth, from parts that owe nothing to Berth.
#
#   memory   N idle containers of a bare OCI runtime (runc: no daemon, no monitor process, the
#            project's bench bundle, i.e. runc's default spec, no seccomp filter), then with the
#            seccomp filter podman and berthd give containers (bench/seccomp-bundle.ts), then N
#            idle processes of a static 6-line C program (the least a per-container monitor can
#            cost). Per object: kernel Δ = Δ(SUnreclaim + KernelStack + PageTables + Percpu +
#            Shmem) over the whole host, as engine.sh's density, and the mean PSS.
#   durable  the cheapest crash-safe record of a new container on the data root's file system,
#            in C with no thread pool in between: mkdir, write a 6 kB temp file, fsync, rename,
#            fsync the directory and its parent (Berth's atomicWrite). And Docker's form: one
#            fsync of the file, none of the directories.
#
#   Env: N=200 (objects per memory row), SETTLE_S=3 (pause before reading memory),
#        DIR (file system of the durable rows; default: /var/lib/berth, else /var/tmp),
#        SYNC_RUNS=60
#   Needs: runc, gcc, jq (scripts/setup.sh). Runs as root; other work on the VM shows up in the
#   kernel Δ, so run it when the VM is quiet.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need runc gcc jq node
[[ $(id -u) == 0 ]] || die "run as root"
N=${N:-200}
SETTLE_S=${SETTLE_S:-3}
SYNC_RUNS=${SYNC_RUNS:-60}
DIR=${DIR:-$([[ -d /var/lib/berth ]] && echo /var/lib/berth || echo /var/tmp)}

PIDS=()
IDS=()
cleanup() {
	set +e
	((${#PIDS[@]} > 0)) && kill "${PIDS[@]}" 2>/dev/null && wait "${PIDS[@]}" 2>/dev/null
	for id in "${IDS[@]}"; do runc --root "$WORK/runc" kill "$id" KILL 2>/dev/null; done
	for id in "${IDS[@]}"; do runc --root "$WORK/runc" delete --force "$id" 2>/dev/null; done
	[[ -n ${SYNC_DIR:-} ]] && rm -rf "$SYNC_DIR"
	bench_cleanup_work
}
trap cleanup EXIT
bench_work

kernel_parts() { awk '/^(SUnreclaim|KernelStack|PageTables|Percpu|Shmem):/ { v[$1] = $2 } END { print v["SUnreclaim:"], v["KernelStack:"], v["PageTables:"], v["Percpu:"], v["Shmem:"] }' /proc/meminfo; }
mean_pss() { local p; for p in "$@"; do awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null; done | awk '{ s += $1; n++ } END { printf "%.0f", n ? s / n : 0 }'; }

# row LABEL BEFORE AFTER PSS: one markdown row of per-object figures
row() {
	awk -v label="$1" -v pss="$4" -v n="$N" -v before="$2" -v after="$3" 'BEGIN {
		split(before, b, " "); split(after, e, " "); k = 0
		for (i = 1; i <= 5; i++) { d[i] = (e[i] - b[i]) / n; k += d[i] }
		printf "| %s | %.0f | %.0f / %.0f / %.0f / %.0f / %.0f | %s |\n", label, k, d[1], d[2], d[3], d[4], d[5], pss
	}'
}

echo "## Floors ($(date -u +%FT%TZ), N=$N, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| per object, kB | kernel Δ | SUnreclaim / KernelStack / PageTables / Percpu / Shmem | PSS |"
echo "|---|---|---|---|"

# runc_row LABEL: N idle `sleep` containers of $WORK/bundle, measured, then removed
runc_row() {
	local before after i pids=()
	before=$(kernel_parts)
	for i in $(seq "$N"); do
		IDS+=("floor-$$-$1-$i")
		runc --root "$WORK/runc" run --detach --bundle "$WORK/bundle" "floor-$$-$1-$i" </dev/null >/dev/null 2>&1 || die "runc run $i failed"
	done
	sleep "$SETTLE_S"
	after=$(kernel_parts)
	for i in "${IDS[@]}"; do pids+=("$(runc --root "$WORK/runc" state "$i" | jq -r .pid)"); done
	row "$2" "$before" "$after" "$(mean_pss "${pids[@]}") (the \`sleep\`)"
	for i in "${IDS[@]}"; do runc --root "$WORK/runc" kill "$i" KILL 2>/dev/null || true; done
	sleep 1
	for i in "${IDS[@]}"; do runc --root "$WORK/runc" delete --force "$i" 2>/dev/null || true; done
	IDS=()
}

make_bundle "$WORK/bundle" sleep 3600
runc_row plain "runc container (runc's default spec, no seccomp filter, no monitor)"
node --import tsx "$BENCH_DIR/seccomp-bundle.ts" "$WORK/bundle" >/dev/null || die "seccomp-bundle.ts failed"
runc_row seccomp "runc container with the seccomp filter podman and berthd give containers"

printf '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n' >"$WORK/idle.c"
gcc -O2 -static -o "$WORK/idle" "$WORK/idle.c"
before=$(kernel_parts)
for _ in $(seq "$N"); do
	"$WORK/idle" &
	PIDS+=($!)
done
sleep "$SETTLE_S"
after=$(kernel_parts)
row "idle static C process (a monitor's least)" "$before" "$after" "$(mean_pss "${PIDS[@]}")"
kill "${PIDS[@]}"
wait "${PIDS[@]}" 2>/dev/null || true
PIDS=()

cat >"$WORK/durable.c" <<'EOF'
/* durable.c DIR MODE RUNS: median ms of a new record made crash-safe. MODE 2 = Berth's
 * atomicWrite (temp, fsync, rename, fsync of the directory and its parent), 1 = Docker's
 * (temp, fsync, rename), 0 = no fsync. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
static double ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static void dsync(const char *path) { int fd = open(path, O_RDONLY | O_DIRECTORY); if (fd < 0 || fsync(fd) != 0) { perror(path); exit(1); } close(fd); }
int main(int argc, char **argv) {
	if (argc != 4) return 2;
	int mode = atoi(argv[2]), runs = atoi(argv[3]);
	static char data[6144];
	memset(data, '{', sizeof data);
	double *t = calloc(runs, sizeof *t);
	for (int i = 0; i < runs; i++) {
		char dir[4096], tmp[4200], final[4200];
		snprintf(dir, sizeof dir, "%s/%d-%d", argv[1], mode, i);
		snprintf(tmp, sizeof tmp, "%s/.record.tmp", dir);
		snprintf(final, sizeof final, "%s/record.json", dir);
		double start = ms();
		if (mkdir(dir, 0700) != 0) { perror(dir); return 1; }
		int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY, 0600);
		if (fd < 0 || write(fd, data, sizeof data) != sizeof data) { perror(tmp); return 1; }
		if (mode > 0 && fsync(fd) != 0) { perror("fsync"); return 1; }
		close(fd);
		if (rename(tmp, final) != 0) { perror("rename"); return 1; }
		if (mode > 1) { dsync(dir); dsync(argv[1]); }
		t[i] = ms() - start;
		usleep(5000);
	}
	qsort(t, runs, sizeof *t, cmp);
	printf("%.2f (p10 %.2f, p90 %.2f)", t[runs / 2], t[runs / 10], t[runs * 9 / 10]);
	return 0;
}
EOF
gcc -O2 -o "$WORK/durable" "$WORK/durable.c"
SYNC_DIR=$(mktemp -d "$DIR/.berth-floor.XXXXXX")
fs=$(stat -f -c %T "$SYNC_DIR")
echo
echo "| a new record on $DIR ($fs), $SYNC_RUNS runs | median ms |"
echo "|---|---|"
echo "| Berth's atomicWrite: temp, fsync, rename, fsync of the directory and its parent | $("$WORK/durable" "$SYNC_DIR" 2 "$SYNC_RUNS") |"
echo "| Docker's: temp, fsync, rename | $("$WORK/durable" "$SYNC_DIR" 1 "$SYNC_RUNS") |"
echo "| no fsync (not crash-safe) | $("$WORK/durable" "$SYNC_DIR" 0 "$SYNC_RUNS") |"
