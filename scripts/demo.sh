#!/usr/bin/env bash
# The end-to-end demo on one machine: installs what it needs (apt), builds, then
# starts a local mosquitto (port 18830), a stand-in for Kaa's KPC that confirms
# requests, the meter simulator (Modbus TCP on 15020 and RTU over a socat pty pair),
# and kaa-gatewayd with config/examples/gateway.yaml. It prints every message Kaa
# would receive for DEMO_SECONDS (default 30) and then stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${DEMO_SECONDS:-30}"

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target kaa-gatewayd kaa-gateway

demo=.demo
rm -rf "$demo"
mkdir -p "$demo"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_for() {  # wait_for <description> <seconds> <command...>: poll a condition with a deadline
  local what=$1 limit=$2; shift 2
  local end=$((SECONDS + limit))
  until "$@" 2>/dev/null; do
    if [ "$SECONDS" -ge "$end" ]; then echo "demo: $what did not come up; see $demo/*.log" >&2; exit 1; fi
    sleep 0.1
  done
}

cat > "$demo/mosquitto.conf" <<CONF
listener 18830 127.0.0.1
allow_anonymous true
persistence false
CONF
/usr/sbin/mosquitto -c "$demo/mosquitto.conf" >"$demo/mosquitto.log" 2>&1 & pids+=($!)
wait_for "mosquitto" 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/18830'

socat -d -d "pty,raw,echo=0,link=$demo/ttySIM" "pty,raw,echo=0,link=$demo/ttyGW" >"$demo/socat.log" 2>&1 & pids+=($!)
wait_for "the socat pty pair" 10 test -e "$demo/ttyGW" -a -e "$demo/ttySIM"

/usr/bin/python3 tests/support/kpc_standin.py --port 18830 >"$demo/kpc.log" 2>&1 & pids+=($!)
./build/kaa-gateway simulate --config config/examples/sim.yaml >"$demo/simulator.log" 2>&1 & pids+=($!)
wait_for "the simulator" 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/15020'

echo "== kaa-gatewayd --check"
./build/kaa-gatewayd --check --config config/examples/gateway.yaml

echo "== what Kaa receives (topic, payload) for ${seconds}s; daemon log in $demo/gateway.log"
mosquitto_sub -h 127.0.0.1 -p 18830 -v -t 'kp1/+/epmx/#' -t 'kp1/+/dcx/#' & pids+=($!)
./build/kaa-gatewayd --config config/examples/gateway.yaml >"$demo/gateway.log" 2>&1 & pids+=($!)
gateway_pid=$!
end=$((SECONDS + seconds))
while [ "$SECONDS" -lt "$end" ] && kill -0 "$gateway_pid" 2>/dev/null; do sleep 1; done
echo "== kaa-gateway status (what the engineer at the Pi sees)"
./build/kaa-gateway status --config config/examples/gateway.yaml || true
kill -TERM "$gateway_pid" 2>/dev/null || true
wait "$gateway_pid" 2>/dev/null || true
echo "== daemon log"
cat "$demo/gateway.log"
