#!/usr/bin/env bash
# Every configuration message README shows is provoked and its stderr line
# checked, on the unchanged echo program linked with --wrap against the wrap
# archive (no_std + the C-library layer):
#
# 1. each case below sets one wrong variable and must make the shim say
#    exactly one `kos-ipc-shim:` line, the one written out in the case,
#    while the program still completes; where a list has a bad part, the
#    good parts must still apply;
# 2. every `kos-ipc-shim: ...` example line in README.md and docs/*.md
#    (docs/configuration.md "Messages" lists them all) must be one of the
#    lines this test or policy-wrap-test (its expected
#    ctests/interpose/expect-policy-*.err) saw, compared with paths and
#    numbers blanked: the docs cannot show a message the shim does not print.
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

# case NAME LINE VAR=VALUE...: exactly one `kos-ipc-shim:` line, and it is
# LINE (an extended regex matched against the whole line; write the message
# out, with regex characters escaped).
case_() {
    local name=$1 pattern=$2
    shift 2
    env -u KOS_SHIM_POLICY -u KOS_SHIM_STATS -u KOS_SHIM_STATS_CAP -u KOS_SHIM_STATS_SIGNAL \
        -u KOS_SHIM_TRACE -u KOS_SHIM_TRACE_BUF -u KOS_SHIM_TRACE_PAYLOAD -u KOS_SHIM_LOG \
        -u KOS_SHIM_NAMES -u KOS_SHIM_CLOCK -u KOS_SHIM_POLICY_ON_ERROR -u KOS_SHIM_POLICY_LEARN \
        -u KOS_SHIM_EDL -u KOS_SHIM_IDL_PATH -u KOS_SHIM_TRACE_FILTER \
        -u KOS_SHIM_STATS_INTERVAL -u KOS_SHIM_FAULT_SEED \
        "$@" timeout 120 "$prog" >"$out/$name.out" 2>"$out/$name.err" ||
        { cat "$out/$name.out" "$out/$name.err" >&2; fail "$name: the program failed"; }
    grep -q '^echo_prog: ' "$out/$name.out" || fail "$name: the program did not complete"
    local lines
    lines=$(grep -c '^kos-ipc-shim: ' "$out/$name.err" || true)
    [ "$lines" -eq 1 ] && grep -Exq "kos-ipc-shim: $pattern" "$out/$name.err" ||
        { cat "$out/$name.err" >&2; fail "$name: expected exactly this line: kos-ipc-shim: $pattern"; }
    cat "$out/$name.err" >>"$said"
    cases=$((cases + 1))
}
# A regex of literal text (paths, values).
lit() { printf '%s' "$1" | sed -e 's/[][\\.*^$+?(){}|]/\\&/g'; }
o=$(lit "$out")
stats_words='\(expected off, count, timing \(or on, 1\), stderr, text:PATH, json:PATH, separated by commas\)'
trace_words='stderr, file:PATH, json:PATH, ctf:DIR, sink, off'

# KOS_SHIM_STATS: a bad word is named with the valid ones and left out; the
# rest applies (here the stderr dump comes).
case_ stats-word "KOS_SHIM_STATS=\"timing,jsn:x\": unknown word 'jsn:x' $stats_words; left out, using timing, no dump" \
    KOS_SHIM_STATS=timing,jsn:x
case_ stats-word-rest "KOS_SHIM_STATS=\"stderr,jsn:x\": unknown word 'jsn:x' $stats_words; left out, using timing, dumps to stderr" \
    KOS_SHIM_STATS=stderr,jsn:x
grep -q '^kos-ipc-shim statistics: level timing' "$out/stats-word-rest.err" ||
    { cat "$out/stats-word-rest.err" >&2; fail "stats-word-rest: the valid word stderr was dropped (no dump)"; }
case_ stats-levels "KOS_SHIM_STATS=\"count,timing\": two levels given \('count' and 'timing'\); left out, using count, no dump" \
    KOS_SHIM_STATS=count,timing
case_ stats-path "KOS_SHIM_STATS: cannot write $o/missing/stats-[0-9]+\.json \(cannot open\); this output is off" \
    "KOS_SHIM_STATS=json:$out/missing/stats-%p.json"
case_ stats-cap 'KOS_SHIM_STATS_CAP="0": not a number of keys from 1 to 1048576; using 1024' \
    KOS_SHIM_STATS=count KOS_SHIM_STATS_CAP=0
case_ stats-signal 'KOS_SHIM_STATS_SIGNAL="yes" is not one of 0, 1; no dump on SIGUSR1' \
    "KOS_SHIM_STATS=json:$out/s.json" KOS_SHIM_STATS_SIGNAL=yes
