#!/usr/bin/env bash
# memgate-gate.sh -- the CI memory gate shared by the GitHub Action
# (templates/github/action.yml) and the GitLab job template
# (templates/gitlab/memgate.gitlab-ci.yml). All the logic lives here so that it runs, and
# is tested, the same way on a workstation: it runs `memgate run` over the test binaries,
# writes the JUnit, JSON and HTML reports, the console log and a Markdown summary into
# the report directory, and exits with memgate's status: 0 every test within budget,
# 1 a test failed, crashed, timed out or broke a budget, 2 usage or setup error.
#
# Configuration, from the environment (only MEMGATE_BINARIES is required):
#   MEMGATE_BINARIES      test binaries: paths or bash globs (** allowed), separated by
#                         spaces or newlines; quote a path that holds spaces ('a b/t').
#                         Relative ones are taken from MEMGATE_BUILD_DIR. A glob keeps
#                         only the executable files it matches; one that matches none
#                         is a setup error.
#   MEMGATE_BUILD_DIR     the build directory (default: .)
#   MEMGATE_CLI           the memgate CLI (default: `memgate` on PATH, else
#                         BUILD_DIR/bin/memgate, else BUILD_DIR/_deps/memgate-build/bin/memgate
#                         as FetchContent builds it)
#   MEMGATE_BUDGETS       --budgets FILE
#   MEMGATE_BASELINE      --baseline FILE
#   MEMGATE_TOLERANCE     --tolerance LIST (e.g. peak=10%,leak=0)
#   MEMGATE_SHARD         --shard I/N (I 0-based). Empty in a GitLab `parallel:` job: taken
#                         from CI_NODE_INDEX/CI_NODE_TOTAL (1-based there).
#   MEMGATE_JOBS          -j N (default: the number of CPUs)
#   MEMGATE_EXTRA_ARGS    more `memgate run` options; quotes group words as in a shell,
#                         nothing is expanded (e.g. --timeout 30 --peak '64 MiB')
#   MEMGATE_REPORT_DIR    where the files go (default: memgate-reports)
#   MEMGATE_SUMMARY       a file the Markdown summary is appended to as well (default:
#                         $GITHUB_STEP_SUMMARY, the job summary on GitHub)
#   MEMGATE_ARTIFACT_NAME artifact name reported in the outputs (default: memgate-reports;
#                         a shard appends -shard-I-of-N so parallel jobs do not collide)
# Arguments given to this script are appended to the memgate options.
#
# Files in the report directory (BASE is memgate, or memgate-shard-I-of-N for a shard,
# so that the reports of parallel jobs can be downloaded into one directory and joined
# with `memgate merge`):
#   BASE.junit.xml BASE.json BASE.html   the reports (missing when memgate exits 2)
#   BASE.log                             memgate's console output
#   BASE.summary.md                      the Markdown summary
# With GITHUB_OUTPUT set (GitHub Actions), the step outputs: exit-code, total, passed,
# failed, report-dir, json, junit, html, artifact-name.
set -uo pipefail

