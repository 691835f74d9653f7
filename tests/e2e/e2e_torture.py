#!/usr/bin/env python3
"""End-to-end tests of allocation-failure torture (`memgate torture`) on
tests/fixtures/errpath.c, a small library with deliberate error-path bugs. Every answer
is exact: which allocation, which outcome, how many bytes, and the line of the site
(the line of its `/* @torture MARKER */` comment in errpath.c).

Subcommands:
  points   every point of every test tried: config_load leaks 16 B at allocation 2
           (allocated at config_alloc), buffer_dup crashes at allocation 1 (at
           buffer_copy), list_build copes with all 5, cache_fill hangs at 3 only,
           many_allocs leaks from allocation 33 on; console, JSON and JUnit agree
  bisect   --max-points 5 on the 40 allocations of many_allocs: 1, 10, 20, 30, 40 and
           bisection between 30 and 40 finds the first failing point, 33, in 3 steps
  plain    `memgate run` on the same binary: every test passes, no torture in the
           report, and nothing fails to allocate (torture costs nothing when unused)
  errors   bad uses: --max-points outside torture, --max-points 0 or not a number

Usage: e2e_torture.py --memgate BIN --fixtures DIR --source DIR --work DIR SUBCOMMAND
Python 3, standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import pylib  # noqa: E402

MARK_RE = re.compile(r"/\* @torture ([a-z_0-9]+)")


class Checks(pylib.Checks):
    def has(self, text, needle, what):
        """Without the text: a torture console is long."""
        return self.ok(text is not None and needle in text, f"{what}: {needle!r} not in output")


class Env:
    def __init__(self, a):
        self.memgate, self.work = a.memgate, a.work
        self.binary = os.path.join(a.fixtures, "fixture_errpath")
        self.marks = pylib.marker_lines(os.path.join(a.source, "tests", "fixtures", "errpath.c"), MARK_RE)
        os.makedirs(self.work, exist_ok=True)

    def run(self, name, *args, cmd="torture"):
        """Runs memgate over the fixture; returns (exit status, tests by name, console
        output, JUnit root or None)."""
        report = os.path.join(self.work, name + ".json")
        junit = os.path.join(self.work, name + ".xml")
        argv = [self.memgate, cmd, "--json", report, "--junit", junit, "--color", "never",
                "--timeout", "2"] + list(args) + [self.binary]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        out = p.stdout + p.stderr
        with open(os.path.join(self.work, name + ".console.txt"), "w", encoding="utf-8") as f:
            f.write(out)
        tests = {}
        if os.path.exists(report):
            with open(report, encoding="utf-8") as f:
                for t in json.load(f)["tests"]:
                    tests[t["name"]] = t
        root = ET.parse(junit).getroot() if os.path.exists(junit) else None
        return p.returncode, tests, out, root


def points(t):
    return {p["alloc"]: p for p in (t.get("torture") or {}).get("points", [])}


def site_frame(p, function):
    """The frame of the point's site in function, or {}."""
    for e in p.get("site", []):
        for f in e.get("traceback", []):
            if f.get("function") == function:
                return f
    return {}