case_ stats-signal-nowhere 'KOS_SHIM_STATS_SIGNAL=1, but KOS_SHIM_STATS names no usable destination \(stderr, text:PATH, json:PATH\); no dump on SIGUSR1' \
    KOS_SHIM_STATS=count KOS_SHIM_STATS_SIGNAL=1
# KOS_SHIM_STATS_INTERVAL: a bad interval, or one without a destination,
# gives no periodic dumps (the dump at exit still comes).
case_ stats-interval 'KOS_SHIM_STATS_INTERVAL="0": not a number of seconds from 0\.01 to 86400 \(at most 3 decimals, e\.g\. 0\.5 or 10\); no periodic statistics' \
    "KOS_SHIM_STATS=json:$out/si.json" KOS_SHIM_STATS_INTERVAL=0
[ -s "$out/si.json" ] || fail "stats-interval: the dump at exit is missing"
case_ stats-interval-nowhere 'KOS_SHIM_STATS_INTERVAL="0\.5", but KOS_SHIM_STATS names no usable destination \(stderr, text:PATH, json:PATH\); no periodic statistics' \
    KOS_SHIM_STATS=count KOS_SHIM_STATS_INTERVAL=0.5
# KOS_SHIM_TRACE: the same for outputs.
case_ trace-word "KOS_SHIM_TRACE=\"bogus\": \"bogus\" is not an output; valid outputs: $trace_words \(comma separated\); tracing is off" \
    KOS_SHIM_TRACE=bogus
case_ trace-word-rest "KOS_SHIM_TRACE=\"file:$o/t5\.kst,bogus\": \"bogus\" is not an output; valid outputs: $trace_words \(comma separated\); left out, tracing to file:$o/t5\.kst" \
    "KOS_SHIM_TRACE=file:$out/t5.kst,bogus"
[ -s "$out/t5.kst" ] || fail "trace-word-rest: the valid output file:$out/t5.kst was dropped"
# Empty items separate nothing: no message, the output runs.
env -u KOS_SHIM_STATS -u KOS_SHIM_LOG "KOS_SHIM_TRACE=file:$out/t7.kst,," timeout 120 "$prog" >"$out/trace-empty.out" 2>"$out/trace-empty.err" ||
    fail "trace-empty: the program failed"
[ -s "$out/t7.kst" ] && ! grep -q '^kos-ipc-shim: ' "$out/trace-empty.err" ||
    { cat "$out/trace-empty.err" >&2; fail "trace-empty: KOS_SHIM_TRACE=file:...,, must trace silently"; }
case_ trace-no-path "KOS_SHIM_TRACE=\"file:\": \"file:\" needs a path after the colon \(valid outputs: $trace_words, comma separated\); tracing is off" \
    KOS_SHIM_TRACE=file:
case_ trace-argument "KOS_SHIM_TRACE=\"stderr:x\": \"stderr:x\" takes no argument \(valid outputs: $trace_words, comma separated\); tracing is off" \
    KOS_SHIM_TRACE=stderr:x
case_ trace-off "KOS_SHIM_TRACE=\"off,stderr\": \"off\" stands alone \(valid outputs: $trace_words\); tracing is off" \
    KOS_SHIM_TRACE=off,stderr
case_ trace-path "KOS_SHIM_TRACE: cannot write $o/no/such/t\.kst \(cannot open\); this output is off" \
    "KOS_SHIM_TRACE=file:$out/no/such/t.kst"
case_ trace-lost 'KOS_SHIM_TRACE: [0-9]+ trace records were lost \(rings full: a larger KOS_SHIM_TRACE_BUF keeps more; or an output failed\)' \
    "KOS_SHIM_TRACE=file:$out/t.kst" KOS_SHIM_TRACE_BUF=2
case_ trace-buf 'KOS_SHIM_TRACE_BUF="lots" is not a number in 2\.\.=1048576; using 4096' \
    "KOS_SHIM_TRACE=file:$out/t2.kst" KOS_SHIM_TRACE_BUF=lots
case_ trace-payload 'KOS_SHIM_TRACE_PAYLOAD="99999" is not a number in 0\.\.=4096; using 0' \
    "KOS_SHIM_TRACE=file:$out/t3.kst" KOS_SHIM_TRACE_PAYLOAD=99999
case_ trace-filter 'KOS_SHIM_TRACE_FILTER="Echo\.\*,,x": pattern 2 is empty \(expected e\.g\. "Echo\.\*,!Echo\.Ping"\); left out, the filter is "Echo\.\*,x"' \
    "KOS_SHIM_TRACE=file:$out/t4.kst" 'KOS_SHIM_TRACE_FILTER=Echo.*,,x'
