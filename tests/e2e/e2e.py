#!/usr/bin/env python3
"""End-to-end tests: the memgate CLI runs the fixture programs and its reports are checked.

Each subcommand is one ctest test (tests/e2e/CMakeLists.txt registers them as e2e.*).
Every check of a subcommand is collected, so a failing test lists everything that went
wrong, not only the first thing; the reports it wrote stay in --work for a post-mortem.

The figures come from tests/fixtures/expected.json; the line of an allocation site is the
line of its `/* @site MARKER */` comment, found by grepping the fixture sources.

Usage: e2e.py --memgate BIN --library LIB --fixtures DIR --source DIR --work DIR
              [--xmllint PATH] SUBCOMMAND [ARG]
Python 3, standard library only.
"""
import argparse
import difflib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

# Shared helpers (tests/pylib.py), imported from the directory above this script's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import pylib  # noqa: E402

FIXTURES = ["leaky", "clean", "faults", "multi", "annotated", "annotated_disabled", "nocunit"]
STATUSES = {"pass", "fail", "crash", "timeout", "error", "skip"}
LIMITS = ("leak_bytes", "object_growth", "peak_bytes")
SOURCES = {"builtin", "cli", "file-defaults", "file-test", "annotation"}
# expected.json calls the built-in defaults "default"; the JSON report calls them "builtin".
EXPECTED_SOURCE_NAMES = {"default": "builtin"}
# faults/hang_forever only ends through the timeout; every other fixture test takes ms.
FAULTS_TIMEOUT = "2"
SITE_RE = re.compile(r"/\* @site ([a-z_0-9]+) \*/")


class Checks(pylib.Checks):
    """pylib.Checks with e2e's own summary."""

    def finish(self, work):
        return self.finish_kept(work, "reports")


class Env:
    """Paths from the command line and helpers to run memgate."""

    def __init__(self, a):
        self.memgate, self.library, self.xmllint = a.memgate, a.library, a.xmllint
        self.fixture_dir, self.source, self.work = a.fixtures, a.source, a.work
        self.golden_dir = os.path.join(a.source, "tests", "golden")
        self.fixture_src = os.path.join(a.source, "tests", "fixtures")
        with open(os.path.join(self.fixture_src, "expected.json"), encoding="utf-8") as f:
            self.expected = json.load(f)["binaries"]
        self.sites = index_sites(self.fixture_src)

    def fixture(self, name):
        return os.path.join(self.fixture_dir, "fixture_" + name)

    def path(self, name):
        return os.path.join(self.work, name)

    def environ(self, with_library=True, extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMGATE_")}
        env.pop("NO_COLOR", None)
        if with_library:
            env["MEMGATE_LIBRARY"] = self.library
        env.update(extra or {})
        return env

    def run(self, args, timeout=60, with_library=True, cwd=None):
        """Runs memgate ARGS; returns the CompletedProcess (text stdout/stderr)."""
        cmd = [self.memgate] + list(args)
        print("$ " + " ".join(cmd), flush=True)
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, env=self.environ(with_library), cwd=cwd or self.work)

    def run_report(self, args, tag, **kw):
        """Runs memgate with --json/--junit in the work dir; returns (proc, json doc or None, junit path)."""
        jpath, xpath = self.path(tag + ".json"), self.path(tag + ".xml")
        proc = self.run(with_reports(args, jpath, xpath), **kw)
        doc = None
        if os.path.exists(jpath):
            with open(jpath, encoding="utf-8") as f:
                doc = json.load(f)
        return proc, doc, xpath


def with_reports(args, jpath, xpath):
    """Adds --json/--junit right after the run/exec subcommand of ARGS."""
    args = list(args)
    if args and args[0] in ("run", "exec"):
        return args[:1] + ["--json", jpath, "--junit", xpath] + args[1:]
    return args


