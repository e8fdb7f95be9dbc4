#!/usr/bin/env bash
# Builds the module and an initramfs, boots the test kernel under QEMU (TCG) and runs one
# job in the guest. The host side of scripts/guest/init.
#
#   run-guest.sh [options] test [DIR|FILE...]   run .tc tests (default: tests/)
#   run-guest.sh [options] demo                 the main job (scripts/guest/demo.sh)
#   run-guest.sh [options] shell                an interactive guest shell
#   run-guest.sh [options] memreport [N]        memory report, eventfs vs tracefs, N events
#   run-guest.sh [options] bench [N...]         timings, eventfs vs tracefs (scripts/bench.sh)
#   run-guest.sh [options] soak SECS THREADS [SEED]  long stress, faults, leak check
#   run-guest.sh [options] peer [LIST]          mainline's ftrace selftests, unmodified,
#                                               against an eventfs mount (default list:
#                                               tests/peer/mainline.list)
# options:
#   -K FLAVOR    kernel: test (debug, default) or report (no checkers; memreport and
#                bench use it)
#   -f PATTERN   only tests whose file name contains PATTERN
#   -o DIR       where the artifacts go (default: $EVENTFS_CACHE/runs/<time>)
#   -T SECONDS   hard timeout of the whole VM (default 2400)
#   -t SECONDS   timeout of one test (default 120)
#   -k           no kmemleak scan at the end
# The guest's console log (console.log), its whole kernel log (dmesg.log) and the job's
# output (result.log) are kept in the artifacts directory; files a test exported
# (/tmp/eventfs-export in the guest, tests/test.d/17trace/export_formats.tc) in export/. Exit status: the job's, and
# non-zero if the guest did not finish or its kernel log shows a splat. A splat the test
# kernel logs while booting, before the job and our module ran, makes the guest stop at
# once; it is reported (boot1-*.log kept) and the guest boots once more, and a second one
# fails the run.
set -euo pipefail
shopt -s inherit_errexit
. "$(dirname "$0")/lib.sh"

filter= out= vm_timeout=2400 tc_timeout=120 kmemleak=1 flavor=test
while getopts f:o:T:t:kK: opt; do
	case $opt in
	K) flavor=$OPTARG ;;
	f) filter=$OPTARG ;;
	o) out=$OPTARG ;;
	T) vm_timeout=$OPTARG ;;
	t) tc_timeout=$OPTARG ;;
	k) kmemleak=0 ;;
	*) sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
job=${1:-}
shift || true
case $job in
test | demo | shell | memreport | soak | bench | peer) ;;
*) die "job must be test, demo, shell, memreport, soak, bench or peer" ;;
esac

kdir=$(default_kdir "$flavor")
[ -n "$kdir" ] && [ -f "$kdir/.built" ] || die "no $flavor kernel: run scripts/setup.sh $flavor"
out=${out:-$EVENTFS_CACHE/runs/$(date +%Y%m%d-%H%M%S)-$job}
mkdir -p "$out"

step "building eventfs.ko for the $flavor kernel"
if [ "$flavor" = test ]; then
	modsrc=$EVENTFS_TOP
else
	# Kbuild writes its objects next to the sources: build other flavors in a copy.
	modsrc=$out/module
	rm -rf "$modsrc"
	mkdir -p "$modsrc"
	cp -r "$EVENTFS_TOP/Kbuild" "$EVENTFS_TOP/Makefile" "$EVENTFS_TOP/src" "$modsrc/"
	find "$modsrc/src" -name '*.o' -o -name '.*.cmd' -o -name '*_generated.rs' | xargs rm -f
fi
make -s -C "$modsrc" KDIR="$kdir" modules >"$out/build.log" 2>&1 ||
	{ cat "$out/build.log" >&2; die "module build failed"; }
step_done

step "building the guest stress tool (tests/stress)"
(cd "$EVENTFS_TOP/tests/stress" &&
	RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --quiet) >"$out/stress-build.log" 2>&1 ||
	{ cat "$out/stress-build.log" >&2; die "stress tool build failed"; }
step_done

step "building the real clients (tests/clients: libtracefs, trace-cmd)"
clients=$out/clients
mkdir -p "$clients"
command -v trace-cmd >/dev/null && [ -f /usr/include/tracefs/tracefs.h ] ||
	die "no trace-cmd or libtracefs-dev: run scripts/setup.sh"
