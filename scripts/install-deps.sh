#!/usr/bin/env bash
# Installs everything kaa-gateway needs to build, test and run its demo, from
# Debian's package archive only. Safe to run again: apt-get skips what is there.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake make pkg-config clang-format git
  # the sanitizer build (scripts/test.sh) compiles with clang: twice as fast as g++ there;
  # its sanitizer runtimes and libFuzzer (tests/fuzz/) are only recommended by clang-14
  clang libclang-rt-14-dev
  # libraries the gateway links
  libmosquitto-dev libmodbus-dev libyaml-cpp-dev nlohmann-json3-dev
  libsqlite3-dev libspdlog-dev libfmt-dev libcli11-dev libmicrohttpd-dev libssl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # real peers used by the demo and the tests
  mosquitto mosquitto-clients socat python3 python3-pymodbus python3-paho-mqtt sqlite3
  # the meter profiles' checker (tests/support/check_profiles.py)
  python3-yaml
  # pymodbus's RTU server (only recommended by python3-pymodbus)
  python3-serial python3-serial-asyncio
  # the TLS tests make their CA and server certificate with it
  openssl
  # promtool checks the Prometheus text of `kaa-gateway status --prometheus` (test_status.py)
  prometheus
  # the status page is looked at in a real browser (test_status_page.py)
  chromium
  # the integration tests' runner, and its plugin that runs a file's tests in parallel
  python3-pytest python3-pytest-xdist
  # tests/bench/bench_peer_workload.py counts the daemon's system calls per Modbus transaction
  strace
  # the FUSE file system that test_power_cut.py cuts the power of (tests/support/powercut_fs.c):
  # libfuse3 to build it, fusermount3 to mount and unmount it
  libfuse3-dev fuse3
  # packaging
  systemd dpkg-dev debhelper lintian
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# apt-get install is idempotent and quick when everything is there; it also puts back
# the native -dev packages that a cross build (scripts/build-deb.sh arm64) replaced with
# their arm64 twins. Only when it fails (a fresh machine with stale package lists) is
# the index refreshed first.
if ! $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/tmp/kaa-install-deps.log 2>&1; then
  echo "install-deps: refreshing the package lists"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi
echo "install-deps: ${#packages[@]} packages present"
