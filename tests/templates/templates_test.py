#!/usr/bin/env python3
"""Tests of the CI templates (templates/): each subcommand is one ctest test.

  yaml-github, yaml-gitlab, yaml-precommit   the YAML files parse, have the structure their
                                             CI expects and name scripts that exist
  gate-pass, gate-fail, gate-options,        templates/memgate-gate.sh on the fixture
  gate-errors, gate-fallback-summary         programs: exit status, reports, summary
  github-action                              the composite action's steps, run as GitHub
                                             would run them (inputs, env, outputs, upload)
  gitlab-job                                 the .memgate job's script and artifacts
  precommit                                  the pre-commit hook in a scratch git repo

fixture_clean passes every test (15), fixture_leaky fails 8 of its 10. Every check of a
subcommand is collected, so a failing test lists all that went wrong; its files stay in
--work.

Usage: templates_test.py --memgate CLI --fixtures DIR --source DIR --work DIR SUBCOMMAND
Python 3 with PyYAML (Debian python3-yaml).
"""
import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import pylib  # noqa: E402

try:
    import yaml
except ImportError:  # pragma: no cover - reported as a test failure
    yaml = None

CLEAN_TESTS = 15
LEAKY_TESTS = 10
LEAKY_FAILS = 8
# The brief of the GitHub Action: inputs every user may set.
ACTION_INPUTS = ("build-dir", "binaries", "budgets", "baseline", "tolerance", "shard", "jobs",
                 "extra-args", "report-dir")


class Checks(pylib.Checks):
    """pylib.Checks that names its work directory in the summary (done())."""

    def __init__(self, work):
        super().__init__()
        self.work = work

    def lacks(self, text, needle, what):
        """Here a missing text (None) lacks the needle too."""
        return self.ok(text is None or needle not in text, f"{what}: {needle!r} found in:\n{text}")

    def done(self):
        return self.finish_kept(self.work)


