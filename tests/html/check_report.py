#!/usr/bin/env python3
"""Loads memgate's HTML report in headless Chromium and checks what a reader sees.

Two ways to get a page:
  --fixture EXE                 EXE (mg_html_fixture) writes the fixed run of
                                fixture_run.h and prints "tests=N charts=N"
  --memgate EXE --binary BIN    `memgate run --json` on a fixture program, then
                                `memgate report --html` on that JSON

Then, in a fresh browser profile with the network unreachable:
  1. --dump-dom with JavaScript: the script ran (html[data-js=ready]), the summary
     table has one row per test, every test with figures has an SVG chart with bars
     and budget markers, no hostile test name ran as script, no script error.
  2. --dump-dom of a copy whose CSP forbids scripts: the table and the sections are
     there all the same.
  3. --screenshot, light and dark, kept in --work for people to look at.

Exit status: 0 pass, 1 fail, 77 skip (Chromium is not installed and CI is not set;
under CI=true a missing Chromium is a failure: ci/deps.sh installs it).
"""
import argparse
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
    # Nothing may be fetched: every host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    # Console messages (script errors among them) go to stderr.
    "--enable-logging=stderr", "--log-level=0",
]


# Runs after the page's script in a copy of the page: drives the controls like a reader
# and records the visible row counts and the first row after sorting by peak.
SELFTEST = r"""
(function () {
  var out = {};
  function visible() {
    return Array.prototype.filter.call(document.querySelectorAll('#mg-tests tbody tr'),
                                       function (r) { return !r.hidden; }).length;
  }
  out.all = visible();
  var pass = document.querySelector('button.chip[data-status="pass"]');
  pass.click();
  out.noPass = visible();
  pass.click();
  var search = document.getElementById('mg-search');
  var data = JSON.parse(document.getElementById('mg-data').textContent);
  out.query = data.tests[0].name.slice(0, 6).toUpperCase();
  search.value = out.query;
  search.dispatchEvent(new Event('input'));
  out.search = visible();
  search.value = '';
  search.dispatchEvent(new Event('input'));
  var th = Array.prototype.filter.call(document.querySelectorAll('#mg-tests th'),
                                       function (h) { return h.textContent === 'Peak'; })[0];
  th.click();
  th.click();
  out.firstByPeak = document.querySelector('#mg-tests tbody tr').getAttribute('data-i');
  document.getElementById('mg-collapse').click();
  out.collapsed = document.querySelectorAll('details.test[open]').length;
  document.getElementById('mg-expand').click();
  out.expanded = document.querySelectorAll('details.test[open]').length;
  document.documentElement.setAttribute('data-selftest', JSON.stringify(out));
})();
"""


def page_data(text):
    """The page's embedded JSON blob, decoded."""
    start = text.find('<script type="application/json" id="mg-data">')
    check(start >= 0, "the page has no data blob")
    start = text.index(">", start) + 1
    return json.loads(text[start:text.index("</script>", start)])


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def find_browser():
    env = os.environ.get("MG_CHROMIUM")
    if env:
        return env if shutil.which(env) else None
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def in_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def browse(browser, work, url, *args):
    """Runs the browser once in a fresh profile; returns (stdout, stderr)."""
    profile = tempfile.mkdtemp(prefix="profile-", dir=work)
    env = dict(os.environ, HOME=profile, XDG_CONFIG_HOME=profile, XDG_CACHE_HOME=profile)
    cmd = [browser, *FLAGS, "--user-data-dir=" + profile, *args, url]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                             errors="replace")
    except subprocess.TimeoutExpired:
        raise Failure("the browser did not finish in 120 s: " + " ".join(cmd))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if res.returncode != 0:
        raise Failure("the browser exited with %d:\n%s" % (res.returncode, res.stderr[-3000:]))
    return res.stdout, res.stderr


