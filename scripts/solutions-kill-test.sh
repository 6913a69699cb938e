#!/usr/bin/env bash
# The echo solution with a server that dies: a client's call to a killed
# server ends, and the launcher says so.
#
#   scripts/solutions-kill-test.sh KOS_HOST_RUN ECHO_SOLUTION_DIR BIN_DIR OUTDIR
#
# ECHO_SERVER_DIE_AFTER=3 makes echo.Server SIGKILL itself when its 3rd
# request (the client's second Echo) has arrived, before answering it.
# Checked: the launcher exits 137 and reports `echo.Server died (signal 9)`;
# the first two calls were answered; the third returned NK_ENOTCONN within
# 1000 ms (the world's documented bound for noticing a dead server); the
# server printed its last words and never handled the request.
#
# The launcher stops the other entities (SIGTERM) as soon as one dies, within
# its 10 ms poll, while the emulator lets a waiting caller notice a dead
# server within 0.1-0.2 s: an unchanged client would be stopped before its
# call returns. So this test runs the client with SIGTERM ignored
# (`sh -c "trap '' TERM; exec Client"`, the disposition survives exec),
# from a copy of init.yaml; the launcher's grace period (3 s) then bounds
# the wait.
set -euo pipefail

run=$1 sol=$2 bin=$3 out=$4
rm -rf "$out"
mkdir -p "$out"
fail() {
    printf 'FAIL solutions-kill-test: %s\n' "$*" >&2
    exit 1
}
for v in $(compgen -e | grep -E '^KOS_(SHIM|HOST)_' || true); do unset "$v"; done

client=$(realpath "$bin/Client")
awk -v client="$client" '
    { print }
    $0 == "  - name: echo.Client" {
        print "    path: /bin/sh"
        print "    args:"
        print "      - -c"
        print "      - \"trap '"''"' TERM; exec \\\"$0\\\"\""
        print "      - " client
    }' "$sol/init.yaml" >"$out/init.yaml"
grep -q "^    path: /bin/sh" "$out/init.yaml" || fail "no echo.Client entity in $sol/init.yaml"

status=0
ECHO_SERVER_DIE_AFTER=3 timeout 120 "$run" --timeout 60 --bin-dir "$bin" "$out/init.yaml" \
    >"$out/stdout" 2>"$out/stderr" || status=$?
show() { cat "$out/stdout" "$out/stderr" >&2; }
[ "$status" -eq 137 ] || { show; fail "kos-host-run exited with status $status, expected 137 (128 + SIGKILL)"; }
grep -qx 'kos-host-run: echo.Server died (signal 9)' "$out/stderr" ||
    { show; fail "the launcher did not report: echo.Server died (signal 9)"; }

for line in \
    '[echo.Client] client: Echo("hello, KasperskyOS") -> "hello, KasperskyOS"' \
    '[echo.Client] client: Add(40, 2) -> 42' \
    '[echo.Server] server: request 3 received; ECHO_SERVER_DIE_AFTER=3: SIGKILL to myself'; do
    grep -qxF "$line" "$out/stdout" || { show; fail "missing line: $line"; }
done
if grep -q 'server: Echo("two processes' "$out/stdout"; then
    show
    fail "the server handled its 3rd request after SIGKILL"
fi
died=$(grep -E '^\[echo.Client\] client: Echo\("two processes, one channel"\) failed: NK_ENOTCONN after [0-9]+ ms$' "$out/stderr") ||
    { show; fail "the client's 3rd call did not return NK_ENOTCONN"; }
ms=${died##* after }
ms=${ms% ms}
[ "$ms" -le 1000 ] || fail "the client's call returned NK_ENOTCONN after $ms ms, expected <= 1000"
grep -qxF '[echo.Client] client: stopped at the first failure' "$out/stderr" ||
    { show; fail "the client did not stop at the failure"; }
echo "solutions-kill-test: echo.Server killed on its 3rd request; the client's call returned NK_ENOTCONN after $ms ms; the launcher reported it and exited 137"
