#!/usr/bin/env python3
"""A new user's set-up path (driver for tests/integration; Python 3, PyYAML for ci-install).

Subcommands, one ctest test each (integration.setup.*):
  packages    ci/deps.sh with stand-ins for dpkg-query, apt-get, sudo and id: as root
              apt-get runs without sudo, as a user through sudo, without sudo the script
              stops and names the packages; installed packages are skipped (nothing
              missing: no apt-get, no sudo); the package lists split into what building
              memgate needs and what only its tests use
  scripts     ci/demo.sh installs MG_RUNTIME_PACKAGES only, ci/test.sh MG_BUILD_PACKAGES;
              both announce each step and let cmake's and the build's own lines through
              (a stand-in cmake stops them at the build), with CI=true and no stdin
  readme      the README's opening commands need no sudo (root containers) and say how
              to run them with sudo; it names the demo's HTML report and the installed
              templates
  ci-install  the GitHub example workflow and the GitLab job template install memgate
              (the runtime packages, a clone of the pinned release, cmake --install)
              before the gate runs: checked, and run with stand-in commands
  demo        ci/demo.sh for real on this build tree: the HTML, JUnit and JSON reports
              are written and their paths printed

Exit status 0 = pass, 1 = a check failed, 77 = skipped (ctest SKIP_RETURN_CODE).
"""
import argparse
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import pylib  # noqa: E402

SKIP = 77

# What only memgate's own tests use: none of it belongs to the demo's packages.
TEST_ONLY_TOOLS = ("chromium", "groff-base", "man-db", "python3-jsonschema", "python3-yaml",
                   "libxml2-utils", "clang", "libclang-rt-14-dev", "git", "time")
# The Debian packages of what CMakeLists.txt finds: the build cannot do without them.
BUILD_NEEDS = ("build-essential", "cmake", "pkg-config", "libcunit1-dev", "libunwind-dev",
               "libcjson-dev", "libdw-dev", "libelf-dev")
# Packages a CI install may add to MG_RUNTIME_PACKAGES (for the clone).
CI_EXTRA = {"git", "ca-certificates"}


class Checks(pylib.Checks):
    """pylib.Checks that names its work directory in the summary (done()) and shows at
    most 2,000 characters of a text that lacks a needle."""

    def __init__(self, work):
        super().__init__()
        self.work = work

    def has(self, text, needle, what):
        shown = text if text is None or len(text) < 2000 else text[:2000] + "\n[...]"
        return self.ok(text is not None and needle in text, "%s: %r not in:\n%s" % (what, needle, shown))

    def done(self):
        return self.finish_kept(self.work)


def base_env(**extra):
    """The environment of a script run: nothing that steers the scripts (their own
    settings, a preload, a build of the caller), plus extra."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MG_", "MEMGATE_", "GITHUB_", "CI_", "RUNNER_"))
           and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "LD_PRELOAD", "LD_LIBRARY_PATH",
                         "CTEST_PARALLEL_LEVEL", "DESTDIR", "SUDO")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(argv, env, cwd, timeout=120):
    p = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return p.returncode, p.stdout


def write_exe(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class Stubs:
    """Stand-in commands that append their command line to LOG:
       common/  dpkg-query (installed = $MG_FAKE_INSTALLED), apt-get, id (-u = $MG_FAKE_UID),
                git (clone creates its directory), cmake (configure prints a line;
                --build prints a progress line, then exits $MG_FAKE_BUILD_RC; --install
                puts a memgate stand-in into late/), and the real grep and env
       sudo/    sudo (logs, then runs its arguments)
       late/    empty until the stand-in cmake --install; memgate/ holds a memgate stand-in
    """

    def __init__(self, root):
        shutil.rmtree(root, ignore_errors=True)
        self.root = root
        self.log = os.path.join(root, "log")
        self.common = os.path.join(root, "common")
        self.sudo = os.path.join(root, "sudo")
        self.late = os.path.join(root, "late")
        self.memgate = os.path.join(root, "memgate")
        for d in (self.common, self.sudo, self.late, self.memgate):
            os.makedirs(d)
        open(self.log, "w").close()
        logline = 'printf "%%s\\n" "%s $*" >> "$MG_FAKE_LOG"\n'
        write_exe(os.path.join(self.common, "dpkg-query"), "#!/bin/sh\n" + logline % "dpkg-query" + """