class Ctx:
    def __init__(self, a):
        self.cli = os.path.abspath(a.memgate)
        self.fixtures = os.path.abspath(a.fixtures)
        self.source = os.path.abspath(a.source)
        self.work = os.path.abspath(a.work)
        self.templates = os.path.join(self.source, "templates")
        self.gate = os.path.join(self.templates, "memgate-gate.sh")
        self.hook = os.path.join(self.templates, "pre-commit", "memgate-precommit.sh")
        self.c = Checks(self.work)

    def env(self, **extra):
        """The environment of a script run: nothing of the CI this test may itself run in
        (job summaries, outputs, shard variables), plus extra."""
        drop = ("MEMGATE_", "GITHUB_", "CI_NODE_", "TEST_SHARD", "TEST_TOTAL_SHARDS", "GTEST_",
                "GIT_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def gate_env(self, **extra):
        base = {"MEMGATE_CLI": self.cli, "MEMGATE_BUILD_DIR": self.fixtures, "MEMGATE_JOBS": "2"}
        base.update(extra)
        return self.env(**base)

    def run(self, argv, env, cwd=None, timeout=150):
        p = subprocess.run(argv, env=env, cwd=cwd or self.work, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def run_gate(self, cwd=None, args=(), **env):
        return self.run(["bash", self.gate, *args], self.gate_env(**env), cwd=cwd)

    def subdir(self, name):
        d = os.path.join(self.work, name)
        os.makedirs(d, exist_ok=True)
        return d


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load_yaml(c, path):
    if not c.ok(yaml is not None, "PyYAML is missing: install python3-yaml (ci/deps.sh)"):
        return None
    text = read(path)
    if not c.ok(text is not None, f"{path} is missing"):
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        c.ok(False, f"{path} is not valid YAML: {e}")
        return None


def junit_counts(path):
    """(tests, failures, errors) summed over the testsuite elements, or None."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    cases = [tc for s in suites for tc in s.findall("testcase")]
    return (len(cases), sum(1 for tc in cases if tc.find("failure") is not None),
            sum(1 for tc in cases if tc.find("error") is not None))


def parse_outputs(path):
    out = {}
    for line in (read(path) or "").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def check_reports(c, rdir, base, total, fails, what):
    """The three reports and the log of one gate run agree with each other."""
    doc = load_json(os.path.join(rdir, base + ".json"))
    if c.ok(doc is not None, f"{what}: {base}.json missing or not JSON"):
        c.eq(doc["summary"]["total"], total, f"{what}: JSON total")
        c.eq(doc["summary"]["fail"], fails, f"{what}: JSON fail count")
    c.eq(junit_counts(os.path.join(rdir, base + ".junit.xml")), (total, fails, 0),
         f"{what}: JUnit (tests, failures, errors)")
    html = read(os.path.join(rdir, base + ".html"))
    if c.ok(html is not None, f"{what}: {base}.html missing"):
        c.has(html.lower(), "<html", f"{what}: HTML report")
    c.has(read(os.path.join(rdir, base + ".log")), f"{total - fails} passed, {fails} failed",
          f"{what}: console log")
    return doc


# ---- YAML structure ---------------------------------------------------------------------
def script_vars(ctx, path):
    """The MEMGATE_* variables a script reads."""
    return set(re.findall(r"\bMEMGATE_[A-Z_]+\b", read(path) or ""))


def yaml_github(ctx):
    c = ctx.c
    path = os.path.join(ctx.templates, "github", "action.yml")
    doc = load_yaml(c, path)
    if not c.ok(isinstance(doc, dict), "action.yml: not a mapping"):
        return
    for key in ("name", "description", "inputs", "runs"):
        c.ok(key in doc, f"action.yml: no '{key}'")
    inputs = doc.get("inputs") or {}
    for name in ACTION_INPUTS:
        c.ok(name in inputs, f"action.yml: input '{name}' missing")
    for name, spec in inputs.items():
        c.ok(isinstance(spec, dict) and spec.get("description"), f"action.yml: input {name} has no description")
    c.eq(inputs.get("binaries", {}).get("required"), True, "action.yml: binaries required")
    text = read(path)
    # Every ${{ inputs.X }} names a declared input; every steps.gate.outputs.X is one the
    # script writes.
    for name in re.findall(r"inputs\.([A-Za-z0-9_-]+)", text):
        c.ok(name in inputs, f"action.yml: inputs.{name} is used but not declared")
    gate_text = read(ctx.gate) or ""
    for name in re.findall(r"steps\.gate\.outputs\.([A-Za-z0-9_-]+)", text):
        c.has(gate_text, f'echo "{name}=', f"action.yml: output {name} written by memgate-gate.sh")
    runs = doc.get("runs") or {}
    c.eq(runs.get("using"), "composite", "action.yml: runs.using")
    steps = runs.get("steps") or []
    gate = [s for s in steps if "memgate-gate.sh" in str(s.get("run", ""))]
    if c.eq(len(gate), 1, "action.yml: steps running memgate-gate.sh"):
        g = gate[0]
        c.eq(g.get("id"), "gate", "action.yml: id of the gate step")
        c.eq(g.get("shell"), "bash", "action.yml: shell of the gate step")
        m = re.search(r"\$GITHUB_ACTION_PATH/(\S+?memgate-gate\.sh)", g["run"])
        if c.ok(m, f"action.yml: gate step runs a script beside the action: {g['run']!r}"):
            script = os.path.normpath(os.path.join(ctx.templates, "github", m.group(1)))
            c.ok(os.path.isfile(script), f"action.yml: {script} does not exist")
            c.ok(os.access(script, os.X_OK), f"action.yml: {script} is not executable")
        known = script_vars(ctx, ctx.gate)
        for var in (g.get("env") or {}):
            c.ok(var in known, f"action.yml: env {var} is not read by memgate-gate.sh")
        # Inputs reach the script through env only: no expression in the script text.
        c.lacks(g["run"], "${{", "action.yml: expressions in the gate step's run")
    for s in steps:
        if "run" in s:
            c.ok(s.get("shell"), f"action.yml: run step {s.get('name')} has no shell")
    up = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    if c.eq(len(up), 1, "action.yml: upload-artifact steps"):
        u = up[0]
        c.has(str(u.get("if", "")), "always()", "action.yml: upload runs when the gate failed")
        c.eq((u.get("with") or {}).get("path"), "${{ inputs.report-dir }}", "action.yml: upload path")
        c.ok((u.get("with") or {}).get("name"), "action.yml: artifact name")
        c.ok(steps.index(u) > steps.index(gate[0]) if gate else False, "action.yml: upload after the gate")
    for name, spec in (doc.get("outputs") or {}).items():
        c.ok("steps.gate.outputs." in str(spec.get("value")), f"action.yml: output {name} value")


def yaml_gitlab(ctx):
    c = ctx.c
    path = os.path.join(ctx.templates, "gitlab", "memgate.gitlab-ci.yml")
    doc = load_yaml(c, path)
    if not c.ok(isinstance(doc, dict), "gitlab: not a mapping"):
        return
    job = doc.get(".memgate")
    if not c.ok(isinstance(job, dict), "gitlab: no .memgate job"):
        return
    variables = job.get("variables") or {}
    script = job.get("script") or []
    c.ok(isinstance(script, list) and script, "gitlab: .memgate has a script list")
    c.ok(any("$MEMGATE_GATE_SCRIPT" in line for line in script), "gitlab: script runs $MEMGATE_GATE_SCRIPT")
    gate = variables.get("MEMGATE_GATE_SCRIPT", "")
    c.ok(os.path.isfile(os.path.join(ctx.source, gate)), f"gitlab: MEMGATE_GATE_SCRIPT {gate!r} does not exist")
    known = script_vars(ctx, ctx.gate)
    for var in variables:
        if var != "MEMGATE_GATE_SCRIPT":
            c.ok(var in known, f"gitlab: variable {var} is not read by memgate-gate.sh")
    for var, value in variables.items():
        c.ok(isinstance(value, str), f"gitlab: variable {var} is not a string")
    art = job.get("artifacts") or {}
    c.eq(art.get("when"), "always", "gitlab: artifacts when")
    rdir = variables.get("MEMGATE_REPORT_DIR", "")
    c.ok(rdir and any(p.rstrip("/") == rdir for p in art.get("paths") or []),
         f"gitlab: artifact paths {art.get('paths')} hold MEMGATE_REPORT_DIR {rdir!r}")
    junit = (art.get("reports") or {}).get("junit")
    if c.ok(isinstance(junit, str), "gitlab: artifacts:reports:junit"):
        for name in ("memgate.junit.xml", "memgate-shard-0-of-4.junit.xml"):
            c.ok(fnmatch.fnmatch(f"{rdir}/{name}", junit), f"gitlab: junit pattern {junit!r} misses {name}")
        c.ok(not fnmatch.fnmatch(f"{rdir}/memgate.json", junit), "gitlab: junit pattern takes the JSON report")


def yaml_precommit(ctx):
    c = ctx.c
    path = os.path.join(ctx.templates, "pre-commit", ".pre-commit-hooks.yaml")
    doc = load_yaml(c, path)
    if not c.ok(isinstance(doc, list) and doc, "pre-commit: not a list of hooks"):
        return
    for hook in doc:
        for key in ("id", "name", "entry", "language"):
            c.ok(hook.get(key), f"pre-commit: hook without '{key}': {hook}")
        c.ok(hook.get("language") in ("script", "system"), f"pre-commit: language {hook.get('language')}")
        entry = os.path.join(ctx.source, str(hook.get("entry", "")).split()[0])
        c.ok(os.path.isfile(entry) and os.access(entry, os.X_OK), f"pre-commit: entry {entry} is not an executable file")
        try:
            rx = re.compile(hook.get("files", ""))
        except re.error as e:
            c.ok(False, f"pre-commit: files regex: {e}")
            continue
        for name in ("src/cache.c", "include/x/cache.h", "lib/a.cpp", "b.hpp"):
            c.ok(rx.search(name), f"pre-commit: files regex misses {name}")
        for name in ("README.md", "CMakeLists.txt", "src/cache.c.orig"):
            c.ok(not rx.search(name), f"pre-commit: files regex takes {name}")
        c.eq(hook.get("require_serial"), True, "pre-commit: require_serial (the script runs -j N itself)")


# ---- the gate script ---------------------------------------------------------------------
def gate_pass(ctx):
    c = ctx.c
    d = ctx.subdir("run")
    summary_target = os.path.join(d, "step-summary.md")
    with open(summary_target, "w", encoding="utf-8") as f:
        f.write("earlier step\n")
    rc, out, err = ctx.run_gate(cwd=d, MEMGATE_BINARIES="fixture_clean", MEMGATE_SUMMARY=summary_target)
    c.eq(rc, 0, f"exit status (stderr: {err})")
    rdir = os.path.join(d, "memgate-reports")
    check_reports(c, rdir, "memgate", CLEAN_TESTS, 0, "clean")
    s = read(os.path.join(rdir, "memgate.summary.md"))
    c.has(s, "## memgate: passed", "summary verdict")
    c.has(s, f"{CLEAN_TESTS} tests: {CLEAN_TESTS} pass, 0 fail", "summary counts")
    c.lacks(s, "| test |", "summary has no table when all pass")
    target = read(summary_target) or ""
    c.ok(target.startswith("earlier step\n"), "MEMGATE_SUMMARY is appended to, not overwritten")
    c.has(target, "## memgate: passed", "summary appended to MEMGATE_SUMMARY")
    c.has(out, "15 passed, 0 failed", "console output on stdout")
    c.has(err, "-j 2", "the command line is shown with MEMGATE_JOBS")


def gate_fail(ctx):
    c = ctx.c
    d = ctx.subdir("run")
    outputs = os.path.join(d, "outputs.txt")
    step_summary = os.path.join(d, "step-summary.md")
    rc, _, err = ctx.run_gate(cwd=d, MEMGATE_BINARIES="fixture_clean fixture_lea*",
                              MEMGATE_REPORT_DIR="out/reports", GITHUB_OUTPUT=outputs,
                              GITHUB_STEP_SUMMARY=step_summary)
    c.eq(rc, 1, f"exit status (stderr: {err})")
    rdir = os.path.join(d, "out", "reports")
    doc = check_reports(c, rdir, "memgate", CLEAN_TESTS + LEAKY_TESTS, LEAKY_FAILS, "clean+leaky")
    s = read(step_summary)
    c.eq(s, read(os.path.join(rdir, "memgate.summary.md")), "GITHUB_STEP_SUMMARY gets the summary")
    c.has(s, "## memgate: FAILED", "summary verdict")
    c.has(s, "| test | status | leaked | growth | peak | broke | top allocation site |", "summary table")
    for t in (doc or {}).get("tests", []):
        name = f"`{t['suite']}/{t['name']}`"
        if t["status"] == "pass":
            c.lacks(s, name, "a passing test in the summary table")
        else:
            c.has(s, f"| {name} | {t['status']} |", "a failing test in the summary table")
    c.has(s, "| `leaky/cache_unbounded` | fail | 446 B | 9 | 446 B | leak_bytes > 0 B; object_growth > 0 | cache_put (leaky.c:",
          "row of leaky/cache_unbounded (figures of tests/fixtures/expected.json)")
    o = parse_outputs(outputs)
    want = {"exit-code": "1", "total": str(CLEAN_TESTS + LEAKY_TESTS), "passed": str(CLEAN_TESTS + LEAKY_TESTS - LEAKY_FAILS),
            "failed": str(LEAKY_FAILS), "report-dir": "out/reports", "json": "out/reports/memgate.json",
            "junit": "out/reports/memgate.junit.xml", "html": "out/reports/memgate.html",
            "artifact-name": "memgate-reports"}
    for k, v in want.items():
        c.eq(o.get(k), v, f"GITHUB_OUTPUT {k}")


def gate_options(ctx):
    c = ctx.c
    # Budgets file: the leaky tests get room, so the run passes.
    d = ctx.subdir("budgets")
    budgets = os.path.join(d, "budgets.json")
    with open(budgets, "w", encoding="utf-8") as f:
        json.dump({"tests": {"leaky/*": {"leak_bytes": "1 MiB", "object_growth": 1000}}}, f)
    rc, _, err = ctx.run_gate(cwd=d, MEMGATE_BINARIES="fixture_leaky", MEMGATE_BUDGETS=budgets)
    c.eq(rc, 0, f"budgets: exit status (stderr: {err})")
    doc = load_json(os.path.join(d, "memgate-reports", "memgate.json")) or {}
    srcs = {t["budget"]["leak_bytes"]["source"] for t in doc.get("tests", [])}
    c.eq(srcs, {"file-test"}, "budgets: leak limits come from the file")

    # Extra args, quoted, are passed word for word; script arguments are appended.
    d = ctx.subdir("extra")
    rc, _, err = ctx.run_gate(cwd=d, args=("--timeout", "30"), MEMGATE_BINARIES="fixture_clean fixture_leaky",
                              MEMGATE_EXTRA_ARGS="-k 'leaky/*' --peak \"64 MiB\"\n-q", MEMGATE_JOBS="3")
    c.eq(rc, 1, f"extra args: exit status (stderr: {err})")
    doc = load_json(os.path.join(d, "memgate-reports", "memgate.json")) or {}
    tests = doc.get("tests", [])
    c.eq(len(tests), LEAKY_TESTS, "extra args: -k 'leaky/*' selects the leaky tests")
    c.eq({(t["budget"]["peak_bytes"]["value"], t["budget"]["peak_bytes"]["source"]) for t in tests},
         {(64 << 20, "cli")}, "extra args: --peak \"64 MiB\" is one word")
    c.has(err, " -j 3 ", "MEMGATE_JOBS")
    c.has(err, "--timeout 30 ", "script arguments are passed on")

    # Baseline and tolerance: write one, then compare against it. Single-threaded tests
    # only (clean/s*): the peak of clean/threads_malloc_free depends on scheduling.
    d = ctx.subdir("baseline")
    base = os.path.join(d, "baseline.json")
    only = "-k 'clean/s*'"
    rc, _, err = ctx.run_gate(cwd=d, MEMGATE_BINARIES="fixture_clean", MEMGATE_EXTRA_ARGS=f"{only} --update-baseline '{base}'")
    c.eq(rc, 0, f"baseline: writing it (stderr: {err})")
    c.ok(os.path.isfile(base), "baseline: written")
    rc, out, err = ctx.run_gate(cwd=d, MEMGATE_BINARIES="fixture_clean", MEMGATE_BASELINE=base,
                                MEMGATE_TOLERANCE="peak=50%,allocs=50%", MEMGATE_EXTRA_ARGS=only)
    c.eq(rc, 0, f"baseline: comparing (output: {out})")
    doc = load_json(os.path.join(d, "memgate-reports", "memgate.json")) or {}
    c.eq((doc.get("baseline") or {}).get("path"), base, "baseline: the JSON report names it")
    c.ok(all((t.get("baseline") or {}).get("state") for t in doc.get("tests", [])), "baseline: each test compared")
    rc, out, _ = ctx.run_gate(cwd=d, MEMGATE_BINARIES="fixture_clean", MEMGATE_BASELINE=base,
                              MEMGATE_TOLERANCE="bogus=1")
    c.eq(rc, 2, "tolerance reaches memgate (a bad one is a usage error)")
    c.has(out, "bogus", "tolerance: memgate names the bad item (its messages go to the log and stdout)")

    # Shards: file names, artifact name, and the two halves make the whole.
    d = ctx.subdir("shards")
    totals = 0
    for i in (0, 1):
        outputs = os.path.join(d, f"outputs{i}.txt")
        rc, _, err = ctx.run_gate(cwd=d, MEMGATE_BINARIES="fixture_clean fixture_leaky",
                                  MEMGATE_SHARD=f"{i}/2", GITHUB_OUTPUT=outputs)
        c.ok(rc in (0, 1), f"shard {i}/2: exit status {rc} (stderr: {err})")
        doc = load_json(os.path.join(d, "memgate-reports", f"memgate-shard-{i}-of-2.json")) or {}
        c.eq(doc.get("shard"), f"{i}/2", f"shard {i}/2: JSON shard")
        totals += (doc.get("summary") or {}).get("total", 0)
        c.ok(os.path.isfile(os.path.join(d, "memgate-reports", f"memgate-shard-{i}-of-2.junit.xml")), f"shard {i}: JUnit")
        c.eq(parse_outputs(outputs).get("artifact-name"), f"memgate-reports-shard-{i}-of-2", f"shard {i}: artifact name")
    c.eq(totals, CLEAN_TESTS + LEAKY_TESTS, "shards: every test in exactly one shard")
    c.ok(not os.path.exists(os.path.join(d, "memgate-reports", "memgate.json")), "shards: no unsharded report")
    # GitLab's parallel jobs: CI_NODE_INDEX is 1-based.
    rc, _, err = ctx.run_gate(cwd=d, MEMGATE_BINARIES="fixture_clean", CI_NODE_INDEX="2", CI_NODE_TOTAL="3")
    doc = load_json(os.path.join(d, "memgate-reports", "memgate-shard-1-of-3.json")) or {}
    c.eq(doc.get("shard"), "1/3", f"CI_NODE_INDEX=2 of 3 is shard 1/3 (stderr: {err})")


def gate_errors(ctx):
    c = ctx.c
    d = ctx.subdir("errors")
    cases = [
        ("no binaries", {"MEMGATE_BINARIES": ""}, "MEMGATE_BINARIES is empty"),
        ("glob matching nothing", {"MEMGATE_BINARIES": "fixture_nothing*"}, "no executable file matches"),
        ("glob matching no executable", {"MEMGATE_BINARIES": "CMake*"}, "no executable file matches"),
        ("missing build dir", {"MEMGATE_BINARIES": "x", "MEMGATE_BUILD_DIR": os.path.join(d, "nope")}, "does not exist"),
        ("missing CLI", {"MEMGATE_BINARIES": "fixture_clean", "MEMGATE_CLI": os.path.join(d, "nope")}, "not an executable"),
        ("unbalanced quote", {"MEMGATE_BINARIES": "fixture_clean", "MEMGATE_EXTRA_ARGS": "-k 'leaky"}, "unbalanced quote"),
        ("bad shard", {"MEMGATE_BINARIES": "fixture_clean", "MEMGATE_SHARD": "first"}, "is not I/N"),
        ("bad jobs", {"MEMGATE_BINARIES": "fixture_clean", "MEMGATE_JOBS": "0"}, "not a positive number"),
    ]
    for what, env, msg in cases:
        rc, out, err = ctx.run_gate(cwd=d, **env)
        c.eq(rc, 2, f"{what}: exit status")
        c.has(err, msg, f"{what}: message")
    # memgate itself refuses (a budgets file that does not exist): exit 2, the summary says
    # so and shows the message, stale reports of an earlier run are gone.
    rdir = os.path.join(d, "memgate-reports")
    os.makedirs(rdir, exist_ok=True)
    for ext in ("json", "junit.xml", "html"):
        with open(os.path.join(rdir, "memgate." + ext), "w", encoding="utf-8") as f:
            f.write("stale")
    rc, out, err = ctx.run_gate(cwd=d, MEMGATE_BINARIES="fixture_clean",
                                MEMGATE_BUDGETS=os.path.join(d, "no-such-budgets.json"))
    c.eq(rc, 2, "missing budgets file: exit status")
    for ext in ("json", "junit.xml", "html"):
        c.ok(not os.path.exists(os.path.join(rdir, "memgate." + ext)), f"stale memgate.{ext} removed")
    s = read(os.path.join(rdir, "memgate.summary.md"))
    c.has(s, "## memgate: could not run (exit 2)", "summary after exit 2")
    c.has(s, "no-such-budgets.json", "summary shows memgate's message")
    c.has(read(os.path.join(rdir, "memgate.log")), "no-such-budgets.json", "log holds memgate's message")


def gate_fallback_summary(ctx):
    """Without python3 the summary is the end of the console output."""
    c = ctx.c
    d = ctx.subdir("run")
    bindir = ctx.subdir("bin-without-python")
    for dirname in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        if not os.path.isdir(dirname):
            continue
        for name in os.listdir(dirname):
            dst = os.path.join(bindir, name)
            if name.startswith("python") or os.path.lexists(dst):
                continue
            src = os.path.join(dirname, name)
            if os.path.isfile(src) and os.access(src, os.X_OK):
                os.symlink(src, dst)
    bash = shutil.which("bash")
    rc, _, err = ctx.run(
        [bash, ctx.gate], ctx.gate_env(PATH=bindir, MEMGATE_BINARIES="fixture_clean fixture_leaky"), cwd=d)
    c.eq(rc, 1, f"exit status (stderr: {err})")
    s = read(os.path.join(d, "memgate-reports", "memgate.summary.md"))
    c.has(s, "## memgate: FAILED (exit 1)", "fallback summary verdict")
    c.has(s, f"{CLEAN_TESTS + LEAKY_TESTS - LEAKY_FAILS} passed, {LEAKY_FAILS} failed", "fallback summary counts")
    c.ok(os.path.isfile(os.path.join(d, "memgate-reports", "memgate.json")), "reports are still written")


# ---- the templates as their CI runs them ----------------------------------------------------
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def evaluate(c, text, inputs, outputs):
    """Replaces ${{ ... }} in text: inputs.X, steps.gate.outputs.X, 'literal', joined by ||
    (the first non-empty one). Anything else fails the check."""

    def one(m):
        for term in (t.strip() for t in m.group(1).split("||")):
            if term.startswith("inputs."):
                v = inputs.get(term[7:], "")
            elif term.startswith("steps.gate.outputs."):
                v = outputs.get(term[19:], "")
            elif len(term) >= 2 and term[0] == term[-1] == "'":
                v = term[1:-1]
            else:
                c.ok(False, f"expression the test does not know: {term!r}")
                v = ""
            if v:
                return v
        return ""

    return EXPR.sub(one, str(text))


def github_action(ctx):
    c = ctx.c
    doc = load_yaml(c, os.path.join(ctx.templates, "github", "action.yml"))
    if not isinstance(doc, dict):
        return
    action_path = os.path.join(ctx.templates, "github")
    steps = doc["runs"]["steps"]
    for case, given, rc_want, base, artifact in (
            ("single", {"binaries": "fixture_clean\nfixture_lea*"}, 1, "memgate", "memgate-reports"),
            ("shard", {"binaries": "fixture_clean fixture_leaky", "shard": "1/2", "report-dir": "r"}, None,
             "memgate-shard-1-of-2", "memgate-reports-shard-1-of-2")):
        d = ctx.subdir(case)
        inputs = {k: str(v.get("default", "")) for k, v in doc["inputs"].items()}
        inputs.update({"build-dir": ctx.fixtures, "memgate": ctx.cli, "jobs": "2"})
        inputs.update(given)
        summary = os.path.join(d, "step-summary.md")
        outputs_file = os.path.join(d, "outputs.txt")
        open(summary, "w").close()
        open(outputs_file, "w").close()
        outputs, failed, uploaded = {}, False, False
        for step in steps:
            cond = str(step.get("if", "success()"))
            if failed and "always()" not in cond:
                continue
            if "run" in step:
                env = {k: evaluate(c, v, inputs, outputs) for k, v in (step.get("env") or {}).items()}
                env.update(GITHUB_ACTION_PATH=action_path, GITHUB_STEP_SUMMARY=summary,
                           GITHUB_OUTPUT=outputs_file)
                c.eq(step.get("shell"), "bash", f"{case}: shell")
                rc, _, err = ctx.run(["bash", "-e", "-c", step["run"]], ctx.env(**env), cwd=d)
                outputs = parse_outputs(outputs_file)
                if rc_want is not None:
                    c.eq(rc, rc_want, f"{case}: gate step exit status (stderr: {err})")
                else:
                    c.ok(rc in (0, 1), f"{case}: gate step exit status {rc} (stderr: {err})")
                failed = rc != 0
            elif str(step.get("uses", "")).startswith("actions/upload-artifact@"):
                uploaded = True
                w = {k: evaluate(c, v, inputs, outputs) for k, v in (step.get("with") or {}).items()}
                c.eq(w.get("name"), artifact, f"{case}: artifact name")
                rdir = os.path.join(d, w.get("path", ""))
                for ext in ("junit.xml", "json", "html", "log", "summary.md"):
                    c.ok(os.path.isfile(os.path.join(rdir, f"{base}.{ext}")), f"{case}: upload path holds {base}.{ext}")
        c.ok(uploaded, f"{case}: the reports were uploaded (failed gate: {failed})")
        s = read(summary)
        c.has(s, "## memgate:", f"{case}: job summary written")
        if case == "shard":
            c.has(s, "(shard 1/2)", "shard: job summary names the shard")
        else:
            c.has(s, "`leaky/cache_unbounded`", "job summary lists a failing test")
        for name, spec in doc.get("outputs", {}).items():
            c.ok(evaluate(c, spec["value"], inputs, outputs) != "", f"{case}: action output {name} is set")


def gitlab_job(ctx):
    c = ctx.c
    doc = load_yaml(c, os.path.join(ctx.templates, "gitlab", "memgate.gitlab-ci.yml"))
    if not isinstance(doc, dict) or ".memgate" not in doc:
        return
    job = doc[".memgate"]
    # The project checkout: the gate script where the template's default says it is.
    proj = ctx.subdir("project")
    gate_rel = job["variables"]["MEMGATE_GATE_SCRIPT"]
    link = os.path.join(proj, gate_rel)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not os.path.lexists(link):
        os.symlink(ctx.gate, link)
    env = dict(job["variables"])
    env.update(MEMGATE_BUILD_DIR=ctx.fixtures, MEMGATE_BINARIES="fixture_clean fixture_leaky",
               MEMGATE_CLI=ctx.cli, MEMGATE_JOBS="2", CI_NODE_INDEX="1", CI_NODE_TOTAL="2")
    rc = 0
    for line in job["script"]:
        rc, _, err = ctx.run(["bash", "-e", "-c", line], ctx.env(**env), cwd=proj)
        if rc:
            break
    c.ok(rc in (0, 1), f"script exit status {rc} (stderr: {err})")
    art = job["artifacts"]
    for p in art["paths"]:
        c.ok(os.path.exists(os.path.join(proj, p)), f"artifact path {p} exists")
    files = [os.path.relpath(os.path.join(dp, f), proj) for dp, _, fs in os.walk(proj) for f in fs]
    junit = [f for f in files if fnmatch.fnmatch(f, art["reports"]["junit"])]
    c.eq(junit, ["memgate-reports/memgate-shard-0-of-2.junit.xml"], "files the junit report pattern takes")
    if junit:
        counts = junit_counts(os.path.join(proj, junit[0]))
        c.ok(counts and counts[0] > 0, f"the JUnit report of shard 0/2 holds tests: {counts}")


# ---- the pre-commit hook ---------------------------------------------------------------------
def precommit(ctx):
    c = ctx.c
    repo = os.path.join(ctx.work, "repo")
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    genv = ctx.env(GIT_CONFIG_NOSYSTEM="1", HOME=ctx.work, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")

    def git(*args):
        rc, out, err = ctx.run(["git", *args], genv, cwd=repo)
        c.eq(rc, 0, f"git {' '.join(args)}: {err}")
        return out

    def write(rel, text="int x;\n"):
        path = os.path.join(repo, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    git("init", "-q")
    write("README.md", "x\n")
    write("src/util.c")
    git("add", "-A")
    git("commit", "-q", "-m", "initial")

    base_args = ["--memgate", ctx.cli, "--build-dir", ctx.fixtures, "--binaries", "fixture_clean fixture_lea*", "-j", "2"]

    def hook(*args, env=None):
        e = dict(genv)
        e.update(env or {})
        return ctx.run(["bash", ctx.hook, *args], e, cwd=repo)

    def selection(*args, env=None, what=""):
        rc, out, err = hook("--dry-run", *args, env=env)
        c.eq(rc, 0, f"{what}: dry run exit status ({err})")
        return [l[9:] for l in out.splitlines() if l.startswith("selected ")], out, err

    cache = ["leaky/cache_unbounded", "leaky/cache_cleared"]
    # Staged files: a source named after tests, and a document that is not looked at.
    write("src/cache.c")
    write("docs/cache.md")
    git("add", "src/cache.c", "docs/cache.md")
    sel, out, err = selection(*base_args, what="staged cache.c")
    c.eq(sel, cache, "staged cache.c selects the cache tests")
    c.has(err, "2 of 25 tests relate to cache.c", "staged cache.c: message")
    c.has(out, " -q ", "quiet run")
    c.has(out, " -j 2 ", "-j passed on")
    c.has(out, "-k leaky/cache_unbounded -k leaky/cache_cleared", "the selection as -k options")
    # An unstaged change is not part of the commit.
    write("src/regex.c")
    sel, _, _ = selection(*base_args, what="unstaged regex.c")
    c.eq(sel, cache, "an unstaged file is not looked at")
    # A staged change to a file no test relates to: all tests, or ignored.
    write("src/util.c", "int y;\n")
    git("add", "src/util.c")
    sel, _, err = selection(*base_args, what="util.c")
    c.eq(len(sel), CLEAN_TESTS + LEAKY_TESTS, "an unrelated source file runs all tests")
    c.has(err, "no test relates to util.c: running all 25 tests", "unrelated file: message")
    sel, out, err = selection(*base_args, "--unmatched", "ignore", what="util.c ignored")
    c.eq(sel, cache, "--unmatched ignore leaves util.c out")
    c.has(err, "(no test relates to util.c)", "--unmatched ignore: message")
    # File names given by pre-commit win over the index; case and test_ prefixes.
    sel, _, _ = selection(*base_args, "tests/test_Registry.c", "include/REALLOC.h", what="names")
    c.eq(sel, ["clean/realloc_chain", "leaky/registry_never_freed"], "test_Registry.c and REALLOC.h (registry order)")
    sel, _, _ = selection(*base_args, "--", "src/qs.c", what="short name")
    c.eq(len(sel), CLEAN_TESTS + LEAKY_TESTS, "a word under 3 characters relates to nothing: all tests")
    # Settings from the environment.
    sel, out, _ = selection("src/strdup.c", env={"MEMGATE_CLI": ctx.cli, "MEMGATE_BUILD_DIR": ctx.fixtures,
                                                 "MEMGATE_BINARIES": "fixture_clean\n fixture_leaky"},
                            what="environment")
    c.eq(sel, ["clean/strdup_free"], "settings from MEMGATE_* variables")
    c.has(out, "/fixture_leaky", "MEMGATE_BINARIES: every line")

    # Real runs: exit statuses and the number of tests run.
    rc, out, err = hook(*base_args, "src/realloc.c")
    c.eq(rc, 0, f"realloc.c: the clean test passes ({err})")
    c.has(out, "ran 1 test", "realloc.c: one test ran")
    rc, out, err = hook(*base_args, "src/leaky.c")
    c.eq(rc, 1, "leaky.c: the leaky suite fails")
    c.has(out, f"ran {LEAKY_TESTS} tests", "leaky.c: the leaky suite ran")
    c.has(out, f"{LEAKY_TESTS - LEAKY_FAILS} passed, {LEAKY_FAILS} failed", "leaky.c: summary")
    c.lacks(out, "[ 1/", "quiet: no per-test lines")
    rc, out, err = hook(*base_args, "README.md", "docs/cache.md")
    c.eq(rc, 0, "documents only: nothing to run")
    c.has(err, "no C/C++ file changed", "documents only: message")
    c.eq(out, "", "documents only: memgate not run")
    # As pre-commit runs it: entry from .pre-commit-hooks.yaml, args, then file names.
    hooks = load_yaml(c, os.path.join(ctx.templates, "pre-commit", ".pre-commit-hooks.yaml")) or [{}]
    entry = os.path.join(ctx.source, hooks[0].get("entry", "missing"))
    rc, out, err = ctx.run([entry, *base_args, "src/cache.c"], genv, cwd=repo)
    c.eq(rc, 1, f"the hook entry itself: cache_unbounded fails ({err})")
    c.has(out, "ran 2 tests", "the hook entry itself: 2 tests ran")
    # Usage errors.
    for args, msg in ((["--binaries", "", "src/cache.c"], "no test binaries"),
                      (["--binaries", "nothing*", "--memgate", ctx.cli, "--build-dir", ctx.fixtures, "src/cache.c"],
                       "no executable file matches"),
                      (["--bogus", "src/cache.c"], "unknown option"),
                      (base_args + ["--unmatched", "some", "src/cache.c"], "--unmatched takes all or ignore"),
                      (base_args + ["src/cache.c", "--jobs"], "--jobs needs a value")):
        rc, _, err = hook(*args)
        c.eq(rc, 2, f"{args}: exit status")
        c.has(err, msg, f"{args}: message")


SUBCOMMANDS = {
    "yaml-github": yaml_github, "yaml-gitlab": yaml_gitlab, "yaml-precommit": yaml_precommit,
    "gate-pass": gate_pass, "gate-fail": gate_fail, "gate-options": gate_options,
    "gate-errors": gate_errors, "gate-fallback-summary": gate_fallback_summary,
    "github-action": github_action, "gitlab-job": gitlab_job, "precommit": precommit,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memgate", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("subcommand", choices=sorted(SUBCOMMANDS))
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    ctx = Ctx(a)
    SUBCOMMANDS[a.subcommand](ctx)
    return ctx.c.done()


if __name__ == "__main__":
    sys.exit(main())
