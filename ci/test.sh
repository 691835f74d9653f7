#!/usr/bin/env bash
# Builds memgate and runs all of its tests:
#   1. a sanitizer build (ASan+UBSan on the runner, the unit tests and the CLI; never on
#      the collector, which replaces malloc inside tested processes), whole test suite;
#   2. the normal build with warnings as errors, whole test suite;
#   3. the libFuzzer targets of the file readers (tests/fuzz/), built with clang, ASan and
#      UBSan: a quick ctest run of each, then $MG_FUZZ_SECONDS (default 30) seconds of
#      each; a crash, leak, hang or broken property fails CI and the input is kept under
#      build-fuzz/tests/fuzz/artifacts/.
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

echo "== fuzzing (libFuzzer, ${MG_FUZZ_SECONDS:-30} s per target) =="
# Warnings are the -Werror builds' business (gcc); clang's extra ones do not stop fuzzing.
CC=clang cmake -S . -B build-fuzz -DMEMGATE_FUZZ=ON -DMEMGATE_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs" --target memgate_fuzzers
(cd build-fuzz && ctest -L fuzz --timeout 300)
tests/fuzz/run.sh build-fuzz "${MG_FUZZ_SECONDS:-30}"
