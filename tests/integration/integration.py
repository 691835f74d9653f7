#!/usr/bin/env python3
"""memgate as a package other projects use (driver for tests/integration, stdlib only).

Subcommands, one ctest test each (see CMakeLists.txt beside this file):
  install    `cmake --install` this build tree into WORK/prefix; check the installed files
             (the CI templates under share/memgate/templates too, and the installed gate
             script runs), memgate.pc (an rpath outside system directories, none in /usr,
             installed with DESTDIR) and that the installed CLI finds its library
  consumer   docs/examples/consumer against WORK/prefix: configure, build, ctest (POST_BUILD
             discovery): per-test pass/fail, JUnit, JSON reports, -R, a budget taken away
  pkgconfig  the consumer's test program built with nothing but `pkg-config --cflags --libs
             memgate` (no hand-made rpath, no LD_LIBRARY_PATH): runs plainly, and under the
             installed memgate, which measures it
  modes      names/ (awkward test names) in POST_BUILD and PRE_TEST mode: the same tests
             and commands, each -k pattern selecting exactly its own test

Exit status 0 = pass, 1 = a check failed, 77 = skipped (ctest SKIP_RETURN_CODE).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

SKIP = 77


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def clean_env():
    """The environment for child processes: nothing from the parent build or memgate run
    that could steer them (a jobserver, a library override, a preload)."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MEMGATE_LIBRARY", "LD_PRELOAD",
              "CTEST_PARALLEL_LEVEL", "CTEST_OUTPUT_ON_FAILURE", "CMAKE_PREFIX_PATH",
              "PKG_CONFIG_PATH", "DESTDIR", "LD_LIBRARY_PATH"):
        env.pop(k, None)
    return env


