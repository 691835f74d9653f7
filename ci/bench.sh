#!/usr/bin/env bash
# ci/bench.sh -- overhead figures for the memgate collector. Not a pass/fail gate: it
# prints tables; it exits non-zero only when it cannot build or a workload itself fails.
#
# Builds Release-ish (-O2 -g, frame pointers kept) into build-bench/, then runs each
# alloc_bench workload (churn, tree, mix) BENCH_RUNS times in each configuration,
# interleaved (run 1 of every configuration, then run 2, ...) so that drift in machine
# load hits all configurations alike:
#   plain      the program alone
#   count      LD_PRELOAD=libmemgate.so MEMGATE_ACTIVE=1             (counters only)
#   stacks     ... MEMGATE_STACKS=1                                  (libunwind stacks)
#   fp         ... MEMGATE_STACKS=1 MEMGATE_UNWIND=fp                (frame-pointer stacks)
#   heaptrack  heaptrack -o TMP prog                                 (if installed)
#   valgrind   valgrind --leak-check=full prog, at 1/BENCH_VALGRIND_DIV of the size,
#              compared with plain-small: plain at that same size     (if installed)
# Per run it records the workload's own time (printed by alloc_bench), the wall time and
# the peak RSS of the process tree (GNU time %e, %M), and prints medians with ratios to
# plain. If the memgate CLI was built it also times `memgate run` on the two CUnit bench
# suites against running them plainly.
#
# Environment:
#   BENCH_RUNS=5            runs per configuration
#   BENCH_WORKLOADS="churn tree mix"
#   BENCH_CONFIGS="plain count stacks fp heaptrack valgrind"
#   BENCH_SIZE_DIV=1        divide every workload size (quick smoke runs: 10)
#   BENCH_VALGRIND_DIV=10   extra divisor for the valgrind comparison
#   BENCH_RUNNER=1          0 skips the `memgate run` section
#   BENCH_BUILD_DIR=<repo>/build-bench
#   BENCH_KEEP=0            1 keeps the raw results directory and prints its path
#   MEMGATE_STATS_FILE      set by this script per collector run; when the collector
#                           writes it, its last contents are printed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
RUNS=${BENCH_RUNS:-5}
WORKLOADS=${BENCH_WORKLOADS:-churn tree mix}
CONFIGS=${BENCH_CONFIGS:-plain count stacks fp heaptrack valgrind}
SIZE_DIV=${BENCH_SIZE_DIV:-1}
VG_DIV=${BENCH_VALGRIND_DIV:-10}
RUNNER=${BENCH_RUNNER:-1}
KEEP=${BENCH_KEEP:-0}

say() { printf '%s\n' "$*"; }
note() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 2; }

for v in BENCH_RUNS:RUNS BENCH_SIZE_DIV:SIZE_DIV BENCH_VALGRIND_DIV:VG_DIV; do
    val=${v#*:}
    [[ ${!val} =~ ^[1-9][0-9]*$ ]] || die "${v%%:*} must be a positive integer (got '${!val}')"
done
command -v cmake >/dev/null || die "cmake not found"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/memgate-bench.XXXXXX")
cleanup() {
    if [[ $KEEP == 1 ]]; then note "raw results kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---- tools ----------------------------------------------------------------------------
TIME=/usr/bin/time
if ! [[ -x $TIME ]] || ! $TIME -f %M true >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        note "installing GNU time (apt-get install time)"
        { apt-get install -y -q time || { apt-get update -q && apt-get install -y -q time; }; } \
            >"$WORK/apt.log" 2>&1 || note "could not install 'time' (see $WORK/apt.log)"
    fi
fi
HAVE_TIME=0
if [[ -x $TIME ]] && $TIME -f %M true >/dev/null 2>&1; then HAVE_TIME=1; else
    note "GNU time is missing: wall times come from bash, peak RSS is not measured"
fi

# ---- build ------------------------------------------------------------------------------
say "== building into $BUILD (Release, bench programs -O2 -g -fno-omit-frame-pointer)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMEMGATE_BUILD_TESTS=ON \
    -DMEMGATE_WERROR=OFF >"$WORK/configure.log" 2>&1 \
    || { tail -n 30 "$WORK/configure.log" >&2; die "cmake configure failed"; }
JOBS=$(nproc 2>/dev/null || echo 2)
cmake --build "$BUILD" -j "$JOBS" --target alloc_bench suite_bench trivial_suite \
    >"$WORK/build.log" 2>&1 || { tail -n 30 "$WORK/build.log" >&2; die "building the bench programs failed"; }
BENCH=$BUILD/tests/bench/alloc_bench
LIB=$BUILD/lib/libmemgate.so
HAVE_LIB=0
if cmake --build "$BUILD" -j "$JOBS" --target memgate >"$WORK/build-lib.log" 2>&1 && [[ -f $LIB ]]; then
    HAVE_LIB=1
else
    note "libmemgate.so did not build: skipping the collector configurations (see below)"
    tail -n 15 "$WORK/build-lib.log" >&2 || true
fi
CLI=$BUILD/bin/memgate
HAVE_CLI=0
if [[ $RUNNER == 1 ]] && cmake --build "$BUILD" -j "$JOBS" --target memgate_cli >"$WORK/build-cli.log" 2>&1 \
    && [[ -x $CLI ]]; then
    HAVE_CLI=1
fi

# ---- configurations ---------------------------------------------------------------------
ACTIVE=()
for c in $CONFIGS; do
    case $c in
    plain) ACTIVE+=(plain) ;;
    count | stacks | fp)
        if [[ $HAVE_LIB == 1 ]]; then ACTIVE+=("$c"); else note "skipping $c: no libmemgate.so"; fi ;;
    heaptrack)
        if command -v heaptrack >/dev/null; then ACTIVE+=(heaptrack); else note "skipping heaptrack: not installed"; fi ;;
    valgrind)
        if command -v valgrind >/dev/null; then ACTIVE+=(plain-small valgrind); else note "skipping valgrind: not installed"; fi ;;
    *) die "unknown configuration '$c' in BENCH_CONFIGS" ;;
    esac
