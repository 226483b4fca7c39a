#!/usr/bin/python3
"""Polling benchmark: kaa-gatewayd against a minimal C++ loop doing the same work (the floor).

    /usr/bin/python3 tests/bench/bench_polling.py [--seconds 60] [--meters 100]
                                                  [--build-dir <repo>/build] [--keep]

Starts, on 127.0.0.1 only: mosquitto on a free port, the KPC stand-in
(tests/support/kpc_standin.py, answers every request on <topic>/status), the meter
simulator (`kaa-gateway simulate`: N units x 20 registers on one Modbus TCP server) and
a subscriber on kp1/+/dcx/+/json/+ that counts the samples inside every published array.
Then it runs, one after the other against the same simulator and broker,

  1. kaa-gatewayd (one tcp bus, every meter polled every 1 s, qos 1, kaa.delivery status)
     for --seconds, publishing as application version "bench_gwd";
  2. polling_floor (tests/bench/polling_floor.cpp: libmodbus + libmosquitto + nlohmann json,
     the same Modbus requests and the same sample bytes) for --seconds, as "bench_flr"
     (same length, so the topics have the same size).

For each process it reads utime+stime from /proc/<pid>/stat and VmHWM from
/proc/<pid>/status just before sending SIGTERM. The headline figures cover each
process's whole run (start-up included); CPU per reading with the first second
excluded is printed as well. Readings are the samples whose "timestamp" is not later
than the moment CPU was read. It always exits 0 when the measurement ran (a missed
target is a result, printed as FAIL); 1 when the set-up failed.

Binaries: <build-dir>/kaa-gatewayd, <build-dir>/kaa-gateway and
<build-dir>/tests/bench/polling_floor (cmake --build <build-dir> --target polling_floor).
"""

import argparse
import os
import re
import signal
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import harness  # noqa: E402  (tests/integration/harness.py: processes, broker, waiting)

DAEMON_APP = "bench_gwd"
FLOOR_APP = "bench_flr"  # same length as DAEMON_APP: same topic bytes
POLL_INTERVAL_S = 1
TARGET_RSS_MIB = 15.0
TARGET_CPU_RATIO = 1.5
CLK_TCK = os.sysconf("SC_CLK_TCK")

# name, function, address, type, byte order, scale, simulated value, rise/s, wander.
# Config order is the JSON key order. Keep in sync with kRegisters in polling_floor.cpp.
REGISTERS = [
    ("voltage_l1", "input", 0, "float32", "ABCD", 1, 230.1, 0, 2.0),
    ("voltage_l2", "input", 2, "float32", "ABCD", 1, 229.4, 0, 2.0),
    ("voltage_l3", "input", 4, "float32", "ABCD", 1, 231.7, 0, 2.0),
    ("current_l1", "input", 6, "float32", "ABCD", 1, 5.2, 0, 1.0),
    ("current_l2", "input", 8, "float32", "ABCD", 1, 4.8, 0, 1.0),
    ("current_l3", "input", 10, "float32", "ABCD", 1, 6.1, 0, 1.0),
    ("power_total", "input", 12, "float32", "CDAB", 1, 3520.0, 0, 200.0),
    ("frequency", "input", 14, "float32", "ABCD", 1, 50.0, 0, 0.05),
    ("energy_import_wh", "input", 16, "uint32", "ABCD", 1, 12345678, 97.5, 0),
    ("energy_export_wh", "input", 18, "uint32", "CDAB", 1, 234567, 3.2, 0),
    ("energy_import_kwh", "input", 20, "uint32", "ABCD", 0.001, 12345678, 97.5, 0),
    ("operating_seconds", "input", 22, "uint32", "ABCD", 1, 86400, 1, 0),
    ("temperature", "holding", 0, "int16", "ABCD", 0.1, 235, 0, 15),
    ("phase_angle_l1", "holding", 1, "int16", "ABCD", 1, -30, 0, 3),
    ("phase_angle_l2", "holding", 2, "int16", "ABCD", 1, 12, 0, 3),
    ("phase_angle_l3", "holding", 3, "int16", "ABCD", 1, 95, 0, 3),
    ("status_word", "holding", 4, "uint16", "ABCD", 1, 1, 0, 0),
    ("alarm_flags", "holding", 5, "uint16", "ABCD", 1, 0, 0, 0),
    ("ct_ratio", "holding", 6, "uint16", "ABCD", 1, 100, 0, 0),
    ("power_factor_pct", "holding", 7, "uint16", "ABCD", 0.01, 95, 0, 3),
]
# The plan polling_floor.cpp hard-codes; checked against `kaa-gatewayd --check`.
EXPECTED_PLAN = ["read holding 0..7 (8 registers)", "read input 0..23 (24 registers)"]


