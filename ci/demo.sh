#!/usr/bin/env bash
# Runs memgate's main job on the bundled example suites: installs the Debian packages
# that building memgate needs (ci/deps.sh MG_RUNTIME_PACKAGES, only the missing ones),
# builds memgate and three example CUnit programs, runs them under `memgate run`, prints
# the console report and writes an HTML, a JUnit and a JSON report.
#
# Run it as root (e.g. in a container without sudo), as a user who may sudo (apt-get is
# then run through sudo, and only when a package is missing), or as `sudo ci/demo.sh`.
# Arguments are passed on to `memgate run` (e.g. ci/demo.sh -v).
#
# Environment:
#   MG_BUILD_DIR=build       the build directory; configured here unless it already is
#   MG_REPORT_DIR=reports    where memgate.html, junit.xml and memgate.json are written
#   MG_SKIP_PACKAGES=1       do not check the Debian packages (see ci/deps.sh)
#
# The examples leak on purpose, so memgate exits 1; this script exits 0 when memgate
# produced its reports (exit 0 or 1) and fails on anything else.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/deps.sh
build=${MG_BUILD_DIR:-build}
reports=${MG_REPORT_DIR:-reports}
steps=4

mg_step 1 $steps "Debian packages for building memgate"
mg_ensure_packages "${MG_RUNTIME_PACKAGES[@]}"

# An existing build directory keeps its configuration (a Debug or sanitizer tree stays
# one); `cmake --build` reconfigures it by itself when a CMakeLists.txt changed.
if [ -f "$build/CMakeCache.txt" ]; then
    mg_step 2 $steps "configure: $build is configured already"
else
    mg_step 2 $steps "configure memgate in $build (cmake)"
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi

mg_step 3 $steps "build memgate and the example suites (one line per file compiled)"
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" \
    --target memgate_cli memgate memgate_symbolize fixture_clean fixture_leaky fixture_annotated

mg_step 4 $steps "memgate run on the example suites (some tests leak on purpose)"
mkdir -p "$reports"
html=$reports/memgate.html
junit=$reports/junit.xml
json=$reports/memgate.json
fx=$build/tests/fixtures
set +e
"$build/bin/memgate" run -j 2 --html "$html" --junit "$junit" --json "$json" \
    "$fx/fixture_clean" "$fx/fixture_leaky" "$fx/fixture_annotated" "$@"
rc=$?
set -e
echo
echo "memgate exited with status $rc (0: all within budget, 1: some test broke its budget"
echo "or failed, as these examples do on purpose, 2: usage or setup error)."
if [ "$rc" -le 1 ]; then
    abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
    echo "Reports:"
    echo "  HTML   $(abs "$html")   (open it in a browser)"
    echo "  JUnit  $(abs "$junit")"
    echo "  JSON   $(abs "$json")"
fi
[ "$rc" -le 1 ]
