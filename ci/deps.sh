# shellcheck shell=bash disable=SC2034  # the package arrays are used by the scripts that source this
# Sourced by the ci/*.sh scripts: the Debian packages memgate needs, a function that
# installs the missing ones, and the step headers the scripts print.
#
# Root or not: as root (a container without sudo, or `sudo ci/demo.sh`) apt-get runs
# directly; otherwise through sudo when there is one; otherwise the script stops and
# names the packages to install first. Idempotent: packages already installed are not
# touched, and when none is missing apt-get does not run at all (nor sudo).
# MG_SKIP_PACKAGES=1 skips the check (another distribution: install the equivalents of
# the lists below yourself). Without apt-get and dpkg-query the check is skipped with a
# note naming the packages.

# Usage: mg_ensure_packages PKG...
mg_ensure_packages() {
    if [ "${MG_SKIP_PACKAGES:-0}" = 1 ]; then
        echo "ci: MG_SKIP_PACKAGES=1: not checking the Debian packages $*"
        return 0
    fi
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        echo "ci: no dpkg-query/apt-get (not Debian or Ubuntu): make sure the equivalents of" \
            "these are installed: $*" >&2
        return 0
    fi
    local missing=()
    local p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "ci: the $# Debian packages needed are installed"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "ci: not root and no sudo: install these packages first (as root:" \
                "apt-get install ${missing[*]}), or run this script as root" >&2
            return 1
        fi
    fi
    echo "ci: installing ${#missing[@]} missing Debian packages${sudo:+ with sudo}: ${missing[*]}"
    echo "ci: (apt-get prints what it fetches and unpacks; a first install takes a few minutes)"
    # -q keeps apt's lines (Get:, Unpacking, Setting up) and drops its progress bars, so
    # the log shows progress and stays readable in CI.
    # libunwind-dev conflicts with libunwind-14-dev (LLVM's, which says it provides
    # libunwind-dev but has no libunwind.pc): apt removes the latter, -y confirms.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
}

# Usage: mg_step N TOTAL TEXT...: a header line saying which step of the script runs, so
# that a long build never looks stuck; the time is the script's running time so far.
mg_step() {
    local n=$1 total=$2
    shift 2
    printf '\n== [%s/%s] %s  (%dm%02ds)\n' "$n" "$total" "$*" $((SECONDS / 60)) $((SECONDS % 60))
}

# What building and running memgate needs: the compiler and build tools (build-essential
# brings gcc, g++ and make), and the libraries the collector and the CLI link (CUnit,
# libunwind, cJSON, libdw/libelf). ci/demo.sh, which only builds memgate and runs it on
# the example suites, installs these alone; so does a CI job that installs memgate
# (templates/github/memgate-workflow.yml, templates/gitlab/memgate.gitlab-ci.yml).
MG_RUNTIME_PACKAGES=(build-essential cmake pkg-config libcunit1-dev libunwind-dev libcjson-dev
                     libdw-dev libelf-dev)

# What only memgate's own tests use: xmllint (JUnit schema), g++ (C++ fixtures), time and
# git (benchmarks, integration), Python with jsonschema and PyYAML (end-to-end, docs and
# template tests), groff/man (man page checks), chromium (HTML report), and clang with its
# runtime libraries (libclang-rt-14-dev: libFuzzer and the sanitizers of the fuzz build).
MG_TEST_PACKAGES=(libxml2-utils g++ time python3 python3-jsonschema groff-base man-db chromium
                  python3-yaml git clang libclang-rt-14-dev)

# Everything the build and the tests use (ci/test.sh, ci/coverage.sh).
MG_BUILD_PACKAGES=("${MG_RUNTIME_PACKAGES[@]}" "${MG_TEST_PACKAGES[@]}")