def token(unit):
    return "meter-%03d" % unit  # polling_floor.cpp builds the same tokens


# --------------------------------------------------------------------------------------
# Configs


def sim_config(port, meters):
    units = []
    for unit in range(1, meters + 1):
        regs = []
        for name, fn, addr, typ, order, _scale, value, rise, wander in REGISTERS:
            if isinstance(value, float):
                value = round(value * (1 + unit / 1000.0), 3)  # meters differ a little
            reg = {"name": name, "address": addr, "function": fn, "type": typ, "value": value}
            if order != "ABCD":
                reg["byte_order"] = order
            if rise:
                reg["rise_per_second"] = rise
            if wander:
                reg["wander"] = wander
            regs.append(reg)
        units.append({"unit": unit, "registers": regs})
    return {"servers": [{"name": "bench-tcp", "tcp": {"host": harness.HOST, "port": port},
                         "units": units}]}


def gateway_config(ws, mqtt_port, modbus_port, meters):
    regs = []
    for name, fn, addr, typ, order, scale, _value, _rise, _wander in REGISTERS:
        reg = {"name": name, "address": addr, "function": fn, "type": typ}
        if order != "ABCD":
            reg["byte_order"] = order
        if scale != 1:
            reg["scale"] = scale
        regs.append(reg)
    buses = [{"name": "bench", "tcp": {"host": harness.HOST, "port": modbus_port},
              "timeout": "500ms", "retries": 1}]
    meter_list = [{"name": token(u), "token": token(u), "bus": "bench", "unit": u,
                   "poll_interval": "%ds" % POLL_INTERVAL_S, "registers": regs}
                  for u in range(1, meters + 1)]
    return harness.gateway_config(ws, mqtt_port, buses, meter_list, app_version=DAEMON_APP,
                                  client_id="kaa-gw-bench", keepalive="60s",
                                  response_timeout="30s",
                                  reconnect={"min_delay": "1s", "max_delay": "30s"})


def check_plan(config_path, meters):
    """Runs kaa-gatewayd --check; fails unless every meter gets exactly EXPECTED_PLAN."""
    res = harness.run([harness.gatewayd(), "--check", "--config", config_path])
    if res.returncode != 0:
        raise SystemExit("bench: kaa-gatewayd --check failed (rc %d):\n%s%s"
                         % (res.returncode, res.stdout, res.stderr))
    plans = {}
    current = None
    for line in res.stdout.splitlines():
        m = re.match(r"^  meter (\S+) ", line)
        if m:
            current = m.group(1)
            plans[current] = []
        elif current and line.startswith("    read "):
            plans[current].append(line.strip().split(":")[0])
    bad = [name for name in (token(u) for u in range(1, meters + 1))
           if plans.get(name) != EXPECTED_PLAN]
    if bad:
        raise SystemExit("bench: the daemon's plan differs from polling_floor's %s for %s:\n%s"
                         % (EXPECTED_PLAN, ", ".join(bad[:5]), res.stdout[:2000]))
    return "%d meters x %d registers; daemon plan per meter: %s" % (
        meters, len(REGISTERS), "; ".join(EXPECTED_PLAN))


# --------------------------------------------------------------------------------------
# Measuring


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmHWM for pid %d" % pid)


