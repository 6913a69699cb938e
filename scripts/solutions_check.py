#!/usr/bin/env python3
"""Checks a run of an example solution under kos-host-run (examples/solutions/).

    solutions_check.py output ACTUAL EXPECTED
    solutions_check.py trace MERGED_JSON EXPECTED

output: ACTUAL holds what the launcher printed on one stream, each line
`[entity] text`. Processes interleave, so both files are compared entity
by entity: the lines of each entity, in the order that entity wrote them,
must be exactly EXPECTED's (lines starting with `#` in EXPECTED are
comments). Lines without an `[entity] ` prefix (the launcher's own) are
left out of the comparison.

trace: MERGED_JSON is the launcher's DIR/merged.json (kos-ipc-trace merge).
Every client Call/CallEx slice must start exactly one `request` arrow that
ends on a Recv/RecvEx slice of another process with the same iid and mid,
and end exactly one `response` arrow that starts on a Reply slice of that
process, same iid and mid. EXPECTED lists, one per line,
`CLIENT SERVER METHOD COUNT`: how many calls CLIENT made that SERVER
received as METHOD (the receiving process's name for it); the links found
must be exactly those. Prints one summary line.
"""
import collections
import json
import re
import sys


def fail(msg):
    print(f"FAIL solutions_check {sys.argv[1]} {sys.argv[2]}: {msg}", file=sys.stderr)
    sys.exit(1)


def read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError as e:
        fail(f"cannot read: {e}")


PREFIX = re.compile(r"^\[([^\]\s]+)\] ")


def by_entity(lines):
    out = collections.OrderedDict()
    for line in lines:
        m = PREFIX.match(line)
        if m:
            out.setdefault(m.group(1), []).append(line)
    return out


def check_output(actual_path, expected_path):
    actual = by_entity(read_lines(actual_path))
    expected = by_entity(l for l in read_lines(expected_path) if not l.startswith("#"))
    problems = []
    for entity in sorted(set(actual) | set(expected)):
        got, want = actual.get(entity, []), expected.get(entity, [])
        if got == want:
            continue
        for i in range(max(len(got), len(want))):
            g = got[i] if i < len(got) else "<no line>"
            w = want[i] if i < len(want) else "<no line>"
            if g != w:
                problems.append(f"{entity} line {i + 1}: got {g!r}, expected {w!r}")
                break
    if problems:
        fail("; ".join(problems))
    n = sum(len(v) for v in expected.values())
    print(f"solutions_check output: {n} lines of {len(expected)} entities as expected")


def check_trace(path, expected_path):
    try:
        with open(path) as f:
            events = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"does not parse: {e}")
    if not isinstance(events, list):
        fail("not a JSON array of events")
    procs = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "process_name":
            procs[e["pid"]] = re.sub(r" \(pid \d+\)$", "", e["args"]["name"])
    slices = [e for e in events if e.get("ph") == "X"]

    def enclosing(flow):
        """The index of the slice of the flow's thread that holds its time."""
        found = [i for i, s in enumerate(slices)
                 if s["pid"] == flow["pid"] and s["tid"] == flow["tid"]
                 and s["ts"] <= flow["ts"] <= s["ts"] + s["dur"]]
        if len(found) != 1:
            fail(f"flow {flow['name']} {flow['id']} lies in {len(found)} slices, expected 1")
        return found[0]

    def op(s):
        return s["name"].split(" ", 1)[0]

    flows = collections.defaultdict(dict)
    for e in events:
        if e.get("ph") in ("s", "f"):
            key = (e["name"], e["id"])
            if e["ph"] in flows[key]:
                fail(f"flow {key} has two '{e['ph']}' events")
            flows[key][e["ph"]] = enclosing(e)
    requests, responses = collections.Counter(), collections.Counter()
    links = collections.Counter()
    for (name, fid), ends in flows.items():
        if set(ends) != {"s", "f"}:
            fail(f"flow {name} {fid} lacks its {'start' if 's' not in ends else 'end'}")
        start, end = slices[ends["s"]], slices[ends["f"]]
        call, served = (start, end) if name == "request" else (end, start)
        call_index = ends["s"] if name == "request" else ends["f"]
        want = ("RecvEx", "Recv") if name == "request" else ("Reply",)
        if op(call) not in ("Call", "CallEx") or op(served) not in want:
            fail(f"{name} flow {fid} links {call['name']!r} and {served['name']!r}")
        if call["pid"] == served["pid"]:
            fail(f"{name} flow {fid} stays in process {procs.get(call['pid'])}")
        ids = lambda s: (s["args"]["iid"], s["args"]["mid"])
        if ids(call) != ids(served):
            fail(f"{name} flow {fid}: call iid/mid {ids(call)}, server's {ids(served)}")
        (requests if name == "request" else responses)[call_index] += 1
        if name == "request":
            server_method = served["args"]["method"]
            links[(procs.get(call["pid"]), procs.get(served["pid"]), server_method)] += 1
    calls = [i for i, s in enumerate(slices) if op(s) in ("Call", "CallEx")]
    for i in calls:
        c, r, p = slices[i], requests[i], responses[i]
        if r != 1 or p != 1:
            fail(f"{procs.get(c['pid'])} {c['name']} at {c['ts']}: {r} request and {p} "
                 f"response arrows, expected 1 each")
    expected = collections.Counter()
    for line in read_lines(expected_path):
        if not line.strip() or line.startswith("#"):
            continue
        client, server, method, count = line.split()
        expected[(client, server, method)] += int(count)
    if links != expected:
        diff = [f"{k[0]} -> {k[1]} {k[2]}: {links[k]} linked, expected {expected[k]}"
                for k in sorted(set(links) | set(expected)) if links[k] != expected[k]]
        fail("; ".join(diff))
    print(f"solutions_check trace: {len(calls)} calls, each linked to its server's receive "
          f"and reply, in {len(procs)} processes, as expected")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("output", "trace"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if sys.argv[1] == "output":
        check_output(sys.argv[2], sys.argv[3])
    else:
        check_trace(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
