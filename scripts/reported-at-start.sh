#!/usr/bin/env bash
# Shared by the wrap tests: checks that the shim reports an unusable output
# path at start-up, not at exit — run with stdout line-buffered, the
# `cannot write` line must come before the program's `echo_prog:` result.
# Only for a program run directly on the host (stdbuf cannot reach into an
# emulated one, and an LD_PRELOAD of the command's own would replace
# stdbuf's); otherwise it does nothing.
#
#   reported_at_start LOG_FILE PROGRAM... -- VAR=VALUE...   (sourced; calls fail on error)
reported_at_start() {
    local log=$1
    shift
    local -a prog=() vars=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do prog+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    vars=("$@")
    [ ${#prog[@]} -eq 1 ] && command -v stdbuf >/dev/null || return 0
    env -u KOS_SHIM_LOG -u KOS_SHIM_STATS_SIGNAL -u KOS_SHIM_TRACE_BUF "${vars[@]}" \
        stdbuf -oL "${prog[0]}" >"$log" 2>&1 || fail "the ordering run failed"
    local said result
    said=$(grep -n 'cannot write' "$log" | head -n1 | cut -d: -f1)
    result=$(grep -n '^echo_prog:' "$log" | cut -d: -f1)
    [ -n "$said" ] && [ -n "$result" ] && [ "$said" -lt "$result" ] ||
        { cat "$log" >&2; fail "the unusable path was not reported before the program's result"; }
}