class Run:
    """One measured process run: CPU, RSS and the window its readings belong to."""

    def __init__(self, label, app):
        self.label = label
        self.app = app
        self.start_wall_ms = None
        self.cpu_at_1s = None
        self.mark_1s_wall_ms = None
        self.phase = 0.0
        self.cpu = None
        self.rss = None
        self.stop_wall_ms = None
        self.elapsed = None
        self.exit_code = None


def first_sample_ms(collector, app, skip=0):
    """The timestamp of the first sample published under application version `app` (looking
    past the first `skip` messages), or None."""
    for m in collector.messages()[skip:]:
        if m.topic.split("/")[1] == app:
            body = m.json()
            items = body if isinstance(body, list) else [body]
            return min(s.get("timestamp", 0) for s in items)
    return None


def measure(proc, run, seconds, collector):
    """Starts proc, lets it run, reads CPU/RSS just before SIGTERM, stops it.

    Both programs poll every meter in a burst once per interval. The first burst's
    timestamp gives the phase; CPU is read half an interval after a burst (past 1 s for
    the start-up figure, past `seconds` at the end), so no burst straddles a reading.
    """
    half = POLL_INTERVAL_S / 2.0
    seen_before = len(collector.messages())
    t0 = time.monotonic()
    run.start_wall_ms = int(time.time() * 1000)
    proc.start()
    pid = proc.pid

    def alive():
        if not proc.alive():
            raise AssertionError("%s exited early\n%s" % (run.label, proc.tail()))
        return True

    def passed(t):
        return lambda: alive() and time.monotonic() - t0 >= t

    first = harness.wait_until(
        lambda: alive() and first_sample_ms(collector, run.app, seen_before), 20,
        interval=0.02, message="the first sample of %s" % run.label)
    phase = max(0.0, (first - run.start_wall_ms) / 1000.0) % POLL_INTERVAL_S
    run.phase = phase
    harness.wait_until(passed(1.0 + phase + half), 5, interval=0.01)
    run.cpu_at_1s = cpu_seconds(pid)
    run.mark_1s_wall_ms = int(time.time() * 1000)
    harness.wait_until(passed(seconds + phase + half), seconds + 5, interval=0.02)
    run.cpu = cpu_seconds(pid)
    run.rss = peak_rss_mib(pid)
    run.stop_wall_ms = int(time.time() * 1000)
    run.elapsed = time.monotonic() - t0
    run.exit_code = proc.terminate(timeout=15)


def tally(collector, run):
    """Readings of this run: samples of its app with a timestamp not after the CPU read."""
    messages = [m for m in collector.messages() if m.topic.split("/")[1] == run.app]
    samples, startup_excluded, keys, sizes, single = [], 0, None, [], 0
    kinds = {}  # key -> set of JSON value kinds seen (int literal, float literal, ...)
    run.example = None
    for m in messages:
        body = m.json()
        items = body if isinstance(body, list) else [body]
        if len(items) == 1:
            single += 1
            sizes.append(len(m.payload))
            if run.example is None:
                run.example = m
        for s in items:
            ts = s.get("timestamp", 0)
            if ts <= run.stop_wall_ms:
                samples.append((harness.DCX_RE.match(m.topic).group(2), ts))
                if ts >= run.mark_1s_wall_ms:
                    startup_excluded += 1
            if keys is None:
                keys = list(s.keys())
            for k, v in s.items():
                kinds.setdefault(k, set()).add(type(v).__name__)
    run.messages = len(messages)
    run.readings = len(samples)
    run.unique = len(set(samples))
    run.readings_after_1s = startup_excluded
    run.keys = keys
    run.kinds = kinds
    run.mean_single_payload = sum(sizes) / len(sizes) if sizes else 0
    run.single_messages = single


def wait_quiet(collector, quiet=1.0, limit=15.0):
    """Waits until no message arrived for `quiet` seconds (the subscriber has caught up)."""
    state = {"n": -1, "since": time.monotonic()}

    def settled():
        n = len(collector.messages())
        if n != state["n"]:
            state["n"], state["since"] = n, time.monotonic()
            return False
        return time.monotonic() - state["since"] >= quiet

    harness.wait_until(settled, limit, interval=0.1, message="the subscriber to go quiet")


