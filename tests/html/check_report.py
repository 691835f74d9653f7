#!/usr/bin/env python3
"""Loads memgate's HTML report in headless Chromium and checks what a reader sees.

Three ways to get a page:
  --fixture EXE [--review]      EXE (mg_html_fixture) writes a fixed run of
                                fixture_run.h (the review run with --review) and
                                prints "tests=N charts=N"
  --memgate EXE --binary BIN    `memgate run --json` on a fixture program, then
                                `memgate report --html` on that JSON

Then, in fresh browser profiles with the network unreachable:
  1. --dump-dom with JavaScript: the script ran (html[data-js=ready]), the summary
     table has one row per test, every test with figures has an SVG chart with one bar
     per measured figure, no hostile test name ran as script, no script error.
  1b. A copy of the page drives the controls (chips, search, sort, expand/collapse).
  2. --dump-dom of a copy whose CSP forbids scripts: the table and the cards are there
     all the same, failures first, the chips inert.
  3. The page over the DevTools protocol (--remote-debugging-pipe) at exactly 1400 and
     420 CSS pixels wide (headless --window-size does not go below 500): a script in the
     page measures it and this program judges the measurements against the page's own
     data blob (check_layout): bars to scale across the run and budget ticks on the same
     scale, one failure sentence per card, failures first, controls that look and act
     like controls (real Tab, Enter, Space and mouse hover), every traceback behind an
     expander with its culprit marked, regressions styled apart from broken budgets,
     legend swatches coloured like the bars, names readable at 420 px, the interrupted
     banner, unknown figures as an em dash, suite badges, isolation and warm-ups.
  4. Full-page screenshots at 1400 px (light and dark) and 420 px, kept in --work for
     people to look at.

--require FEATURE,... fails the check when the page lacks a feature it is meant to
exercise (so a fixture cannot lose its coverage silently): interrupted, warnings,
unknown, regressed-only, suite, long-tracebacks, deep-culprit, zero-budget, isolation,
warmups, distinct-small-bars.

Exit status: 0 pass, 1 fail, 77 skip (Chromium is not installed and CI is not set;
under CI=true a missing Chromium is a failure: ci/deps.sh installs it).
"""
import argparse
import base64
import html.parser
import json
import math
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

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
# Tracebacks a card shows open per table (the console's default count).
OPEN_TRACEBACKS = 3
# The chart's geometry (templates/report.html): a figure above zero is at least MINBAR
# units long, a row's budget tick is drawn on the bar's scale.
MINBAR = 2.0
# A figure's scale is logarithmic when its largest non-zero value is more than this many
# times its smallest (runner/report_html.c, MG_HTML_LOG_SPAN).
LOG_SPAN = 100.0
NONE = "\u2014"  # what the page shows for a figure that is not there
PROBLEMS = ("fail", "crash", "timeout", "error")
FEATURES = ("interrupted", "warnings", "unknown", "regressed-only", "suite", "long-tracebacks",
            "deep-culprit", "zero-budget", "isolation", "warmups", "distinct-small-bars")


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

