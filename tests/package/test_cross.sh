#!/usr/bin/env bash
# Builds the kaa-gateway package for a Raspberry Pi architecture with Debian's cross
# toolchain and checks it under qemu user emulation. The last step of scripts/test.sh.
#
#   tests/package/test_cross.sh [arm64|armhf]      # arm64 when not given
#
#   1. `scripts/build-deb.sh ARCH` builds dist/kaa-gateway_VERSION_ARCH.deb; the unit
#      tests run during the build under qemu-CPU-static, and the build log must show
#      them passing (ctest's "100% tests passed ... out of N", N > 0);
#   2. the .deb (dpkg-deb -I): Architecture ARCH, Depends filled in from shlibs and
#      naming the same packages as the native package's when dist/ holds it, and
#      binaries for the right CPU (readelf);
#   3. the ARCH kaa-gatewayd --check, under qemu, accepts packaging/gateway.yaml and
#      the reference configuration (config/reference.yaml) and
#      prints the same polling plan as the native build/kaa-gatewayd when there is
#      one; it rejects a file with an unknown key with exit 78;
#   4. tests/package/test_install.sh installs the ARCH package through multiarch
#      (lintian, files, user, conffile, --check under qemu) and purges it;
#   5. always, even after a failure: scripts/install-deps.sh puts the native -dev
#      packages back (the cross build replaces libyaml-cpp-dev with its ARCH twin,
#      since bookworm's is not Multi-Arch: same), and the native build in build/
#      must still link and run.
#
# KAA_CROSS_DEB=path/to/kaa-gateway_VERSION_ARCH.deb skips step 1 and checks that
# package instead (step 5 runs all the same); KAA_CROSS_BUILD_LOG=its build log has the
# log checked as in step 1. Needs root: it installs packages and adds the dpkg architecture.
# While step 1 runs, native builds elsewhere on the machine fail to link yaml-cpp.
# armhf: when the archive's armhf package index cannot be fetched (build-deb.sh exits
# 3), this says so and exits 0, as the README explains; for arm64 that is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$(id -u)" -eq 0 ] || { echo "test_cross: must run as root (it installs packages)" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive

host_arch="${1:-arm64}"
case "$host_arch" in
    arm64) elf_machine="AArch64" ;;
    armhf) elf_machine="ARM" ;;
    *) echo "test_cross: unknown architecture '$host_arch' (arm64 or armhf)" >&2; exit 2 ;;
esac
native_arch="$(dpkg --print-architecture)"
jobs=2
# The native build whose --check output the target's must match, relinked at the end
# (scripts/test.sh passes the package build's directory).
native_build="${KAA_NATIVE_BUILD:-build}"

# shellcheck source=tests/package/checks.sh
source tests/package/checks.sh  # the working directory is the repository now

tmp="$(mktemp -d /tmp/kaa-gateway-cross.XXXXXX)"

# Step 5, on every exit: the machine gets its native -dev packages back, and the
# native build must still link against them.
restore_native() {
    echo "== restore the native ($native_arch) -dev packages: scripts/install-deps.sh"
    check "scripts/install-deps.sh succeeds" bash scripts/install-deps.sh
    local yaml_arch
    yaml_arch="$(dpkg-query -W -f='${Architecture}' libyaml-cpp-dev 2>/dev/null || echo missing)"
    check "libyaml-cpp-dev is the $native_arch one again (is: $yaml_arch)" test "$yaml_arch" = "$native_arch"
    echo "== the native build still links: relink kaa-gatewayd and kaa-gateway in $native_build/"
    if [ ! -f "$native_build/CMakeCache.txt" ]; then
        cmake -S . -B "$native_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAA_BUILD_TESTS=ON \
            -DKAA_BUILD_BENCH=ON >/dev/null
    fi
    rm -f "$native_build/kaa-gatewayd" "$native_build/kaa-gateway"
    check "native kaa-gatewayd and kaa-gateway link" \
        cmake --build "$native_build" -j"$jobs" --target kaa-gatewayd kaa-gateway
    native_check() { "$native_build/kaa-gatewayd" --check --config packaging/gateway.yaml >/dev/null 2>&1; }
    check "native kaa-gatewayd --check runs" native_check
}
on_exit() {
    local rc=$?
    trap - EXIT
    set +e
    rm -rf "$tmp"
    restore_native
    echo "test_cross ($host_arch): $passed passed, $failed failed"
    if [ "$rc" -eq 0 ] && [ "$failed" -gt 0 ]; then rc=1; fi
    exit "$rc"
}
trap on_exit EXIT

version="$(dpkg-parsechangelog -l debian/changelog -S Version)"
deb="dist/kaa-gateway_${version}_${host_arch}.deb"
native_deb="dist/kaa-gateway_${version}_${native_arch}.deb"

# 1. cross build with the unit tests under qemu ------------------------------------
# The build log must show the unit tests passing: ctest's "100% tests passed ... out of
# N" (one ctest per test binary under qemu) and gtest's "[  PASSED  ] M tests." lines.
check_build_log() {
    local log="$1" summary unit_count passed_tests
    summary="$(grep -E '100% tests passed, 0 tests failed out of [0-9]+' "$log" | tail -n 1 || true)"
    echo "unit tests in the package build: ${summary:-no ctest summary found}"
    unit_count="$(sed -n 's/.* out of \([0-9][0-9]*\).*/\1/p' <<<"$summary")"
    check "the unit tests ran and passed in the $host_arch package build" test "${unit_count:-0}" -gt 0
    passed_tests="$(sed -n 's/.*\[  PASSED  \] \([0-9][0-9]*\) tests\{0,1\}\..*/\1/p' "$log" \
        | awk '{n += $1} END {print n + 0}')"
    echo "unit tests passed under qemu: $passed_tests (gtest's count over the test binaries)"
}
if [ -n "${KAA_CROSS_DEB:-}" ]; then
    deb="$KAA_CROSS_DEB"
    echo "== checking $deb (KAA_CROSS_DEB: not built here)"
    # scripts/test.sh built it in the background: its log is checked as if built here.
    if [ -n "${KAA_CROSS_BUILD_LOG:-}" ]; then
        check_build_log "$KAA_CROSS_BUILD_LOG"
    fi
