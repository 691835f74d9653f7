#!/usr/bin/env bash
# ci/bench.sh -- measures every target of "Gate at near-native speed" (docs/performance.md)
# in ONE run and prints, per target, "name: measured X (target Y) met|NOT met", the raw
# medians the ratios come from, and a summary. Not a CI gate: it exits non-zero only
# when it cannot build or a workload itself fails (BENCH_STRICT=1: also exit 3 when a
# target is not met).
#
# Usage: ci/bench.sh [--quick]
#   (default)  full run: BENCH_RUNS=7 rounds, full sizes; about 5 minutes on an idle 2-core
#              machine (40 s a round), 7-10 minutes on a busy one
#   --quick    smoke run: 3 rounds, alloc_bench at 1/5 of its sizes, 500 of the 2,000
#              tiny tests, fork floor over 500 forks; under 2 minutes after the build
#
# It configures and builds what it needs in its own tree, BENCH_BUILD_DIR (default
# <repo>/build-bench, RelWithDebInfo; the bench programs are -O2 -g
# -fno-omit-frame-pointer) and prints where the figures come from: the source tree and
# commit, the build, the machine, the tools, and the load average (at the start, every
# round, the end: other people's builds on a shared machine distort the figures).
#
# Every round runs each measurement once; rounds alternate the order (forward, then
# backward) so drift in machine load hits all configurations alike; each figure is the
# median over the rounds and a ratio is the ratio of two medians from this same run.
#
# Measurements (per round):
#   alloc.W.C   tests/bench/alloc_bench W (churn, tree, mix) in configuration C:
#               plain | count (LD_PRELOAD=libmemgate.so MEMGATE_ACTIVE=1: counting only) |
#               stacks (+ MEMGATE_STACKS=1: libunwind, what the traced re-run uses) |
#               fp (+ MEMGATE_UNWIND=fp) | heaptrack (heaptrack -o TMP, if installed).
#               work = the workload's own time (printed by alloc_bench), wall = the whole
#               process, rss = peak RSS (GNU time %M; heaptrack: largest process).
#   suite.M     tests/bench/suite_bench (25 allocation-heavy passing tests): plain run,
#               `memgate run -j 1`, `memgate run -j 2`.
#   triv.M      tests/bench/trivial_suite (2,000 tiny tests in 20 suites): plain run,
#               `memgate run -j 1`, `-j 2`, and fork = MEMGATE_FORK_BENCH=N on the same
#               binary with libmemgate preloaded: the driver itself times N bare
#               fork+waitpid (collector/driver.c, fork_bench) and prints the mean.
#   tiny.M      tests/bench/tiny_suite (200 tiny tests): `memgate run` (-j 1) and
#               `valgrind --leak-check=full` (if installed) on the same binary.
#   scan.N      tests/bench/scan_bench N: the lost/reachable scan over N live blocks of a
#               leaking window, as a traced re-run does it (collector/lost.c).
#   levers      not targets, measured beside them because they show what a miss is made
#               of: suite_bench plainly and under `memgate run -j 1` with glibc's heap on
#               transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1: fewer page
#               faults in each fresh child), tiny_suite under `memgate run --isolation
#               suite` (one child per suite instead of per test).
# After the rounds, once: `memgate run --json` on suite_bench, counting traced re-runs
# (a passing suite must have none: the scan only runs in those).
#
# Environment:
#   BENCH_RUNS=N          rounds (full 7, quick 3)
#   BENCH_SIZE_DIV=N      divide the alloc_bench sizes (full 1, quick 5)
#   BENCH_FORK_N=N        forks timed by MEMGATE_FORK_BENCH (full 2000, quick 500)
#   BENCH_TRIV_FILTER=G   -k glob for the tiny tests (quick: trivial_0[0-4]/*, 500 tests)
#   BENCH_SCAN_BLOCKS="N ..."  scan sizes (full "100000 1000000", quick "100000")
#   BENCH_BUILD_DIR=DIR   build tree (default <repo>/build-bench)
#   BENCH_LEVERS=0        skip the lever measurements (below)
#   BENCH_KEEP=1          keep the raw results (one TSV line per run) and print the path
#   BENCH_STRICT=1        exit 3 when a target is not met
set -euo pipefail

say() { printf '%s\n' "$*"; }
note() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 2; }

QUICK=0
for arg in "$@"; do
    case $arg in
    --quick) QUICK=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (usage: ci/bench.sh [--quick])" ;;
    esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