# Measures the page as laid out (evaluated over the DevTools protocol; returns JSON
# text). It only reports what it finds; check_layout() judges.
MEASURE = r"""
(function () {
  function classes(e) { return (e.getAttribute('class') || '').split(/\s+/).filter(Boolean); }
  function box(e) {
    var r = e.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top + scrollY, bottom: r.bottom + scrollY,
             width: r.width, height: r.height };
  }
  function attr(e, a) { return e ? Number(e.getAttribute(a)) : null; }
  /* Non-blank characters per rendered line of e's text. */
  function lines(e) {
    var tops = [], counts = [], walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (var n; (n = walk.nextNode());) {
      for (var k = 0; k < n.length; k++) {
        if (/\s/.test(n.data[k])) continue;
        var rg = document.createRange();
        rg.setStart(n, k);
        rg.setEnd(n, k + 1);
        var rs = rg.getClientRects();
        if (!rs.length) continue;
        var top = rs[0].top, at = -1;
        for (var j = 0; j < tops.length; j++) if (Math.abs(tops[j] - top) < 3) at = j;
        if (at < 0) { tops.push(top); counts.push(1); } else counts[at]++;
      }
    }
    return counts;
  }
  /* The width of six digits in e's font: the narrowest a name may be drawn. */
  function sixChars(e) {
    var s = document.createElement('span'), cs = getComputedStyle(e);
    s.style.font = cs.font;
    s.style.position = 'absolute';
    s.style.whiteSpace = 'pre';
    s.textContent = '000000';
    document.body.appendChild(s);
    var w = s.getBoundingClientRect().width;
    s.remove();
    return w;
  }
  function visible(e) { return !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length); }
  var out = { innerWidth: innerWidth, scrollWidth: document.documentElement.scrollWidth,
              js: document.documentElement.getAttribute('data-js') };
  var pageBg = getComputedStyle(document.documentElement).backgroundColor;
  out.pageBg = pageBg;

  out.rows = Array.prototype.map.call(document.querySelectorAll('#mg-tests tbody tr'), function (r) {
    return {
      i: Number(r.getAttribute('data-i')), status: r.getAttribute('data-status'),
      kind: (r.querySelector('td.name .kind') || {}).textContent || null,
      cells: Array.prototype.map.call(r.children, function (c) {
        var cs = getComputedStyle(c), of = c.querySelector('.of');
        return { cls: classes(c), text: c.textContent, title: c.getAttribute('title'),
                 color: cs.color, bg: cs.backgroundColor, weight: cs.fontWeight,
                 ofColor: of ? getComputedStyle(of).color : null };
      })
    };
  });
  out.table = box(document.getElementById('mg-tests'));

  out.sections = Array.prototype.map.call(document.querySelectorAll('details.test'), function (d) {
    var sum = d.querySelector(':scope > summary');
    var chart = d.querySelector('.chart svg'), limits = d.querySelector('table.limits');
    var s = {
      i: Number(d.getAttribute('data-i')), status: d.getAttribute('data-status'), open: d.open,
      text: d.textContent, why: Array.prototype.map.call(sum.querySelectorAll('.why'),
                                                       function (w) { return w.textContent; }),
      kind: (sum.querySelector('.kind') || {}).textContent || null,
      outcomes: d.querySelectorAll('.outcome').length,
      iso: !!d.querySelector('ul.meta li.iso'), warm: !!d.querySelector('ul.meta li.warm'),
      chartBox: chart ? box(chart) : null, limitsBox: limits ? box(limits) : null,
      tbs: Array.prototype.map.call(d.querySelectorAll('details.tb'), function (tb) {
        var head = tb.querySelector(':scope > summary');
        var culprits = tb.querySelectorAll('li.culprit');
        return { open: tb.open, head: head.textContent,
                 at: (head.querySelector('.at .fn') || {}).textContent || null,
                 frames: tb.querySelectorAll('ol.frames li:not(.more)').length,
                 culprits: culprits.length,
                 culpritFn: culprits.length ? culprits[0].querySelector('.fn').textContent : null,
                 culpritBg: culprits.length ? getComputedStyle(culprits[0]).backgroundColor : null,
                 culpritIndex: culprits.length ? Array.prototype.indexOf.call(
                     tb.querySelectorAll('ol.frames li:not(.more)'), culprits[0]) : -1,
                 culpritHidden: culprits.length ? !!culprits[0].closest('li.more') : false };
      }),
      limits: limits ? Array.prototype.map.call(limits.querySelectorAll('tbody tr'), function (tr) {
        return { metric: tr.getAttribute('data-metric'), cls: classes(tr), text: tr.textContent,
                 colors: Array.prototype.map.call(tr.children, function (c) {
                   return getComputedStyle(c).color; }) };
      }) : null
    };
    s.chart = null;
    if (chart) {
      s.chart = {
        metrics: Array.prototype.map.call(chart.querySelectorAll('g.metric'), function (g) {
          var track = g.querySelector('rect.track'), bar = g.querySelector('rect.bar');
          var budget = g.querySelector('line.budget'), base = g.querySelector('line.baseline');
          var val = g.querySelector('[data-role="value"]');
          return {
            key: g.getAttribute('data-metric'), known: g.getAttribute('data-known') === 'true',
            x0: attr(track, 'x'), span: attr(track, 'width'),
            bar: bar ? { width: attr(bar, 'width'), cls: classes(bar),
                         fill: getComputedStyle(bar).fill } : null,
            budget: budget ? { x: attr(budget, 'x1'), x2: attr(budget, 'x2'),
                               stroke: getComputedStyle(budget).strokeWidth } : null,
            baseline: base ? attr(base, 'x1') : null,
            value: val ? val.textContent : null, label: g.querySelector('text.label').textContent
          };
        }),
        swatches: Array.prototype.map.call(chart.querySelectorAll('.legend .swatch'), function (w) {
          return { cls: classes(w), fill: getComputedStyle(w).fill,
                   label: w.nextElementSibling ? w.nextElementSibling.textContent : '' };
        }),
        legend: (chart.querySelector('.legend') || {}).textContent || ''
      };
    }
    return s;
  });

  out.names = Array.prototype.filter.call(
      document.querySelectorAll('td.name a, details.test > summary .tname'), visible)
    .map(function (e) {
      return { text: e.textContent, width: e.getBoundingClientRect().width, six: sixChars(e),
               lines: lines(e) };
    });

  /* Every control a reader can press. */
  window.__mgControls = Array.prototype.filter.call(document.querySelectorAll('button'), visible);
  out.controls = window.__mgControls.map(function (b, k) {
    var cs = getComputedStyle(b);
    return { k: k, id: b.id, text: b.textContent.trim(), cls: classes(b), disabled: b.disabled,
             pressed: b.getAttribute('aria-pressed'), tabIndex: b.tabIndex,
             borderStyle: cs.borderTopStyle, borderWidth: parseFloat(cs.borderTopWidth),
             borderColor: cs.borderTopColor, cursor: cs.cursor, bg: cs.backgroundColor };
  });

  out.toolbar = visible(document.getElementById('mg-toolbar'));
  out.charts = document.querySelectorAll('svg.chart-svg').length;
  var banner = document.getElementById('mg-interrupted');
  out.banner = banner ? { text: banner.textContent, box: box(banner),
                          bg: getComputedStyle(banner).backgroundColor } : null;
  var warnings = document.getElementById('mg-warnings');
  out.warnings = warnings ? warnings.querySelectorAll('p').length : 0;
  return JSON.stringify(out);
})()
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


class Cdp:
    """One headless Chromium driven over the DevTools protocol on a pipe: the browser
    reads NUL-terminated JSON commands from its fd 3 and writes replies and events to
    its fd 4 (--remote-debugging-pipe). One page, in a fresh profile."""

    def __init__(self, browser, work):
        self.profile = tempfile.mkdtemp(prefix="profile-", dir=work)
        self.log = open(os.path.join(work, "browser.log"), "w")
        to_browser = os.pipe()
        from_browser = os.pipe()

        def child():
            # dup first: os.pipe()'s descriptors are close-on-exec, and dup2 onto the
            # same number would keep that flag.
            a, b = os.dup(to_browser[0]), os.dup(from_browser[1])
            os.dup2(a, 3)
            os.dup2(b, 4)

        env = dict(os.environ, HOME=self.profile, XDG_CONFIG_HOME=self.profile,
                   XDG_CACHE_HOME=self.profile)
        self.proc = subprocess.Popen(
            [browser, *FLAGS, "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
             "about:blank"],
            preexec_fn=child, close_fds=False, env=env, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=self.log)
        os.close(to_browser[0])
        os.close(from_browser[1])
        self.wfd, self.rfd = to_browser[1], from_browser[0]
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")

    def close(self):
        for fd in (self.wfd, self.rfd):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            check(left > 0, "the browser did not answer in time")
            ready, _, _ = select.select([self.rfd], [], [], left)
            if ready:
                chunk = os.read(self.rfd, 1 << 20)
                check(chunk, "the browser closed its DevTools pipe")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\0", 1)
        return json.loads(line)

    def call(self, method, params=None, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.wfd, data):]
        deadline = time.monotonic() + timeout
        while True:
            m = self._message(deadline)
            if m.get("id") == self.next_id:
                check("error" not in m, "%s failed: %r" % (method, m.get("error")))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            for k, e in enumerate(self.events):
                if e.get("method") == method:
                    del self.events[k]
                    return e
            self.events.append(self._message(deadline))

    def errors(self):
        """Script exceptions and console errors the page raised so far."""
        out = []
        for e in self.events:
            if e.get("method") == "Runtime.exceptionThrown":
                out.append(json.dumps(e["params"]["exceptionDetails"])[:500])
            elif e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error":
                out.append(e["params"]["entry"].get("text", "")[:500])
        return out

    def open(self, url, width, height=900, dark=False):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.call("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def eval(self, expr):
        res = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                             "awaitPromise": True})
        check("exceptionDetails" not in res,
              "script failed: %s" % json.dumps(res.get("exceptionDetails"))[:1500])
        return res["result"].get("value")

    def key(self, name):
        """Presses and releases Tab, Enter or Space as a keyboard would."""
        codes = {"Tab": (9, ""), "Enter": (13, "\r"), "Space": (32, " ")}
        vk, text = codes[name]
        key = " " if name == "Space" else name
        down = {"type": "keyDown", "key": key, "code": name, "windowsVirtualKeyCode": vk}
        if text:
            down["text"] = text
        self.call("Input.dispatchKeyEvent", down)
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "code": name,
                                             "windowsVirtualKeyCode": vk})

    def mouse(self, x, y):
        self.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})

    def screenshot(self, path):
        """The whole page, not only the viewport."""
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                     "scale": 1}}, timeout=120)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))


class Dom(html.parser.HTMLParser):
    """The few facts of a dumped DOM the checks need."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = {}
        self.rows = []      # data-i of the summary rows, in page order
        self.sections = []  # data-i of the cards, in page order
        self.scripts = 0
        self.charts = []  # per chart: {"bars": [widths], "budgets": n, "metrics": n, ...}
        self.chips = []   # per status chip: whether it is disabled
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
            self.rows.append(int(a["data-i"]))
        elif tag == "details" and "test" in cls:
            self.sections.append(int(a["data-i"]))
        elif tag == "button" and "chip" in cls:
            self.chips.append("disabled" in a)
        elif tag == "div" and a.get("id") == "mg-toolbar":
            self.toolbar_hidden = "hidden" in a
        elif tag == "span" and a.get("id") == "mg-shown":
            self._shown = True
        elif tag == "svg" and "chart-svg" in cls:
            self._chart = {"bars": [], "budgets": 0, "metrics": 0, "known": 0, "swatches": 0}
        elif self._chart is not None:
            if tag == "g" and "metric" in cls:
                self._chart["metrics"] += 1
                self._chart["known"] += a.get("data-known") == "true"
            elif tag == "rect" and "bar" in cls:
                self._chart["bars"].append(float(a.get("width") or 0))
            elif tag == "rect" and "swatch" in cls:
                self._chart["swatches"] += 1
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


