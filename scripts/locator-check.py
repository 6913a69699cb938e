#!/usr/bin/env python3
"""The report of scripts/locator-wrap-test.sh, from the files a run of
ctests/interpose/locator_prog.c left in OUTDIR (see that script).

Every line is a fact with exact counts; lines within a section are sorted,
so the report does not depend on thread timing.
"""
import collections
import json
import re
import sys

out = sys.argv[1]


def section(title, lines):
    print(f"== {title}")
    for line in sorted(lines):
        print(line)


with open(f"{out}/run.out") as f:
    section("program", [line.rstrip("\n") for line in f])

with open(f"{out}/stats.json") as f:
    stats = json.load(f)


def j(v):
    """A JSON value as the report shows it (`null` for null)."""
    return "null" if v is None else str(v)


section(
    "statistics json: op handle connection iid interface mid calls",
    [
        " ".join(j(k[f]) for f in ("op", "handle", "connection", "iid", "interface", "mid", "calls"))
        for k in stats["keys"]
    ],
)

# The text dump: its columns up to `calls` (the rest is timing and bytes).
with open(f"{out}/stats.txt") as f:
    lines = f.read().splitlines()
head = next(i for i, line in enumerate(lines) if line.startswith("op "))
cols = lines[head].split()
upto = cols.index("calls") + 1
print("== statistics text columns: " + " ".join(cols[:upto]))
section("statistics text rows", [" ".join(line.split()[:upto]) for line in lines[head + 1:]])

# Trace lines on stderr: `... name[tid] op h=H[(conn)] method out=...`
# (`tid=N` for a thread without a name).
trace_line = re.compile(r"^kos-ipc-shim trace: \S+ (?:tid=\d+|\S+\[\d+\]) (\w+) +h=(\S+) (\S+) out=")
text, other = collections.Counter(), []
with open(f"{out}/run.err") as f:
    for line in f:
        m = trace_line.match(line)
        if m:
            text[m.groups()] += 1
        else:
            other.append("stderr: " + line.rstrip("\n"))
section("trace text (stderr): op h= method count", [f"{o} h={h} {m} {n}" for (o, h, m), n in text.items()])

with open(f"{out}/trace.json") as f:
    events = json.load(f)
chrome = collections.Counter(
    (e["name"], e["args"]["handle"], e["args"].get("connection"), e["args"]["method"])
    for e in events
    if e.get("ph") == "X"
)
section(
    "trace json: name handle connection method count",
    [f"{name!r} {h} {j(c)} {m} {n}" for (name, h, c, m), n in chrome.items()],
)

ctf_event = re.compile(
    r'op = \( "(\w+)".* handle = (\d+), connection = "([^"]*)", iid = \d+, mid = \d+, method = "([^"]*)"'
)
ctf = collections.Counter()
with open(f"{out}/ctf.bt") as f:
    for line in f:
        m = ctf_event.search(line)
        if m:
            ctf[m.groups()] += 1
section(
    "trace ctf (babeltrace2): op handle connection method count",
    [f"{o} {h} {c or '-'} {m} {n}" for (o, h, c, m), n in ctf.items()],
)
section("other stderr lines", other)