class Dom(html.parser.HTMLParser):
    """The few facts of a dumped DOM the checks need."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = {}
        self.rows = 0
        self.sections = 0
        self.scripts = 0
        self.charts = []  # per chart: {"bars": [widths], "budgets": n, "metrics": n}
        self.pwned = []
        self.toolbar_hidden = None
        self.shown = ""
        self._table = self._tbody = self._shown = False
        self._chart = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if "data-pwned" in a:
            self.pwned.append((tag, a["data-pwned"]))
        if tag == "html":
            self.root = a
        elif tag == "script":
            self.scripts += 1
        elif tag == "table" and a.get("id") == "mg-tests":
            self._table = True
        elif tag == "tbody" and self._table:
            self._tbody = True
        elif tag == "tr" and self._tbody:
            self.rows += 1
        elif tag == "details" and "test" in cls:
            self.sections += 1
        elif tag == "div" and a.get("id") == "mg-toolbar":
            self.toolbar_hidden = "hidden" in a
        elif tag == "span" and a.get("id") == "mg-shown":
            self._shown = True
        elif tag == "svg" and "chart-svg" in cls:
            self._chart = {"bars": [], "budgets": 0, "metrics": 0}
        elif self._chart is not None:
            if tag == "g" and "metric" in cls:
                self._chart["metrics"] += 1
            elif tag == "rect" and "bar" in cls:
                self._chart["bars"].append(float(a.get("width") or 0))
            elif tag == "line" and "budget" in cls:
                self._chart["budgets"] += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = self._tbody = False
        elif tag == "tbody":
            self._tbody = False
        elif tag == "span":
            self._shown = False
        elif tag == "svg" and self._chart is not None:
            self.charts.append(self._chart)
            self._chart = None

    def handle_data(self, data):
        if self._shown:
            self.shown += data


def parse(text):
    dom = Dom()
    dom.feed(text)
    dom.close()
    return dom


def check_page(browser, work, page, tests, charts):
    url = "file://" + os.path.abspath(page)

    # 1. With JavaScript.
    out, err = browse(browser, work, url, "--dump-dom")
    with open(os.path.join(work, "dom.html"), "w") as f:
        f.write(out)
    dom = parse(out)
    check(dom.root.get("data-js") == "ready",
          "the page script did not finish: html[data-js=%r]; browser log:\n%s"
          % (dom.root.get("data-js"), err[-3000:]))
    check("Uncaught" not in err, "a script error was logged:\n" + err[-3000:])
    check(not dom.pwned, "a test name ran as script: %r" % dom.pwned)
    check(dom.scripts == 2, "expected the page's 2 script elements, found %d" % dom.scripts)
    check(dom.rows == tests, "summary table: %d rows, expected %d" % (dom.rows, tests))
    check(dom.sections == tests, "%d test sections, expected %d" % (dom.sections, tests))
    check(dom.toolbar_hidden is False, "the toolbar stayed hidden")
    check(dom.shown.strip() == "%d tests" % tests, "toolbar count says %r" % dom.shown)
    check(len(dom.charts) == charts, "%d charts drawn, expected %d" % (len(dom.charts), charts))
    for i, c in enumerate(dom.charts):
        check(c["metrics"] == 3, "chart %d: %d metric rows, expected 3" % (i, c["metrics"]))
        # One bar per metric plus the legend's swatch.
        check(len(c["bars"]) == 4, "chart %d: %d bars, expected 4" % (i, len(c["bars"])))
    if charts:
        check(any(w > 0 for c in dom.charts for w in c["bars"][:3]), "every bar is empty")
        check(sum(c["budgets"] for c in dom.charts) > 0, "no budget marker in any chart")

    # 1b. The controls work: a copy of the page runs a script after the page's own that
    # clicks a status chip, types a search, sorts by peak and expands/collapses, then
    # writes what it saw into html[data-selftest]. Expectations come from the page's
    # own data blob.
    with open(page, encoding="utf-8") as f:
        text = f.read()
    data = page_data(text)
    check(len(data["tests"]) == tests, "data blob: %d tests" % len(data["tests"]))
    check("</body>" in text, "the page has no </body>")
    selftest = os.path.join(work, "selftest.html")
    with open(selftest, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", "<script>" + SELFTEST + "</script></body>", 1))
    out, err = browse(browser, work, "file://" + os.path.abspath(selftest), "--dump-dom")
    dom = parse(out)
    check(dom.root.get("data-selftest"), "the control checks did not run:\n" + err[-3000:])
    got = json.loads(dom.root["data-selftest"])
    query = data["tests"][0]["name"][:6].upper()
    hits = sum(query.lower() in (t["name"] + " " + t["binary"]).lower() for t in data["tests"])
    peaks = [(-t["metrics"][2]["value"], i) for i, t in enumerate(data["tests"]) if t["metrics"]]
    want = {
        "all": tests,
        "noPass": sum(t["status"] != "pass" for t in data["tests"]),
        "query": query,
        "search": hits,
        "firstByPeak": str(min(peaks)[1]) if peaks else got.get("firstByPeak"),
        "collapsed": 0,
        "expanded": tests,
    }
    check(got == want, "controls: got %r, expected %r" % (got, want))

    # 2. Without JavaScript: the same table and sections, no charts. (Headless Chromium
    # dumps no DOM with scripts switched off, so a copy of the page forbids them itself.)
    check("<head>" in text, "the page has no <head>")
    nojs = os.path.join(work, "nojs.html")
    with open(nojs, "w", encoding="utf-8") as f:
        f.write(text.replace("<head>", "<head><meta http-equiv=\"Content-Security-Policy\" "
                             "content=\"script-src 'none'\">", 1))
    out, _ = browse(browser, work, "file://" + os.path.abspath(nojs), "--dump-dom")
    dom = parse(out)
    check(dom.root.get("data-js") == "off", "scripts ran although disabled")
    check(dom.rows == tests, "without JavaScript: %d rows, expected %d" % (dom.rows, tests))
    check(dom.sections == tests, "without JavaScript: %d sections" % dom.sections)
    check(not dom.charts and not dom.pwned, "without JavaScript: charts or script ran")

    # 3. Pictures for people.
    for name, extra in (("report.png", []), ("report-dark.png", ["--force-dark-mode"])):
        png = os.path.join(work, name)
        if os.path.exists(png):
            os.remove(png)
        browse(browser, work, url, "--screenshot=" + png, "--window-size=1280,1800", *extra)
        with open(png, "rb") as f:
            head = f.read(8)
        check(head == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % png)
        check(os.path.getsize(png) > 20000, "%s is suspiciously small" % png)
        print("screenshot: " + png)


def page_from_fixture(exe, work):
    page = os.path.join(work, "report.html")
    res = subprocess.run([exe, page], capture_output=True, text=True)
    check(res.returncode == 0, "%s failed: %s" % (exe, res.stderr))
    facts = dict(kv.split("=") for kv in res.stdout.split())
    return page, int(facts["tests"]), int(facts["charts"])


def page_from_cli(memgate, library, binary, work):
    run_json = os.path.join(work, "run.json")
    page = os.path.join(work, "report.html")
    for path in (run_json, page):
        if os.path.exists(path):
            os.remove(path)
    cmd = [memgate, "run", "--json", run_json, "--color", "never", binary]
    if library:
        cmd[2:2] = ["--library", library]
    res = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    check(res.returncode in (0, 1) and os.path.exists(run_json),
          "memgate run exited with %d:\n%s" % (res.returncode, res.stderr))
    with open(run_json) as f:
        tests = json.load(f)["tests"]
    verdict = 0 if all(t["status"] in ("pass", "skip") for t in tests) else 1
    res = subprocess.run([memgate, "report", run_json, "--html", page], capture_output=True,
                         text=True, errors="replace")
    check(res.returncode == verdict,
          "memgate report exited with %d, expected %d:\n%s" % (res.returncode, verdict, res.stderr))
    check(os.path.exists(page), "memgate report wrote no page")
    return page, len(tests), sum(t["status"] in ("pass", "fail") for t in tests)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True, help="directory for the page, DOM and screenshots")
    ap.add_argument("--fixture", help="mg_html_fixture program")
    ap.add_argument("--memgate", help="memgate CLI")
    ap.add_argument("--library", help="libmemgate.so for memgate run")
    ap.add_argument("--binary", help="CUnit fixture program for memgate run")
    args = ap.parse_args()

    browser = find_browser()
    if not browser:
        if in_ci():
            print("FAIL: no Chromium found (%s) but CI is set; ci/deps.sh installs it"
                  % ", ".join(BROWSERS))
            return 1
        print("SKIP: no Chromium found (%s); install it with: apt-get install chromium"
              % ", ".join(BROWSERS))
        return SKIP

    os.makedirs(args.work, exist_ok=True)
    try:
        if args.fixture:
            page, tests, charts = page_from_fixture(args.fixture, args.work)
        elif args.memgate and args.binary:
            page, tests, charts = page_from_cli(args.memgate, args.library, args.binary, args.work)
        else:
            ap.error("give --fixture, or --memgate and --binary")
        check(tests > 0, "the report has no test")
        check_page(browser, args.work, page, tests, charts)
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    print("ok: %d rows, %d charts, page %s" % (tests, charts, page))
    return 0


if __name__ == "__main__":
    sys.exit(main())