def listing_order(data):
    """The order the page lists tests in: problems, passes, skips; registry order within."""
    return sorted(range(len(data["tests"])),
                  key=lambda i: ({"pass": 1, "skip": 2}.get(data["tests"][i]["status"], 0), i))


def expected_scales(data):
    """Each chart figure's scale, decided again from the blob's figures: the largest
    value, budget or baseline, logarithmic when the non-zero ones span more than
    LOG_SPAN."""
    out = {}
    for t in data["tests"]:
        for m in t["metrics"] or []:
            s = out.setdefault(m["key"], [])
            if m["known"]:
                s += [v for v in (m["value"], m["budget"], m["baseline"]) if v is not None and v > 0]
    return {k: (max(v) if v else 1, bool(v) and max(v) > LOG_SPAN * min(v)) for k, v in out.items()}


def position(v, scale):
    top, log = scale
    if v is None or v <= 0:
        return 0.0
    r = math.log1p(v) / math.log1p(top) if log else v / top
    return min(1.0, r)


def check_page(browser, work, page, tests, charts, require):
    url = "file://" + os.path.abspath(page)
    with open(page, encoding="utf-8") as f:
        text = f.read()
    data = page_data(text)
    order = listing_order(data)

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
    check(len(dom.rows) == tests, "summary table: %d rows, expected %d" % (len(dom.rows), tests))
    check(len(dom.sections) == tests, "%d test cards, expected %d" % (len(dom.sections), tests))
    check(dom.rows == order, "rows in order %r, expected problems first: %r" % (dom.rows, order))
    check(dom.sections == order, "cards in order %r, expected %r" % (dom.sections, order))
    check(dom.toolbar_hidden is False, "the toolbar stayed hidden")
    check(dom.shown.strip() == "%d tests" % tests, "toolbar count says %r" % dom.shown)
    check(dom.chips and not any(dom.chips), "the script left status chips disabled")
    check(len(dom.charts) == charts, "%d charts drawn, expected %d" % (len(dom.charts), charts))
    for i, c in enumerate(dom.charts):
        check(c["metrics"] == 3, "chart %d: %d metric rows, expected 3" % (i, c["metrics"]))
        # One bar per measured figure; the legend's swatches are not bars.
        check(len(c["bars"]) == c["known"],
              "chart %d: %d bars for %d measured figures" % (i, len(c["bars"]), c["known"]))
        check(c["swatches"] >= 1 or not any(c["bars"]), "chart %d: no legend swatch" % i)
    if charts:
        check(any(w > 0 for c in dom.charts for w in c["bars"]), "every bar is empty")
        check(sum(c["budgets"] for c in dom.charts) > 0, "no budget marker in any chart")

    # 1b. The controls work: a copy of the page runs a script after the page's own that
    # clicks a status chip, types a search, sorts by peak and expands/collapses, then
    # writes what it saw into html[data-selftest]. Expectations come from the page's
    # own data blob.
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
    peaks = [(-t["metrics"][2]["value"], i) for i, t in enumerate(data["tests"])
             if t["metrics"] and t["metrics"][2]["known"]]
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

    # 2. Without JavaScript: the same table and cards, failures first, no charts, and
    # chips that count but offer nothing to press. (Headless Chromium dumps no DOM with
    # scripts switched off, so a copy of the page forbids them itself.)
    check("<head>" in text, "the page has no <head>")
    nojs = os.path.join(work, "nojs.html")
    with open(nojs, "w", encoding="utf-8") as f:
        f.write(text.replace("<head>", "<head><meta http-equiv=\"Content-Security-Policy\" "
                             "content=\"script-src 'none'\">", 1))
    out, _ = browse(browser, work, "file://" + os.path.abspath(nojs), "--dump-dom")
    dom = parse(out)
    check(dom.root.get("data-js") == "off", "scripts ran although disabled")
    check(len(dom.rows) == tests, "without JavaScript: %d rows, expected %d" % (len(dom.rows), tests))
    check(len(dom.sections) == tests, "without JavaScript: %d cards" % len(dom.sections))
    check(dom.rows == order and dom.sections == order,
          "without JavaScript: rows %r / cards %r, expected %r" % (dom.rows, dom.sections, order))
    check(dom.chips and all(dom.chips), "without JavaScript the status chips are not inert")
    check(not dom.charts and not dom.pwned, "without JavaScript: charts or script ran")

    # 3 and 4. Laid out at exact widths, with real input; screenshots.
    with Cdp(browser, work) as cdp:
        for width in (1400, 420):
            cdp.open(url, width)
            facts = json.loads(cdp.eval(MEASURE))
            with open(os.path.join(work, "layout-%d.json" % width), "w") as f:
                json.dump(facts, f, indent=1)
            check(facts["innerWidth"] == width,
                  "the viewport is %d px wide, expected %d" % (facts["innerWidth"], width))
            check(facts["js"] == "ready", "at %d px the script did not finish" % width)
            check_layout(data, facts, width, order, require if width == 1400 else ())
            png = os.path.join(work, "report-%d.png" % width)
            cdp.screenshot(png)
            check_png(png)
        errors = cdp.errors()
        check(not errors, "the page raised script or console errors: %r" % errors)
        # The copy that forbids scripts logs each blocked script: those are no errors.
        for width in (1400, 420):
            cdp.open("file://" + os.path.abspath(nojs), width)
            check_nojs_layout(json.loads(cdp.eval(MEASURE)), width, order)
        cdp.events = []
        cdp.open(url, 1400)
        facts = json.loads(cdp.eval(MEASURE))
        check_input(cdp, data, facts, order)
        cdp.open(url, 1400, dark=True)
        png = os.path.join(work, "report-1400-dark.png")
        cdp.screenshot(png)
        check_png(png)
        errors = cdp.errors()
        check(not errors, "the page raised script or console errors: %r" % errors)


