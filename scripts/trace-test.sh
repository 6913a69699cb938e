#!/usr/bin/env bash
# The trace outputs of a real traced C program, read back by the tools.
#
#   scripts/trace-test.sh KOS_IPC_TRACE TRACE_ECHO_BINARY OUTDIR ECHO_EXAMPLE_BINARY TRACE_THREADS_BINARY
#
# Runs ctests/trace_echo (500 echo round trips + Quit + one refused Call:
# 1504 calls) with a name map and 8-byte payload capture, then checks:
# `kos-ipc-trace summary` (exact per-method rows), text export (one line per
# call, payload hex), JSON export and the runtime JSON sink (python3: every
# call present, every flow paired), CTF export and the runtime CTF sink
# (babeltrace2 prints exactly 1504 call events; fields checked on a few),
# policy-from, and the documented errors for foreign, truncated and
# corrupted files (exit code 1, never a panic). Then the echo example with
# KOS_SHIM_TRACE=stderr: one log line per call (16) in the documented format;
# examples/echo.names equal to what `kos-ipc-trace names` makes of the
# example's IDL/EDL; the example traced with KOS_SHIM_EDL and payload
# capture shows its requests and responses decoded. Then ctests/trace_threads
# (a client and a server thread named with pthread_setname_np) traced to
# .kst, stderr, JSON and CTF: every output names both threads, the CTF has
# one event class per operation (babeltrace2 shows the names), the text
# export is in time order, and `merge` names the threads too.
set -euo pipefail

tool=$1 prog=$2 out=$3 demo=$4 threads_prog=$5
calls=1504 pairs=501
rm -rf "$out"
mkdir -p "$out"

fail() {
    printf 'FAIL trace-test: %s\n' "$*" >&2
    exit 1
}
expect_eq() { # what expected actual
    [ "$2" = "$3" ] || fail "$1: expected '$2', actual '$3'"
}

cat >"$out/echo.names" <<'NAMES'
# the interface of ctests/trace_echo.c
iid 3585 Echo
mid 3585.1 Ping
mid 3585.2 Quit
NAMES

TRACE_ECHO_DIR=$out KOS_SHIM_NAMES=$out/echo.names KOS_SHIM_TRACE_PAYLOAD=8 \
    "$prog" >"$out/run.out" 2>"$out/run.err" || { cat "$out/run.err" >&2; fail "$prog failed"; }
kst=$out/trace_echo.kst

# summary: exact rows (op, method, calls, errors, denied) and no loss.
"$tool" summary "$kst" >"$out/summary.txt"
expect_eq "summary first line" "$calls calls, 3 threads," "$(head -n1 "$out/summary.txt" | cut -d' ' -f1-4)"
expect_eq "summary lost" "lost records: none" "$(tail -n1 "$out/summary.txt")"
# (Rows are sorted by total time, which varies: compared in key order.)
rows=$(awk 'NR > 2 && $1 ~ /^(call|callex|recv|recvex|reply)$/ { print $1, $2, $3, $4, $5 }' "$out/summary.txt" | LC_ALL=C sort | tr '\n' ';')
expect_eq "summary rows" "call Echo.Ping 501 1 0;call Echo.Quit 1 0 0;recv Echo.Ping 500 0 0;recv Echo.Quit 1 0 0;reply Echo.Ping 500 0 0;reply Echo.Quit 1 0 0;" "$rows"
expect_eq "summary total row" "total - $calls 1 0 100.00" "$(awk '$1 == "total" { print $1, $2, $3, $4, $5, $10 }' "$out/summary.txt")"
# Every received request names its client (task and thread) in the header.
expect_eq "summary received from" "$pairs" "$(awk '$1 == "received" { n += $NF } END { print n + 0 }' "$out/summary.txt")"

