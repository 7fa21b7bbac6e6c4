#!/usr/bin/env python3
"""A Polygon aggregates client, written against the API's documented JSON
shapes, run against polygon-replay through every combination of ticker,
multiplier, timespan, adjusted and sort, following next_url.

The expected bars come from this file's own reading of the CSV files and the
splits file, with the New York calendar of Python's zoneinfo: an oracle
independent of the server's code.

    test_polygon_client.py REPLAY_EXE DATA_DIR
"""
import csv
import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
KEY = "client-test-key-7c2e"
SPANS = ["second", "minute", "hour", "day", "week", "month", "quarter", "year"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        if len(failures) > 20:
            report()
    return cond


def report():
    for f in failures[:20]:
        print("FAIL:", f)
    print(f"{len(failures)} failures")
    sys.exit(1)


# ---- the oracle: bars from the files, adjusted with the splits --------------


def ny_midnight_ms(day):
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=NY).timestamp() * 1000)


def read_bars(path):
    bars = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            row = {k.lower(): v for k, v in row.items()}
            if "date" in row:
                t = ny_midnight_ms(dt.date.fromisoformat(row["date"]))
            else:
                t = int(row["timestamp_ms"])
            b = {"t": t}
            for k in "ohlcv":
                b[k] = float(row[{"o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}[k]])
            if row.get("vwap"):
                b["vw"] = float(row["vwap"])
            if row.get("trades"):
                b["n"] = int(row["trades"])
            bars.append(b)
    bars.sort(key=lambda b: b["t"])
    return bars


def read_splits(path):
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            day = dt.date.fromisoformat(row["execution_date"])
            ratio = float(row["split_to"]) / float(row["split_from"])
            out.setdefault(row["ticker"], []).append((ny_midnight_ms(day), ratio))
    return out


def scale(b, factor):
    """b's prices divided by factor and its volume multiplied by it."""
    o = dict(b)
    for k in ("o", "h", "l", "c", "vw"):
        if k in o:
            o[k] = b[k] / factor
    o["v"] = b["v"] * factor
    return o


def both_views(bars, is_adjusted, splits):
    """(unadjusted, adjusted) bars of one file."""
    def factor(t):
        f = 1.0
        for when, ratio in splits:
            if t < when:
                f *= ratio
        return f

    if is_adjusted:
        raw = [scale(b, 1 / factor(b["t"])) for b in bars]
        return raw, bars
    return bars, [scale(b, factor(b["t"])) for b in bars]


def window(span, mult, anchor_ms, t):
    """The start (ms) of the window of t: New York wall clock for minutes and
    hours (never across a midnight), calendar days, Sunday weeks, months,
    quarters and years counted from the window that holds `from`."""
    local = dt.datetime.fromtimestamp(t / 1000, NY)
    day = local.date()
    if span in ("minute", "hour"):
        width = mult * (60 if span == "hour" else 1)
        wall = local.hour * 60 + local.minute
        start = wall // width * width
        wall_start = dt.datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=NY)
        return int(wall_start.timestamp() * 1000)
    anchor = dt.datetime.fromtimestamp(anchor_ms / 1000, NY).date()
    if span == "day":
        k = (day - anchor).days // mult
        return ny_midnight_ms(anchor + dt.timedelta(days=k * mult))
    if span == "week":
        sunday = lambda d: d - dt.timedelta(days=(d.weekday() + 1) % 7)  # noqa: E731
        a, w = sunday(anchor), sunday(day)
        k = (w - a).days // 7 // mult
        return ny_midnight_ms(a + dt.timedelta(days=7 * k * mult))
    unit = {"month": 1, "quarter": 3, "year": 12}[span]
    am = (anchor.year * 12 + anchor.month - 1) // unit * unit
    m = day.year * 12 + day.month - 1
    start = am + (m - am) // (unit * mult) * unit * mult
    return ny_midnight_ms(dt.date(start // 12, start % 12 + 1, 1))


def aggregate(bars, span, mult, from_ms, to_ms):
    out = []
    for b in bars:
        if not from_ms <= b["t"] <= to_ms:
            continue
        w = window(span, mult, from_ms, b["t"])
        if out and out[-1]["t"] == w:
            a = out[-1]
            a["h"] = max(a["h"], b["h"])
            a["l"] = min(a["l"], b["l"])
            a["c"] = b["c"]
            a["v"] += b["v"]
            a["_vwv"] = a["_vwv"] + b["vw"] * b["v"] if "vw" in b and a["_vwv"] is not None else None
            a["n"] = a["n"] + b["n"] if "n" in b and a["n"] is not None else None
        else:
            out.append({"t": w, "o": b["o"], "h": b["h"], "l": b["l"], "c": b["c"], "v": b["v"],
                        "_vwv": b["vw"] * b["v"] if "vw" in b else None, "n": b.get("n")})
    for a in out:
        vwv = a.pop("_vwv")
        if vwv is not None and a["v"] > 0:
            a["vw"] = vwv / a["v"]
        if a["n"] is None:
            del a["n"]
    return out


# ---- the client ---------------------------------------------------------------


def get(url):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + KEY})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_page_shape(page, what, adjusted):
    """The documented response: ticker, queryCount, resultsCount, adjusted,
    results (absent when empty), status, request_id, count, next_url."""
    check(isinstance(page.get("ticker"), str), f"{what}: ticker")
    check(page.get("status") in ("OK", "DELAYED"), f"{what}: status {page.get('status')}")
    check(isinstance(page.get("request_id"), str), f"{what}: request_id")
    check(isinstance(page.get("queryCount"), int), f"{what}: queryCount")
    check(isinstance(page.get("resultsCount"), int), f"{what}: resultsCount")
    check(page.get("adjusted") is adjusted, f"{what}: adjusted {page.get('adjusted')}")
    results = page.get("results") or []
    check(page["resultsCount"] == len(results), f"{what}: resultsCount != len(results)")
    check("results" in page or page["resultsCount"] == 0, f"{what}: results")
    for r in results:
        for k in "ohlcv":
            check(number(r.get(k)), f"{what}: bar field {k}")
        check(isinstance(r.get("t"), int), f"{what}: t is not an integer")
        check("vw" not in r or number(r["vw"]), f"{what}: vw")
        check("n" not in r or isinstance(r["n"], int), f"{what}: n")
        check(set(r) <= {"o", "h", "l", "c", "v", "vw", "n", "t", "otc"}, f"{what}: keys {set(r)}")
    nu = page.get("next_url")
    if nu is not None:
        check(isinstance(nu, str) and nu.startswith("http") and "apiKey" not in nu
              and KEY not in nu, f"{what}: next_url {nu}")
    return results


def list_aggs(base, ticker, mult, span, frm, to, adjusted, sort, limit):
    """All bars of a request, following next_url, as the official clients do."""
    url = (f"{base}/v2/aggs/ticker/{ticker}/range/{mult}/{span}/{frm}/{to}"
           f"?adjusted={'true' if adjusted else 'false'}&sort={sort}&limit={limit}")
    bars, pages = [], 0
    while url:
        status, page = get(url)
        what = f"{ticker} {mult}/{span} {frm}..{to} adjusted={adjusted} {sort} page {pages}"
        if not check(status == 200, f"{what}: HTTP {status} {page}"):
            return bars
        results = check_page_shape(page, what, adjusted)
        check(len(results) <= limit, f"{what}: {len(results)} bars > limit {limit}")
        bars += results
        url = page.get("next_url")
        pages += 1
        if not check(pages < 10000, f"{what}: endless pages"):
            break
    return bars


def same_bars(got, want, what):
    if not check(len(got) == len(want), f"{what}: {len(got)} bars, expected {len(want)}"):
        return
    for g, w in zip(got, want):
        if not check(g["t"] == w["t"], f"{what}: t {g['t']} != {w['t']}"):
            return
        for k in ("o", "h", "l", "c", "v", "vw"):
            if (k in g) != (k in w):
                check(False, f"{what}: t={w['t']} field {k} present={k in g}, expected {k in w}")
                return
            if k in w and not math.isclose(g[k], w[k], rel_tol=1e-9):
                check(False, f"{what}: t={w['t']} {k}={g[k]}, expected {w[k]}")
                return
        if not check(g.get("n") == w.get("n"), f"{what}: t={w['t']} n={g.get('n')} != {w.get('n')}"):
            return


# ---- the replay ----------------------------------------------------------------


class Replay:
    def __init__(self, exe, data, splits):
        self.tmp = tempfile.mkdtemp()
        port_file = os.path.join(self.tmp, "port")
        args = [exe, "--data", data, "--api-key", KEY, "--port-file", port_file]
        if splits:
            args += ["--splits", splits]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(port_file) or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not os.path.exists(port_file):
            self.stop()
            raise SystemExit(f"polygon-replay did not start on {data}")
        self.base = "http://127.0.0.1:" + open(port_file).read().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()
        shutil.rmtree(self.tmp)


def synthetic_minutes(path):
    """Two trading days of minute bars with vwap and trades, across the
    spring DST change (2024-03-08 is EST, 2024-03-11 EDT), written to path."""
    rows = []
    x = 100.0
    for day in (dt.date(2024, 3, 8), dt.date(2024, 3, 11)):
        start = dt.datetime(day.year, day.month, day.day, 4, 0, tzinfo=NY)
        for i in range(0, 16 * 60, 7):  # every 7th minute, 04:00 to 20:00
            t = int((start + dt.timedelta(minutes=i)).timestamp() * 1000)
            x *= 1.0 + math.sin(i) * 0.001
            o, c = x, x * 1.0004
            rows.append((t, o, max(o, c) * 1.001, min(o, c) * 0.999, c, 100 + i % 37,
                         (o + c) / 2, 3 + i % 11))
    with open(path, "w") as f:
        f.write("timestamp_ms,open,high,low,close,volume,vwap,trades\n")
        for r in rows:
            f.write(",".join(repr(v) for v in r) + "\n")


def main():
    exe, data = sys.argv[1], sys.argv[2]
    splits_file = os.path.join(data, "reference", "splits.csv")
    splits = read_splits(splits_file)

    work = tempfile.mkdtemp()
    syn_dir = os.path.join(work, "syn")
    os.mkdir(syn_dir)
    synthetic_minutes(os.path.join(syn_dir, "SYN-raw-minute.csv"))
    syn_splits = os.path.join(work, "splits.csv")
    with open(syn_splits, "w") as f:
        f.write("ticker,execution_date,split_from,split_to\nSYN,2024-03-11,1,4\n")

    # A file must say whether its prices are raw or adjusted.
    for names in (["ZZZ-daily.csv"], ["ZZZ-raw-adjusted.csv"], ["ZZZ-raw.csv", "ZZZ-adjusted.csv"]):
        bad = os.path.join(work, "bad")
        os.mkdir(bad)
        for name in names:
            with open(os.path.join(bad, name), "w") as f:
                f.write("date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,100\n")
        r = subprocess.run([exe, "--data", bad, "--port-file", os.path.join(work, "never")],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and ("'raw'" in r.stderr or "both raw and adjusted" in r.stderr),
              f"{names}: exit {r.returncode}, {r.stderr.strip()}")
        shutil.rmtree(bad)

    main_replay = Replay(exe, data, splits_file)
    adj_replay = Replay(exe, os.path.join(data, "adjusted"), splits_file)
    syn_replay = Replay(exe, syn_dir, syn_splits)
    try:
        cases = [
            # (replay, ticker, file, is_adjusted_file, splits, from, to, base span)
            (main_replay, "AAPL", os.path.join(data, "AAPL-2012_2014-raw-daily.csv"), False,
             splits.get("AAPL", []), "2013-05-15", "2014-08-20", "day"),
            (adj_replay, "AAPL", os.path.join(data, "adjusted", "AAPL-2012_2014-adjusted-daily.csv"),
             True, splits.get("AAPL", []), "2013-05-15", "2014-08-20", "day"),
            (main_replay, "KO", os.path.join(data, "KO-2012_2014-adjusted-daily.csv"), True,
             splits.get("KO", []), "2012-06-13", "2012-10-17", "day"),
            (main_replay, "GME", os.path.join(data, "GME-2020-01-21_2021-01-26-raw-daily.csv"),
             False, splits.get("GME", []), "2020-01-01", "2021-01-31", "day"),
            (syn_replay, "SYN", os.path.join(syn_dir, "SYN-raw-minute.csv"), False,
             [(ny_midnight_ms(dt.date(2024, 3, 11)), 4.0)], "2024-03-08", "2024-03-11", "minute"),
        ]
        requests = 0
        for replay, ticker, path, is_adj, sp, frm, to, base in cases:
            raw, adj = both_views(read_bars(path), is_adj, sp)
            from_ms = ny_midnight_ms(dt.date.fromisoformat(frm))
            to_ms = ny_midnight_ms(dt.date.fromisoformat(to) + dt.timedelta(days=1)) - 1
            for span in SPANS:
                for mult in (1, 2, 5):
                    for adjusted in (True, False):
                        for sort in ("asc", "desc"):
                            what = f"{ticker} {mult}/{span} adjusted={adjusted} {sort}"
                            got = list_aggs(replay.base, ticker, mult, span, frm, to, adjusted,
                                            sort, 97)
                            requests += 1
                            if SPANS.index(span) < SPANS.index(base):
                                want = []  # finer than the data: nothing, as Polygon
                            else:
                                want = aggregate(adj if adjusted else raw, span, mult, from_ms,
                                                 to_ms)
                            if sort == "desc":
                                want = want[::-1]
                            same_bars(got, want, what)

        # The AAPL 7:1 split of 2014-06-09, from the raw file and from the
        # adjusted one: the same answers both ways.
        for replay in (main_replay, adj_replay):
            for adjusted, want_open in ((True, 92.314285), (False, 646.199995)):
                status, page = get(f"{replay.base}/v2/aggs/ticker/AAPL/range/1/day/2014-06-05/"
                                   f"2014-06-05?adjusted={'true' if adjusted else 'false'}")
                bar = (page.get("results") or [{}])[0]
                check(status == 200 and math.isclose(bar.get("o", 0), want_open, rel_tol=1e-9),
                      f"AAPL 2014-06-05 adjusted={adjusted}: open {bar.get('o')}, "
                      f"expected {want_open}")
            status, page = get(f"{replay.base}/v2/aggs/ticker/AAPL/range/1/day/2014-06-09/"
                               "2014-06-09?adjusted=false")
            check(math.isclose(page["results"][0]["o"], 92.699997, rel_tol=1e-9),
                  "AAPL 2014-06-09 is after the split: raw = adjusted")

        # What the API refuses: 400 with Polygon's error shape.
        for path in ("range/0/day/2014-01-01/2014-02-01", "range/1/fortnight/2014-01-01/2014-02-01",
                     "range/x/week/2014-01-01/2014-02-01"):
            status, page = get(f"{main_replay.base}/v2/aggs/ticker/AAPL/{path}")
            check(status == 400 and page.get("status") == "ERROR"
                  and isinstance(page.get("error"), str), f"{path}: {status} {page}")
    finally:
        main_replay.stop()
        adj_replay.stop()
        syn_replay.stop()
        shutil.rmtree(work)
    if failures:
        report()
    print(f"{requests} combinations, 0 mismatches")


if __name__ == "__main__":
    main()
