#!/bin/sh
# The main job, in the guest: load the module, mount it, show it working, take it down.
set -e
echo 1 >/tmp/demo.rc
run() { echo "\$ $*"; "$@"; }
MNT=/mnt/events
mkdir -p $MNT
run uname -r
run insmod /eventfs/eventfs.ko
run grep eventfs /proc/filesystems
run mount -t eventfs none $MNT
run grep eventfs /proc/mounts
run ls -la $MNT
run stat -c '%n: mode %a, uid %u, gid %g, inode %i, links %h' $MNT
run stat -f $MNT
echo "# create events through dynamic_events"
run sh -c "echo 's:sched/wakeup_lat u64 delta_ns; pid_t pid; char comm[16]' >> $MNT/dynamic_events"
run sh -c "echo 's:sched/switch_lat u64 delta_ns' >> $MNT/dynamic_events"
run sh -c "echo 's:irq_lat s32 irq; u64 ns' >> $MNT/dynamic_events"
run cat $MNT/dynamic_events
run find $MNT
run ls -la $MNT/sched $MNT/sched/wakeup_lat
run cat $MNT/sched/wakeup_lat/format
run cat $MNT/sched/wakeup_lat/id $MNT/sched/switch_lat/id $MNT/synthetic/irq_lat/id
echo "# toggle enable: event, group (0/1/X) and root"
run sh -c "echo 1 > $MNT/sched/wakeup_lat/enable"
run cat $MNT/sched/wakeup_lat/enable $MNT/sched/enable $MNT/enable
run sh -c "echo 1 > $MNT/enable"
run cat $MNT/sched/switch_lat/enable $MNT/sched/enable $MNT/enable
echo "\$ echo '-:sched/wakeup_lat' >> dynamic_events   # enabled: must fail with EBUSY"
if echo '-:sched/wakeup_lat' >>$MNT/dynamic_events; then echo "removed an enabled event"; exit 1; fi
run sh -c "echo 0 > $MNT/enable"
echo "# remove one event, then all (O_TRUNC): groups go with their last event"
run sh -c "echo '-:sched/wakeup_lat' >> $MNT/dynamic_events"
run ls $MNT $MNT/sched
run sh -c "echo > $MNT/dynamic_events"
run ls -la $MNT
run mount -o remount,uid=1000,gid=100,mode=0755 $MNT
run grep eventfs /proc/mounts
run stat -c '%n: mode %a, uid %u, gid %g' $MNT
echo "\$ rmmod eventfs   # while mounted: must fail"
if rmmod eventfs; then echo "rmmod succeeded while mounted"; exit 1; fi
run umount $MNT
run rmmod eventfs
run grep -c eventfs /proc/filesystems || true
echo 0 >/tmp/demo.rc
echo "demo: OK"