# text: one line per call; the request's first 8 bytes are nk_message's
# iid 0x0E01, mid 1, size 40 (little-endian), its arena starts "ping ".
"$tool" export --format text "$kst" "$out/trace.txt"
expect_eq "text lines" "$calls" "$(wc -l <"$out/trace.txt" | tr -d ' ')"
# `-` is stdout (and no file called -); the same lines.
(tool_abs=$(realpath "$tool") && cd "$out" && "$tool_abs" export --format text trace_echo.kst - >stdout.txt)
expect_eq "text to stdout" "" "$(cmp "$out/trace.txt" "$out/stdout.txt" 2>&1)"
[ ! -e "$out/-" ] || fail "export to - wrote a file called -"
expect_eq "text pings with payload" 500 "$(grep -c ' call   h=[0-9]* Echo.Ping .* rcOk .*payload=010e010028000000|70696e6720' "$out/trace.txt")"
expect_eq "text refused call" 1 "$(grep -c ' call   h=[0-9]* Echo.Ping out=40+5 in=0+0 caps=0/0 rcNotConnected ' "$out/trace.txt")"

# JSON: exported (flows paired by the exporter) and written live by the sink.
"$tool" export --format json "$kst" "$out/trace.json"
python3 scripts/trace_check_json.py "$out/trace.json" "$calls" "$pairs"
python3 scripts/trace_check_json.py "$out/trace_echo.json" "$calls" "$pairs"

# CTF: exported and written live; babeltrace2 reads both.
"$tool" export --format ctf "$kst" "$out/ctf"
for dir in "$out/ctf" "$out/trace_echo.ctf"; do
    babeltrace2 "$dir" >"$dir.bt" 2>"$dir.bt.err" || { cat "$dir.bt.err" >&2; fail "babeltrace2 $dir failed"; }
    expect_eq "$dir: call events" "$calls" "$(grep -cE 'kos_ipc:(call|recv|reply):' "$dir.bt")"
    expect_eq "$dir: events per class" "call=502 recv=501 reply=501" \
        "$(for c in call recv reply; do printf '%s=%s ' $c "$(grep -c "kos_ipc:$c:" "$dir.bt")"; done | sed 's/ $//')"
    expect_eq "$dir: all events" "$calls" "$(wc -l <"$dir.bt" | tr -d ' ')"
    expect_eq "$dir: Quit calls" 1 "$(grep 'op = ( "Call"' "$dir.bt" | grep -c 'method = "Echo.Quit", rc = 0, rc_name = "rcOk"')"
    expect_eq "$dir: Recv of pings" 500 "$(grep 'op = ( "Recv"' "$dir.bt" | grep 'method = "Echo.Ping"' | grep -c 'const_in = 40, ')"
    expect_eq "$dir: refused call" 1 "$(grep -c 'rc_name = "rcNotConnected"' "$dir.bt")"
done
expect_eq "ctf payload" 500 "$(grep 'op = ( "Call"' "$out/ctf.bt" | grep -c 'payload = "010e010028000000|70696e6720')"

# policy-from: the learned policy allows exactly what ran, by the names of
# the trace's map (numbers where it has none).
"$tool" policy-from "$kst" >"$out/learned.policy"
expect_eq "learned rules" "allow call iid=Echo mid=Ping;allow call iid=Echo mid=Quit;allow recv iid=Echo mid=Ping;allow recv iid=Echo mid=Quit;allow reply iid=Echo mid=Ping;allow reply iid=Echo mid=Quit;default deny;" \
    "$(grep -v '^#' "$out/learned.policy" | grep -v '^mode' | sed 's/  #.*//' | tr '\n' ';')"

