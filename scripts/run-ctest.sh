#!/usr/bin/env bash
# Runs one C test binary and checks what it did.
#
#   scripts/run-ctest.sh NAME BINARY LOGDIR
#
# Passes when the binary exits 0 within CTEST_TIMEOUT seconds (default 300)
# and the last line it printed on stdout equals ctests/NAME.expect exactly.
# stdout and stderr go to LOGDIR/NAME.out and LOGDIR/NAME.err and are shown
# on failure.
set -euo pipefail

name=$1 bin=$2 logdir=$3
expect_file="ctests/$name.expect"
out="$logdir/$name.out" err="$logdir/$name.err"
mkdir -p "$logdir"

fail() {
    printf 'FAIL %s: %s\n' "$name" "$*" >&2
    printf -- '--- stdout (last 20 lines)\n' >&2; tail -n 20 "$out" >&2 || true
    printf -- '--- stderr (last 40 lines)\n' >&2; tail -n 40 "$err" >&2 || true
    exit 1
}

[ -f "$expect_file" ] || { printf 'FAIL %s: %s is missing\n' "$name" "$expect_file" >&2; exit 1; }
set +e
timeout "${CTEST_TIMEOUT:-300}" "$bin" >"$out" 2>"$err"
rc=$?
set -e
[ "$rc" -eq 124 ] && fail "timed out after ${CTEST_TIMEOUT:-300}s"
[ "$rc" -eq 0 ] || fail "exit code $rc"
expected="$(cat "$expect_file")"
actual="$(tail -n 1 "$out")"
[ "$actual" = "$expected" ] || fail "last line: expected '$expected', actual '$actual'"
printf 'ok   %-12s %s\n' "$name" "$actual"
