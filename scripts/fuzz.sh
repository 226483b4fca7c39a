#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ for a bounded time each, over a copy of their
# seed corpora (what they find is not written into the source tree), and fails when any of
# them finds a crash, a leak, undefined behaviour, a timeout or runs out of memory. Builds
# the targets first (with clang; configures BUILD_DIR when it has no fuzz targets).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]     # defaults: 60, build-fuzz
#   KAA_FUZZ_TARGETS="config kaa_messages" scripts/fuzz.sh 300
#   KAA_FUZZ_RUNS=10000000 scripts/fuzz.sh 2400          # a long run: 10M inputs, or 40 min
#   KAA_FUZZ_MAX_LEN=4096 ...                            # one input size limit for all targets
#   KAA_FUZZ_CORPUS_DIR=/var/tmp/kaa-corpus ...          # keep the corpora there (a long run
#                                                        # resumed later goes on from them)
#
# A failing input is kept in BUILD_DIR/fuzz-artifacts/<target>/, the run's output in
# BUILD_DIR/fuzz-logs/<target>.log; tests/fuzz/README.md says how to replay one.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
build="${2:-build-fuzz}"
read -r -a targets <<<"${KAA_FUZZ_TARGETS:-config sim_config register_decode request_planner kaa_messages}"

# The longest input per target: a configuration file of a few meters (the seeds are 4-7 KB),
# a reply of 125 registers and its decoding, a map of a few hundred registers, a session of
# up to 64 events.
declare -A max_len=([config]=8192 [sim_config]=4096 [register_decode]=600
                    [request_planner]=2048 [kaa_messages]=4096)
# KAA_FUZZ_MAX_LEN=N overrides them all (the long run feeds fuzz_config at most 4096 bytes:
# yaml-cpp parses 8 KB at half the rate, and the small seeds of every section fit in 4 KB).
if [ -n "${KAA_FUZZ_MAX_LEN:-}" ]; then
    for t in "${!max_len[@]}"; do max_len[$t]="$KAA_FUZZ_MAX_LEN"; done
fi

# KAA_FUZZ_PREBUILT=1: the targets are built already and the build system must not be
# touched (scripts/test.sh runs this while the arm64 step has swapped native -dev packages).
if [ "${KAA_FUZZ_PREBUILT:-0}" != 1 ]; then
    if ! grep -q '^KAA_BUILD_FUZZ:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
        echo "fuzz: configuring $build with clang and KAA_BUILD_FUZZ=ON"
        CXX=clang++ cmake -S . -B "$build" -DKAA_BUILD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DKAA_BUILD_TESTS=OFF -DKAA_BUILD_BENCH=OFF -DKAA_WERROR=ON >/dev/null
    fi
    nice -n 10 cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}" >/dev/null
fi
for t in "${targets[@]}"; do
    if [ ! -x "$build/tests/fuzz/fuzz_$t" ]; then
        echo "fuzz: $build/tests/fuzz/fuzz_$t is not built"
        exit 1
    fi
done

# No allocation stacks (a third faster: yaml-cpp and nlohmann::json allocate a lot); replaying
# a failing input without these options shows them.
export ASAN_OPTIONS="detect_leaks=1:malloc_context_size=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
runs=()
if [ -n "${KAA_FUZZ_RUNS:-}" ]; then runs=(-runs="$KAA_FUZZ_RUNS"); fi
if [ -n "${KAA_FUZZ_CORPUS_DIR:-}" ]; then
    work="$KAA_FUZZ_CORPUS_DIR"
    mkdir -p "$work"
else
    work="$(mktemp -d /tmp/kaa-fuzz.XXXXXX)"
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$build/fuzz-logs"
failed=()
printf '%-16s %6s %10s %7s %6s %6s  %s\n' target seconds executions exec/s cov ft result
for t in "${targets[@]}"; do
    if [ ! -d "$work/$t" ]; then
        cp -r "tests/fuzz/corpus/$t" "$work/$t"
    fi
    artifacts="$build/fuzz-artifacts/$t"
    mkdir -p "$artifacts"
    log="$build/fuzz-logs/$t.log"
    start="$(date +%s)"
    set +e
    "$build/tests/fuzz/fuzz_$t" "${runs[@]}" -max_total_time="$seconds" -max_len="${max_len[$t]:-4096}" \
        -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$work/$t" >"$log" 2>&1
    rc=$?
    set -e
    took=$(( $(date +%s) - start ))
    execs="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -n 1)"
    cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | awk '{print $2}')"
    ft="$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | awk '{print $2}')"
    result=ok
    if [ "$rc" -ne 0 ]; then
        result="FAILED (exit $rc; log $log, input in $artifacts/)"
        failed+=("$t")
    fi
    rate="$(( ${execs:-0} / (took > 0 ? took : 1) ))"
    printf '%-16s %6s %10s %7s %6s %6s  %s\n' "$t" "$took" "${execs:-?}" "$rate" "${cov:-?}" \
        "${ft:-?}" "$result"
    if [ "$rc" -ne 0 ]; then
        grep -E "ERROR|SUMMARY|fuzz_$t:|what\(\)" "$log" | head -n 10 || true
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each at most, nothing found"
