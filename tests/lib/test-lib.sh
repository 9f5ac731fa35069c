# test-lib.sh: the end-to-end scripts' vocabulary, after git's t/.
#
# A script sources this file, states what must hold with
# test_expect_success 'title' 'commands', and ends with test_done.
# Output is TAP, read by tests/run.  A known gap is written
# test_expect_failure 'title' 'reason' 'commands': reported as
# "not ok N - title # TODO reason" while it fails, and as a failure
# once it passes, so that a fixed gap is noticed and promoted.
#
# Each script runs in its own scratch directory, $TEST_DIR, removed at
# the end unless MKP_KEEP=1; cleanup commands registered with
# test_when_finished run after the test that registered them, those
# registered with test_atexit when the script ends.

MKP_TOP=${MKP_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
MKP_BUILD=${MKP_BUILD:-$MKP_TOP/build}
export MKP_TOP MKP_BUILD
PATH=$MKP_BUILD/bin:$PATH
export PATH

test_count=0
test_failed=0
test_cleanup=:
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mkp-test.XXXXXX") || exit 1
# Others may pass through (the sandbox's PostgreSQL runs as postgres),
# not list it.
chmod 0711 "$TEST_DIR"
export TEST_DIR
cd "$TEST_DIR" || exit 1

# test_atexit CMD: run CMD when the script ends, however it ends, before
# $TEST_DIR is removed (a sandbox must be stopped while its files are
# still there).
test_atexit_cmds=:
test_atexit() {
	test_atexit_cmds="$*; $test_atexit_cmds"
}
test_atexit_run_() {
	eval "$test_atexit_cmds" >/dev/null 2>&1
	test_atexit_cmds=:
	if [ "${MKP_KEEP:-0}" != 1 ]; then
		cd / && rm -rf "$TEST_DIR"
	fi
}
trap 'test_atexit_run_' EXIT
trap 'exit 130' INT TERM

test_when_finished() {
	test_cleanup="{ $*
	} && (exit \"\$eval_ret\"); eval_ret=\$?; $test_cleanup"
}

# Tests run in this shell, as git's do, so that what one test sets the
# next can use; each starts in $TEST_DIR.
test_run_() {
	test_cleanup=:
	cd "$TEST_DIR" || return 1
	{ eval "$1"; } >"$TEST_DIR/.out" 2>&1
	eval_ret=$?
	eval "$test_cleanup" >>"$TEST_DIR/.out" 2>&1
	return "$eval_ret"
}

test_show_output_() {
	sed 's/^/# /' "$TEST_DIR/.out"
}

test_expect_success() {
	test_count=$((test_count + 1))
	if test_run_ "$2"; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		test_show_output_
	fi
}

test_expect_failure() {
	test_count=$((test_count + 1))
	if test_run_ "$3"; then
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1 (known breakage vanished:" \
		    "promote it to test_expect_success)"
	else
		echo "not ok $test_count - $1 # TODO $2"
	fi
}

test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count - $1 # SKIP $2"
}

# test_must_fail STATUS cmd...: cmd must exit with exactly STATUS.
test_must_fail() {
	want=$1
	shift
	"$@"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "test_must_fail: $*: exited $got, wanted $want" >&2
		return 1
	fi
	return 0
}

# test_grep PATTERN FILE: like grep -q, but shows FILE on failure.
test_grep() {
	if ! grep -q -e "$1" "$2"; then
		echo "test_grep: '$1' not found in $2:" >&2
		sed 's/^/| /' "$2" >&2
		return 1
	fi
}

test_cmp() {
	diff -u "$1" "$2"
}

test_done() {
	echo "1..$test_count"
	test_atexit_run_
	[ "$test_failed" -eq 0 ]
}
