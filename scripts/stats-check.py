#!/usr/bin/env python3
"""Checks statistics dumps against what the programs did.

    stats-check.py TEXT_DUMP PATTERNS JSON_DUMP
        The dumps of ctests/stats_dump.c (`make stats-test`). TEXT_DUMP must
        have, for every pattern line of PATTERNS (extended regexes where H
        stands for a handle, D for a duration and P for a percentage), a line
        it matches, and exactly one data row per key. Its total row must
        hold the sums of the data rows; each row's %time must be its share
        of the summed latency totals, redone here exactly from the JSON
        dump's nanoseconds (rounded half up to 0.01), and the rows must be
        sorted by total time. JSON_DUMP must be schema version 1, carry the
        same numbers as the C test caused, and its totals the sums of its
        keys.

    stats-check.py echo PROGRAM_STDOUT JSON_DUMP
        The dump of ctests/interpose/echo_prog.c (`make stats-wrap-test`):
        per operation, the calls the program says it made ("made call=N
        callex=N ...") equal the dump's global count and the sum of its rows;
        every row is an echo (iid 42) or quit (mid 2) call that succeeded,
        with a latency per call (level timing), and the rows are exactly the
        ones the program's loop makes.

    stats-check.py periodic PROGRAM_STDOUT JSONL_LOG TEXT_LOG
        The logs of ctests/interpose/stats_periodic.c with
        KOS_SHIM_STATS_INTERVAL (`make stats-wrap-test`): JSONL_LOG holds
        periodic dumps 1, 2, 3... (at least 3) whose cumulative counts and
        times never go down and whose calls_since_last is the difference,
        then the final dump with the calls the program says it made, last;
        TEXT_LOG holds as many periodic tables, then the final one, with
        the same counts.

Prints one line per failed check and exits 1 if any failed.
"""
import json
import re
import sys

DURATION = r"[0-9]+(\.[0-9]+)?(ns|us|ms|s)"
HANDLE = r"[0-9]+"
PERCENT = r"[0-9]+\.[0-9]{2}"
UNITS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}

# (op, iid, mid) -> calls, ok, denied, rc name of the errors, bytes out/in
EXPECTED = {
    ("call", 7, 1): (35, 30, 0, {"rcNotConnected": 5}, 35 * 24, 30 * 24),
    ("call", 7, 2): (20, 0, 20, {"rcSecurityDisallow": 20}, 0, 0),
    ("call", 7, 3): (10, 10, 0, {}, 240, 240),
    ("call", 7, 99): (1, 1, 0, {}, 24, 24),
    ("call", 0, 0): (2, 0, 0, {"rcInvalidArgument": 2}, 0, 0),
    ("recv", 7, 1): (30, 30, 0, {}, 0, 720),
    ("recv", 7, 3): (10, 10, 0, {}, 0, 240),
    ("recv", 7, 99): (1, 1, 0, {}, 0, 24),
    ("reply", 7, 1): (30, 30, 0, {}, 720, 0),
    ("reply", 7, 3): (10, 10, 0, {}, 240, 0),
    ("reply", 7, 99): (1, 1, 0, {}, 24, 0),
}
NAMES = {1: "Ping", 2: "Forbidden", 3: "Slow", 99: "Stop"}

failures = []


def fail(msg):
    failures.append(msg)
    print(f"stats-check: {msg}")


def check_text(path, patterns_path):
    lines = open(path).read().splitlines()
    for raw in open(patterns_path).read().splitlines():
        if not raw or raw.startswith("#"):
            continue
        pat = re.sub(r"\bP\b", PERCENT, re.sub(r"\bD\b", DURATION, re.sub(r"\bH\b", HANDLE, raw)))
        if not any(re.search(pat, l) for l in lines):
            fail(f"{path}: no line matches {raw!r}")
    # The policy's section (lines starting with "policy") follows the table.
    table = [l.split() for l in lines[2:] if l.strip() and not l.startswith("policy")]
    head, rows = table[0], table[1:]
    if not rows or rows[-1][0] != "total":
        fail(f"{path}: the last row is not the total row")
        return None
    total, rows = dict(zip(head, rows[-1])), [dict(zip(head, r)) for r in rows[:-1]]
    if len(rows) != 12:
        fail(f"{path}: {len(rows)} data rows, expected 12")
    for col in ("calls", "errors", "denied", "out", "in"):
        s = sum(int(r[col]) for r in rows)
        if int(total[col]) != s:
            fail(f"{path}: total row {col} = {total[col]}, the rows add up to {s}")
    return head, rows, total


