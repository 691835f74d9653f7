#!/usr/bin/env bash
# memgate-precommit.sh -- a fast local memory gate for pre-commit (see
# .pre-commit-hooks.yaml beside this file): runs, quietly and in parallel, only the tests
# whose suite or test names relate to the changed files, and all of them when that is
# not possible.
#
# Usage: memgate-precommit.sh [OPTIONS] [--] [FILE...]
#   FILE...                  changed files (pre-commit passes them); none: the files
#                            staged in git (git diff --cached)
#   --build-dir DIR          build directory (MEMGATE_BUILD_DIR, default: build)
#   --binaries LIST          test binaries, paths or globs relative to the build dir,
#                            separated by spaces (MEMGATE_BINARIES; required)
#   --memgate PATH           the memgate CLI (MEMGATE_CLI; default: memgate on PATH,
#                            else BUILD_DIR/bin/memgate)
#   -j, --jobs N             tests in parallel (MEMGATE_JOBS; default: the number of CPUs)
#   --budgets FILE           JSON budgets file (MEMGATE_BUDGETS)
#   --unmatched all|ignore   a changed C/C++ file that relates to no test: run all tests
#                            (all, the default: it may be used by any of them) or leave
#                            it out of the selection (ignore)
#   --build                  `cmake --build BUILD_DIR` first, so the tests see the change
#   --dry-run                print the selected tests and the command; run nothing
#   -h, --help
#
# How files map to tests: of each changed C/C++ file (.c .h .cc .cpp .cxx .hh .hpp .hxx)
# the base name without its extension is taken, also with a test_/_test/tests_/_tests
# prefix or suffix removed (test_cache.c -> test_cache and cache); a test relates to the
# file when its suite or its test name contains one of those words of 3 or more
# characters, ignoring case (cache.c -> cache/put_get, lru/cache_evicts). Files of other
# kinds are not looked at; with no C/C++ file changed, nothing runs.
#
# Exit status: memgate's (0 all selected tests within budget, 1 a test failed, 2 usage
# or setup error), 0 when nothing had to run.
set -uo pipefail

say() { printf 'memgate-precommit: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }
usage() { sed -n '2,/^set -uo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }

build_dir=${MEMGATE_BUILD_DIR:-build}
binaries_spec=${MEMGATE_BINARIES:-}
cli=${MEMGATE_CLI:-}
jobs=${MEMGATE_JOBS:-}
budgets=${MEMGATE_BUDGETS:-}
unmatched=all
do_build=0
dry_run=0
files=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --build-dir | --binaries | --memgate | -j | --jobs | --budgets | --unmatched)
        [[ $# -ge 2 ]] || die "$1 needs a value" ;;&
    --build-dir) build_dir=$2; shift 2 ;;
    --binaries) binaries_spec=$2; shift 2 ;;
    --memgate) cli=$2; shift 2 ;;
    -j | --jobs) jobs=$2; shift 2 ;;
    --budgets) budgets=$2; shift 2 ;;
    --unmatched) unmatched=$2; shift 2 ;;
    --build) do_build=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; files+=("$@"); break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) files+=("$1"); shift ;;
    esac
done
[[ $unmatched == all || $unmatched == ignore ]] || die "--unmatched takes all or ignore, not '$unmatched'"
[[ -n $jobs ]] || jobs=$(nproc 2>/dev/null || echo 2)
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "jobs '$jobs' is not a positive number"
[[ -n $binaries_spec ]] || die "no test binaries: pass --binaries 'GLOB...' (or set MEMGATE_BINARIES)"

