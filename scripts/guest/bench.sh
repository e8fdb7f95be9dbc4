#!/bin/sh
# Benchmark (guest side): eventfs-rs against mainline tracefs in the same guest, at each
# N given (default 100 1000 10000). For each N, `eventfs-stress bench pair` times every
# structural measure on eventfs-rs (mounted at /mnt/events) and on tracefs's synthetic
# events in turns, one sample of each per round, each registry starting and ending
# empty; then `bench records` the record measures of both, in turns too. Once, after
# every N, `bench probes` takes the kprobe measures of both in turns: 100 probes defined
# and removed, and PROBE_CALLS read(2)s with a probe on vfs_read disabled, enabled in
# one instance and in two. Run on the report kernel (no debug checkers, which would
# dominate the timings).
#   bench.sh [N...]
# Output: the tool's `BENCH FS N MEASURE MEDIAN_US MIN_US` lines (scripts/bench.sh turns
# them into the table and the plot), `#` comments (every sample of each measure, which
# measures were taken in turns, files per event), and the seconds each part took.
MNT=/mnt/events
TRACING=/sys/kernel/tracing
# K of `bench probes`: the read(2)s, so the probe hits, of each sample. 10,000 hits
# take tens of milliseconds or more under TCG, well above the timer and the noise of a
# single call, and their records (about 44 bytes each) fit one CPU's part of an
# instance's default buffer several times over (the tool takes up to 20,000).
PROBE_CALLS=10000
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
	# The structural measures of both in turns: the guest's speed drifts under TCG, so
	# one filesystem's block then the other's gives ratios that move with the drift,
	# while the two samples of a round see the same load. Up to 9 rounds of each
	# measure group (the short ones vary most under TCG), but no new round once 20 s
	# have gone into it (a round takes one sample of each, twice as long as one): at
	# N=10,000 mainline's creates, removals and cold stats take seconds each.
	t0=$(date +%s)
	eventfs-stress bench --runs 9 --budget 20 --mount $MNT --tracing $TRACING pair "$n"
	echo "# pair N=$n took $(($(date +%s) - t0)) s"
	# The record measures (inject, trace_pipe, trace_marker) of both in turns: they
	# take microseconds each, where the guest's speed drifts more than between them.
	t0=$(date +%s)
	eventfs-stress bench --runs 15 --budget 20 --mount $MNT --tracing $TRACING records "$n"
	echo "# records N=$n took $(($(date +%s) - t0)) s"
done
# The kprobe measures of both in turns, once (they do not depend on N): the 100-probe
# definition and removal (N=100 in the output), then the hit loops (N=PROBE_CALLS).
# Each filesystem must have no kprobe event and no instance benchA or benchB, and is
# left so.
t0=$(date +%s)
eventfs-stress bench --runs 9 --budget 20 --mount $MNT --tracing $TRACING probes $PROBE_CALLS
echo "# probes K=$PROBE_CALLS took $(($(date +%s) - t0)) s"
umount $MNT
rmmod eventfs
echo 0 >/tmp/bench.rc
