#!/usr/bin/env python3
"""End-to-end tests of the CLI a new user meets in the first hour: budgets keys that
match no test (and --strict), progress lines whose total never changes, the ETA and the
live "running ..." line on a terminal (through a pseudo-terminal), --quiet, and
`memgate suppress` with its round trip through `memgate run`.

Subcommands:
  unmatched-keys  a budgets key that matches no listed test is a run warning (console,
                  JSON, JUnit) with a did-you-mean; keys that match only tests left out
                  by -k, --exclude or --shard are not
  strict          --strict makes such keys an error (exit 2) before any test runs, and
                  stays quiet about keys that match unselected tests
  progress-total  "[i/N]" has the run's total on every line, also at -j 2 when a second
                  binary lists slowly (a script that sleeps); no ETA or live line in a pipe
  tty             on a pseudo-terminal: "running faults/hang_forever (2 s)" is drawn with
                  \\r and erased before the next line, progress lines end with an ETA but
                  the last; none of it with --color never (no live line), CI set or -q
  quiet           -q prints only tests that did not pass, their accounts, warnings and
                  the two closing lines (tests run, then "memgate: N passed, N failed");
                  no blank line or baseline line when nothing needs attention
  suppress        memgate suppress REPORT.json: leak: lines (and --budgets: a budgets
                  file) that make the same run pass; -k/--exclude; what cannot be
                  accepted is named (exit 1); no failing test (exit 0); bad input (exit 2)

No assertion depends on timing beyond "a test that hangs until a 3 s timeout runs for
more than 2 s".

Usage: e2e_cli.py --memgate BIN --fixtures DIR --source DIR --work DIR SUBCOMMAND
Python 3, standard library only.
"""
import argparse
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import pylib  # noqa: E402

LINE_RE = re.compile(r"^\[ *(\d+)/(\d+)\] ", re.M)
# The first closing line, which -q keeps (scripts count the tests it ran).
CLOSING_RE = r"memgate: ran \d+ tests? in \d+\.\d\d s\n"


Checks = pylib.Checks


