#!/bin/sh
# Memory report (guest side): N events in eventfs-rs and N synthetic events in mainline
# tracefs, side by side. Run on the report kernel (built without the checkers, whose
# redzones and quarantine would distort the figures).
#   memreport.sh [N]
# Slab bytes are the sum over /proc/slabinfo of active objects x object size (object
# bytes, without slab fragmentation), live dentries the first field of
# /proc/sys/fs/dentry-state, live inodes the first field of /proc/sys/fs/inode-nr. Each phase is measured after settling (sync, a short sleep for
# RCU callbacks), relative to a baseline taken before any event exists.
N=${1:-10000}
MNT=/mnt/events
T=/sys/kernel/tracing
echo 1 >/tmp/memreport.rc
set -e

# settle: let RCU callbacks run, then flush SLUB's per-CPU slabs, whose free objects
# /proc/slabinfo would count as active.
settle() {
	sync
	sleep 2
	for f in /sys/kernel/slab/*/shrink; do echo 1 >"$f" 2>/dev/null || true; done
}
slab() { awk 'NR > 2 { b += $2 * $4 } END { printf "%d", b }' /proc/slabinfo; }
dentries() { cut -f1 /proc/sys/fs/dentry-state; }
inodes() { cut -f1 /proc/sys/fs/inode-nr; }
snap() { settle; echo "$(slab) $(dentries) $(inodes)"; }
# delta BASE NOW: "bytes/event dentries inodes"
delta() {
	echo "$1 $2" | awk -v n="$N" '{ printf "%d %d %d", ($4 - $1) / n, $5 - $2, $6 - $3 }'
}

# measure NAME DIR CREATE REMOVE TOP: the four phases for one filesystem, and the cost of
# an instance of its tracing directory TOP.
measure() {
	name=$1 dir=$2 create=$3 remove=$4
	echo 3 >/proc/sys/vm/drop_caches
	base=$(snap)
	t0=$(date +%s)
	$create
	t1=$(date +%s)
	echo 3 >/proc/sys/vm/drop_caches
	idle=$(delta "$base" "$(snap)")
	find "$dir" >/dev/null
	looked=$(delta "$base" "$(snap)")
	nfiles=$(find "$dir" -type f | wc -l)
	echo 2 >/proc/sys/vm/drop_caches
	dropped=$(delta "$base" "$(snap)")
	instance "$name" "$5"
	$remove
	echo 3 >/proc/sys/vm/drop_caches
	gone=$(delta "$base" "$(snap)")
	eval "R_${name}_idle='$idle' R_${name}_looked='$looked' R_${name}_dropped='$dropped'"
	eval "R_${name}_gone='$gone' R_${name}_files=$nfiles R_${name}_secs=$((t1 - t0))"
}

# instance NAME TOP: the cost of one instance of the tracing directory TOP with the N
# events present: idle, after a find over every file of it, after drop_caches. Whole
# bytes (not per event), relative to before the mkdir.
instance() {
	echo 3 >/proc/sys/vm/drop_caches
	ib=$(snap)
	mkdir "$2/instances/memreport"
	echo 3 >/proc/sys/vm/drop_caches
	iidle=$(snap)
	find "$2/instances/memreport" >/dev/null
	ilooked=$(snap)
	echo 2 >/proc/sys/vm/drop_caches
	idropped=$(snap)
	rmdir "$2/instances/memreport"
	for ph in idle looked dropped; do
		eval "v=\$i$ph"
		eval "R_${1}_inst_$ph='$(echo "$ib $v" | awk '{ printf "%d %d %d", $4 - $1, $5 - $2, $6 - $3 }')'"
	done
}

# create FILE FORMAT: N commands written 100 lines (under 4 KiB) per write, because
# tracefs parses a write in 4 KiB pieces and refuses a line cut by a piece boundary.
create() {
	i=0
	while [ $i -lt "$N" ]; do
		awk -v a=$i -v n="$N" -v f="$2" 'BEGIN {
			for (j = a; j < a + 100 && j < n; j++) printf f "\n", j }' >>"$1"
		i=$((i + 100))
	done
}
efs_create() { create $MNT/dynamic_events "s:memgrp/ev%d u64 lat; pid_t pid"; }
efs_remove() { echo >$MNT/dynamic_events; }
synth_create() { create $T/synthetic_events "memev%d u64 lat; pid_t pid"; }
synth_remove() { echo >$T/synthetic_events; }

insmod /eventfs/eventfs.ko
mkdir -p $MNT
mount -t eventfs none $MNT
measure efs $MNT/events/memgrp efs_create efs_remove $MNT
# Empty again: events/ holds only its files (enable, header_event, header_page), no group.
[ "$(ls $MNT/events | tr '\n' ' ')" = "enable ftrace header_event header_page " ] ||
	{ echo "eventfs not empty after removal: $(ls $MNT/events)"; exit 1; }
measure tfs $T/events/synthetic synth_create synth_remove $T
umount $MNT
rmmod eventfs

row() { # row LABEL FIELD(1=bytes,2=dentries,3=inodes) PHASE
	a=$(eval echo "\$R_efs_$3" | cut -d' ' -f"$2")
	b=$(eval echo "\$R_tfs_$3" | cut -d' ' -f"$2")
	printf '%-44s %14s %22s\n' "$1" "$a" "$b"
}
echo
echo "memory report: N=$N events, Linux $(uname -r), report kernel (no debug checkers)"
printf '%-44s %14s %22s\n' "" "eventfs-rs" "tracefs (synthetic)"
printf '%-44s %14s %22s\n' "files per event" "$((R_efs_files / N))" "$((R_tfs_files / N))"
printf '%-44s %14s %22s\n' "seconds to create N events" "$R_efs_secs" "$R_tfs_secs"
row "idle slab bytes per event (metadata only)" 1 idle
row "slab bytes per event, every file looked up" 1 looked
row "slab bytes per event after drop_caches" 1 dropped
row "slab bytes per event after removing all" 1 gone
row "live dentries, idle (delta)" 2 idle
row "live dentries, every file looked up" 2 looked
row "live dentries after drop_caches" 2 dropped
row "live dentries after removing all" 2 gone
row "live inodes, idle (delta)" 3 idle
row "live inodes, every file looked up" 3 looked
row "live inodes after drop_caches" 3 dropped
echo
echo "one instance (mkdir instances/NAME) with the N events present, whole bytes:"
row "slab bytes, idle instance" 1 inst_idle
row "slab bytes, every file of it looked up" 1 inst_looked
row "slab bytes after drop_caches" 1 inst_dropped
row "live dentries, every file looked up" 2 inst_looked
row "live dentries after drop_caches" 2 inst_dropped
echo
echo 0 >/tmp/memreport.rc
