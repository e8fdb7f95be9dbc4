# Sourced by the runner into every test's fresh shell, before the .tc file itself.
# ftracetest's result functions, plus small helpers for eventfs tests.

exit_pass() { exit 0; }
exit_fail() { exit 1; }
_efs_result() { echo "$1" >"$EFS_RESULT_FILE"; exit 0; }
exit_unresolved() { _efs_result UNRESOLVED; }
exit_untested() { _efs_result UNTESTED; }
exit_unsupported() { _efs_result UNSUPPORTED; }
exit_xfail() { _efs_result XFAIL; }

# fail MESSAGE: print MESSAGE and fail the test.
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# expect_err TEXT CMD...: CMD must fail and its error output must contain TEXT
# (the strerror() text of the expected errno, e.g. "Invalid argument").
expect_err() {
	_want=$1
	shift
	if _out=$("$@" 2>&1); then
		fail "'$*' succeeded, expected: $_want"
	fi
	case "$_out" in
	*"$_want"*) ;;
	*) fail "'$*' failed with '$_out', expected: $_want" ;;
	esac
}

# efs_mounted DIR: is an eventfs mounted on DIR?
efs_mounted() {
	awk -v d="$1" '$2 == d && $3 == "eventfs" { f = 1 } END { exit !f }' /proc/mounts
}

# efs_mount_opts DIR: the options /proc/mounts shows for the eventfs on DIR.
efs_mount_opts() {
	awk -v d="$1" '$2 == d && $3 == "eventfs" { print $4 }' /proc/mounts
}

# stat_fmt FORMAT PATH: busybox stat -c.
stat_fmt() {
	stat -c "$1" "$2"
}
