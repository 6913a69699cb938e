#!/usr/bin/env bash
# What every output path and message promises, checked on the unchanged
# ctests/interpose/echo_prog.c linked with --wrap against the wrap archive
# (no_std + the C-library layer) and the stand-in libkos:
#
# 1. a live process's output is not clobbered: with <path>.lock naming a
#    live process, the program writes <path>.<its pid> and says so, and the
#    path keeps the other process's bytes;
# 2. a lock whose owner is gone is taken over, and released at exit;
# 3. %n and %t expand (program name, start time);
# 4. KOS_SHIM_LOG: quiet says nothing, error keeps errors only, a wrong word
#    is reported with the valid ones;
# 5. two shim processes at once, one path: LINGER (a wrap-archive program
#    that stays alive ~40 s: ctests/interpose/stats_signal.c, its SIGUSR1
#    dumps going to the shared path while it waits for them under another
#    name) holds it; the echo program started meanwhile
#    writes <path>.<pid>; both dumps are complete JSON.
#
#   scripts/outputs-wrap-test.sh OUTDIR PROGRAM LINGER
set -euo pipefail

out=$1 prog=$2 linger=$3
rm -rf "$out"
mkdir -p "$out"
n=0
fail() {
    printf 'FAIL outputs-wrap-test: %s\n' "$*" >&2
    exit 1
}
ok() {
    n=$((n + 1))
    printf '  ok %s\n' "$*"
}

# run NAME VAR=VALUE...: the program with only the given shim variables.
run() {
    local name=$1
    shift
    env -u KOS_SHIM_POLICY -u KOS_SHIM_STATS -u KOS_SHIM_STATS_CAP -u KOS_SHIM_STATS_SIGNAL \
        -u KOS_SHIM_TRACE -u KOS_SHIM_TRACE_BUF -u KOS_SHIM_TRACE_PAYLOAD -u KOS_SHIM_LOG \
        -u KOS_SHIM_NAMES -u KOS_SHIM_CLOCK "$@" \
        timeout 120 sh -c 'echo $$ >"$0"; exec "$1"' "$out/$name.pid" "$prog" \
        >"$out/$name.out" 2>"$out/$name.err" ||
        { cat "$out/$name.out" "$out/$name.err" >&2; fail "$name: the program failed"; }
    grep -q '^echo_prog: ' "$out/$name.out" || { cat "$out/$name.out" >&2; fail "$name: no result line"; }
}
json_ok() { python3 -m json.tool "$1" >/dev/null || fail "$1 is not JSON"; }

# 1. A live owner (a sleeping process) holds the path.
sleep 60 &
live=$!
trap 'kill $live 2>/dev/null || true' EXIT
printf 'theirs' >"$out/stats.json"
printf '%s\n' "$live" >"$out/stats.json.lock"
run live KOS_SHIM_STATS="json:$out/stats.json"
pid=$(cat "$out/live.pid")
want="kos-ipc-shim: KOS_SHIM_STATS: $out/stats.json is being written by process $live; writing $out/stats.json.$pid instead"
[ "$(cat "$out/live.err")" = "$want" ] || { cat "$out/live.err" >&2; fail "live owner: expected the line: $want"; }
[ "$(cat "$out/stats.json")" = theirs ] || fail "live owner: $out/stats.json was clobbered"
[ "$(cat "$out/stats.json.lock")" = "$live" ] || fail "live owner: its lock was touched"
json_ok "$out/stats.json.$pid"
[ ! -e "$out/stats.json.$pid.lock" ] || fail "live owner: our lock $out/stats.json.$pid.lock is left behind"
ok "a live process's file is kept; ours is stats.json.<pid>, and the line says so"

# 2. The owner is gone: taken over, lock released at exit.
kill "$live"
wait "$live" 2>/dev/null || true
run dead KOS_SHIM_STATS="json:$out/stats.json"
[ ! -s "$out/dead.err" ] || { cat "$out/dead.err" >&2; fail "dead owner: unexpected stderr"; }
json_ok "$out/stats.json"
[ ! -e "$out/stats.json.lock" ] || fail "dead owner: the lock was not released at exit"
ok "a dead owner's lock is taken over and released at exit"

# 3. %n and %t.
run names KOS_SHIM_STATS="json:$out/%n-%t.json"
shopt -s nullglob
files=("$out"/echo_wrap*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9].json)
[ ${#files[@]} -eq 1 ] || { ls "$out" >&2; fail "%n-%t: expected one file echo_wrap...-YYYYmmdd-HHMMSS.json"; }
json_ok "${files[0]}"
ok "%n-%t expands to $(basename "${files[0]}")"

# 4. KOS_SHIM_LOG.
run quiet KOS_SHIM_LOG=quiet KOS_SHIM_STATS="timing,jsn:x"
[ ! -s "$out/quiet.err" ] || { cat "$out/quiet.err" >&2; fail "KOS_SHIM_LOG=quiet: something was said"; }
run errors KOS_SHIM_LOG=error KOS_SHIM_CLOCK=bogus KOS_SHIM_STATS="json:$out/missing/s.json"
grep -c '^kos-ipc-shim: ' "$out/errors.err" | grep -qx 1 || { cat "$out/errors.err" >&2; fail "KOS_SHIM_LOG=error: expected exactly the error line"; }
grep -q "cannot write $out/missing/s.json" "$out/errors.err" || { cat "$out/errors.err" >&2; fail "KOS_SHIM_LOG=error: the unwritable path is not named"; }
run bogus KOS_SHIM_LOG=loud
[ "$(cat "$out/bogus.err")" = 'kos-ipc-shim: KOS_SHIM_LOG="loud" is not one of quiet, error, warn, info; using warn' ] ||
    { cat "$out/bogus.err" >&2; fail "KOS_SHIM_LOG=loud: expected the line listing the valid words"; }
ok "KOS_SHIM_LOG: quiet, error and a wrong word"

# 5. Two processes at once.
env -u KOS_SHIM_LOG KOS_SHIM_STATS_SIGNAL=1 KOS_SHIM_STATS="json:$out/shared.json" \
    "$linger" "$out" >"$out/linger.out" 2>&1 &
first=$!
for _ in $(seq 100); do
    [ "$(cat "$out/shared.json.lock" 2>/dev/null)" = "$first" ] && break
    sleep 0.05
done
[ "$(cat "$out/shared.json.lock" 2>/dev/null)" = "$first" ] || fail "two at once: the first process did not claim the path"
run second KOS_SHIM_STATS="json:$out/shared.json"
pid=$(cat "$out/second.pid")
grep -qF "is being written by process $first; writing $out/shared.json.$pid instead" "$out/second.err" ||
    { cat "$out/second.err" >&2; fail "two at once: the second process did not say where it writes"; }
json_ok "$out/shared.json.$pid"
kill -0 "$first" 2>/dev/null || fail "two at once: the first process ended too early for the test to mean anything"
wait "$first" || true # it exits 1: the dump it waits for is under another name
json_ok "$out/shared.json"
grep -qF '"global":{"calls":12,' "$out/shared.json" || { head -c 300 "$out/shared.json" >&2; fail "two at once: the first process's dump is not its own"; }
[ ! -e "$out/shared.json.lock" ] || fail "two at once: the first process left its lock"
ok "two processes at once: the second writes shared.json.<pid>, both dumps complete"

printf 'outputs-wrap-test: %d checks passed\n' "$n"
