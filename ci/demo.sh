#!/usr/bin/env bash
# Runs memgate's main job on the bundled example suites: builds memgate and the example
# CUnit binaries, runs them under `memgate run`, prints the console report and writes
# reports/junit.xml and reports/memgate.json. Installs missing Debian packages itself.
# The examples leak on purpose, so memgate exits 1; this script exits 0 when memgate
# produced its reports (exit 0 or 1) and fails on anything else.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/deps.sh
mg_ensure_packages "${MG_BUILD_PACKAGES[@]}"

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" \
    --target memgate_cli memgate memgate_symbolize memgate_fixtures >/dev/null
mkdir -p reports
fx=build/tests/fixtures
set +e
build/bin/memgate run -j 2 --junit reports/junit.xml --json reports/memgate.json \
    "$fx/fixture_clean" "$fx/fixture_leaky" "$fx/fixture_annotated" "$@"
rc=$?
set -e
echo
echo "memgate exited with status $rc (0: all within budget, 1: some test broke its budget"
echo "or failed, as these examples do on purpose, 2: usage or setup error)."
echo "Reports: reports/junit.xml reports/memgate.json"
[ "$rc" -le 1 ]
