#!/usr/bin/env bash
# Runs every test: set up if needed, host unit tests (cargo test), lint checks, the .tc
# suite in the guest under the debug kernel, libtraceevent on the format files the suite
# exported (tests/tep), and the runner's own self-test (a failing
# .tc and a planted kernel splat must each make the guest run fail).
#   scripts/test.sh [-f PATTERN] [DIR...]   -f: only .tc files whose name has PATTERN;
#                                           DIR: extra test directories (besides tests/)
# Ends with "N passed, N failed"; exits non-zero if anything failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
filter=
while getopts f: opt; do
	case $opt in
	f) filter=$OPTARG ;;
	*) sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

"$EVENTFS_TOP/scripts/setup.sh" >/dev/null || die "setup failed"
t0=$(date +%s)
passed=0 failed=0
counts=$(mktemp)
trap 'rm -f "$counts"' EXIT
# check NAME CMD...: one group of tests. A group that counts its own tests writes
# "P F" to $counts; otherwise the group counts as one test.
check() {
	local name=$1 s rc p f
	shift
	s=$(date +%s)
	: >"$counts"
	step "$name"
	"$@" && rc=0 || rc=$?
	if read -r p f <"$counts"; then
		[ "$rc" = 0 ] || [ "$f" != 0 ] || f=1
	elif [ "$rc" = 0 ]; then p=1 f=0; else p=0 f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" = 0 ]; then
		echo "ok - $name: $p passed, $f failed ($(($(date +%s) - s))s)"
	else
		echo "not ok - $name: $p passed, $f failed ($(($(date +%s) - s))s)"
	fi
}
# count_from LOG: take the "N passed, N failed" counts of a runner's output.
count_from() {
	local line
	line=$(tr -d '\r' <"$1" | grep -aE '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	[ -n "$line" ] && echo "$line" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' >"$counts"
}

host_tests() {
	local log rc=0
	log=$(mktemp)
	(cd "$EVENTFS_TOP/tests/host" && cargo test 2>&1) >"$log" || rc=1
	(cd "$EVENTFS_TOP/tests/stress" && cargo test 2>&1) >>"$log" || rc=1
	(cd "$EVENTFS_TOP/tests/tep" && cargo test 2>&1) >>"$log" || rc=1
	grep -E '^test |^test result|error|panicked' "$log"
	awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$log" >"$counts"
	rm -f "$log"
	return $rc
}
lint() {
	local kdir
	kdir=$(default_kdir)
	make -s -C "$EVENTFS_TOP" fmtcheck &&
		make -s -C "$EVENTFS_TOP" clean >/dev/null &&
		make -s -C "$EVENTFS_TOP" CLIPPY=1 modules 2>&1 | tee /tmp/eventfs-clippy.log &&
		! grep -qE '^(warning|error)' /tmp/eventfs-clippy.log &&
		(cd "$EVENTFS_TOP/tests/host" && cargo fmt --check && cargo clippy --quiet --all-targets -- -D warnings) &&
		(cd "$EVENTFS_TOP/tests/stress" && cargo fmt --check && cargo clippy --quiet --all-targets -- -D warnings) &&
		(cd "$EVENTFS_TOP/tests/tep" && cargo fmt --check && cargo clippy --quiet --all-targets -- -D warnings)
}
# The guest suite's artifacts, where tep_check finds the files it exported.
guest_out=$EVENTFS_CACHE/runs/$(date +%Y%m%d-%H%M%S)-test
guest_suite() {
	local log rc
	log=$(mktemp)
	"$EVENTFS_TOP/scripts/run-guest.sh" ${filter:+-f "$filter"} -o "$guest_out" test \
		"$EVENTFS_TOP/tests/test.d" "$@" 2>&1 |
		tee "$log"
	rc=${PIPESTATUS[0]}
	count_from "$log"
	rm -f "$log"
	return "$rc"
}
# libtraceevent (the library trace-cmd and perf read formats with) on the files the guest
# suite exported (tests/test.d/17trace/export_formats.tc, sent back by the guest's init):
# tests/tep checks header_page, header_event and every format against the definitions
# written. No export is a failure.
tep_check() {
	local x=$guest_out/export log rc
	if [ ! -d "$x/events" ]; then
		echo "no files exported by the guest in $x (did export_formats.tc run and pass?)" >&2
		return 1
	fi
	(cd "$EVENTFS_TOP/tests/tep" && cargo build --quiet) || return 1
	log=$(mktemp)
	"$EVENTFS_TOP/tests/tep/target/debug/tep-check" --expect "$x/commands" \
		--expect "$x/dynamic_events" "$x" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	sed -nE 's/^tep: ([0-9]+) formats parsed, ([0-9]+) failed$/\1 \2/p' "$log" |
		awk '{ print $1 - $2, $2 }' >"$counts"
	rm -f "$log"
	return "$rc"
}
# Mainline's own ftrace selftests, unmodified, against an eventfs mount: the tests that
# tests/peer/mainline.list says must pass (the others are listed with why they do not
# apply).
peer_suite() {
	local log rc list=$EVENTFS_TOP/tests/peer/mainline.list src missing
	# The list names every mainline test, each with a verdict.
	src=$(default_kdir)/source/tools/testing/selftests/ftrace/test.d
	missing=$(comm -23 <(cd "$src" && find . -name '*.tc' | sed 's|^\./||' | sort) \
		<(awk '$1 == "run" || $1 == "skip" { print $2 }' "$list" | sort))
	if [ -n "$missing" ]; then
		echo "mainline tests missing from $list:" $missing >&2
		return 1
	fi
	log=$(mktemp)
	"$EVENTFS_TOP/scripts/run-guest.sh" -T 1800 peer "$EVENTFS_TOP/tests/peer/mainline.list" 2>&1 |
		tee "$log"
	rc=${PIPESTATUS[0]}
	count_from "$log"
	rm -f "$log"
	return "$rc"
}
# The harness must be able to fail: each planted failure must fail a guest run.
selftest_expect_failure() {
	local tc=$1 want=$2 log
	log=$(mktemp)
	if "$EVENTFS_TOP/scripts/run-guest.sh" -k -T 600 test "$EVENTFS_TOP/tests/selftest/$tc" >"$log" 2>&1; then
		echo "runner self-test: $tc passed, but must fail" >&2
		cat "$log" >&2
		rm -f "$log"
		return 1
	fi
	if ! grep -q -- "$want" "$log"; then
		echo "runner self-test: $tc failed without '$want'" >&2
		cat "$log" >&2
		rm -f "$log"
		return 1
	fi
	echo "runner self-test: $tc failed the run as it must ('$want')"
	rm -f "$log"
}

check "host unit tests (cargo test: tests/host, tests/stress, tests/tep)" host_tests
check "rustfmt and clippy clean (module, host crate, stress tool, tep checker)" lint
check "guest .tc suite under the debug kernel" guest_suite "$@"
# Only when the suite ran export_formats.tc (always, unless -f leaves it out).
if [[ export_formats.tc == *"$filter"* ]]; then
	check "libtraceevent parses the exported format files (tests/tep)" tep_check
fi
if [ -z "$filter" ]; then
	check "peer suite: mainline's ftrace selftests, unmodified, on eventfs" peer_suite
	check "runner self-test: a failing .tc fails the run" selftest_expect_failure fail.tc "not ok 1 fail.tc"
	check "runner self-test: a kernel splat fails the run" selftest_expect_failure splat.tc "kernel splat"
fi
echo "# total time $(($(date +%s) - t0))s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
