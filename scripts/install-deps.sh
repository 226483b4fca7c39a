#!/usr/bin/env bash
# Installs everything kaa-gateway needs to build, test and run its demo, from
# Debian's package archive only. Safe to run again: apt-get skips what is there.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake make pkg-config clang-format
  # libraries the gateway links
  libmosquitto-dev libmodbus-dev libyaml-cpp-dev nlohmann-json3-dev
  libsqlite3-dev libspdlog-dev libfmt-dev libcli11-dev libsystemd-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # real peers used by the demo and the tests
  mosquitto mosquitto-clients socat python3 python3-pymodbus python3-paho-mqtt sqlite3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
