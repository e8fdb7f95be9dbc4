#!/usr/bin/env bash
# The main job: set up if needed (packages, toolchain, test kernel), boot the test kernel
# under QEMU, load eventfs, mount it, show it working (create events, the tree, format,
# enable, removal), unmount, unload; then the memory report (eventfs-rs vs mainline
# tracefs, N events) on the report kernel (built on first use, without KASAN).
#   scripts/demo.sh [N]       the scripted demo and the report (N events, default 10000)
#   scripts/demo.sh --shell   an interactive guest shell instead (module in /eventfs)
set -euo pipefail
here=$(dirname "$0")
"$here/setup.sh" >/dev/null
if [ "${1:-}" = --shell ]; then
	exec "$here/run-guest.sh" shell
fi
"$here/run-guest.sh" -T 900 demo
"$here/setup.sh" report >/dev/null
exec "$here/run-guest.sh" -K report -T 1800 memreport "${1:-10000}"