def cmd_points(env, ck):
    rc, tests, out, root = env.run("points")
    ck.eq(rc, 1, "exit status (error-path bugs found)")
    ck.eq(sorted(tests), ["buffer_dup", "cache_fill", "config_load", "list_build", "many_allocs"], "tests")
    expect_allocs = {"config_load": 2, "buffer_dup": 1, "list_build": 5, "cache_fill": 4, "many_allocs": 40}
    for name, n in expect_allocs.items():
        t = tests.get(name, {})
        ck.eq((t.get("torture") or {}).get("allocations"), n, f"{name}: allocations counted")
        ck.eq(sorted(points(t)), list(range(1, n + 1)), f"{name}: every point tried")

    cfg = points(tests.get("config_load", {}))
    ck.eq({k: p["outcome"] for k, p in cfg.items()}, {1: "pass", 2: "leak"}, "config_load outcomes")
    if 2 in cfg:
        ck.eq((cfg[2]["leaked_bytes"], cfg[2]["object_growth"]), (16, 1), "config_load[alloc 2] leak figures")
        f = site_frame(cfg[2], "config_load")
        ck.eq((f.get("function"), f.get("line")), ("config_load", env.marks["config_alloc"]),
              "config_load[alloc 2]: where the leaked block was allocated")
    ck.eq(tests.get("config_load", {}).get("status"), "fail", "config_load status")

    buf = points(tests.get("buffer_dup", {}))
    ck.eq({k: p["outcome"] for k, p in buf.items()}, {1: "crash"}, "buffer_dup outcomes")
    if 1 in buf:
        ck.eq(buf[1]["signal"], "SIGSEGV", "buffer_dup[alloc 1] signal")
        f = site_frame(buf[1], "buffer_dup")
        ck.eq((f.get("function"), f.get("line")), ("buffer_dup", env.marks["buffer_copy"]),
              "buffer_dup[alloc 1]: the crash site")

    lst = tests.get("list_build", {})
    ck.eq({p["outcome"] for p in points(lst).values()}, {"pass"}, "list_build copes with every failure")
    ck.eq(lst.get("status"), "pass", "list_build status")

    cache = points(tests.get("cache_fill", {}))
    ck.eq({k: p["outcome"] for k, p in cache.items()}, {1: "pass", 2: "pass", 3: "hang", 4: "pass"},
          "cache_fill outcomes")

    many = points(tests.get("many_allocs", {}))
    bad = sorted(k for k, p in many.items() if p["outcome"] != "pass")
    ck.eq(bad, list(range(33, 41)), "many_allocs failing points")
    if 33 in many:
        ck.eq((many[33]["leaked_bytes"], many[33]["object_growth"]), (32 * 16, 32), "many_allocs[alloc 33] leak")
        f = site_frame(many[33], "test_many")
        ck.eq(f.get("line"), env.marks["many_alloc"], "many_allocs[alloc 33]: allocation site line")

    # Console: the summary per test and each bad point with its site.
    ck.has(out, "allocation 2 of 2 made to fail: leaked 16 B in 1 block on the error path", "console leak point")
    ck.has(out, f"config_load (errpath.c:{env.marks['config_alloc']})", "console leak site")
    ck.has(out, f"buffer_dup (errpath.c:{env.marks['buffer_copy']})", "console crash site")
    ck.has(out, "allocation 3 of 4 made to fail: hung: timed out after 2.0 s", "console hang point")
    ck.has(out, "1 passed, 4 failed", "console summary")

    # JUnit: one test case per point, "test[alloc k]", failing or erroring as the point did.
    if ck.ok(root is not None, "JUnit report written"):
        cases = {c.get("name"): c for c in root.iter("testcase")}
        ck.eq(len(cases), 5 + sum(expect_allocs.values()), "JUnit test cases: each test and each point")
        def kind(name):
            c = cases.get(name)
            if c is None:
                return "missing"
            for tag in ("failure", "error", "skipped"):
                el = c.find(tag)
                if el is not None:
                    return f"{tag}:{el.get('type', '')}"
            return "pass"
        ck.eq(kind("config_load[alloc 2]"), "failure:allocation-failure-leak", "JUnit config_load[alloc 2]")
        ck.eq(kind("config_load[alloc 1]"), "pass", "JUnit config_load[alloc 1]")
        ck.eq(kind("buffer_dup[alloc 1]"), "error:allocation-failure-crash", "JUnit buffer_dup[alloc 1]")
        ck.eq(kind("cache_fill[alloc 3]"), "error:allocation-failure-hang", "JUnit cache_fill[alloc 3]")
        ck.eq(root.get("tests"), str(len(cases)), "JUnit testsuites@tests counts the points")
        ck.eq(root.get("failures"), str(4 + 1 + 8), "JUnit failures: 4 tests, 1 + 8 leaking points")
        ck.eq(root.get("errors"), "2", "JUnit errors: a crash and a hang")


def cmd_bisect(env, ck):
    rc, tests, out, _ = env.run("bisect", "--max-points", "5", "-k", "errpath/many_allocs")
    ck.eq(rc, 1, "exit status")
    many = points(tests.get("many_allocs", {}))
    ck.eq({k: p["outcome"] for k, p in many.items()},
          {1: "pass", 10: "pass", 20: "pass", 30: "pass", 35: "leak", 32: "pass", 33: "leak", 40: "leak"},
          "spread points, then bisection between 30 and 40")
    ck.has(out, "the first at allocation 33 (leak)", "console names the first failing allocation")
    # All points again with a limit above the count: no bisection needed.
    _, tests, _, _ = env.run("bisect-all", "--max-points", "40", "-k", "errpath/many_allocs")
    ck.eq(len(points(tests.get("many_allocs", {}))), 40, "--max-points 40 tries all 40")


def cmd_plain(env, ck):
    rc, tests, out, root = env.run("plain", cmd="run")
    ck.eq(rc, 0, "plain run: every test passes")
    for name, t in tests.items():
        ck.eq(t.get("torture"), None, f"{name}: no torture in a plain run")
        ck.eq(t.get("status"), "pass", f"{name}: status")
    ck.ok("[alloc" not in out, "plain console names no torture point")
    if root is not None:
        ck.ok(all("[alloc" not in (c.get("name") or "") for c in root.iter("testcase")),
              "plain JUnit has no point test cases")


def cmd_errors(env, ck):
    for args, needle in ((["run", "--max-points", "5"], "--max-points is an option of memgate torture"),
                         (["torture", "--max-points", "0"], "--max-points"),
                         (["torture", "--max-points", "many"], "--max-points")):
        p = subprocess.run([env.memgate] + args + [env.binary], capture_output=True, text=True, timeout=60)
        ck.eq(p.returncode, 2, f"{' '.join(args)}: usage error status")
        ck.has(p.stderr, needle, f"{' '.join(args)}: message")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--memgate", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("command")
    a = ap.parse_args()
    env, ck = Env(a), Checks()
    cmds = {"points": cmd_points, "bisect": cmd_bisect, "plain": cmd_plain, "errors": cmd_errors}
    if a.command not in cmds:
        print("unknown subcommand", a.command)
        return 2
    cmds[a.command](env, ck)
    return ck.finish(f"; reports in {a.work}")


if __name__ == "__main__":
    sys.exit(main())
