#!/usr/bin/env python3
"""dqcheck --format html in a real browser: headless Chromium (Debian's
chromium) loads the GME 2020-2021 report from a file, with no network; the
test reads the DOM it built (--dump-dom) and takes a screenshot.

Checks: the page is self-contained (no URL, no external resource), the
browser logs no console message for it (the detection itself is checked on
a page that does log an error), the chart has one candle per data row, the
squeeze week (2021-01-22, 25, 26) carries its warning markers, the summary
and the table of findings agree with the text report, and the screenshot is
a PNG of the window's size.

    test_html_browser.py DQCHECK DATA_DIR

Exits 77 (skipped) when chromium is not installed.
"""
import html.parser
import os
import shutil
import struct
import subprocess
import sys
import tempfile

tool, data = sys.argv[1], sys.argv[2]
browser = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not browser:
    print("SKIP: chromium is not installed (Debian package chromium; scripts/bootstrap installs it)")
    sys.exit(77)

GME = os.path.join(data, "GME-2020-01-21_2021-01-26-raw-daily.csv")
SQUEEZE = {"2021-01-22": {"RANGE"}, "2021-01-25": {"OPEN_GAP", "RANGE"}, "2021-01-26": {"RANGE"}}
WINDOW = (1280, 1100)
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures += 1


def chromium(tmp, *args):
    """Run the browser with a fresh profile; (stdout, stderr)."""
    profile = tempfile.mkdtemp(dir=tmp)
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
           *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return p.stdout, p.stderr


def console_lines(stderr):
    return [l for l in stderr.splitlines() if "CONSOLE" in l]


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.candles = 0
        self.markers = []  # (date, code, classes)
        self.rows = 0
        self.in_findings = False
        self.n_candles = None
        self._in_n = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "g" and "candle" in cls:
            self.candles += 1
        if tag == "circle" and "marker" in cls:
            self.markers.append((a.get("data-date"), a.get("data-code"), cls))
        if tag == "table" and a.get("id") == "findings":
            self.in_findings = True
        if tag == "tr" and self.in_findings and cls:
            self.rows += 1
        if tag == "dd" and a.get("id") == "n-candles":
            self._in_n = True

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_findings = False
        if tag == "dd":
            self._in_n = False

    def handle_data(self, d):
        if self._in_n:
            self.n_candles = int(d)


with tempfile.TemporaryDirectory() as tmp:
    report = os.path.join(tmp, "gme.html")
    with open(report, "w") as out:
        rc = subprocess.run([tool, "--format", "html", GME], stdout=out, timeout=30).returncode
    check(rc == 0, "dqcheck --format html exits 0 (warnings only)")
    page = open(report, encoding="utf-8").read()
    check(page.startswith("<!DOCTYPE html>"), "an HTML document")
    for needle in ("http:", "https:", "src=", "href=", "url(", "@import", "<script", "<link"):
        check(needle not in page, "self-contained: no %r in the page" % needle)

    rows = [l for l in open(GME).read().splitlines()[1:] if l.strip()]
    text = subprocess.run([tool, GME], capture_output=True, text=True, timeout=30).stdout
    text_findings = sum(1 for l in text.splitlines() if " warning " in l or " error " in l
                        or " info " in l)

    # The detector of console messages must see one when there is one.
    bad = os.path.join(tmp, "bad.html")
    open(bad, "w").write("<!DOCTYPE html><script>console.error('deliberate')</script>")
    _, err = chromium(tmp, "--dump-dom", "file://" + bad)
    check(any("deliberate" in l for l in console_lines(err)),
          "the console check sees a page's console.error")

    dom_text, err = chromium(tmp, "--dump-dom", "file://" + report)
    check(console_lines(err) == [], "no console message: %s" % console_lines(err))
    dom = Dom()
    dom.feed(dom_text)
    check(dom.candles == len(rows) == 257,
          "one candle per data row: %d candles drawn, %d rows" % (dom.candles, len(rows)))
    check(dom.n_candles == len(rows), "the summary counts %s candles" % dom.n_candles)
    for day, codes in SQUEEZE.items():
        seen = {code for d, code, cls in dom.markers if d == day and "sev-warning" in cls}
        check(seen == codes, "squeeze week %s: warning markers %s (want %s)"
              % (day, sorted(seen), sorted(codes)))
    check(len(dom.markers) == text_findings == dom.rows,
          "%d markers, %d table rows, %d findings in the text report"
          % (len(dom.markers), dom.rows, text_findings))

    shot = os.path.join(tmp, "gme.png")
    chromium(tmp, "--window-size=%d,%d" % WINDOW, "--hide-scrollbars", "--screenshot=" + shot,
             "file://" + report)
    png = open(shot, "rb").read() if os.path.exists(shot) else b""
    ok = png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 24
    size = struct.unpack(">II", png[16:24]) if ok else (0, 0)
    check(ok and size == WINDOW and len(png) > 20000,
          "a screenshot of %dx%d, %d bytes" % (size[0], size[1], len(png)))

print("%d failure(s)" % failures)
sys.exit(1 if failures else 0)