for last; do :; done
for p in $MG_FAKE_INSTALLED; do
    if [ "$p" = "$last" ]; then printf 'install ok installed'; exit 0; fi
done
echo "dpkg-query: no packages found matching $last" >&2
exit 1
""")
        write_exe(os.path.join(self.common, "apt-get"),
                  "#!/bin/sh\n" + logline % "apt-get[${DEBIAN_FRONTEND:-}]")
        real_id = shutil.which("id") or "/usr/bin/id"
        write_exe(os.path.join(self.common, "id"), """#!/bin/sh
if [ "$1" = -u ]; then echo "${MG_FAKE_UID:-0}"; exit 0; fi
exec %s "$@"
""" % shlex.quote(real_id))
        write_exe(os.path.join(self.common, "git"), "#!/bin/sh\n" + logline % "git" + """
if [ "$1" = clone ]; then for last; do :; done; mkdir -p "$last"; fi
""")
        memgate_stub = "#!/bin/sh\n" + logline % "memgate"
        write_exe(os.path.join(self.memgate, "memgate"), memgate_stub)
        write_exe(os.path.join(self.common, "cmake"), "#!/bin/sh\n" + logline % "cmake" + """
case "$1" in
    --build) echo "[ 50%%] Building C object stand-in.c.o"; exit "${MG_FAKE_BUILD_RC:-0}" ;;
    --install) cp %s %s/memgate ;;
    *) echo "-- Configuring done (stand-in cmake)" ;;
