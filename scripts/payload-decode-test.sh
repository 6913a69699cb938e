#!/usr/bin/env bash
# Payload decoding end to end (issue 14): ctests/payload_decode checks the
# text and JSON traces in-process; this reads the .kst and CTF traces the
# same run wrote, with kos-ipc-trace and babeltrace2, and checks they show
# the same decoded calls, with the trace's own name map and with one made
# by `kos-ipc-trace names` from the descriptions.
#
#   scripts/payload-decode-test.sh TOOL BINARY DIR
set -euo pipefail
tool=$1 bin=$2 dir=$3
rm -rf "$dir"; mkdir -p "$dir"
fail() { echo "payload-decode-test: FAIL: $*" >&2; exit 1; }

PAYLOAD_DIR=$dir "$bin" > "$dir/run.out" 2> "$dir/run.err" || { cat "$dir/run.err" >&2; fail "$bin failed"; }
expected=$dir/expected.txt
[ "$(wc -l < "$expected")" -ge 10 ] || fail "$expected lists too few calls"

# every expected text appears in OUT ($2: what it is)
check() {
    local out=$1 what=$2 missing="" line
    while IFS= read -r line; do
        grep -qF -- "$line" "$out" || missing+="  missing: $line"$'\n'
    done < "$expected"
    [ -z "$missing" ] || { printf '%s' "$missing" >&2; fail "$what does not show every decoded call"; }
}

"$tool" export --format text "$dir/trace.kst" "$dir/export.txt"
check "$dir/export.txt" "kos-ipc-trace export --format text"
if grep -q 'Skip' "$dir/export.txt"; then fail "the filtered method Skip was traced"; fi

"$tool" names ctests/idl/rt/Prober.edl -I ctests/idl -o "$dir/prober.names"
grep -qx 'entity rt.Prober { probe: rt.Probe; spare: rt.Probe; }' "$dir/prober.names" \
    || fail "kos-ipc-trace names: no entity line in $dir/prober.names"
"$tool" --names "$dir/prober.names" export --format text "$dir/trace.kst" "$dir/export-names.txt"
check "$dir/export-names.txt" "export with the map from kos-ipc-trace names"

# babeltrace2 prints the params string with one more level of C-style
# escapes than the decoded text has: remove that level, then look for the
# decoded texts in the params strings.
babeltrace2 "$dir/ctf" | sed -n 's/.*params = "\(.*\)" }$/\1/p' | sed 's/\\\(.\)/\1/g' > "$dir/ctf-params.txt"
grep -v ' out=$' "$expected" > "$dir/expected-ctf.txt"
expected=$dir/expected-ctf.txt check "$dir/ctf-params.txt" "babeltrace2 (CTF params)"

echo "payload-decode-test: $(wc -l < "$expected") decoded calls found in the text, JSON, .kst export (own and generated name map) and CTF traces"
