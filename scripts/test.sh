#!/usr/bin/env bash
# Installs what the tests need (apt), builds, and runs every test: the unit and
# integration suites in a normal build, the same suites again in an ASan+UBSan build,
# and the clang-format check. This is the command the README gives and .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs=2
echo "== format check"
bash scripts/check-format.sh

echo "== build (RelWithDebInfo) into build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAA_BUILD_TESTS=ON -DKAA_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests (build/)"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== systemd unit: systemd-analyze verify and security exposure"
bash tests/package/check_unit.sh build/kaa-gatewayd

echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKAA_SANITIZE=ON -DKAA_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests (build-asan/)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
