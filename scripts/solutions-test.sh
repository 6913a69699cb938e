#!/usr/bin/env bash
# One example solution (examples/solutions/<name>/) run as separate
# processes by kos-host-run, with traces, and checked:
#
#   scripts/solutions-test.sh KOS_HOST_RUN KOS_IPC_TRACE SOLUTION_DIR BIN_DIR OUTDIR
#
# 0. `kos-ipc-trace names <entity> -I SOLUTION_DIR/idl` reads the
#    descriptions of every entity init.yaml names;
# 1. `kos-host-run --trace OUTDIR/trace --bin-dir BIN_DIR SOLUTION_DIR/init.yaml`
#    exits 0 within its --timeout;
# 2. every entity's stdout lines are exactly SOLUTION_DIR/expected-output.txt's
#    lines of that entity, in order (entities interleave: compared entity
#    by entity); nothing on stderr but the launcher's own lines;
# 3. the launcher's merge line says every call was linked to its server and
#    back, nothing unmatched, nothing lost;
# 4. OUTDIR/trace/merged.json links each client call to the server's receive
#    and reply, per method as SOLUTION_DIR/expected-trace.txt counts them
#    (scripts/solutions_check.py trace).
set -euo pipefail

run=$1 tool=$2 sol=$3 bin=$4 out=$5
name=$(basename "$sol")
rm -rf "$out"
mkdir -p "$out"
fail() {
    printf 'FAIL solutions-test %s: %s\n' "$name" "$*" >&2
    exit 1
}
# Only what init.yaml and this script set reaches the entities.
for v in $(compgen -e | grep -E '^KOS_(SHIM|HOST)_' || true); do unset "$v"; done

entities=$(sed -n 's/^  - name: //p' "$sol/init.yaml")
[ -n "$entities" ] || fail "no entities in $sol/init.yaml"
for e in $entities; do
    "$tool" names "$e" -I "$sol/idl" >"$out/$e.names" 2>"$out/$e.names.err" ||
        { cat "$out/$e.names.err" >&2; fail "kos-ipc-trace names $e -I $sol/idl failed"; }
    grep -q "^entity $e " "$out/$e.names" || fail "kos-ipc-trace names $e: no entity line"
done

# The default clock (TSC): Header::now calibrates before pairing its start
# tick with the wall clock, so the merged timeline aligns the processes.
status=0
KOS_SHIM_TRACE_PAYLOAD=256 timeout 180 "$run" --timeout 60 \
    --bin-dir "$bin" --trace "$out/trace" "$sol/init.yaml" >"$out/stdout" 2>"$out/stderr" || status=$?
if [ "$status" -ne 0 ]; then
    cat "$out/stdout" "$out/stderr" >&2
    fail "kos-host-run exited with status $status, expected 0"
fi

python3 scripts/solutions_check.py output "$out/stdout" "$sol/expected-output.txt" ||
    { cat "$out/stdout" >&2; fail "stdout differs from $sol/expected-output.txt"; }
if grep -v '^kos-host-run: ' "$out/stderr" >"$out/stderr.entities"; then
    cat "$out/stderr.entities" >&2
    fail "entities wrote to stderr"
fi

# kos-host-run: trace DIR/merged.json: 2 traces, 15 records: 5 of 5 calls linked to their
# server (...), 5 replies linked; 0 server records without a client call, 0 calls without
# a server record, 0 lost
merge=$(grep "^kos-host-run: trace $out/trace/merged.json: " "$out/stderr") ||
    { cat "$out/stderr" >&2; fail "no merge line from the launcher"; }
calls=$(awk '!/^#/ && NF == 4 { n += $4 } END { print n + 0 }' "$sol/expected-trace.txt")
n=$(wc -w <<<"$entities")
pattern="merged.json: $n traces, [0-9]+ records: $calls of $calls calls linked to their server \(.*\), $calls replies linked; 0 server records without a client call, 0 calls without a server record, 0 lost$"
grep -Eq "$pattern" <<<"$merge" || fail "merge line: expected $calls of $calls calls linked, nothing unmatched or lost: $merge"

python3 scripts/solutions_check.py trace "$out/trace/merged.json" "$sol/expected-trace.txt" ||
    fail "merged trace differs from $sol/expected-trace.txt"
echo "solutions-test $name: descriptions read, status 0, output as expected, $calls of $calls calls linked across $n processes"