def check_png(png):
    with open(png, "rb") as f:
        head = f.read(8)
    check(head == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % png)
    check(os.path.getsize(png) > 20000, "%s is suspiciously small" % png)
    print("screenshot: " + png)


def check_layout(data, facts, width, order, require):
    """Judges the measurements of MEASURE against the page's data blob."""
    tests = data["tests"]
    seen = set()
    rows = {r["i"]: r for r in facts["rows"]}
    cards = {s["i"]: s for s in facts["sections"]}
    check([r["i"] for r in facts["rows"]] == order, "rows are not listed problems first")
    check([s["i"] for s in facts["sections"]] == order, "cards are not listed problems first")
    check(facts["scrollWidth"] <= width,
          "at %d px the page is %d px wide (it scrolls sideways)" % (width, facts["scrollWidth"]))
    columns = [m["key"] for t in tests if t["metrics"] for m in t["metrics"]][:3]

    # Charts: to scale across the run.
    scales = expected_scales(data)
    for key, (top, log) in scales.items():
        got = data["scales"][key]
        check(got["max"] == top and got["log"] == log,
              "scale of %s: page says max %r log %r, the figures say max %r log %r"
              % (key, got["max"], got["log"], top, log))
    by_metric = {}
    for i, t in enumerate(tests):
        card = cards[i]
        if not t["metrics"]:
            check(card["chart"] is None, "%s: a chart without figures" % t["name"])
            continue
        chart = card["chart"]
        check(chart is not None, "%s: no chart" % t["name"])
        check(len(chart["metrics"]) == len(t["metrics"]), "%s: chart rows" % t["name"])
        for m, g in zip(t["metrics"], chart["metrics"]):
            where = "%s, %s" % (t["name"], m["key"])
            scale = scales[m["key"]]
            check("log scale" in g["label"] if scale[1] else "linear scale" in g["label"],
                  "%s: the row does not say its scale: %r" % (where, g["label"]))
            if not m["known"]:
                seen.add("unknown")
                check(g["bar"] is None and g["budget"] is None,
                      "%s: a figure that was not measured has a bar or tick" % where)
                check(g["value"].startswith(NONE) and not any(ch.isdigit() for ch in g["value"]),
                      "%s: an unknown figure reads %r" % (where, g["value"]))
                continue
            check(g["bar"] is not None, "%s: no bar" % where)
            want = max(MINBAR, g["span"] * position(m["value"], scale)) if m["value"] > 0 else 0
            check(abs(g["bar"]["width"] - want) < 0.02,
                  "%s: bar %.2f units long, %.2f expected (value %r on scale %r)"
                  % (where, g["bar"]["width"], want, m["value"], scale))
            by_metric.setdefault(m["key"], []).append((m["value"], g["bar"]["width"], t["name"]))
            if m["budget"] is None:
                check(g["budget"] is None, "%s: a budget tick without a budget" % where)
            else:
                bx = g["x0"] + g["span"] * position(m["budget"], scale)
                check(g["budget"] is not None and abs(g["budget"]["x"] - bx) < 0.02,
                      "%s: budget tick at %r, expected %.2f" % (where, g["budget"], bx))
                check(float(g["budget"]["stroke"].rstrip("px")) >= 2,
                      "%s: the budget tick is too thin to see" % where)
                if m["budget"] == 0:
                    seen.add("zero-budget")
                    check(g["budget"]["x"] == g["x0"], "%s: a zero budget off the origin" % where)
            if m["baseline"] is not None:
                lx = g["x0"] + g["span"] * position(m["baseline"], scale)
                check(g["baseline"] is not None and abs(g["baseline"] - lx) < 0.02,
                      "%s: baseline marker at %r, expected %.2f" % (where, g["baseline"], lx))
            want_cls = ("bad" if m["broken"] else "regressed" if m["regressed"]
                        else "free" if m["budget"] is None else "ok")
            check(want_cls in g["bar"]["cls"], "%s: bar classes %r, expected %s"
                  % (where, g["bar"]["cls"], want_cls))
            # The value row says the figure, not the verdict: the card's sentence does.
            check(">" not in g["value"] and "budget" not in g["value"],
                  "%s: the chart repeats the verdict: %r" % (where, g["value"]))
        # Legend: exactly the colours of the bars drawn, through the same fills.
        drawn = {}
        for g in chart["metrics"]:
            if g["bar"] and g["bar"]["width"] > 0:
                cls = [c for c in g["bar"]["cls"] if c != "bar"][0]
                drawn.setdefault(cls, set()).add(g["bar"]["fill"])
        swatches = {}
        for w in chart["swatches"]:
            cls = [c for c in w["cls"] if c != "swatch"][0]
            swatches[cls] = (w["fill"], w["label"])
        check(set(drawn) == set(swatches), "%s: legend shows %r, bars are %r"
              % (t["name"], sorted(swatches), sorted(drawn)))
        for cls, fills in drawn.items():
            check(fills == {swatches[cls][0]}, "%s: %s bars are %r, the legend's swatch %r"
                  % (t["name"], cls, fills, swatches[cls][0]))
        if chart["swatches"]:
            check("budget" in chart["legend"] or not any(m["budget"] is not None for m in t["metrics"]),
                  "%s: the legend does not explain the budget tick" % t["name"])
    for key, bars in by_metric.items():
        bars.sort()
        for (v1, w1, n1), (v2, w2, n2) in zip(bars, bars[1:]):
            check(w1 <= w2 + 1e-9, "%s: %s (%r) draws longer than %s (%r)" % (key, n1, v1, n2, v2))
            if 0 < v1 < v2:
                check(w1 < w2, "%s: %r and %r draw the same bar" % (key, v1, v2))
                if key == "leaked_bytes" and w2 > 2 * w1:
                    seen.add("distinct-small-bars")
    fills = {}
    for s in facts["sections"]:
        for g in (s["chart"] or {"metrics": []})["metrics"]:
            if g["bar"]:
                fills.setdefault([c for c in g["bar"]["cls"] if c != "bar"][0], set()).add(
                    g["bar"]["fill"])
    for a in fills:
        for b in fills:
            check(a == b or not (fills[a] & fills[b]), "%s and %s bars share a colour" % (a, b))

    # Cards: one sentence, suite badges, isolation, warm-ups, tracebacks, culprits.
    for i, t in enumerate(tests):
        card, row = cards[i], rows[i]
        if t["status"] == "pass":
            check(not card["why"], "%s: a passing card with a failure sentence" % t["name"])
        else:
            check(len(card["why"]) == 1, "%s: %d failure sentences in the summary"
                  % (t["name"], len(card["why"])))
            why = card["why"][0]
            check(card["text"].count(why) == 1, "%s: the failure sentence occurs %d times"
                  % (t["name"], card["text"].count(why)))
            check(card["outcomes"] == 0, "%s: an outcome paragraph repeats the sentence"
                  % t["name"])
        if t["kind"] == "suite":
            seen.add("suite")
        want = "suite" if t["kind"] == "suite" else None
        check(card["kind"] == want and row["kind"] == want,
              "%s: kind %s, badges %r / %r" % (t["name"], t["kind"], card["kind"], row["kind"]))
        check(card["iso"] == (t["isolation"] != "test"), "%s: isolation %s shown %r"
              % (t["name"], t["isolation"], card["iso"]))
        check(card["warm"] == (t["warmups"] > 0), "%s: %d warm-ups shown %r"
              % (t["name"], t["warmups"], card["warm"]))
        if t["isolation"] != "test":
            seen.add("isolation")
        if t["warmups"]:
            seen.add("warmups")
        ngrowth, npeak = t["tracebacks"]
        check(len(card["tbs"]) == ngrowth + npeak, "%s: %d tracebacks shown of %d"
              % (t["name"], len(card["tbs"]), ngrowth + npeak))
        if ngrowth > OPEN_TRACEBACKS or npeak > OPEN_TRACEBACKS:
            seen.add("long-tracebacks")
        opened = [k < OPEN_TRACEBACKS for k in range(ngrowth)] + \
                 [k < OPEN_TRACEBACKS for k in range(npeak)]
        check([tb["open"] for tb in card["tbs"]] == opened,
              "%s: open tracebacks %r, expected %r"
              % (t["name"], [tb["open"] for tb in card["tbs"]], opened))
        for tb in card["tbs"]:
            if not tb["frames"]:
                continue
            check(tb["culprits"] == 1, "%s: %d culprit frames in %r"
                  % (t["name"], tb["culprits"], tb["head"]))
            check(tb["at"] == tb["culpritFn"], "%s: the summary names %r, the marked frame is %r"
                  % (t["name"], tb["at"], tb["culpritFn"]))
            check(tb["culpritBg"] not in ("rgba(0, 0, 0, 0)", "transparent"),
                  "%s: the culprit frame is not highlighted" % t["name"])
            check(not tb["culpritHidden"], "%s: the culprit frame is behind 'more frames'"
                  % t["name"])
            if tb["culpritIndex"] >= 16:
                seen.add("deep-culprit")

    # The summary table: unknown figures, broken budgets, regressions.
    fail_color = regress_color = None
    for i, t in enumerate(tests):
        for k, m in enumerate(t["metrics"] or []):
            if m["known"] and m["broken"]:
                fail_color = fail_color or rows[i]["cells"][2 + k]["color"]
    for i, t in enumerate(tests):
        row = rows[i]
        cells = row["cells"][2:2 + len(columns)]
        for k, key in enumerate(columns):
            cell = cells[k]
            m = t["metrics"][k] if t["metrics"] else None
            if m is None or not m["known"]:
                check(cell["text"].strip() == NONE, "%s, %s: a missing figure reads %r"
                      % (t["name"], key, cell["text"]))
                if m is not None:
                    check(cell["title"] == "not measured", "%s, %s: unknown not explained"
                          % (t["name"], key))
                continue
            check(("broken" in cell["cls"]) == m["broken"],
                  "%s, %s: broken %r but cell classes %r" % (t["name"], key, m["broken"], cell["cls"]))
            check(("regressed" in cell["cls"]) == m["regressed"],
                  "%s, %s: regressed %r but cell classes %r"
                  % (t["name"], key, m["regressed"], cell["cls"]))
            check(("regressed vs baseline" in cell["text"]) == m["regressed"],
                  "%s, %s: the regression label %r" % (t["name"], key, cell["text"]))
            if m["broken"]:
                check(cell["color"] == fail_color, "broken cells in different colours")
            elif m["regressed"]:
                seen.add("regressed-only")
                regress_color = cell["color"]
                check(cell["ofColor"] != fail_color and cell["color"] != fail_color,
                      "%s, %s: a baseline-only regression is painted like a broken budget"
                      % (t["name"], key))
                check(cell["bg"] not in ("rgba(0, 0, 0, 0)", "transparent"),
                      "%s, %s: a regression has no style of its own" % (t["name"], key))
                lim = [r for r in cards[i]["limits"] if r["metric"] == key][0]
                check("regressed" in lim["cls"] and "broken" not in lim["cls"],
                      "%s, %s: limits row classes %r" % (t["name"], key, lim["cls"]))
                check("regressed vs baseline" in lim["text"], "%s: no regression label" % t["name"])
            else:
                check(cell["color"] != fail_color or fail_color is None,
                      "%s, %s: a cell within budget in the failure colour" % (t["name"], key))
    if fail_color and regress_color:
        check(fail_color != regress_color, "regressions and broken budgets share a colour")
    for i, t in enumerate(tests):
        for lim in cards[i]["limits"] or []:
            m = [x for x in t["metrics"] if x["key"] == lim["metric"]] if t["metrics"] else []
            if m and not m[0]["broken"] and fail_color:
                check(lim["colors"][2] != fail_color,
                      "%s, %s: a budget cell in red although that budget held"
                      % (t["name"], lim["metric"]))

    check_names(facts, width)
    # Cards stack on a narrow screen; chart and limits sit side by side on a wide one.
    for s in facts["sections"]:
        if not (s["open"] and s["chartBox"] and s["limitsBox"]):
            continue
        if width < 700:
            check(s["chartBox"]["bottom"] <= s["limitsBox"]["top"] + 1,
                  "at %d px the chart and the limits of test %d overlap or sit side by side"
                  % (width, s["i"]))
        else:
            check(s["chartBox"]["right"] <= s["limitsBox"]["left"] + 1,
                  "at %d px the chart and the limits of test %d do not sit side by side"
                  % (width, s["i"]))

    # Banners.
    if data["interrupted"]:
        seen.add("interrupted")
        b = facts["banner"]
        check(b is not None and b["box"]["height"] > 0, "no visible interrupted banner")
        check("interrupted" in b["text"].lower(), "the banner says %r" % b["text"])
        check(b["box"]["bottom"] <= facts["table"]["top"], "the banner is below the table")
        check(b["bg"] != facts["pageBg"], "the banner does not stand out")
    else:
        check(facts["banner"] is None, "an interrupted banner on a complete run")
    check(facts["warnings"] == data["warnings"], "%d warnings shown of %d"
          % (facts["warnings"], data["warnings"]))
    if data["warnings"]:
        seen.add("warnings")

    missing = [f for f in require if f not in seen]
    check(not missing, "the page lacks what it is meant to exercise: %s" % ", ".join(missing))