case_ trace-filter-none 'KOS_SHIM_TRACE_FILTER="!": pattern 1 is empty \(expected e\.g\. "Echo\.\*,!Echo\.Ping"\); every method is traced' \
    "KOS_SHIM_TRACE=file:$out/t6.kst" 'KOS_SHIM_TRACE_FILTER=!'
# One-word variables: the word, the valid words, what applies.
case_ on-error 'KOS_SHIM_POLICY_ON_ERROR="yes" is not one of allow, deny; using deny \(a policy that does not load fails closed\)' \
    KOS_SHIM_POLICY_ON_ERROR=yes
case_ on-error-maybe 'KOS_SHIM_POLICY_ON_ERROR="maybe" is not one of allow, deny; using deny \(a policy that does not load fails closed\)' \
    KOS_SHIM_POLICY_ON_ERROR=maybe
case_ clock 'KOS_SHIM_CLOCK="bogus" is not one of auto, monotonic, os; using auto' KOS_SHIM_CLOCK=bogus
case_ log 'KOS_SHIM_LOG="loud" is not one of quiet, error, warn, info; using warn' KOS_SHIM_LOG=loud
# KOS_SHIM_FAULT_SEED: read when a policy with fault rules meets its first
# call; a word that is no number is replaced by a random seed.
printf 'allow call\nallow recv\nallow reply\nfail call iid=999 rc=rcTimeout\n' >"$out/fault.policy"
case_ fault-seed 'KOS_SHIM_FAULT_SEED="seven" is not a number \(decimal or 0x hex\); using seed [0-9]+' \
    "KOS_SHIM_POLICY=$out/fault.policy" KOS_SHIM_FAULT_SEED=seven
case_ learn-path "KOS_SHIM_POLICY_LEARN: cannot write $o/no/dir/learned\.policy \(cannot open\); this output is off" \
    "KOS_SHIM_POLICY_LEARN=$out/no/dir/learned.policy"
# Files the names come from.
case_ names "KOS_SHIM_NAMES: $o/none\.names: cannot open; ids are shown as numbers" \
    KOS_SHIM_STATS=stderr "KOS_SHIM_NAMES=$out/none.names"
# A bad line is left out; the good ones still name the ids.
printf 'iid 42 Echo\nmidd 42.1 Ping\nmid 42.1 Echo\n' >"$out/bad.names"
case_ names-line "KOS_SHIM_NAMES: $o/bad\.names:2: unknown keyword 'midd' \(expected iid, mid, entity, interface or struct\); line left out" \
    KOS_SHIM_STATS=stderr "KOS_SHIM_NAMES=$out/bad.names"
grep -q ' Echo\.Echo ' "$out/names-line.err" ||
    { cat "$out/names-line.err" >&2; fail "names-line: the good lines of the file named nothing"; }
case_ edl-missing "KOS_SHIM_EDL: nosuch\.Server:1:1: cannot find nosuch/Server\.edl or nosuch/Server\.cdl or nosuch/Server\.idl in -I dirs: $o; ids are shown as numbers" \
    KOS_SHIM_STATS=stderr KOS_SHIM_EDL=nosuch.Server "KOS_SHIM_IDL_PATH=$out"
mkdir -p "$out/idl/bad"
printf 'task class bad.Broken\n\nendpoints {\n    main : \n}\n' >"$out/idl/bad/Broken.edl"
case_ edl-syntax "KOS_SHIM_EDL: $o/idl/bad/Broken\.edl:5:1: expected a qualified name after ':', found '\}'; ids are shown as numbers" \
    KOS_SHIM_STATS=stderr "KOS_SHIM_EDL=$out/idl/bad/Broken.edl"

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

# docs/policy.md "Names" / docs/names.md: the echo example denies exactly Echo.Upper.
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
grep -h '^ *kos-ipc-shim: ' README.md docs/*.md | sed 's/^ *//' | grep -v '\.\.\.' | blank | sort -u >"$out/readme.blank"
missing=$(comm -23 "$out/readme.blank" "$out/said.blank")
[ -z "$missing" ] || { printf '%s\n' "$missing" >&2; fail "README.md or docs/ show lines the shim did not print (above, blanked)"; }
printf 'config-errors-test: %d cases, each exactly its line; descriptions decode in the wrap archive; %d example lines of README.md and docs/ all printed\n' \
    "$cases" "$(wc -l <"$out/readme.blank")"
