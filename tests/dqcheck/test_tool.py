#!/usr/bin/env python3
"""The dqcheck tool end to end on the real data files.

    test_tool.py DQCHECK DATA_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

tool, data = sys.argv[1], sys.argv[2]
failures = 0


def run(*args, stdin=None):
    p = subprocess.run([tool, *args], capture_output=True, text=True, input=stdin, timeout=30)
    return p.returncode, p.stdout, p.stderr


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    else:
        print("ok:", what)


def path(name):
    return os.path.join(data, name)


GME = path("GME-2020-01-21_2021-01-26-raw-daily.csv")
AAPL = path("adjusted/AAPL-2012_2014-adjusted-daily.csv")
PAGE = path("polygon/v2_aggs_ticker_AAPL_range_1_day_2005-04-01_2005-04-04.json")
GROUPED = path("polygon/v2_aggs_grouped_locale_us_market_stocks_2005-04-04.json")
NEXT = path("polygon/v2_aggs_ticker_AAPL_range_with_next_url.openapi_example.json")

REPORT_KEYS = ["version", "symbol", "interval", "candles", "accepted", "rejected", "score",
               "passed", "counts", "truncated", "checks", "issues"]
ISSUE_KEYS = ["code", "severity", "index", "row", "ts", "fields", "values", "threshold",
              "message", "suggestion"]

# Clean adjusted data: exit 0, text table.
rc, out, err = run(AAPL)
check(rc == 0, "AAPL exits 0")
check("AAPL daily: 754 candles, 754 accepted, 0 rejected, score 1.0000" in out, "AAPL text summary")

# GME: warnings only; the squeeze is no split.
rc, out, err = run("--format", "json", GME)
check(rc == 0, "GME exits 0 with --fail-on error")
lines = out.strip().splitlines()
check(len(lines) == 1, "GME: one JSON report")
rep = json.loads(lines[0])
check(list(rep.keys()) == REPORT_KEYS, "report keys in order")
check(rep["symbol"] == "GME" and rep["interval"] == "1/day", "symbol from the file name, interval")
check(rep["rejected"] == 0 and rep["passed"] is True, "GME: nothing rejected")
codes = [i["code"] for i in rep["issues"]]
check("POSSIBLE_SPLIT" not in codes and "POSSIBLE_REVERSE_SPLIT" not in codes, "GME: no split")
check("OPEN_GAP" in codes and "RANGE" in codes, "GME: OPEN_GAP and RANGE warnings")
check(all(list(i.keys()) == ISSUE_KEYS for i in rep["issues"]), "issue keys in order")
gap = [i for i in rep["issues"] if i["code"] == "OPEN_GAP" and i["row"] == 255]
check(len(gap) == 1 and gap[0]["values"][0] == 96.730003, "GME: row 255 (2021-01-25) open gap")
rc, out, err = run("--fail-on", "warning", GME)
check(rc == 1, "GME exits 1 with --fail-on warning")
rc, out, err = run("--fail-on", "never", "--open-gap", "0.6", "--range", "2", GME)
check(rc == 0 and "0 warnings" in out, "thresholds from the command line")
rc, out, err = run("--format", "json", "--max-issues", "2", GME)
rep = json.loads(out)
check(len(rep["issues"]) == 2 and rep["truncated"] is True and rep["counts"]["warning"] == 8,
      "--max-issues truncates, counts stay")
rc, out, err = run("--format", "json", "--off", "RANGE", "--severity", "OPEN_GAP=error", GME)
rep = json.loads(out)
check(rc == 1 and rep["rejected"] == 2 and "RANGE" not in [c["code"] for c in rep["checks"]],
      "--off and --severity")

# Polygon pages.
rc, out, err = run("--format", "json", PAGE, GROUPED, NEXT)
reps = [json.loads(l) for l in out.strip().splitlines()]
check(rc == 0 and [r["symbol"] for r in reps] == ["AAPL", "GIK", "AAPL"], "Polygon pages")
check(reps[0]["candles"] == 2 and reps[0]["issues"] == [], "Polygon page is clean")

with tempfile.TemporaryDirectory() as tmp:
    def write(name, text):
        p = os.path.join(tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    # Several symbols in one file: one report each, rows are file data rows.
    multi = write("multi.csv",
                  "symbol,timestamp,open,high,low,close,volume\n"
                  "AAA,2024-01-02,10,11,9,10,100\n"
                  "BBB,2024-01-02,20,21,19,20,100\n"
                  "AAA,2024-01-03,10,9,11,10,100\n"
                  "BBB,2024-01-03,20,21,19,20,100\n"
                  "AAA,2024-01-04,10,11,9,10,100\n")
    rc, out, err = run("--format", "json", multi)
    reps = [json.loads(l) for l in out.strip().splitlines()]
    check(rc == 1 and [r["symbol"] for r in reps] == ["AAA", "BBB"], "multi-symbol file")
    hl = [i for i in reps[0]["issues"] if i["code"] == "HIGH_LT_LOW"]
    check(len(hl) == 1 and hl[0]["row"] == 2 and hl[0]["index"] == 1, "row = file data row")
    check(reps[1]["rejected"] == 0, "the other symbol is clean")

    # Malformed rows: reported with their line, never crash, never vanish.
    bad = write("bad.csv",
                "Date,Open,High,Low,Close,Volume\n"
                "2024-01-02,10,11,9,10,100\n"
                "2024-01-03,10,eleven,9,10,100\n"
                "2024-13-04,10,11,9,10,100\n"
                "2024-01-05,10,11\n"
                "\n"
                "2024-01-08,10,11,9,10,100\n")
    rc, out, err = run(bad)
    check(rc == 1, "malformed rows exit 1")
    check("bad.csv:3: malformed row 1: bad high \"eleven\"" in err, "line 3 named")
    check("bad.csv:4: malformed row 2: bad timestamp" in err, "line 4 named")
    check("bad.csv:5: malformed row 3" in err, "line 5 named")
    check("2 candles" in out, "the good rows are checked")
    rc, out, err = run("--fail-on", "never", bad)
    check(rc == 0 and "malformed" in err, "--fail-on never still reports malformed rows")

    # Unreadable input: exit 2 with file and line.
    rc, out, err = run(os.path.join(tmp, "missing.csv"))
    check(rc == 2 and "missing.csv" in err, "missing file exits 2")
    nohdr = write("nohdr.csv", "a,b,c\n1,2,3\n")
    rc, out, err = run(nohdr)
    check(rc == 2 and "nohdr.csv:1:" in err, "no usable header exits 2 naming line 1")
    broken = write("broken.json", '{\n "results": [\n {"t": 1,\n')
    rc, out, err = run(broken)
    check(rc == 2 and "broken.json:" in err and "not valid JSON" in err, "broken JSON exits 2")
    rc, out, err = run(AAPL, nohdr)
    check(rc == 2 and "754 candles" in out, "other files still checked; worst status wins")
    status = write("err.json", '{"status":"ERROR","error":"API Key was not provided"}')
    rc, out, err = run(status)
    check(rc == 2 and "API Key was not provided" in err, "API error page exits 2")
    jbad = write("jbad.json", '{"ticker":"Z","results":[{"t":1704171600000,"o":1,"h":1,"l":1,'
                 '"c":1,"v":1},{"t":1704258000000,"o":1}]}')
    rc, out, err = run(jbad)
    check(rc == 1 and 'results[1]: missing or non-numeric "h"' in err, "malformed JSON result")

    # Impossible dates and NUL bytes are malformed rows, not other days.
    cal = write("cal.csv",
                "Date,Open,High,Low,Close,Volume\n"
                "2012-02-28,10,11,9,10,100\n"
                "2012-02-30,10,11,9,10,100\n"
                "2011-02-29,10,11,9,10,100\n"
                "2012-04-31,10,11,9,10,100\n"
                "2012-02-29,10,11,9,10,100\n"
                "2012-03-01,10,1\x001,9,10,100\n"
                "2012-03-02,10,11,9,10,100\n")
    rc, out, err = run("--format", "json", cal)
    rep = json.loads(out)
    check(rc == 1 and rep["candles"] == 3, "impossible dates and a NUL: 3 candles of 7 rows")
    check('cal.csv:3: malformed row 1: bad timestamp "2012-02-30"' in err, "2012-02-30 refused")
    check('cal.csv:4: malformed row 2: bad timestamp "2011-02-29"' in err, "2011-02-29 refused")
    check('cal.csv:5: malformed row 3: bad timestamp "2012-04-31"' in err, "2012-04-31 refused")
    check("cal.csv:7: malformed row 5: a NUL byte in the row" in err, "a NUL inside a field")

    # Control characters from the data never reach the terminal raw.
    evil = write("evil.json", '{"ticker":"EVIL\\u001b[2J\\nFORGED: 0 candles","results":['
                 '{"t":1704171600000,"o":1,"h":1,"l":1,"c":1,"v":1},'
                 '{"t":1704258000000,"o":1,"h":"\\u001b]0;x\\u0007","l":1,"c":1,"v":1}]}')
    rc, out, err = run(evil)
    raw = [c for c in out + err if ord(c) < 0x20 and c != "\n"]
    check(raw == [], "no raw control characters in the text output")
    check(not any(l.startswith("FORGED") for l in (out + err).splitlines()), "no forged line")
    check("EVIL\\e[2J\\nFORGED" in out, "the symbol shown escaped")
    bad_esc = write("esc.csv", "Date,Open,High,Low,Close,Volume\n"
                    "2024-01-02,10,\x1b[31m,9,10,100\n2024-01-03,10,11,9,10,100\n")
    rc, out, err = run(bad_esc)
    check("\x1b" not in err and 'bad high "\\e[31m"' in err, "a field quoted escaped")

    # Intraday with epoch milliseconds and the 24x7 calendar.
    intr = write("intraday.csv", "t,o,h,l,c,v\n" + "".join(
        "%d,1,1.1,0.9,1,%d\n" % (1704067200000 + m * 60000, 10 + m) for m in (0, 1, 2, 5)))
    rc, out, err = run("--interval", "1/minute", "--calendar", "24x7", "--format", "json", intr)
    rep = json.loads(out)
    g = [i for i in rep["issues"] if i["code"] == "GAP"]
    check(rep["interval"] == "1/minute" and len(g) == 1 and g[0]["values"][0] == 2,
          "intraday 24x7 gap of 2 minutes")

    # The HTML report escapes what the input says: a hostile symbol and a
    # ticker column quoted back in a finding's message stay text.
    evil = write("evil.csv", "date,symbol,open,high,low,close,volume\n"
                 "2024-01-02,<img onerror=x>,1,1.1,0.9,1,10\n"
                 "2024-01-03,X\"'&,1,1.1,0.9,1,10\n")
    rc, out, err = run("--format", "html", evil)
    check(rc == 0 and out.startswith("<!DOCTYPE html>") and "<img" not in out
          and "&lt;img onerror=x&gt;" in out and "X&quot;&#39;&amp;" in out,
          "html: input text escaped")

# Usage errors.
rc, out, err = run("--format", "pdf", AAPL)
check(rc == 2 and "text, json or html" in err, "bad --format exits 2")
rc, out, err = run("--interval", "fortnight", AAPL)
check(rc == 2, "bad --interval exits 2")
rc, out, err = run("--help")
check(rc == 0 and "--fail-on" in out, "--help")

print("%d failure(s)" % failures)
sys.exit(1 if failures else 0)
