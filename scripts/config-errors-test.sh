#!/usr/bin/env bash
# Every configuration message README shows is provoked and its stderr line
# checked, on the unchanged echo program linked with --wrap against the wrap
# archive (no_std + the C-library layer):
#
# 1. each case below sets one wrong variable and must make the shim say
#    exactly one `kos-ipc-shim:` line matching its pattern, while the
#    program still completes;
# 2. every `kos-ipc-shim: ...` example line in README.md (in code blocks)
#    must be one of the lines this test or policy-wrap-test (its expected
#    ctests/interpose/expect-policy-*.err) saw, compared with paths and
#    numbers blanked: README cannot show a message the shim does not print.
#
# 3. README's policy example with names runs as written on the echo
#    example (ECHO_EXAMPLE) and denies exactly Echo.Upper; its report line
#    counts as said.
#
#   scripts/config-errors-test.sh OUTDIR PROGRAM ECHO_EXAMPLE
set -euo pipefail

out=$(realpath -m "$1") prog=$2 echo_example=$3
rm -rf "$out"
mkdir -p "$out"
fail() {
    printf 'FAIL config-errors-test: %s\n' "$*" >&2
    exit 1
}
said=$out/said.txt
: >"$said"
cases=0

# case NAME PATTERN VAR=VALUE...: one line matching PATTERN (grep -E).
case_() {
    local name=$1 pattern=$2
    shift 2
    env -u KOS_SHIM_POLICY -u KOS_SHIM_STATS -u KOS_SHIM_STATS_CAP -u KOS_SHIM_STATS_SIGNAL \
        -u KOS_SHIM_TRACE -u KOS_SHIM_TRACE_BUF -u KOS_SHIM_TRACE_PAYLOAD -u KOS_SHIM_LOG \
        -u KOS_SHIM_NAMES -u KOS_SHIM_CLOCK -u KOS_SHIM_POLICY_ON_ERROR -u KOS_SHIM_POLICY_LEARN \
        -u KOS_SHIM_EDL -u KOS_SHIM_IDL_PATH -u KOS_SHIM_TRACE_FILTER \
        "$@" timeout 120 "$prog" >"$out/$name.out" 2>"$out/$name.err" ||
        { cat "$out/$name.out" "$out/$name.err" >&2; fail "$name: the program failed"; }
    grep -q '^echo_prog: ' "$out/$name.out" || fail "$name: the program did not complete"
    local lines
    lines=$(grep -c '^kos-ipc-shim: ' "$out/$name.err" || true)
    [ "$lines" -eq 1 ] && grep -Eq "$pattern" "$out/$name.err" ||
        { cat "$out/$name.err" >&2; fail "$name: expected one line matching: $pattern"; }
    cat "$out/$name.err" >>"$said"
    cases=$((cases + 1))
}

case_ stats-word "KOS_SHIM_STATS=\"timing,jsn:x\": unknown word 'jsn:x' \(expected off, count, timing" \
    KOS_SHIM_STATS=timing,jsn:x
case_ stats-path "KOS_SHIM_STATS: cannot write $out/missing/stats-[0-9]+\.json \(cannot open\); this output is off" \
    "KOS_SHIM_STATS=json:$out/missing/stats-%p.json"
case_ stats-cap 'KOS_SHIM_STATS_CAP="0": not a number of keys from 1 to [0-9]+; using [0-9]+' \
    KOS_SHIM_STATS=count KOS_SHIM_STATS_CAP=0
case_ stats-signal 'KOS_SHIM_STATS_SIGNAL="yes" is not one of 0, 1' \
    "KOS_SHIM_STATS=json:$out/s.json" KOS_SHIM_STATS_SIGNAL=yes
case_ trace-word 'KOS_SHIM_TRACE="bogus": "bogus" is not an output; valid outputs: stderr, file:PATH, json:PATH, ctf:DIR, sink, off' \
    KOS_SHIM_TRACE=bogus
case_ trace-path "KOS_SHIM_TRACE: cannot write $out/no/such/t\.kst \(cannot open\); this output is off" \
    "KOS_SHIM_TRACE=file:$out/no/such/t.kst"
case_ trace-lost 'KOS_SHIM_TRACE: [0-9]+ trace records were lost' \
    "KOS_SHIM_TRACE=file:$out/t.kst" KOS_SHIM_TRACE_BUF=2
case_ trace-buf 'KOS_SHIM_TRACE_BUF=' "KOS_SHIM_TRACE=file:$out/t2.kst" KOS_SHIM_TRACE_BUF=lots
case_ trace-payload 'KOS_SHIM_TRACE_PAYLOAD=' "KOS_SHIM_TRACE=file:$out/t3.kst" KOS_SHIM_TRACE_PAYLOAD=99999
case_ on-error 'KOS_SHIM_POLICY_ON_ERROR="yes" is not one of allow, deny; using deny' KOS_SHIM_POLICY_ON_ERROR=yes
case_ clock 'KOS_SHIM_CLOCK="bogus" is not one of auto, monotonic, os; using auto' KOS_SHIM_CLOCK=bogus
case_ log 'KOS_SHIM_LOG="loud" is not one of quiet, error, warn, info; using warn' KOS_SHIM_LOG=loud
case_ names "KOS_SHIM_NAMES: $out/none\.names: cannot open" \
    KOS_SHIM_STATS=stderr "KOS_SHIM_NAMES=$out/none.names"
