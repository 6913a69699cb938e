#!/usr/bin/env python3
"""Checks a Chrome Trace Event JSON file written by kos-ipc-shim.

    trace_check_json.py FILE CALLS [FLOW_PAIRS]

Passes when FILE parses as JSON, holds exactly CALLS complete ("X") events,
each with the record fields in args; every flow start ("s") has exactly one
finish ("f", bound to its enclosing slice) with the same id and name, and the
other way round; and, when FLOW_PAIRS is given, there are exactly that many
request and that many response flows. Prints one summary line.
"""
import collections
import json
import sys


def fail(msg):
    print(f"FAIL trace_check_json {sys.argv[1]}: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    path, calls = sys.argv[1], int(sys.argv[2])
    pairs = int(sys.argv[3]) if len(sys.argv) > 3 else None
    try:
        with open(path) as f:
            events = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"does not parse: {e}")
    if not isinstance(events, list):
        fail("not a JSON array of events")
    xs = [e for e in events if e.get("ph") == "X"]
    if len(xs) != calls:
        fail(f"{len(xs)} complete events, expected {calls}")
    need = {"handle", "iid", "mid", "method", "rc", "rc_name", "verdict", "const_out",
            "arena_out", "const_in", "arena_in", "ncaps_out", "ncaps_in", "correlation",
            "peer_task", "peer_thread", "trace_id", "span_id"}
    for e in xs:
        missing = need - set(e.get("args", {}))
        if missing:
            fail(f"event {e.get('name')} lacks args {sorted(missing)}")
        if not isinstance(e.get("ts"), (int, float)) or not isinstance(e.get("dur"), (int, float)):
            fail(f"event {e.get('name')} lacks numeric ts/dur")
    starts = collections.Counter((e["id"], e["name"]) for e in events if e.get("ph") == "s")
    ends = collections.Counter((e["id"], e["name"]) for e in events if e.get("ph") == "f")
    for e in events:
        if e.get("ph") == "f" and e.get("bp") != "e":
            fail(f"flow end {e['id']} not bound to its enclosing slice")
    if any(n != 1 for n in starts.values()) or any(n != 1 for n in ends.values()):
        fail("a flow id is used more than once")
    if starts != ends:
        unpaired = sorted(set(starts) ^ set(ends))[:5]
        fail(f"{len(set(starts) ^ set(ends))} unpaired flow events, e.g. {unpaired}")
    kinds = collections.Counter(name for (_, name) in starts)
    if pairs is not None and (kinds["request"] != pairs or kinds["response"] != pairs):
        fail(f"{kinds['request']} request and {kinds['response']} response flows, expected {pairs} each")
    threads = {e["tid"] for e in xs}
    print(f"trace_check_json: {len(xs)} calls on {len(threads)} threads, "
          f"{kinds['request']} request and {kinds['response']} response flows, all paired")


if __name__ == "__main__":
    main()