if [[ $QUICK == 1 ]]; then
    RUNS=${BENCH_RUNS:-3} SIZE_DIV=${BENCH_SIZE_DIV:-5} FORK_N=${BENCH_FORK_N:-500}
    TRIV_FILTER=${BENCH_TRIV_FILTER-trivial_0[0-4]/*} SCAN_BLOCKS=${BENCH_SCAN_BLOCKS:-100000}
else
    RUNS=${BENCH_RUNS:-7} SIZE_DIV=${BENCH_SIZE_DIV:-1} FORK_N=${BENCH_FORK_N:-2000}
    TRIV_FILTER=${BENCH_TRIV_FILTER-} SCAN_BLOCKS=${BENCH_SCAN_BLOCKS:-100000 1000000}
fi
KEEP=${BENCH_KEEP:-0}
LEVERS=${BENCH_LEVERS:-1}
STRICT=${BENCH_STRICT:-0}
for v in RUNS SIZE_DIV FORK_N; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer (got '${!v}')"
done
for n in $SCAN_BLOCKS; do [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_SCAN_BLOCKS: '$n' is not a count"; done
command -v cmake >/dev/null || die "cmake not found"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/memgate-bench.XXXXXX")
cleanup() {
    if [[ $KEEP == 1 ]]; then note "raw results kept in $WORK (results.tsv: case run metric value)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
RES=$WORK/results.tsv
: >"$RES"
T_START=$EPOCHREALTIME

loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '? ? ?'; }
LOAD_START=$(loadavg)

# ---- tools -------------------------------------------------------------------------------
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
    note "GNU time is missing: peak RSS (and the RSS-per-block target) is not measured"
fi
HAVE_HEAPTRACK=0 HAVE_VALGRIND=0
command -v heaptrack >/dev/null && HAVE_HEAPTRACK=1
command -v valgrind >/dev/null && HAVE_VALGRIND=1

# ---- build -------------------------------------------------------------------------------
say "== building into $BUILD (RelWithDebInfo; bench programs -O2 -g -fno-omit-frame-pointer)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMGATE_BUILD_TESTS=ON \
    -DMEMGATE_WERROR=OFF >"$WORK/configure.log" 2>&1 \
    || { tail -n 30 "$WORK/configure.log" >&2; die "cmake configure failed"; }
JOBS=$(nproc 2>/dev/null || echo 2)
cmake --build "$BUILD" -j "$JOBS" --target memgate alloc_bench suite_bench trivial_suite tiny_suite scan_bench \
    >"$WORK/build.log" 2>&1 || { tail -n 30 "$WORK/build.log" >&2; die "building libmemgate or the bench programs failed"; }
B=$BUILD/tests/bench
LIB=$BUILD/lib/libmemgate.so
[[ -f $LIB ]] || die "no $LIB after the build"
CLI=$BUILD/bin/memgate
HAVE_CLI=0
if cmake --build "$BUILD" -j "$JOBS" --target memgate_cli >"$WORK/build-cli.log" 2>&1 && [[ -x $CLI ]]; then
    HAVE_CLI=1
else
    note "the memgate CLI did not build: the memgate run targets are not measured"
    tail -n 15 "$WORK/build-cli.log" >&2 || true
fi

# Where the figures come from.
SRC_DESC=$ROOT
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
    subject=$(git -C "$ROOT" log -1 --format=%s 2>/dev/null | cut -c1-60)
    dirty=$(git -C "$ROOT" status --porcelain -- collector runner include tests/bench CMakeLists.txt 2>/dev/null | wc -l)
    SRC_DESC="$ROOT at $commit \"$subject...\""
    [[ $dirty != 0 ]] && SRC_DESC+=" + $dirty uncommitted change(s) in collector/ runner/ include/ tests/bench/"
fi
NTRIV=2000
if [[ -n $TRIV_FILTER ]]; then
    if [[ $HAVE_CLI == 1 ]]; then
        NTRIV=$("$CLI" list -k "$TRIV_FILTER" "$B/trivial_suite" 2>/dev/null | grep -c . || true)
    fi
    [[ $NTRIV =~ ^[1-9][0-9]*$ ]] || die "the filter '$TRIV_FILTER' selects no tiny test"
fi

say "== source:  $SRC_DESC"
say "== build:   $BUILD ($(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt" | head -1), RelWithDebInfo)"
say "== machine: $(nproc 2>/dev/null || echo '?') cores ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || echo '?')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null), $(uname -sr), $(ldd --version 2>/dev/null | head -1 | sed 's/.* //;s/^/glibc /')"
say "== tools:   heaptrack $([[ $HAVE_HEAPTRACK == 1 ]] && heaptrack --version 2>/dev/null | awk '{print $2}' || echo 'not installed'), valgrind $([[ $HAVE_VALGRIND == 1 ]] && valgrind --version 2>/dev/null | sed 's/valgrind-//' || echo 'not installed'), GNU time $([[ $HAVE_TIME == 1 ]] && echo yes || echo no)"
say "== date:    $(date -u '+%Y-%m-%d %H:%M UTC'); load average at the start: $LOAD_START"
say "== mode:    $([[ $QUICK == 1 ]] && echo quick || echo full): $RUNS rounds, alloc_bench sizes /$SIZE_DIV, $NTRIV tiny tests${TRIV_FILTER:+ (-k '$TRIV_FILTER')}, fork floor over $FORK_N forks, scan over $SCAN_BLOCKS blocks"

# ---- the measurements --------------------------------------------------------------------
default_size() {
    case $1 in churn) echo 5000000 ;; tree) echo 1000000 ;; mix) echo 1000000 ;; esac
}

CASES=()
ALLOC_CFGS=(plain count stacks fp)
[[ $HAVE_HEAPTRACK == 1 ]] && ALLOC_CFGS+=(heaptrack)
for wl in churn tree mix; do
    for cfg in "${ALLOC_CFGS[@]}"; do CASES+=("alloc.$wl.$cfg"); done
done
CASES+=(suite.plain triv.plain triv.fork)
# Two fork floors at once: how far a fork per test can scale on this machine at all
# (the ceiling of j2_speedup).
NCPU=$(nproc 2>/dev/null || echo 1)
[[ $NCPU -ge 2 ]] && CASES+=(triv.fork2)
if [[ $HAVE_CLI == 1 ]]; then
    CASES+=(suite.j1 suite.j2 triv.j1 triv.j2 tiny.memgate)
    [[ $LEVERS == 1 ]] && CASES+=(suite.plain_thp suite.j1_thp tiny.iso_suite)
fi
[[ $HAVE_VALGRIND == 1 && $HAVE_CLI == 1 ]] && CASES+=(tiny.valgrind)
for n in $SCAN_BLOCKS; do CASES+=("scan.$n"); done

FAILED=0
rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RES"; }
# Peak RSS and CPU time (user + sys of the process and every descendant it waited for)
# from GNU time's last line "%M %U %S".
rec_time() {
    [[ $HAVE_TIME == 1 && -s $3 ]] || return 0
    local rss u sy
    read -r rss u sy < <(tail -n 1 "$3")
    [[ $rss =~ ^[0-9]+$ ]] || return 0
    rec "$1" "$2" rss "$rss"
    rec "$1" "$2" cpu "$(awk -v u="$u" -v s="$sy" 'BEGIN { printf "%.3f", u + s }')"
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }
fail_case() {
    note "$1 (round $2) failed: $3; last lines of its output:"
    tail -n 8 "$4" >&2 || true
    FAILED=1
}

# run_case ID ROUND: runs one measurement once and records its figures.
run_case() {
    local id=$1 run=$2 out=$WORK/out err=$WORK/err tf=$WORK/time rc=0 t0 t1
    local -a cmd=()
    case $id in
    alloc.*)
        local wl cfg size
        wl=${id#alloc.} cfg=${wl#*.} wl=${wl%%.*}
        size=$(( $(default_size "$wl") / SIZE_DIV ))
        case $cfg in
        plain) ;;
        count) cmd=(env "LD_PRELOAD=$LIB" MEMGATE_ACTIVE=1) ;;
        stacks) cmd=(env "LD_PRELOAD=$LIB" MEMGATE_ACTIVE=1 MEMGATE_STACKS=1) ;;
        fp) cmd=(env "LD_PRELOAD=$LIB" MEMGATE_ACTIVE=1 MEMGATE_STACKS=1 MEMGATE_UNWIND=fp) ;;
        heaptrack) cmd=(heaptrack -o "$WORK/heaptrack.out") ;;
        esac
        [[ $HAVE_TIME == 1 ]] && cmd=("$TIME" -f '%M %U %S' -o "$tf" "${cmd[@]}")
        t0=$EPOCHREALTIME
        "${cmd[@]}" "$B/alloc_bench" "$wl" "$size" >"$out" 2>"$err" || rc=$?
        t1=$EPOCHREALTIME
        rm -f "$WORK"/heaptrack.out*
        local line
        line=$(grep '^alloc_bench ' "$out" || true)
        if [[ $rc != 0 || -z $line ]]; then fail_case "$id" "$run" "exit $rc" "$err"; return 0; fi
        rec "$id" "$run" wall "$(secs "$t0" "$t1")"
        rec "$id" "$run" work "$(sed -n 's/.*elapsed_s=\([0-9.]*\).*/\1/p' <<<"$line")"
        rec "$id" "$run" blocks "$(sed -n 's/.*peak_live_blocks=\([0-9]*\).*/\1/p' <<<"$line")"
        rec "$id" "$run" size "$size"
        rec_time "$id" "$run" "$tf"
        return 0
        ;;
    suite.plain) cmd=("$B/suite_bench") ;;
    suite.j1) cmd=("$CLI" run -j 1 "$B/suite_bench") ;;
    suite.j2) cmd=("$CLI" run -j 2 "$B/suite_bench") ;;
    suite.plain_thp) cmd=(env GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$B/suite_bench") ;;
    suite.j1_thp) cmd=(env GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$CLI" run -j 1 "$B/suite_bench") ;;
    triv.plain) cmd=("$B/trivial_suite") ;;
    triv.j1) cmd=("$CLI" run -j 1 ${TRIV_FILTER:+-k "$TRIV_FILTER"} "$B/trivial_suite") ;;
    triv.j2) cmd=("$CLI" run -j 2 ${TRIV_FILTER:+-k "$TRIV_FILTER"} "$B/trivial_suite") ;;
    triv.fork2)
        local ns1 ns2 rc2=0
        env "LD_PRELOAD=$LIB" MEMGATE_ACTIVE=1 "MEMGATE_FORK_BENCH=$FORK_N" "$B/trivial_suite" >"$out" 2>&1 &
        local pid1=$!
        env "LD_PRELOAD=$LIB" MEMGATE_ACTIVE=1 "MEMGATE_FORK_BENCH=$FORK_N" "$B/trivial_suite" >"$out.2" 2>&1 || rc2=$?
        wait "$pid1" || rc=$?
        ns1=$(sed -n 's/^fork_waitpid_ns=\([0-9]*\)$/\1/p' "$out")
        ns2=$(sed -n 's/^fork_waitpid_ns=\([0-9]*\)$/\1/p' "$out.2")
        if [[ $rc != 0 || $rc2 != 0 || -z $ns1 || -z $ns2 ]]; then fail_case "$id" "$run" "exit $rc/$rc2, no fork_waitpid_ns" "$out"; return 0; fi
        rec "$id" "$run" fork_ns "$(( (ns1 + ns2) / 2 ))"
        return 0
        ;;
    triv.fork)
        # A plain fork loop (memgate places its test children, this loop does not): the
        # child may start on the other CPU while the parent returns from fork.
        env "LD_PRELOAD=$LIB" MEMGATE_ACTIVE=1 "MEMGATE_FORK_BENCH=$FORK_N" "$B/trivial_suite" >"$out" 2>&1 || rc=$?
        local ns
        ns=$(sed -n 's/^fork_waitpid_ns=\([0-9]*\)$/\1/p' "$out")
        if [[ $rc != 0 || -z $ns ]]; then fail_case "$id" "$run" "exit $rc, no fork_waitpid_ns" "$out"; return 0; fi
        rec "$id" "$run" fork_ns "$ns"
        return 0
        ;;
    tiny.memgate) cmd=("$CLI" run -j 1 "$B/tiny_suite") ;;
    tiny.iso_suite) cmd=("$CLI" run -j 1 --isolation suite "$B/tiny_suite") ;;
    tiny.valgrind) cmd=(valgrind --leak-check=full "$B/tiny_suite") ;;
    scan.*)
        "$B/scan_bench" "${id#scan.}" >"$out" 2>&1 || rc=$?
        local line
        line=$(grep '^scan_bench ' "$out" || true)
        if [[ $rc != 0 || -z $line ]]; then fail_case "$id" "$run" "exit $rc" "$out"; return 0; fi
        local k
        for k in blocks reached scan_ms diffs_ms; do
            rec "$id" "$run" "$k" "$(sed -n "s/.* $k=\([0-9.]*\).*/\1/p" <<<"$line")"
        done
        return 0
        ;;
    *) die "internal: unknown case $id" ;;
    esac
    [[ $HAVE_TIME == 1 ]] && cmd=("$TIME" -f '%M %U %S' -o "$tf" "${cmd[@]}")
    t0=$EPOCHREALTIME
    "${cmd[@]}" >"$out" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    # Every suite here passes: a non-zero exit means the figure is not the one wanted.
    if [[ $rc != 0 ]]; then fail_case "$id" "$run" "exit $rc" "$out"; return 0; fi
    rec "$id" "$run" wall "$(secs "$t0" "$t1")"
    rec_time "$id" "$run" "$tf"
}