# --------------------------------------------------------------------------------------
# Report


def report(args, plan, daemon, floor):
    def per_reading_us(cpu, n):
        return cpu / n * 1e6 if n else float("inf")

    d_us = per_reading_us(daemon.cpu, daemon.readings)
    f_us = per_reading_us(floor.cpu, floor.readings)
    d_us1 = per_reading_us(daemon.cpu - daemon.cpu_at_1s, daemon.readings_after_1s)
    f_us1 = per_reading_us(floor.cpu - floor.cpu_at_1s, floor.readings_after_1s)
    # CPU time comes in clock ticks: a run too short for the floor to use one is no measure.
    ratio = d_us / f_us if f_us else float("nan")
    ratio1 = d_us1 / f_us1 if f_us1 else float("nan")
    expected = args.meters * (int(args.seconds / POLL_INTERVAL_S) + 1)

    rows = [
        ("readings published", "%d" % daemon.readings, "%d" % floor.readings),
        ("  distinct (token, timestamp)", "%d" % daemon.unique, "%d" % floor.unique),
        ("  MQTT publishes (arrays)", "%d" % daemon.messages, "%d" % floor.messages),
        ("readings/s", "%.2f" % (daemon.readings / daemon.elapsed),
         "%.2f" % (floor.readings / floor.elapsed)),
        ("CPU seconds (utime+stime)", "%.2f" % daemon.cpu, "%.2f" % floor.cpu),
        ("CPU us per reading", "%.1f" % d_us, "%.1f" % f_us),
        ("  start-up (first 1.5 s) excluded", "%.1f" % d_us1, "%.1f" % f_us1),
        ("peak RSS MiB (VmHWM)", "%.2f" % daemon.rss, "%.2f" % floor.rss),
        ("mean one-sample payload bytes", "%.1f" % daemon.mean_single_payload,
         "%.1f" % floor.mean_single_payload),
        ("exit code after SIGTERM", str(daemon.exit_code), str(floor.exit_code)),
    ]
    w0 = max(len(r[0]) for r in rows) + 2
    lines = [
        "kaa-gateway polling benchmark",
        "  %s" % plan,
        "  poll interval %d s, one Modbus TCP bus (simulator), MQTT QoS 1 to a local mosquitto,"
        % POLL_INTERVAL_S,
        "  kaa.delivery status answered by the KPC stand-in; daemon first, then the floor,",
        "  each for %.1f s / %.1f s of wall time (expected about %d readings each)."
        % (daemon.elapsed, floor.elapsed, expected),
        "  Figures cover each process's WHOLE run, start-up included: CPU (utime+stime,",
        "  all threads) and peak RSS read from /proc just before SIGTERM, half a poll",
        "  interval after the last poll round due (first round at +%.2f s / +%.2f s);"
        % (daemon.phase, floor.phase),
        "  readings = samples (counted inside the arrays) timestamped before that moment.",
        "",
        "%-*s%16s%16s" % (w0, "", "kaa-gatewayd", "polling_floor"),
    ]
    lines += ["%-*s%16s%16s" % (w0, r[0], r[1], r[2]) for r in rows]
    same_keys = daemon.keys == floor.keys and daemon.keys is not None
    same_kinds = daemon.kinds == floor.kinds
    lines += [
        "",
        "samples: keys and key order identical: %s (%d keys); number kinds (int/float) per key "
        "identical: %s" % ("yes" if same_keys else "NO", len(daemon.keys or []),
                           "yes" if same_kinds else "NO"),
        "daemon/floor CPU per reading: %.2fx (start-up excluded: %.2fx)" % (ratio, ratio1),
        "",
        "targets (whole run):",
        "  daemon peak RSS < %.0f MiB:                %6.2f MiB   %s"
        % (TARGET_RSS_MIB, daemon.rss, "PASS" if daemon.rss < TARGET_RSS_MIB else "FAIL"),
        "  daemon CPU per reading <= %.1fx floor's:   %6.2fx       %s"
        % (TARGET_CPU_RATIO, ratio, "PASS" if ratio <= TARGET_CPU_RATIO
           else "FAIL" if ratio == ratio else "n/a (run too short to measure)"),
    ]
    if daemon.readings < 0.95 * expected or floor.readings < 0.95 * expected:
        lines.append("  WARNING: fewer readings than expected (%d); see the logs (--keep)"
                     % expected)
    print("\n".join(lines), flush=True)


