#!/usr/bin/env bash
# The echo solution under a policy that denies one method by name, given to
# every entity through the launcher's environment.
#
#   scripts/solutions-policy-test.sh KOS_HOST_RUN ECHO_SOLUTION_DIR BIN_DIR OUTDIR
#
# KOS_SHIM_POLICY=ECHO_SOLUTION_DIR/deny-add.policy (deny call Echo.Add,
# allow the rest). Checked: the client's first Echo is answered; its Add
# returns NK_EPERM and the shim reports the denial in the client
# (echo.Server.main:Echo.Add, the endpoint as ServiceLocatorGetRiid named
# it; rcSecurityDisallow); the client stops, still asks Quit, and exits 1,
# which the launcher reports as its status; the server never received an
# Add: it counts Echo 1, Add 0, Quit 1.
set -euo pipefail

run=$1 sol=$2 bin=$3 out=$4
rm -rf "$out"
mkdir -p "$out"
fail() {
    printf 'FAIL solutions-policy-test: %s\n' "$*" >&2
    exit 1
}
for v in $(compgen -e | grep -E '^KOS_(SHIM|HOST)_' || true); do unset "$v"; done

status=0
KOS_SHIM_POLICY=$sol/deny-add.policy timeout 120 "$run" --timeout 60 --bin-dir "$bin" \
    "$sol/init.yaml" >"$out/stdout" 2>"$out/stderr" || status=$?
show() { cat "$out/stdout" "$out/stderr" >&2; }
[ "$status" -eq 1 ] || { show; fail "kos-host-run exited with status $status, expected 1 (the client's)"; }
grep -qx 'kos-host-run: echo.Client exited with status 1' "$out/stderr" ||
    { show; fail "the launcher did not report: echo.Client exited with status 1"; }

expect_lines() { # file line...
    local f=$1
    shift
    for line in "$@"; do
        grep -qxF "$line" "$f" || { show; fail "missing line: $line"; }
    done
}
expect_lines "$out/stdout" \
    '[echo.Client] client: Echo("hello, KasperskyOS") -> "hello, KasperskyOS"' \
    '[echo.Client] client: Quit() -> answered' \
    '[echo.Server] server: Echo("hello, KasperskyOS")' \
    '[echo.Server] server: Quit()' \
    '[echo.Server] server: received 2 requests: Echo 1, Add 0, Quit 1, other 0; refused 0'
expect_lines "$out/stderr" '[echo.Client] client: stopped at the first failure'
grep -Eq '^\[echo.Client\] client: Add\(40, 2\) failed: NK_EPERM after [0-9]+ ms$' "$out/stderr" ||
    { show; fail "the client's Add did not fail with NK_EPERM"; }
grep -Eq '^\[echo.Client\] kos-ipc-shim: policy: CallEx handle=[0-9]+ iid=0 mid=1 \(echo\.Server\.main:Echo\.Add\) bytes=[0-9]+: denied by rule on line [0-9]+ \(rcSecurityDisallow\)' "$out/stderr" ||
    { show; fail "no policy report of the denied Add in the client"; }
if grep -q 'server: Add(' "$out/stdout"; then
    show
    fail "the server received an Add"
fi
if grep -q '^\[echo.Server\] kos-ipc-shim: policy' "$out/stderr"; then
    show
    fail "the server's policy reported something"
fi
echo "solutions-policy-test: Echo.Add denied by name in echo.Client (NK_EPERM, reported), never received by echo.Server (Echo 1, Add 0, Quit 1); the launcher exited 1"
