#!/usr/bin/env python3
"""End-to-end tests of memgate's setup checks and safe outputs: everything that must be
refused (exit 2, a message naming the problem, no test run) or warned about before any test
runs, and report paths that are symlinks, FIFOs or devices.

Each subcommand is one ctest test (registered as e2e.safety.* at the end of
tests/e2e/CMakeLists.txt). Every check of a subcommand is collected and reported together.

Usage: e2e_safety.py --memgate BIN --library LIB --fixtures DIR --source DIR --work DIR
                     SUBCOMMAND
Python 3, standard library only.
"""
import argparse
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import pylib  # noqa: E402

NOBODY = 65534


Checks = pylib.Checks


class Env:
    def __init__(self, a):
        self.memgate, self.library, self.fixture_dir, self.work = a.memgate, a.library, a.fixtures, a.work

    def fixture(self, name):
        return os.path.join(self.fixture_dir, "fixture_" + name)

    def path(self, *names):
        return os.path.join(self.work, *names)

    def environ(self, extra=None, drop=()):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MEMGATE_", "TEST_SHARD", "TEST_TOTAL", "GTEST_", "XML_OUTPUT"))}
        env["MEMGATE_LIBRARY"] = self.library
        env.update(extra or {})
        for k in drop:
            env.pop(k, None)
        return env

    def run(self, args, extra_env=None, as_nobody=False, timeout=60):
        """Runs memgate ARGS in the work directory; returns the CompletedProcess."""
        cmd = [self.memgate] + list(args)
        print("$ " + " ".join(cmd), flush=True)
        pre = None
        if as_nobody and os.geteuid() == 0:
            def pre():
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                              env=self.environ(extra_env), cwd=self.work, preexec_fn=pre)


def refused(env, ck, label, args, want_stderr, extra_env=None, exact=False, as_nobody=False):
    """memgate must exit 2 before any test runs, with want_stderr on stderr (the whole of
    it when exact) and no report anywhere in the work directory."""
    before = set(os.listdir(env.work))
    proc = env.run(args, extra_env=extra_env, as_nobody=as_nobody)
    ck.eq(proc.returncode, 2, f"{label}: exit status (stderr {proc.stderr.strip()!r})")
    if exact:
        ck.eq(proc.stderr, want_stderr + "\n", f"{label}: stderr")
    else:
        for needle in ([want_stderr] if isinstance(want_stderr, str) else want_stderr):
            ck.has(proc.stderr, needle, f"{label}: stderr names the problem")
    ck.eq(proc.stdout, "", f"{label}: nothing ran")
    ck.eq(sorted(set(os.listdir(env.work)) - before), [], f"{label}: files written")
    return proc


def terminal_safe(text):
    """No control character but newline, no escape sequence: safe to show in a terminal."""
    return all(c == "\n" or (" " <= c and c != "\x7f") for c in text)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def compile_c(env, name, source, flags=()):
    """Compiles source into the work directory; the path, or None when the compiler failed."""
    src, out = env.path(name + ".c"), env.path(name)
    with open(src, "w", encoding="utf-8") as f:
        f.write(source)
    cc = os.environ.get("CC") or "cc"
    r = subprocess.run([cc, *flags, "-o", out, src], capture_output=True, text=True)
    os.unlink(src)
    if r.returncode != 0:
        print(f"{cc} {' '.join(flags)} failed:\n{r.stderr}")
        return None
    return out


# ---- report paths ----------------------------------------------------------------------
def cmd_report_dirs(env, ck):
    """Every report directory is checked before any test runs."""
    clean = env.fixture("clean")
    refused(env, ck, "json_missing_dir", ["run", "--json", "out/r.json", clean],
            "memgate: --json out/r.json: directory out does not exist", exact=True)
    refused(env, ck, "html_missing_dir", ["run", "--html", "a/b/r.html", clean],
            "memgate: --html a/b/r.html: directory a/b does not exist", exact=True)
    refused(env, ck, "baseline_missing_dir", ["run", "--update-baseline", "nope/base.json", clean],
            "memgate: --update-baseline nope/base.json: directory nope does not exist", exact=True)
    refused(env, ck, "xml_output_file", ["run", clean], "memgate: XML_OUTPUT_FILE gone/t.xml: directory gone does not exist",
            extra_env={"XML_OUTPUT_FILE": "gone/t.xml"}, exact=True)
    with open(env.path("afile"), "w") as f:
        f.write("x")
    refused(env, ck, "file_as_dir", ["run", "--junit", "afile/r.xml", clean],
            "memgate: --junit afile/r.xml: afile is not a directory", exact=True)
    os.mkdir(env.path("adir"))
    refused(env, ck, "dir_as_report", ["run", "--json", "adir", clean], "memgate: --json adir: is a directory",
            exact=True)
    # A directory that cannot be written, by someone who is not root.
    os.mkdir(env.path("ro"))
    os.chmod(env.path("ro"), 0o555)
    os.chmod(env.work, 0o755)
    refused(env, ck, "read_only_dir", ["run", "--junit", "ro/r.xml", clean],
            "memgate: --junit ro/r.xml: directory ro is not writable", exact=True, as_nobody=True)
    os.chmod(env.path("ro"), 0o755)


