#!/usr/bin/env bash
# Benchmark: eventfs-rs against mainline tracefs, side by side in one guest run on the
# report kernel (no debug checkers; built on first use by `scripts/setup.sh report`).
# At each N (default 100 1000 10000) the guest's `eventfs-stress bench` times, for both
# filesystems with one group of N synthetic events, in turns (one sample of each per
# round, so that each pair of samples sees the same load): create 100 per write and one
# per write, remove one by one and all at once (O_TRUNC), cold and warm lookup of 100
# event directories, readdir of the group, cold and warm stat of every file, busybox
# find, and enable/disable of the group and of every event; then 1000 injects, reading
# them from trace_pipe, 1000 trace_marker writes, and 1000 writes to trace (ignored by
# both: the syscall floor). Once, after every N, the kprobe measures of both in turns:
# 100 probes on vfs_read defined one per write and removed by O_TRUNC, and 10,000
# one-byte reads of /dev/zero with a probe on vfs_read disabled, enabled in one
# instance, and enabled in two (per hit: enabled less disabled, over 10,000).
# Not part of scripts/test.sh.
#   scripts/bench.sh [N...]
# Writes the table (bench.md) and the plot (bench.svg, time against N, log-log; also
# bench.png if rsvg-convert is installed) to the run's artifacts directory,
# $EVENTFS_CACHE/runs/<time>-bench/, and prints the table and the paths.
set -euo pipefail
shopt -s inherit_errexit
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || set -- 100 1000 10000
for n in "$@"; do
	[[ $n =~ ^[1-9][0-9]{0,5}$ ]] || die "N must be a number in 1..999999, not '$n'"
done
"$EVENTFS_TOP/scripts/setup.sh" report >/dev/null
out=$EVENTFS_CACHE/runs/$(date +%Y%m%d-%H%M%S)-bench
"$EVENTFS_TOP/scripts/run-guest.sh" -K report -T 3600 -o "$out" bench "$@"
step "writing the table and the plot"
python3 "$EVENTFS_TOP/scripts/benchreport.py" "$out/result.txt" "$out/bench.md" "$out/bench.svg" \
	"report kernel (no debug checkers), QEMU/TCG with 2 CPUs: compare ratios, not absolute times"
step_done
echo
cat "$out/bench.md"
echo "table: $out/bench.md"
echo "plot:  $out/bench.svg"
if command -v rsvg-convert >/dev/null; then
	rsvg-convert "$out/bench.svg" -o "$out/bench.png"
	echo "plot:  $out/bench.png"
fi