def check_names(facts, width):
    """Names stay readable: at least six characters wide, never one character a line."""
    check(facts["names"], "no test name on the page")
    for n in facts["names"]:
        check(n["width"] >= n["six"] - 0.5 or len(n["text"]) < 6,
              "at %d px the name %r is %.0f px wide (six characters are %.0f px)"
              % (width, n["text"], n["width"], n["six"]))
        short = [c for c in n["lines"] if c < 2]
        check(not short or sum(n["lines"]) < 2,
              "at %d px the name %r breaks into lines of %r characters"
              % (width, n["text"], n["lines"]))


def check_nojs_layout(facts, width, order):
    """Without JavaScript: the same listing, readable names, and nothing that looks like a
    control but does nothing (the toolbar stays hidden, the chips only count)."""
    check(facts["js"] == "off", "scripts ran in the page without JavaScript")
    check(not facts["toolbar"], "without JavaScript the toolbar and its dead controls show")
    check(facts["charts"] == 0, "charts without JavaScript")
    check([r["i"] for r in facts["rows"]] == order, "without JavaScript: rows not problems first")
    check(facts["scrollWidth"] <= width, "without JavaScript at %d px the page is %d px wide"
          % (width, facts["scrollWidth"]))
    for c in facts["controls"]:
        check("chip" in c["cls"] and c["disabled"],
              "without JavaScript a live control shows: %r" % c["text"])
        check(c["cursor"] != "pointer" and c["borderColor"] in ("rgba(0, 0, 0, 0)", "transparent"),
              "without JavaScript the chip %r looks pressable" % c["text"])
    check_names(facts, width)


