#!/usr/bin/env bash
# Lists the C-visible symbols a library defines and compares them with the
# intended list.
#
#   scripts/symbols-check.sh LIBRARY EXPECTED_LIST[:MORE_LISTS...] [READELF]
#
# LIBRARY is a static archive (.a) or a shared object (.so). The expected set
# is the union of the lists (colon-separated), one symbol per line ('#'
# comments allowed). Exits 1, naming every
# difference, when the sets differ.
#
# What counts as C-visible:
#   .so  every defined dynamic symbol (`nm -D --defined-only`): exactly what
#        the dynamic linker can bind a program to.
#   .a   every defined GLOBAL or WEAK symbol of every member (readelf, which
#        unlike nm never hands Rust's LLVM bitcode to a bfd LTO plugin), except
#          - Rust-mangled names (_ZN..., _R...) and names that are not C
#            identifiers (DW.ref.rust_eh_personality, anon.*.llvm.*): not
#            nameable from C;
#          - HIDDEN symbols of the compiler runtime that every Rust staticlib
#            carries (members of the compiler_builtins crate and the
#            compiler-rt C objects inside it, named <hash>-<file>.o): integer
#            and float helpers (__udivti3, __aarch64_cas4_acq, ...) and weak
#            libm fallbacks (fabs, ...), the same helpers libgcc provides;
#            hidden, so never exported further, and weak or reserved (__)
#            names, so a program's own definitions win.
#        A DEFAULT-visibility symbol of the runtime would be reported.
set -euo pipefail

lib=$1 expected=$2 readelf=${3:-readelf}
[ -f "$lib" ] || { echo "symbols-check: $lib does not exist (build it first)" >&2; exit 1; }
IFS=: read -r -a lists <<<"$expected"
for l in "${lists[@]}"; do
    [ -f "$l" ] || { echo "symbols-check: $l does not exist" >&2; exit 1; }
done

actual=$(mktemp) want=$(mktemp)
trap 'rm -f "$actual" "$want"' EXIT

case "$lib" in
*.so)
    nm -D --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sed 's/@.*//' | sort -u >"$actual"
    ;;
*.a)
    # readelf -sW prints "File: lib.a(member.o)" before each member's table.
    "$readelf" -sW "$lib" | awk '
        /^File: / {
            member = $2; sub(/^.*\(/, "", member); sub(/\)$/, "", member)
            runtime = (member ~ /^compiler_builtins-/ || member ~ /^[0-9a-f]+-[^.]+\.o$/)
            next
        }
        ($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" && NF >= 8 {
            name = $8
            if (name ~ /^_ZN/ || name ~ /^_R/) next
            if (name !~ /^[A-Za-z_][A-Za-z0-9_]*$/) next
            if (runtime && $6 == "HIDDEN") next
            print name
        }' | sort -u >"$actual"
    ;;
*)
    echo "symbols-check: $lib: expected a .a or a .so" >&2
    exit 1
    ;;
esac

cat "${lists[@]}" | sed 's/#.*//; s/[[:space:]]//g; /^$/d' | sort -u >"$want"

stray=$(comm -23 "$actual" "$want")
missing=$(comm -13 "$actual" "$want")
if [ -n "$stray$missing" ]; then
    echo "FAIL symbols-check $lib against $expected" >&2
    [ -n "$stray" ] && printf '  unexpected C-visible symbol: %s\n' $stray >&2
    [ -n "$missing" ] && printf '  missing (listed but not defined): %s\n' $missing >&2
    echo "  A new public export: add it to ${lists[0]} (and document it in the header)." >&2
    echo "  Anything else: make it private (no #[no_mangle], or static in C)." >&2
    exit 1
fi
printf 'ok   symbols %-48s %d C-visible symbols, as listed\n' "$lib" "$(wc -l <"$actual")"
