#!/usr/bin/env python3
"""End-to-end tests: every fault stays bounded and named (tests/fixtures/hostile.c).

A test that kills or stops the test binary is the culprit and the binary's other tests
still run; a daemon a test leaves behind is killed and named; a test that closes every
file descriptor or calls exit() is an error that says so; a main() that starts a helper
holding stdout, never reaches the runner or blocks after it cannot hang the run; a
driver that cannot create pipes says so; SIGINT leaves no process behind and marks the
reports as interrupted.

Usage: e2e_faults.py --memgate BIN --fixtures DIR --source DIR --work DIR SUBCOMMAND
Python 3, standard library only.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import pylib  # noqa: E402


Checks = pylib.Checks


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Env:
    def __init__(self, a):
        self.memgate, self.work = a.memgate, a.work
        self.binary = os.path.join(a.fixtures, "fixture_hostile")
        self.marks = pylib.marker_lines(os.path.join(a.source, "tests", "fixtures", "hostile.c"),
                                        r"/\* @crash ([a-z_0-9]+) \*/")
        os.makedirs(self.work, exist_ok=True)

    def run(self, name, tests, *args, main=None, prefix=(), timeout=120):
        """Runs memgate; returns (exit status, tests by name, report, console, seconds)."""
        report = os.path.join(self.work, name + ".json")
        env = dict(os.environ)
        env.pop("HOSTILE_MAIN", None)
        if tests:
            env["HOSTILE_TESTS"] = tests
        if main:
            env["HOSTILE_MAIN"] = main
        cmd = list(prefix) + [self.memgate, "run", "--json", report] + list(args) + [self.binary]
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        took = time.monotonic() - t0
        out = p.stdout + p.stderr
        with open(os.path.join(self.work, name + ".console.txt"), "w", encoding="utf-8") as f:
            f.write(out)
        doc = {}
        if os.path.exists(report):
            with open(report, encoding="utf-8") as f:
                doc = json.load(f)
        return p.returncode, {t["name"]: t for t in doc.get("tests", [])}, doc, out, took


def after_passes(ck, tests, what):
    ck.eq(tests.get("after", {}).get("status"), "pass", f"{what}: the binary's next test still runs and passes")


def cmd_crash_site(env, ck):
    for iso in ("test", "suite"):
        rc, tests, _, out, _ = env.run("crash-" + iso, "leaks_then_crashes,after", "--isolation", iso)
        t = tests.get("leaks_then_crashes", {})
        ck.eq((t.get("status"), (t.get("signal") or {}).get("name")), ("crash", "SIGSEGV"), f"[{iso}] crash and its signal")
        ck.eq((t.get("net_bytes"), t.get("net_blocks")), (3 << 20, 3), f"[{iso}] the figures up to the crash")
        ck.ok((t.get("peak_bytes") or 0) >= 3 << 20, f"[{iso}] the peak up to the crash: {t.get('peak_bytes')}")
        ck.eq(t.get("leaked_bytes"), None, f"[{iso}] no leak figure: the child never shut down")
        site = (t.get("crash_site") or [{}])[0]
        frames = site.get("traceback") or []
        top = frames[site.get("culprit", 0)] if frames else {}
        ck.eq((top.get("function"), top.get("line")), ("parse_header", env.marks["parse_header"]),
              f"[{iso}] the crash site names the crashing function")
        ck.ok(any(fr.get("function") == "test_leaks_then_crashes" for fr in frames),
              f"[{iso}] the crash site keeps the test's frame")
        ck.has(t.get("message"), "in parse_header (hostile.c:", f"[{iso}] the message names the site")
        ck.has(t.get("message"), "3.0 MiB in 3 blocks", f"[{iso}] the message says what it held")
        ck.has(out, "crash site:", f"[{iso}] the console shows the crash site")
        after_passes(ck, tests, f"[{iso}] leaks_then_crashes")


def cmd_kills_driver(env, ck):
    for iso in ("test", "suite"):
        rc, tests, _, _, _ = env.run("kills-" + iso, "kills_driver,after", "--isolation", iso)
        k = tests.get("kills_driver", {})
        ck.eq(k.get("status"), "crash", f"[{iso}] kills_driver is the culprit")
        ck.has(" ".join(k.get("notes", [])) + (k.get("message") or ""), "SIGKILL", f"[{iso}] kills_driver: names the signal")
        after_passes(ck, tests, f"[{iso}] kills_driver")
        ck.eq(rc, 1, f"[{iso}] exit status")


def cmd_stops_driver(env, ck):
    rc, tests, _, _, took = env.run("stops", "stops_driver,after", "--timeout", "1")
    s = tests.get("stops_driver", {})
    ck.eq(s.get("status"), "timeout", "stops_driver: a stopped driver is a timeout of the running test")
    ck.has(s.get("message"), "SIGSTOP", "stops_driver: the message says it was stopped")
    after_passes(ck, tests, "stops_driver")
    ck.ok(took < 30, f"stops_driver: bounded by the timeout ({took:.1f} s)")


def cmd_daemon(env, ck):
    rc, tests, doc, out, _ = env.run("daemon", "daemonizes,after")
    d = tests.get("daemonizes", {})
    notes = " ".join(d.get("notes", []))
    ck.has(notes, "left a process running", "daemonizes: the test is named")
    ck.has(out, "left a process running", "daemonizes: the console says so")
    pid = None
    for w in doc.get("warnings", []):
        if "pid " in w:
            pid = int(w.split("pid ")[1].split()[0])
    ck.ok(pid is not None, f"daemonizes: a run warning names the pid: {doc.get('warnings')}")
    if pid:
        ck.ok(not pid_alive(pid), f"daemonizes: pid {pid} was killed")
    after_passes(ck, tests, "daemonizes")


def cmd_closed_fds_and_exit(env, ck):
    rc, tests, _, _, _ = env.run("fds", "closes_fds,exits_zero,after")
    c = tests.get("closes_fds", {})
    ck.eq(c.get("status"), "error", "closes_fds: an error")
    ck.has(c.get("message"), "closed memgate's result pipe", "closes_fds: says why the figures are lost")
    x = tests.get("exits_zero", {})
    ck.eq(x.get("status"), "error", "exits_zero: an error")
    ck.has(x.get("message"), "called exit(0)", "exits_zero: names exit()")
    after_passes(ck, tests, "closes_fds/exits_zero")


def cmd_output_flood(env, ck):
    """1 MiB on stdout from a single test: the run neither blocks nor slows down (the
    driver reads a quiet child's pipes only at its exit or after 20 ms), the first 64 KiB
    are kept and the rest is counted."""
    rc, tests, _, _, took = env.run("flood", "floods_output,after", "--timeout", "30")
    f = tests.get("floods_output", {})
    ck.eq(f.get("status"), "fail", "floods_output: fails on its assertion, not a timeout or error")
    out = f.get("output") or ""
    ck.has(out, "[memgate: %d more bytes of output dropped]" % (1024 * 1024 - 64 * 1024),
           "floods_output: the excess is counted exactly")
    ck.ok(out.startswith("x" * 1023 + "\n"), "floods_output: the output kept is the test's own, from its start")
    ck.ok(took < 15, f"the flood does not stall the run ({took:.1f} s)")
    after_passes(ck, tests, "floods_output")


def cmd_main_modes(env, ck):
    rc, tests, _, _, took = env.run("helper-stdout", "after", main="helper-stdout")
    after_passes(ck, tests, "a helper holding stdout")
    ck.ok(took < 20, f"a helper holding stdout does not hang the run ({took:.1f} s)")
    rc, tests, _, _, took = env.run("block-after", "after", main="block-after")
    after_passes(ck, tests, "code that blocks after the runner call")
    ck.ok(took < 20, f"blocking after the runner call does not hang the run ({took:.1f} s)")
    rc, tests, doc, _, took = env.run("never-runs", None, "--timeout", "2", main="never-runs")
    ck.ok(took < 20, f"a main() that never reaches the runner is bounded ({took:.1f} s)")
    ck.eq([t.get("status") for t in doc.get("tests", [])], ["timeout"], "a main() that never reaches the runner")
    ck.eq(rc, 1, "exit status")


def cmd_few_fds(env, ck):
    rc, tests, _, _, took = env.run("few-fds", "after", prefix=("prlimit", "--nofile=8:8"))
    a = tests.get("after", {})
    ck.eq(a.get("status"), "error", "no file descriptor left for the test's pipes: an error, not a stall")
    ck.has(a.get("message"), "pipe2", "the error names the failing call")
    ck.ok(took < 20, f"bounded ({took:.1f} s)")


def cmd_sigint(env, ck):
    report = os.path.join(env.work, "sigint.json")
    junit = os.path.join(env.work, "sigint.xml")
    e = dict(os.environ, HOSTILE_TESTS="after,daemonizes,stops_driver")
    p = subprocess.Popen([env.memgate, "run", "--json", report, "--junit", junit, "--timeout", "60", env.binary],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e)
    time.sleep(2.0)  # the stopped driver keeps the run waiting
    kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        ck.ok(False, "memgate did not stop after SIGINT")
        return
    ck.eq(p.returncode, 130, "exit status after SIGINT")
    time.sleep(0.2)
    for k in kids:
        ck.ok(not pid_alive(int(k)), f"driver {k} is gone after SIGINT")
    left = subprocess.run(["pgrep", "-f", "sleep 300"], capture_output=True, text=True).stdout.split()
    ck.eq(left, [], "no daemon a test started survives the run")
    with open(report, encoding="utf-8") as f:
        doc = json.load(f)
    ck.eq(doc.get("interrupted"), True, "JSON: interrupted: true")
    props = ET.parse(junit).getroot().iter("property")
    ck.ok(any(pr.get("name") == "interrupted" and pr.get("value") == "true" for pr in props),
          "JUnit: an interrupted property")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--memgate", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("command")
    a = ap.parse_args()
    env, ck = Env(a), Checks()
    cmds = {"crash-site": cmd_crash_site, "kills-driver": cmd_kills_driver, "stops-driver": cmd_stops_driver, "daemon": cmd_daemon,
            "fds-and-exit": cmd_closed_fds_and_exit, "main-modes": cmd_main_modes, "few-fds": cmd_few_fds,
            "output-flood": cmd_output_flood,
            "sigint": cmd_sigint}
    if a.command not in cmds:
        print("unknown subcommand", a.command)
        return 2
    cmds[a.command](env, ck)
    return ck.finish(f"; reports in {a.work}")


if __name__ == "__main__":
    sys.exit(main())
