"""Helpers shared by memgate's Python test drivers (tests/docs/check_docs.py,
tests/docs/check_schema.py, tests/e2e/e2e*.py). Standard library only.

A driver imports it from the directory above its own:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
"""
import re


class Checks:
    """Collects check results, so a failing test lists everything that went wrong;
    finish() prints the failures and gives the exit status."""

    def __init__(self):
        self.count = 0
        self.failed = []

    def ok(self, cond, what):
        self.count += 1
        if not cond:
            self.failed.append(what)
        return bool(cond)

    def eq(self, actual, expected, what):
        return self.ok(actual == expected, f"{what}: got {actual!r}, expected {expected!r}")

    def has(self, text, needle, what):
        return self.ok(text is not None and needle in text, f"{what}: {needle!r} not in {text!r}")

    def lacks(self, text, needle, what):
        return self.ok(text is not None and needle not in text, f"{what}: {needle!r} in {text!r}")

    def finish_kept(self, where, what="files"):
        """Prints each failure, then "N of M checks failed; WHAT kept in WHERE" or
        "ok: M checks"; 1 when a check failed, else 0."""
        for f in self.failed:
            print(f"FAIL: {f}")
        if self.failed:
            print(f"{len(self.failed)} of {self.count} checks failed; {what} kept in {where}")
            return 1
        print(f"ok: {self.count} checks")
        return 0

    def finish(self, note=""):
        """Prints each failure, then "N of M checks passed" and note; 1 when a check
        failed, else 0."""
        for f in self.failed:
            print("FAIL:", f)
        print(f"{self.count - len(self.failed)} of {self.count} checks passed{note}")
        return 1 if self.failed else 0


def marker_lines(path, pattern):
    """Maps each marker the regular expression pattern (one group: the marker's name)
    finds in the file at path to its line number, e.g. "/* @trust lost_cycle */"."""
    marks = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            for m in re.findall(pattern, line):
                marks[m] = lineno
    return marks


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()
