#!/usr/bin/env bash
# Set up everything eventfs-rs needs on a Debian 12 machine, idempotently:
#   1. Debian packages (LLVM 19, Debian's rustc 1.96 with its sources, kernel build
#      tools, busybox-static, QEMU, libtraceevent-dev for tests/tep, libtracefs-dev and
#      trace-cmd for the real-client test, tests/test.d/17trace/clients.tc);
#   2. bindgen-cli from crates.io, into the cache;
#   3. Debian's linux-source-7.2 (pinned version, falling back to the newest 7.2.x);
#   4. the debug test kernel, built from tinyconfig + kernel/test.config; or, with
#      `setup.sh report`, the memory-report kernel (the same without the checkers,
#      kernel/report.config on top).
# The kernel build is cached in $EVENTFS_CACHE (default /var/cache/eventfs-rs) under a key
# made of the kernel version, the config fragments and the compiler versions, so a second
# run (or a fresh clone) reuses it. Prints the build directory (KDIR) on stdout.
set -euo pipefail
shopt -s inherit_errexit
. "$(dirname "$0")/lib.sh"

PACKAGES=(clang-19 lld-19 llvm-19 libclang-19-dev
	rustc-web rust-web-src rust-web-clippy rustfmt-web cargo-web
	flex bison bc libelf-dev libssl-dev cpio kmod make gcc
	busybox-static qemu-system-x86 debian-archive-keyring ca-certificates
	libtraceevent-dev libtracefs-dev trace-cmd)

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	step "installing Debian packages: ${missing[*]}"
	[ "$(id -u)" = 0 ] || die "need root to install ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	step_done
}

install_bindgen() {
	if [ -x "$KBINDGEN" ] && "$KBINDGEN" --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
		return 0
	fi
	step "installing bindgen-cli $BINDGEN_VERSION from crates.io"
	cargo install --locked --quiet --root "$EVENTFS_CACHE/cargo" \
		--version "$BINDGEN_VERSION" bindgen-cli
	step_done
}

# Downloads the linux-source deb into $EVENTFS_CACHE/src without touching the
# system's apt configuration, and unpacks the tarball it carries.
fetch_kernel_source() {
	local srcdir=$EVENTFS_CACHE/src d o ver
	mkdir -p "$srcdir"
	d=$(mktemp -d)
	mkdir -p "$d/lists/partial"
	printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n' \
		trixie-backports sid >"$d/sources.list"
	o=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$d/lists" -o APT::Sandbox::User=root)
	# Reuse an already downloaded preferred version without network access.
	if ! ls "$srcdir"/linux-source-${KERNEL_SERIES}_"${KERNEL_PREFERRED/:/%3a}"_all.deb >/dev/null 2>&1; then
		step "looking up linux-source-$KERNEL_SERIES in Debian's archive"
		apt-get "${o[@]}" update -qq
		ver=$(apt-cache "${o[@]}" madison linux-source-$KERNEL_SERIES | awk '{print $3}')
		if grep -qx "$KERNEL_PREFERRED" <<<"$ver"; then
			ver=$KERNEL_PREFERRED
		else
			ver=$(sort -V <<<"$ver" | tail -n 1)
			[ -n "$ver" ] || die "no linux-source-$KERNEL_SERIES in the archive"
			echo "    preferred $KERNEL_PREFERRED is gone, using $ver" >&2
		fi
		(cd "$srcdir" && apt-get "${o[@]}" download -qq "linux-source-$KERNEL_SERIES=$ver")
		step_done
	fi
	rm -rf "$d"
	ls -t "$srcdir"/linux-source-${KERNEL_SERIES}_*_all.deb | head -n 1
}