def check_input(cdp, data, facts, order):
    """Controls look like controls and work with a real keyboard and mouse."""
    controls = facts["controls"]
    check(controls, "the page has no controls")
    for c in controls:
        what = "control %r (%s)" % (c["text"], " ".join(c["cls"]))
        check(not c["disabled"], what + " is disabled with the script running")
        check(c["borderStyle"] in ("solid", "dashed") and c["borderWidth"] >= 1,
              "%s has no border: %s %.1fpx" % (what, c["borderStyle"], c["borderWidth"]))
        check(c["borderColor"] not in ("rgba(0, 0, 0, 0)", "transparent"),
              what + " has an invisible border")
        check(c["cursor"] == "pointer", "%s: cursor %s" % (what, c["cursor"]))
        check(c["tabIndex"] >= 0, what + " is not reachable by keyboard")
    toggles = [c for c in controls if "chip" in c["cls"] or c["id"].startswith("mg-order-")]
    check(toggles and all(c["pressed"] in ("true", "false") for c in toggles),
          "toggles without aria-pressed: %r" % [c["text"] for c in toggles])
    check(sum(1 for c in controls if "sort" in c["cls"]) >= 5, "no sort buttons in the headings")

    # Hover: the mouse over each control changes its look.
    for c in controls:
        rect = cdp.eval("(function(){var b=window.__mgControls[%d];b.scrollIntoView({block:'center'});"
                        "var r=b.getBoundingClientRect();return [r.left+r.width/2,r.top+r.height/2];})()"
                        % c["k"])
        before = cdp.eval("(function(){var s=getComputedStyle(window.__mgControls[%d]);"
                          "return [s.backgroundColor,s.borderTopColor];})()" % c["k"])
        cdp.mouse(*rect)
        after = cdp.eval("(function(){var b=window.__mgControls[%d];var s=getComputedStyle(b);"
                         "return [b.matches(':hover'),s.backgroundColor,s.borderTopColor];})()"
                         % c["k"])
        check(after[0], "control %r did not get the mouse" % c["text"])
        check(after[1:] != before, "control %r does not change on hover: %r" % (c["text"], before))
        cdp.mouse(0, 0)

    # Focus: Tab reaches every control, and the focused one shows a focus ring.
    cdp.eval("document.activeElement && document.activeElement.blur(); window.scrollTo(0,0)")
    reached = set()
    for _ in range(400):
        cdp.key("Tab")
        got = cdp.eval("(function(){var e=document.activeElement;var k=window.__mgControls.indexOf(e);"
                       "var s=getComputedStyle(e);return [k,s.outlineStyle,parseFloat(s.outlineWidth),"
                       "e.matches(':focus-visible')];})()")
        if got[0] >= 0:
            check(got[3] and got[1] != "none" and got[2] >= 2,
                  "control %r has no visible focus ring: %r" % (controls[got[0]]["text"], got))
            reached.add(got[0])
        if len(reached) == len(controls):
            break
    missed = [controls[k]["text"] for k in range(len(controls)) if k not in reached]
    check(not missed, "Tab never reaches %r" % missed)

    # Keyboard activation: Enter on "Registry order", Space on "Problems first", Enter
    # on a status chip.
    def press(button_id, key):
        cdp.eval("document.getElementById(%s).focus()" % json.dumps(button_id))
        cdp.key(key)
        return cdp.eval("(function(){return {rows:[].map.call(document.querySelectorAll('#mg-tests tbody tr'),"
                        "function(r){return +r.getAttribute('data-i')}),cards:[].map.call("
                        "document.querySelectorAll('details.test'),function(d){return +d.getAttribute('data-i')}),"
                        "pressed:[document.getElementById('mg-order-problems').getAttribute('aria-pressed'),"
                        "document.getElementById('mg-order-registry').getAttribute('aria-pressed')]};})()")

    registry = list(range(len(data["tests"])))
    got = press("mg-order-registry", "Enter")
    check(got["rows"] == registry and got["cards"] == registry,
          "Enter on 'Registry order': rows %r, cards %r" % (got["rows"], got["cards"]))
    check(got["pressed"] == ["false", "true"], "order buttons pressed: %r" % got["pressed"])
    got = press("mg-order-problems", "Space")
    check(got["rows"] == order and got["cards"] == order,
          "Space on 'Problems first': rows %r, cards %r" % (got["rows"], got["cards"]))
    check(got["pressed"] == ["true", "false"], "order buttons pressed: %r" % got["pressed"])
    chip = cdp.eval("(function(){var c=document.querySelector('button.chip[data-status=\"pass\"]');"
                    "c.focus();return c.getAttribute('aria-pressed');})()")
    cdp.key("Enter")
    after = cdp.eval("(function(){return [document.querySelector('button.chip[data-status=\"pass\"]')"
                     ".getAttribute('aria-pressed'),[].filter.call(document.querySelectorAll("
                     "'#mg-tests tbody tr'),function(r){return !r.hidden}).length];})()")
    npass = sum(t["status"] == "pass" for t in data["tests"])
    check(chip == "true" and after == ["false", len(data["tests"]) - npass],
          "Enter on the pass chip: %r -> %r" % (chip, after))