say ""
say "== $RUNS rounds of ${#CASES[@]} measurements (order alternates every round)"
LOADS=()
for ((run = 1; run <= RUNS; run++)); do
    LOADS+=("$(loadavg | cut -d' ' -f1)")
    rs=$EPOCHREALTIME
    if ((run % 2)); then order=("${CASES[@]}"); else
        order=()
        for ((i = ${#CASES[@]} - 1; i >= 0; i--)); do order+=("${CASES[i]}"); done
    fi
    for id in "${order[@]}"; do run_case "$id" "$run"; done
    printf '   round %d/%d: %.0f s, load average at its start %s\n' "$run" "$RUNS" \
        "$(secs "$rs" "$EPOCHREALTIME")" "${LOADS[-1]}"
done

# A passing suite must never pay for the lost/reachable scan: it runs only in traced
# re-runs (finish_child in collector/driver.c), which only tests over budget get.
TRACED=- NTESTS=-
if [[ $HAVE_CLI == 1 ]]; then
    if "$CLI" run -j 1 --json "$WORK/suite.json" "$B/suite_bench" >"$WORK/out" 2>&1; then
        TRACED=$({ grep -Eo '"traced":[[:space:]]*true' "$WORK/suite.json" || true; } | wc -l)
        NTESTS=$({ grep -Eo '"kind":[[:space:]]*"test"' "$WORK/suite.json" || true; } | wc -l)
    else
        fail_case "suite.json" 1 "memgate run --json exited non-zero" "$WORK/out"
    fi
fi
LOAD_END=$(loadavg)

# ---- medians, targets, summary -------------------------------------------------------------
say ""
awk -F'\t' -v ntriv="$NTRIV" -v ntriv_all=2000 -v fork_n="$FORK_N" -v runs="$RUNS" \
    -v traced="$TRACED" -v ntests="$NTESTS" -v scan_sizes="$SCAN_BLOCKS" \
    -v loads="${LOADS[*]}" -v load_start="$LOAD_START" -v load_end="$LOAD_END" \
    -v have_ht="$HAVE_HEAPTRACK" -v have_vg="$HAVE_VALGRIND" -v have_cli="$HAVE_CLI" \
    -v have_time="$HAVE_TIME" -v outfile="$WORK/verdict" '
function sortv(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
function med(key,   a, n, i) { if (!(key in vals)) return ""; n = split(vals[key], a, " "); for (i = 1; i <= n; i++) a[i] += 0; sortv(a, n); return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function spread(key,   a, n, m, i) { if (!(key in vals)) return "-"; n = split(vals[key], a, " "); if (n < 2) return "-"; for (i = 1; i <= n; i++) a[i] += 0; sortv(a, n); m = med(key); return m > 0 ? sprintf("%.0f%%", (a[n] - a[1]) * 100 / m) : "-" }
function cnt(key,   a) { return (key in vals) ? split(vals[key], a, " ") : 0 }
function has(c, m) { return (c SUBSEP m) in vals }
function get(c, m) { return med(c SUBSEP m) }
function ratio(a, b) { return (a != "" && b != "" && b > 0) ? a / b : "" }
function fx(x, f) { return x == "" ? "-" : sprintf(f ? f : "%.2f", x) }
# The median over the rounds of the ratio within each round (a round runs both sides
# within seconds of each other): a cross-check of the ratio of medians on a noisy machine.
function paired(a, b, m,   r, n, x, i) {
    n = 0
    for (r = 1; r <= maxrun; r++)
        if (((a, m, r) in byrun) && ((b, m, r) in byrun) && byrun[b, m, r] > 0) x[++n] = byrun[a, m, r] / byrun[b, m, r]
    if (!n) return ""
    sortv(x, n)
    return sprintf("; per-round paired median %.2fx", (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2)
}
# The same ratio on CPU time (user + sys, descendants included), for a loaded machine.
function cpux(a, b,   r) { r = ratio(get(a, "cpu"), get(b, "cpu")); return r == "" ? "" : sprintf("; on CPU time %.2fx", r) }
# One target line. dir: "<=" or ">=".
function target(name, x, dir, y, unit, from, fmt,   ok, v) {
    ntarget++
    if (x == "") {
        printf "%s: not measured (target %s %s%s) NOT met\n    from: %s\n", name, dir, y, unit, from
        nmiss++; missed = missed " " name
        summary = summary sprintf("  %-27s %12s  %2s %-8s %s\n", name, "-", dir, y unit, "NOT met (not measured)")
        return
    }
    ok = (dir == "<=") ? (x <= y) : (x >= y)
    v = sprintf(fmt ? fmt : "%.2f", x)
    printf "%s: measured %s%s (target %s %s%s) %s\n    from: %s\n", name, v, unit, dir, y, unit, ok ? "met" : "NOT met", from
    if (ok) nmet++; else { nmiss++; missed = missed " " name }
    summary = summary sprintf("  %-27s %12s  %2s %-8s %s\n", name, v unit, dir, y unit, ok ? "met" : "NOT met")
}
{ key = $1 SUBSEP $3; vals[key] = (key in vals) ? vals[key] " " $4 : $4; byrun[$1, $3, $2] = $4; if ($2 > maxrun) maxrun = $2; if (!($1 in seen)) { seen[$1] = 1; order[++ncase] = $1 } }
END {
    printf "== raw medians over the rounds (spread = (max - min) / median)\n"
    printf "%-22s %-9s %12s %7s %5s\n", "measurement", "figure", "median", "spread", "runs"
    nm = split("work wall cpu rss blocks fork_ns scan_ms diffs_ms reached", ms, " ")
    for (k = 1; k <= ncase; k++) {
        c = order[k]
        for (q = 1; q <= nm; q++) {
            m = ms[q]
            if (!has(c, m)) continue
            printf "%-22s %-9s %12s %7s %5d\n", c, m, (m == "rss" || m == "blocks" || m == "fork_ns" || m == "reached") ? sprintf("%d", get(c, m)) : sprintf("%.4f", get(c, m)), spread(c SUBSEP m), cnt(c SUBSEP m)
        }
    }
    printf "(work: the workload'"'"'s own time, wall: the whole command, cpu: user + sys of the command and its\n"
    printf " descendants, all in s; rss: peak resident set in KiB; fork_ns: ns per fork+waitpid; scan_ms,\n"
    printf " diffs_ms: ms)\n\n"

    printf "== targets (ratios of medians measured side by side in this run)\n"
    # 1. The allocation-heavy passing suite.
    x = ratio(get("suite.j1", "wall"), get("suite.plain", "wall"))
    target("suite_bench_j1_vs_plain", x, "<=", 1.3, "x",
        sprintf("tests/bench/suite_bench (25 tests), wall: memgate run -j 1 %s s / plain run %s s%s", fx(get("suite.j1", "wall"), "%.3f"), fx(get("suite.plain", "wall"), "%.3f"), paired("suite.j1", "suite.plain", "wall") cpux("suite.j1", "suite.plain")))
    # 2. Counting only, preloaded around alloc_bench.
    split("churn tree mix", wls, " ")
    for (w = 1; w <= 3; w++) {
        wl = wls[w]
        x = ratio(get("alloc." wl ".count", "work"), get("alloc." wl ".plain", "work"))
        target("count_" wl, x, "<=", 1.25, "x",
            sprintf("alloc_bench %s %d, workload time: count %s s / plain %s s (wall %.2fx%s)", wl, get("alloc." wl ".plain", "size"),
                fx(get("alloc." wl ".count", "work"), "%.4f"), fx(get("alloc." wl ".plain", "work"), "%.4f"),
                ratio(get("alloc." wl ".count", "wall"), get("alloc." wl ".plain", "wall")), paired("alloc." wl ".count", "alloc." wl ".plain", "work") cpux("alloc." wl ".count", "alloc." wl ".plain")))
    }
    # 3. Per-test cost against a bare fork+waitpid of the same binary.
    j1 = get("triv.j1", "wall"); pl = get("triv.plain", "wall"); fk = get("triv.fork", "fork_ns")
    per = (j1 != "" && pl != "") ? (j1 - pl * ntriv / ntriv_all) / ntriv : ""
    x = (per != "" && fk > 0) ? per * 1e9 / fk : ""
    np = 0
    for (r = 1; r <= maxrun; r++)
        if ((("triv.j1", "wall", r) in byrun) && (("triv.plain", "wall", r) in byrun) && byrun["triv.fork", "fork_ns", r] > 0)
            pp[++np] = (byrun["triv.j1", "wall", r] - byrun["triv.plain", "wall", r] * ntriv / ntriv_all) / ntriv * 1e9 / byrun["triv.fork", "fork_ns", r]
    if (np) sortv(pp, np)
    perpair = np ? sprintf("; per-round paired median %.2fx", (np % 2) ? pp[(np + 1) / 2] : (pp[np / 2] + pp[np / 2 + 1]) / 2) : ""
    target("per_test_vs_fork", x, "<=", 1.5, "x",
        sprintf("trivial_suite, %d tests: (memgate run -j 1 %s s - plain %s s x %d/%d) / %d = %s ms per test; bare fork+waitpid in the driver (MEMGATE_FORK_BENCH=%d) %s ms%s",
            ntriv, fx(j1, "%.3f"), fx(pl, "%.3f"), ntriv, ntriv_all, ntriv, fx(per * 1000, "%.3f"), fork_n, fx(fk / 1e6, "%.3f"), perpair))
    # 4. -j 2 against -j 1.
    x = ratio(get("triv.j1", "wall"), get("triv.j2", "wall"))
    target("j2_speedup", x, ">=", 1.6, "x",
        sprintf("trivial_suite, %d tests, wall: memgate run -j 1 %s s / -j 2 %s s; CPU time (user + sys, all processes) -j 1 %s s = %s cores busy, -j 2 %s s = %s cores busy%s",
            ntriv, fx(get("triv.j1", "wall"), "%.3f"), fx(get("triv.j2", "wall"), "%.3f"), fx(get("triv.j1", "cpu"), "%.2f"), fx(ratio(get("triv.j1", "cpu"), get("triv.j1", "wall")), "%.2f"),
            fx(get("triv.j2", "cpu"), "%.2f"), fx(ratio(get("triv.j2", "cpu"), get("triv.j2", "wall")), "%.2f"), paired("triv.j1", "triv.j2", "wall")))
    # The ceiling this machine sets for it: a bare fork+waitpid loop per CPU, two at once.
    if (has("triv.fork2", "fork_ns") && get("triv.fork", "fork_ns") > 0) {
        fs = 2 * get("triv.fork", "fork_ns") / get("triv.fork2", "fork_ns")
        printf "fork_scaling_2_lanes: measured %.2fx (no target: stated; the ceiling of j2_speedup with a fork per test, whose measured %sx is %.0f%% of it)\n    from: MEMGATE_FORK_BENCH=%d alone %s ms per fork, two at once %s ms per fork each: 2 x %s / %s\n",
            fs, fx(x, "%.2f"), x == "" ? 0 : 100 * x / fs, fork_n, fx(get("triv.fork", "fork_ns") / 1e6, "%.3f"), fx(get("triv.fork2", "fork_ns") / 1e6, "%.3f"),
            fx(get("triv.fork", "fork_ns") / 1e6, "%.3f"), fx(get("triv.fork2", "fork_ns") / 1e6, "%.3f")
        summary = summary sprintf("  %-27s %12s      (stated: bare fork loops, 2 at once vs 1; the -j 2 ceiling)\n", "fork_scaling_2_lanes", sprintf("%.2fx", fs))
    }
    # 5. Against valgrind on ~200 tiny tests.
    x = ratio(get("tiny.memgate", "wall"), get("tiny.valgrind", "wall"))
    target("tiny_vs_valgrind", x, "<=", 0.2, "x",
        have_vg ? sprintf("tests/bench/tiny_suite (200 tests), wall: memgate run %s s / valgrind --leak-check=full %s s%s", fx(get("tiny.memgate", "wall"), "%.3f"), fx(get("tiny.valgrind", "wall"), "%.3f"), paired("tiny.memgate", "tiny.valgrind", "wall") cpux("tiny.memgate", "tiny.valgrind")) : "valgrind is not installed")
    # 6. Full stacks.
    x = ratio(get("alloc.churn.fp", "work"), get("alloc.churn.plain", "work"))
    target("stacks_fp_churn", x, "<=", 5, "x",
        sprintf("alloc_bench churn, workload time: MEMGATE_STACKS=1 MEMGATE_UNWIND=fp %s s / plain %s s%s", fx(get("alloc.churn.fp", "work"), "%.4f"), fx(get("alloc.churn.plain", "work"), "%.4f"), paired("alloc.churn.fp", "alloc.churn.plain", "work") cpux("alloc.churn.fp", "alloc.churn.plain")))
    for (w = 1; w <= 3; w++) {
        wl = wls[w]
        x = ratio(get("alloc." wl ".heaptrack", "wall"), get("alloc." wl ".stacks", "wall"))
        target("heaptrack_vs_stacks_" wl, x, ">=", 3, "x",
            have_ht ? sprintf("alloc_bench %s, wall: heaptrack %s s / MEMGATE_STACKS=1 (libunwind, as the traced re-run) %s s%s; frame pointers: %s s, %sx", wl,
                fx(get("alloc." wl ".heaptrack", "wall"), "%.3f"), fx(get("alloc." wl ".stacks", "wall"), "%.3f"), paired("alloc." wl ".heaptrack", "alloc." wl ".stacks", "wall") cpux("alloc." wl ".heaptrack", "alloc." wl ".stacks"),
                fx(get("alloc." wl ".fp", "wall"), "%.3f"), fx(ratio(get("alloc." wl ".heaptrack", "wall"), get("alloc." wl ".fp", "wall")), "%.1f")) : "heaptrack is not installed")
    }
    # 7. Memory per live block, counting.
    rc = get("alloc.tree.count", "rss"); rp = get("alloc.tree.plain", "rss"); bl = get("alloc.tree.plain", "blocks")
    x = (have_time && rc != "" && rp != "" && bl > 0) ? (rc - rp) * 1024 / bl : ""
    target("rss_per_block_count", x, "<=", 48, " B",
        sprintf("alloc_bench tree, peak RSS: (count %s KiB - plain %s KiB) / %d live blocks (stacks: %s B per block)", fx(rc, "%d"), fx(rp, "%d"), bl,
            fx((get("alloc.tree.stacks", "rss") != "" && bl > 0) ? (get("alloc.tree.stacks", "rss") - rp) * 1024 / bl : "", "%.0f")), "%.1f")
    # 8. The lost/reachable scan.
    x = (traced != "-") ? traced + 0 : ""
    target("scan_on_passing_suite", x, "<=", 0, " traced",
        sprintf("memgate run --json on suite_bench: %s of %s tests re-run traced; the scan runs only in traced re-runs of leaking tests (finish_child in collector/driver.c), so the passing suite'"'"'s cost above carries none of it", traced, ntests), "%d")
    ns = split(scan_sizes, sz, " ")
    for (k = 1; k <= ns; k++) {
        c = "scan." sz[k]
        if (!has(c, "scan_ms")) { printf "scan_cost_%s: not measured\n", sz[k]; continue }
        printf "scan_cost_%s: measured %.1f ms (%.0f ns per live block) over %d live blocks (%d reached, %d lost), then %.1f ms for the leak report by stack (no target: stated)\n    from: tests/bench/scan_bench %s: mg__reach_build() after a window that leaked %s blocks, median of 3 in-process repetitions, median over the rounds\n",
            sz[k], get(c, "scan_ms"), get(c, "scan_ms") * 1e6 / get(c, "blocks"), get(c, "blocks"), get(c, "reached"), get(c, "blocks") - get(c, "reached"), get(c, "diffs_ms"), sz[k], sz[k]
        summary = summary sprintf("  %-27s %12s      (stated: %d live blocks, %.0f ns per block)\n", "scan_cost_" sz[k], sprintf("%.1f ms", get(c, "scan_ms")), get(c, "blocks"), get(c, "scan_ms") * 1e6 / get(c, "blocks"))
    }

    if (has("suite.j1_thp", "wall") || has("tiny.iso_suite", "wall")) {
        printf "\n== levers (no targets; same run)\n"
        if (has("suite.j1_thp", "wall"))
            printf "suite_bench with GLIBC_TUNABLES=glibc.malloc.hugetlb=1: plain %s s, memgate run -j 1 %s s (%sx of the same plain run, %sx of the default plain run; default memgate run -j 1: %s s)\n",
                fx(get("suite.plain_thp", "wall"), "%.3f"), fx(get("suite.j1_thp", "wall"), "%.3f"), fx(ratio(get("suite.j1_thp", "wall"), get("suite.plain_thp", "wall"))),
                fx(ratio(get("suite.j1_thp", "wall"), get("suite.plain", "wall"))), fx(get("suite.j1", "wall"), "%.3f")
        if (has("tiny.iso_suite", "wall"))
            printf "tiny_suite under memgate run --isolation suite: %s s (%sx of valgrind --leak-check=full; one child per suite: 10 instead of 200)\n",
                fx(get("tiny.iso_suite", "wall"), "%.3f"), fx(ratio(get("tiny.iso_suite", "wall"), get("tiny.valgrind", "wall")))
        if (has("suite.j2", "wall"))
            printf "suite_bench under memgate run -j 2: %s s (%sx of the plain run)\n", fx(get("suite.j2", "wall"), "%.3f"), fx(ratio(get("suite.j2", "wall"), get("suite.plain", "wall")))
    }

    n = split(loads, la, " "); for (i = 1; i <= n; i++) la[i] += 0; sortv(la, n)
    printf "\n== summary: %d of %d targets met\n", nmet, ntarget
    printf "%s", summary
    printf "  load average (1 min) at the start of each round: min %.2f, median %.2f, max %.2f\n", la[1], (n % 2) ? la[(n + 1) / 2] : (la[n / 2] + la[n / 2 + 1]) / 2, la[n]
    printf "  load average (1, 5, 15 min) at the start: %s; at the end: %s\n", load_start, load_end
    if (nmiss) printf "  not met:%s\n", missed
    print nmiss + 0 > outfile
}' "$RES"

say "  wall time of this bench run: $(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f s", b - a }') (including the build)"
if [[ $FAILED == 1 ]]; then
    note "some runs failed (see the messages above); their figures are left out"
    exit 1
fi
if [[ $STRICT == 1 && -s $WORK/verdict && $(cat "$WORK/verdict") != 0 ]]; then exit 3; fi
exit 0