# Broken files: the documented one-line errors, exit code 1, no panic.
bad() { # name expected-message
    local f=$out/$1 rc=0
    "$tool" summary "$f" >/dev/null 2>"$f.err" || rc=$?
    expect_eq "$1: exit code" 1 "$rc"
    expect_eq "$1: message" "kos-ipc-trace: $f: $2" "$(cat "$f.err")"
}
head -c 4096 /bin/sh >"$out/foreign.kst"
bad foreign.kst "not a kos-ipc-shim trace (bad magic)"
: >"$out/empty.kst"
bad empty.kst "truncated trace: empty file"
head -c 40 "$kst" >"$out/short-header.kst"
bad short-header.kst "truncated trace: header cut short (40 of 72 bytes)"
hdr=$(od -An -tu4 -j12 -N4 "$kst" | tr -d ' ')
# The first record entry (thread-name entries may come before it).
hdr=$(python3 - "$kst" "$hdr" <<'PY'
import struct, sys
data, at = open(sys.argv[1], "rb").read(), int(sys.argv[2])
while data[at:at + 4] != b"KREC":
    at += struct.unpack_from("<I", data, at + 4)[0]
print(at)
PY
)
head -c $((hdr + 50)) "$kst" >"$out/truncated.kst"
bad truncated.kst "truncated trace: entry at offset $hdr cut short"
cp "$kst" "$out/version.kst"
printf '\x09' | dd of="$out/version.kst" bs=1 seek=8 conv=notrunc status=none
bad version.kst "unsupported .kst version 9 (this tool reads versions 2 to 3)"
cp "$kst" "$out/corrupt.kst"
printf '\x07' | dd of="$out/corrupt.kst" bs=1 seek=$((hdr + 8 + 44)) conv=notrunc status=none
bad corrupt.kst "corrupted trace: operation 7 at offset $hdr"

# stderr: one line per call through the log facade (the echo example makes 16 calls).
KOS_SHIM_TRACE=stderr KOS_SHIM_NAMES=examples/echo.names "$demo" >/dev/null 2>"$out/stderr.txt"
expect_eq "stderr lines" 16 "$(grep -c '^kos-ipc-shim trace: ' "$out/stderr.txt")"
expect_eq "stderr Upper call line" 1 "$(grep -Ec '^kos-ipc-shim trace: -?[0-9]+\.[0-9]{9} (tid=[0-9]+|[^ ]+\[[0-9]+\]) call   h=[0-9]+ Server\.main:Echo\.Upper out=32\+13 in=32\+13 caps=0/0 rcOk [0-9.]+(ns|us|ms) corr=[0-9]+$' "$out/stderr.txt")"

# examples/echo.names is what `kos-ipc-trace names` makes of the example's
# descriptions (examples/idl/echo/); with payload capture the trace shows
# the values the example sent.
"$tool" names echo.Server -I examples/idl -o "$out/echo-generated.names"
diff -u examples/echo.names "$out/echo-generated.names" >&2 || fail "examples/echo.names differs from kos-ipc-trace names echo.Server -I examples/idl"
KOS_SHIM_TRACE=stderr KOS_SHIM_TRACE_PAYLOAD=128 KOS_SHIM_EDL=echo.Server KOS_SHIM_IDL_PATH=examples/idl \
    "$demo" >/dev/null 2>"$out/stderr-decoded.txt"
expect_eq "decoded Upper call" 1 "$(grep -c ' call   .* Server.main:Echo.Upper .* Upper(text: "make me loud") -> (answer: "MAKE ME LOUD")$' "$out/stderr-decoded.txt")"
expect_eq "decoded Upper request" 1 "$(grep -c ' recv   .* Server.main:Echo.Upper .* Upper(text: "make me loud")$' "$out/stderr-decoded.txt")"
expect_eq "decoded Upper response" 1 "$(grep -c ' reply  .* Server.main:Echo.Upper .* -> (answer: "MAKE ME LOUD")$' "$out/stderr-decoded.txt")"

# Named threads: ctests/trace_threads, 201 round trips.
rounds=201
t=$out/threads
mkdir -p "$t"
KOS_SHIM_TRACE="file:$t/threads.kst,stderr,json:$t/threads.json,ctf:$t/ctf" KOS_SHIM_NAMES=$out/echo.names \
    "$threads_prog" >"$t/run.out" 2>"$t/run.err" || { cat "$t/run.err" >&2; fail "$threads_prog failed"; }
"$tool" export --format text "$t/threads.kst" "$t/threads.txt"
expect_eq "threads: text lines" $((3 * rounds)) "$(wc -l <"$t/threads.txt" | tr -d ' ')"
expect_eq "threads: client lines" "$rounds" "$(grep -cE '^[0-9.]+ echo\.client\[[0-9]+\] call   h=' "$t/threads.txt")"
expect_eq "threads: server lines" $((2 * rounds)) "$(grep -cE '^[0-9.]+ echo\.server\[[0-9]+\] (recv|reply) +h=' "$t/threads.txt")"
expect_eq "threads: text export in time order" 0 \
    "$(awk 'NR > 1 && $1 < prev { n++ } { prev = $1 } END { print n + 0 }' "$t/threads.txt")"