done
[[ " ${ACTIVE[*]} " == *" plain "* ]] || die "BENCH_CONFIGS must include plain (the baseline)"

default_size() {
    case $1 in
    churn) echo 5000000 ;;
    tree) echo 1000000 ;;
    mix) echo 1000000 ;;
    *) die "unknown workload '$1'" ;;
    esac
}

# Prints the command prefix for a configuration, one word per line.
prefix_for() {
    local cfg=$1 stats=$2
    case $cfg in
    plain | plain-small) ;;
    count) printf '%s\n' env "LD_PRELOAD=$LIB" MEMGATE_ACTIVE=1 "MEMGATE_STATS_FILE=$stats" ;;
    stacks) printf '%s\n' env "LD_PRELOAD=$LIB" MEMGATE_ACTIVE=1 MEMGATE_STACKS=1 "MEMGATE_STATS_FILE=$stats" ;;
    fp) printf '%s\n' env "LD_PRELOAD=$LIB" MEMGATE_ACTIVE=1 MEMGATE_STACKS=1 MEMGATE_UNWIND=fp \
        "MEMGATE_STATS_FILE=$stats" ;;
    heaptrack) printf '%s\n' heaptrack -o "$WORK/heaptrack.out" ;;
    valgrind) printf '%s\n' valgrind --leak-check=full --error-exitcode=97 ;;
    esac
}

RESULTS=$WORK/results.tsv
: >"$RESULTS"
FAILED=0

# run_one WORKLOAD CONFIG SIZE RUN: runs once, appends "wl cfg size run work wall rss
# peak_blocks allocs" to RESULTS.
run_one() {
    local wl=$1 cfg=$2 size=$3 run=$4
    local tag="$wl.$cfg.$run" out err tfile stats
    out=$WORK/$tag.out err=$WORK/$tag.err tfile=$WORK/$tag.time stats=$WORK/stats.$tag
    local -a prefix
    mapfile -t prefix < <(prefix_for "$cfg" "$stats")
    local rc=0 start end wall rss
    start=$(date +%s.%N)
    if [[ $HAVE_TIME == 1 ]]; then
        $TIME -f '%e %M' -o "$tfile" "${prefix[@]}" "$BENCH" "$wl" "$size" >"$out" 2>"$err" || rc=$?
    else
        "${prefix[@]}" "$BENCH" "$wl" "$size" >"$out" 2>"$err" || rc=$?
    fi
    end=$(date +%s.%N)
    rm -f "$WORK"/heaptrack.out*
    if [[ $rc != 0 ]] || ! grep -q '^alloc_bench ' "$out"; then
        note "$wl/$cfg run $run failed (exit $rc); last lines of its stderr:"
        tail -n 8 "$err" >&2 || true
        FAILED=1
        return 0
    fi
    local line work blocks allocs
    line=$(grep '^alloc_bench ' "$out")
    work=$(sed -n 's/.*elapsed_s=\([0-9.]*\).*/\1/p' <<<"$line")
    blocks=$(sed -n 's/.*peak_live_blocks=\([0-9]*\).*/\1/p' <<<"$line")
    allocs=$(sed -n 's/.*allocs=\([0-9]*\).*/\1/p' <<<"$line")
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    rss=-
    if [[ $HAVE_TIME == 1 && -s $tfile ]]; then
        read -r _ rss < <(tail -n 1 "$tfile")
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$cfg" "$size" "$run" "$work" "$wall" \
        "$rss" "$blocks" "$allocs" >>"$RESULTS"
}

