#!/usr/bin/env bash
# Builds memgate and runs all of its tests:
#   1. a sanitizer build (ASan+UBSan on the runner, the unit tests and the CLI; never on
#      the collector, which replaces malloc inside tested processes), whole test suite;
#   2. the normal build with warnings as errors, whole test suite (its ctest summary is
#      the last thing printed).
# Installs missing Debian packages itself (run as root). Usage: ci/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/deps.sh
mg_ensure_packages "${MG_BUILD_PACKAGES[@]}"

jobs=$(nproc 2>/dev/null || echo 2)
export CTEST_OUTPUT_ON_FAILURE=1

echo "== sanitizer build (ASan+UBSan) =="
cmake -S . -B build-asan -DMEMGATE_WERROR=ON -DMEMGATE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ctest -j"$jobs" --timeout 300)

echo "== release build (warnings as errors) =="
cmake -S . -B build -DMEMGATE_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest -j"$jobs" --timeout 300)
