#!/usr/bin/env python3
"""docs/report.schema.json against the JSON reports memgate really writes.

1. The schema is a valid JSON Schema (draft 2020-12), its schema_version is the one in
   include/memgate/version.h, its status and budget-source enums are the ones in
   runner/model.c, every key that runner/report_json.c writes is a property in it (the
   figure and budget keys of the metric table in runner/metrics.h included), and its
   violation and regression names are the table's.
2. memgate runs the fixture programs in enough ways to produce every shape the writer
   has (every status, every budget source, tracebacks, peak tracebacks, assertion
   failures, signals, whole-process mode, and, when the CLI has them, baselines in all
   three states, shards, `memgate merge` and `memgate report --json`), and each report
   validates against the schema. The runs must together show each of those shapes, so a
   run that silently stops producing one is noticed.
3. The schema rejects documents that break it: an unknown key at the top level, in a
   test, in a frame; a wrong status or kind; a missing key; a negative leak.

Uses the jsonschema module (Debian: python3-jsonschema). When the interpreter running
this script lacks it and /usr/bin/python3 has it, the script re-runs itself with that.

Usage: check_schema.py --memgate BIN --fixtures DIR --docs-fixture BIN --source DIR
                       --work DIR
"""
import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != \
            os.path.realpath("/usr/bin/python3") and not os.environ.get("MG_SCHEMA_REEXEC"):
        os.environ["MG_SCHEMA_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("FAIL: the Python module jsonschema is missing (Debian: apt-get install "
          "python3-jsonschema)")
    sys.exit(1)

# Shared helpers (tests/pylib.py), imported from the directory above this script's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
from pylib import Checks, read  # noqa: E402


def schema_property_names(node, out):
    """Every name under a "properties" keyword anywhere in the schema."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "properties" and isinstance(v, dict):
                out.update(v.keys())
            schema_property_names(v, out)
    elif isinstance(node, list):
        for v in node:
            schema_property_names(v, out)
    return out


def find_enum(node, predicate):
    """The first "enum" list in the schema for which predicate holds."""
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list) and predicate(node["enum"]):
            return node["enum"]
        for v in node.values():
            r = find_enum(v, predicate)
            if r is not None:
                return r
    elif isinstance(node, list):
        for v in node:
            r = find_enum(v, predicate)
            if r is not None:
                return r
    return None


def metric_table(source):
    """The rows of the metric table in runner/metrics.h: (figure key, budget key or None,
    tracked by baselines)."""
    text = read(os.path.join(source, "runner", "metrics.h"))
    body = re.search(r"#define MG_METRICS\(X\)(.*?)\n\n", text, re.S)
    body = re.sub(r"\\\n", " ", body.group(1)) if body else ""  # line continuations
    rows = []
    for m in re.finditer(r"X\(\s*MG_M_\w+\s*,\s*(\w+)\s*,\s*\w+\s*,\s*(\w+)\s*,\s*([01])\s*,"
                         r"(?:[^()]|\([^()]*\))*?,\s*([01])\s*,\s*(?:\"\w+\"|NULL)\s*,\s*\d+\s*,"
                         r"\s*\d+\s*,", body):
        rows.append((m.group(1), m.group(2) if m.group(3) == "1" else None, m.group(4) == "1"))
    return rows


def check_static(args, schema, c):
    """Part 1: the schema against the sources."""
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        c.ok(True, "")
    except jsonschema.SchemaError as e:
        c.ok(False, f"docs/report.schema.json is not a valid JSON Schema: {e.message}")
    version_h = read(os.path.join(args.source, "include", "memgate", "version.h"))
    m = re.search(r"#define\s+MEMGATE_REPORT_SCHEMA_VERSION\s+(\d+)", version_h)
    c.ok(m and schema["properties"]["schema_version"].get("const") == int(m.group(1)),
         "schema_version const differs from MEMGATE_REPORT_SCHEMA_VERSION in version.h")

    model_c = read(os.path.join(args.source, "runner", "model.c"))

    def names_of(fn):
        body = re.search(fn + r"\([^)]*\)\s*\{(.*?)\n\}", model_c, re.S)
        return set(re.findall(r'return "([a-z-]+)";', body.group(1))) - {"unknown"} if body else set()

    statuses, sources = names_of("mg_status_name"), names_of("mg_source_name")
    c.ok(statuses and set(schema["$defs"]["test"]["properties"]["status"]["enum"]) == statuses,
         f"status enum differs from mg_status_name in runner/model.c: {sorted(statuses)}")
    c.ok(sources and set(schema["$defs"]["limit"]["properties"]["source"]["enum"]) == sources,
         f"source enum differs from mg_source_name in runner/model.c: {sorted(sources)}")

    writer = read(os.path.join(args.source, "runner", "report_json.c"))
    writer = writer.split("---- reading", 1)[0]
    keys = set(re.findall(r'\b(?:put_\w+|add)\(\s*&?w\s*,\s*[^,()]+,\s*"([a-z_]+)"', writer))
    c.ok(len(keys) >= 40, f"found only {len(keys)} keys in report_json.c: has the writer "
         "changed shape? (update check_schema.py)")
    # The figure and budget keys come from the metric table.
    table = metric_table(args.source)
    c.ok(len(table) >= 8, f"found only {len(table)} rows in the metric table of runner/metrics.h: "
         "has it changed shape? (update check_schema.py)")
    keys |= {fig for fig, _, _ in table} | {b for _, b, _ in table if b}
    props = schema_property_names(schema, set())
    for k in sorted(keys - props):
        c.ok(False, f"runner/report_json.c writes \"{k}\", which docs/report.schema.json "
             "does not describe")
    # Names the writer puts into arrays (violations, regressions) must be enum values:
    # a metric's budget key when it has a budget, else its figure key.
    budgets = {b for _, b, _ in table if b}
    tracked = {b or fig for fig, b, base in table if base}
    c.ok(set(schema["$defs"]["figure_name"]["enum"]) == budgets,
         f"the violations enum (figure_name) differs from the budget keys of runner/metrics.h: "
         f"{sorted(budgets)}")
    c.ok(set(schema["$defs"]["test"]["properties"]["budget"]["required"]) == budgets,
         f"the budget's keys differ from the budget keys of runner/metrics.h: {sorted(budgets)}")
    regs = find_enum(schema["$defs"]["baseline_compared"], lambda e: "allocations" in e)
    c.ok(tracked and regs is not None and set(regs) == tracked,
         f"baseline regressions enum differs from the baseline metrics of runner/metrics.h: "
         f"{sorted(tracked)}")


def run(memgate, argv, work, name, expect_rc=(0, 1)):
    """Runs memgate; returns (status, stdout+stderr). The output is kept in work."""
    p = subprocess.run([memgate] + argv, capture_output=True, text=True, timeout=240,
                       cwd=work, stdin=subprocess.DEVNULL)
    with open(os.path.join(work, name + ".log"), "w", encoding="utf-8") as f:
        f.write("$ memgate " + " ".join(argv) + "\n" + p.stdout + p.stderr)
    return p.returncode, p.stdout + p.stderr


def produce_reports(args, c, work):
    """Part 2a: runs memgate in many ways; returns {name: path of the JSON report}."""
    fx = lambda n: os.path.join(args.fixtures, "fixture_" + n)
    mg = args.memgate
    help_text = subprocess.run([mg, "--help"], capture_output=True, text=True).stdout
    has = lambda opt: re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", help_text)
    reports = {}

    def json_run(name, argv, expect_rc=(0, 1)):
        path = os.path.join(work, name + ".json")
        # Options go before the operands of `exec` (after "--" they are the program's).
        at = argv.index("--") if "--" in argv else len(argv)
        rc, out = run(mg, argv[:at] + ["--json", path] + argv[at:], work, name)
        c.ok(rc in expect_rc, f"{name}: memgate exited {rc}, expected one of {expect_rc}:\n{out[-2000:]}")
        if c.ok(os.path.exists(path), f"{name}: no report written"):
            reports[name] = path

    budgets = os.path.join(work, "limits.budgets.json")
    with open(budgets, "w", encoding="utf-8") as f:
        json.dump({"defaults": {"peak_bytes": "64 MiB"},
                   "tests": {"leaky/cache_*": {"leak_bytes": "1 KiB"},
                             "leaky/cache_unbounded": {"object_growth": 9}}}, f)
    json_run("leaky", ["run", "-j", "2", fx("leaky")])
    json_run("clean", ["run", fx("clean")], expect_rc=(0,))
    json_run("faults", ["run", "-j", "2", "--timeout", "2", fx("faults")], expect_rc=(1,))
    json_run("several", ["run", "-j", "2", fx("multi"), fx("annotated"), args.docs_fixture])
    json_run("peak", ["run", "-k", "leaky/big*", "--peak", "1MiB", fx("leaky")], expect_rc=(1,))
    json_run("budgets", ["run", "--budgets", budgets, "--leak-bytes", "8", "--stacks",
                         "-k", "leaky/*", fx("leaky")])
    json_run("exec", ["exec", "--", fx("nocunit")])
    if re.search(r"memgate torture", help_text) and os.path.exists(fx("errpath")):
        json_run("torture", ["torture", "--timeout", "2", "--max-points", "5", fx("errpath")],
                 expect_rc=(1,))

    if has("--update-baseline") and has("--baseline"):
        base = os.path.join(work, "baseline.json")
        rc, out = run(mg, ["run", "--update-baseline", base, args.docs_fixture, fx("clean")],
                      work, "baseline-write")
        if c.ok(rc in (0, 1) and os.path.exists(base), f"--update-baseline wrote nothing:\n{out}"):
            b = json.loads(read(base))
            keys = sorted(b["tests"])
            # One test regresses (its baseline figures drop to 0), one becomes new, and
            # a test the run does not have is removed.
            reg = next(k for k in keys if b["tests"][k]["allocations"] > 0)
            b["tests"][reg] = {"leaked_bytes": 0, "object_growth": 0, "peak_bytes": 0,
                               "allocations": 0}
            del b["tests"][next(k for k in keys if k != reg)]
            b["tests"]["fixture_gone:gone/test"] = {"leaked_bytes": 0, "object_growth": 0,
                                                    "peak_bytes": 0, "allocations": 0}
            edited = os.path.join(work, "baseline-edited.json")
            with open(edited, "w", encoding="utf-8") as f:
                json.dump(b, f, indent=2)
            extra = ["--shard", "0/1"] if has("--shard") else []
            json_run("baseline", ["run", "--baseline", edited, "--tolerance", "peak=5%"] + extra
                     + [args.docs_fixture, fx("clean")], expect_rc=(1,))
    if has("--shard"):
        json_run("shard0", ["run", "--shard", "0/2", fx("clean"), args.docs_fixture])
        json_run("shard1", ["run", "--shard", "1/2", fx("clean"), args.docs_fixture])
        if "shard0" in reports and "shard1" in reports and re.search(r"memgate merge", help_text):
            merged = os.path.join(work, "merged.json")
            rc, out = run(mg, ["merge", merged, reports["shard0"], reports["shard1"]], work,
                          "merge")
            if c.ok(rc in (0, 1) and os.path.exists(merged), f"memgate merge failed:\n{out}"):
                reports["merged"] = merged
    if re.search(r"memgate report", help_text) and "leaky" in reports:
        again = os.path.join(work, "rerendered.json")
        rc, out = run(mg, ["report", reports["leaky"], "--json", again], work, "report")
        if c.ok(rc in (0, 1) and os.path.exists(again), f"memgate report --json failed:\n{out}"):
            reports["rerendered"] = again
    return reports, has


def check_reports(schema, reports, has, c):
    """Part 2b: every report validates, and together they show every shape."""
    v = jsonschema.Draft202012Validator(schema)
    seen = {"status": set(), "source": set(), "baseline": set()}
    flags = {k: False for k in ("diffs", "peak_diffs", "failures", "signal", "origin",
                                "traced", "run_baseline", "shard", "output", "exit_code",
                                "torture")}
    outcomes = set()
    docs = {}
    for name, path in sorted(reports.items()):
        try:
            doc = json.loads(read(path))
        except ValueError as e:
            c.ok(False, f"{name}: not JSON: {e}")
            continue
        docs[name] = doc
        errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors[:10]:
            c.ok(False, f"{name}.json at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
        c.ok(not errors, f"{name}.json: {len(errors)} schema errors")
        if doc.get("baseline"):
            flags["run_baseline"] = True
        if doc.get("shard"):
            flags["shard"] = True
        for t in doc.get("tests", []):
            seen["status"].add(t.get("status"))
            for lim in (t.get("budget") or {}).values():
                seen["source"].add(lim.get("source"))
                flags["origin"] |= lim.get("origin") is not None
            if t.get("baseline"):
                seen["baseline"].add(t["baseline"].get("state"))
            flags["diffs"] |= bool(t.get("diffs"))
            flags["peak_diffs"] |= bool(t.get("peak_diffs"))
            flags["failures"] |= bool(t.get("failures"))
            flags["signal"] |= t.get("signal") is not None
            flags["traced"] |= t.get("traced") is True
            flags["output"] |= t.get("output") is not None
            flags["exit_code"] |= t.get("exit_code", 0) != 0
            if t.get("torture"):
                flags["torture"] = True
                outcomes.update(p["outcome"] for p in t["torture"]["points"])
    c.ok(seen["status"] >= set(schema["$defs"]["test"]["properties"]["status"]["enum"]),
         f"the runs showed only the statuses {sorted(map(str, seen['status']))}")
    if flags["torture"]:
        c.ok(outcomes >= {"pass", "leak", "crash", "hang"},
             f"the torture run showed only the outcomes {sorted(outcomes)}")
    c.ok(seen["source"] >= set(schema["$defs"]["limit"]["properties"]["source"]["enum"]),
         f"the runs showed only the budget sources {sorted(map(str, seen['source']))}")
    for flag, value in sorted(flags.items()):
        if flag in ("run_baseline",) and not has("--baseline"):
            continue
        if flag == "shard" and not has("--shard"):
            continue
        c.ok(value, f"no report showed '{flag}': the runs no longer cover that shape")
    if has("--baseline"):
        c.ok(seen["baseline"] == {"new", "same", "regressed"},
             f"baseline states seen: {sorted(seen['baseline'])}")
        b = docs.get("baseline", {}).get("baseline") or {}
        c.ok(b.get("removed") == ["fixture_gone:gone/test"],
             f"top-level baseline.removed: {b.get('removed')!r}")
    return docs


def check_rejects(schema, docs, c):
    """Part 3: documents that break the contract are refused."""
    v = jsonschema.Draft202012Validator(schema)
    base = docs.get("leaky") or next(iter(docs.values()), None)
    if not c.ok(base is not None, "no report to derive the negative cases from"):
        return
    t0 = next((t for t in base["tests"] if t["diffs"]), None)
    c.ok(t0 is not None, "the leaky report has no test with tracebacks")

    def bad(what, mutate):
        doc = copy.deepcopy(base)
        mutate(doc)
        c.ok(not v.is_valid(doc), f"the schema accepts a report with {what}")

    bad("an unknown top-level key", lambda d: d.update(unknown_key=1))
    bad("no \"tests\"", lambda d: d.pop("tests"))
    bad("no \"baseline\"", lambda d: d.pop("baseline"))
    bad("schema_version 3", lambda d: d.update(schema_version=3))
    bad("no \"warnings\"", lambda d: d.pop("warnings"))
    bad("\"interrupted\": false", lambda d: d.update(interrupted=False))
    bad("kind \"fixture\"", lambda d: d["tests"][0].update(kind="fixture"))
    bad("a test without \"net_bytes\"", lambda d: d["tests"][0].pop("net_bytes"))
    bad("a negative leaked_bytes", lambda d: d["tests"][0].update(leaked_bytes=-1))
    bad("an unknown key in a test", lambda d: d["tests"][0].update(unknown_key=1))
    bad("status \"passed\"", lambda d: d["tests"][0].update(status="passed"))
    bad("a test without \"budget\"", lambda d: d["tests"][0].pop("budget"))
    bad("budget source \"file\"",
        lambda d: d["tests"][0]["budget"]["leak_bytes"].update(source="file"))
    bad("a negative limit", lambda d: d["tests"][0]["budget"]["leak_bytes"].update(value=-1))
    bad("violation \"leak\"", lambda d: d["tests"][0].update(violations=["leak"]))
    bad("a fractional leaked_bytes", lambda d: d["tests"][0].update(leaked_bytes=1.5))
    bad("a baseline state \"better\"",
        lambda d: d["tests"][0].update(baseline={"state": "better", "leaked_bytes": 0,
                                                 "object_growth": 0, "peak_bytes": 0,
                                                 "allocations": 0, "tolerance": None,
                                                 "regressions": []}))
    bad("a regressed baseline without regressions",
        lambda d: d["tests"][0].update(baseline={"state": "regressed", "leaked_bytes": 0,
                                                 "object_growth": 0, "peak_bytes": 0,
                                                 "allocations": 0, "tolerance": None,
                                                 "regressions": []}))
    bad("shard \"first\"", lambda d: d.update(shard="first"))
    if t0 is not None:
        i = base["tests"].index(t0)
        bad("an unknown key in a frame",
            lambda d: d["tests"][i]["diffs"][0]["traceback"][0].update(unknown_key=1))
        bad("a decimal address",
            lambda d: d["tests"][i]["diffs"][0]["traceback"][0].update(address="12345"))
        bad("an entry without \"culprit\"", lambda d: d["tests"][i]["diffs"][0].pop("culprit"))
    # And the unchanged document is accepted, so the cases above fail for their reason.
    c.ok(v.is_valid(base), "the unchanged base report does not validate")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--memgate", required=True)
    ap.add_argument("--fixtures", required=True, help="directory of the fixture_* programs")
    ap.add_argument("--docs-fixture", required=True, help="tests/docs/docs_fixture.c built")
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    for k in ("memgate", "fixtures", "docs_fixture", "source", "work"):
        setattr(args, k, os.path.abspath(getattr(args, k)))
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    c = Checks()
    schema = json.loads(read(os.path.join(args.source, "docs", "report.schema.json")))
    check_static(args, schema, c)
    reports, has = produce_reports(args, c, args.work)
    docs = check_reports(schema, reports, has, c)
    check_rejects(schema, docs, c)
    return c.finish(f" (reports kept in {args.work})")


if __name__ == "__main__":
    sys.exit(main())