class Env:
    def __init__(self, a):
        # Absolute: memgate runs in the work directory.
        self.memgate, self.work = os.path.abspath(a.memgate), os.path.abspath(a.work)
        self.fixtures = os.path.abspath(a.fixtures)
        os.makedirs(self.work, exist_ok=True)

    def fixture(self, name):
        return os.path.join(self.fixtures, "fixture_" + name)

    def path(self, name):
        return os.path.join(self.work, name)

    def environ(self, extra=None):
        """The environment without what would change memgate's output: memgate's own
        variables, CI, NO_COLOR and sharding variables."""
        drop = ("MEMGATE_", "TEST_SHARD", "TEST_TOTAL", "GTEST_", "XML_OUTPUT")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        for k in ("CI", "NO_COLOR"):
            env.pop(k, None)
        env.update(extra or {})
        return env

    def run(self, args, tag, extra_env=None):
        """Runs memgate ARGS in a pipe; returns the CompletedProcess. Output is kept in
        the work directory as TAG.out / TAG.err."""
        cmd = [self.memgate] + list(args)
        print("$ " + " ".join(cmd), flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=self.environ(extra_env),
                           cwd=self.work)
        with open(self.path(tag + ".out"), "w", encoding="utf-8") as f:
            f.write(p.stdout)
        with open(self.path(tag + ".err"), "w", encoding="utf-8") as f:
            f.write(p.stderr)
        return p

    def run_pty(self, args, tag, extra_env=None):
        """Runs memgate ARGS with stdout on a pseudo-terminal (stderr in a pipe); returns
        (exit status, terminal output with \\r and escapes as written, stderr)."""
        cmd = [self.memgate] + list(args)
        print("$ (pty) " + " ".join(cmd), flush=True)
        env = self.environ(dict({"TERM": "xterm"}, **(extra_env or {})))
        master, slave = pty.openpty()
        p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env, cwd=self.work)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        err = p.stderr.read().decode("utf-8", "replace")
        rc = p.wait(timeout=120)
        os.close(master)
        out = b"".join(chunks).decode("utf-8", "replace")
        with open(self.path(tag + ".tty"), "w", encoding="utf-8") as f:
            f.write(out)
        return rc, out, err

    def write_json(self, name, doc):
        path = self.path(name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
        return path


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def junit_warnings(path):
    root = ET.parse(path).getroot()
    return {p.get("value") for p in root.iter("property") if p.get("name") == "warning"}


def statuses(doc):
    return {f"{t['suite']}/{t['name']}": t["status"] for t in doc["tests"]}


# ---- budgets keys that match no test ----------------------------------------------------

TYPO_BUDGETS = {"tests": {
    "leaky/cache_unbounde": {"leak_bytes": 1000},           # a typo: one letter short
    "leakyy/*": {"object_growth": 5},                       # a typo in a glob's suite
    "nosuch/thing": {"leak_bytes": 1},                      # nothing near it
    "strings/join_leaks": {"leak_bytes": 23},               # only in the second binary
    "catalog/(suite)": {"leak_bytes": 0},                   # a suite's own entry
    "leaky/refcount_cycle": {"leak_bytes": 100},            # an exact, existing test
}}


def typo_messages(path):
    return {
        f'{path}: tests["leaky/cache_unbounde"] matches no test of this run (did you mean "leaky/cache_unbounded"?)',
        f'{path}: tests["leakyy/*"] matches no test of this run (did you mean "leaky/*"?)',
        f'{path}: tests["nosuch/thing"] matches no test of this run',
    }


def cmd_unmatched_keys(env, ck):
    budgets = env.write_json("typos.budgets.json", TYPO_BUDGETS)
    expected = typo_messages(budgets)
    bins = [env.fixture("leaky"), env.fixture("multi")]
    selections = {
        "all": [],
        "filter": ["-k", "leaky/*"],
        "exclude": ["--exclude", "strings/*", "--exclude", "catalog/*"],
        "shard0": ["--shard", "0/2"],
        "shard1": ["--shard", "1/2"],
        "jobs": ["-j", "3"],
    }
    for tag, sel in selections.items():
        jpath, xpath = env.path(tag + ".json"), env.path(tag + ".xml")
        p = env.run(["run", "--json", jpath, "--junit", xpath, "--budgets", budgets, "--color", "never"]
                    + sel + bins, tag)
        ck.eq(p.returncode, 1, f"{tag}: exit status (leaky tests fail; warnings do not change it)")
        if not ck.ok(os.path.exists(jpath), f"{tag}: JSON report written"):
            continue
        warnings = set(load(jpath).get("warnings") or [])
        ck.eq(warnings, expected, f"{tag}: JSON run warnings are exactly the keys that match no listed test")
        ck.eq(junit_warnings(xpath) & expected, expected, f"{tag}: JUnit warning properties")
        for msg in expected:
            ck.has(p.stdout, "memgate: warning: " + msg, f"{tag}: console warning")
        for key in ("strings/join_leaks", "catalog/(suite)", "leaky/refcount_cycle"):
            ck.lacks(p.stdout + p.stderr, f'tests["{key}"] matches no test', f"{tag}: {key} matches a listed test")

    # Every key matches: no warning at all.
    good = env.write_json("good.budgets.json", {"tests": {k: v for k, v in TYPO_BUDGETS["tests"].items()
                                                          if k in ("strings/join_leaks", "leaky/refcount_cycle")}})
    jpath = env.path("good.json")
    p = env.run(["run", "--json", jpath, "--budgets", good, "-k", "leaky/*"] + bins, "good")
    ck.eq(p.returncode, 1, "good keys: exit status")
    if os.path.exists(jpath):
        ck.eq(load(jpath).get("warnings") or [], [], "good keys: no run warning")
    ck.lacks(p.stdout + p.stderr, "matches no test", "good keys: console")


def cmd_strict(env, ck):
    budgets = env.write_json("typos.budgets.json", TYPO_BUDGETS)
    bins = [env.fixture("leaky"), env.fixture("multi")]
    for tag, extra in (("strict", []), ("strict-j2", ["-j", "2"]), ("strict-filter", ["-k", "leaky/cache*"])):
        jpath = env.path(tag + ".json")
        p = env.run(["run", "--strict", "--json", jpath, "--budgets", budgets] + extra + bins, tag)
        ck.eq(p.returncode, 2, f"{tag}: exit status 2 (setup error)")
        for msg in typo_messages(budgets):
            ck.has(p.stderr, "memgate: " + msg, f"{tag}: names each key")
        ck.has(p.stderr, "--strict: 3 keys of the budgets file match no test", f"{tag}: says why it stopped")
        ck.eq(LINE_RE.findall(p.stdout), [], f"{tag}: stopped before any test line")
        ck.ok(not os.path.exists(jpath), f"{tag}: no report written")

    # Keys that match only tests left out by -k are keys of the suite, not mistakes.
    ok = env.write_json("ok.budgets.json", {"tests": {"strings/join_leaks": {"leak_bytes": 23},
                                                      "catalog/*": {"peak_bytes": "1 MiB"}}})
    jpath = env.path("strict-ok.json")
    p = env.run(["run", "--strict", "--json", jpath, "--budgets", ok, "-k", "leaky/cache*"] + bins, "strict-ok")
    ck.eq(p.returncode, 1, "--strict, keys matching unselected tests: an ordinary run (a leaky test fails)")
    if ck.ok(os.path.exists(jpath), "--strict ok: report written"):
        ck.eq(sorted(statuses(load(jpath))), ["leaky/cache_cleared", "leaky/cache_unbounded"], "--strict ok: tests")
    ck.lacks(p.stderr, "--strict", "--strict ok: no error")

    h = env.run(["--help"], "help")
    ck.has(h.stdout, "--strict", "--help lists --strict")


# ---- progress ---------------------------------------------------------------------------

def cmd_progress_total(env, ck):
    # A second "binary" that takes 2 s to say it has no CUnit tests: at -j 2 the first
    # binary's tests finish while it runs, before the run's total is known.
    script = env.path("slow_to_list.sh")
    with open(script, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\nsleep 2\n")
    os.chmod(script, 0o755)
    cases = {
        "slow-j2": ["-j", "2", env.fixture("leaky"), script],
        "slow-j1": [env.fixture("leaky"), script],
        "three-j3": ["-j", "3", env.fixture("leaky"), env.fixture("multi"), env.fixture("clean")],
    }
    for tag, args in cases.items():
        jpath = env.path(tag + ".json")
        p = env.run(["run", "--json", jpath, "--color", "never"] + args, tag)
        ck.ok(p.returncode in (0, 1), f"{tag}: exit status {p.returncode}")
        lines = [(int(i), int(n)) for i, n in LINE_RE.findall(p.stdout)]
        total = len(load(jpath)["tests"]) if os.path.exists(jpath) else -1
        ck.eq([i for i, _ in lines], list(range(1, total + 1)), f"{tag}: one line per test, in order")
        ck.eq({n for _, n in lines}, {total}, f"{tag}: every line has the run's total")
        for needle in ("ETA", "\r", "\x1b[K", "running "):
            ck.lacks(p.stdout, needle, f"{tag}: nothing live in a pipe")


def cmd_tty(env, ck):
    args = ["run", "--timeout", "3", "-k", "faults/hang_forever", "-k", "faults/passes_last", env.fixture("faults")]
    rc, out, _ = env.run_pty(args, "live")
    ck.eq(rc, 1, "live: exit status (a timeout)")
    ck.ok(re.search(r"\rrunning faults/hang_forever \([23] s\)\x1b\[K", out) is not None,
          "live: the running test drawn in place with \\r ... ESC[K")
    ck.has(out, "\r\x1b[K[1/2] ", "live: erased before the next progress line")
    first = re.search(r"\[1/2\] [^\r\n]*", out)
    last = re.search(r"\[2/2\] [^\r\n]*", out)
    ck.ok(first is not None and re.search(r"  ETA \d+:\d\d$", first.group(0)) is not None,
          f"live: ETA at the end of a progress line: {first and first.group(0)!r}")
    ck.ok(last is not None and "ETA" not in last.group(0), "live: no ETA on the last line")
    summary = out[out.find("memgate: ran"):] if "memgate: ran" in out else ""
    ck.lacks(summary, "running ", "live: no live line after the summary began")

    rc, out, _ = env.run_pty(["run", "--color", "never"] + args[1:], "never")
    ck.lacks(out, "running faults/", "--color never: no live line")
    ck.lacks(out, "\x1b[", "--color never: no escape sequence at all")

    for tag, extra_env, extra in (("ci", {"CI": "true"}, []), ("dumb", {"TERM": "dumb"}, []), ("quiet", {}, ["-q"])):
        rc, out, _ = env.run_pty(["run"] + extra + args[1:], tag, extra_env)
        ck.lacks(out, "running faults/", f"{tag}: no live line")
        ck.lacks(out, "ETA", f"{tag}: no ETA")
        ck.has(out, "1 timed out", f"{tag}: still ends with the summary")


def cmd_quiet(env, ck):
    p = env.run(["run", "-q", env.fixture("clean")], "clean")
    ck.eq(p.returncode, 0, "clean -q: exit status")
    ck.ok(re.fullmatch(CLOSING_RE + r"memgate: \d+ passed, 0 failed\n", p.stdout) is not None,
          f"clean -q: nothing but the closing lines: {p.stdout!r}")

    jpath = env.path("leaky.json")
    p = env.run(["run", "-q", "--json", jpath, env.fixture("leaky")], "leaky")
    ck.eq(p.returncode, 1, "leaky -q: exit status")
    doc = load(jpath) if os.path.exists(jpath) else {"tests": []}
    st = statuses(doc)
    failing = sorted(k for k, v in st.items() if v != "pass")
    lines = re.findall(r"^\[ *\d+/\d+\] (\S+) +(\S+)", p.stdout, re.M)
    ck.eq(sorted(name for _, name in lines), failing, "leaky -q: a progress line for each failing test only")
    ck.ok(all(word != "PASS" for word, _ in lines), "leaky -q: no PASS line")
    for name in failing:
        ck.has(p.stdout, f"\nFAIL    {name}  (", f"leaky -q: account of {name}")
    ck.ok(re.search(r"\n\n" + CLOSING_RE, p.stdout) is not None, "leaky -q: closing lines after a blank line")
    n_pass = sum(1 for v in st.values() if v == "pass")
    ck.ok(p.stdout.endswith(f"\nmemgate: {n_pass} passed, {len(failing)} failed\n"),
          "leaky -q: ends with the standard closing line")

    # (multi's catalog suite: exact figures, so the baseline comparison cannot flake.)
    base = env.path("base.json")
    catalog = ["-k", "catalog/*", env.fixture("multi")]
    p = env.run(["run", "-q", "--update-baseline", base] + catalog, "baseline")
    ck.eq(p.returncode, 0, "-q --update-baseline: exit status")
    ck.ok(os.path.exists(base), "-q --update-baseline: baseline written")
    ck.eq(p.stderr, "", "-q --update-baseline: no 'baseline written' chatter")
    p = env.run(["run", "-q", "--baseline", base] + catalog, "baseline-same")
    ck.ok(re.fullmatch(CLOSING_RE + r"memgate: \d+ passed, 0 failed\n", p.stdout) is not None,
          f"-q --baseline, nothing changed: only the closing lines: {p.stdout!r}")

    budgets = env.write_json("typos.budgets.json", TYPO_BUDGETS)
    p = env.run(["run", "-q", "--budgets", budgets, "-k", "leaky/cache_cleared", env.fixture("leaky")], "warn")
    ck.has(p.stdout, 'memgate: warning: ' + budgets + ': tests["nosuch/thing"] matches no test',
           "-q keeps warnings")
    ck.ok(p.stdout.endswith("memgate: 1 passed, 0 failed\n"), "-q with warnings: closing line last")


# ---- memgate suppress -------------------------------------------------------------------

def cmd_suppress(env, ck):
    bins = [env.fixture("leaky"), env.fixture("multi")]
    report = env.path("first.json")
    p = env.run(["run", "--json", report] + bins, "first")
    ck.eq(p.returncode, 1, "first run fails")
    first = statuses(load(report))
    failing = sorted(k for k, v in first.items() if v == "fail")
    ck.ok(len(failing) >= 2, f"first run has failing tests: {failing}")

    # Suppressions: every failing test named, only anchored function patterns.
    p = env.run(["suppress", report], "supp")
    ck.eq(p.returncode, 0, "suppress: exit status")
    supp = env.path("generated.supp")
    with open(supp, "w", encoding="utf-8") as f:
        f.write(p.stdout)
    rules = [l for l in p.stdout.splitlines() if l and not l.startswith("#")]
    ck.ok(rules and all(re.fullmatch(r"leak:\^[A-Za-z_][A-Za-z0-9_]*\$", l) for l in rules),
          f"suppress: only leak:^function$ lines: {rules}")
    ck.eq(len(rules), len(set(rules)), "suppress: each rule once")
    for name in failing:
        ck.has(p.stdout, f"\n# {name}: leak ", f"suppress: a comment names {name} and its figure")
    ck.has(p.stdout, "leak:^registry_add$", "suppress: the culprit function, not the test")
    ck.lacks(p.stdout, "leak:^test_", "suppress: no test function as a pattern here")

    ck.lacks(p.stdout, "note:", "suppress: no culprit here is a test's own body")

    # A leak allocated in the test body itself: its pattern would hide every leak of that
    # test, and the output says so next to it.
    treport = env.path("trust.json")
    env.run(["run", "-k", "fixture/frees_fixture_and_leaks", "--json", treport, env.fixture("trust")], "trust")
    p = env.run(["suppress", treport], "supp-trust")
    ck.has(p.stdout, "#   note: test_frees_fixture_and_leaks is the test's (or suite function's) own body: "
                     "this line hides every leak allocated in it or in what it calls\n"
                     "leak:^test_frees_fixture_and_leaks$", "suppress: the test-body note")

    # The round trip: the same run passes with them.
    jpath = env.path("with-supp.json")
    p = env.run(["run", "--json", jpath, "--suppressions", supp] + bins, "with-supp")
    ck.eq(p.returncode, 0, "run --suppressions GENERATED: passes")
    if os.path.exists(jpath):
        doc = load(jpath)
        ck.eq(set(statuses(doc).values()), {"pass"}, "run --suppressions GENERATED: every test passes")
        for t in doc["tests"]:
            if f"{t['suite']}/{t['name']}" in failing:
                ck.ok((t.get("suppressed_bytes") or 0) > 0, f"{t['name']}: its leak was suppressed, not gone")

    # Budgets: the measured figures, and the same run passes with them.
    p = env.run(["suppress", "--budgets", report], "budgets")
    ck.eq(p.returncode, 0, "suppress --budgets: exit status")
    try:
        doc = json.loads(p.stdout)
    except ValueError as e:
        doc = {}
        ck.ok(False, f"suppress --budgets: not JSON ({e}): {p.stdout!r}")
    entries = doc.get("tests", {})
    ck.eq(sorted(entries), failing, "suppress --budgets: one entry per failing test")
    measured = {f"{t['suite']}/{t['name']}": t for t in load(report)["tests"]}
    for name, limits in entries.items():
        t = measured.get(name, {})
        ck.eq(sorted(limits), sorted(t.get("violations", [])), f"{name}: the broken limits")
        for key, value in limits.items():
            figure = {"leak_bytes": "leaked_bytes"}.get(key, key)
            ck.eq(value, t.get(figure), f"{name}: {key} is the measured figure")
    bpath = env.path("generated.budgets.json")
    with open(bpath, "w", encoding="utf-8") as f:
        f.write(p.stdout)
    p = env.run(["run", "--strict", "--budgets", bpath] + bins, "with-budgets")
    ck.eq(p.returncode, 0, "run --budgets GENERATED (and --strict: every key matches): passes")

    # Selection.
    p = env.run(["suppress", "-k", "leaky/cache*", report], "k")
    ck.eq(re.findall(r"^# (\S+): ", p.stdout, re.M), ["leaky/cache_unbounded"], "-k: only the selected test")
    p = env.run(["suppress", "--exclude", "leaky/*", "--budgets", report], "exclude")
    ck.eq(sorted(json.loads(p.stdout or "{}").get("tests", {})), ["strings/join_leaks"], "--exclude")
    subset = env.path("subset.supp")
    with open(subset, "w", encoding="utf-8") as f:
        f.write(env.run(["suppress", "-k", "leaky/cache*", report], "k2").stdout)
    p = env.run(["run", "--suppressions", subset, "-k", "leaky/cache*", env.fixture("leaky")], "subset-run")
    ck.eq(p.returncode, 0, "round trip of a -k selection")

    # No failing test: said, exit 0; --budgets still prints a valid (empty) file.
    clean = env.path("clean.json")
    env.run(["run", "--json", clean, env.fixture("clean")], "clean")
    p = env.run(["suppress", clean], "none")
    ck.eq((p.returncode, p.stdout), (0, ""), "no failing test: exit 0, nothing printed")
    ck.has(p.stderr, "no failing test", "no failing test: said")
    p = env.run(["suppress", "--budgets", clean], "none-budgets")
    ck.eq(p.returncode, 0, "no failing test --budgets: exit 0")
    ck.eq(json.loads(p.stdout or "null").get("tests") if p.stdout else None, {}, "no failing test --budgets: empty tests")

    # What cannot be accepted is named, and the exit status says so.
    faults = env.path("faults.json")
    env.run(["run", "--timeout", "2", "--json", faults, env.fixture("faults")], "faults")
    p = env.run(["suppress", faults], "faults-supp")
    ck.eq(p.returncode, 1, "crashes and assertions: exit 1")
    ck.has(p.stderr, "faults/segfault_null_write: crashed", "a crash is named")
    ck.has(p.stderr, "faults/assert_equal_fails: 1 assertion failed", "an assertion failure is named")
    annotated = env.path("annotated.json")
    env.run(["run", "--json", annotated, env.fixture("annotated")], "annotated")
    p = env.run(["suppress", "--budgets", annotated], "annotated-budgets")
    ck.eq(p.returncode, 1, "limits from MEMGATE_BUDGET: exit 1")
    ck.has(p.stderr, "comes from MEMGATE_BUDGET at", "an annotation outranks a budgets file: said")
    p = env.run(["suppress", annotated], "annotated-supp")
    ck.has(p.stderr, "annotated/peak_over_budget: peak", "a peak cannot be suppressed: said")

    # Input and usage errors.
    for tag, args, needle in (("missing", [env.path("nope.json")], "nope.json"),
                              ("not-json", [supp], "generated.supp"),
                              ("no-arg", [], "no report given"),
                              ("two", [report, report], "one report expected"),
                              ("unknown", ["--frobnicate", report], "unknown option '--frobnicate'"),
                              ("k-no-value", [report, "-k"], "-k needs a GLOB")):
        p = env.run(["suppress"] + args, "err-" + tag)
        ck.eq(p.returncode, 2, f"{tag}: exit status 2")
        ck.has(p.stderr, needle, f"{tag}: message")
        ck.eq(p.stdout, "", f"{tag}: nothing on stdout")
    p = env.run(["suppress", "--help"], "help")
    ck.eq(p.returncode, 0, "suppress --help")
    ck.has(p.stdout, "--budgets", "suppress --help lists --budgets")
    ck.has(env.run(["--help"], "main-help").stdout, "memgate suppress REPORT.json", "memgate --help lists suppress")


def cmd_cli_overridden(env, ck):
    """A budget option that the budgets file or an annotation overrides for some entries
    is said once per option (console and JSON warnings); one that nothing overrides is not."""
    jpath = env.path("annotated.json")
    p = env.run(["run", "--json", jpath, "--leak-bytes", "7", "--peak", "1MiB", env.fixture("annotated")], "annotated")
    ck.eq(p.returncode, 1, "annotated: exit status")
    doc = load(jpath) if os.path.exists(jpath) else {}
    n = len(doc.get("tests") or [])
    warnings = doc.get("warnings") or []
    leak = [w for w in warnings if w.startswith("--leak-bytes ")]
    ck.eq(len(leak), 1, "annotated: one warning for --leak-bytes")
    want = (f"--leak-bytes 7 B is overridden for 5 of {n} entries by the budgets file or annotations "
            "(e.g. annotated/leak_within_budget: 4.0 KiB from ")
    ck.ok(leak and leak[0].startswith(want) and leak[0].endswith("annotated.c:46)"),
          f"annotated: the warning names the count, an example and its annotation: {leak}")
    ck.has(p.stdout, "memgate: warning: " + want, "annotated: console warning")
    ck.eq(len([w for w in warnings if w.startswith("--peak ")]), 1, "annotated: one warning for --peak")

    budgets = env.write_json("peak.budgets.json", {"tests": {"leaky/cache_unbounded": {"peak_bytes": "2 MiB"}}})
    jpath = env.path("file.json")
    p = env.run(["run", "--json", jpath, "--budgets", budgets, "--peak", "1MiB", "--net-bytes", "unlimited",
                 env.fixture("leaky")], "file")
    doc = load(jpath) if os.path.exists(jpath) else {}
    n = len(doc.get("tests") or [])
    ck.eq(doc.get("warnings") or [],
          [f"--peak 1.0 MiB is overridden for 1 of {n} entries by the budgets file or annotations "
           f"(e.g. leaky/cache_unbounded: 2.0 MiB from {budgets}: tests[\"leaky/cache_unbounded\"])"],
          "budgets file: exactly the --peak warning (--net-bytes is overridden nowhere)")


COMMANDS = {
    "unmatched-keys": cmd_unmatched_keys,
    "cli-overridden": cmd_cli_overridden,
    "strict": cmd_strict,
    "progress-total": cmd_progress_total,
    "tty": cmd_tty,
    "quiet": cmd_quiet,
    "suppress": cmd_suppress,
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for opt in ("--memgate", "--fixtures", "--source", "--work"):
        p.add_argument(opt, required=True)
    p.add_argument("command", choices=sorted(COMMANDS))
    a = p.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    env, ck = Env(a), Checks()
    try:
        COMMANDS[a.command](env, ck)
    except subprocess.TimeoutExpired as e:
        ck.ok(False, f"timed out: {e}")
    return ck.finish(f"; output in {a.work}")


if __name__ == "__main__":
    sys.exit(main())
