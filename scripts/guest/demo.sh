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
