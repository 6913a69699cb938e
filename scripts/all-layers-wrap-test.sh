#!/usr/bin/env bash
# Issue 13's whole promise in one run: the unchanged echo program, linked
# with --wrap against the wrap archive and the stand-in libkos (with the
# policy tests' counter report, ctests/interpose/policy_watch.c), run with
# statistics, a trace and a policy that denies one method, all at once,
# from the environment alone:
#
#   KOS_SHIM_POLICY=ctests/interpose/policy-deny.policy
#   KOS_SHIM_STATS=json:OUT/stats-%p.json
#   KOS_SHIM_TRACE=file:OUT/trace-%p.kst,ctf:OUT/ctf-%p
#
# The program's report must equal the deny case of policy-wrap-test (the
# denied method never reaches the stand-in); the JSON dump's global counts
# equal what the shim saw (4 calls, 2 of them Call); the .kst summary and
# babeltrace2's reading of the CTF each hold those 4 calls with none lost.
#
#   scripts/all-layers-wrap-test.sh TOOL OUTDIR COMMAND...
set -euo pipefail

tool=$1 out=$(realpath -m "$2")
shift 2
prog=("$@")
rm -rf "$out"
mkdir -p "$out"
fail() {
    printf 'FAIL all-layers-wrap-test: %s\n' "$*" >&2
    exit 1
}
# shellcheck source=scripts/trace-counts.sh
. "$(dirname "$0")/trace-counts.sh"

env -u KOS_SHIM_STATS_CAP -u KOS_SHIM_STATS_SIGNAL -u KOS_SHIM_TRACE_BUF -u KOS_SHIM_TRACE_PAYLOAD \
    -u KOS_SHIM_LOG -u KOS_SHIM_NAMES -u KOS_SHIM_POLICY_ON_ERROR -u KOS_SHIM_POLICY_LEARN \
    KOS_SHIM_POLICY=ctests/interpose/policy-deny.policy \
    "KOS_SHIM_STATS=json:$out/stats-%p.json" \
    "KOS_SHIM_TRACE=file:$out/trace-%p.kst,ctf:$out/ctf-%p" \
    timeout 120 sh -c 'echo $$ >"$0"; exec "$@"' "$out/pid" "${prog[@]}" >"$out/out.txt" 2>"$out/err.txt" || true
pid=$(cat "$out/pid")
diff -u ctests/interpose/expect-policy-deny.txt "$out/out.txt" ||
    fail "the program's report differs from the deny case of policy-wrap-test"
grep -qF 'denied by rule on line 3 (rcSecurityDisallow)' "$out/err.txt" || { cat "$out/err.txt" >&2; fail "no denial line"; }

python3 - "$out/stats-$pid.json" <<'PY' || fail "the statistics dump's counts"
import json, sys
g = json.load(open(sys.argv[1]))["global"]
by = g["calls_by_op"]
want = {"call": 2, "callex": 0, "recv": 1, "recvex": 0, "reply": 1}
got = {k: by[k] for k in want} if isinstance(by, dict) else dict(zip(want, by))
assert g["calls"] == 4 and got == want, (g["calls"], by)
PY
[ "$(kst_counts "$out/trace-$pid.kst")" = "call=2 callex=0 recv=1 recvex=0 reply=1 lost=0" ] ||
    fail ".kst: $(kst_counts "$out/trace-$pid.kst")"
[ "$(ctf_counts "$out/ctf-$pid")" = "call=2 callex=0 recv=1 recvex=0 reply=1 lost=0" ] ||
    fail "CTF: $(ctf_counts "$out/ctf-$pid")"
ls "$out"/*.lock >/dev/null 2>&1 && fail "locks left behind: $(ls "$out"/*.lock)"
echo "all-layers-wrap-test: ${prog[*]}: denied method never reached the stand-in; dump, .kst and CTF each hold the 4 calls"
