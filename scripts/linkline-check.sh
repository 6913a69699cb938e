#!/usr/bin/env bash
# Checks that the system libraries a C program links with the staticlib are
# stated consistently:
#   1. README.md's link example carries exactly the Makefile's NATIVE_LIBS;
#   2. NATIVE_LIBS equals what this rustc reports for a std staticlib
#      (`--print native-static-libs` on an empty crate: the crate itself adds
#      no #[link] of its own with default features; the C tests' link would
#      fail if it did).
#
#   scripts/linkline-check.sh "<NATIVE_LIBS>"
set -euo pipefail

libs=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! tr '\n' ' ' <README.md | tr -s ' ' | grep -qF -- "libkos_ipc_shim.a \\ $libs"; then
    echo "FAIL linkline: README.md's link line does not end in NATIVE_LIBS ($libs)" >&2
    exit 1
fi

: >"$tmp/empty.rs"
reported=$(rustc --crate-type staticlib --print native-static-libs "$tmp/empty.rs" \
    -o "$tmp/libempty.a" 2>&1 | sed -n 's/.*native-static-libs: //p')
if [ "$reported" != "$libs" ]; then
    echo "FAIL linkline: rustc reports '$reported', the Makefile's NATIVE_LIBS is '$libs'" >&2
    exit 1
fi
echo "ok   linkline: README and rustc agree with NATIVE_LIBS: $libs"