# --------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--meters", type=int, default=100)
    parser.add_argument("--build-dir", default=str(REPO / "build"))
    parser.add_argument("--keep", action="store_true", help="keep the workspace (configs, logs)")
    parser.add_argument("--floor-without-replies", action="store_true",
                        help="the floor does not subscribe to the /status replies (by default it "
                        "receives the same replies the daemon receives with kaa.delivery status)")
    args = parser.parse_args()
    if not 1 <= args.meters <= 247:
        parser.error("--meters must be 1..247 (Modbus unit ids)")
    if args.seconds < 2:
        parser.error("--seconds must be at least 2")

    os.environ["KAA_BUILD_DIR"] = str(Path(args.build_dir).resolve())
    floor_bin = harness.build_dir() / "tests" / "bench" / "polling_floor"
    for path in (floor_bin,):
        if not os.access(path, os.X_OK):
            raise SystemExit("bench: %s not found: cmake --build %s --target polling_floor"
                             % (path, args.build_dir))
    harness.gatewayd()
    harness.gateway_tool()

    if args.keep:
        os.environ["KAA_IT_KEEP"] = "1"
    ws = harness.Workspace(prefix="kaa-bench-")
    cleanups = []
    try:
        broker = harness.Mosquitto(ws)
        cleanups.append(broker.cleanup)
        broker.start()

        kpc = harness.Process([harness.PYTHON, str(harness.SUPPORT / "kpc_standin.py"),
                               "--port", broker.port], ws, "kpc")
        cleanups.append(kpc.kill)
        kpc.start()
        kpc.wait_for_log(r"kpc-standin: listening", 15)

        collector = harness.MqttCollector(broker.port, topic="kp1/+/dcx/+/json/+")
        cleanups.append(collector.stop)
        collector.start()

        modbus_port = harness.free_port()
        sim = harness.start_simulator(ws, sim_config(modbus_port, args.meters))
        cleanups.append(sim.kill)

        config_path = ws.write_yaml("gatewayd.yaml",
                                    gateway_config(ws, broker.port, modbus_port, args.meters))
        plan = check_plan(config_path, args.meters)

        print("bench: running kaa-gatewayd for %.0f s ..." % args.seconds, file=sys.stderr,
              flush=True)
        daemon = Run("kaa-gatewayd", DAEMON_APP)
        gw = harness.Process([harness.gatewayd(), "--config", config_path], ws, "gatewayd")
        cleanups.append(gw.kill)
        measure(gw, daemon, args.seconds, collector)

        print("bench: running polling_floor for %.0f s ..." % args.seconds, file=sys.stderr,
              flush=True)
        floor = Run("polling_floor", FLOOR_APP)
        fl = harness.Process([floor_bin, "--modbus-port", modbus_port, "--mqtt-port", broker.port,
                              "--meters", args.meters, "--seconds", int(args.seconds) + 60,
                              "--app", FLOOR_APP]
                             + ([] if args.floor_without_replies else ["--subscribe-status"]),
                             ws, "floor")
        cleanups.append(fl.kill)
        measure(fl, floor, args.seconds, collector)

        wait_quiet(collector)
        tally(collector, daemon)
        tally(collector, floor)
        for run in (daemon, floor):
            if run.example is not None:
                ws.write("example-%s.txt" % run.app, "%s\n%s\n" % (
                    run.example.topic, run.example.payload.decode("utf-8", "replace")))
        report(args, plan, daemon, floor)
        if args.keep:
            print("bench: workspace kept in %s" % ws.path, file=sys.stderr)
        return 0
    except (AssertionError, TimeoutError) as e:
        print("bench: set-up or run failed: %s" % e, file=sys.stderr)
        return 1
    finally:
        harness.run_cleanups(cleanups)
        ws.cleanup()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
