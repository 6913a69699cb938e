#!/usr/bin/env bash
# Checks that a static archive is the no_std core: no std or alloc crate
# inside, and nothing needed from outside but the C functions the core
# declares itself (guard: pthread_self; clock: clock_gettime; panic: abort)
# and the kernel entry points the wrap backend forwards to (__real_*).
#
#   scripts/nostd-check.sh LIBRARY.a
set -euo pipefail

lib=$1
allowed="abort clock_gettime pthread_self __real_Call __real_CallEx __real_Recv __real_RecvEx __real_Reply"
[ -f "$lib" ] || { echo "nostd-check: $lib does not exist" >&2; exit 1; }

members=$(ar t "$lib")
if grep -Eq '^(std|alloc|panic_unwind|unwind)-' <<<"$members"; then
    echo "FAIL nostd-check $lib: contains std/alloc members:" >&2
    grep -E '^(std|alloc|panic_unwind|unwind)-' <<<"$members" | sed 's/^/  /' >&2
    exit 1
fi

syms=$(readelf -sW "$lib" | awk '($5 == "GLOBAL" || $5 == "WEAK") && NF >= 8 { print ($7 == "UND" ? "U" : "D"), $8 }')
defined=$(awk '$1 == "D" { print $2 }' <<<"$syms" | sort -u)
undefined=$(awk '$1 == "U" { print $2 }' <<<"$syms" | sort -u)
external=$(comm -23 <(echo "$undefined") <(echo "$defined") | sed '/^$/d')
unexpected=$(comm -23 <(echo "$external") <(tr ' ' '\n' <<<"$allowed" | sort) | sed '/^$/d')
if [ -n "$unexpected" ]; then
    echo "FAIL nostd-check $lib: needs symbols from outside the no_std core:" >&2
    printf '  %s\n' $unexpected >&2
    exit 1
fi
printf 'ok   nostd %s: no std/alloc, external symbols: %s\n' "$lib" "$(echo $external)"