cflags=(-O2 -Wall -Wextra -Werror -I/usr/include/tracefs -I/usr/include/traceevent)
{
	gcc "${cflags[@]}" -o "$clients/local-events" "$EVENTFS_TOP/tests/clients/local-events.c" \
		-ltracefs -ltraceevent &&
		gcc "${cflags[@]}" -shared -fPIC -o "$clients/tracefs-redirect.so" \
			"$EVENTFS_TOP/tests/clients/tracefs-redirect.c" -ltracefs
} >"$out/clients-build.log" 2>&1 || { cat "$out/clients-build.log" >&2; die "client build failed"; }
cp "$(command -v trace-cmd)" "$clients/trace-cmd"
step_done

step "building the initramfs"
root=$(mktemp -d)
chmod 755 "$root" # mktemp makes it 0700: the guest's / must be searchable by all users
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,mnt,eventfs/tests,sys/kernel/debug}
cp /bin/busybox "$root/bin/busybox"
mknod -m 600 "$root/dev/console" c 5 1
cp "$EVENTFS_TOP/scripts/guest/init" "$root/init"
cp "$EVENTFS_TOP/scripts/guest/"{ftracetest,tc-helpers.sh,demo.sh,memreport.sh,soak.sh,bench.sh,peer.sh} \
	"$root/eventfs/"
cp "$EVENTFS_TOP/scripts/splat-patterns" "$root/eventfs/"
cp "$modsrc/eventfs.ko" "$root/eventfs/"
objcopy --strip-debug "$EVENTFS_TOP/tests/stress/target/release/eventfs-stress" "$root/bin/eventfs-stress"
# The real clients, and the shared libraries they load at the paths the host's ldd gives.
mkdir -p "$root/eventfs/clients"
cp "$clients"/{local-events,tracefs-redirect.so,trace-cmd} "$root/eventfs/clients/"
for f in "$clients"/{local-events,tracefs-redirect.so,trace-cmd}; do
	ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u | while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
