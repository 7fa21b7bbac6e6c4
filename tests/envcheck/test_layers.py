#!/usr/bin/env python3
"""The layering of a library's sources, read from the sources themselves.

    test_layers.py LIBDIR PUBLIC_HEADER PRIVATE_PREFIX

Checks, and prints every violation (then exits 1):
  - no cycle among the private headers of LIBDIR (#include "x.h");
  - no cycle among its source files, where a.c depends on b.c when a.c calls
    or uses a function that b.c defines with external linkage;
  - every private name carries PRIVATE_PREFIX (e.g. envcheck__): functions
    with external linkage that the public header does not declare, and the
    types, struct/enum tags, enum constants, inline functions and macros of
    the private headers (constants and macros in capitals, e.g. ENVCHECK__),
    include guards excepted.
"""
import os
import re
import sys

libdir, public_header, prefix = sys.argv[1:4]
macro_prefix = prefix.upper()


def strip(text):
    """Comments, strings and character literals removed, lines kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def words(text):
    return set(re.findall(r"[A-Za-z_]\w*", text))


public = words(strip(open(public_header).read()))
files = sorted(f for f in os.listdir(libdir) if f.endswith((".c", ".h")))
src = {f: strip(open(os.path.join(libdir, f)).read()) for f in files}
problems = []


def cycles(graph):
    """The strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


# Private headers: the include graph.
headers = [f for f in files if f.endswith(".h")]
inc = {h: {x for x in re.findall(r'#\s*include\s+"([^"]+)"', open(os.path.join(libdir, h)).read())
           if x in headers} for h in headers}
for comp in cycles(inc):
    problems.append("include cycle among private headers: " + " <-> ".join(comp))

# Sources: who defines which function with external linkage, who uses it.
DEF = re.compile(r"^(?!static\b)(?!typedef\b)[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;{}]*\)"
                 r"\s*(?:__attribute__\s*\(\(.*?\)\)\s*)?\{", re.M | re.S)
sources = [f for f in files if f.endswith(".c")]
defined = {}
for f in sources:
    for name in DEF.findall(src[f]):
        if name not in ("if", "for", "while", "switch", "return", "sizeof"):
            defined[name] = f
calls = {f: set() for f in sources}
for f in sources:
    used = words(src[f])
    for name, where in defined.items():
        if where != f and name in used:
            calls[f].add(where)
for comp in cycles(calls):
    why = []
    for a in comp:
        for b in comp:
            if a != b:
                names = sorted(n for n, w in defined.items() if w == b and n in words(src[a]))
                if names:
                    why.append("%s uses %s of %s" % (a, ", ".join(names), b))
    problems.append("dependency cycle among sources: " + " <-> ".join(comp) + " (" +
                    "; ".join(why) + ")")

# Private names.
for name, f in sorted(defined.items()):
    if name not in public and not name.startswith(prefix):
        problems.append("%s: function %s has external linkage without the %s prefix" %
                        (f, name, prefix))
for h in headers:
    text = src[h]
    guard = re.search(r"#\s*ifndef\s+(\w+)\s*\n\s*#\s*define\s+\1\b", text)
    guard = guard.group(1) if guard else None
    found = []
    for m in re.finditer(r"#\s*define\s+(\w+)", text):
        if m.group(1) != guard:
            found.append(("macro", m.group(1), macro_prefix))
    for m in re.finditer(r"\b(?:struct|enum|union)\s+(\w+)", text):
        found.append(("tag", m.group(1), prefix))
    for m in re.finditer(r"typedef\b[^;{]*(?:\{(?:[^{}]|\{[^{}]*\})*\})?[^;]*?\b(\w+)\s*;", text):
        found.append(("type", m.group(1), prefix))
    for m in re.finditer(r"typedef\b[^;]*?\(\s*\*\s*(\w+)\s*\)", text):
        found.append(("type", m.group(1), prefix))
    for m in re.finditer(r"\benum\b[^{;]*\{([^}]*)\}", text):
        for c in re.findall(r"(?:^|,)\s*([A-Za-z_]\w*)", m.group(1)):
            found.append(("enum constant", c, macro_prefix))
    for m in re.finditer(r"\bstatic\s+inline\b[^;{(]*?\b(\w+)\s*\(", text):
        found.append(("inline function", m.group(1), prefix))
    for m in re.finditer(r"^(?!typedef)(?!static)[A-Za-z_][\w \t\*]*?\b(\w+)\s*\([^;{}]*\)\s*"
                         r"(?:__attribute__\s*\(\(.*?\)\)\s*)?;", text, re.M | re.S):
        found.append(("function", m.group(1), prefix))
    seen = set()
    for kind, name, want in found:
        if name in public or name.startswith(want) or (kind, name) in seen:
            continue
        seen.add((kind, name))
        problems.append("%s: %s %s without the %s prefix" % (h, kind, name, want))

for p in problems:
    print(p)
if problems:
    print("%d layering problems in %s" % (len(problems), libdir))
    sys.exit(1)
print("ok: %d sources, %d private headers, no cycles, private names %s*" %
      (len(sources), len(headers), prefix))