esac
""" % (shlex.quote(os.path.join(self.memgate, "memgate")), shlex.quote(self.late)))
        write_exe(os.path.join(self.sudo, "sudo"), "#!/bin/sh\n" + logline % "sudo" + 'exec "$@"\n')
        for tool in ("grep", "env"):
            os.symlink(shutil.which(tool), os.path.join(self.common, tool))

    def reset(self):
        open(self.log, "w").close()
        for f in os.listdir(self.late):
            os.remove(os.path.join(self.late, f))

    def lines(self):
        with open(self.log) as f:
            return [l.rstrip("\n") for l in f if not l.startswith("dpkg-query ")]

    def env(self, path, uid=0, installed=(), **extra):
        return base_env(PATH=os.pathsep.join(path), MG_FAKE_LOG=self.log, MG_FAKE_UID=uid,
                        MG_FAKE_INSTALLED=" ".join(installed), **extra)


def bash():
    return shutil.which("bash") or "/bin/bash"


def deps_lists(src):
    """The package arrays of ci/deps.sh, as bash sees them."""
    out = {}
    for name in ("MG_RUNTIME_PACKAGES", "MG_TEST_PACKAGES", "MG_BUILD_PACKAGES"):
        p = subprocess.run([bash(), "-c", '. ci/deps.sh; printf "%%s\\n" "${%s[@]}"' % name],
                           cwd=src, stdout=subprocess.PIPE, text=True, check=True)
        out[name] = p.stdout.split()
    return out


def install_args(line):
    """The package names of an 'apt-get[...] install ...' log line."""
    words = line.split()
    i = words.index("install")
    return [w for w in words[i + 1:] if not w.startswith("-")]


# ---- packages --------------------------------------------------------------------------
def cmd_packages(a, c):
    lists = deps_lists(a.source_dir)
    rt, tst, build = lists["MG_RUNTIME_PACKAGES"], lists["MG_TEST_PACKAGES"], lists["MG_BUILD_PACKAGES"]
    c.ok(rt and tst, "deps.sh: empty package lists %s" % lists)
    c.eq(build, rt + tst, "MG_BUILD_PACKAGES is MG_RUNTIME_PACKAGES followed by MG_TEST_PACKAGES")
    c.eq(sorted(set(rt) & set(tst)), [], "packages in both MG_RUNTIME_PACKAGES and MG_TEST_PACKAGES")
    c.eq(len(set(build)), len(build), "MG_BUILD_PACKAGES without duplicates")
    for p in BUILD_NEEDS:
        c.ok(p in rt, "MG_RUNTIME_PACKAGES lacks %s, which building memgate needs" % p)
    for p in TEST_ONLY_TOOLS:
        c.ok(p not in rt, "MG_RUNTIME_PACKAGES holds the test-only %s" % p)
        c.ok(p in tst, "MG_TEST_PACKAGES lacks %s" % p)

    s = Stubs(os.path.join(a.work, "stubs"))
    pkgs = ["pkg-a", "pkg-b", "pkg-c"]

    def ensure(path, uid, installed=(), **extra):
        s.reset()
        env = s.env(path, uid=uid, installed=installed, **extra)
        rc, out = run([bash(), "-c", 'set -euo pipefail; . ci/deps.sh; mg_ensure_packages "$@"',
                       "_", *pkgs], env, a.source_dir)
        return rc, out, s.lines()

    alone, with_sudo = [s.common], [s.common, s.sudo]
    # Root (a container without sudo): apt-get itself, only the missing packages.
    rc, out, log = ensure(alone, 0, installed=["pkg-b"])
    c.eq(rc, 0, "as root: exit status (output: %s)" % out)
    c.eq(log, ["apt-get[noninteractive] update -q",
               "apt-get[noninteractive] install -y -q --no-install-recommends pkg-a pkg-c"],
         "as root without sudo: commands")
    c.has(out, "pkg-a pkg-c", "as root: the packages being installed are named")
    # Root with a sudo on PATH (`sudo ci/demo.sh`): sudo is not used.
    rc, out, log = ensure(with_sudo, 0)
    c.ok(rc == 0 and log and not any(l.startswith("sudo") for l in log),
         "as root with sudo present: no sudo (%d, %s)" % (rc, log))
    # A user with sudo: apt-get through sudo.
    rc, out, log = ensure(with_sudo, 1000, installed=["pkg-a"])
    c.eq(rc, 0, "as a user with sudo: exit status (output: %s)" % out)
    c.eq([l for l in log if l.startswith("sudo")],
         ["sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q",
          "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends pkg-b pkg-c"],
         "as a user with sudo: sudo commands")
    c.eq(len([l for l in log if l.startswith("apt-get")]), 2, "as a user with sudo: apt-get runs")
    # A user without sudo: stop, name the packages, run nothing.
    rc, out, log = ensure(alone, 1000, installed=["pkg-c"])
    c.eq(rc, 1, "as a user without sudo: exit status")
    c.eq(log, [], "as a user without sudo: commands")
    c.has(out, "pkg-a pkg-b", "as a user without sudo: the missing packages are named")
    # Everything installed: nothing runs, no sudo needed (idempotent).
    rc, out, log = ensure(alone, 1000, installed=pkgs)
    c.eq((rc, log), (0, []), "everything installed, as a user without sudo")
    # MG_SKIP_PACKAGES=1: not even checked.
    rc, out, log = ensure(alone, 1000, MG_SKIP_PACKAGES=1)
    c.eq((rc, log), (0, []), "MG_SKIP_PACKAGES=1")


# ---- scripts ---------------------------------------------------------------------------
def step_lines(out):
    return [l for l in out.splitlines() if re.match(r"== \[\d+/\d+\] ", l)]


def cmd_scripts(a, c):
    lists = deps_lists(a.source_dir)
    s = Stubs(os.path.join(a.work, "stubs"))
    path = [s.common, s.sudo, "/usr/bin", "/bin"]
    for script, want_pkgs, nsteps in (("ci/demo.sh", lists["MG_RUNTIME_PACKAGES"], 4),
                                      ("ci/test.sh", lists["MG_BUILD_PACKAGES"], 7)):
        s.reset()
        build = os.path.join(a.work, "demo-build")
        shutil.rmtree(build, ignore_errors=True)
        env = s.env(path, uid=0, CI="true", MG_FAKE_BUILD_RC=97, MG_BUILD_DIR=build,
                    MG_REPORT_DIR=os.path.join(a.work, "reports"))
        rc, out = run([bash(), script], env, a.source_dir)
        log = s.lines()
        c.eq(rc, 97, "%s stops where the stand-in build fails (output:\n%s)" % (script, out))
        installs = [l for l in log if " install " in l and l.startswith("apt-get")]
        if c.eq(len(installs), 1, "%s: apt-get install runs once (log %s)" % (script, log)):
            c.eq(install_args(installs[0]), want_pkgs, "%s: the packages it installs" % script)
        c.ok(not any(l.startswith("sudo") for l in log), "%s as root uses no sudo: %s" % (script, log))
        # Progress: a numbered header before each step, and cmake's own lines shown.
        steps = step_lines(out)
        c.ok(len(steps) >= 2 and all(("[%d/%d]" % (i + 1, nsteps)) in l for i, l in enumerate(steps)),
             "%s: step headers [1/%d], [2/%d], ... in order: %s" % (script, nsteps, nsteps, steps))
        conf = out.find("-- Configuring done (stand-in cmake)")
        prog = out.find("[ 50%] Building C object stand-in.c.o")
        c.ok(conf >= 0, "%s: cmake's configure output is hidden:\n%s" % (script, out))
        c.ok(prog >= 0, "%s: the build's progress lines are hidden:\n%s" % (script, out))
        head2 = out.find(steps[1]) if len(steps) > 1 else -1
        c.ok(0 <= head2 < conf, "%s: step 2 is announced before cmake runs" % script)
        if script == "ci/demo.sh":
            confs = [l for l in log if l.startswith("cmake -S")]
            c.ok(confs and ("-B " + build) in confs[0], "demo.sh configures MG_BUILD_DIR: %s" % confs)
            builds = [l for l in log if l.startswith("cmake --build")]
            c.ok(builds and "fixture_leaky" in builds[0] and "memgate_cli" in builds[0],
                 "demo.sh builds the CLI and the example suites: %s" % builds)
            # A configured build directory is not configured again.
            s.reset()
            os.makedirs(build, exist_ok=True)
            open(os.path.join(build, "CMakeCache.txt"), "w").close()
            rc, out = run([bash(), script], env, a.source_dir)
            log = s.lines()
            c.ok(rc == 97 and not any(l.startswith("cmake -S") for l in log),
                 "demo.sh with a configured MG_BUILD_DIR configures it again: %s" % log)


# ---- readme ----------------------------------------------------------------------------
def cmd_readme(a, c):
    text = open(os.path.join(a.source_dir, "README.md"), encoding="utf-8").read()
    # The opening block, and the text after it up to the next heading or bold paragraph.
    m = re.search(r"```sh\n(.*?)```\n(.*?)\n(?:#|\*\*)", text, re.S)
    if not c.ok(m, "README: no opening ```sh block"):
        return
    block, after = m.group(1), m.group(2)
    cmds = [l.split("#")[0].strip() for l in block.splitlines()]
    cmds = [l for l in cmds if l]
    c.eq([l.split()[0] for l in cmds[:2]], ["ci/demo.sh", "ci/test.sh"],
         "README: the opening commands (they must run as root, where there is no sudo)")
    c.ok(not any(l.startswith("sudo") for l in cmds), "README: an opening command needs sudo: %s" % cmds)
    words = (block + after).lower()
    for w in ("root", "sudo ci/demo.sh"):
        c.has(words, w, "README: the set-up says how to run the scripts")
    for script in ("ci/demo.sh", "ci/test.sh"):
        c.ok(os.access(os.path.join(a.source_dir, script), os.X_OK), "%s is not executable" % script)
    c.has(block + after, "reports/memgate.html", "README: the set-up names the demo's HTML report")
    c.has(text, "share/memgate/templates", "README: where the templates are installed")


# ---- ci-install ------------------------------------------------------------------------
def check_install_log(c, what, log, runtime, version, repo, want_extra=()):
    """The commands of one memgate install, in order: apt-get install of the runtime
    packages, a clone of the pinned release, configure without tests, build, install,
    memgate --version."""
    def first(prefix):
        for i, l in enumerate(log):
            if l.startswith(prefix):
                return i, l
        c.ok(False, "%s: no '%s' in %s" % (what, prefix, log))
        return None, ""

    i_apt, apt = next(((i, l) for i, l in enumerate(log) if l.startswith("apt-get[") and " install " in l),
                      (None, ""))
    c.ok(apt, "%s: no apt-get install in %s" % (what, log))
    pkgs = install_args(apt) if apt else []
    c.eq(sorted(set(runtime) - set(pkgs)), [], "%s: MG_RUNTIME_PACKAGES not installed" % what)
    c.eq(sorted(set(pkgs) - set(runtime) - CI_EXTRA), [], "%s: packages beyond MG_RUNTIME_PACKAGES" % what)
    for p in want_extra:
        c.ok(p in pkgs, "%s: %s is not installed (the clone needs it)" % (what, p))
    i_clone, clone = first("git clone")
    words = clone.split()
    c.ok("--branch" in words and words[words.index("--branch") + 1] == "v" + version,
         "%s: the clone is not pinned to v%s: %s" % (what, version, clone))
    c.ok(repo in words, "%s: the clone is not of %s: %s" % (what, repo, clone))
    dest = words[-1] if words else ""
    i_conf, conf = first("cmake -S")
    cw = conf.split()
    c.ok(len(cw) > 4 and cw[2] == dest and cw[3] == "-B", "%s: cmake -S is not the clone %s: %s" % (what, dest, conf))
    bdir = cw[4] if len(cw) > 4 else None
    c.ok("-DMEMGATE_BUILD_TESTS=OFF" in cw, "%s: memgate's tests are built: %s" % (what, conf))
    i_build, build = first("cmake --build")
    c.ok(build.split()[2:3] == [bdir], "%s: cmake --build is not %s: %s" % (what, bdir, build))
    i_inst, inst = first("cmake --install")
    c.ok(inst.split()[2:3] == [bdir], "%s: cmake --install is not %s: %s" % (what, bdir, inst))
    i_ver, _ = first("memgate --version")
    order = [i_apt, i_clone, i_conf, i_build, i_inst, i_ver]
    c.ok(None not in order and order == sorted(order), "%s: commands out of order: %s" % (what, log))
    return conf


def cmake_options(src):
    text = open(os.path.join(src, "CMakeLists.txt")).read()
    return set(re.findall(r"^option\((\w+)", text, re.M))


def cmd_ci_install(a, c):
    try:
        import yaml
    except ImportError:
        if os.environ.get("CI"):
            c.ok(False, "PyYAML is missing: install python3-yaml (ci/deps.sh)")
            return
        print("skipped: PyYAML is missing (python3-yaml)")
        return SKIP
    runtime = deps_lists(a.source_dir)["MG_RUNTIME_PACKAGES"]
    options = cmake_options(a.source_dir)
    s = Stubs(os.path.join(a.work, "stubs"))
    tpl = os.path.join(a.source_dir, "templates")

    def check_defs(what, conf):
        for d in re.findall(r"-D(\w+)=", conf):
            c.ok(d.startswith("CMAKE_") or d in options, "%s: -D%s is no option of memgate" % (what, d))

    # GitHub: the example workflow installs memgate in a step before the gate action.
    wf = yaml.safe_load(open(os.path.join(tpl, "github", "memgate-workflow.yml")))
    jobs = list((wf.get("jobs") or {}).values())
    if c.eq(len(jobs), 1, "github workflow: jobs"):
        steps = jobs[0].get("steps") or []
        gate = [i for i, st in enumerate(steps) if re.search(r"/templates/github@", str(st.get("uses", "")))]
        inst = [i for i, st in enumerate(steps) if "cmake --install" in str(st.get("run", ""))]
        if c.eq(len(gate), 1, "github workflow: steps using the gate action") and \
                c.eq(len(inst), 1, "github workflow: steps installing memgate"):
            c.ok(inst[0] < gate[0], "github workflow: memgate is installed after the gate runs")
            c.eq(steps[gate[0]]["uses"].split("@")[1], "v" + a.version, "github workflow: gate action ref")
            st = steps[inst[0]]
            env = {k: str(v) for k, v in (st.get("env") or {}).items()}
            c.eq(env.get("MEMGATE_VERSION"), "v" + a.version, "github workflow: MEMGATE_VERSION")
            c.ok("${{" not in st["run"], "github workflow: expressions in the install step")
            c.eq(st.get("shell"), "bash", "github workflow: install step shell")
            # As GitHub runs it: bash -eo pipefail, as a user with sudo, memgate not yet
            # on PATH.
            s.reset()
            temp = os.path.join(a.work, "runner-temp")
            shutil.rmtree(temp, ignore_errors=True)
            os.makedirs(temp)
            senv = s.env([s.common, s.sudo, s.late, "/usr/bin", "/bin"], uid=1001,
                         RUNNER_TEMP=temp, **env)
            rc, out = run([bash(), "--noprofile", "--norc", "-eo", "pipefail", "-c", st["run"]],
                          senv, a.work)
            log = s.lines()
            c.eq(rc, 0, "github workflow: install step exit status (output:\n%s)" % out)
            # The sudo stand-in logs its command line, then the command logs its own.
            conf = check_install_log(c, "github workflow", [l for l in log if not l.startswith("sudo ")],
                                     runtime, a.version, env.get("MEMGATE_REPOSITORY", "?"))
            check_defs("github workflow", conf)
            c.ok(any(l.startswith("sudo cmake --install") for l in log) and
                 any(l.startswith("sudo apt-get install") for l in log),
                 "github workflow: apt-get install and cmake --install through sudo: %s" % log)

    # GitLab: .memgate extends .memgate-install, whose before_script installs memgate.
    doc = yaml.safe_load(open(os.path.join(tpl, "gitlab", "memgate.gitlab-ci.yml")))
    job = doc.get(".memgate") or {}
    ext = job.get("extends")
    ext = [ext] if isinstance(ext, str) else list(ext or [])
    c.ok(".memgate-install" in ext, "gitlab: .memgate does not extend .memgate-install: %s" % ext)
    inst = doc.get(".memgate-install") or {}
    before = inst.get("before_script") or []
    c.ok(before and isinstance(before, list), "gitlab: .memgate-install has no before_script")
    c.ok("before_script" not in job, "gitlab: .memgate's own before_script replaces the install")
    variables = dict(inst.get("variables") or {})
    c.eq(variables.get("MEMGATE_VERSION"), "v" + a.version, "gitlab: MEMGATE_VERSION")
    variables.update(job.get("variables") or {})
    variables = {k: str(v) for k, v in variables.items()}

    def gitlab_run(uid, path):
        s.reset()
        senv = s.env(path, uid=uid, **variables)
        for line in before:
            rc, out = run([bash(), "-eo", "pipefail", "-c", line], senv, a.work)
            if rc:
                return rc, out, s.lines()
        return 0, "", s.lines()

    base = [s.common, s.sudo, s.late, "/usr/bin", "/bin"]
    for f in ("/usr/local/bin/memgate", "/usr/bin/memgate", "/bin/memgate"):
        if os.path.exists(f):
            print("skipped the GitLab install run: %s exists" % f)
            break
    else:
        # As root in a Docker image: no sudo.
        rc, out, log = gitlab_run(0, base)
        c.eq(rc, 0, "gitlab: before_script as root (output:\n%s)" % out)
        conf = check_install_log(c, "gitlab as root", log, runtime, a.version,
                                 variables.get("MEMGATE_REPOSITORY", "?"), want_extra=("git",))
        check_defs("gitlab", conf)
        c.ok(not any(l.startswith("sudo") for l in log), "gitlab as root uses sudo: %s" % log)
        # As a user (shell runner): apt-get and the install through sudo.
        rc, out, log = gitlab_run(1000, base)
        c.eq(rc, 0, "gitlab: before_script as a user (output:\n%s)" % out)
        c.ok(any(l.startswith("sudo cmake --install") for l in log) and
             any(l.startswith("sudo env DEBIAN_FRONTEND=noninteractive apt-get install") for l in log),
             "gitlab as a user: apt-get install and cmake --install through sudo: %s" % log)
    # An image with memgate installed: nothing is installed.
    rc, out, log = gitlab_run(0, [s.memgate] + base)
    c.eq((rc, log), (0, []), "gitlab: with memgate on PATH, the install is skipped (output: %s)" % out)


# ---- demo ------------------------------------------------------------------------------
def cmd_demo(a, c):
    reports = os.path.join(a.work, "reports")
    shutil.rmtree(reports, ignore_errors=True)
    env = base_env(CI="true", MG_BUILD_DIR=a.build_dir, MG_REPORT_DIR=reports, MG_SKIP_PACKAGES=1)
    rc, out = run([bash(), "ci/demo.sh"], env, a.source_dir, timeout=540)
    print(out)
    c.eq(rc, 0, "ci/demo.sh exit status")
    steps = step_lines(out)
    c.eq(len(steps), 4, "ci/demo.sh: step headers %s" % steps)
    c.has(out, "memgate exited with status 1", "ci/demo.sh: memgate's verdict on the examples")
    files = {"HTML": "memgate.html", "JUnit": "junit.xml", "JSON": "memgate.json"}
    for kind, name in files.items():
        path = os.path.join(reports, name)
        c.ok(re.search(r"^\s*%s\s+%s(\s|$)" % (kind, re.escape(path)), out, re.M),
             "ci/demo.sh does not print the %s report's path %s" % (kind, path))
        c.ok(os.path.isfile(path), "ci/demo.sh wrote no %s" % path)
    try:
        doc = json.load(open(os.path.join(reports, "memgate.json")))
        names = {t["suite"] + "/" + t["name"]: t["status"] for t in doc["tests"]}
    except (OSError, ValueError, KeyError) as e:
        c.ok(False, "the demo's JSON report: %s" % e)
        return
    c.eq(names.get("leaky/cache_unbounded"), "fail", "the demo's JSON: leaky/cache_unbounded")
    c.ok(any(v == "pass" for v in names.values()), "the demo's JSON: no test passed")
    try:
        html = open(os.path.join(reports, "memgate.html"), encoding="utf-8").read()
    except OSError:
        html = ""
    c.has(html.lower(), "<html", "the demo's HTML report")
    c.has(html, "cache_unbounded", "the demo's HTML report names the failing test")
    c.ok(len(html) > 10000, "the demo's HTML report is %d bytes" % len(html))
    try:
        cases = list(ET.parse(os.path.join(reports, "junit.xml")).getroot().iter("testcase"))
    except (OSError, ET.ParseError) as e:
        cases = []
        c.ok(False, "the demo's JUnit report: %s" % e)
    c.eq(len(cases), len(doc["tests"]), "the demo's JUnit and JSON reports: test count")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["packages", "scripts", "readme", "ci-install", "demo"])
    for opt in ("source-dir", "build-dir", "work", "version"):
        p.add_argument("--" + opt, required=True)
    a = p.parse_args()
    a.work = os.path.abspath(os.path.join(a.work, a.command))
    a.source_dir = os.path.abspath(a.source_dir)
    a.build_dir = os.path.abspath(a.build_dir)
    os.makedirs(a.work, exist_ok=True)
    c = Checks(a.work)
    rc = globals()["cmd_" + a.command.replace("-", "_")](a, c)
    if rc == SKIP:
        return SKIP
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
