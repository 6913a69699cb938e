#!/usr/bin/env python3
"""The library's module dependencies must run one way: entry -> pipeline ->
layers (policy, stats, trace) -> message views and ABI, backends below the
pipeline. This reads every module under src/ (not src/bin, not comments,
not test modules), takes its `crate::a::b` and `super::x` paths as edges to
the deepest module they name, and finds the import cycles (strongly
connected components).

It fails when a cycle contains the pipeline or spans more than MAX modules:
the cycle that tied the pipeline, its layers and its backends together
(16 modules) was cut, and must not come back. Small cycles inside one
subsystem (a parser and its resolver, the emulator's handle table and
sync objects) are listed but allowed.

Usage: scripts/import-cycles.py [SRC_DIR]
"""
import os
import re
import sys

MAX = 3
root = sys.argv[1] if len(sys.argv) > 1 else "src"


def module_of(path):
    parts = os.path.relpath(path, root)[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


modules = {}
for d, _, files in os.walk(root):
    if "bin" in os.path.relpath(d, root).split(os.sep):
        continue
    for f in files:
        if f.endswith(".rs"):
            p = os.path.join(d, f)
            modules[module_of(p)] = p


def deepest(parts):
    for k in range(len(parts), 0, -1):
        if tuple(parts[:k]) in modules:
            return tuple(parts[:k])
    return None


TESTS = re.compile(r"#\[cfg\((?:all\()?test\b[^\]]*\]\s*mod\s+\w+")
PATH = r"([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)"
edges = {}
for m, p in modules.items():
    text = "\n".join(
        line for line in open(p, encoding="utf-8").read().split("\n")
        if not line.strip().startswith("//")
    )
    text = TESTS.split(text)[0]
    deps = set()
    for hit in re.finditer(r"\bcrate::" + PATH, text):
        d = deepest(hit.group(1).split("::"))
        if d and d != m:
            deps.add(d)
    parent = list(m[:-1])
    for hit in re.finditer(r"\bsuper::" + PATH, text):
        d = deepest(parent + hit.group(1).split("::"))
        if d and d != m:
            deps.add(d)
    edges[m] = deps

# Tarjan's algorithm, iterative.
index, low, on, stack, sccs = {}, {}, set(), [], []
counter = 0
for start in modules:
    if start in index:
        continue
    work = [(start, iter(sorted(edges[start])))]
    index[start] = low[start] = counter
    counter += 1
    stack.append(start)
    on.add(start)
    while work:
        v, it = work[-1]
        advanced = False
        for w in it:
            if w not in index:
                index[w] = low[w] = counter
                counter += 1
                stack.append(w)
                on.add(w)
                work.append((w, iter(sorted(edges.get(w, ())))))
                advanced = True
                break
            if w in on:
                low[v] = min(low[v], index[w])
        if advanced:
            continue
        work.pop()
        if work:
            low[work[-1][0]] = min(low[work[-1][0]], low[v])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            sccs.append(scc)

cycles = sorted((c for c in sccs if len(c) > 1), key=len, reverse=True)
bad = False
for c in cycles:
    names = sorted("::".join(x) for x in c)
    fatal = len(c) > MAX or ("pipeline",) in c
    bad |= fatal
    print(("FAIL " if fatal else "ok   ") + f"cycle of {len(c)}: " + ", ".join(names))
    if fatal:
        for x in sorted(c):
            inside = sorted("::".join(d) for d in edges[x] if d in c)
            print(f"       {'::'.join(x)} -> {', '.join(inside)}")
print(f"import-cycles: {len(modules)} modules, {len(cycles)} small cycles"
      + ("; a cycle spans the pipeline or more than %d modules" % MAX if bad else ", none through the pipeline"))
sys.exit(1 if bad else 0)
