#!/usr/bin/env python3
"""End-to-end tests of the trust rules (DESIGN.md "Measurements", "Isolation, suites,
warm-ups") on tests/fixtures/trust.c, in both isolation modes.

Every figure is exact: a leak is what a test allocated and nothing freed after the
child's orderly shutdown (suite cleanup, exit handlers, libc's caches), not a net
figure; net figures are live-at-end minus live-at-start. The line of an allocation
site is the line of its `/* @trust MARKER */` comment in trust.c.

Usage: e2e_trust.py --memgate BIN --fixtures DIR --source DIR --work DIR SUBCOMMAND
Python 3, standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import pylib  # noqa: E402

MARK_RE = re.compile(r"/\* @trust ([a-z_0-9]+) \*/")


Checks = pylib.Checks


class Env:
    def __init__(self, a):
        self.memgate, self.work = a.memgate, a.work
        self.binary = os.path.join(a.fixtures, "fixture_trust")
        self.marks = pylib.marker_lines(os.path.join(a.source, "tests", "fixtures", "trust.c"), MARK_RE)
        os.makedirs(self.work, exist_ok=True)

    def run(self, name, *args, budgets=None):
        """Runs memgate over the trust fixture; returns (exit status, tests by suite/name,
        console output)."""
        report = os.path.join(self.work, name + ".json")
        cmd = [self.memgate, "run", "--json", report, "--timeout", "30"]
        if budgets is not None:
            path = os.path.join(self.work, name + ".budgets.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(budgets, f)
            cmd += ["--budgets", path]
        cmd += list(args) + [self.binary]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        with open(os.path.join(self.work, name + ".console.txt"), "w", encoding="utf-8") as f:
            f.write(p.stdout + p.stderr)
        tests = {}
        if os.path.exists(report):
            with open(report, encoding="utf-8") as f:
                for t in json.load(f)["tests"]:
                    tests[f"{t['suite']}/{t['name']}"] = t
        return p.returncode, tests, p.stdout + p.stderr


def culprit(entry):
    frames = entry["traceback"]
    return frames[entry.get("culprit", 0)] if frames else {}


def check_common(env, ck, tests, iso):
    """What holds in both isolation modes."""
    def t(name):
        got = tests.get(name)
        ck.ok(got is not None, f"[{iso}] {name} is in the report")
        return got or {"status": None, "diffs": [], "notes": [], "failures": []}

    for name, entry in tests.items():
        ck.eq(entry.get("isolation"), iso, f"[{iso}] {name}: isolation")
        ck.eq(entry.get("kind"), "suite" if name.endswith("/(suite)") else "test", f"[{iso}] {name}: kind")

    g = t("fixture/grows_fixture")
    ck.eq((g["status"], g.get("leaked_bytes"), g.get("object_growth"), g.get("net_bytes"), g.get("net_blocks")),
          ("pass", 0, 0, 144, 3), f"[{iso}] grows_fixture: a fixture the cleanup frees is no leak; net shows it")
    f = t("fixture/frees_fixture_and_leaks")
    ck.eq((f["status"], f.get("leaked_bytes"), f.get("object_growth"), f.get("net_bytes"), f.get("net_blocks")),
          ("fail", 217, 1, 217 - 1100, 0), f"[{iso}] frees_fixture_and_leaks: the 217 B leak is not hidden by a free")
    ck.eq(f.get("violations"), ["leak_bytes", "object_growth"], f"[{iso}] frees_fixture_and_leaks: violations")
    if f["diffs"]:
        top = culprit(f["diffs"][0])
        ck.eq((f["diffs"][0]["size_diff"], top.get("function"), top.get("line")),
              (217, "test_frees_fixture_and_leaks", env.marks["kept_217"]),
              f"[{iso}] frees_fixture_and_leaks: the leak's traceback")
    else:
        ck.ok(False, f"[{iso}] frees_fixture_and_leaks: no traceback")
    r = t("fixture/reallocs_fixture")
    ck.eq((r["status"], r.get("leaked_bytes"), r.get("net_bytes"), r.get("net_blocks")), ("pass", 0, 3900, 0),
          f"[{iso}] reallocs_fixture: a realloc'd fixture the cleanup frees")
    ck.eq((t("fixture/(suite)")["status"], t("fixture/(suite)").get("leaked_bytes")), ("pass", 0),
          f"[{iso}] fixture/(suite): init and cleanup balance")
    a = t("first_use/cache_freed_at_exit")
    ck.eq((a["status"], a.get("leaked_bytes"), a.get("net_bytes"), a.get("net_blocks")), ("pass", 0, 600, 6),
          f"[{iso}] cache_freed_at_exit: freed by the exit handler it registered")
    b = t("first_use/cache_never_freed")
    ck.eq((b["status"], b.get("leaked_bytes"), b.get("object_growth")), ("fail", 300, 1),
          f"[{iso}] cache_never_freed: a first-use cache nothing frees is a leak")
    c = t("cleanup_leaks/(suite)")
    ck.eq((c["status"], c.get("leaked_bytes"), c.get("object_growth")), ("fail", 64, 1),
          f"[{iso}] cleanup_leaks/(suite): a leak in the suite cleanup")
    if c["diffs"]:
        ck.eq((culprit(c["diffs"][0]).get("function"), culprit(c["diffs"][0]).get("line")),
              ("leaky_cleanup", env.marks["cleanup_summary"]), f"[{iso}] cleanup_leaks/(suite): traceback")
    ck.eq((t("cleanup_leaks/noop")["status"], t("cleanup_leaks/noop").get("leaked_bytes")), ("pass", 0),
          f"[{iso}] cleanup_leaks/noop: the cleanup's leak is not the test's")
    for name in ("init_fails/never_runs", "init_fails/(suite)"):
        e = t(name)
        ck.eq(e["status"], "error", f"[{iso}] {name}: status")
        ck.has(e.get("message"), "suite initialization failed", f"[{iso}] {name}: message")
        ck.eq(e.get("leaked_bytes"), None, f"[{iso}] {name}: no leak figure")
    cf = t("cleanup_fails/(suite)")
    ck.eq(cf["status"], "error", f"[{iso}] cleanup_fails/(suite): status")
    ck.has(cf.get("message"), "suite cleanup failed", f"[{iso}] cleanup_fails/(suite): message")
    ck.eq(t("cleanup_fails/ok")["status"], "pass", f"[{iso}] cleanup_fails/ok")
    reg = t("registry/adds_five")
    ck.eq((reg.get("leaked_bytes"), reg.get("net_bytes"), reg.get("net_blocks")), (0, 160, 5),
          f"[{iso}] registry/adds_five: figures")
    q = t("culprit/asserts_only")
    ck.eq((q["status"], q.get("peak_bytes"), q.get("leaked_bytes"), q.get("net_bytes"), len(q.get("failures", []))),
          ("fail", 0, 0, 0, 3), f"[{iso}] asserts_only: CUnit's failure records count nowhere, not even the peak")
    for name, fn, mark, size in (("culprit/leak_via_strdup", "project_copy_label", "copy_label", 11),
                                 ("culprit/leak_via_system_library", "project_build_doc", "build_doc", 64),
                                 ("culprit/deep_leak", "dig", "deep_alloc", 77)):
        e = t(name)
        ck.eq((e["status"], e.get("leaked_bytes")), ("fail", size), f"[{iso}] {name}: leak")
        if not e["diffs"]:
            ck.ok(False, f"[{iso}] {name}: no traceback")
            continue
        top = culprit(e["diffs"][0])
        ck.eq((top.get("function"), top.get("line")), (fn, env.marks[mark]), f"[{iso}] {name}: the culprit frame")
    cyc, cached = t("reach/lost_cycle"), t("reach/cached_block")
    ck.eq((cyc.get("leaked_bytes"), cyc.get("lost_bytes"), cyc.get("lost_blocks")), (64, 64, 2),
          f"[{iso}] lost_cycle: a cycle nothing else points to is lost")
    ck.eq([(d["size_diff"], d.get("lost_size"), d.get("lost_count")) for d in cyc["diffs"]], [(32, 32, 1), (32, 32, 1)],
          f"[{iso}] lost_cycle: lost per traceback")
    ck.eq((cached.get("leaked_bytes"), cached.get("lost_bytes"), cached.get("lost_blocks")), (32, 0, 0),
          f"[{iso}] cached_block: a leak a global still holds is reachable, not lost")
    ck.eq(t("culprit/asserts_only").get("lost_bytes"), None, f"[{iso}] lost is unknown where nothing leaked")
    lib = t("culprit/leak_via_system_library")
    for fr in (lib["diffs"][0]["traceback"] if lib["diffs"] else []):
        if (fr.get("module") or "").endswith(".so.1") and "cjson" in (fr.get("module") or ""):
            ck.ok(int(fr["address"], 16) < 0x10000000, f"[{iso}] cJSON frame address is a module offset: {fr['address']}")
            break
    else:
        ck.ok(False, f"[{iso}] leak_via_system_library: no cJSON frame")
    deep = t("culprit/deep_leak")
    frames = deep["diffs"][0]["traceback"] if deep["diffs"] else []
    names = [fr.get("function") or "" for fr in frames]
    ck.ok(any(n.startswith("... ") and n.endswith(" frames ...") for n in names),
          f"[{iso}] deep_leak: a gap stands for the frames left out: {names}")
    ck.ok("test_deep_leak" in names, f"[{iso}] deep_leak: the test's own frame survives the cut: {names}")


def cmd_isolation(env, ck, iso):
    args = [] if iso == "test" else ["--isolation", "suite"]
    rc, tests, out = env.run("iso-" + iso, *args)
    ck.eq(rc, 1, f"[{iso}] exit status")
    ck.eq(len(tests), 24, f"[{iso}] entries: 18 tests and the 6 suites with an init or cleanup")
    check_common(env, ck, tests, iso)
    # A failing test's console block ends with the lines that would accept it.
    ck.has(out, '"fixture/frees_fixture_and_leaks": {"leak_bytes": 217, "object_growth": 1}',
           f"[{iso}] the budgets-file entry to paste")
    ck.has(out, "MEMGATE_BUDGET(.leak_bytes = 217, .object_growth = 1);", f"[{iso}] the annotation to paste")
    ck.has(out, "leak:libcjson.so.1", f"[{iso}] a suppression for the third-party library")
    ck.has(out, "+32 B in 1 block (still reachable)", f"[{iso}] the console says which tracebacks are still reachable")
    ck.has(out, "+32 B in 1 block (lost 32 B in 1 block)", f"[{iso}] ... and which are lost")
    ck.has(out, '"cleanup_leaks/(suite)": {"leak_bytes": 64, "object_growth": 1}',
           f"[{iso}] the suite entry's budgets-file entry")
    b = tests.get("ordered/b_uses_state", {})
    if iso == "test":
        ck.eq(b.get("status"), "fail", "[test] b_uses_state depends on a_sets_state: fails in a fresh child")
        ck.has(" ".join(tests.get("first_use/cache_never_freed", {}).get("notes", [])), "first-use initialisation",
               "[test] cache_never_freed: the hint to use a warm-up")
        ck.has(out, "warmups: 1", "[test] the console suggests the warm-up")
    else:
        ck.eq(b.get("status"), "pass", "[suite] b_uses_state passes after a_sets_state in one child")


def cmd_warmups(env, ck):
    rc, tests, _ = env.run("warmups", "-k", "first_use/*", budgets={"tests": {"first_use/cache_never_freed": {"warmups": 1}}})
    b = tests.get("first_use/cache_never_freed", {})
    ck.eq((b.get("status"), b.get("leaked_bytes"), b.get("warmups")), ("pass", 0, 1),
          "a warm-up run first: the cache is built before the measured run")
    ck.eq(rc, 0, "exit status with the warm-up")
    rc, tests, _ = env.run("warmups-cli", "--warmups", "1", "-k", "first_use/*")
    b = tests.get("first_use/cache_never_freed", {})
    ck.eq((b.get("status"), b.get("warmups")), ("pass", 1), "--warmups 1")


def cmd_lost(env, ck):
    """A lost_bytes budget: leaks allowed, lost memory not."""
    for iso in ("test", "suite"):
        rc, tests, out = env.run("lost-" + iso, "--isolation", iso, "--leak-bytes", "unlimited",
                                 "--object-growth", "unlimited", "--lost-bytes", "0", "-k", "reach/*")
        cyc, cached = tests.get("reach/lost_cycle", {}), tests.get("reach/cached_block", {})
        ck.eq((cyc.get("status"), cyc.get("violations")), ("fail", ["lost_bytes"]), f"[{iso}] lost_cycle breaks lost_bytes")
        ck.eq((cached.get("status"), cached.get("lost_bytes")), ("pass", 0),
              f"[{iso}] cached_block: reachable, within the lost budget (scanned although within its leak budget)")
        ck.eq(rc, 1, f"[{iso}] exit status")


def cmd_repeat(env, ck):
    """--repeat N: a leak every run vs a one-time initialisation (CPython's regrtest -R)."""
    for iso, args, budgets in (("test", ["--repeat", "3"], None),
                               ("suite", ["--isolation", "suite"], {"defaults": {"repeat": 3}})):
        rc, tests, out = env.run("repeat-" + iso, *args, "-k", "first_use/cache_never_freed", "-k",
                                 "culprit/leak_via_strdup", budgets=budgets)
        once, every = tests.get("first_use/cache_never_freed", {}), tests.get("culprit/leak_via_strdup", {})
        ck.eq([r.get("leaked_bytes") for r in once.get("runs", [])], [300, 0, 0], f"[{iso}] cache_never_freed: per run")
        ck.eq((once.get("status"), once.get("leaked_bytes"), once.get("repeat"), once.get("slope")),
              ("pass", 0, 3, {"bytes_per_run": 0, "blocks_per_run": 0}),
              f"[{iso}] a one-time initialisation does not grow every run: pass")
        ck.eq([r.get("leaked_bytes") for r in every.get("runs", [])], [11, 11, 11], f"[{iso}] leak_via_strdup: per run")
        ck.eq((every.get("status"), every.get("leaked_bytes"), every.get("slope")),
              ("fail", 11, {"bytes_per_run": 11, "blocks_per_run": 1}),
              f"[{iso}] a leak in every run fails with its slope")
        ck.has(out, "every run grows by at least 11 B in 1 block", f"[{iso}] the console gives the slope")


def cmd_net_budget(env, ck):
    for iso in ("test", "suite"):
        rc, tests, _ = env.run("net-" + iso, "--isolation", iso, "-k", "registry/*",
                               budgets={"tests": {"registry/adds_five": {"net_blocks": 3}}})
        reg = tests.get("registry/adds_five", {})
        ck.eq((reg.get("status"), reg.get("violations")), ("fail", ["net_blocks"]),
              f"[{iso}] a net budget on a registry the cleanup frees")
        ck.eq(rc, 1, f"[{iso}] exit status")
    rc, tests, _ = env.run("net-cli", "--net-blocks", "3", "-k", "registry/*")
    ck.eq(tests.get("registry/adds_five", {}).get("violations"), ["net_blocks"], "--net-blocks 3")


def cmd_alloc_fn(env, ck):
    for name, args, budgets, fn, mark in (
            ("wrapper-plain", [], None, "xmalloc", "xmalloc_inner"),
            ("wrapper-cli", ["--alloc-fn", "xmalloc"], None, "project_make_name", "make_name"),
            ("wrapper-file", [], {"defaults": {"alloc_functions": ["x*alloc"]}}, "project_make_name", "make_name")):
        _, tests, out = env.run(name, "-k", "culprit/leak_via_wrapper", *args, budgets=budgets)
        e = tests.get("culprit/leak_via_wrapper", {})
        top = culprit(e["diffs"][0]) if e.get("diffs") else {}
        ck.eq((top.get("function"), top.get("line")), (fn, env.marks[mark]), f"{name}: the culprit frame")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--memgate", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("command")
    a = ap.parse_args()
    env, ck = Env(a), Checks()
    if a.command == "isolation-test":
        cmd_isolation(env, ck, "test")
    elif a.command == "isolation-suite":
        cmd_isolation(env, ck, "suite")
    elif a.command == "warmups":
        cmd_warmups(env, ck)
    elif a.command == "net-budget":
        cmd_net_budget(env, ck)
    elif a.command == "repeat":
        cmd_repeat(env, ck)
    elif a.command == "lost":
        cmd_lost(env, ck)
    elif a.command == "alloc-fn":
        cmd_alloc_fn(env, ck)
    else:
        print("unknown subcommand", a.command)
        return 2
    return ck.finish(f"; reports in {a.work}")


if __name__ == "__main__":
    sys.exit(main())
