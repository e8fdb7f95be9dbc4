#!/usr/bin/env bash
# The main job: set up if needed (packages, toolchain, test kernel), boot the test kernel
# under QEMU, load eventfs, mount it, show it working, unmount, unload.
#   scripts/demo.sh           the scripted demo
#   scripts/demo.sh --shell   an interactive guest shell instead (module in /eventfs)
set -euo pipefail
here=$(dirname "$0")
"$here/setup.sh" >/dev/null
if [ "${1:-}" = --shell ]; then
	exec "$here/run-guest.sh" shell
fi
exec "$here/run-guest.sh" -T 900 demo
