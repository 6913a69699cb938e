#!/usr/bin/env bash
# Tracing in the wrap archive (no_std + the C-library layer), without source
# changes: the unchanged ctests/interpose/echo_prog.c, linked with --wrap
# against the wrap archive and the stand-in libkos, is run with KOS_SHIM_TRACE
# and friends, and what it leaves is read back.
#
#   scripts/trace-wrap-test.sh KOS_IPC_TRACE OUTDIR EXPECTED COMMAND...
#
# COMMAND is the program, or an emulator and the program
# (`qemu-aarch64 -L /usr/aarch64-linux-gnu build/interpose/echo_wrap_aarch64`),
# or `env LD_PRELOAD=... build/interpose/echo_dyn` (the same report: the
# variables mean the same in the preload library).
# The report (stdout of this script, paths replaced by OUT, the variable
# numbers of lost records by N) must equal EXPECTED:
#
# 1. KOS_SHIM_TRACE=file:OUT/t-%p.kst,ctf:OUT/ctf-%p,json:OUT/t-%p.json: the
#    program's own counts; `kos-ipc-trace summary` of the .kst (calls per
#    operation, lost); babeltrace2 on the CTF directory (events per
#    operation); the JSON parsed (every call an event); the %p paths expanded
#    to the program's pid and their locks gone; nothing said on stderr.
# 2. The same with KOS_SHIM_TRACE_BUF=2 (rings overflow): records + lost =
#    the 603 calls the program made, in the .kst and in the CTF, and at exit
#    one stderr line gives the lost count, equal to the .kst's.
# 3. KOS_SHIM_TRACE=bogus: the program runs untraced; one stderr line lists
#    the valid words.
# 4. An unwritable .kst path and an unwritable CTF directory beside a good
#    JSON path: one line each, the JSON output still complete; with line
#    buffered stdout (host runs only) the lines come before the program's
#    result, i.e. at start-up, not at exit.
set -euo pipefail

tool=$1 out=$2 expected=$3
shift 3
prog=("$@")
calls=603
rm -rf "$out"
mkdir -p "$out/full" "$out/small"

# shellcheck source=scripts/reported-at-start.sh
. "$(dirname "$0")/reported-at-start.sh"
# shellcheck source=scripts/trace-counts.sh
. "$(dirname "$0")/trace-counts.sh"

fail() {
    printf 'FAIL trace-wrap-test: %s\n' "$*" >&2
    exit 1
}

# The shim's variables of the caller's environment must not change the run.
run() { # name, then VAR=value ... for env
    local name=$1
    shift
    env -u KOS_SHIM_POLICY -u KOS_SHIM_STATS -u KOS_SHIM_TRACE -u KOS_SHIM_TRACE_BUF \
        -u KOS_SHIM_TRACE_PAYLOAD -u KOS_SHIM_LOG -u KOS_SHIM_NAMES "$@" \
        timeout 120 "${prog[@]}" >"$out/$name.out" 2>"$out/$name.err" ||
        { cat "$out/$name.out" "$out/$name.err" >&2; fail "$name: the program failed"; }
}

# records + lost of a counts line.
total() { echo "$1" | tr ' ' '\n' | awk -F= '{ s += $2 } END { print s }'; }

# The one file matching a glob.
one() { # glob
    local m=($1)
    [ ${#m[@]} -eq 1 ] && [ -e "${m[0]}" ] || fail "expected one file for $1, found: ${m[*]}"
    echo "${m[0]}"
}

report=$out/report.txt
{
    echo "== KOS_SHIM_TRACE=file:OUT/t-%p.kst,ctf:OUT/ctf-%p,json:OUT/t-%p.json"
    run full "KOS_SHIM_TRACE=file:$out/full/t-%p.kst,ctf:$out/full/ctf-%p,json:$out/full/t-%p.json"
    cat "$out/full.out"
    kst=$(one "$out/full/t-*.kst")
    pid=${kst##*/t-}
    pid=${pid%.kst}
    [ -d "$out/full/ctf-$pid" ] || fail "no CTF directory ctf-$pid beside $kst"
    [ -f "$out/full/t-$pid.json" ] || fail "no JSON t-$pid.json beside $kst"
    echo "paths: t-PID.kst ctf-PID t-PID.json (one pid); locks left: $(find "$out/full" -name '*.lock' | wc -l)"
    echo "kst: $(kst_counts "$kst")"
    echo "ctf: $(ctf_counts "$out/full/ctf-$pid")"
    python3 scripts/trace_check_json.py "$out/full/t-$pid.json" "$calls" >/dev/null
    echo "json: $calls call events"
    echo "stderr: $(wc -l <"$out/full.err") lines"

    echo "== KOS_SHIM_TRACE_BUF=2 (rings overflow): records + lost = calls"
    run small KOS_SHIM_TRACE_BUF=2 "KOS_SHIM_TRACE=file:$out/small/t.kst,ctf:$out/small/ctf"
    cat "$out/small.out"
    k=$(kst_counts "$out/small/t.kst")
    c=$(ctf_counts "$out/small/ctf")
    echo "kst: records + lost = $(total "$k")"
    echo "ctf: events + lost = $(total "$c")"
    lost=${k##*lost=}
    [ "$lost" -gt 0 ] || fail "KOS_SHIM_TRACE_BUF=2 lost nothing: the overflow path was not tested"
    [ "${c##*lost=}" = "$lost" ] || fail "the CTF lost $lost records in the .kst but ${c##*lost=} in the CTF"
    sed "s/ $lost trace records / N trace records /" "$out/small.err"

    echo "== KOS_SHIM_TRACE=bogus"
    run bogus KOS_SHIM_TRACE=bogus
    cat "$out/bogus.out" "$out/bogus.err"

    echo "== unwritable paths: file:OUT/missing/t.kst,ctf:OUT/a-file/ctf,json:OUT/ok.json"
    : >"$out/a-file"
    run unwritable "KOS_SHIM_TRACE=file:$out/missing/t.kst,ctf:$out/a-file/ctf,json:$out/ok.json"
    cat "$out/unwritable.out"
    sed "s#$out#OUT#g" "$out/unwritable.err"
    python3 scripts/trace_check_json.py "$out/ok.json" "$calls" >/dev/null
    echo "json: $calls call events"
} >"$report"

# At start-up, not at exit (scripts/reported-at-start.sh).
reported_at_start "$out/order.txt" "${prog[@]}" -- "KOS_SHIM_TRACE=file:$out/missing/t.kst,json:$out/ok2.json"

diff -u "$expected" "$report" || fail "the report differs from $expected (the report: $report)"
echo "trace-wrap-test: ${prog[*]}: .kst, CTF and JSON complete ($calls calls), records + lost = calls with 2-record rings, bogus spec and unwritable paths reported"