say "== machine: $(nproc 2>/dev/null || echo '?') cores, $(uname -srm)"
say "   $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
say "== $RUNS runs per configuration, interleaved; configurations: ${ACTIVE[*]}"
if [[ " ${ACTIVE[*]} " == *" valgrind "* ]]; then
    say "   valgrind and plain-small run at 1/$VG_DIV of the size (valgrind is too slow at full"
    say "   size); their ratio compares the two at that same size"
fi
if [[ " ${ACTIVE[*]} " == *" heaptrack "* ]]; then
    say "   heaptrack: wall time and RSS include heaptrack_interpret, which runs beside the program"
fi

for wl in $WORKLOADS; do
    full=$(( $(default_size "$wl") / SIZE_DIV ))
    small=$(( full / VG_DIV ))
    (( small > 0 )) || small=1
    say "-- $wl: size $full (valgrind comparison: $small)"
    for ((run = 1; run <= RUNS; run++)); do
        for cfg in "${ACTIVE[@]}"; do
            case $cfg in
            plain-small | valgrind) run_one "$wl" "$cfg" "$small" "$run" ;;
            *) run_one "$wl" "$cfg" "$full" "$run" ;;
            esac
        done
        printf '   run %d/%d done\n' "$run" "$RUNS"
    done
done

