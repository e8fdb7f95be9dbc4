#!/bin/sh
# The peer suite (runs in the guest): mainline's own ftrace selftests, unmodified (its
# ftracetest and its .tc files, from the kernel source the test kernel is built from), run
# against an eventfs mount instead of tracefs.
#
#   peer.sh LIST
#
# LIST (tests/peer/mainline.list) names every mainline test: "run PATH" must pass, "skip
# PATH # why" is not run. mainline's ftracetest finds its tracing directory as the first
# line of /proc/mounts that mentions "tracefs": the real tracefs is unmounted for the run
# and eventfs is mounted in its place, with "tracefs" as its source name. Each listed test
# runs in its own ftracetest invocation (so that a kernel splat is charged to the test
# that caused it), with UNSUPPORTED and UNRESOLVED counted as failures: a listed test must
# really pass. Output is KTAP; the last line is "N passed, N failed".

LIST=$1
FT=/eventfs/mainline-ftrace
EFS_DIR=/eventfs
SPLATS=$EFS_DIR/splat-patterns
TDIR=/sys/kernel/tracing

log() { echo "# $*"; }

umount $TDIR 2>/dev/null || true
insmod $EFS_DIR/eventfs.ko || { echo "Bail out! insmod failed"; echo 1 >/tmp/peer.rc; exit 1; }
mount -t eventfs tracefs $TDIR || { echo "Bail out! mount failed"; echo 1 >/tmp/peer.rc; exit 1; }
log "$(grep tracefs /proc/mounts | head -n 1)"

tests=$(awk '$1 == "run" { print $2 }' "$LIST")
skipped=$(grep -c '^skip ' "$LIST")
n=$(echo $tests | wc -w)
echo "KTAP version 1"
echo "1..$((n + 1))"
log "$n mainline tests listed to run, $skipped listed as not applicable (see $LIST)"
pass=0 fail=0 i=0 mpass=0 mfail=0
for t in $tests; do
	i=$((i + 1))
	echo "eventfs-peer: begin $t" >/dev/kmsg
	t0=$(date +%s)
	out=/tmp/peer.out
	(cd $FT && timeout 300 sh ./ftracetest -K --fail-unsupported --fail-unresolved \
		-l /tmp/peer-logs/$i "test.d/$t") >$out 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	splat=$(dmesg | awk -v m="eventfs-peer: begin $t" 'index($0, m) { on = 1; next } on' |
		grep -E -f "$SPLATS" | head -n 5)
	if [ $rc = 0 ] && [ -z "$splat" ] && grep -q '^ok ' $out && ! grep -q '^not ok ' $out; then
		echo "ok $i $t"
		pass=$((pass + 1))
		mpass=$((mpass + 1))
	else
		echo "not ok $i $t"
		fail=$((fail + 1))
		mfail=$((mfail + 1))
		[ -z "$splat" ] || { echo "kernel splat while the test ran:"; echo "$splat"; } >>$out
		echo "ftracetest exit $rc" >>$out
		sed 's/^/#   | /' $out | tail -n 40
		# The test's own log (ftracetest keeps those of failed tests): its last commands.
		find /tmp/peer-logs/$i -type f 2>/dev/null | while read -r f; do
			grep -v '^grep: events/\*/\*/' "$f" | tail -n 25 | sed 's/^/#   log | /'
		done
	fi
	grep -E '^(ok|not ok) ' $out | sed 's/^/#     ftracetest: /'
	log "    ${secs}s"
done
# Clean unload, then leaks.
i=$((i + 1))
umount $TDIR && rmmod eventfs || { echo "not ok $i unload"; fail=$((fail + 1)); }
if [ -w /sys/kernel/debug/kmemleak ]; then
	# kmemleak reports only objects older than 5 s; scan twice, as its documentation says.
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(cat /sys/kernel/debug/kmemleak)
	if [ -z "$leaks" ]; then
		echo "ok $i kmemleak-after-rmmod"
		pass=$((pass + 1))
	else
		echo "not ok $i kmemleak-after-rmmod"
		echo "$leaks" | head -n 60 | sed 's/^/#   | /'
		fail=$((fail + 1))
	fi
else
	echo "ok $i kmemleak-after-rmmod # SKIP kmemleak not available"
	pass=$((pass + 1))
fi
mount -t tracefs tracefs $TDIR 2>/dev/null || true
echo "# Totals: pass:$pass fail:$fail"
echo "mainline: $mpass passed, $mfail failed ($skipped not applicable, see tests/peer/mainline.list)"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
echo $? >/tmp/peer.rc
