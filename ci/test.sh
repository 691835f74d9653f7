#!/usr/bin/env bash
# Builds memgate and runs all of its tests:
#   1. a sanitizer build (ASan+UBSan on the runner, the unit tests and the CLI; never on
#      the collector, which replaces malloc inside tested processes): every test but the
#      browser, docs and template checks (labels html, docs, templates), which do not
#      depend on the build flavour;
#   2. the libFuzzer targets of the file readers (tests/fuzz/), built with clang, ASan and
#      UBSan: a quick ctest run of each, then $MG_FUZZ_SECONDS (default 20) seconds of
#      each; a crash, leak, hang or broken property fails CI and the input is kept under
#      build-fuzz/tests/fuzz/artifacts/ (tests/fuzz/run.sh build-fuzz 600 fuzzes longer);
#   3. the normal build with warnings as errors, whole test suite, last: ctest's closing
#      line ("100% tests passed, 0 tests failed out of N") counts every test.
# Installs the missing Debian packages itself (ci/deps.sh MG_BUILD_PACKAGES: what the
# build and every test use). Run it as root, as a user who may sudo, or with sudo.
# Each step is announced by a "== [N/7] ..." line; cmake's, the compiler's and ctest's
# own progress lines follow it. Usage: ci/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/deps.sh
steps=7
fuzz_seconds=${MG_FUZZ_SECONDS:-20}
flavour_free="^(html|docs|templates)$"

mg_step 1 $steps "Debian packages for the build and the tests"
mg_ensure_packages "${MG_BUILD_PACKAGES[@]}"

jobs=$(nproc 2>/dev/null || echo 2)
export CTEST_OUTPUT_ON_FAILURE=1

mg_step 2 $steps "sanitizer build (ASan+UBSan) in build-asan: configure and build"
cmake -S . -B build-asan -DMEMGATE_WERROR=ON -DMEMGATE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build build-asan -j"$jobs"
mg_step 3 $steps "sanitizer build: every test of our C code (ctest -LE '$flavour_free')"
# The browser, documentation and template checks read what the runner writes and what the
# docs say; they do not depend on the build flavour and run once, in the release build.
(cd build-asan && ctest -j"$jobs" --timeout 300 -LE "$flavour_free")

mg_step 4 $steps "fuzz build (clang, libFuzzer) in build-fuzz: configure, build, quick runs"
# Warnings are the -Werror builds' business (gcc); clang's extra ones do not stop fuzzing.
CC=clang cmake -S . -B build-fuzz -DMEMGATE_FUZZ=ON -DMEMGATE_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build-fuzz -j"$jobs" --target memgate_fuzzers
(cd build-fuzz && ctest -L fuzz --timeout 300)
mg_step 5 $steps "fuzzing (libFuzzer, $fuzz_seconds s per target)"
tests/fuzz/run.sh build-fuzz "$fuzz_seconds"

# The release build runs last so that ctest's closing line counts every test.
mg_step 6 $steps "release build (warnings as errors) in build: configure and build"
cmake -S . -B build -DMEMGATE_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
mg_step 7 $steps "release build: every test (ctest)"
(cd build && ctest -j"$jobs" --timeout 300)
printf '\n== ci/test.sh: every step passed (%dm%02ds)\n' $((SECONDS / 60)) $((SECONDS % 60))
