#!/usr/bin/env bash
# Long stress soak in the guest under the debug kernel: eventfs-stress with
# THREADS threads for DURATION seconds (a new SEED unless given), the fault-injection
# sweep, then umount, rmmod and a kmemleak scan. Fails on any violation, leak or splat.
#   DURATION=600 THREADS=4 SEED=... scripts/stress.sh
# Replaying a run: give the SEED it printed, with the same THREADS.
set -euo pipefail
here=$(dirname "$0")
"$here/setup.sh" >/dev/null
duration=${DURATION:-600}
threads=${THREADS:-4}
exec "$here/run-guest.sh" -T $((duration + 900)) soak "$duration" "$threads" ${SEED:+"$SEED"}