def page_from_fixture(exe, work, review):
    page = os.path.join(work, "report.html")
    res = subprocess.run([exe] + (["--review"] if review else []) + [page], capture_output=True,
                         text=True)
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
    ap.add_argument("--review", action="store_true", help="the fixture's review run")
    ap.add_argument("--memgate", help="memgate CLI")
    ap.add_argument("--library", help="libmemgate.so for memgate run")
    ap.add_argument("--binary", help="CUnit fixture program for memgate run")
    ap.add_argument("--require", default="", help="features the page must exercise: "
                    + ",".join(FEATURES))
    args = ap.parse_args()
    require = [f for f in args.require.split(",") if f]
    unknown = [f for f in require if f not in FEATURES]
    if unknown:
        ap.error("unknown --require feature(s): " + ", ".join(unknown))

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
            page, tests, charts = page_from_fixture(args.fixture, args.work, args.review)
        elif args.memgate and args.binary:
            page, tests, charts = page_from_cli(args.memgate, args.library, args.binary, args.work)
        else:
            ap.error("give --fixture, or --memgate and --binary")
        check(tests > 0, "the report has no test")
        check_page(browser, args.work, page, tests, charts, require)
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    print("ok: %d rows, %d charts, page %s" % (tests, charts, page))
    return 0


if __name__ == "__main__":
    sys.exit(main())