else
    echo "== scripts/build-deb.sh $host_arch (unit tests under qemu)"
    rm -f "$deb"
    set +e
    DEB_BUILD_OPTIONS="parallel=$jobs" bash scripts/build-deb.sh "$host_arch" 2>&1 | tee "$tmp/build.log"
    build_rc="${PIPESTATUS[0]}"
    set -e
    if [ "$build_rc" -eq 3 ] && [ "$host_arch" = armhf ]; then
        echo "== SKIPPED: the archive's armhf package index could not be fetched;" \
             "no armhf package (see the README)"
        exit 0
    fi
    check "scripts/build-deb.sh $host_arch exits 0 (exit $build_rc)" test "$build_rc" -eq 0
    [ "$build_rc" -eq 0 ] || exit 1
    check_build_log "$tmp/build.log"
fi
check "$deb exists" test -f "$deb"
[ -f "$deb" ] || exit 1

# 2. the package's control data and binaries ---------------------------------------
echo "== dpkg-deb -I $deb"
dpkg-deb -I "$deb" | sed -n '/^ Package:/,/^ Description:/p'
check "Architecture is $host_arch" test "$(dpkg-deb -f "$deb" Architecture)" = "$host_arch"
depends="$(dpkg-deb -f "$deb" Depends)"
check "Depends has no unsubstituted \${...} variable" test "${depends//\$\{/}" = "$depends"
# Package names only: versions may differ between architectures (libgcc-s1 does).
depend_names() { tr ',|' '\n' | sed 's/(.*)//; s/:any//; s/[[:space:]]//g' | grep . | sort -u; }
for lib in libc6 libstdc++6 libmosquitto1 libmodbus5 libyaml-cpp0.7 libsqlite3-0 libssl3 libmicrohttpd12; do
    check "Depends names $lib (from shlibs)" grep -qx "$lib" <<<"$(depend_names <<<"$depends")"
done
# sd_notify is spoken by daemon/service_notifier.cpp: libsystemd is not linked.
check "Depends does not name libsystemd0" test -z "$(depend_names <<<"$depends" | grep -x libsystemd0)"
if [ -f "$native_deb" ]; then
    native_names="$(dpkg-deb -f "$native_deb" Depends | depend_names)"
    cross_names="$(depend_names <<<"$depends")"
    diff <(echo "$native_names") <(echo "$cross_names") || true
    check "Depends names the same packages as the $native_arch package" test "$native_names" = "$cross_names"
fi
dpkg-deb -x "$deb" "$tmp/root"
daemon="$tmp/root/usr/bin/kaa-gatewayd"
for f in "$daemon" "$tmp/root/usr/bin/kaa-gateway"; do
    machine="$(readelf -h "$f" | sed -n 's/^ *Machine: *//p')"
    check "$(basename "$f") is a $elf_machine binary (is: $machine)" test "$machine" = "$elf_machine"
done

# 3. --check under qemu ------------------------------------------------------------
# The binaries load the ARCH C library and libraries from the multiarch packages
# that the build installed (libc6:ARCH, ...), as in the package build's tests, not
# with `qemu -L /usr/GNU_TYPE`: the cross toolchain's libc hangs under qemu 7.2.
cpu="$(dpkg-architecture -a"$host_arch" -qDEB_HOST_GNU_CPU 2>/dev/null)"
qemu="/usr/bin/qemu-$cpu-static"
check "$qemu is there" test -x "$qemu"
configs=(packaging/gateway.yaml)
reference="${KAA_REFERENCE_CONFIG:-config/reference.yaml}"
if [ -f "$reference" ]; then
    configs+=("$reference")
else
    bad "the reference configuration $reference is missing (set KAA_REFERENCE_CONFIG)"
fi
for config in "${configs[@]}"; do
    echo "== $host_arch kaa-gatewayd --check --config $config (under $qemu)"
    set +e
    "$qemu" "$daemon" --check --config "$config" >"$tmp/check.out" 2>&1
    rc=$?
    set -e
    sed 's/^/  /' "$tmp/check.out"
    check "$host_arch kaa-gatewayd --check accepts $config (exit $rc)" test "$rc" -eq 0
    if [ -x "$native_build/kaa-gatewayd" ]; then
        "$native_build/kaa-gatewayd" --check --config "$config" >"$tmp/native.out" 2>&1 || true
        check "$host_arch and native --check print the same on $config" cmp -s "$tmp/check.out" "$tmp/native.out"
    fi
done
{ cat packaging/gateway.yaml; echo "no_such_key: 1"; } > "$tmp/broken.yaml"
set +e
"$qemu" "$daemon" --check --config "$tmp/broken.yaml" >"$tmp/check.out" 2>&1
rc=$?
set -e
sed 's/^/  /' "$tmp/check.out"
check "$host_arch kaa-gatewayd --check rejects an unknown key with exit 78 (exit $rc)" test "$rc" -eq 78
check "the error names the file, line and key" grep -q "broken.yaml:[0-9]*:[0-9]*:.*no_such_key" "$tmp/check.out"

# 4. install, check and purge through multiarch --------------------------------------
echo "== tests/package/test_install.sh $deb"
check "tests/package/test_install.sh passes on the $host_arch package" \
    bash tests/package/test_install.sh "$deb"
