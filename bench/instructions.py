#!/usr/bin/env python3
"""Instructions per Call for each configuration of bench/run.py, counted by
valgrind's callgrind: the same call loop, the same environment.

Instruction counts do not depend on what else the machine is doing, so they
say where the time goes even on a loaded machine, and they show what a change
to the hot path saved. Each configuration runs twice (N and 2N calls); the
difference divided by N is the cost of one call, without start-up (policy
compilation, table set-up, trace files). Only the call loop and the trace
drainer are counted (callgrind's --toggle-collect), not the exit's final
drain or dump, and the traced configurations get rings that hold every
record, so each traced call pushes one: the calling thread's count is
repeatable in every configuration. The trace drainer's, shown beside it,
depends on how often it woke up during the loop.

  bench/instructions.py --build build/bench --out target/bench/instructions.json
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the configurations and their environment)


# Trace ring size (records per thread) for the traced configurations: more
# than the 2N + N/10 calls of the longer run at the default N.
RING_RECORDS = 65536


def instructions(prog, env, calls, tmp):
    """(calling thread's instructions, other threads' instructions, calls)."""
    out = os.path.join(tmp, "callgrind.out")
    for f in os.listdir(tmp):
        if f.startswith("callgrind.out"):
            os.remove(os.path.join(tmp, f))
    # Counted only inside the call loop (`run` in bench/call_loop.c, warm-up
    # included) and the trace drainer: start-up and the exit (the final
    # drain, statistics dump) do not blur the difference of the two runs.
    # Rings large enough for every record of the longer run: each call
    # pushes its record (a full ring would turn some calls into cheaper drops).
    env = dict(env)
    if "KOS_SHIM_TRACE" in env:
        env.setdefault("KOS_SHIM_TRACE_BUF", str(RING_RECORDS))
    p = subprocess.run(
        ["valgrind", "--tool=callgrind", "--separate-threads=yes",
         "--toggle-collect=run", "--toggle-collect=*drainer*",
         f"--callgrind-out-file={out}", prog, str(calls)],
        env=env, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sys.exit(f"instructions: {prog} {calls}: exit {p.returncode}\n{p.stdout}{p.stderr}")
    per_thread = {}
    for f in os.listdir(tmp):
        m = re.fullmatch(r"callgrind\.out-(\d+)", f)
        if not m:
            continue
        with open(os.path.join(tmp, f)) as fh:
            t = re.search(r"^totals:\s+(\d+)", fh.read(), re.M)
        if t:
            per_thread[int(m.group(1))] = int(t.group(1))
    if 1 not in per_thread:
        sys.exit(f"instructions: no per-thread counts from valgrind:\n{p.stderr}")
    main = per_thread.pop(1)
    # Every run of the loop makes calls/10 warm-up calls as well.
    return main, sum(per_thread.values()), calls + calls // 10


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--calls", type=int, default=20_000)
    a = ap.parse_args()
    if 2 * a.calls + a.calls // 5 > RING_RECORDS:
        sys.exit(f"instructions: --calls {a.calls} overflows the {RING_RECORDS}-record trace rings")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfgs, _ = run.configurations(a.build, tmp)
        rows = {}
        for key, label, prog, env, _, _ in cfgs:
            i1, o1, c1 = instructions(prog, run.clean_env(env), a.calls, tmp)
            i2, o2, c2 = instructions(prog, run.clean_env(env), 2 * a.calls, tmp)
            rows[key] = {"label": label, "per_call": (i2 - i1) / (c2 - c1),
                         "other_threads_per_call": (o2 - o1) / (c2 - c1)}
    base = rows["direct"]["per_call"]
    print("Instructions per Call in the calling thread (callgrind; 2N minus N calls, "
          "N = %d); the trace drainer's work, on its own thread, beside it" % a.calls)
    print(f"{'configuration':52} {'per call':>9} {'added':>8} {'drainer':>8}")
    for key, r in rows.items():
        r["added_vs_direct"] = r["per_call"] - base
        added = "" if key == "direct" else f"{r['added_vs_direct']:+.0f}"
        other = r["other_threads_per_call"]
        other = f"{other:.0f}" if other >= 0.5 else ""
        print(f"{r['label']:52} {r['per_call']:9.0f} {added:>8} {other:>8}")
    if "policy_1" in rows and "policy_1000" in rows:
        d = rows["policy_1000"]["per_call"] - rows["policy_1"]["per_call"]
        print(f"1,000 rules vs 1 rule: {d:+.0f} instructions per call")
    with open(a.out, "w") as f:
        json.dump({"schema": "kos-ipc-shim-instructions/1", "calls": a.calls, "rows": rows}, f,
                  indent=2)
    print(f"instructions: wrote {a.out}")


if __name__ == "__main__":
    main()