def duration_ns(text):
    m = re.fullmatch(r"([0-9.]+)(ns|us|ms|s)", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def percent(part, whole):
    """dump.rs's percent(): two decimals, rounded half up, in integers."""
    bp = (part * 10000 + whole // 2) // whole
    return f"{bp // 100}.{bp % 100:02d}"


def check_shares(path, text, json_path):
    """The text rows' %time, order and total row against the JSON's ns."""
    head, rows, total = text
    doc = json.load(open(json_path))
    by_key = {(k["op"], k["handle"], f"{k['iid']}.{k['mid']}"): k for k in doc["keys"] if not k["overflow"]}
    whole = sum(k["latency_ns"]["total"] for k in by_key.values() if k["latency_ns"])
    last = None
    for r in rows:
        k = by_key.get((r["op"], int(r["handle"]), r["iid.mid"]))
        if k is None or k["latency_ns"] is None:
            fail(f"{path}: row {r} has no timed key in {json_path}")
            continue
        ns = k["latency_ns"]["total"]
        if r["%time"] != percent(ns, whole):
            fail(f"{path}: {r['op']} {r['iid.mid']}: %time {r['%time']}, "
                 f"expected {percent(ns, whole)} ({ns} of {whole} ns)")
        if last is not None and ns > last:
            fail(f"{path}: {r['op']} {r['iid.mid']}: not sorted by total time ({ns} ns after {last} ns)")
        last = ns
    if total["%time"] != "100.00":
        fail(f"{path}: total row %time {total['%time']}, expected 100.00")
    got = duration_ns(total["total"])
    # Three significant digits: within 0.5 %.
    if got is None or abs(got - whole) > whole * 0.005:
        fail(f"{path}: total row total {total['total']}, the rows' latencies add up to {whole} ns")
    mx = max(k["latency_ns"]["max"] for k in by_key.values() if k["latency_ns"])
    got = duration_ns(total["max"])
    if got is None or abs(got - mx) > mx * 0.005:
        fail(f"{path}: total row max {total['max']}, the largest row max is {mx} ns")
    shares = sum(float(r["%time"]) for r in rows)
    if abs(shares - 100) > 0.005 * len(rows):
        fail(f"{path}: the rows' %time add up to {shares:.2f}")


def check_json(path):
    doc = json.load(open(path))
    if doc.get("version") != 1:
        fail(f"{path}: version {doc.get('version')!r}, expected 1")
    g = doc["global"]
    # keys: 13 table slots, one of them (call 1 0.0) zeroed by the reset.
    want_global = {"calls": 150, "reentrant": 0, "dropped": 0, "keys": 13}
    for k, v in want_global.items():
        if g[k] != v:
            fail(f"{path}: global.{k} = {g[k]}, expected {v}")
    if g["calls_by_op"] != {"call": 68, "callex": 0, "recv": 41, "recvex": 0, "reply": 41}:
        fail(f"{path}: global.calls_by_op = {g['calls_by_op']}")
    if sum(k["calls"] for k in doc["keys"]) != g["calls"]:
        fail(f"{path}: the keys' calls do not add up to global.calls")
    merged = {}
    for k in doc["keys"]:
        if k["overflow"]:
            fail(f"{path}: unexpected overflow row")
            continue
        key = (k["op"], k["iid"], k["mid"])
        m = merged.setdefault(key, {"calls": 0, "ok": 0, "denied": 0, "rc": {}, "out": 0, "in": 0})
        m["calls"] += k["calls"]
        m["ok"] += k["ok"]
        m["denied"] += k["denied"]
        for name, n in k["rc"].items():
            m["rc"][name] = m["rc"].get(name, 0) + n
        b = k["bytes"]
        m["out"] += b["out_const"] + b["out_arena"]
        m["in"] += b["in_const"] + b["in_arena"]
        if k["errors"] != k["calls"] - k["ok"]:
            fail(f"{path}: {key}: errors != calls - ok")
        lat = k["latency_ns"]
        if lat is None or lat["count"] != k["calls"]:
            fail(f"{path}: {key}: latency count {lat and lat['count']} != calls {k['calls']}")
        elif not lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"] <= lat["total"]:
            fail(f"{path}: {key}: latency figures out of order: {lat}")
        if k["iid"] == 7:
            if k["interface"] != "Echo" or k["method"] != NAMES[k["mid"]]:
                fail(f"{path}: {key}: names {k['interface']!r}.{k['method']!r}")
    for key, (calls, ok, denied, rc, out, inn) in EXPECTED.items():
        m = merged.get(key)
        if m is None:
            fail(f"{path}: no row for {key}")
            continue
        got = (m["calls"], m["ok"], m["denied"], m["rc"], m["out"], m["in"])
        if got != (calls, ok, denied, rc, out, inn):
            fail(f"{path}: {key}: (calls, ok, denied, rc, out, in) = {got}, expected {(calls, ok, denied, rc, out, inn)}")
    if set(merged) != set(EXPECTED):
        fail(f"{path}: keys {sorted(merged)} != {sorted(EXPECTED)}")
    t = doc.get("totals")
    if t is None:
        fail(f"{path}: no totals")
        return
    want = {c: sum(k[c] for k in doc["keys"]) for c in ("calls", "ok", "errors", "denied", "audit_denied")}
    want["bytes"] = {b: sum(k["bytes"][b] for k in doc["keys"]) for b in t["bytes"]}
    lats = [k["latency_ns"] for k in doc["keys"] if k["latency_ns"]]
    want["latency_ns"] = {"count": sum(l["count"] for l in lats), "total": sum(l["total"] for l in lats),
                          "max": max(l["max"] for l in lats)}
    if t != want:
        fail(f"{path}: totals {t}, the keys add up to {want}")


OPS = ["call", "callex", "recv", "recvex", "reply"]
ECHO_IID = 42
# echo_prog.c: 200 echo requests (mid 1), even ones by Call, odd ones by
# CallEx, then one quit (mid 2) by Call (its number, 200, is even); the
# server receives them alternately by Recv and RecvEx and answers each.
ECHO_ROWS = {
    ("call", 1): 100, ("call", 2): 1, ("callex", 1): 100,
    ("recv", 1): 100, ("recv", 2): 1, ("recvex", 1): 100,
    ("reply", 1): 200, ("reply", 2): 1,
}


def check_echo(stdout_path, path):
    out = open(stdout_path).read()
    m = re.search(r"made " + " ".join(f"{op}=([0-9]+)" for op in OPS), out)
    if not m:
        fail(f"{stdout_path}: no 'made call=N ...' line")
        return
    made = dict(zip(OPS, map(int, m.groups())))
    doc = json.load(open(path))
    if doc.get("version") != 1 or doc.get("level") != "timing":
        fail(f"{path}: version {doc.get('version')!r}, level {doc.get('level')!r}")
    g = doc["global"]
    if g["calls_by_op"] != made:
        fail(f"{path}: global.calls_by_op = {g['calls_by_op']}, the program made {made}")
    if g["calls"] != sum(made.values()):
        fail(f"{path}: global.calls = {g['calls']}, the program made {sum(made.values())}")
    for k in ("reentrant", "dropped"):
        if g[k] != 0:
            fail(f"{path}: global.{k} = {g[k]}, expected 0")
    rows = {}
    per_op = dict.fromkeys(OPS, 0)
    for k in doc["keys"]:
        key = (k["op"], k["mid"])
        if k["overflow"] or k["iid"] != ECHO_IID or key in rows:
            fail(f"{path}: unexpected row {k}")
            continue
        rows[key] = k["calls"]
        per_op[k["op"]] += k["calls"]
        if (k["ok"], k["errors"], k["denied"], k["rc"]) != (k["calls"], 0, 0, {}):
            fail(f"{path}: {key}: not every call succeeded: {k}")
        lat = k["latency_ns"]
        if lat is None or lat["count"] != k["calls"]:
            fail(f"{path}: {key}: latency count {lat and lat['count']} != calls {k['calls']}")
    if per_op != made:
        fail(f"{path}: the rows add up to {per_op}, the program made {made}")
    if rows != ECHO_ROWS:
        fail(f"{path}: rows (op, mid) -> calls {rows}, expected {ECHO_ROWS}")
    if not failures:
        print(f"stats-check: {path}: {g['calls']} calls, as the program made them "
              f"({', '.join(f'{op} {n}' for op, n in made.items())}), in {len(rows)} rows")


def check_periodic(stdout_path, jsonl_path, text_path):
    m = re.search(r"made ([0-9]+) calls", open(stdout_path).read())
    if not m:
        fail(f"{stdout_path}: no 'made N calls' line")
        return
    made = int(m.group(1))
    docs = []
    for n, line in enumerate(open(jsonl_path).read().splitlines(), 1):
        try:
            docs.append(json.loads(line))
        except ValueError as e:
            fail(f"{jsonl_path}:{n}: not one JSON document: {e}")
            return
    if len(docs) < 4:
        fail(f"{jsonl_path}: {len(docs)} dumps, expected at least 3 periodic and the final one")
        return
    *periodic, final = docs
    calls = elapsed = 0
    for i, d in enumerate(periodic, 1):
        dump, c = d.get("dump", {}), d["global"]["calls"]
        if dump.get("kind") != "periodic" or dump.get("seq") != i:
            fail(f"{jsonl_path}:{i}: dump {dump}, expected periodic {i}")
        if c < calls or dump.get("elapsed_ns", -1) < elapsed:
            fail(f"{jsonl_path}:{i}: calls {c} or time {dump.get('elapsed_ns')} went down")
        if dump.get("calls_since_last") != c - calls:
            fail(f"{jsonl_path}:{i}: calls_since_last {dump.get('calls_since_last')}, expected {c - calls}")
        if d["totals"]["calls"] != c:
            fail(f"{jsonl_path}:{i}: totals.calls {d['totals']['calls']} != global.calls {c}")
        calls, elapsed = c, dump.get("elapsed_ns", 0)
    if final.get("dump", {}).get("kind") != "final" or final["global"]["calls"] != made:
        fail(f"{jsonl_path}: last dump {final.get('dump')} with {final['global']['calls']} calls, "
             f"expected the final one with {made}")
    headers, counts = [], []
    for line in open(text_path).read().splitlines():
        h = re.fullmatch(r"=== kos-ipc-shim statistics: (periodic [0-9]+|final) at [0-9]+\.[0-9]{3} s \(cumulative\) ===", line)
        if h:
            headers.append(h.group(1))
        elif line.startswith("calls "):
            counts.append(int(line.split()[1].rstrip(",")))
    want = [f"periodic {i}" for i in range(1, len(periodic) + 1)] + ["final"]
    if headers != want or len(counts) != len(want):
        fail(f"{text_path}: dumps {headers} ({len(counts)} tables), expected {want}")
    elif counts != sorted(counts) or counts[-1] != made:
        fail(f"{text_path}: calls per dump {counts}: must not go down and end at {made}")
    if not failures:
        print(f"stats-check: {len(periodic)} periodic dumps and the final one ({made} calls) "
              f"in {jsonl_path} and {text_path}")


if len(sys.argv) == 5 and sys.argv[1] == "periodic":
    check_periodic(sys.argv[2], sys.argv[3], sys.argv[4])
elif len(sys.argv) == 4 and sys.argv[1] == "echo":
    check_echo(sys.argv[2], sys.argv[3])
elif len(sys.argv) == 4:
    text = check_text(sys.argv[1], sys.argv[2])
    check_json(sys.argv[3])
    if text:
        check_shares(sys.argv[1], text, sys.argv[3])
    if not failures:
        print(f"stats-check: text and JSON dumps carry the expected numbers ({len(EXPECTED)} keys checked)")
else:
    sys.exit(__doc__)
if failures:
    sys.exit(1)