case_ edl-missing "KOS_SHIM_EDL: nosuch\.Server:1:1: cannot find nosuch/Server\.edl or nosuch/Server\.cdl or nosuch/Server\.idl in -I dirs: $out; ids are shown as numbers" \
    KOS_SHIM_STATS=stderr KOS_SHIM_EDL=nosuch.Server "KOS_SHIM_IDL_PATH=$out"
mkdir -p "$out/idl/bad"
printf 'task class bad.Broken\n\nendpoints {\n    main : \n}\n' >"$out/idl/bad/Broken.edl"
case_ edl-syntax "KOS_SHIM_EDL: $out/idl/bad/Broken\.edl:5:1: .*; ids are shown as numbers" \
    KOS_SHIM_STATS=stderr "KOS_SHIM_EDL=$out/idl/bad/Broken.edl"
case_ trace-filter 'KOS_SHIM_TRACE_FILTER="Echo\.\*,,x": pattern 2 is empty \(expected e\.g\. "Echo\.\*,!Echo\.Ping"\); every method is traced' \
    "KOS_SHIM_TRACE=file:$out/t4.kst" 'KOS_SHIM_TRACE_FILTER=Echo.*,,x'

# The descriptions work in the wrap archive (no_std + C library) too: an
# iid line names the program's RIID 42 as echo.Server's endpoint, whose
# interface (examples/idl/echo) then names and decodes its calls, and the
# trace filter drops the Quit call.
printf 'iid 42 Server.main\n' >"$out/prog.names"
env KOS_SHIM_NAMES="$out/prog.names" KOS_SHIM_EDL=echo.Server KOS_SHIM_IDL_PATH=examples/idl \
    KOS_SHIM_TRACE=stderr KOS_SHIM_TRACE_PAYLOAD=64 'KOS_SHIM_TRACE_FILTER=*.Upper' \
    timeout 120 "$prog" >"$out/described.out" 2>"$out/described.err" ||
    { cat "$out/described.err" >&2; fail "described: the program failed"; }
grep -q ' call   h=[0-9]* Server\.main:Echo\.Upper .* Upper(text: "' "$out/described.err" ||
    { head -n 5 "$out/described.err" >&2; fail "described: no decoded Server.main:Echo.Upper call"; }
if grep -q 'Echo\.Quit' "$out/described.err"; then fail "described: the filter let Echo.Quit through"; fi
if grep '^kos-ipc-shim: ' "$out/described.err"; then fail "described: the shim complained"; fi

# README "Policy" / "Names": the echo example denies exactly Echo.Upper.
printf 'deny  call Echo.Upper\nallow call\nallow recv\nallow reply\n' >"$out/app.policy"
rc=0
env -u KOS_SHIM_NAMES KOS_SHIM_EDL=echo.Server KOS_SHIM_IDL_PATH=examples/idl KOS_SHIM_POLICY="$out/app.policy" \
    timeout 120 "$echo_example" >"$out/echo-policy.out" 2>"$out/echo-policy.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q '^client: Call failed: rcSecurityDisallow' "$out/echo-policy.out" &&
    grep -q '^client:   -> "hello, KasperskyOS"$' "$out/echo-policy.out" ||
    { cat "$out/echo-policy.out" "$out/echo-policy.err" >&2; fail "README's names policy on the echo example"; }
[ "$(grep -c '^kos-ipc-shim: ' "$out/echo-policy.err")" -eq 1 ] ||
    { cat "$out/echo-policy.err" >&2; fail "README's names policy: expected one report line"; }
cat "$out/echo-policy.err" >>"$said"

# README's example lines against what was said (here and in policy-wrap-test).
blank() { sed -E -e 's#[^ ":;(]+\.policy#PATH#g' -e 's#(@DIR@/|/)[^ ":;)]+#PATH#g' -e 's/[0-9]+/N/g'; }
cat ctests/interpose/expect-policy-*.err >>"$said"
grep '^kos-ipc-shim: ' "$said" | blank | sort -u >"$out/said.blank"
grep -h '^ *kos-ipc-shim: ' README.md | sed 's/^ *//' | grep -v '\.\.\.' | blank | sort -u >"$out/readme.blank"
missing=$(comm -23 "$out/readme.blank" "$out/said.blank")
[ -z "$missing" ] || { printf '%s\n' "$missing" >&2; fail "README shows lines the shim did not print (above, blanked)"; }
printf 'config-errors-test: %d cases, each one line; descriptions decode in the wrap archive; %d README example lines all printed\n' \
    "$cases" "$(wc -l <"$out/readme.blank")"
