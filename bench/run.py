#!/usr/bin/env python3
"""Runs the kos-ipc-shim benchmarks (`make bench`), prints the tables and the
targets' verdicts, and writes the results as JSON.

Part 1, the added cost per Call: bench programs call Call in a tight loop on
a loopback channel of the C stand-in kernel, directly (baseline) or through
the shim's wrap archive. Each configuration is its own process, configured
only by KOS_SHIM_* variables; the runs of all configurations are interleaved
(run 1 of each, then run 2 of each, ...) so that a burst of load elsewhere on
the machine hits them alike. Figures: the median over the runs of ns per
call, as CPU time of the calling thread (the primary figure: time the thread
spent preempted by other processes is not in it) and as wall-clock time.

Part 2, round trips: bench/roundtrip measures the host emulator and the OS
baselines in one process; the figures are medians over the runs.

Part 3, round trips between two processes: bench/xproc measures the
emulator's shared-memory world (what entities under kos-host-run use) beside
a shared futex, a unix socket and pipes, in the same run.

Every run checks its own counters (the stand-in's, the shim's pipeline
count, the policy's verdicts) and exits non-zero when a call did not go
where the configuration says; this script then fails. It never fails because
of a figure: targets are reported, not asserted.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

# Added ns per Call (vs the direct call) allowed by issue 7.
TARGETS_ADDED = {
    "off": 2.0,
    "stats_count": 5.0,
    "stats_timing": 20.0,
    "trace": 40.0,
}
POLICY_DELTA_TARGET = 10.0  # 1,000 rules vs 1 rule
RT_P50_TARGET = 1000.0  # ns
RT_SPEEDUP_TARGET = 30.0  # vs pipe and condvar p50
SCALING_TARGET = 1.6  # 2 pairs vs 1 pair throughput

BENCH_IID = 1
BENCH_MID = 1


def policy_files(out_dir):
    """The 1-rule and the 1,000-rule policy. Both allow the bench's message
    (call iid=1 mid=1) by their last rule; everything else is denied by
    default. The 999 rules before it are half distinct iids, half distinct
    mids of iid 1, so both levels of the compiled index (iid intervals, then
    mid intervals) are as deep as 1,000 rules can make them."""
    one = os.path.join(out_dir, "policy-1.policy")
    many = os.path.join(out_dir, "policy-1000.policy")
    last = f"allow call iid={BENCH_IID} mid={BENCH_MID}\n"
    with open(one, "w") as f:
        f.write("# kos-ipc-shim bench: 1 rule\nmode enforce\ndefault deny\n" + last)
    rules = []
    for j in range(500):
        rules.append(f"allow call iid={BENCH_IID} mid={BENCH_MID + 1 + j}\n")
    for j in range(499):
        rules.append(f"allow call iid={BENCH_IID + 1 + j} mid={BENCH_MID}\n")
    rules.append(last)
    assert len(rules) == 1000
    with open(many, "w") as f:
        f.write("# kos-ipc-shim bench: 1,000 rules, the bench's message allowed by the last\n")
        f.write("mode enforce\ndefault deny\n" + "".join(rules))
    return one, many


def configurations(build, out_dir):
    """(key, label, program, environment, policy rules expected, traced).
    Statistics are off unless the configuration is about them: their default
    level (count) is not "everything off"."""
    one, many = policy_files(out_dir)
    kst = os.path.join(out_dir, "trace.kst")
    direct = os.path.join(build, "call_loop_direct")
    shim = os.path.join(build, "call_loop_shim")
    off = {"KOS_SHIM_STATS": "off"}
    trace = {"KOS_SHIM_TRACE": "file:" + kst}
    cfgs = [
        ("direct", "direct call to the stand-in, no shim", direct, {}, None, False),
        ("off", "shim, everything off (pass-through)", shim, dict(off), 0, False),
    ]
    cfgs += [
        ("stats_count", "statistics count", shim, {"KOS_SHIM_STATS": "count"}, 0, False),
        ("stats_timing", "statistics timing", shim, {"KOS_SHIM_STATS": "timing"}, 0, False),
    ]
    cfgs += [
        ("trace", "tracing to the ring, drainer writing .kst", shim, {**off, **trace}, 0, True),
        ("policy_1", "policy, 1 rule", shim, {**off, "KOS_SHIM_POLICY": one}, 1, False),
        ("policy_1000", "policy, 1,000 rules (match is the last)", shim,
         {**off, "KOS_SHIM_POLICY": many}, 1000, False),
    ]
    everything = {**trace, "KOS_SHIM_POLICY": many, "KOS_SHIM_STATS": "timing"}
    cfgs.append(("all_on", "everything on (stats timing, trace, 1,000 rules)",
                 shim, everything, 1000, True))
    return cfgs, kst


def clean_env(extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOS_SHIM_")}
    env.update(extra)
    return env


def run_json(cmd, env, what):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.exit(f"bench: {what}: {' '.join(cmd)} exited {p.returncode}\n{p.stdout}{p.stderr}")
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError as e:
        sys.exit(f"bench: {what}: output is not JSON ({e}):\n{p.stdout}{p.stderr}")


def check_call_run(key, r, env, rules, traced, kst):
    """The counters prove the calls went where the configuration says."""
    total = r["total_calls"]
    problems = []
    if r["standin_calls"] != total:
        problems.append(f"stand-in saw {r['standin_calls']} of {total} calls")
    if key != "direct":
        if r["shim_calls"] != total:
            problems.append(f"shim pipeline saw {r['shim_calls']} of {total} calls")
        if r["policy_rules"] != rules:
            problems.append(f"policy has {r['policy_rules']} rules, want {rules}")
        if rules and (r["policy_allowed"] != total or r["policy_denied"] != 0):
            problems.append(f"policy allowed {r['policy_allowed']}, denied "
                            f"{r['policy_denied']} of {total}")
        want_level = {"off": 0, "count": 1, "timing": 2}.get(env.get("KOS_SHIM_STATS"))
        if want_level is not None:
            want_calls = 0 if want_level == 0 else total
            if r["stats_level"] != want_level or r["stats_calls"] != want_calls:
                problems.append(f"statistics level {r['stats_level']} with {r['stats_calls']} "
                                f"calls, want level {want_level} with {want_calls}")
        if traced:
            size = os.path.getsize(kst) if os.path.exists(kst) else 0
            r["kst_bytes"] = size
            if size == 0:
                problems.append("no .kst written")
    if problems:
        sys.exit(f"bench: configuration {key}: " + "; ".join(problems))


def first_report(build, out_dir, runs):
    """bench/first_report's figures, median over `runs` processes, with the
    default clock (the TSC's calibration in the background) and with
    KOS_SHIM_CLOCK=monotonic (nothing to calibrate)."""
    pol = os.path.join(out_dir, "first-report.policy")
    with open(pol, "w") as f:
        f.write("# kos-ipc-shim bench: the first report\nmode enforce\ndefault deny\n"
                f"allow call iid={BENCH_IID} mid={BENCH_MID}\n"
                f"log call iid={BENCH_IID} mid={BENCH_MID + 1}\n")
    prog = os.path.join(build, "first_report")
    res = {"runs": runs}
    for key, clock in (("auto", "auto"), ("monotonic", "monotonic")):
        env = clean_env({"KOS_SHIM_POLICY": pol, "KOS_SHIM_STATS": "timing",
                         "KOS_SHIM_CLOCK": clock})
        rs = [run_json([prog], env, f"first_report ({clock})") for _ in range(runs)]
        res[key] = {f: statistics.median(r[f] for r in rs) for f in rs[0]}
        res[key]["runs"] = rs
    return res


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg_start": list(os.getloadavg()),
    }


def verdict(ok):
    return "met" if ok else "MISSED"


def fmt_rate(x):
    return f"{x / 1e6:.3f} M/s" if x >= 1e6 else f"{x / 1e3:.1f} k/s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="directory of the bench programs")
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=50_000)
    ap.add_argument("--ms", type=int, default=300)
    ap.add_argument("--smoke", action="store_true",
                    help="few iterations: check the harness, not the figures")
    a = ap.parse_args()
    out_dir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    info = machine()
    print(f"bench: {info['cpus']} CPUs, {info['cpu_model']}, {info['date_utc']}, "
          f"load average {info['loadavg_start'][0]:.2f} {info['loadavg_start'][1]:.2f} "
          f"{info['loadavg_start'][2]:.2f}" + (" (smoke run: figures mean nothing)" if a.smoke
                                              else ""))
    prim = run_json([os.path.join(a.build, "primitives"), "200000" if a.smoke else "5000000"],
                    clean_env({}), "primitives")
    info["primitives_ns"] = prim
    print("bench: this machine: counter read (TSC / CNTVCT) %.1f ns, clock_gettime %.1f ns, "
          "locked add %.1f ns, plain load+store increment %.1f ns" % (
              prim["counter_read_ns"], prim["clock_gettime_ns"], prim["locked_add_ns"],
              prim["plain_increment_ns"]))

    # ---- part 1: ns per Call by configuration --------------------------
    cfgs, kst = configurations(a.build, out_dir)
    raw = {c[0]: [] for c in cfgs}
    raw_wall = {c[0]: [] for c in cfgs}
    details = {c[0]: [] for c in cfgs}
    for run in range(a.runs):
        for key, _, prog, env, rules, traced in cfgs:
            if traced and os.path.exists(kst):
                os.remove(kst)
            r = run_json([prog, str(a.calls)], clean_env(env), key)
            check_call_run(key, r, env, rules, traced, kst)
            raw[key].append(r["cpu_ns_per_call"])
            raw_wall[key].append(r["ns_per_call"])
            details[key].append(r)
        print(f"bench: call loop run {run + 1}/{a.runs} done", flush=True)
    if os.path.exists(kst):
        os.remove(kst)
    med = {k: statistics.median(v) for k, v in raw.items()}
    med_wall = {k: statistics.median(v) for k, v in raw_wall.items()}
    base = med["direct"]
    rows = []
    for key, label, _, env, _, traced in cfgs:
        added = med[key] - base
        row = {
            "key": key,
            "configuration": label,
            "env": env,
            "ns_per_call": round(med[key], 2),
            "added_vs_direct_ns": round(added, 2),
            "added_vs_off_ns": round(med[key] - med["off"], 2) if key != "direct" else None,
            "runs_ns": [round(x, 2) for x in raw[key]],
            "wall_ns_per_call": round(med_wall[key], 2),
            "wall_added_vs_direct_ns": round(med_wall[key] - med_wall["direct"], 2),
            "wall_runs_ns": [round(x, 2) for x in raw_wall[key]],
            "min_ns": round(min(raw[key]), 2),
            "max_ns": round(max(raw[key]), 2),
        }
        if traced:
            row["trace_lost_per_run"] = [d["trace_lost"] for d in details[key]]
            row["trace_calls_per_run"] = [d["total_calls"] for d in details[key]]
        rows.append(row)

    print()
    print(f"Call through the wrap archive to the C stand-in kernel (loopback channel), "
          f"median of {a.runs} runs x {a.calls} calls; ns per call as CPU time of the "
          f"calling thread (runs min..max), and wall clock")
    print(f"{'configuration':<50} {'ns/call':>8} {'added vs direct':>16} {'runs min..max':>16}"
          f" {'wall ns':>8} {'wall added':>11}")
    for r in rows:
        direct = r["key"] == "direct"
        added = "" if direct else f"{r['added_vs_direct_ns']:+.1f}"
        wadded = "" if direct else f"{r['wall_added_vs_direct_ns']:+.1f}"
        print(f"{r['configuration']:<50} {r['ns_per_call']:>8.1f} {added:>16} "
              f"{r['min_ns']:>7.1f}..{r['max_ns']:<7.1f} {r['wall_ns_per_call']:>8.1f} {wadded:>11}")
    for r in rows:
        if "trace_lost_per_run" in r:
            lost = sum(r["trace_lost_per_run"])
            calls = sum(r["trace_calls_per_run"])
            print(f"  {r['key']}: {lost} of {calls} trace records lost to full rings "
                  f"({100.0 * lost / calls:.1f} %)")

    # ---- part 2: round trips -------------------------------------------
    rt_runs = []
    rt_prog = os.path.join(a.build, "roundtrip")
    for run in range(a.runs if not a.smoke else 1):
        rt_runs.append(run_json([rt_prog, str(a.samples), str(a.ms)], clean_env({}),
                                "roundtrip"))
        print(f"bench: round-trip run {len(rt_runs)} done", flush=True)
    names = [m["name"] for m in rt_runs[0]["mechanisms"]]
    rt = {}
    for name in names:
        ms = [next(m for m in r["mechanisms"] if m["name"] == name) for r in rt_runs]
        fig = {f: statistics.median(m[f] for m in ms)
               for f in ("p50_ns", "p99_ns", "mean_ns", "pairs1_per_s", "pairs2_per_s")}
        fig["scaling_2_vs_1"] = fig["pairs2_per_s"] / fig["pairs1_per_s"]
        fig["runs"] = ms
        rt[name] = fig
    emu = rt["emulator"]
    print()
    print(f"Round trip, client Call -> server Recv/Reply (1 pair, {a.samples} samples; "
          f"throughput over {a.ms} ms), median of {len(rt_runs)} runs")
    print(f"{'mechanism':<10} {'p50 ns':>9} {'p99 ns':>9} {'emulator faster (p50)':>22} "
          f"{'1 pair':>12} {'2 pairs':>12} {'2 vs 1':>7}")
    for name in names:
        f = rt[name]
        speed = "" if name == "emulator" else f"{f['p50_ns'] / emu['p50_ns']:.1f}x"
        print(f"{name:<10} {f['p50_ns']:>9.0f} {f['p99_ns']:>9.0f} {speed:>22} "
              f"{fmt_rate(f['pairs1_per_s']):>12} {fmt_rate(f['pairs2_per_s']):>12} "
              f"{f['scaling_2_vs_1']:>6.2f}x")

    # ---- part 3: round trips between processes (issue 15) ---------------
    xp_runs = []
    xp_prog = os.path.join(a.build, "xproc")
    for run in range(a.runs if not a.smoke else 1):
        xp_runs.append(run_json([xp_prog, str(a.samples), str(a.ms)], clean_env({}), "xproc"))
        print(f"bench: cross-process run {len(xp_runs)} done", flush=True)
    xp = {}
    for name in [m["name"] for m in xp_runs[0]["mechanisms"]]:
        ms = [next(m for m in r["mechanisms"] if m["name"] == name) for r in xp_runs]
        fig = {f: statistics.median(m[f] for m in ms) for f in ("p50_ns", "p99_ns", "mean_ns")}
        fig["runs"] = ms
        xp[name] = fig
    xemu = xp["emulator"]
    print()
    print(f"Round trip between two processes ({a.samples} samples after {a.ms} ms of warm-up), "
          f"median of {len(xp_runs)} runs")
    print(f"{'mechanism':<10} {'p50 ns':>9} {'p99 ns':>9} {'vs emulator (p50)':>18}")
    for name, f in xp.items():
        ratio = "" if name == "emulator" else f"{f['p50_ns'] / xemu['p50_ns']:.2f}x"
        print(f"{name:<10} {f['p50_ns']:>9.0f} {f['p99_ns']:>9.0f} {ratio:>18}")

    # ---- part 4: the first policy report (issue 16) ---------------------
    fr = first_report(a.build, out_dir, a.runs if not a.smoke else 1)
    print()
    print(f"First policy report of a process (statistics timing; median of {fr['runs']} "
          f"processes): its call {fr['auto']['first_report_ns']:.0f} ns with the default clock, "
          f"{fr['monotonic']['first_report_ns']:.0f} ns with KOS_SHIM_CLOCK=monotonic (no "
          f"calibration); a later reported call {fr['auto']['report_median_ns']:.0f} ns, "
          f"a plain call {fr['auto']['plain_median_ns']:.0f} ns")

    # ---- targets --------------------------------------------------------
    targets = []
    for key, limit in TARGETS_ADDED.items():
        added = med[key] - base
        targets.append({"target": f"{key}: added vs direct <= {limit:g} ns",
                        "measured": round(added, 2),
                        "measured_wall": round(med_wall[key] - med_wall["direct"], 2),
                        "feature_only_vs_off": round(med[key] - med["off"], 2),
                        "verdict": verdict(added <= limit)})
    delta = med["policy_1000"] - med["policy_1"]
    targets.append({"target": f"policy: 1,000 rules <= 1 rule + {POLICY_DELTA_TARGET:g} ns",
                    "measured": round(delta, 2),
                    "measured_wall": round(med_wall["policy_1000"] - med_wall["policy_1"], 2),
                    "verdict": verdict(delta <= POLICY_DELTA_TARGET)})
    targets.append({"target": f"emulator round trip p50 <= {RT_P50_TARGET:g} ns",
                    "measured": emu["p50_ns"], "verdict": verdict(emu["p50_ns"] <= RT_P50_TARGET)})
    for other in ("pipe", "condvar"):
        ratio = rt[other]["p50_ns"] / emu["p50_ns"]
        targets.append({"target": f"emulator p50 >= {RT_SPEEDUP_TARGET:g}x faster than {other}",
                        "measured": round(ratio, 2), "verdict": verdict(ratio >= RT_SPEEDUP_TARGET)})
    targets.append({"target": f"emulator: 2 pairs >= {SCALING_TARGET:g}x the throughput of 1",
                    "measured": round(emu["scaling_2_vs_1"], 2),
                    "verdict": verdict(emu["scaling_2_vs_1"] >= SCALING_TARGET)})
    # The first report's own cost is what it costs without a clock to
    # calibrate (KOS_SHIM_CLOCK=monotonic): first-touch of the report's code
    # and data, tens of microseconds that vary by run; 1.5x of it is the noise
    # allowed (a calibration on the call path cost ~5 ms, 100x more).
    ratio_first = fr["auto"]["first_report_ns"] / max(fr["monotonic"]["first_report_ns"], 1)
    targets.append({"target": "first policy report: default clock <= 1.5x "
                              "KOS_SHIM_CLOCK=monotonic",
                    "measured": round(ratio_first, 2),
                    "verdict": verdict(ratio_first <= 1.5)})
    print()
    print("Targets (issues 7, 16)")
    for t in targets:
        m = "-" if t["measured"] is None else t["measured"]
        extra = ""
        if "measured_wall" in t:
            extra = f"  (wall {t['measured_wall']}"
            if "feature_only_vs_off" in t and t["target"].split(":")[0] != "off":
                extra += f"; vs pass-through {t['feature_only_vs_off']:+}"
            extra += ")"
        print(f"  {t['target']:<52} {m!s:>10}  {t['verdict']}{extra}")

    info["loadavg_end"] = list(os.getloadavg())
    result = {
        "schema": "kos-ipc-shim-bench/1",
        "smoke": a.smoke,
        "machine": info,
        "settings": {"runs": a.runs, "calls": a.calls, "samples": a.samples, "ms": a.ms},
        "call": rows,
        "roundtrip": rt,
        "roundtrip_processes": xp,
        "first_report": fr,
        "targets": targets,
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    with open(a.out) as f:  # what was written parses back to the same
        if json.load(f) != json.loads(json.dumps(result)):
            sys.exit(f"bench: {a.out} does not read back")
    print(f"\nbench: wrote {a.out} (load average at the end "
          f"{info['loadavg_end'][0]:.2f} {info['loadavg_end'][1]:.2f} {info['loadavg_end'][2]:.2f})")


if __name__ == "__main__":
    main()
