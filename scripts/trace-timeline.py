#!/usr/bin/env python3
"""Draw a Chrome-trace JSON of kos-ipc-shim as an SVG timeline.

    scripts/trace-timeline.py TRACE.json OUT.svg [--title TEXT]

TRACE.json is what `KOS_SHIM_TRACE=json:PATH` or `kos-ipc-trace export
--format json` writes: complete events (`ph: X`, one per call), flow events
(`s`/`f`: a Call's request to the server's Recv, a Reply's response back)
and thread names (`M`). The drawing has one lane per thread, one bar per
call (named by its operation and method, coloured by operation, red when
the call failed) and one arrow per flow, on a linear time axis: the static
picture of what Perfetto shows interactively. Python's standard library
only, so it runs wherever the tests run (no network, no plotting package).
"""
import argparse
import html
import json
import sys

COLOURS = {"Call": "#4e79a7", "CallEx": "#4e79a7", "Recv": "#59a14f",
           "RecvEx": "#59a14f", "Reply": "#f28e2b"}
FAILED = "#e15759"
LANE_H, BAR_H, LEFT, RIGHT, TOP, AXIS_H = 46, 26, 150, 20, 40, 34
WIDTH = 1000


def load(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    calls = [e for e in events if e.get("ph") == "X"]
    if not calls:
        sys.exit(f"trace-timeline: {path}: no calls (no events with ph X)")
    names = {e["tid"]: e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    flows = {}
    for e in events:
        if e.get("ph") in ("s", "f"):
            flows.setdefault((e.get("cat"), e["id"], e["name"]), {})[e["ph"]] = e
    return calls, names, [(f["s"], f["f"]) for f in flows.values() if "s" in f and "f" in f]


def nice_step(span_us):
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if span_us / step <= 8:
            return step
    return 100000


def draw(calls, names, flows, title):
    t0 = min(e["ts"] for e in calls)
    t1 = max(e["ts"] + e.get("dur", 0) for e in calls)
    span = max(t1 - t0, 1.0)
    tids = sorted({e["tid"] for e in calls}, key=lambda t: min(e["ts"] for e in calls if e["tid"] == t))
    lane = {t: i for i, t in enumerate(tids)}
    x = lambda ts: LEFT + (ts - t0) / span * (WIDTH - LEFT - RIGHT)
    y = lambda tid: TOP + lane[tid] * LANE_H
    height = TOP + len(tids) * LANE_H + AXIS_H
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
           '<defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           f'<text x="10" y="22" font-size="14" font-weight="bold">{html.escape(title)}</text>']
    for t in tids:
        out.append(f'<rect x="0" y="{y(t)}" width="{WIDTH}" height="{LANE_H}" '
                   f'fill="{"#f4f4f4" if lane[t] % 2 else "#ffffff"}"/>')
        out.append(f'<text x="10" y="{y(t) + LANE_H / 2 + 4}">{html.escape(names.get(t, f"thread {t}"))}</text>')
    for e in calls:
        op = e["name"].split(" ", 1)[0]
        failed = e.get("args", {}).get("rc", 0) != 0
        x0, w = x(e["ts"]), max(x(e["ts"] + e.get("dur", 0)) - x(e["ts"]), 2.0)
        top = y(e["tid"]) + (LANE_H - BAR_H) / 2
        label = html.escape(e["name"])
        out.append(f'<rect x="{x0:.1f}" y="{top}" width="{w:.1f}" height="{BAR_H}" '
                   f'fill="{FAILED if failed else COLOURS.get(op, "#999")}" stroke="#222" '
                   f'stroke-width="0.4"><title>{label} ({e.get("dur", 0):.3f} us, '
                   f'{html.escape(str(e.get("args", {}).get("rc_name", "")))})</title></rect>')
        if w > 7 * len(e["name"]):
            out.append(f'<text x="{x0 + 3:.1f}" y="{top + BAR_H / 2 + 4}" fill="white">{label}</text>')
    for s, f in flows:
        if s["tid"] not in lane or f["tid"] not in lane:
            continue
        ys = y(s["tid"]) + LANE_H / 2
        yf = y(f["tid"]) + LANE_H / 2
        out.append(f'<line x1="{x(s["ts"]):.1f}" y1="{ys}" x2="{x(f["ts"]):.1f}" y2="{yf}" '
                   f'stroke="#333" stroke-width="1" marker-end="url(#a)"/>')
    axis_y = TOP + len(tids) * LANE_H
    out.append(f'<line x1="{LEFT}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}" stroke="#333"/>')
    step = nice_step(span)
    tick = 0
    while tick <= span:
        xt = x(t0 + tick)
        label = f"{tick / 1000:g} ms" if step >= 1000 else f"{tick:g} us"
        out.append(f'<line x1="{xt:.1f}" y1="{axis_y}" x2="{xt:.1f}" y2="{axis_y + 5}" stroke="#333"/>')
        out.append(f'<text x="{xt:.1f}" y="{axis_y + 18}" text-anchor="middle">{label}</text>')
        tick += step
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trace")
    p.add_argument("out")
    p.add_argument("--title", default="kos-ipc-shim trace")
    a = p.parse_args()
    calls, names, flows = load(a.trace)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(draw(calls, names, flows, a.title))
    print(f"trace-timeline: {a.out}: {len(calls)} calls, {len(flows)} arrows, "
          f"{len({e['tid'] for e in calls})} threads")


if __name__ == "__main__":
    main()
