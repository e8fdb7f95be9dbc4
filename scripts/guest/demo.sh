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
echo "# the tracing directory: tracefs' files, and events/ for the groups"
run ls -la $MNT
run ls -la $MNT/events
run stat -c '%n: mode %a, uid %u, gid %g, inode %i, links %h' $MNT $MNT/events
run stat -f $MNT
run head -n 4 $MNT/README
run cat $MNT/available_tracers $MNT/current_tracer $MNT/tracing_on
echo "# create events through dynamic_events"
run sh -c "echo 's:sched/wakeup_lat u64 delta_ns; pid_t pid; char comm[16]' >> $MNT/dynamic_events"
run sh -c "echo 's:sched/switch_lat u64 delta_ns' >> $MNT/dynamic_events"
run sh -c "echo 's:irq_lat s32 irq; u64 ns' >> $MNT/dynamic_events"
run cat $MNT/dynamic_events
run cat $MNT/available_events
run cat $MNT/synthetic_events
run find $MNT/events
run ls -la $MNT/events/sched $MNT/events/sched/wakeup_lat
run cat $MNT/events/sched/wakeup_lat/format
run cat $MNT/events/sched/wakeup_lat/id $MNT/events/sched/switch_lat/id $MNT/events/synthetic/irq_lat/id
echo "# toggle enable: event, group (0/1/X) and events/enable; set_event lists what is on"
run sh -c "echo 1 > $MNT/events/sched/wakeup_lat/enable"
run cat $MNT/events/sched/wakeup_lat/enable $MNT/events/sched/enable $MNT/events/enable
run cat $MNT/set_event
run sh -c "echo 1 > $MNT/events/enable"
run cat $MNT/events/sched/switch_lat/enable $MNT/events/sched/enable $MNT/events/enable
run cat $MNT/set_event
run sh -c "echo > $MNT/set_event"
run cat $MNT/events/sched/enable $MNT/events/enable
run sh -c "echo 'sched:*' >> $MNT/set_event"
run sh -c "echo '!sched:switch_lat' >> $MNT/set_event"
run cat $MNT/set_event
echo "\$ echo '-:sched/wakeup_lat' >> dynamic_events   # enabled: must fail with EBUSY"
if echo '-:sched/wakeup_lat' >>$MNT/dynamic_events; then echo "removed an enabled event"; exit 1; fi
echo "\$ echo 'function' > current_tracer   # only nop: must fail with EINVAL"
if echo function >$MNT/current_tracer; then echo "accepted tracer 'function'"; exit 1; fi
echo "\$ echo 's:bad/1x u8 a' >> dynamic_events   # a bad name: EINVAL, logged in error_log"
if echo 's:bad/1x u8 a' >>$MNT/dynamic_events; then echo "accepted a bad name"; exit 1; fi
run cat $MNT/error_log
run sh -c "echo 0 > $MNT/events/enable"
echo "# instances: mkdir makes one with its own enable state over the same events"
run mkdir $MNT/instances/demo
run ls -la $MNT/instances/demo
run sh -c "echo 1 > $MNT/instances/demo/events/sched/switch_lat/enable"
run cat $MNT/instances/demo/events/sched/enable $MNT/events/sched/enable
run cat $MNT/instances/demo/set_event
echo "# recording: each tracing directory has its own kernel ring buffer"
run sh -c "echo 'hello from the demo' > $MNT/instances/demo/trace_marker"
run sh -c "echo 'to the top level' > $MNT/trace_marker"
run cat $MNT/instances/demo/trace
run cat $MNT/instances/demo/buffer_size_kb
run sh -c "timeout 2 head -n 1 $MNT/trace_pipe"
run sh -c "grep -vc '^#' $MNT/trace || true"
echo "# inject writes a record of an enabled event; a filter keeps the records that match"
run sh -c "echo 'delta_ns > 100' > $MNT/instances/demo/events/sched/switch_lat/filter"
run sh -c "echo 'delta_ns=42' > $MNT/instances/demo/events/sched/switch_lat/inject"
run sh -c "echo 'delta_ns=4200' > $MNT/instances/demo/events/sched/switch_lat/inject"
run sh -c "grep switch_lat $MNT/instances/demo/trace"
echo "\$ echo '-:sched/switch_lat' >> dynamic_events   # enabled in the instance: EBUSY"
if echo '-:sched/switch_lat' >>$MNT/dynamic_events; then echo "removed an event enabled in an instance"; exit 1; fi
echo "\$ exec 3< instances/demo/tracing_on; rmdir instances/demo   # open file: EBUSY"
exec 3<$MNT/instances/demo/tracing_on
if rmdir $MNT/instances/demo; then echo "removed a busy instance"; exit 1; fi
exec 3<&-
run rmdir $MNT/instances/demo
run ls $MNT/instances
echo "# remove one event, then all (O_TRUNC): groups go with their last event"
run sh -c "echo '-:sched/wakeup_lat' >> $MNT/dynamic_events"
run ls $MNT/events $MNT/events/sched
run sh -c "echo > $MNT/dynamic_events"
run ls -la $MNT/events
run cat $MNT/available_events
run mount -o remount,uid=1000,gid=100,mode=0755 $MNT
run grep eventfs /proc/mounts
run stat -c '%n: mode %a, uid %u, gid %g' $MNT $MNT/events $MNT/events/enable
echo "\$ rmmod eventfs   # while mounted: must fail"
if rmmod eventfs; then echo "rmmod succeeded while mounted"; exit 1; fi
run umount $MNT
run rmmod eventfs
run grep -c eventfs /proc/filesystems || true
echo 0 >/tmp/demo.rc
echo "demo: OK"
