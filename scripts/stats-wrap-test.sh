#!/usr/bin/env bash
# Statistics without source changes, the same in every build: the unchanged
# ctests/interpose/echo_prog.c — linked with --wrap against the wrap archive
# (no_std + the C-library layer) and the stand-in libkos, or against the host
# archive, or run under LD_PRELOAD — is run with KOS_SHIM_STATS and what it
# leaves is read back.
#
#   scripts/stats-wrap-test.sh OUTDIR EXPECTED COMMAND...
#
# COMMAND is the program, or an emulator or `env LD_PRELOAD=...` and the
# program (`qemu-aarch64 -L /usr/aarch64-linux-gnu build/interpose/echo_wrap_aarch64`).
# The report (the program's stdout without the stand-in's line, paths
# replaced by OUT, the program's pid by PID) must equal EXPECTED, one file
# for every build:
#
# 1. KOS_SHIM_STATS=json:OUT/stats-%p.json: the dump is written under the
#    program's pid, its lock is gone, it is valid JSON, and its counts are
#    the ones the program says it made (scripts/stats-check.py echo: per
#    operation, globally and summed over the rows; the rows the program's
#    loop makes, every call a success with its latency); nothing on stderr.
# 2. KOS_SHIM_STATS=timing,jsn:x: the program runs (statistics at timing:
#    the bad word is left out, the good one kept);
#    one stderr line lists the valid words.
# 3. KOS_SHIM_STATS=json:OUT/missing/stats-%p.json: one stderr line names
#    the path; no file is left; with line-buffered stdout (host runs only)
#    the line comes before the program's result, i.e. at start-up, not at
#    exit.
set -euo pipefail

out=$1 expected=$2
shift 2
prog=("$@")
rm -rf "$out"
mkdir -p "$out"

# shellcheck source=scripts/reported-at-start.sh
. "$(dirname "$0")/reported-at-start.sh"

fail() {
    printf 'FAIL stats-wrap-test: %s\n' "$*" >&2
    exit 1
}

# Runs the program with the shim's variables of the caller's environment
# cleared and $2 as KOS_SHIM_STATS; its pid goes to $out/$1.pid.
run() { # name, KOS_SHIM_STATS value
    local name=$1
    env -u KOS_SHIM_POLICY -u KOS_SHIM_STATS_CAP -u KOS_SHIM_STATS_SIGNAL -u KOS_SHIM_TRACE \
        -u KOS_SHIM_TRACE_BUF -u KOS_SHIM_TRACE_PAYLOAD -u KOS_SHIM_LOG -u KOS_SHIM_NAMES \
        KOS_SHIM_STATS="$2" \
        timeout 120 sh -c 'echo $$ >"$0"; exec "$@"' "$out/$name.pid" "${prog[@]}" \
        >"$out/$name.out" 2>"$out/$name.err" ||
        { cat "$out/$name.out" "$out/$name.err" >&2; fail "$name: the program failed"; }
}

# What a run printed, made the same for every build and run.
show() { # name, files...
    local pid
    pid=$(cat "$out/$1.pid")
    shift
    grep -hv '^standin:' "$@" | sed -e "s#$out#OUT#g" -e "s#\\b$pid\\b#PID#g"
}

report=$out/report.txt
{
    echo "== KOS_SHIM_STATS=json:OUT/stats-%p.json"
    mkdir "$out/dump"
    run dump "json:$out/dump/stats-%p.json"
    show dump "$out/dump.out"
    pid=$(cat "$out/dump.pid")
    dump=$out/dump/stats-$pid.json
    [ -s "$dump" ] || fail "no dump $dump (found: $(ls "$out/dump"))"
    echo "files: $(ls "$out/dump" | sed "s/\\b$pid\\b/PID/g" | paste -sd " ")"
    python3 -m json.tool "$dump" >/dev/null || fail "$dump is not JSON"
    python3 scripts/stats-check.py echo "$out/dump.out" "$dump" | sed -e "s#$out#OUT#g" -e "s#\\b$pid\\b#PID#g" ||
        fail "the dump's counts are not the program's"
    echo "stderr: $(wc -l <"$out/dump.err") lines"

    echo "== KOS_SHIM_STATS=timing,jsn:x"
    run badword "timing,jsn:x"
    show badword "$out/badword.out" "$out/badword.err"

    echo "== KOS_SHIM_STATS=json:OUT/missing/stats-%p.json"
    run unwritable "json:$out/missing/stats-%p.json"
    show unwritable "$out/unwritable.out" "$out/unwritable.err"
    [ ! -e "$out/missing" ] || fail "$out/missing was created"
} >"$report"

# At start-up, not at exit (scripts/reported-at-start.sh).
reported_at_start "$out/order.txt" "${prog[@]}" -- "KOS_SHIM_STATS=json:$out/missing/stats.json"

diff -u "$expected" "$report" || fail "the report differs from $expected (the report: $report)"
echo "stats-wrap-test: ${prog[*]}: JSON dump at OUT/stats-PID.json with the program's counts; bad word and unwritable path reported"
