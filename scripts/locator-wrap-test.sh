#!/usr/bin/env bash
# Names without files: ctests/interpose/locator_prog.c (a server that
# registers "echo_connection" with the service locator, a client that
# connects and asks for the RIIDs of "Server.main" and "Server.admin"),
# linked with the wrap archive and the stand-in libkos (with its stand-in
# locator), is run with
#   KOS_SHIM_STATS=json:OUT/stats.json,text:OUT/stats.txt
#   KOS_SHIM_TRACE=stderr,json:OUT/trace.json,ctf:OUT/ctf
# and what it leaves is reduced to a report that must equal EXPECTED
# (ctests/interpose/expect-locator-names.txt when the program was linked with
# the three --wrap=ServiceLocator* flags: connection and endpoint names in
# every output; expect-locator-numbers.txt without them: numbers only).
#
#   scripts/locator-wrap-test.sh OUTDIR EXPECTED COMMAND...
#
# COMMAND is the program, or an emulator and the program
# (`qemu-aarch64 -L /usr/aarch64-linux-gnu build/interpose/locator_names_aarch64`).
# The report (scripts/locator-check.py): the program's own line; per
# statistics key op, handle, connection, interface, mid and exact calls
# (JSON) and the text dump's name columns; per trace event kind the count of
# (op, handle, connection, method) in the stderr text lines, the JSON events
# and the CTF events (babeltrace2); and the stderr lines that are not trace
# lines (none expected).
set -euo pipefail

out=$1 expected=$2
shift 2
rm -rf "$out"
mkdir -p "$out"

env -u KOS_SHIM_POLICY -u KOS_SHIM_STATS -u KOS_SHIM_TRACE -u KOS_SHIM_TRACE_BUF \
    -u KOS_SHIM_TRACE_PAYLOAD -u KOS_SHIM_LOG -u KOS_SHIM_NAMES -u KOS_SHIM_STATS_LEVEL \
    KOS_SHIM_STATS="json:$out/stats.json,text:$out/stats.txt" \
    KOS_SHIM_TRACE="stderr,json:$out/trace.json,ctf:$out/ctf" \
    timeout 120 "$@" >"$out/run.out" 2>"$out/run.err" ||
    { cat "$out/run.out" "$out/run.err" >&2; echo "FAIL locator-wrap-test: the program failed" >&2; exit 1; }
babeltrace2 "$out/ctf" >"$out/ctf.bt" 2>"$out/ctf.bt.err" ||
    { cat "$out/ctf.bt.err" >&2; echo "FAIL locator-wrap-test: babeltrace2 $out/ctf" >&2; exit 1; }
python3 scripts/locator-check.py "$out" >"$out/report.txt"
diff -u "$expected" "$out/report.txt" ||
    { echo "FAIL locator-wrap-test: $out/report.txt differs from $expected" >&2; exit 1; }
sed 's/^/  | /' "$out/report.txt"
