#!/usr/bin/env python3
"""Documentation tests: the docs must keep up with the code.

Subcommands (each is one ctest test, see CMakeLists.txt beside this file):

  cli-options   every long option, short option, subcommand and environment variable of
                the CLI (read from runner/main.c and runner/cmd_report.c, and from
                `memgate --help` when --memgate is given) appears in docs/man/memgate.1;
                every long option also appears in at least one docs/*.md.
  api           every function, macro, type and enumerator of include/memgate/*.h appears
                in docs/man/memgate.3.
  man-render    every page in docs/man/ formats without a warning, with
                `groff -man -ww -z` and with `man --warnings -l`.
  links         every relative link in docs/*.md points at a file that exists, and
                every #anchor into a Markdown file at one of its headings.

Usage: check_docs.py --source DIR [--memgate BIN] SUBCOMMAND
Python 3, standard library only. Exit status 0 when every check passed, 1 otherwise.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

# Shared helpers (tests/pylib.py), imported from the directory above this script's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
from pylib import Checks, read  # noqa: E402

LONG_OPT_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9]*(?:-[a-z0-9]+)*)")
SHORT_OPT_RE = re.compile(r"(?<![\w-])(-[a-zA-Z])(?=[,\s])")


def c_function_body(src, name):
    """The text of C function `name` (from its signature to the matching brace)."""
    m = re.search(r"\b" + re.escape(name) + r"\s*\([^)]*\)\s*\{", src)
    if not m:
        return None
    depth, i = 0, m.end() - 1
    while i < len(src):
        if src[i] == "{":
            depth += 1
        elif src[i] == "}":
            depth -= 1
            if depth == 0:
                return src[m.start():i + 1]
        i += 1
    return None


def c_string_literals(code):
    """The concatenated value of every string literal in code (escapes decoded loosely)."""
    parts = re.findall(r'"((?:[^"\\\n]|\\.)*)"', code)
    text = "".join(parts)
    return text.replace("\\n", "\n").replace('\\"', '"').replace("\\t", "\t").replace("\\\\", "\\")


def roff_to_text(src):
    """Roff source reduced to the characters a reader sees, for searching: font changes
    removed, escaped hyphens and quotes turned into plain ones, comments dropped."""
    lines = [l for l in src.splitlines() if not l.startswith(('.\\"', "'\\\""))]
    text = "\n".join(lines)
    text = re.sub(r"\\f(\[[A-Z]*\]|\([A-Z]{2}|[A-Z0-9])", "", text)
    text = text.replace("\\-", "-").replace("\\(em", "--").replace("\\(en", "-")
    text = text.replace("\\(aq", "'").replace("\\(dq", '"').replace("\\e", "\\")
    text = text.replace("\\&", "").replace("\\~", " ").replace("\\ ", " ").replace("\\:", "")
    text = re.sub(r"\\\*\[[^\]]*\]|\\\*\(..|\\\*.", "", text)
    # Macro lines such as `.BR --json " PATH"` keep their arguments.
    text = re.sub(r'^\.[A-Z]{1,2}\s?', "", text, flags=re.M)
    return text.replace('"', " ")


def mentions(text, word):
    """True when `word` occurs in text as a whole token (not inside a longer name)."""
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text) is not None


# ---- cli-options ---------------------------------------------------------------------

def cli_facts(source, memgate):
    """Options, subcommands and environment variables of the CLI."""
    main_c = read(os.path.join(source, "runner", "main.c"))
    usage = c_string_literals(c_function_body(main_c, "usage") or "")
    longs = set(LONG_OPT_RE.findall(usage))
    shorts = set(SHORT_OPT_RE.findall(usage))
    # The getopt table holds every long option, even one the usage text forgot.
    table = re.search(r"struct option\s+\w+\[\]\s*=\s*\{(.*?)\n\};", main_c, re.S)
    if table:
        longs |= {"--" + n for n in re.findall(r'\{\s*"([a-z][a-z0-9-]*)"\s*,', table.group(1))}
    subcommands = set(re.findall(r"\bmemgate ([a-z]+) ", usage)) | set(
        re.findall(r'!strcmp\(cmd,\s*"([a-z]+)"\)\)\s*return', main_c))
    envs = set(re.findall(r'"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"', main_c))
    # Variables the collector reads and the runner sets for it.
    for path in glob.glob(os.path.join(source, "collector", "*.c")) + \
            glob.glob(os.path.join(source, "runner", "*.c")):
        envs |= set(re.findall(r'"(MEMGATE_[A-Z0-9_]+)"', read(path)))
    # Subcommands implemented elsewhere have their own usage texts.
    report_c = os.path.join(source, "runner", "cmd_report.c")
    sub_usage = ""
    if os.path.exists(report_c):
        src = read(report_c)
        for fn in ("report_usage", "merge_usage"):
            sub_usage += c_string_literals(c_function_body(src, fn) or "")
        envs |= set(re.findall(r'getenv\("([A-Z][A-Z0-9_]*)"\)', src))
    suppress_c = os.path.join(source, "runner", "cmd_suppress.c")
    if os.path.exists(suppress_c):
        sub_usage += c_string_literals(c_function_body(read(suppress_c), "suppress_usage") or "")
    longs |= set(LONG_OPT_RE.findall(sub_usage))
    shorts |= set(SHORT_OPT_RE.findall(sub_usage))
    if memgate:
        out = subprocess.run([memgate, "--help"], capture_output=True, text=True, timeout=30)
        help_text = out.stdout
        for sub in sorted(subcommands):
            if sub in ("report", "merge", "suppress"):
                r = subprocess.run([memgate, sub, "--help"], capture_output=True, text=True,
                                   timeout=30)
                if r.returncode == 0:
                    help_text += r.stdout
        longs |= set(LONG_OPT_RE.findall(help_text))
        shorts |= set(SHORT_OPT_RE.findall(help_text))
        subcommands |= set(re.findall(r"\bmemgate ([a-z]+) ", help_text))
    subcommands.discard("version")  # `memgate version` is an alias of --version
    subcommands.discard("help")
    return longs, shorts, subcommands, envs


def cmd_cli_options(args, c):
    longs, shorts, subs, envs = cli_facts(args.source, args.memgate)
    c.ok(len(longs) >= 10, f"found only {len(longs)} long options in the CLI sources: "
         "has runner/main.c changed shape? (update check_docs.py)")
    c.ok({"run", "exec", "list"} <= subs, f"subcommands found: {sorted(subs)}")
    man_path = os.path.join(args.source, "docs", "man", "memgate.1")
    man = roff_to_text(read(man_path))
    md_files = sorted(glob.glob(os.path.join(args.source, "docs", "*.md")))
    md = {os.path.basename(p): read(p) for p in md_files}
    c.ok(md, "no docs/*.md files")
    for opt in sorted(longs):
        c.ok(mentions(man, opt), f"option {opt} is not in docs/man/memgate.1")
        where = [n for n, t in md.items() if mentions(t, opt)]
        c.ok(where, f"option {opt} is in no docs/*.md")
    for opt in sorted(shorts - {"-h"}):
        c.ok(mentions(man, opt), f"short option {opt} is not in docs/man/memgate.1")
    for sub in sorted(subs):
        c.ok(re.search(r"^\.SS\s+.*\bmemgate " + sub + r"\b", read(man_path), re.M),
             f"subcommand '{sub}' has no .SS section in docs/man/memgate.1")
        c.ok(any(mentions(t, "memgate " + sub) for t in md.values()),
             f"subcommand 'memgate {sub}' is in no docs/*.md")
    for env in sorted(envs):
        c.ok(mentions(man, env), f"environment variable {env} is not in docs/man/memgate.1")
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS",
                    "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"):
        c.ok(re.search(r'^\.SH\s+"?' + section + r'"?\s*$', read(man_path), re.M),
             f"docs/man/memgate.1 has no {section} section")
    # The exit statuses: 0, 1, 2 and those the CLI's header comment names (130/143).
    page = read(man_path)
    m = re.search(r'^\.SH\s+"?EXIT STATUS"?\s*$(.*?)^\.SH', page, re.M | re.S)
    exit_text = roff_to_text(m.group(1)) if m else ""
    header = main_c_header(args.source)
    codes = {"0", "1", "2"} | set(re.findall(r"\b(1[2-5][0-9])\b", header))
    for code in sorted(codes, key=int):
        c.ok(mentions(exit_text, code), f"exit status {code} is not in the EXIT STATUS "
             "section of docs/man/memgate.1")


def main_c_header(source):
    """The comment at the top of runner/main.c, where the CLI states its exit statuses."""
    src = read(os.path.join(source, "runner", "main.c"))
    m = re.match(r"\s*/\*(.*?)\*/", src, re.S)
    return m.group(1) if m else ""


# ---- api -------------------------------------------------------------------------------

def api_facts(source):
    """Public names of include/memgate/*.h: functions, macros, types, enumerators."""
    functions, macros, types, values = set(), set(), set(), set()
    for path in sorted(glob.glob(os.path.join(source, "include", "memgate", "*.h"))):
        src = read(path)
        code = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
        functions |= set(re.findall(r"MEMGATE_API\s+[^;{}()]*?\b(memgate_\w+)\s*\(", code))
        functions |= set(re.findall(r"static\s+inline\s+[^;{}()]*?\b(memgate_\w+)\s*\(", code))
        guards = set(re.findall(r"#ifndef\s+(\w+)\s*\n\s*#define\s+\1\b", code))
        for name in re.findall(r"^\s*#\s*define\s+(MEMGATE_\w+)", code, re.M):
            if name in guards or name.endswith("_"):
                continue  # include guards and helpers with a trailing '_' are private
            macros.add(name)
        # Macros the user defines (MEMGATE_DISABLE) or the build defines.
        macros |= set(re.findall(r"defined\s*\(\s*(MEMGATE_\w+)\s*\)", code))
        types |= set(re.findall(r"typedef\s+(?:struct|enum)\s+(memgate_\w+)", code))
        types |= set(re.findall(r"\}\s*(memgate_\w+)\s*;", code))
        types |= set(re.findall(r"\(\s*\*\s*(memgate_\w+)\s*\)", code))
        values |= set(re.findall(r"^\s*(MEMGATE_[A-Z_]+)\s*=", code, re.M))
        for name in re.findall(r"\bX\(\s*([A-Z]+)\s*,", code):
            values.add("MEMGATE_" + name)
    return functions, macros, types, values


def cmd_api(args, c):
    functions, macros, types, values = api_facts(args.source)
    c.ok(len(functions) >= 20, f"found only {len(functions)} public functions: has the "
         "header layout changed? (update check_docs.py)")
    page_src = read(os.path.join(args.source, "docs", "man", "memgate.3"))
    page = roff_to_text(page_src)
    for kind, names in (("function", functions), ("macro", macros), ("type", types),
                        ("constant", values)):
        for name in sorted(names):
            c.ok(mentions(page, name), f"{kind} {name} is not in docs/man/memgate.3")
    # Every function gets its own entry in the FUNCTIONS section: a line that starts
    # with its name in bold, so a mention in passing does not count as documentation.
    for name in sorted(functions):
        c.ok(re.search(r'^\.(?:B|BR|BI|SS)\s+"?' + re.escape(name) + r"\b", page_src, re.M),
             f"function {name} has no entry of its own (a .B/.BR/.BI/.SS line starting "
             "with its name) in docs/man/memgate.3")
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "RETURN VALUE", "SEE ALSO"):
        c.ok(re.search(r'^\.SH\s+"?' + section + r'"?\s*$', page_src, re.M),
             f"docs/man/memgate.3 has no {section} section")


# ---- man-render ------------------------------------------------------------------------

def cmd_man_render(args, c):
    pages = sorted(glob.glob(os.path.join(args.source, "docs", "man", "*.[0-9]")))
    c.ok(len(pages) >= 2, f"expected memgate.1 and memgate.3 in docs/man, found {pages}")
    groff = shutil.which("groff")
    man = shutil.which("man")
    c.ok(groff, "groff is not installed (Debian: groff-base)")
    c.ok(man, "man is not installed (Debian: man-db)")
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80", MANPAGER="cat", PAGER="cat")
    for page in pages:
        name = os.path.basename(page)
        stem, section = name.rsplit(".", 1)
        th = re.search(r"^\.TH\s+(\S+)\s+(\S+)", read(page), re.M)
        c.ok(th and th.group(1).strip('"').lower() == stem and th.group(2).strip('"') == section,
             f"{name}: .TH must name {stem.upper()} {section}")
        if groff:
            r = subprocess.run([groff, "-man", "-ww", "-z", "-Kutf8", page], capture_output=True,
                               text=True, env=env, timeout=60)
            c.ok(r.returncode == 0 and not r.stderr.strip(),
                 f"{name}: groff -man -ww -z: status {r.returncode}: {r.stderr.strip()}")
            r = subprocess.run([groff, "-man", "-ww", "-Tutf8", "-Kutf8", page],
                               capture_output=True, text=True, env=env, timeout=60)
            c.ok(len(r.stdout) > 2000, f"{name}: groff rendered almost nothing")
        if man:
            r = subprocess.run([man, "--warnings", "-l", page], capture_output=True, text=True,
                               env=env, timeout=60)
            c.ok(r.returncode == 0 and not r.stderr.strip(),
                 f"{name}: man --warnings -l: status {r.returncode}: {r.stderr.strip()}")


# ---- links -----------------------------------------------------------------------------

def slug(heading):
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors_of(md_text):
    seen, out = {}, set()
    in_code = False
    for line in md_text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def cmd_links(args, c):
    docs = os.path.join(args.source, "docs")
    md_files = sorted(glob.glob(os.path.join(docs, "*.md")))
    for path in md_files:
        text = read(path)
        text_no_code = re.sub(r"```.*?```", "", text, flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text_no_code):
            if re.match(r"^[a-z]+:", target):
                continue  # external: not checked here
            file_part, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(docs, file_part)) if file_part else path
            name = os.path.basename(path)
            if not c.ok(os.path.exists(dest), f"{name}: link to {target}: {dest} does not exist"):
                continue
            if anchor and dest.endswith(".md"):
                c.ok(anchor in anchors_of(read(dest)),
                     f"{name}: link to {target}: no heading with anchor #{anchor}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", required=True, help="memgate source tree")
    ap.add_argument("--memgate", help="the memgate executable (adds its --help text)")
    ap.add_argument("subcommand", choices=["cli-options", "api", "man-render", "links"])
    args = ap.parse_args()
    c = Checks()
    {"cli-options": cmd_cli_options, "api": cmd_api, "man-render": cmd_man_render,
     "links": cmd_links}[args.subcommand](args, c)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