def cmd_report_same_file(env, ck):
    """The same file given for two outputs, under any spelling, is refused naming both."""
    clean = env.fixture("clean")
    refused(env, ck, "json_junit", ["run", "--json", "r.json", "--junit", "./r.json", clean],
            "memgate: --json r.json and --junit ./r.json name the same file", exact=True)
    os.mkdir(env.path("sub"))
    refused(env, ck, "baseline_html", ["run", "--update-baseline", "b.json", "--html", "sub/../b.json", clean],
            "memgate: --html sub/../b.json and --update-baseline b.json name the same file", exact=True)
    with open(env.path("existing.xml"), "w") as f:
        f.write("<old/>")
    os.symlink("existing.xml", env.path("link.xml"))
    refused(env, ck, "through_symlink", ["run", "--junit", "existing.xml", "--json", "link.xml", clean],
            "memgate: --json link.xml and --junit existing.xml name the same file", exact=True)
    ck.eq(open(env.path("existing.xml")).read(), "<old/>", "the refused run left the file alone")
    refused(env, ck, "env_and_option", ["run", "--json", os.path.join(env.work, "t.xml"), clean],
            "memgate: --json " + os.path.join(env.work, "t.xml") + " and XML_OUTPUT_FILE t.xml name the same file",
            extra_env={"XML_OUTPUT_FILE": "t.xml"}, exact=True)
    # The test binary itself is never a report.
    copy = env.path("fixture_copy")
    shutil.copy(clean, copy)
    refused(env, ck, "over_binary", ["run", "--json", "fixture_copy", copy],
            f"memgate: --json fixture_copy would overwrite test binary {copy}", exact=True)


