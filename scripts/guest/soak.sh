#!/bin/sh
# Long stress (guest side): eventfs-stress for DURATION seconds with THREADS threads and
# SEED (new if empty), then the fault-injection sweep, then umount, rmmod and a kmemleak
# scan. Prints the tool's counts; the result is in /tmp/soak.rc.
#   soak.sh DURATION THREADS [SEED]
DURATION=${1:-600} THREADS=${2:-4} SEED=${3:-}
MNT=/mnt/events
echo 1 >/tmp/soak.rc
rc=0
insmod /eventfs/eventfs.ko || exit 1
mkdir -p $MNT
mount -t eventfs none $MNT || exit 1
echo "== stress: $THREADS threads, ${DURATION}s, $(nproc) CPUs"
eventfs-stress --mount $MNT --threads "$THREADS" --duration "$DURATION" ${SEED:+--seed "$SEED"} || rc=1
echo "== fault injection"
eventfs-stress --mount $MNT --faults || rc=1
umount $MNT && rmmod eventfs || rc=1
sleep 6
echo scan >/sys/kernel/debug/kmemleak
echo scan >/sys/kernel/debug/kmemleak
leaks=$(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak)
echo "== kmemleak after umount and rmmod: $leaks leaks"
[ "$leaks" = 0 ] || { head -n 40 /sys/kernel/debug/kmemleak; rc=1; }
echo $rc >/tmp/soak.rc