guest_args=()
if [ "$job" = test ]; then
	[ $# -gt 0 ] || set -- "$EVENTFS_TOP/tests/test.d"
	k=0
	for src in "$@"; do
		k=$((k + 1))
		dst=$root/eventfs/tests/$k
		mkdir -p "$dst"
		if [ -d "$src" ]; then
			(cd "$src" && find . -name '*.tc' | cpio -pdm --quiet "$dst")
		else
			cp "$src" "$dst/"
		fi
	done
	guest_args=(-t "$tc_timeout")
	[ "$kmemleak" = 1 ] || guest_args+=(-k)
	[ -z "$filter" ] || guest_args+=(-f "$filter")
	guest_args+=(/eventfs/tests)
elif [ "$job" = memreport ]; then
	guest_args=("${1:-10000}")
elif [ "$job" = peer ]; then
	# Mainline's ftracetest and test.d, as the kernel source has them.
	ftsrc=$kdir/source/tools/testing/selftests/ftrace
	[ -f "$ftsrc/ftracetest" ] || die "no mainline ftrace selftests in $ftsrc"
	mkdir -p "$root/eventfs/mainline-ftrace"
	cp -r "$ftsrc/ftracetest" "$ftsrc/test.d" "$root/eventfs/mainline-ftrace/"
	cp "${1:-$EVENTFS_TOP/tests/peer/mainline.list}" "$root/eventfs/mainline.list"
	guest_args=(/eventfs/mainline.list)
elif [ "$job" = soak ] || [ "$job" = bench ]; then
	guest_args=("$@")
fi
{
	echo "JOB=$job"
	echo "RUNNER_ARGS='${guest_args[*]}'"
} >"$root/eventfs/job.conf"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.gz"
step_done

step "booting the test kernel under QEMU/TCG (job: $job, artifacts: $out)"
# KVM guests hang on these machines: TCG only.
qemu_cmd() { # qemu_cmd CONSOLE-BACKEND
	echo qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 2 -m 2G \
		-kernel "$kdir/arch/x86/boot/bzImage" -initrd "$out/initramfs.gz" \
		-append "'console=ttyS0 panic=-1 oops=panic loglevel=7 rdinit=/init'" \
		-display none -no-reboot -monitor none \
		-serial "$1" -serial "file:$out/result.log" -serial "file:$out/dmesg.log"
}
if [ "$job" = shell ]; then
	eval "$(qemu_cmd mon:stdio)"
	exit 0
fi
eval "qemu=($(qemu_cmd "file:$out/console.log"))"
# boot: one run of the guest. The guest stops at once, saying EVENTFS-BOOT-SPLAT, if its
# kernel logged a splat while booting, before the job (and our module) ran.
boot() {
	: >"$out/result.log"
	timeout --kill-after=10 "$vm_timeout" "${qemu[@]}" </dev/null &
	qpid=$!
	tail -n +1 -F "$out/result.log" --pid=$qpid 2>/dev/null |
		grep -v '^EVENTFS-DONE\|^EVENTFS-BOOT-SPLAT\|^# EVENTFS-EXPORT' || true
	wait $qpid && qrc=0 || qrc=$?
}
# extract_export TXT DIR: unpacks the files the guest sent between the EVENTFS-EXPORT
# markers of its result (scripts/guest/init send_export) into DIR. Nothing sent: nothing
# to do; a damaged or incomplete block is reported and not unpacked (whoever needs the
# files, scripts/test.sh's tests/tep check, then fails on their absence).
extract_export() {
	local txt=$1 dest=$2 sum tgz
	rm -rf "$dest"
	if grep -aq '^# EVENTFS-EXPORT-FAILED' "$txt"; then
		echo "export: the guest could not pack its files" >&2
		return 1
	fi
	grep -aq '^# EVENTFS-EXPORT-BEGIN ' "$txt" || return 0
	if ! grep -aqx '# EVENTFS-EXPORT-END' "$txt"; then
		echo "export: incomplete (no end marker) in $txt" >&2
		return 1
	fi
	sum=$(sed -n 's/^# EVENTFS-EXPORT-BEGIN \([0-9a-f]*\)$/\1/p' "$txt" | tail -n 1)
	tgz=$(mktemp)
	sed -n '/^# EVENTFS-EXPORT-BEGIN /,/^# EVENTFS-EXPORT-END$/s/^# EVENTFS-EXPORT \(.*\)$/\1/p' \
		"$txt" | base64 -d >"$tgz" 2>/dev/null
	if [ "$(sha256sum <"$tgz" | cut -d' ' -f1)" != "$sum" ]; then
		echo "export: checksum mismatch (damaged in transit?) in $txt" >&2
		rm -f "$tgz"
		return 1
	fi
	mkdir -p "$dest"
	if ! tar -xzf "$tgz" -C "$dest" --strip-components=1; then
		echo "export: could not unpack the files sent in $txt" >&2
		rm -rf "$dest" "$tgz"
		return 1
	fi
	rm -f "$tgz"
	echo "export: $(find "$dest" -type f | wc -l) files in $dest" >&2
}
boot
if grep -aq '^EVENTFS-BOOT-SPLAT' "$out/result.log"; then
	# Keep the evidence, say so, and boot once more: a second one fails the run below.
	for f in console.log dmesg.log result.log; do mv "$out/$f" "$out/boot1-$f"; done
	echo "the test kernel logged a splat while booting, before the job ran (kept in" \
		"$out/boot1-console.log); booting once more:" >&2
	tr -d '\r' <"$out/boot1-console.log" | grep -a -E -f "$EVENTFS_TOP/scripts/splat-patterns" |
		head -n 3 | sed 's/^/  /' >&2 || true
	boot
	if grep -aq '^EVENTFS-BOOT-SPLAT' "$out/result.log"; then
		echo "the test kernel logged a splat while booting again: see $out/console.log" >&2
		echo "EVENTFS-DONE rc=1" >>"$out/result.log"
	fi
fi
step_done

rc=0
tr -d '\r' <"$out/result.log" >"$out/result.txt"
extract_export "$out/result.txt" "$out/export" || true
done_line=$(grep -a '^EVENTFS-DONE rc=' "$out/result.txt" | tail -n 1 || true)
if [ -z "$done_line" ]; then
	echo "guest did not finish (qemu exit $qrc; timeout ${vm_timeout}s?): see $out/console.log" >&2
	tail -n 30 "$out/console.log" >&2 || true
	rc=1
else
	rc=${done_line#EVENTFS-DONE rc=}
fi
splats=$(cat "$out/console.log" "$out/dmesg.log" 2>/dev/null | tr -d '\r' |
	grep -a -E -f "$EVENTFS_TOP/scripts/splat-patterns" | grep -v 'eventfs-ftracetest:' | sort -u | head -n 20 || true)
if [ -n "$splats" ]; then
	echo "kernel splat in the guest log ($out/console.log):" >&2
	echo "$splats" | sed 's/^/  /' >&2
	[ "$rc" != 0 ] || rc=1
fi
echo "artifacts: $out" >&2
exit "$rc"