def cmd_report_special_files(env, ck):
    """Symlinks are written through, devices and FIFOs in place; nothing is replaced."""
    clean = env.fixture("clean")
    # /dev/null takes every report, and stays a device.
    proc = env.run(["run", "--json", "/dev/null", "--junit", "/dev/null", "--html", "/dev/null", clean])
    ck.eq(proc.returncode, 0, f"reports to /dev/null: exit status ({proc.stderr.strip()})")
    ck.ok(stat.S_ISCHR(os.lstat("/dev/null").st_mode), "/dev/null is still a character device")

    # A symlink to an existing report: the file it names is replaced, the link stays.
    os.mkdir(env.path("artifacts"))
    with open(env.path("artifacts", "run-1.json"), "w") as f:
        f.write("old")
    os.symlink("artifacts/run-1.json", env.path("latest.json"))
    proc = env.run(["run", "--json", "latest.json", clean])
    ck.eq(proc.returncode, 0, f"report through a symlink: exit status ({proc.stderr.strip()})")
    ck.ok(os.path.islink(env.path("latest.json")), "the symlink is still a symlink")
    try:
        ck.eq(load(env.path("artifacts", "run-1.json"))["tool"], "memgate", "the link's target holds the report")
    except (OSError, ValueError) as e:
        ck.ok(False, f"the link's target holds no JSON report: {e}")
    ck.eq(sorted(os.listdir(env.path("artifacts"))), ["run-1.json"], "no temporary file left beside the target")

    # A dangling symlink is refused before any test runs; nothing is created where it points.
    os.symlink("nowhere/r.json", env.path("dangling.json"))
    refused(env, ck, "dangling", ["run", "--json", "dangling.json", clean],
            "memgate: --json dangling.json: is a symbolic link to 'nowhere/r.json', which does not exist",
            exact=False)
    ck.ok(not os.path.exists(env.path("nowhere")), "nothing created where the dangling link points")

    # A FIFO: the report goes through it to the reader; the FIFO stays a FIFO.
    fifo = env.path("report.fifo")
    os.mkfifo(fifo)
    got = []

    def reader():
        with open(fifo, "rb") as f:
            got.append(f.read())
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    time.sleep(0.2)
    proc = env.run(["run", "--json", "report.fifo", clean])
    th.join(20)
    ck.eq(proc.returncode, 0, f"report into a FIFO: exit status ({proc.stderr.strip()})")
    ck.ok(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO is still a FIFO")
    try:
        ck.eq(json.loads(got[0].decode())["tool"], "memgate", "the reader got the JSON report")
    except (IndexError, ValueError) as e:
        ck.ok(False, f"the reader got no JSON report: {e}")
    # Nobody reads: an error after the run (exit 2), not a hang.
    t0 = time.monotonic()
    proc = env.run(["run", "--json", "report.fifo", clean], timeout=30)
    ck.eq(proc.returncode, 2, "FIFO without a reader: exit status")
    ck.has(proc.stderr, "is a FIFO that no process is reading", "FIFO without a reader: stderr")
    ck.ok(time.monotonic() - t0 < 20, "FIFO without a reader: memgate did not wait for one")


# ---- programs and the library -----------------------------------------------------------
def cmd_binaries(env, ck):
    """Programs memgate cannot run or measure are refused before anything runs."""
    refused(env, ck, "directory", ["run", env.fixture_dir],
            f"memgate: {env.fixture_dir}: is a directory, not a test binary (name the program inside it)",
            exact=True)
    refused(env, ck, "list_directory", ["list", env.fixture_dir], "is a directory")
    text = env.path("notes.txt")
    with open(text, "w") as f:
        f.write("echo hello\n")
    os.chmod(text, 0o755)
    refused(env, ck, "enoexec", ["run", text], [text, "not a program the system can run", "no #! line"])
    refused(env, ck, "library_not_elf", ["run", "--library", "/etc/passwd", env.fixture("clean")],
            "memgate: --library /etc/passwd: is not an ELF shared object, so it is not libmemgate.so", exact=True)
    refused(env, ck, "library_env_not_memgate", ["run", env.fixture("clean")],
            ["memgate: MEMGATE_LIBRARY ", "does not export memgate_version"],
            extra_env={"MEMGATE_LIBRARY": next(p for p in ("/lib/x86_64-linux-gnu/libm.so.6",
                                                           "/lib/aarch64-linux-gnu/libm.so.6",
                                                           "/usr/lib/libm.so.6", "/lib64/libm.so.6")
                                               if os.path.exists(p))})
    static = compile_c(env, "static_prog", "int main(void) { return 0; }\n", ["-static"])
    if static:
        refused(env, ck, "static", ["run", static], [static, "is statically linked", "LD_PRELOAD cannot reach it"])
    else:
        print("SKIPPED: the static-binary case (no libc.a: install libc6-dev)")


def cmd_exec_path(env, ck):
    """`memgate exec` finds its program in PATH like execvp, and runs the file it found."""
    true = shutil.which("true")
    real = os.path.realpath(true)
    proc = env.run(["exec", "--json", "true.json", "--", "true"])
    ck.eq(proc.returncode, 0, f"exec -- true: exit status ({proc.stderr.strip()})")
    try:
        doc = load(env.path("true.json"))
        ck.ok([t["binary"] for t in doc["tests"]] in ([true], [real]),
              f"the report names the program found in PATH: {[t['binary'] for t in doc['tests']]} vs {true}")
    except (OSError, ValueError, KeyError) as e:
        ck.ok(False, f"no JSON report of exec -- true: {e}")
    refused(env, ck, "exec_not_in_path", ["exec", "--", "no-such-program-e2e"],
            "memgate: no-such-program-e2e: not found in PATH (give its path, e.g. ./no-such-program-e2e)",
            exact=True)


def cmd_bind_now(env, ck):
    """memgate binds the driven program's symbols at start (LD_BIND_NOW, so its test
    children do not each resolve them again) and gives its malloc huge pages
    (GLIBC_TUNABLES), and takes both variables back out of its environment, so what the
    program starts runs as it would; a user's own LD_BIND_NOW or GLIBC_TUNABLES, even
    empty, is left alone."""
    prog = compile_c(env, "envprobe", r"""
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    FILE *f = fopen(argv[1], "w");
    if (!f) return 3;
    const char *b = getenv("LD_BIND_NOW"), *m = getenv("MEMGATE_BIND_NOW");
    const char *t = getenv("GLIBC_TUNABLES"), *tm = getenv("MEMGATE_TUNABLES");
    fprintf(f, "bind=%s mark=%s tunables=%s mark=%s\n", b ? b : "(unset)", m ? m : "(unset)",
            t ? t : "(unset)", tm ? tm : "(unset)");
    return fclose(f) != 0;
}
""")
    if not prog:
        ck.ok(False, "could not compile the environment probe")
        return
    for label, extra, want in (
            ("default", None, "bind=(unset) mark=(unset) tunables=(unset) mark=(unset)"),
            ("user's empty LD_BIND_NOW", {"LD_BIND_NOW": ""}, "bind= mark=(unset) tunables=(unset) mark=(unset)"),
            ("user's LD_BIND_NOW=1", {"LD_BIND_NOW": "1"}, "bind=1 mark=(unset) tunables=(unset) mark=(unset)"),
            ("user's empty GLIBC_TUNABLES", {"GLIBC_TUNABLES": ""},
             "bind=(unset) mark=(unset) tunables= mark=(unset)"),
            ("user's GLIBC_TUNABLES", {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"},
             "bind=(unset) mark=(unset) tunables=glibc.malloc.tcache_count=0 mark=(unset)")):
        out = env.path("env.txt")
        proc = env.run(["exec", "--", prog, out], extra_env=extra)
        ck.eq(proc.returncode, 0, f"{label}: exit status (stderr {proc.stderr.strip()!r})")
        try:
            with open(out, encoding="utf-8") as f:
                ck.eq(f.read().strip(), want, f"{label}: the program's environment")
        except OSError as e:
            ck.ok(False, f"{label}: the probe wrote nothing: {e}")


def cmd_warnings(env, ck):
    """A script and a statically linked CUnit run, with a warning that says what to expect."""
    script = env.path("wrapper.sh")
    with open(script, "w") as f:
        f.write(f'#!/bin/sh\nexec "{env.fixture("clean")}" "$@"\n')
    os.chmod(script, 0o755)
    proc = env.run(["run", "--json", "script.json", script])
    ck.has(proc.stderr, f"memgate: warning: {script} is a script (\"#!/bin/sh\")", "script: warning")
    ck.has(proc.stderr, "must exec the test binary with the environment intact", "script: the hint")
    # The run goes on after the warning, and the binary the script execs (same process)
    # takes the runner's socket over: its tests are listed, run and measured one by one.
    ck.eq(proc.returncode, 0, f"script: the clean suite passes through its wrapper ({proc.stderr.strip()})")
    if ck.ok(os.path.exists(env.path("script.json")), "script: a JSON report was written"):
        with open(env.path("script.json"), encoding="utf-8") as f:
            tests = json.load(f)["tests"]
        ck.ok(len(tests) > 5 and all(t["suite"] == "clean" and t["status"] == "pass" for t in tests),
              f"script: the exec'd binary's tests each measured: {[(t['suite'], t['name'], t['status']) for t in tests]}")

    own = compile_c(env, "own_cunit", "int CU_basic_run_tests(void) { return 0; }\n"
                                      "int main(void) { return CU_basic_run_tests(); }\n")
    if ck.ok(own, "the static-CUnit stand-in compiles"):
        proc = env.run(["run", "--json", "own.json", own])
        ck.eq(proc.returncode, 0, f"static CUnit: exit status ({proc.stderr.strip()})")
        ck.has(proc.stderr, f"memgate: warning: {own} links CUnit statically", "static CUnit: warning")
        ck.has(proc.stderr, "its tests will run as one whole-process test", "static CUnit: consequence")
        ck.has(proc.stderr, "memgate_cunit_run() from <memgate/cunit.h>", "static CUnit: the fix")
    # The repository's statically linked fixture uses memgate_cunit_run(): no warning.
    static_fixture = env.fixture("static")
    if os.path.exists(static_fixture):
        proc = env.run(["list", static_fixture])
        ck.eq(proc.returncode, 0, "fixture_static: list exit status")
        ck.ok("warning" not in proc.stderr, f"fixture_static: no warning: {proc.stderr!r}")


# ---- sharding variables and suppressions ------------------------------------------------------
def cmd_shard_env(env, ck):
    clean = env.fixture("clean")
    refused(env, ck, "total_only", ["run", clean],
            "memgate: TEST_TOTAL_SHARDS is set but TEST_SHARD_INDEX is not: set both to run one shard, "
            "or neither to run every test (or pass --shard I/N)", extra_env={"TEST_TOTAL_SHARDS": "4"}, exact=True)
    refused(env, ck, "gtest_index_only", ["run", clean],
            "memgate: GTEST_SHARD_INDEX is set but GTEST_TOTAL_SHARDS is not",
            extra_env={"GTEST_SHARD_INDEX": "1"})
    # --shard decides when it is given.
    proc = env.run(["run", "--shard", "0/1", clean], extra_env={"TEST_TOTAL_SHARDS": "4"})
    ck.eq(proc.returncode, 0, f"--shard with a half-set pair: exit status ({proc.stderr.strip()})")
    proc = env.run(["run", "--json", "shard.json", clean], extra_env={"TEST_TOTAL_SHARDS": "2", "TEST_SHARD_INDEX": "1"})
    ck.ok(proc.returncode in (0, 2), f"a full pair runs its shard ({proc.stderr.strip()})")
    if os.path.exists(env.path("shard.json")):
        ck.eq(load(env.path("shard.json")).get("shard"), "1/2", "the report names the shard")


def cmd_suppressions(env, ck):
    clean = env.fixture("clean")
    supp = env.path("all.supp")
    with open(supp, "w") as f:
        f.write("# everything\nleak:*\n")
    proc = env.run(["run", "--suppressions", supp, clean])
    ck.eq(proc.returncode, 0, f"leak:* is accepted: exit status ({proc.stderr.strip()})")
    ck.has(proc.stderr, f"memgate: warning: {supp}:2: leak:* suppresses every allocation", "leak:* warns")
    # Binary garbage is refused without sending a byte of it to the terminal.
    garbage = env.path("garbage.supp")
    with open(garbage, "wb") as f:
        f.write(b"\x1b]0;owned\x07\x1b[2J\xff\xfe:leak\nleak:x\n")
    proc = refused(env, ck, "garbage", ["run", "--suppressions", garbage, clean],
                   [f"{garbage}:1: unknown suppression kind", "\\x1b]0;owned\\x07\\x1b[2J\\xff\\xfe"])
    ck.ok(terminal_safe(proc.stderr), f"garbage: stderr is safe for a terminal: {proc.stderr!r}")
    elf = env.path("elf.supp")
    shutil.copy(clean, elf)
    proc = refused(env, ck, "binary_file", ["run", "--suppressions", elf, clean], f"{elf}:1: not a text file (NUL byte)")
    ck.ok(terminal_safe(proc.stderr), f"binary file: stderr is safe for a terminal: {proc.stderr!r}")
    ck.ok(len(proc.stderr) < 400, f"binary file: the quoted line is cut short: {len(proc.stderr)} characters")


# ---- signals -------------------------------------------------------------------------------
def cmd_sighup(env, ck):
    """SIGHUP (a closed terminal) stops the run in order, like SIGINT: exit 129, the reports
    of what finished, no test process left behind."""
    tag = f"sighup-{os.getpid()}"
    cmd = [env.memgate, "run", "--color", "never", "--timeout", "60", "--json", "hup.json", env.fixture("faults")]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env.environ({"E2E_TAG": tag}), cwd=env.work)
    seen = threading.Event()

    def reader():
        for line in proc.stdout:
            if "faults/abort_called" in line:
                seen.set()
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    ck.ok(seen.wait(20), "the tests before hang_forever finished")
    time.sleep(1.0)
    proc.send_signal(signal.SIGHUP)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    ck.eq(proc.returncode, 128 + signal.SIGHUP, "exit status after SIGHUP")
    ck.ok(os.path.exists(env.path("hup.json")), "JSON report of the finished tests written")
    time.sleep(0.5)
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"E2E_TAG={tag}".encode() in f.read().split(b"\0"):
                    left.append(int(pid))
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
    ck.eq(left, [], "test processes left running after SIGHUP (killed now)")


COMMANDS = {
    "report-dirs": cmd_report_dirs, "report-same-file": cmd_report_same_file,
    "report-special-files": cmd_report_special_files, "binaries": cmd_binaries, "exec-path": cmd_exec_path,
    "warnings": cmd_warnings, "shard-env": cmd_shard_env, "suppressions": cmd_suppressions,
    "sighup": cmd_sighup, "bind-now": cmd_bind_now,
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for opt in ("--memgate", "--library", "--fixtures", "--source", "--work"):
        p.add_argument(opt, required=True)
    p.add_argument("command", choices=sorted(COMMANDS))
    a = p.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    os.chmod(a.work, 0o755)
    env, ck = Env(a), Checks()
    try:
        COMMANDS[a.command](env, ck)
    except subprocess.TimeoutExpired as e:
        ck.ok(False, f"timed out: {e}")
    return ck.finish(f" (work directory {a.work})")


if __name__ == "__main__":
    sys.exit(main())