say() { printf 'memgate-gate: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

build_dir=${MEMGATE_BUILD_DIR:-.}
report_dir=${MEMGATE_REPORT_DIR:-memgate-reports}
artifact=${MEMGATE_ARTIFACT_NAME:-memgate-reports}
summary_target=${MEMGATE_SUMMARY:-${GITHUB_STEP_SUMMARY:-}}

# Splits $1 into words like a shell does (quotes and backslashes group), without any
# expansion or command substitution, into the array named $2.
split_words() {
    local -n out_=$2
    out_=()
    [[ -n ${1//[[:space:]]/} ]] || return 0
    # xargs parses quotes and backslashes the POSIX way and fails on an unbalanced quote.
    printf '%s\n' "$1" | xargs true 2>/dev/null || return 1
    local word
    while IFS= read -r -d '' word; do out_+=("$word"); done \
        < <(printf '%s\n' "$1" | xargs printf '%s\0')
}

# ---- the memgate CLI --------------------------------------------------------------------
cli=${MEMGATE_CLI:-}
if [[ -z $cli ]]; then
    if command -v memgate >/dev/null 2>&1; then
        cli=memgate
    else
        for c in "$build_dir/bin/memgate" "$build_dir/_deps/memgate-build/bin/memgate"; do
            if [[ -x $c ]]; then cli=$c; break; fi
        done
    fi
fi
[[ -n $cli ]] || die "memgate CLI not found: install it, put it on PATH or set MEMGATE_CLI"
command -v "$cli" >/dev/null 2>&1 || die "MEMGATE_CLI '$cli' is not an executable"

# ---- the test binaries ------------------------------------------------------------------
[[ -n ${MEMGATE_BINARIES:-} ]] || die "MEMGATE_BINARIES is empty: name the test binaries (paths or globs)"
[[ -d $build_dir ]] || die "build directory '$build_dir' does not exist (MEMGATE_BUILD_DIR)"
patterns=()
split_words "$MEMGATE_BINARIES" patterns || die "MEMGATE_BINARIES has an unbalanced quote"
binaries=()
shopt -s nullglob globstar
for pat in "${patterns[@]}"; do
    [[ $pat == /* ]] || pat=$build_dir/$pat
    if [[ $pat == *[\*\?\[]* ]]; then
        # Unquoted on purpose: this is where the glob expands (IFS empty: no splitting).
        saved_ifs=$IFS
        IFS=
        # shellcheck disable=SC2206
        matches=($pat)
        IFS=$saved_ifs
        found=0
        for m in "${matches[@]}"; do
            if [[ -f $m && -x $m ]]; then binaries+=("$m"); found=1; fi
        done
        [[ $found == 1 ]] || die "no executable file matches '$pat' (MEMGATE_BINARIES): is the project built?"
    else
        binaries+=("$pat") # memgate names a missing or unusable file itself
    fi
done
shopt -u nullglob globstar

# ---- options ------------------------------------------------------------------------------
shard=${MEMGATE_SHARD:-}
if [[ -z $shard && ${CI_NODE_TOTAL:-1} =~ ^[0-9]+$ && ${CI_NODE_TOTAL:-1} -gt 1 ]]; then
    [[ ${CI_NODE_INDEX:-} =~ ^[1-9][0-9]*$ ]] || die "CI_NODE_TOTAL is set but CI_NODE_INDEX is not a 1-based index"
    shard="$((CI_NODE_INDEX - 1))/$CI_NODE_TOTAL"
fi
base=memgate
if [[ -n $shard ]]; then
    [[ $shard =~ ^([0-9]+)/([0-9]+)$ ]] || die "shard '$shard' is not I/N (MEMGATE_SHARD)"
    base="memgate-shard-${BASH_REMATCH[1]}-of-${BASH_REMATCH[2]}"
    artifact="$artifact-shard-${BASH_REMATCH[1]}-of-${BASH_REMATCH[2]}"
fi
jobs=${MEMGATE_JOBS:-}
[[ -n $jobs ]] || jobs=$(nproc 2>/dev/null || echo 2)
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "jobs '$jobs' is not a positive number (MEMGATE_JOBS)"

mkdir -p "$report_dir" || die "cannot create the report directory '$report_dir'"
junit=$report_dir/$base.junit.xml
json=$report_dir/$base.json
html=$report_dir/$base.html
log=$report_dir/$base.log
summary=$report_dir/$base.summary.md
# Reports of an earlier run must not pass for this run's.
rm -f "$junit" "$json" "$html" "$log" "$summary"

args=(run -j "$jobs" --junit "$junit" --json "$json" --html "$html")
[[ -z ${MEMGATE_BUDGETS:-} ]] || args+=(--budgets "$MEMGATE_BUDGETS")
[[ -z ${MEMGATE_BASELINE:-} ]] || args+=(--baseline "$MEMGATE_BASELINE")
[[ -z ${MEMGATE_TOLERANCE:-} ]] || args+=(--tolerance "$MEMGATE_TOLERANCE")
[[ -z $shard ]] || args+=(--shard "$shard")
extra=()
split_words "${MEMGATE_EXTRA_ARGS:-}" extra || die "MEMGATE_EXTRA_ARGS has an unbalanced quote"
args+=("${extra[@]}" "$@")

# ---- run ------------------------------------------------------------------------------------
printf 'memgate-gate: %q' "$cli" >&2
printf ' %q' "${args[@]}" "${binaries[@]}" >&2
printf '\n' >&2
"$cli" "${args[@]}" "${binaries[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# ---- summary ------------------------------------------------------------------------------
# Markdown for a job summary: the counts, then one row per test that did not pass with
# its figures, the limits it broke and its top allocation site.
write_summary_py() {
    python3 - "$json" "$rc" "$shard" "$junit" "$html" <<'PY'
import json, sys

path, rc, shard, junit, html = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
with open(path, encoding="utf-8") as f:
    doc = json.load(f)
tests = doc.get("tests", [])
s = doc.get("summary") or {}
counts = {k: s.get(k, sum(1 for t in tests if t.get("status") == k))
          for k in ("pass", "fail", "crash", "timeout", "error", "skip")}
total = s.get("total", len(tests))


def size(n):
    if n is None:
        return "unlimited"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def limit(t, key):
    b = (t.get("budget") or {}).get(key) or {}
    value = b.get("value")
    return str(value) if key == "object_growth" and value is not None else size(value)


def site(t):
    for key in ("diffs", "peak_diffs"):
        for d in t.get(key) or []:
            for fr in d.get("traceback") or []:
                fn = fr.get("function")
                if not fn:
                    continue
                where = fr.get("file")
                if where:
                    where = where.rsplit("/", 1)[-1] + (f":{fr['line']}" if fr.get("line") else "")
                    return f"{fn} ({where})"
                return fn
    return ""


verdict = "passed" if rc == 0 else "FAILED"
head = f"## memgate: {verdict}"
if shard:
    head += f" (shard {shard})"
print(head)
print()
print(f"{total} tests: " + ", ".join(f"{counts[k]} {k}" for k in counts if counts[k] or k in ("pass", "fail")))
base = doc.get("baseline")
if base:
    removed = base.get("removed") or []
    print()
    print(f"Baseline `{base.get('path')}`" + (f": {len(removed)} tests removed" if removed else ""))
bad = [t for t in tests if t.get("status") not in ("pass", "skip")]
if bad:
    print()
    print("| test | status | leaked | growth | peak | broke | top allocation site |")
    print("|---|---|---|---|---|---|---|")
    for t in bad[:50]:
        broke = []
        for v in t.get("violations") or []:
            broke.append(f"{v} > {limit(t, v)}")
        for r in ((t.get("baseline") or {}).get("regressions") or []):
            broke.append(f"{r} > baseline")
        if not broke and t.get("message"):
            broke.append(t["message"])
        fig = lambda k, f: f(t[k]) if t.get(k) is not None else ""
        print("| " + " | ".join(cell(x) for x in (
            f"`{t.get('suite')}/{t.get('name')}`", t.get("status"),
            fig("leaked_bytes", size), fig("object_growth", str), fig("peak_bytes", size),
            "; ".join(broke), site(t))) + " |")
    if len(bad) > 50:
        print(f"\n... and {len(bad) - 50} more: see the reports.")
print()
print(f"Reports: `{junit}` (JUnit XML), `{path}` (JSON), `{html}` (HTML).")
PY
}

{
    if [[ -s $json ]] && command -v python3 >/dev/null 2>&1 && write_summary_py >"$summary.tmp" 2>"$summary.err"; then
        cat "$summary.tmp"
    else
        # No JSON report (memgate could not run) or no python3: the end of the log.
        if [[ $rc == 2 ]]; then
            printf '## memgate: could not run (exit 2)\n\n'
        else
            printf '## memgate: %s (exit %s)\n\n' "$([[ $rc == 0 ]] && echo passed || echo FAILED)" "$rc"
        fi
        printf '```\n'
        tail -n 20 "$log"
        printf '```\n'
    fi
} >"$summary"
rm -f "$summary.tmp" "$summary.err"
if [[ -n $summary_target ]]; then
    cat "$summary" >>"$summary_target" || say "cannot append the summary to '$summary_target'"
fi

# ---- step outputs (GitHub Actions) ------------------------------------------------------
if [[ -n ${GITHUB_OUTPUT:-} ]]; then
    total="" passed="" failed=""
    if [[ -s $json ]] && command -v python3 >/dev/null 2>&1; then
        read -r total passed failed < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1], encoding="utf-8")).get("summary") or {}
print(s.get("total", 0), s.get("pass", 0), s.get("total", 0) - s.get("pass", 0) - s.get("skip", 0))' "$json")
    fi
    {
        echo "exit-code=$rc"
        echo "total=$total"
        echo "passed=$passed"
        echo "failed=$failed"
        echo "report-dir=$report_dir"
        echo "json=$json"
        echo "junit=$junit"
        echo "html=$html"
        echo "artifact-name=$artifact"
    } >>"$GITHUB_OUTPUT"
fi

exit "$rc"
