#!/usr/bin/env python3
"""End-to-end tests of budget calibration (`memgate calibrate`) on tests/fixtures/calib.c,
whose tests have stable figures, a peak that changes run to run (10,000 / 20,000 /
30,000 B in runs 1-3, by a counter in $CALIB_STATE_DIR), a 24 B leak, and a test that
crashes in its second run. Every expected budget is computed by hand in calib.c's
header comment.

Subcommands:
  file         --runs 3 --output FILE: the budgets, the comment on the noisy test, the
               crashing test left out (exit 1), the leak announced; the file then makes
               `memgate run --budgets FILE` pass where the run without it fails
  annotations  --annotations: MEMGATE_BUDGET lines on stdout, nothing else there
  stable       without the counters nothing varies: no comment, and --headroom 0
  errors       bad values and options of the wrong subcommand

Usage: e2e_calibrate.py --memgate BIN --fixtures DIR --work DIR SUBCOMMAND
Python 3, standard library only.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import pylib  # noqa: E402


Checks = pylib.Checks


class Env:
    def __init__(self, a):
        self.memgate, self.work = a.memgate, a.work
        self.binary = os.path.join(a.fixtures, "fixture_calib")
        os.makedirs(self.work, exist_ok=True)

    def fresh_state(self, name):
        d = os.path.join(self.work, name + ".state")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def mg(self, *args, state=None):
        env = dict(os.environ)
        env.pop("CALIB_STATE_DIR", None)
        if state:
            env["CALIB_STATE_DIR"] = state
        p = subprocess.run([self.memgate] + list(args), capture_output=True, text=True, timeout=300, env=env)
        return p.returncode, p.stdout, p.stderr


def cmd_file(env, ck):
    state = env.fresh_state("file")
    out = os.path.join(env.work, "budgets.json")
    if os.path.exists(out):
        os.unlink(out)
    rc, stdout, stderr = env.mg("calibrate", "--runs", "3", "--output", out, env.binary, state=state)
    ck.eq(rc, 1, "exit status: a test was left out")
    ck.eq(stdout, "", "nothing on stdout with --output")
    ck.has(stderr, "calib/crash_second left out", "the crashing test is named")
    ck.has(stderr, "calib/stable_leak leaks: its budget accepts the leak", "the leak is announced")
    ck.has(stderr, "calibrated 4 tests over 3 runs; 1 varied", "summary")
    if not ck.ok(os.path.exists(out), "budgets file written"):
        return
    with open(out, encoding="utf-8") as f:
        text = f.read()
    doc = json.loads(text)
    ck.eq(doc["defaults"], {"leak_bytes": 0, "object_growth": 0, "peak_bytes": "360 KiB"}, "defaults")
    tests = doc["tests"]
    ck.eq(list(tests), sorted(tests), "keys in sorted order")
    ck.eq(tests.get("calib/stable_small"), {"peak_bytes": "1 KiB"}, "stable_small: the 1 KiB floor")
    ck.eq(tests.get("calib/stable_big"), {"peak_bytes": "360 KiB"}, "stable_big: 300,000 B + 20 %")
    ck.eq(tests.get("calib/stable_leak"), {"leak_bytes": 24, "object_growth": 1, "peak_bytes": "1 KiB"},
          "stable_leak: the exact leak")
    noisy = tests.get("calib/noisy_peak", {})
    ck.eq(noisy.get("peak_bytes"), "59 KiB", "noisy_peak: (30,000 + spread 20,000) + 20 %")
    ck.has(noisy.get("comment"), "varied over 3 runs: peak_bytes 9.8 KiB to 29.3 KiB", "noisy_peak is marked")
    ck.ok("calib/crash_second" not in tests, "the crashing test has no entry")
    # One test per line: a diff of a recalibration shows the tests that changed.
    ck.eq(sum(1 for line in text.splitlines() if line.startswith('    "calib/')), 4, "one line per test")

    # The budgets make the suite pass; without them its leak fails it.
    rc, stdout, _ = env.mg("run", "--exclude", "calib/crash_second", env.binary, state=state)
    ck.eq(rc, 1, "without the budgets the leaking test fails")
    rc, stdout, stderr = env.mg("run", "--budgets", out, "--exclude", "calib/crash_second", env.binary, state=state)
    ck.eq(rc, 0, f"with the calibrated budgets the run passes:\n{stdout}{stderr}")
    # Overwriting the budgets file read as input is refused: its settings would be lost.
    rc, _, stderr = env.mg("calibrate", "--runs", "1", "--budgets", out, "--output", out, env.binary)
    ck.eq(rc, 2, "--output naming the --budgets input")
    ck.has(stderr, "would overwrite", "message for --output over --budgets")


def cmd_annotations(env, ck):
    state = env.fresh_state("annotations")
    rc, stdout, stderr = env.mg("calibrate", "--runs", "3", "--annotations", "--exclude", "calib/crash_second",
                                env.binary, state=state)
    ck.eq(rc, 0, f"exit status:\n{stderr}")
    ck.eq(stdout.splitlines(), [
        "/* calib/noisy_peak */ MEMGATE_BUDGET(.peak_bytes = MEMGATE_KiB(59)); "
        "/* varied over 3 runs: peak_bytes 9.8 KiB to 29.3 KiB */",
        "/* calib/stable_big */ MEMGATE_BUDGET(.peak_bytes = MEMGATE_KiB(360));",
        "/* calib/stable_leak */ MEMGATE_BUDGET(.leak_bytes = 24, .object_growth = 1, "
        ".peak_bytes = MEMGATE_KiB(1));",
        "/* calib/stable_small */ MEMGATE_BUDGET(.peak_bytes = MEMGATE_KiB(1));",
    ], "annotation lines")


def cmd_stable(env, ck):
    rc, stdout, stderr = env.mg("calibrate", "--runs", "2", "--headroom", "0%", "-k", "calib/stable_*",
                                "-k", "calib/noisy_peak", env.binary)
    ck.eq(rc, 0, f"exit status:\n{stderr}")
    doc = json.loads(stdout) if stdout.startswith("{") else {"tests": {}}
    tests = doc["tests"]
    ck.ok(all("comment" not in v for v in tests.values()), "nothing varied without the counters")
    ck.eq(tests.get("calib/stable_big"), {"peak_bytes": "300 KiB"}, "stable_big with no headroom")
    ck.eq(tests.get("calib/noisy_peak"), {"peak_bytes": "10 KiB"}, "noisy_peak is steady without its counter")
    ck.ok("varied" not in stderr, "summary names no variation")


def cmd_errors(env, ck):
    for args, needle in ((["calibrate", "--runs", "0"], "--runs"),
                         (["calibrate", "--headroom", "lots"], "--headroom: 'lots' is not a percentage"),
                         (["calibrate", "--json", os.path.join(env.work, "x.json")],
                          "memgate calibrate writes a budgets file (--output FILE), not --json"),
                         (["run", "--runs", "3"], "--runs is an option of memgate calibrate"),
                         (["run", "--annotations"], "--annotations is an option of memgate calibrate"),
                         (["torture", "--output", "x"], "--output is an option of memgate calibrate"),
                         (["calibrate", "--strict"], "--strict is an option of memgate run, exec and torture")):
        rc, _, stderr = env.mg(*args, env.binary)
        ck.eq(rc, 2, f"{' '.join(args)}: usage error status")
        ck.has(stderr, needle, f"{' '.join(args)}: message")
    rc, _, stderr = env.mg("calibrate", "--runs", "1", "-k", "nothing/matches", env.binary)
    ck.eq(rc, 2, "no test matched")
    ck.has(stderr, "no test matched the filter", "no-match message")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--memgate", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("command")
    a = ap.parse_args()
    env, ck = Env(a), Checks()
    cmds = {"file": cmd_file, "annotations": cmd_annotations, "stable": cmd_stable, "errors": cmd_errors}
    if a.command not in cmds:
        print("unknown subcommand", a.command)
        return 2
    cmds[a.command](env, ck)
    return ck.finish(f"; files in {a.work}")


if __name__ == "__main__":
    sys.exit(main())