def run(cmd, cwd=None, env=None, expect=0, timeout=120):
    """Runs cmd; checks its exit status when expect is not None. Returns the result with
    stdout and stderr merged into .out."""
    print("+ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, cwd=cwd, env=env or clean_env(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout)
    r.out = r.stdout
    if expect is not None and r.returncode != expect:
        sys.stdout.write(r.out)
        raise Failure("%s exited %d, expected %d" % (cmd[0], r.returncode, expect))
    return r


class Ctx:
    def __init__(self, a):
        self.a = a
        self.prefix = os.path.join(a.work, "prefix")
        self.libdir = os.path.join(self.prefix, a.libdir)
        self.bindir = os.path.join(self.prefix, a.bindir)
        self.incdir = os.path.join(self.prefix, a.includedir)
        self.datadir = os.path.join(self.prefix, a.datadir)

    def configure(self, src, build, *defs):
        shutil.rmtree(build, ignore_errors=True)
        run([self.a.cmake, "-S", src, "-B", build, "-G", self.a.generator,
             "-DCMAKE_PREFIX_PATH=" + self.prefix,
             "-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON", *defs])
        cache = open(os.path.join(build, "CMakeCache.txt")).read()
        m = re.search(r"^memgate_DIR:PATH=(.*)$", cache, re.M)
        want = os.path.join(self.libdir, "cmake", "memgate")
        check(m and os.path.realpath(m.group(1)) == os.path.realpath(want),
              "find_package(memgate) found %s, not the installed %s" % (m and m.group(1), want))

    def build(self, build):
        run([self.a.cmake, "--build", build, "--config", "Debug"])

    def ctest(self, build, *args, expect=0):
        return run([self.a.ctest, "--test-dir", build, "-C", "Debug", *args], expect=expect)


def junit_cases(path):
    """{testcase name: 'pass' | 'fail' | 'disabled' | other status} from ctest's JUnit."""
    check(os.path.isfile(path), "ctest --output-junit wrote no %s" % path)
    cases = {}
    for tc in ET.parse(path).getroot().iter("testcase"):
        if tc.find("failure") is not None or tc.find("error") is not None:
            st = "fail"
        elif tc.get("status") == "run":
            st = "pass"
        else:
            st = tc.get("status")
        cases[tc.get("name")] = st
    return cases


def show_only(ctx, build):
    r = ctx.ctest(build, "--show-only=json-v1")
    tests = json.loads(r.out[r.out.index("{"):])["tests"]
    return tests


def props(test):
    return {p["name"]: p["value"] for p in test.get("properties", [])}


def fnmatch_escape(name):
    return re.sub(r"([\\*?\[])", r"\\\1", name)


# ---- install --------------------------------------------------------------------------
def cmd_install(ctx):
    a = ctx.a
    for d in (a.libdir, a.bindir, a.includedir, a.datadir):
        if os.path.isabs(d):
            print("skipped: absolute install dir %s is not relocated by --prefix" % d)
            return SKIP
    # Into /usr (with DESTDIR): libmemgate lands in a directory the loader searches, and
    # memgate.pc must not add an rpath there. Done first: both installs write the build
    # tree's pkgconfig/memgate.pc.
    destdir = os.path.join(a.work, "destdir")
    shutil.rmtree(destdir, ignore_errors=True)
    env = clean_env()
    env["DESTDIR"] = destdir
    run([a.cmake, "--install", a.build_dir, "--prefix", "/usr", "--config", a.config], env=env)
    pc = open(os.path.join(destdir, "usr", a.libdir, "pkgconfig", "memgate.pc")).read()
    check(re.search(r"^prefix=/usr$", pc, re.M), "memgate.pc in DESTDIR/usr: prefix\n" + pc)
    check(re.search(r"^Libs: -L\$\{libdir\} -lmemgate$", pc, re.M),
          "memgate.pc installed in /usr: Libs must not carry an rpath\n" + pc)

    shutil.rmtree(ctx.prefix, ignore_errors=True)
    run([a.cmake, "--install", a.build_dir, "--prefix", ctx.prefix, "--config", a.config])

    v = a.version
    major = v.split(".")[0]
    expected = [
        os.path.join(ctx.bindir, "memgate"),
        os.path.join(ctx.libdir, "libmemgate.so"),
        os.path.join(ctx.libdir, "libmemgate.so." + major),
        os.path.join(ctx.libdir, "libmemgate.so." + v),
        os.path.join(ctx.libdir, "libmemgate-symbolize.so." + major),
        os.path.join(ctx.libdir, "pkgconfig", "memgate.pc"),
    ] + [os.path.join(ctx.libdir, "cmake", "memgate", f) for f in
         ("memgateConfig.cmake", "memgateConfigVersion.cmake", "memgateTargets.cmake",
          "MemgateDiscover.cmake")]
    for f in expected:
        check(os.path.isfile(f), "not installed: " + os.path.relpath(f, ctx.prefix))
    check(os.access(os.path.join(ctx.bindir, "memgate"), os.X_OK), "bin/memgate is not executable")
    cmdir = os.path.join(ctx.libdir, "cmake", "memgate")
    check(any(re.match(r"memgateTargets-.+\.cmake$", f) for f in os.listdir(cmdir)),
          "no per-configuration memgateTargets-*.cmake")
    targets = open(os.path.join(cmdir, "memgateTargets.cmake")).read()
    for t in ("memgate::memgate", "memgate::cli"):
        check(t in targets, "memgateTargets.cmake does not define " + t)
    # The headers of include/memgate, no more and no fewer.
    src_h = sorted(os.listdir(os.path.join(a.source_dir, "include", "memgate")))
    inst_h = sorted(os.listdir(os.path.join(ctx.incdir, "memgate")))
    check(src_h == inst_h and "memgate.h" in inst_h,
          "installed headers %s, expected %s" % (inst_h, src_h))

    pc = open(os.path.join(ctx.libdir, "pkgconfig", "memgate.pc")).read()
    check(re.search(r"^prefix=%s$" % re.escape(ctx.prefix), pc, re.M),
          "memgate.pc does not name the install prefix:\n" + pc)
    check(re.search(r"^Version: %s$" % re.escape(v), pc, re.M), "memgate.pc version")
    # Outside the system directories the library is found through the rpath memgate.pc
    # hands to the linker (see the pkgconfig test for a program built that way).
    check(re.search(r"^Libs: -L\$\{libdir\} -Wl,-rpath,\$\{libdir\} -lmemgate$", pc, re.M),
          "memgate.pc in %s: Libs without -Wl,-rpath,${libdir}\n%s" % (ctx.prefix, pc))

    check_templates(ctx)

    # The installed CLI finds PREFIX/<libdir>/libmemgate.so.0 on its own (no
    # MEMGATE_LIBRARY), lists a CUnit program and runs one of its tests.
    memgate = os.path.join(ctx.bindir, "memgate")
    r = run([memgate, "--version"])
    check(v in r.out, "memgate --version: " + r.out)
    r = run([memgate, "list", a.names_binary])
    lines = r.out.splitlines()
    check(len(lines) == 11 and "glob/star*\t" + a.names_binary in lines and
          "glob/inactive (inactive)\t" + a.names_binary in lines,
          "installed memgate list:\n" + r.out)
    r = run([memgate, "run", "-k", "glob/star\\*", a.names_binary])
    check("1 passed" in r.out and "starlet" not in r.out, "installed memgate run -k:\n" + r.out)
    return 0


def check_templates(ctx):
    """The CI templates are installed under <datadir>/memgate/templates/: every file of the
    source tree's templates/ but the HTML report's page (compiled into the CLI), with the
    same layout and modes, and the installed gate script runs with the installed CLI."""
    a = ctx.a
    src = os.path.join(a.source_dir, "templates")
    inst = os.path.join(ctx.datadir, "memgate", "templates")
    check(os.path.isdir(inst), "not installed: %s" % os.path.relpath(inst, ctx.prefix))

    def files(root):
        return sorted(os.path.relpath(os.path.join(d, f), root)
                      for d, _, fs in os.walk(root) for f in fs)

    want = [f for f in files(src) if f != "report.html"]
    got = files(inst)
    check(got == want, "installed templates %s, expected %s" % (got, want))
    for f in want:
        mode_src = os.stat(os.path.join(src, f)).st_mode & 0o111
        mode_inst = os.stat(os.path.join(inst, f)).st_mode & 0o111
        check(bool(mode_src) == bool(mode_inst), "installed %s: executable bit differs" % f)
    for f in ("memgate-gate.sh", "github/action.yml", "github/memgate-workflow.yml",
              "gitlab/memgate.gitlab-ci.yml", "pre-commit/memgate-precommit.sh"):
        check(f in got, "not installed: share/memgate/templates/" + f)
    # action.yml runs $GITHUB_ACTION_PATH/../memgate-gate.sh: the layout keeps it there.
    action = open(os.path.join(inst, "github", "action.yml")).read()
    m = re.search(r"\$GITHUB_ACTION_PATH/(\S+?memgate-gate\.sh)", action)
    check(m and os.access(os.path.normpath(os.path.join(inst, "github", m.group(1))), os.X_OK),
          "installed action.yml does not find its gate script")

    # The installed gate script, with the installed memgate on PATH (no MEMGATE_CLI).
    reports = os.path.join(a.work, "gate-reports")
    shutil.rmtree(reports, ignore_errors=True)
    env = {k: v for k, v in clean_env().items()
           if not k.startswith(("MEMGATE_", "GITHUB_", "CI_NODE_", "TEST_", "GTEST_"))}
    env.update(PATH=ctx.bindir + os.pathsep + env.get("PATH", ""), MEMGATE_JOBS="2",
               MEMGATE_BUILD_DIR=os.path.dirname(a.names_binary),
               MEMGATE_BINARIES=a.names_binary, MEMGATE_REPORT_DIR=reports)
    r = run(["bash", os.path.join(inst, "memgate-gate.sh")], env=env)
    for f in ("memgate.junit.xml", "memgate.json", "memgate.html", "memgate.log"):
        check(os.path.isfile(os.path.join(reports, f)), "installed gate script wrote no " + f)
    doc = json.load(open(os.path.join(reports, "memgate.json")))
    check(len(doc["tests"]) == 11, "installed gate script: %d tests in its report" % len(doc["tests"]))


# ---- consumer -------------------------------------------------------------------------
CONSUMER_TESTS = ["text/upper_copy", "text/split_words", "cache/intern_keeps_strings",
                  "cache/intern_reuses"]


def cmd_consumer(ctx):
    a = ctx.a
    root = os.path.join(a.work, "consumer")
    src, build = os.path.join(root, "src"), os.path.join(root, "build")
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(os.path.join(a.source_dir, "docs", "examples", "consumer"), src)
    ctx.configure(src, build)
    ctx.build(build)

    # Discovery ran at build time (POST_BUILD, the default).
    lists = [f for f in os.listdir(build) if re.match(r"consumer_tests_memgate\d+_list.*\.txt$", f)]
    check(lists, "no test list after the build (POST_BUILD discovery did not run)")

    # The test program is an ordinary CUnit program: it runs without memgate.
    exe = os.path.join(build, "consumer_tests")
    r = run([exe])
    check(re.search(r"tests\s+4\s+4\s+4\s+0", r.out), "plain run of consumer_tests:\n" + r.out)

    names = ["consumer." + t for t in CONSUMER_TESTS]
    listed = [t["name"] for t in show_only(ctx, build)]
    check(listed == names, "registered tests %s, expected %s" % (listed, names))

    # All four pass: the leaking ones because budgets.json allows cache/*.
    junit = os.path.join(root, "junit-all.xml")
    r = ctx.ctest(build, "-j4", "--output-junit", junit)
    cases = junit_cases(junit)
    check(cases == {n: "pass" for n in names}, "ctest results %s" % cases)

    reports = os.path.join(build, "memgate-reports")
    docs = {}
    for f in os.listdir(reports):
        d = json.load(open(os.path.join(reports, f)))
        check(len(d["tests"]) == 1, "%s holds %d tests, expected 1" % (f, len(d["tests"])))
        t = d["tests"][0]
        docs[t["suite"] + "/" + t["name"]] = t
    check(sorted(docs) == sorted(CONSUMER_TESTS), "JSON reports for %s" % sorted(docs))
    leak = docs["cache/intern_keeps_strings"]
    check(leak["status"] == "pass" and leak["leaked_bytes"] == 17 and leak["object_growth"] == 3,
          "cache/intern_keeps_strings: %s" % leak)
    check(leak["budget"]["leak_bytes"]["source"] == "file-test", "leak budget source %s" % leak["budget"])
    ann = docs["text/split_words"]["budget"]["peak_bytes"]
    check(ann["source"] == "annotation" and ann["value"] == 4096, "split_words peak budget %s" % ann)

    # -R selects CTest tests, each running one memgate test.
    junit = os.path.join(root, "junit-text.xml")
    ctx.ctest(build, "-R", "text/", "--output-junit", junit)
    cases = junit_cases(junit)
    check(sorted(cases) == ["consumer.text/split_words", "consumer.text/upper_copy"], "-R text/: %s" % cases)

    # Without the budgets file entry the deliberate leaks fail, and only they do.
    with open(os.path.join(src, "budgets.json"), "w") as f:
        json.dump({"defaults": {"leak_bytes": 0, "object_growth": 0}}, f)
    junit = os.path.join(root, "junit-nobudget.xml")
    r = ctx.ctest(build, "-j4", "--output-on-failure", "--output-junit", junit, expect=8)
    cases = junit_cases(junit)
    want = {n: ("fail" if "/intern" in n else "pass") for n in names}
    check(cases == want, "without the cache/* budget: %s, expected %s" % (cases, want))
    check("leak 17 B > budget 0 B" in r.out, "the failure does not show the leak:\n" + r.out)
    return 0


# ---- pkgconfig ------------------------------------------------------------------------
def cmd_pkgconfig(ctx):
    a = ctx.a
    root = os.path.join(a.work, "pkgconfig")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    env = clean_env()
    env["PKG_CONFIG_PATH"] = os.path.join(ctx.libdir, "pkgconfig")

    def pkg(*args):
        return run([a.pkg_config, *args], env=env).out.strip()

    check(pkg("--modversion", "memgate") == a.version, "pkg-config --modversion")
    check(pkg("--variable=prefix", "memgate") == ctx.prefix, "pkg-config prefix")
    cflags = pkg("--cflags", "memgate").split()
    libs = pkg("--libs", "memgate").split()
    libdir = pkg("--variable=libdir", "memgate")
    check(os.path.realpath(libdir) == os.path.realpath(ctx.libdir), "pkg-config libdir " + libdir)
    check("-I" + ctx.incdir in cflags, "pkg-config --cflags memgate: %s" % cflags)
    check("-L" + ctx.libdir in libs and "-lmemgate" in libs, "pkg-config --libs memgate: %s" % libs)
    check("-Wl,-rpath," + ctx.libdir in libs, "pkg-config --libs memgate has no rpath: %s" % libs)
    check("LD_LIBRARY_PATH" not in env, "LD_LIBRARY_PATH is set")

    cunit = ["-lcunit"]
    if run([a.pkg_config, "--exists", "cunit"], env=env, expect=None).returncode == 0:
        cunit = pkg("--cflags", "--libs", "cunit").split()
    src = os.path.join(a.source_dir, "docs", "examples", "consumer")
    exe = os.path.join(root, "consumer_tests")
    # Nothing but what pkg-config says (and CUnit): no hand-made rpath.
    run([a.cc, "-std=c11", "-g", "-o", exe, os.path.join(src, "consumer_tests.c"), *cflags, *libs,
         *cunit], env=env)

    # Plainly: an ordinary CUnit run, linked to the installed libmemgate, found through
    # the rpath from memgate.pc (no LD_LIBRARY_PATH in clean_env()).
    r = run([exe])
    check(re.search(r"tests\s+4\s+4\s+4\s+0", r.out), "plain run:\n" + r.out)
    r = run(["ldd", exe])
    check(re.search(r"libmemgate\.so\.\d+ => %s/" % re.escape(ctx.libdir), r.out),
          "libmemgate does not resolve into the prefix:\n" + r.out)
    # Under the installed memgate: the budgets file decides.
    memgate = os.path.join(ctx.bindir, "memgate")
    r = run([memgate, "run", "--budgets", os.path.join(src, "budgets.json"), exe])
    check("4 passed, 0 failed" in r.out, "memgate run with budgets:\n" + r.out)
    report = os.path.join(root, "memgate.json")
    r = run([memgate, "run", "--json", report, exe], expect=1)
    check("2 passed, 2 failed" in r.out, "memgate run without budgets:\n" + r.out)
    tests = {t["suite"] + "/" + t["name"]: t for t in json.load(open(report))["tests"]}
    leak = tests.get("cache/intern_keeps_strings", {})
    check(leak.get("status") == "fail" and leak.get("leaked_bytes") == 17 and
          leak.get("object_growth") == 3, "measured cache/intern_keeps_strings: %s" % leak)
    return 0


# ---- modes ----------------------------------------------------------------------------
NAMES = ["glob/star*", "glob/starlet", "glob/what?", "glob/bracket[1]", "glob/back\\slash",
         "glob/inactive", "odd names/with space", "odd names/semi;colon", 'odd names/quote"d',
         "odd names/dollar${x}", "odd names/slash/inside"]


def cmd_modes(ctx):
    a = ctx.a
    src = os.path.join(a.source_dir, "tests", "integration", "names")
    seen = {}
    for mode in ("POST_BUILD", "PRE_TEST"):
        build = os.path.join(a.work, "modes", mode)
        ctx.configure(src, build, "-DMEMGATE_DISCOVER_TESTS_DISCOVERY_MODE=" + mode)
        ctx.build(build)
        listed = [f for f in os.listdir(build) if re.match(r"names_memgate\d+_list.*\.txt$", f)]
        if mode == "POST_BUILD":
            check(listed, "POST_BUILD: no test list after the build")
        else:
            check(not listed, "PRE_TEST: the tests were listed at build time")
        tests = show_only(ctx, build)
        if mode == "PRE_TEST":
            check(any(re.match(r"names_memgate\d+_list.*\.txt$", f) for f in os.listdir(build)),
                  "PRE_TEST: ctest did not list the tests")

        want = ["names: %s [memgate]" % n for n in NAMES]
        check([t["name"] for t in tests] == want,
              "%s: registered %s, expected %s" % (mode, [t["name"] for t in tests], want))
        binary = os.path.join(build, "names")
        for t, n in zip(tests, NAMES):
            cmd, p = t["command"], props(t)
            k = cmd.index("-k")
            check(cmd[1] == "run" and cmd[k + 1] == fnmatch_escape(n) and cmd[-1] == binary,
                  "%s: command of %s: %s" % (mode, n, cmd))
            check(cmd[k + 2:k + 6] == ["--peak", "1 MiB", "--timeout", "30"],
                  "%s: MEMGATE_ARGS of %s: %s" % (mode, n, cmd))
            check(p.get("LABELS") == ["memgate", "names"] and
                  p.get("ENVIRONMENT") == ["MG_NAMES_A=1", "MG_NAMES_B=two words"],
                  "%s: properties of %s: %s" % (mode, n, p))
            check(bool(p.get("DISABLED")) == (n == "glob/inactive"), "%s: DISABLED of %s" % (mode, n))
        seen[mode] = json.dumps(tests).replace(build, "<BUILD>")

        junit = os.path.join(a.work, "modes", mode + ".junit.xml")
        ctx.ctest(build, "-j4", "--output-junit", junit)
        cases = junit_cases(junit)
        check(cases == {w: ("disabled" if "inactive" in w else "pass") for w in want},
              "%s: ctest results %s" % (mode, cases))
        # Each test's report holds that test and no other: the pattern selects only it.
        for t, n in zip(tests, NAMES):
            if n == "glob/inactive":
                continue
            cmd = t["command"]
            report = json.load(open(cmd[cmd.index("--json") + 1]))
            got = [x["suite"] + "/" + x["name"] for x in report["tests"]]
            check(got == [n], "%s: the report of %s holds %s" % (mode, n, got))
    check(seen["POST_BUILD"] == seen["PRE_TEST"], "POST_BUILD and PRE_TEST register different tests")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["install", "consumer", "pkgconfig", "modes"])
    for opt in ("cmake", "ctest", "generator", "build-dir", "source-dir", "work", "config",
                "libdir", "bindir", "includedir", "datadir", "version", "cc", "pkg-config",
                "names-binary"):
        p.add_argument("--" + opt, required=True)
    a = p.parse_args()
    a.work = os.path.abspath(a.work)
    os.makedirs(a.work, exist_ok=True)
    ctx = Ctx(a)
    if a.command != "install" and not os.path.isfile(os.path.join(ctx.bindir, "memgate")):
        print("FAIL: nothing installed in %s (integration.install runs first)" % ctx.prefix)
        return 1
    try:
        rc = globals()["cmd_" + a.command](ctx)
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    print("skipped" if rc == SKIP else "ok")
    return rc


if __name__ == "__main__":
    sys.exit(main())