# Prints the directory holding the unpacked kernel tree of the given deb.
unpack_kernel_source() {
	local deb=$1 ver tree
	ver=$(dpkg-deb -f "$deb" Version)
	tree=$EVENTFS_CACHE/src/linux-$ver
	if [ ! -f "$tree/.unpacked" ]; then
		step "unpacking linux-source $ver"
		rm -rf "$tree" "$tree.tmp"
		mkdir -p "$tree.tmp"
		dpkg-deb --fsys-tarfile "$deb" |
			tar -xO --wildcards "./usr/src/linux-source-$KERNEL_SERIES.tar.*" |
			tar -xJ -C "$tree.tmp" --strip-components=1 ||
			die "could not unpack $deb"
		touch "$tree.tmp/.unpacked"
		mv "$tree.tmp" "$tree"
		step_done
	fi
	echo "$tree"
}

cache_key() {
	local tree=$1 f
	{
		echo "kernel $(cat "$tree/.version-deb")"
		for f in "${FRAGMENTS[@]}"; do sha256sum <"$f"; done
		"$LLVM_DIR/bin/clang" --version | head -n 1
		"$KRUSTC" --version
		"$KBINDGEN" --version
	} | sha256sum | cut -c1-16
}

build_kernel() {
	local tree=$1 key kdir flags
	key=$(cache_key "$tree")
	kdir=$EVENTFS_CACHE/build-$key
	if [ -f "$kdir/.built" ]; then
		echo "$kdir"
		return 0
	fi
	# shellcheck disable=SC2207
	flags=($(kmake_flags))
	step "configuring the ${FLAVOR} kernel in $kdir"
	rm -rf "$kdir"
	mkdir -p "$kdir"
	make -s -C "$tree" O="$kdir" "${flags[@]}" tinyconfig >/dev/null
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$kdir" "$kdir/.config" \
		"${FRAGMENTS[@]}" >/dev/null
	make -s -C "$tree" O="$kdir" "${flags[@]}" olddefconfig >/dev/null
	check_config "$kdir/.config"
	make -s -C "$tree" O="$kdir" "${flags[@]}" rustavailable >&2
	step_done
	step "building the ${FLAVOR} kernel ($(nproc) jobs; about 6 minutes on 2 cores)"
	make -C "$tree" O="$kdir" "${flags[@]}" -j"$(nproc)" all >"$kdir/build.log" 2>&1 ||
		{ tail -n 40 "$kdir/build.log" >&2; die "kernel build failed (log: $kdir/build.log)"; }
	touch "$kdir/.built"
	step_done
	echo "$kdir"
}

# Every option of the fragments (the last one to set it wins) must have survived
# olddefconfig, or the kernel would silently lack a checker (or Rust).
check_config() {
	local cfg=$1 opt val bad=0
	while IFS='=' read -r opt val; do
		if [ "$val" = n ]; then
			grep -qx "$opt=y" "$cfg" && { echo "config: $opt is still y" >&2; bad=1; }
		else
			grep -qx "$opt=$val" "$cfg" || { echo "config: $opt=$val did not stick" >&2; bad=1; }
		fi
	done < <(cat "${FRAGMENTS[@]}" | grep -E '^CONFIG_' | tac | awk -F= '!seen[$1]++' )
	[ $bad = 0 ] || die "kernel config fragment not applied"
}

main() {
	local t0 deb tree kdir flavor=${1:-test}
	FLAVOR=$flavor
	t0=$(date +%s)
	case $flavor in
	test) FRAGMENTS=("$EVENTFS_TOP/kernel/test.config") ;;
	report) FRAGMENTS=("$EVENTFS_TOP/kernel/test.config" "$EVENTFS_TOP/kernel/report.config") ;;
	*) die "usage: setup.sh [test|report]" ;;
	esac
	mkdir -p "$EVENTFS_CACHE"
	install_packages
	install_bindgen
	deb=$(fetch_kernel_source)
	tree=$(unpack_kernel_source "$deb")
	dpkg-deb -f "$deb" Version >"$tree/.version-deb"
	kdir=$(build_kernel "$tree")
	echo "$kdir" >"$(kernel_key_file "$flavor")"
	echo "setup: $flavor kernel $(cat "$tree/.version-deb") in $kdir ($(($(date +%s) - t0))s)" >&2
	echo "$kdir"
}

main "$@"
