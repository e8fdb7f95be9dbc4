# shellcheck shell=bash
# Common settings for the eventfs-rs scripts. Sourced, never run.
#
# Everything expensive (packages aside) lives in $EVENTFS_CACHE, outside the clone, so
# that a fresh clone reuses a kernel built by an earlier run.

EVENTFS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EVENTFS_CACHE=${EVENTFS_CACHE:-/var/cache/eventfs-rs}

# The toolchain the kernel and the module are built with (see README "Requirements").
LLVM_DIR=/usr/lib/llvm-19
KRUSTC=/usr/bin/rustc
KCLIPPY=/usr/bin/clippy-driver
KRUSTFMT=/usr/bin/rustfmt
KBINDGEN=$EVENTFS_CACHE/cargo/bin/bindgen
BINDGEN_VERSION=0.73.2
export LIBCLANG_PATH=$LLVM_DIR/lib

# Kernel source: Debian's linux-source-7.2. Old versions leave the archive, so the
# preferred version is a pin with a fallback to the newest 7.2.x the archive has.
KERNEL_SERIES=7.2
KERNEL_PREFERRED=${KERNEL_PREFERRED:-7.2.13-1}

# Flags every kernel-tree make needs.
kmake_flags() {
	echo "LLVM=$LLVM_DIR/bin/ RUSTC=$KRUSTC BINDGEN=$KBINDGEN CLIPPY_DRIVER=$KCLIPPY RUSTFMT=$KRUSTFMT"
}

_step_t0=
step() {
	_step_t0=$(date +%s)
	printf '\033[1m==> [%s] %s\033[0m\n' "$(date +%H:%M:%S)" "$*" >&2
}
step_done() {
	printf '    done in %ss\n' "$(($(date +%s) - _step_t0))" >&2
}
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# The kernel build directory of a flavor (test: the debug kernel; report: the one for
# memory figures), as scripts/setup.sh last built it.
kernel_key_file() {
	case ${1:-test} in
	test) echo "$EVENTFS_CACHE/current-kdir" ;;
	*) echo "$EVENTFS_CACHE/current-kdir-$1" ;;
	esac
}
default_kdir() {
	local f
	f=$(kernel_key_file "${1:-test}")
	[ -r "$f" ] && cat "$f"
}