def index_sites(fixture_src):
    """Maps each @site marker to (file basename, line)."""
    sites = {}
    for name in sorted(os.listdir(fixture_src)):
        if name.endswith(".c"):
            with open(os.path.join(fixture_src, name), encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    for marker in SITE_RE.findall(line):
                        sites[marker] = (name, lineno)
    return sites


def source_lines(env, name):
    with open(os.path.join(env.fixture_src, name), encoding="utf-8") as f:
        return f.read().split("\n")


def frame0(entry):
    tb = entry.get("traceback") or []
    if not tb:
        return ("<no frames>", "", 0)
    f = tb[0]
    return (f.get("function"), os.path.basename(f.get("file") or ""), f.get("line"))


def group_by_frame0(entries, size_key, count_key):
    groups = {}
    for e in entries:
        s, c = groups.get(frame0(e), (0, 0))
        groups[frame0(e)] = (s + e[size_key], c + e[count_key])
    return groups


def expected_groups(env, sites, size_key, count_key):
    groups = {}
    for s in sites:
        file, line = env.sites[s["marker"]]
        groups[(s["function"], file, line)] = (s[size_key], s[count_key])
    return groups


def tid(t):
    return f"{t.get('suite')}/{t.get('name')}"


def compare_test(ck, env, exp, t):
    """Checks one JSON test against its expected.json entry."""
    name = tid(t)
    ck.eq(t["status"], exp["status"], f"{name}: status")
    if exp.get("violations") is not None:
        ck.eq(sorted(t["violations"]), sorted(exp["violations"]), f"{name}: violations")
    for key in ("leaked_bytes", "object_growth", "net_bytes", "net_blocks"):
        if exp.get(key) is not None:
            ck.eq(t[key], exp[key], f"{name}: {key}")
    ck.eq(t.get("kind"), exp.get("kind", "test"), f"{name}: kind")
    if exp.get("min_peak_bytes") is not None:
        ck.ok(t["peak_bytes"] >= exp["min_peak_bytes"],
              f"{name}: peak_bytes {t['peak_bytes']} < minimum {exp['min_peak_bytes']}")
    for key, value in exp.get("budget", {}).items():
        ck.eq(t["budget"][key]["value"], None if value == "unlimited" else value, f"{name}: budget.{key}.value")
    for key, value in exp.get("budget_source", {}).items():
        ck.eq(t["budget"][key]["source"], EXPECTED_SOURCE_NAMES.get(value, value), f"{name}: budget.{key}.source")
    # Tracebacks come with a breach (from the traced re-run) or with --stacks; when
    # present they must group by frame 0 exactly as expected.json says.
    broke_growth = set(t["violations"]) & {"leak_bytes", "object_growth"}
    if "sites_by_line" in exp and (t["diffs"] or broke_growth):
        ck.eq(group_by_frame0(t["diffs"], "size_diff", "count_diff"),
              expected_groups(env, exp["sites_by_line"], "size_diff", "count_diff"),
              f"{name}: diffs grouped by frame 0 (function, file, line)")
        sizes = [d["size_diff"] for d in t["diffs"]]
        ck.eq(sizes, sorted(sizes, reverse=True), f"{name}: diffs largest first")
        if exp["sites_by_line"] and t["diffs"]:
            top = frame0(t["diffs"][0])
            ck.ok(top in expected_groups(env, exp["sites_by_line"], "size_diff", "count_diff"),
                  f"{name}: top traceback frame 0 {top} is not an expected site")
    if "peak_sites_by_line" in exp and (t["peak_diffs"] or "peak_bytes" in t["violations"]):
        ck.eq(group_by_frame0(t["peak_diffs"], "size", "count"),
              expected_groups(env, exp["peak_sites_by_line"], "size", "count"),
              f"{name}: peak_diffs grouped by frame 0")
    if "signal" in exp:
        sig = t.get("signal") or {}
        ck.eq(sig.get("name"), exp["signal"], f"{name}: signal (DESIGN: a crash names its signal)")
    if "exit_status" in exp:
        ck.eq(t.get("exit_code"), exp["exit_status"], f"{name}: exit_code")
    if "assertion" in exp:
        failures = t.get("failures") or []
        if ck.eq(len(failures), 1, f"{name}: number of failures[]"):
            f = failures[0]
            ck.eq(f["condition"], exp["assertion"], f"{name}: failures[0].condition")
            src = os.path.basename(f.get("file") or "")
            ck.eq(src, "faults.c", f"{name}: failures[0].file")
            want = "".join(exp["assertion"].split())
            lines = [i + 1 for i, l in enumerate(source_lines(env, "faults.c")) if want in "".join(l.split())]
            ck.eq([f.get("line")], lines, f"{name}: failures[0].line (the line holding the assertion)")


def expected_tests(env, fixture):
    return env.expected["fixture_" + fixture]["tests"]


def check_registry_order(ck, env, tests, fixtures, what):
    """Checks that tests are the fixtures' tests in binary, then registry order."""
    want = []
    for fx in fixtures:
        for e in expected_tests(env, fx):
            want.append((env.fixture(fx), e["suite"], e["name"]))
    got = [(t["binary"], t["suite"], t["name"]) for t in tests]
    ck.eq(len(got), len(want), f"{what}: number of tests")
    for g, w in zip(got, want):
        if w[1] is None:  # whole-process test: the runner names it
            ck.ok(g[0] == w[0] and isinstance(g[1], str) and g[1] and isinstance(g[2], str) and g[2],
                  f"{what}: whole-process test {g}")
        else:
            ck.eq(g, w, f"{what}: test order (binary, suite, test)")


# ---- 1. every fixture against expected.json ------------------------------------------------
def cmd_expected(env, ck, fixture):
    proc, doc, xpath = env.run_report(["run", "--timeout", FAULTS_TIMEOUT, env.fixture(fixture)], fixture)
    if not ck.ok(doc is not None, f"no JSON report written (exit {proc.returncode}): {proc.stderr}"):
        return
    if ck.ok(os.path.exists(xpath), "JUnit report written"):
        xmllint_check(env, ck, xpath)  # its structure is e2e.junit's concern
    exp = expected_tests(env, fixture)
    check_registry_order(ck, env, doc["tests"], [fixture], fixture)
    for e, t in zip(exp, doc["tests"]):
        compare_test(ck, env, e, t)
    all_pass = all(e["status"] == "pass" for e in exp)
    ck.eq(proc.returncode, 0 if all_pass else 1, "memgate exit status")
    if fixture == "clean":
        for t in doc["tests"]:
            ck.ok(t["status"] == "pass" and t["leaked_bytes"] == 0 and t["object_growth"] == 0
                  and t["diffs"] == [] and t["violations"] == [],
                  f"{tid(t)}: a clean test must measure exactly 0 B / 0 objects: {t['status']}, "
                  f"{t['leaked_bytes']} B, {t['object_growth']} objects, message {t['message']!r}")
    if fixture == "faults":
        by = {t["name"]: t for t in doc["tests"]}
        ck.has((by.get("double_free") or {}).get("message"), "double free", "faults/double_free: message")
        ck.eq((by.get("passes_last") or {}).get("status"), "pass", "faults/passes_last still runs and passes")


# ---- 2. exit statuses ----------------------------------------------------------------------
def cmd_exit_status(env, ck, fixture):
    # Without MEMGATE_LIBRARY: memgate finds libmemgate next to itself, as when installed.
    proc = env.run([ "run", env.fixture(fixture)], with_library=False)
    ck.eq(proc.returncode, {"clean": 0, "leaky": 1}[fixture], f"exit status for fixture_{fixture}")
    ck.has(proc.stdout, "memgate: ran", "summary line")


def usage_case(env, ck, label, args, needles):
    """memgate must exit 2, name the problem on stderr, and run nothing."""
    jpath, xpath = env.path(label + ".json"), env.path(label + ".xml")
    proc = env.run(with_reports(args, jpath, xpath))
    ck.eq(proc.returncode, 2, f"{label}: exit status (stderr {proc.stderr.strip()!r})")
    for n in needles:
        ck.has(proc.stderr, n, f"{label}: stderr names the problem")
    ck.ok(not os.path.exists(jpath) and not os.path.exists(xpath), f"{label}: a report was written")
    ck.ok("PASS" not in proc.stdout and "FAIL" not in proc.stdout, f"{label}: tests ran: {proc.stdout!r}")


def run_args(env, *args):
    return ["run"] + list(args) + [env.fixture("clean")]


def cmd_usage(env, ck):
    missing = env.path("no-such-binary")
    noexec = env.path("not-executable")
    shutil.copy(env.fixture("clean"), noexec)
    os.chmod(noexec, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP)
    cases = [
        ("missing_binary", ["run", missing], [missing]),
        ("not_executable", ["run", noexec], [noexec, "not executable"]),
        ("bad_leak_bytes", run_args(env, "--leak-bytes", "12XB"), ["--leak-bytes", "'12XB'"]),
        ("negative_leak_bytes", run_args(env, "--leak-bytes", "-5"), ["--leak-bytes", "-5"]),
        ("bad_object_growth", run_args(env, "--object-growth", "lots"), ["--object-growth", "lots"]),
        ("bad_peak", run_args(env, "--peak", "3 parsecs"), ["--peak", "3 parsecs"]),
        ("jobs_zero", run_args(env, "--jobs", "0"), ["--jobs", "'0'"]),
        ("jobs_word", run_args(env, "-j", "many"), ["--jobs", "many"]),
        ("bad_timeout", run_args(env, "--timeout", "soon"), ["--timeout", "soon"]),
        ("unknown_option", run_args(env, "--frobnicate"), ["--frobnicate"]),
        ("no_binary", ["run"], ["no test binary"]),
        ("unknown_command", ["frobnicate"], ["frobnicate"]),
    ]
    for label, args, needles in cases:
        usage_case(env, ck, label, args, needles)


def write(env, name, text):
    path = env.path(name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def cmd_budgets_file_errors(env, ck):
    cases = [
        ("invalid_json", '{"defaults": {"leak_bytes": 0,\n', []),
        ("unknown_key_defaults", '{"defaults": {"leak_bites": 5}}', ["leak_bites"]),
        ("unknown_key_test", '{"tests": {"leaky/*": {"peak": 5}}}', ["leaky/*", "peak"]),
        ("unknown_top_key", '{"colour": 1}', ["colour"]),
        ("bad_size_test", '{"tests": {"clean/*": {"peak_bytes": "12 parsecs"}}}', ["clean/*", "peak_bytes", "12 parsecs"]),
        ("bad_size_defaults", '{"defaults": {"leak_bytes": -3}}', ["leak_bytes", "-3"]),
    ]
    for label, text, needles in cases:
        path = write(env, label + ".budgets.json", text)
        usage_case(env, ck, label, run_args(env, "--budgets", path), [path] + needles)
    missing = env.path("missing.budgets.json")
    usage_case(env, ck, "missing_file", run_args(env, "--budgets", missing), [missing])


def cmd_suppressions_file_errors(env, ck):
    cases = [
        ("bad_line", "leak:foo\nbogus line\n", [":2", "bogus line"]),
        ("unknown_kind", "lek:foo\n", ["lek"]),
    ]
    for label, text, needles in cases:
        path = write(env, label + ".supp", text)
        usage_case(env, ck, label, run_args(env, "--suppressions", path), [path] + needles)
    missing = env.path("missing.supp")
    usage_case(env, ck, "missing_file", run_args(env, "--suppressions", missing), [missing])


# ---- 3. budgets precedence -----------------------------------------------------------------
def check_budgets(ck, doc, want):
    """want: name -> (status, violations, {limit: (value, source, origin substring or None)})."""
    by = {t["name"]: t for t in doc["tests"]}
    for name, (status, violations, limits) in want.items():
        t = by.get(name)
        if not ck.ok(t is not None, f"{name}: missing from the report"):
            continue
        ck.eq(t["status"], status, f"{name}: status")
        ck.eq(sorted(t["violations"]), sorted(violations), f"{name}: violations")
        for key, (value, source, origin) in limits.items():
            b = t["budget"][key]
            ck.eq((b["value"], b["source"]), (value, source), f"{name}: budget.{key} (value, source)")
            if source == "builtin":
                ck.eq(b["origin"], None, f"{name}: budget.{key}.origin")
            elif origin is not None:
                ck.has(b["origin"], origin, f"{name}: budget.{key}.origin")


def cmd_budgets_file(env, ck):
    # The exact entry comes first in the file: it must beat the glob whatever the order.
    path = write(env, "limits.budgets.json", json.dumps({
        "defaults": {"leak_bytes": 60},
        "tests": {
            "leaky/cache_unbounded": {"leak_bytes": 446},
            "leaky/cache_*": {"leak_bytes": 100, "object_growth": 9},
            "leaky/refcount_*": {"leak_bytes": 81, "object_growth": 2},
            "leaky/object_growth_tiny": {"leak_bytes": "1 KiB", "object_growth": 53},
        }}, indent=1))
    proc, doc, _ = env.run_report(["run", "--budgets", path, "--leak-bytes", "1MiB", "--object-growth", "1",
                                   "--peak", "64 MiB", env.fixture("leaky")], "budgets")
    if not ck.ok(doc is not None, f"no report (exit {proc.returncode}): {proc.stderr}"):
        return
    ck.eq(proc.returncode, 1, "exit status")
    exact = 'tests["leaky/cache_unbounded"]'
    glob = 'tests["leaky/cache_*"]'
    peak_cli = (64 << 20, "cli", None)
    fdef = (60, "file-defaults", "defaults")
    check_budgets(ck, doc, {
        "cache_unbounded": ("pass", [], {"leak_bytes": (446, "file-test", exact),
                                         "object_growth": (9, "file-test", glob), "peak_bytes": peak_cli}),
        "cache_cleared": ("pass", [], {"leak_bytes": (100, "file-test", glob),
                                       "object_growth": (9, "file-test", glob)}),
        # File defaults beat the CLI (60 B, not 1 MiB); the CLI growth of 1 still applies.
        "registry_never_freed": ("fail", ["leak_bytes", "object_growth"],
                                 {"leak_bytes": fdef, "object_growth": (1, "cli", None)}),
        "tsd_no_destructor": ("fail", ["leak_bytes"], {"leak_bytes": fdef, "object_growth": (1, "cli", None)}),
        "error_path_leak": ("pass", [], {"leak_bytes": fdef, "object_growth": (1, "cli", None)}),
        "refcount_cycle": ("fail", ["leak_bytes"], {"leak_bytes": (81, "file-test", 'tests["leaky/refcount_*"]'),
                                                    "object_growth": (2, "file-test", None)}),
        "object_growth_tiny": ("pass", [], {"leak_bytes": (1024, "file-test", "object_growth_tiny"),
                                            "object_growth": (53, "file-test", None)}),
        "big_alloc_freed": ("pass", [], {"peak_bytes": peak_cli}),
    })
    for t in doc["tests"]:
        for key in LIMITS:
            b = t["budget"][key]
            if b["source"].startswith("file-"):
                ck.has(b["origin"], os.path.basename(path), f"{tid(t)}: budget.{key}.origin names the file")


def cmd_budgets_cli(env, ck):
    proc, doc, _ = env.run_report(["run", "--leak-bytes", "400", "--object-growth", "unlimited",
                                   env.fixture("leaky")], "cli")
    if not ck.ok(doc is not None, f"no report (exit {proc.returncode}): {proc.stderr}"):
        return
    ck.eq(proc.returncode, 1, "exit status")
    cli400 = {"leak_bytes": (400, "cli", None), "object_growth": (None, "cli", None),
              "peak_bytes": (None, "builtin", None)}
    check_budgets(ck, doc, {name: ("fail" if leak > 400 else "pass", ["leak_bytes"] if leak > 400 else [], cli400)
                            for name, leak in [("cache_unbounded", 446), ("registry_never_freed", 392),
                                               ("retry_queue_grows", 683), ("object_growth_tiny", 53)]})
    # SIZE units: binary KiB, decimal MB.
    proc, doc, _ = env.run_report(["run", "--leak-bytes", "1 KiB", "--peak", "2MB", "--object-growth", "5",
                                   env.fixture("multi")], "units")
    if ck.ok(doc is not None, f"no report (exit {proc.returncode}): {proc.stderr}"):
        ck.eq(proc.returncode, 0, "exit status with raised CLI limits")
        check_budgets(ck, doc, {"adds_to_shared": ("pass", [], {"leak_bytes": (1024, "cli", None),
                                                                "object_growth": (5, "cli", None),
                                                                "peak_bytes": (2000000, "cli", None)})})


def cmd_budgets_annotation(env, ck):
    path = write(env, "limits.budgets.json", json.dumps({
        "defaults": {"peak_bytes": "64 MiB"},
        "tests": {"annotated/*": {"leak_bytes": "1 MiB", "object_growth": 100},
                  "annotated/leak_over_budget": {"leak_bytes": "1 MiB", "object_growth": 100}}}))
    proc, doc, _ = env.run_report(["run", "--budgets", path, env.fixture("annotated")], "annotation")
    if not ck.ok(doc is not None, f"no report (exit {proc.returncode}): {proc.stderr}"):
        return
    ck.eq(proc.returncode, 1, "exit status")
    budget_lines = [i + 1 for i, l in enumerate(source_lines(env, "annotated.c"))
                    if re.match(r"\s+MEMGATE_BUDGET\(", l)]

    def ann(value, index):  # the index-th MEMGATE_BUDGET line of annotated.c
        return (value, "annotation", f"annotated.c:{budget_lines[index]}")
    mib64 = (64 << 20, "file-defaults", "defaults")
    check_budgets(ck, doc, {
        # The annotation (4 KiB) beats even the exact file entry (1 MiB).
        "leak_over_budget": ("fail", ["leak_bytes"], {"leak_bytes": ann(4096, 1), "object_growth": ann(1, 1),
                                                      "peak_bytes": mib64}),
        "peak_over_budget": ("fail", ["peak_bytes"], {"peak_bytes": ann(1 << 20, 5),
                                                      "leak_bytes": (1 << 20, "file-test", 'tests["annotated/*"]')}),
        "unlimited_leak": ("pass", [], {"leak_bytes": ann(None, 6), "object_growth": ann(None, 6)}),
        # No annotation: the file's glob entry applies, and the previous annotation does not carry over.
        "unannotated_after_unlimited": ("pass", [], {"leak_bytes": (1 << 20, "file-test", 'tests["annotated/*"]'),
                                                     "object_growth": (100, "file-test", None),
                                                     "peak_bytes": mib64}),
    })


# ---- 4. JUnit ------------------------------------------------------------------------------
def xmllint_check(env, ck, path):
    if not ck.ok(env.xmllint and os.path.exists(env.xmllint),
                 f"xmllint not found ({env.xmllint!r}): install libxml2-utils"):
        return False
    xsd = os.path.join(env.golden_dir, "junit-10.xsd")
    p = subprocess.run([env.xmllint, "--noout", "--schema", xsd, path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return ck.eq(p.returncode, 0, f"xmllint --schema junit-10.xsd {path}: {p.stdout.strip()}")


def check_junit(env, ck, xpath, doc):
    """Validates the JUnit file and checks it against the JSON report of the same run."""
    if not ck.ok(os.path.exists(xpath), f"{xpath} not written") or not xmllint_check(env, ck, xpath):
        return
    root = ET.parse(xpath).getroot()
    ck.eq(root.tag, "testsuites", "JUnit root element")
    cases = []
    for suite in root.findall("testsuite"):
        tcs = suite.findall("testcase")
        ck.eq(int(suite.get("tests")), len(tcs), f"testsuite {suite.get('name')}: tests=")
        ck.eq(int(suite.get("failures")), sum(len(tc.findall("failure")) for tc in tcs),
              f"testsuite {suite.get('name')}: failures=")
        ck.eq(int(suite.get("errors")), sum(len(tc.findall("error")) for tc in tcs),
              f"testsuite {suite.get('name')}: errors=")
        for tc in tcs:
            ck.eq(tc.get("classname"), suite.get("name"), "testcase classname = its testsuite (the CUnit suite)")
            cases.append(tc)
    ck.eq(int(root.get("tests")), len(cases), "testsuites tests=")
    ck.eq([(tc.get("classname"), tc.get("name")) for tc in cases],
          [(t["suite"], t["name"]) for t in doc["tests"]], "testcases (classname=SUITE, name=TEST) vs JSON tests")
    for tc, t in zip(cases, doc["tests"]):
        name = tid(t)
        fails, errors = tc.findall("failure"), tc.findall("error")
        want = {"pass": (0, 0), "skip": (0, 0), "fail": (1, 0)}.get(t["status"], (0, 1))
        ck.eq((len(fails), len(errors)), want, f"{name} ({t['status']}): number of <failure>, <error>")
        out = tc.find("system-out")
        ck.ok(out is not None and name in (out.text or ""), f"{name}: <system-out> holds the memory report")
        if fails and len(fails) == 1:
            msg = fails[0].get("message") or ""
            for f in t.get("failures") or []:
                ck.has(msg, f["condition"], f"{name}: <failure message> names the assertion")
            if set(t["violations"]) & {"leak_bytes", "object_growth", "peak_bytes"}:
                ck.ok("budget" in msg and ">" in msg, f"{name}: <failure message> says measured > budget: {msg!r}")
                entries = t["diffs"] or t["peak_diffs"]
                if entries:
                    fn, file, line = frame0(entries[0])
                    ck.has(msg, f"{fn} ({file}:{line})", f"{name}: <failure message> names the top traceback")
        if errors and len(errors) == 1:
            ck.has(errors[0].get("message"), t["message"], f"{name}: <error message>")


def cmd_junit(env, ck):
    proc, doc, xpath = env.run_report(["run", "-j", "2", "--timeout", FAULTS_TIMEOUT]
                                      + [env.fixture(fx) for fx in FIXTURES], "all")
    if ck.ok(doc is not None, f"no JSON report (exit {proc.returncode}): {proc.stderr}"):
        check_junit(env, ck, xpath, doc)
        # A CUnit suite is a testsuite: fixture_multi's two suites are two elements.
        names = [s.get("name") for s in ET.parse(xpath).getroot().findall("testsuite")] if os.path.exists(xpath) else []
        ck.ok("catalog" in names and "strings" in names, f"testsuite per CUnit suite: {names}")


# ---- 5. JSON shape -------------------------------------------------------------------------
def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_entry(ck, e, where):
    for key in ("size_diff", "count_diff"):
        ck.ok(is_int(e.get(key)), f"{where}.{key} is an integer: {e.get(key)!r}")
    tb = e.get("traceback")
    if not ck.ok(isinstance(tb, list) and tb, f"{where}.traceback is a non-empty list"):
        return
    for i, f in enumerate(tb):
        w = f"{where}.traceback[{i}]"
        ck.ok(isinstance(f.get("function"), str) and f["function"], f"{w}.function is a string")
        ck.ok(f.get("file") is None or isinstance(f["file"], str), f"{w}.file is a string or null")
        ck.ok(is_int(f.get("line")), f"{w}.line is an integer")
        ck.ok(f.get("module") is None or isinstance(f["module"], str), f"{w}.module is a string or null")
        ck.ok(isinstance(f.get("address"), str) and re.fullmatch(r"0x[0-9a-f]+", f["address"]),
              f"{w}.address is a hex string: {f.get('address')!r}")


def check_test_shape(ck, t):
    w = tid(t)
    for key in ("suite", "name", "binary"):
        ck.ok(isinstance(t.get(key), str) and t[key], f"{w}: {key} is a non-empty string")
    ck.ok(t.get("status") in STATUSES, f"{w}: status {t.get('status')!r}")
    # Figures are measured for tests that ran to their end; a crash, timeout or error has
    # null where nothing was measured (DESIGN.md: unknown figures are never judged).
    for key in ("leaked_bytes", "object_growth", "peak_bytes"):
        measured = t.get("status") in ("pass", "fail")
        ck.ok(is_int(t.get(key)) if measured else (t.get(key) is None or is_int(t.get(key))),
              f"{w}: {key} is {'an integer' if measured else 'an integer or null'}: {t.get(key)!r}")
    budget = t.get("budget")
    if ck.ok(isinstance(budget, dict), f"{w}: budget is an object"):
        for key in LIMITS:
            b = budget.get(key)
            if not ck.ok(isinstance(b, dict), f"{w}: budget.{key} is an object"):
                continue
            ck.ok(b.get("value") is None or (is_int(b["value"]) and b["value"] >= 0),
                  f"{w}: budget.{key}.value is a count or null (unlimited): {b.get('value')!r}")
            ck.ok(b.get("source") in SOURCES, f"{w}: budget.{key}.source {b.get('source')!r}")
            ck.ok("origin" in b and (b["origin"] is None or isinstance(b["origin"], str)),
                  f"{w}: budget.{key}.origin is a string or null")
    v = t.get("violations")
    ck.ok(isinstance(v, list) and set(v) <= set(LIMITS), f"{w}: violations {v!r}")
    for key in ("diffs", "peak_diffs"):
        entries = t.get(key)
        if ck.ok(isinstance(entries, list), f"{w}: {key} is a list"):
            for i, e in enumerate(entries):
                check_entry(ck, e, f"{w}: {key}[{i}]")
    ck.ok("message" in t and (t["message"] is None or isinstance(t["message"], str)), f"{w}: message")
    ck.ok(isinstance(t.get("duration_s"), (int, float)) and t["duration_s"] >= 0, f"{w}: duration_s")
    sig = t.get("signal")
    ck.ok(sig is None or (isinstance(sig, dict) and isinstance(sig.get("name"), str) and is_int(sig.get("number"))),
          f"{w}: signal is null or {{name, number}}: {sig!r}")
    if t.get("status") in ("pass", "fail"):
        ck.eq(t["status"] == "fail", bool(t["violations"] or t.get("failures")),
              f"{w}: fail iff a budget broke or an assertion failed")


def cmd_json_schema(env, ck):
    proc, doc, _ = env.run_report(["run", "-j", "2", "--timeout", FAULTS_TIMEOUT]
                                  + [env.fixture(fx) for fx in FIXTURES], "all")
    if not ck.ok(doc is not None, f"no JSON report (exit {proc.returncode}): {proc.stderr}"):
        return
    version = subprocess.run([env.memgate, "--version"], stdout=subprocess.PIPE, text=True).stdout
    m = re.match(r"memgate (\S+) \(report schema (\d+)\)", version)
    ck.ok(m, f"memgate --version: {version!r}")
    ck.ok(is_int(doc.get("schema_version")), "schema_version is an integer")
    ck.eq(doc.get("tool"), "memgate", "tool")
    if m:
        ck.eq((doc.get("version"), doc.get("schema_version")), (m.group(1), int(m.group(2))),
              "version, schema_version agree with memgate --version")
    if not ck.ok(isinstance(doc.get("tests"), list) and doc["tests"], "tests is a non-empty list"):
        return
    for t in doc["tests"]:
        check_test_shape(ck, t)
    summary = doc.get("summary")
    if isinstance(summary, dict):
        for s in STATUSES:
            ck.eq(summary.get(s), sum(t["status"] == s for t in doc["tests"]), f"summary.{s}")
        ck.eq(summary.get("total"), len(doc["tests"]), "summary.total")


# ---- 6. parallel runs ----------------------------------------------------------------------
HEX = re.compile(r"0x[0-9a-f]+")
# Tests whose peak depends on how their threads interleave: four threads allocate and free
# at the same time. Their leak and growth must still match.
RACY_PEAK = {"clean/threads_malloc_free"}


def normalized(o):
    """Drops what legitimately differs between runs: times, addresses (ASLR), racy peaks."""
    if isinstance(o, dict):
        drop = {"duration_s", "started_at", "address"}
        if f"{o.get('suite')}/{o.get('name')}" in RACY_PEAK:
            drop.add("peak_bytes")
        return {k: normalized(v) for k, v in o.items() if k not in drop}
    if isinstance(o, list):
        return [normalized(x) for x in o]
    if isinstance(o, str):
        return HEX.sub("0x?", o)
    return o


def cmd_jobs(env, ck):
    order = ["multi", "leaky", "faults", "nocunit", "clean", "annotated"]
    binaries = [env.fixture(fx) for fx in order]
    docs = {}
    for jobs in ("1", "2"):
        proc, doc, _ = env.run_report(["run", "-j", jobs, "--timeout", FAULTS_TIMEOUT] + binaries, "j" + jobs)
        if ck.ok(doc is not None, f"-j {jobs}: no report (exit {proc.returncode}): {proc.stderr}"):
            ck.eq(proc.returncode, 1, f"-j {jobs}: exit status")
            check_registry_order(ck, env, doc["tests"], order, f"-j {jobs}")
            docs[jobs] = normalized(doc)
    if len(docs) == 2:
        a, b = docs["1"], docs["2"]
        ck.eq({k: v for k, v in a.items() if k != "tests"}, {k: v for k, v in b.items() if k != "tests"},
              "-j 1 vs -j 2: top level")
        for x, y in zip(a["tests"], b["tests"]):
            for key in sorted(set(x) | set(y)):
                ck.eq(y.get(key), x.get(key), f"-j 2 vs -j 1: {tid(x)}.{key}")


# ---- 7. filters, --stacks, suppressions ----------------------------------------------------
def names(doc):
    return [tid(t) for t in doc["tests"]] if doc else None


def cmd_filter(env, ck):
    two = [env.fixture("leaky"), env.fixture("multi")]
    proc, doc, _ = env.run_report(["run", "-k", "leaky/cache_*", "--filter", "strings/join_freed"] + two, "k1")
    ck.eq(names(doc), ["leaky/cache_unbounded", "leaky/cache_cleared", "strings/join_freed"], "-k/--filter selection")
    ck.eq(proc.returncode, 1, "exit status (cache_unbounded leaks)")
    proc, doc, _ = env.run_report(["run", "-k", "*/join_*"] + two, "k2")
    ck.eq(names(doc), ["strings/join_freed", "strings/join_leaks"], "-k '*/join_*'")
    proc, doc, _ = env.run_report(["run", "-k", "leaky/cache_cleared", "-k", "catalog/lookup_shared"] + two, "k3")
    ck.eq(names(doc), ["leaky/cache_cleared", "catalog/lookup_shared"], "-k twice, passing tests only")
    ck.eq(proc.returncode, 0, "exit status when only passing tests are selected")
    proc = env.run(["run", "-k", "nosuch/*"] + two)
    ck.eq(proc.returncode, 2, "exit status when no test matches")
    ck.has(proc.stderr, "no test", "message when no test matches")


def cmd_stacks(env, ck):
    # clean too: with stacks on, libc's own allocations must still not count.
    fixtures = ["leaky", "clean", "multi", "annotated", "nocunit"]
    binaries = [env.fixture(fx) for fx in fixtures]
    # Control: without --stacks and without re-runs there are no tracebacks at all.
    proc, doc, _ = env.run_report(["run", "--no-rerun"] + binaries, "control")
    if ck.ok(doc is not None, f"control run: no report: {proc.stderr}"):
        ck.eq([tid(t) for t in doc["tests"] if t["diffs"]], [], "--no-rerun without --stacks: tests with diffs")
    proc, doc, _ = env.run_report(["run", "--stacks", "--no-rerun"] + binaries, "stacks")
    if not ck.ok(doc is not None, f"--stacks run: no report: {proc.stderr}"):
        return
    exp = [e for fx in fixtures for e in expected_tests(env, fx)]
    check_registry_order(ck, env, doc["tests"], fixtures, "--stacks")
    for e, t in zip(exp, doc["tests"]):
        compare_test(ck, env, e, t)
        if e.get("sites_by_line"):  # passing tests that leak within budget too
            ck.ok(t["diffs"], f"{tid(t)}: --stacks gives diffs on the first run")


def cmd_suppressions(env, ck):
    path = write(env, "multi.supp", "# the join() results are owned by a cache elsewhere\n\nleak:join\n")
    proc, doc, _ = env.run_report(["run", "--suppressions", path, env.fixture("multi"), env.fixture("leaky")],
                                  "supp")
    if not ck.ok(doc is not None, f"no report (exit {proc.returncode}): {proc.stderr}"):
        return
    by = {t["name"]: t for t in doc["tests"]}
    t = by.get("join_leaks", {})
    ck.eq((t.get("status"), t.get("leaked_bytes"), t.get("object_growth"), t.get("diffs")),
          ("pass", 0, 0, []), "strings/join_leaks with leak:join (status, leak, growth, diffs)")
    ck.has(t.get("message"), "leak:join", "strings/join_leaks: message mentions the suppression")
    ck.eq(by.get("cache_unbounded", {}).get("status"), "fail", "leaky/cache_unbounded is not suppressed")
    ck.eq(proc.returncode, 1, "exit status")


# ---- 8. SIGINT -----------------------------------------------------------------------------
def tagged_processes(tag):
    """Live processes whose environment holds E2E_TAG=tag (zombies have no environment)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if f"E2E_TAG={tag}".encode() in f.read().split(b"\0"):
                        found.append(int(pid))
            except OSError:
                pass
    return found


def interrupted_run(env, ck, tag):
    """Starts the faults fixture with a long timeout, SIGINTs memgate once hang_forever runs."""
    jpath, xpath = env.path("int.json"), env.path("int.xml")
    cmd = [env.memgate, "run", "--color", "never", "--timeout", "60", "--json", jpath, "--junit", xpath,
           env.fixture("faults")]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env.environ(extra={"E2E_TAG": tag}), cwd=env.work)
    lines, seen = [], threading.Event()

    def reader():
        for line in proc.stdout:
            lines.append(line)
            if "faults/abort_called" in line:
                seen.set()
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    ck.ok(seen.wait(10), "the tests before hang_forever did not finish within 10 s")
    time.sleep(1.0)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    elapsed = time.monotonic() - t0
    th.join(5)
    return proc, elapsed, "".join(lines), proc.stderr.read(), jpath, xpath


def kill_leftovers(tag):
    pids = tagged_processes(tag)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return pids


def cmd_sigint(env, ck):
    tag = f"sigint-{os.getpid()}"
    proc, elapsed, out, err, jpath, xpath = interrupted_run(env, ck, tag)
    kill_leftovers(tag)  # e2e.sigint_no_orphans checks this; here only tidy up
    ck.ok(elapsed < 5, f"memgate took {elapsed:.1f} s to exit after SIGINT")
    ck.eq(proc.returncode, 130, "exit status after SIGINT")
    ck.has(err, "interrupted", "stderr")
    if ck.ok(os.path.exists(jpath), "JSON report written after SIGINT"):
        with open(jpath, encoding="utf-8") as f:
            doc = json.load(f)
        ck.eq([(t["name"], t["status"]) for t in doc["tests"]],
              [("segfault_null_write", "crash"), ("abort_called", "crash")], "finished tests in the report")
        check_junit(env, ck, xpath, doc)


def cmd_sigint_no_orphans(env, ck):
    tag = f"orphans-{os.getpid()}"
    interrupted_run(env, ck, tag)
    time.sleep(0.5)
    left = kill_leftovers(tag)
    ck.eq(left, [], "processes of the interrupted run still alive after memgate exited (killed now)")


# ---- 9. whole-process mode -----------------------------------------------------------------
def cmd_exec(env, ck):
    jpath = env.path("exec.json")
    proc = env.run(["exec", "--color", "never", "--json", jpath, "--", env.fixture("nocunit")])
    ck.eq(proc.returncode, 1, "exit status")
    for fn in ("load_plugin_table", "remember_hostname"):
        ck.has(proc.stdout, fn, "console names the leaking function")
    if ck.ok(os.path.exists(jpath), f"JSON report written: {proc.stderr}"):
        with open(jpath, encoding="utf-8") as f:
            doc = json.load(f)
        check_registry_order(ck, env, doc["tests"], ["nocunit"], "exec")
        for e, t in zip(expected_tests(env, "nocunit"), doc["tests"]):
            compare_test(ck, env, e, t)
            ck.ok(t["diffs"], "exec: the leak comes with tracebacks")


def cmd_static_cunit(env, ck):
    """CUnit linked statically: memgate_cunit_run() hands the registry to memgate."""
    proc, doc, _ = env.run_report(["run", "--color", "never", env.fixture("static")], "static")
    ck.eq(proc.returncode, 1, "exit status (the leak test fails)")
    if not ck.ok(doc is not None, f"JSON report written: {proc.stderr}"):
        return
    got = {t["name"]: t for t in doc["tests"]}
    ck.eq(sorted(got), ["clean", "leak"], "both tests ran, each in its own child")
    leak, clean = got.get("leak", {}), got.get("clean", {})
    ck.eq((leak.get("status"), leak.get("leaked_bytes"), leak.get("object_growth")),
          ("fail", 123, 1), "leak test figures")
    ck.eq((clean.get("status"), clean.get("leaked_bytes"), clean.get("object_growth")),
          ("pass", 0, 0), "clean test figures")
    tb = leak["diffs"][0]["traceback"] if leak.get("diffs") else []
    with open(os.path.join(env.fixture_src, "static_cunit.c"), encoding="utf-8") as f:
        line = next(i for i, text in enumerate(f, 1) if "kept = malloc(123);" in text)
    if ck.ok(tb, "the leak has a traceback"):
        ck.eq((tb[0]["function"], os.path.basename(tb[0]["file"] or ""), tb[0]["line"]),
              ("test_static_leak", "static_cunit.c", line), "frame 0 names the allocation")
        ck.eq([f["function"] for f in tb if f["function"].startswith("CU_")], [],
              "CUnit's runner frames are trimmed from the traceback")


def cmd_runners(env, ck):
    """Every CUnit run function is taken over: the same suite through each runner."""
    for runner in ("basic", "automated", "console", "all"):
        jpath = env.path(f"runners-{runner}.json")
        cmd = [env.memgate, "run", "--color", "never", "--json", jpath, env.fixture("runners")]
        print("$ MG_FIXTURE_RUNNER=" + runner + " " + " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60, cwd=env.work,
                              env=env.environ(extra={"MG_FIXTURE_RUNNER": runner}))
        ck.eq(proc.returncode, 1, f"{runner}: exit status (one test leaks)")
        if not ck.ok(os.path.exists(jpath), f"{runner}: JSON written: {proc.stderr}"):
            continue
        with open(jpath, encoding="utf-8") as f:
            got = {t["name"]: t for t in json.load(f)["tests"]}
        ck.eq(sorted(got), ["clean", "leaks_41"], f"{runner}: both tests ran under memgate")
        leak, clean = got.get("leaks_41", {}), got.get("clean", {})
        ck.eq((leak.get("status"), leak.get("leaked_bytes"), leak.get("object_growth")),
              ("fail", 41, 1), f"{runner}: leak figures")
        ck.eq((clean.get("status"), clean.get("leaked_bytes")), ("pass", 0), f"{runner}: clean figures")


# ---- 10. golden console output -------------------------------------------------------------
def mask(text):
    text = re.sub(r"\d+\.\d+ s\b", "<T> s", text)
    return re.sub(r"(?<![\w.~/-])/(?:[^\s/():,\"'<>]+/)+", "<DIR>/", text)


def cmd_golden(env, ck, fixture):
    proc = env.run(["run", "--color", "never", env.fixture(fixture)])
    ck.eq(proc.returncode, 1, "exit status")
    got = mask(proc.stdout)
    golden = os.path.join(env.golden_dir, f"cli.{fixture}.txt")
    if os.environ.get("MG_UPDATE_GOLDEN") == "1":
        # Regenerated goldens must be reviewed (git diff) before they are committed: this
        # accepts whatever memgate prints now, bugs included.
        with open(golden, "w", encoding="utf-8") as f:
            f.write(got)
        print(f"updated {golden}: review the diff before committing it")
        return
    try:
        with open(golden, encoding="utf-8") as f:
            want = f.read()
    except OSError as e:
        ck.ok(False, f"{golden}: {e} (MG_UPDATE_GOLDEN=1 creates it)")
        return
    if not ck.eq(got == want, True, f"console output differs from {golden} (MG_UPDATE_GOLDEN=1 regenerates)"):
        sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                   golden, "memgate output (masked)"))


COMMANDS = {
    "expected": cmd_expected, "exit-status": cmd_exit_status, "usage": cmd_usage,
    "budgets-file-errors": cmd_budgets_file_errors, "suppressions-file-errors": cmd_suppressions_file_errors,
    "budgets-file": cmd_budgets_file, "budgets-cli": cmd_budgets_cli, "budgets-annotation": cmd_budgets_annotation,
    "junit": cmd_junit, "json-schema": cmd_json_schema, "jobs": cmd_jobs, "filter": cmd_filter,
    "stacks": cmd_stacks, "suppressions": cmd_suppressions, "sigint": cmd_sigint,
    "sigint-no-orphans": cmd_sigint_no_orphans, "exec": cmd_exec, "golden": cmd_golden,
    "static-cunit": cmd_static_cunit, "runners": cmd_runners,
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for opt in ("--memgate", "--library", "--fixtures", "--source", "--work"):
        p.add_argument(opt, required=True)
    p.add_argument("--xmllint", default=shutil.which("xmllint"))
    p.add_argument("command", choices=sorted(COMMANDS))
    p.add_argument("arg", nargs="?")
    a = p.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    env, ck = Env(a), Checks()
    fn = COMMANDS[a.command]
    try:
        fn(env, ck, a.arg) if a.arg else fn(env, ck)
    except subprocess.TimeoutExpired as e:
        ck.ok(False, f"timed out: {e}")
    return ck.finish(a.work)


if __name__ == "__main__":
    sys.exit(main())
