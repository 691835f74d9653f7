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

# Everything the build and the tests use.
MG_BUILD_PACKAGES=(build-essential cmake pkg-config libcunit1-dev libunwind-dev libcjson-dev
                   libdw-dev libelf-dev libxml2-utils g++ time python3 python3-jsonschema
                   groff-base man-db chromium python3-yaml git)