# ---- the changed C/C++ files --------------------------------------------------------------
if [[ ${#files[@]} -eq 0 ]]; then
    if git rev-parse --git-dir >/dev/null 2>&1; then
        while IFS= read -r -d '' f; do files+=("$f"); done \
            < <(git diff --cached --name-only --diff-filter=ACMR -z)
    else
        die "no files given and not in a git repository"
    fi
fi
sources=()
for f in "${files[@]}"; do
    case ${f,,} in
    *.c | *.h | *.cc | *.cpp | *.cxx | *.hh | *.hpp | *.hxx) sources+=("$f") ;;
    esac
done
if [[ ${#sources[@]} -eq 0 ]]; then
    say "no C/C++ file changed: nothing to run"
    exit 0
fi

# ---- the CLI and the binaries -----------------------------------------------------------------
if [[ -z $cli ]]; then
    if command -v memgate >/dev/null 2>&1; then cli=memgate
    elif [[ -x $build_dir/bin/memgate ]]; then cli=$build_dir/bin/memgate
    else die "memgate CLI not found: put it on PATH or pass --memgate PATH"
    fi
fi
command -v "$cli" >/dev/null 2>&1 || die "memgate CLI '$cli' is not an executable"
if [[ $do_build == 1 ]]; then
    cmake --build "$build_dir" -j "$jobs" >/dev/null || die "cmake --build $build_dir failed"
fi
binaries=()
shopt -s nullglob globstar
read -r -d '' -a patterns <<<"$binaries_spec" || true # all lines, split on blanks
for pat in "${patterns[@]}"; do
    [[ $pat == /* ]] || pat=$build_dir/$pat
    if [[ $pat == *[\*\?\[]* ]]; then
        # shellcheck disable=SC2206 # the glob expands here
        matches=($pat)
        found=0
        for m in "${matches[@]}"; do
            if [[ -f $m && -x $m ]]; then binaries+=("$m"); found=1; fi
        done
        [[ $found == 1 ]] || die "no executable file matches '$pat': build the tests first (or pass --build)"
    else
        binaries+=("$pat")
    fi
done
shopt -u nullglob globstar

# ---- selection ----------------------------------------------------------------------------------
# Every suite/test of the binaries, in registry order, once.
listing=$("$cli" list "${binaries[@]}") || die "memgate list failed"
all=()
declare -A seen=()
while IFS=$'\t' read -r name _; do
    [[ -n $name && -z ${seen[$name]:-} ]] || continue
    seen[$name]=1
    all+=("$name")
done <<<"$listing"
[[ ${#all[@]} -gt 0 ]] || die "the binaries hold no test"

# words_of FILE: the words a file's tests are recognized by, one a line.
words_of() {
    local stem=${1##*/}
    stem=${stem%.*}
    local w
    for w in "$stem" "${stem#test_}" "${stem#tests_}" "${stem%_test}" "${stem%_tests}"; do
        [[ ${#w} -ge 3 ]] && printf '%s\n' "${w,,}"
    done | sort -u
}

declare -A chosen=()
reasons=()
unmatched_files=()
for f in "${sources[@]}"; do
    hits=0
    while IFS= read -r w; do
        for name in "${all[@]}"; do
            suite=${name%%/*} test=${name#*/}
            if [[ ${suite,,} == *"$w"* || ${test,,} == *"$w"* ]]; then
                [[ -n ${chosen[$name]:-} ]] || hits=$((hits + 1))
                chosen[$name]=1
            fi
        done
    done < <(words_of "$f")
    if [[ $hits -gt 0 ]]; then reasons+=("${f##*/}"); else unmatched_files+=("${f##*/}"); fi
done

selected=()
for name in "${all[@]}"; do
    [[ -z ${chosen[$name]:-} ]] || selected+=("$name")
done
if [[ ${#selected[@]} -eq 0 ]]; then
    say "no test relates to ${unmatched_files[*]}: running all ${#all[@]} tests"
    selected=("${all[@]}")
elif [[ ${#unmatched_files[@]} -gt 0 && $unmatched == all ]]; then
    say "no test relates to ${unmatched_files[*]}: running all ${#all[@]} tests"
    selected=("${all[@]}")
else
    say "${#selected[@]} of ${#all[@]} tests relate to ${reasons[*]}" \
        "${unmatched_files:+(no test relates to ${unmatched_files[*]})}"
fi

args=(run -q -j "$jobs")
[[ -z $budgets ]] || args+=(--budgets "$budgets")
if [[ ${#selected[@]} -lt ${#all[@]} ]]; then
    for name in "${selected[@]}"; do
        # -k takes a glob: escape the characters it would read as one.
        args+=(-k "$(printf '%s' "$name" | sed 's/[][*?\\]/\\&/g')")
    done
fi

if [[ $dry_run == 1 ]]; then
    printf 'selected %s\n' "${selected[@]}"
    printf 'command %q' "$cli"
    printf ' %q' "${args[@]}" "${binaries[@]}"
    printf '\n'
    exit 0
fi
exec "$cli" "${args[@]}" "${binaries[@]}"
