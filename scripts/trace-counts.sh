#!/usr/bin/env bash
# Shared by the wrap tests (sourced): calls per operation, and lost records,
# as a trace's readers see them. Needs $tool (kos-ipc-trace) for .kst files
# and a `fail` function.

# Calls per operation in a .kst summary, and its lost count.
kst_counts() { # file
    "$tool" summary "$1" >"$1.summary" || fail "kos-ipc-trace summary $1"
    awk 'NR == 1 { lost = $(NF - 1) }
         NR > 2 && $1 ~ /^(call|callex|recv|recvex|reply)$/ { n[$1] += $3 }
         END { printf "call=%d callex=%d recv=%d recvex=%d reply=%d lost=%d\n",
               n["call"], n["callex"], n["recv"], n["recvex"], n["reply"], lost }' "$1.summary"
}

# Call events per operation (one event class each) in a CTF directory, and the dropped counts of its lost events.
ctf_counts() { # dir
    babeltrace2 "$1" >"$1.bt" 2>"$1.bt.err" || { cat "$1.bt.err" >&2; fail "babeltrace2 $1"; }
    awk 'match($0, /kos_ipc:(call|callex|recv|recvex|reply):/) { n[substr($0, RSTART + 8, RLENGTH - 9)]++ }
         /kos_ipc:lost:/ { if (match($0, /dropped = [0-9]+/)) lost += substr($0, RSTART + 10, RLENGTH - 10) }
         END { printf "call=%d callex=%d recv=%d recvex=%d reply=%d lost=%d\n",
               n["call"], n["callex"], n["recv"], n["recvex"], n["reply"], lost }' "$1.bt"
}

