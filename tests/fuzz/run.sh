#!/usr/bin/env bash
# Runs every fuzzer of a MEMGATE_FUZZ build for a bounded time each and fails on the first
# crash, leak, timeout or broken property. Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]
# (SECONDS per target; default $MG_FUZZ_SECONDS, else 30). New inputs are kept in
# BUILD_DIR/tests/fuzz/corpus/TARGET/ between runs; a failing input is saved as
# BUILD_DIR/tests/fuzz/artifacts/TARGET-crash-* (or -leak-, -timeout-, -oom-).
set -euo pipefail
build=${1:?usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]}
seconds=${2:-${MG_FUZZ_SECONDS:-30}}
src=$(cd "$(dirname "$0")" && pwd)
out=$build/tests/fuzz
shopt -s nullglob
targets=("$build"/bin/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no fuzz_* programs in $build/bin (configure with -DMEMGATE_FUZZ=ON and build memgate_fuzzers)" >&2
    exit 2
fi
mkdir -p "$out/artifacts"
failed=()
for bin in "${targets[@]}"; do
    name=$(basename "$bin")
    mkdir -p "$out/corpus/$name"
    log=$out/$name.log
    echo "== $name: ${seconds} s =="
    # -timeout: one input that takes 10 s is a hang; -rss_limit_mb: a memory blow-up is a
    # failure too. The first corpus directory takes new inputs; the seeds stay as they are.
    if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="$src/memgate.dict" \
        -artifact_prefix="$out/artifacts/$name-" "$out/corpus/$name" "$src/corpus/$name" >"$log" 2>&1; then
        grep -E "^stat::number_of_executed_units|^stat::new_units_added|^stat::peak_rss_mb" "$log" |
            sed "s/^/  /"
    else
        failed+=("$name")
        echo "fuzz: $name FAILED; the last lines of $log:" >&2
        tail -n 40 "$log" >&2
    fi
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: failing targets: ${failed[*]}; inputs saved in $out/artifacts/" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, nothing found"
