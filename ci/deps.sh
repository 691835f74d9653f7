# Sourced by the ci/*.sh scripts: installs the Debian packages memgate needs, once.
# Idempotent: only missing packages are installed, with apt-get as root.

# Usage: mg_ensure_packages PKG...
mg_ensure_packages() {
    local missing=()
    local p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "ci: installing missing Debian packages: ${missing[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "ci: not root and no sudo: install these packages first: ${missing[*]}" >&2
            return 1
        fi
    fi
    # libunwind-dev conflicts with libunwind-14-dev (clang's); apt removes the latter.
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# What building and running memgate needs: the compiler and build tools, and the
# libraries the collector and the CLI link (CUnit, libunwind, cJSON, libdw/libelf). A demo
# that only builds memgate and runs it on a suite installs these alone.
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
