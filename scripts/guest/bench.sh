#!/bin/sh
# Benchmark (guest side): eventfs-rs against mainline tracefs in the same guest, at each
# N given (default 100 1000 10000). For each N, `eventfs-stress bench` times every
# measure on eventfs-rs (mounted at /mnt/events), then on tracefs's synthetic events,
# each starting and ending with an empty registry; then the record measures of both, in
# turns. Run on the report kernel (no debug
# checkers, which would dominate the timings).
#   bench.sh [N...]
# Output: the tool's `BENCH FS N MEASURE MEDIAN_US MIN_US` lines (scripts/bench.sh turns
# them into the table and the plot), `#` comments (every sample of each measure, files
# per event), and the seconds each part took.
MNT=/mnt/events
TRACING=/sys/kernel/tracing
echo 1 >/tmp/bench.rc
set -e
[ $# -gt 0 ] || set -- 100 1000 10000

# init mounts tracefs; mount it here if it did not.
[ -e $TRACING/synthetic_events ] || mount -t tracefs nodev $TRACING
insmod /eventfs/eventfs.ko
mkdir -p $MNT
mount -t eventfs none $MNT
echo "# Linux $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs"
for n in "$@"; do
	for fs in eventfs tracefs; do
		t0=$(date +%s)
		# Up to 9 runs of each measure (the short ones vary most under TCG), but no
		# new run once 10 s have gone into it: at N=10,000 mainline's creates,
		# removals and cold stats take seconds each.
		eventfs-stress bench --runs 9 --budget 10 --mount $MNT --tracing $TRACING $fs "$n"
		echo "# $fs N=$n took $(($(date +%s) - t0)) s"
	done
	# The record measures (inject, trace_pipe, trace_marker) of both in turns: they
	# take microseconds each, where the guest's speed drifts more than between them.
	t0=$(date +%s)
	eventfs-stress bench --runs 15 --budget 20 --mount $MNT --tracing $TRACING records "$n"
	echo "# records N=$n took $(($(date +%s) - t0)) s"
done
umount $MNT
rmmod eventfs
echo 0 >/tmp/bench.rc
