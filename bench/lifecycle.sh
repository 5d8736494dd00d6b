#!/bin/sh
# lifecycle.sh MODE RUNTIME ROOT BUNDLE — one container lifecycle under a fresh id, for timing
# harnesses (hyperfine -N, pair-bench.py). The anchors' wrapper has no --root; every runtime here
# gets its own state root so a leftover of one can never disturb another, and cleanup can list
# exactly what a bench made.
#   run   RUNTIME --root ROOT run --bundle BUNDLE ID   (foreground, waits for the exit)
#   csd   create, start, delete --force                (three CLI calls)
#   noop  the wrapper alone (exec /bin/true): its cost is in every other row
# POSIX sh (dash starts faster than bash); the id comes from the kernel with `read`, no fork.
set -e
mode=$1
rt=$2
root=$3
bundle=$4
read -r uuid </proc/sys/kernel/random/uuid
id="bench-$uuid"
case $mode in
run)
	exec "$rt" --root "$root" run --bundle "$bundle" "$id" </dev/null
	;;
csd)
	# start returns before /bin/true has necessarily exited, so delete needs --force
	"$rt" --root "$root" create --bundle "$bundle" "$id" </dev/null >/dev/null
	"$rt" --root "$root" start "$id"
	exec "$rt" --root "$root" delete --force "$id"
	;;
noop)
	exec /bin/true
	;;
*)
	echo "usage: lifecycle.sh run|csd|noop RUNTIME ROOT BUNDLE" >&2
	exit 2
	;;
esac