# The same entries in reverse order (as no drainer writes them): the
# export sorts them back into time order, the same lines.
python3 - "$t/threads.kst" "$t/reversed.kst" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
at = struct.unpack_from("<I", data, 12)[0]
names, recs = [], []
while at < len(data):
    n = struct.unpack_from("<I", data, at + 4)[0]
    (recs if data[at:at + 4] == b"KREC" else names).append(data[at:at + n])
    at += n
header = data[:struct.unpack_from("<I", data, 12)[0]]
open(sys.argv[2], "wb").write(header + b"".join(names) + b"".join(reversed(recs)))
PY
"$tool" export --format text "$t/reversed.kst" "$t/reversed.txt"
expect_eq "threads: reversed file exports the same lines" "" "$(cmp <(sort "$t/threads.txt") <(sort "$t/reversed.txt") 2>&1)"
expect_eq "threads: reversed file exported in time order" 0 \
    "$(awk 'NR > 1 && $1 < prev { n++ } { prev = $1 } END { print n + 0 }' "$t/reversed.txt")"
# Not grouped by thread: each Reply starts within its Call, and the next
# Call after it, so the thread changes at least twice per round trip.
changes=$(awk '{ if (NR > 1 && $2 != prev) n++; prev = $2 } END { print n + 0 }' "$t/threads.txt")
[ "$changes" -ge $((2 * rounds - 1)) ] || fail "threads: text export changes thread $changes times, expected at least $((2 * rounds - 1))"
expect_eq "threads: stderr lines" "$((rounds)) $((2 * rounds))" \
    "$(grep -c '^kos-ipc-shim trace: [0-9.]* echo\.client\[' "$t/run.err") $(grep -c '^kos-ipc-shim trace: [0-9.]* echo\.server\[' "$t/run.err")"
"$tool" export --format ctf "$t/threads.kst" "$t/ctf-export"
"$tool" export --format json "$t/threads.kst" "$t/exported.json"
for dir in "$t/ctf" "$t/ctf-export"; do
    babeltrace2 "$dir" >"$dir.bt" 2>"$dir.bt.err" || { cat "$dir.bt.err" >&2; fail "babeltrace2 $dir failed"; }
    expect_eq "threads: ctf classes" "call=$rounds recv=$rounds reply=$rounds" \
        "$(for c in call recv reply; do printf '%s=%s ' $c "$(grep -c "kos_ipc:$c:" "$dir.bt")"; done | sed 's/ $//')"
    expect_eq "threads: ctf client names" "$rounds" "$(grep 'kos_ipc:call:' "$dir.bt" | grep -c '{ thread_name = "echo.client" }')"
    expect_eq "threads: ctf server names" $((2 * rounds)) "$(grep -E 'kos_ipc:(recv|reply):' "$dir.bt" | grep -c '{ thread_name = "echo.server" }')"
    expect_eq "threads: a recv has no sent sizes" 0 "$(grep 'kos_ipc:recv:' "$dir.bt" | grep -c 'const_out')"
done
"$tool" merge "$t/merged.json" "$t/threads.kst" >"$t/merge.out"
for j in "$t/threads.json" "$t/exported.json" "$t/merged.json"; do
    expect_eq "threads: $j track names" "echo.client echo.server" "$(python3 - "$j" <<'PY'
import json, re, sys
events = json.load(open(sys.argv[1]))
names = {}
for e in events:
    if e.get("ph") == "M" and e.get("name") == "thread_name":
        names[(e["pid"], e["tid"])] = e["args"]["name"]
calls = {(e["pid"], e["tid"]) for e in events if e.get("ph") == "X"}
shown = sorted({re.sub(r"\[\d+\]$", "", names.get(k, "?")) for k in calls})
print(" ".join(shown))
PY
)"
done

echo "trace-test: $calls calls: summary, text, json (2), ctf (2 via babeltrace2), policy-from, 6 broken files; 16 stderr lines; named threads in text, stderr, json, ctf and merge ok"
