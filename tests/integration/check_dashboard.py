#!/usr/bin/env python3
"""Every metric name in a Grafana dashboard's PromQL expressions (panel
targets and template queries) must be a sample name in a /metrics text.

    check_dashboard.py DASHBOARD.json METRICS.txt

Prints each missing name and exits 1 when there is one; exits 2 when the
dashboard has no expression at all or when the extraction fails its own
check (a made-up name must be found missing).
"""
import json
import re
import sys

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset", "inf", "nan"}


def names(expr):
    """Metric names of a PromQL expression: identifiers that are neither
    functions, keywords, label names nor inside strings, matchers or ranges."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings
    e = re.sub(r"\{[^}]*\}", " ", e)                        # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)                       # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\w+", " ", e)                            # dashboard variables
    found = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word, rest = m.group(0), e[m.end():]
        if re.match(r"\s*\(", rest) or word.lower() in KEYWORDS:
            continue
        if m.start() > 0 and (e[m.start() - 1].isdigit() or e[m.start() - 1] == "."):
            continue                                        # 1e3, 0.95
        found.add(word)
    return found


def expressions(dash):
    for p in dash.get("panels", []):
        for t in p.get("targets", []):
            if t.get("expr"):
                yield p.get("title", "?"), t["expr"]
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, str) and v.get("type") == "query":
            m = re.match(r"\s*label_values\((.*),\s*\w+\)\s*$", q)
            yield "variable " + v.get("name", "?"), m.group(1) if m else q


def main():
    dash = json.load(open(sys.argv[1]))
    exported = set()
    for line in open(sys.argv[2]):
        if line.strip() and not line.startswith("#"):
            exported.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    if names('sum(rate(ingestkit_made_up_total{a="b"}[5m])) by (le)') != {"ingestkit_made_up_total"}:
        print("the name extraction is broken")
        return 2
    exprs = list(expressions(dash))
    if not exprs:
        print("no expression in", sys.argv[1])
        return 2
    missing = 0
    checked = set()
    for where, expr in exprs:
        for n in sorted(names(expr)):
            checked.add(n)
            if n not in exported:
                missing += 1
                print("%s: %s is not exported (in %s)" % (where, n, expr))
    print("%d expressions, %d metric names, %d missing" % (len(exprs), len(checked), missing))
    return 1 if missing else 0


sys.exit(main())