# ---- summary --------------------------------------------------------------------------
say ""
say "== medians of $RUNS runs: work = the workload's own time, wall = whole process,"
say "   RSS = peak resident set (KiB); x = ratio to plain (to plain-small for valgrind);"
say "   spread = (max - min) / median of the work times; ns/alloc = work time per allocation call"
awk -F'\t' -v order="${ACTIVE[*]}" '
function median(key,   n, i, j, t, a) {
    n = split(vals[key], a, " ")
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    if (n == 0) return ""
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function spread(key,   n, i, a, lo, hi, m) {
    n = split(vals[key], a, " ")
    if (n < 2) return "-"
    lo = hi = a[1] + 0
    for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
    m = median(key)
    return (m > 0) ? sprintf("%.0f%%", (hi - lo) * 100 / m) : "-"
}
function add(key, v) { if (v != "-" && v != "") vals[key] = vals[key] (vals[key] == "" ? "" : " ") v }
{
    wl = $1; cfg = $2
    if (!(wl in seenwl)) { seenwl[wl] = 1; wls[++nwl] = wl }
    size[wl, cfg] = $3; blocks[wl, cfg] = $8; allocs[wl, cfg] = $9
    add(wl SUBSEP cfg SUBSEP "work", $5); add(wl SUBSEP cfg SUBSEP "wall", $6); add(wl SUBSEP cfg SUBSEP "rss", $7)
    runs[wl, cfg]++
}
END {
    ncfg = split(order, cfgs, " ")
    printf "%-6s %-12s %9s %4s %10s %7s %7s %9s %7s %10s %7s %9s\n", "work", "config", "size", "runs", "work_s", "spread", "x", "wall_s", "x", "rss_KiB", "x", "ns/alloc"
    for (w = 1; w <= nwl; w++) {
        wl = wls[w]
        for (c = 1; c <= ncfg; c++) {
            cfg = cfgs[c]
            if (!((wl, cfg) in runs)) continue
            base = (cfg == "valgrind" || cfg == "plain-small") ? "plain-small" : "plain"
            wk = median(wl SUBSEP cfg SUBSEP "work"); wa = median(wl SUBSEP cfg SUBSEP "wall"); rs = median(wl SUBSEP cfg SUBSEP "rss")
            bwk = median(wl SUBSEP base SUBSEP "work"); bwa = median(wl SUBSEP base SUBSEP "wall"); brs = median(wl SUBSEP base SUBSEP "rss")
            xw = (bwk > 0) ? sprintf("%.2f", wk / bwk) : "-"
            xa = (bwa > 0) ? sprintf("%.2f", wa / bwa) : "-"
            xr = (brs > 0 && rs != "") ? sprintf("%.2f", rs / brs) : "-"
            nsa = (allocs[wl, cfg] > 0) ? sprintf("%.1f", wk * 1e9 / allocs[wl, cfg]) : "-"
            printf "%-6s %-12s %9d %4d %10.4f %7s %7s %9.3f %7s %10s %7s %9s\n", wl, cfg, size[wl, cfg], runs[wl, cfg], wk, spread(wl SUBSEP cfg SUBSEP "work"), xw, wa, xa, (rs == "" ? "-" : rs), xr, nsa
            medrss[wl, cfg] = rs
        }
    }
    # Extra memory per live block at the peak: only meaningful where many blocks are live.
    printf "\n== extra peak RSS per block live at the peak, vs plain at the same size\n"
    printf "%-6s %-12s %12s %14s %12s\n", "work", "config", "live_blocks", "extra_KiB", "B/block"
    for (w = 1; w <= nwl; w++) {
        wl = wls[w]
        for (c = 1; c <= ncfg; c++) {
            cfg = cfgs[c]
            if (cfg == "plain" || cfg == "plain-small" || !((wl, cfg) in runs)) continue
            base = (cfg == "valgrind") ? "plain-small" : "plain"
            if (medrss[wl, cfg] == "" || medrss[wl, base] == "" || blocks[wl, cfg] < 10000) continue
            extra = medrss[wl, cfg] - medrss[wl, base]
            printf "%-6s %-12s %12d %14d %12.1f\n", wl, cfg, blocks[wl, cfg], extra, extra * 1024 / blocks[wl, cfg]
        }
    }
}' "$RESULTS"

# Optional: statistics written by the collector itself, when it supports MEMGATE_STATS_FILE.
stats_shown=0
for wl in $WORKLOADS; do
    for cfg in count stacks fp; do
        f=$WORK/stats.$wl.$cfg.$RUNS
        if [[ -s $f ]]; then
            if [[ $stats_shown == 0 ]]; then say ""; say "== collector statistics (MEMGATE_STATS_FILE, last run)"; fi
            stats_shown=1
            say "-- $wl/$cfg"
            sed 's/^/   /' "$f"
        fi
    done
done
if [[ $stats_shown == 0 && $HAVE_LIB == 1 ]]; then
    say ""
    say "(the collector wrote no MEMGATE_STATS_FILE: no collector-side statistics to show)"
fi

# ---- memgate run on CUnit suites --------------------------------------------------------
if [[ $RUNNER == 1 ]]; then
    say ""
    if [[ $HAVE_CLI == 1 ]]; then
        say "== memgate run vs plain CUnit run (median wall seconds of $RUNS runs)"
        printf '%-14s %-14s %9s %7s %12s\n' suite mode wall_s x "ms/test+"
        for suite in suite_bench trivial_suite; do
            bin=$BUILD/tests/bench/$suite
            ntests=$([[ $suite == trivial_suite ]] && echo 10000 || echo 20)
            declare -A walls=()
            # The allocation-heavy suite also runs, whole, under heaptrack and valgrind
            # memcheck: the same binary, the tools people would otherwise reach for.
            modes=(plain j1 j2)
            if [[ $suite == suite_bench ]]; then
                command -v heaptrack >/dev/null && modes+=(heaptrack)
                command -v valgrind >/dev/null && modes+=(valgrind)
            fi
            for ((run = 1; run <= RUNS; run++)); do
                for mode in "${modes[@]}"; do
                    local_rc=0
                    start=$(date +%s.%N)
                    case $mode in
                    plain) "$bin" >"$WORK/runner.out" 2>&1 || local_rc=$? ;;
                    j1) "$CLI" run -j 1 "$bin" >"$WORK/runner.out" 2>&1 || local_rc=$? ;;
                    j2) "$CLI" run -j 2 "$bin" >"$WORK/runner.out" 2>&1 || local_rc=$? ;;
                    heaptrack) heaptrack -o "$WORK/suite.heaptrack" "$bin" >"$WORK/runner.out" 2>&1 || local_rc=$? ;;
                    valgrind) valgrind --leak-check=full --error-exitcode=0 "$bin" >"$WORK/runner.out" 2>&1 || local_rc=$? ;;
                    esac
                    end=$(date +%s.%N)
                    if [[ $local_rc != 0 ]]; then
                        note "$suite/$mode run $run exited $local_rc; last lines:"
                        tail -n 8 "$WORK/runner.out" >&2 || true
                    fi
                    walls[$mode]+="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }') "
                done
            done
            for mode in "${modes[@]}"; do
                printf '%s\n' "${walls[$mode]}"
            done | awk -v suite="$suite" -v n="$ntests" -v names_list="${modes[*]}" '
                function med(s,   a, k, i, j, t) { k = split(s, a, " "); for (i = 2; i <= k; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
                    return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
                { m[NR] = med($0) }
                END {
                    k = split(names_list, names, " ")
                    for (i = 1; i <= k; i++) {
                        if (names[i] == "j1" || names[i] == "j2") names[i] = "memgate-" names[i]
                    }
                    for (i = 1; i <= k; i++)
                        printf "%-14s %-14s %9.3f %7s %12s\n", suite, names[i], m[i], (m[1] > 0 ? sprintf("%.1f", m[i] / m[1]) : "-"),
                            (i == 1 ? "-" : sprintf("%.3f", (m[i] - m[1]) * 1000 / n))
                }'
            unset walls
        done
    else
        say "(memgate CLI not built: skipping the memgate run section)"
    fi
fi

if [[ $FAILED == 1 ]]; then
    note "some runs failed (see messages above); their figures are left out"
    exit 1
fi
