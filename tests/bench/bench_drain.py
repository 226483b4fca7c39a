#!/usr/bin/python3
"""Backlog drain benchmark: kaa-gatewayd against a minimal libmosquitto publisher (the floor).

    /usr/bin/python3 tests/bench/bench_drain.py [--samples 1000000] [--meters 10] [--batch 500]
                                                [--in-flight 8,32] [--build-dir <repo>/build]
                                                [--timeout 900] [--keep]

Set-up, on 127.0.0.1 only: fill_buffer (tests/bench/fill_buffer.cpp) writes --samples samples
(~210 bytes of JSON each) over --meters meters (meter-001 ..) into a buffer file through
SqliteSampleStore, in transactions of 500. Each run below gets its own copy of that file.
mosquitto runs on a free port (max_queued_messages 0, so that no QoS 1 message to a subscriber
that falls behind is dropped; set_tcp_nodelay true, as a broker serving request/response
traffic should run: with Nagle's algorithm on, each small /status answer waits for the
peer's delayed ACK, up to 40 ms, and the daemon's drain, paced by those answers, took 3x
longer: 12.7 s instead of 4.8 s at max_in_flight 4), the KPC stand-in (tests/support/kpc_standin.py, a separate
process) answers every request on <topic>/status, and a subscriber in this process counts the
samples inside every array published on kp1/+/dcx/+/json/+ (occurrences of b'"timestamp"' in
the raw payload; no JSON parsing) and the /status answers, per application version.

Then, one after the other:

  1. kaa-gatewayd with that buffer, once per --in-flight value (kaa.max_in_flight: sample
     batches awaiting /status; if this build has no such key, once with its built-in limit).
     Its meters sit on a Modbus TCP bus pointing to a port where nothing listens, so it
     polls nothing new: it only drains. kaa.delivery status, qos 1, buffer.batch --batch.
  2. drain_floor (tests/bench/drain_floor.cpp) with its own copy: plain SQLite reads and
     libmosquitto QoS 1 publishes of the same arrays (same batches per meter, meters
     round-robin, same topic lengths); it waits for PUBACKs only, not for /status.

Drain time = from the process's start until the subscriber has counted all samples (the
ratio uses it for both). Also shown: when the stand-in's last /status answer was seen and,
for the daemon, when its buffer file had no rows left (polled read-only every 10 ms once
every /status was seen). While a process drains, its VmRSS is sampled every 0.2 s; VmHWM,
utime+stime and rchar/wchar (/proc/<pid>/io: file and socket bytes) are read when the
subscriber has counted the last sample. The daemon is then stopped with SIGTERM and its
buffer file is checked for rows left. Exit 0 when the measurement ran (a missed
target is a result, printed as FAIL); 1 when the set-up or a run failed.

Binaries: <build-dir>/kaa-gatewayd and <build-dir>/tests/bench/{fill_buffer,drain_floor}
(cmake --build <build-dir> --target kaa-gatewayd fill_buffer drain_floor).
"""

import argparse
import os
import re
import shutil
import signal
import sqlite3
import sys
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402  (tests/integration/harness.py: processes, broker, waiting)
from bench_polling import cpu_seconds, peak_rss_mib  # noqa: E402  (/proc readers)

DAEMON_APP = "bench_gwd"
FLOOR_APP = "bench_flr"  # same length as DAEMON_APP: same topic bytes
TARGET_RATIO = 2.0
TARGET_RSS_MIB = 32.0
RSS_INTERVAL_S = 0.2
TIMESTAMP = b'"timestamp"'


def token(meter):
    return "meter-%03d" % meter  # fill_buffer.cpp and drain_floor.cpp use the same names


def io_mib(pid):
    """(rchar, wchar) of /proc/<pid>/io in MiB: bytes through read/write-like syscalls
    (files and sockets alike); None when the process is gone."""
    try:
        with open("/proc/%d/io" % pid) as f:
            fields = dict(line.split(": ") for line in f.read().splitlines())
        return int(fields["rchar"]) / 1048576.0, int(fields["wchar"]) / 1048576.0
    except (OSError, KeyError, ValueError):
        return None


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS for pid %d" % pid)


# --------------------------------------------------------------------------------------
# The counting subscriber


class AppCount:
    """What the subscriber saw of one application version."""

    def __init__(self):
        self.target = None      # samples that complete the drain
        self.t0 = None          # monotonic start of the run
        self.samples = 0
        self.messages = 0
        self.payload_bytes = 0
        self.statuses = 0
        self.first_at = None    # monotonic, first sample array
        self.done_at = None     # monotonic, the array that completed `target`
        self.last_status_at = None


class SampleCounter:
    """A paho client counting DCX samples and /status answers per application version."""

    def __init__(self, port):
        self._lock = threading.Lock()
        self._apps = {}
        self._subscribed = threading.Event()
        self._client = mqtt.Client(client_id="bench-drain-counter-" + uuid.uuid4().hex[:8],
                                   clean_session=True)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *a: self._subscribed.set()
        self._client.on_message = self._on_message
        self._port = port

    def start(self, timeout=10.0):
        self._client.connect_async(harness.HOST, self._port, keepalive=60)
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise AssertionError("sample counter not subscribed within %.1fs" % timeout)
        return self

    def stop(self):
        try:
            self._client.disconnect()
        except Exception:  # noqa: BLE001
            pass
        self._client.loop_stop()

    def expect(self, app, samples, t0):
        """Starts a fresh count for `app`: the run that publishes as it starts now."""
        with self._lock:
            c = self._apps[app] = AppCount()
            c.target, c.t0 = samples, t0

    def get(self, app):
        with self._lock:
            c = self._apps.setdefault(app, AppCount())
            snap = AppCount()
            snap.__dict__.update(c.__dict__)
            return snap

    def _on_connect(self, client, userdata, flags, rc):
        if rc == 0:
            client.subscribe([("kp1/+/dcx/+/json/+", 1), ("kp1/+/dcx/+/json/+/status", 1)])

    def _on_message(self, client, userdata, msg):
        now = time.monotonic()
        parts = msg.topic.split("/")
        if len(parts) < 6:
            return
        with self._lock:
            c = self._apps.setdefault(parts[1], AppCount())
            if len(parts) == 7:
                if parts[6] == "status":
                    c.statuses += 1
                    c.last_status_at = now
                return
            payload = msg.payload
            c.samples += payload.count(TIMESTAMP)
            c.messages += 1
            c.payload_bytes += len(payload)
            if c.first_at is None:
                c.first_at = now
            if c.done_at is None and c.target is not None and c.samples >= c.target:
                c.done_at = now


# --------------------------------------------------------------------------------------
# Configs and set-up


def gateway_config(ws, mqtt_port, dead_port, args, buffer_path, in_flight):
    """Meters meter-001.. on a TCP bus where nothing listens: the daemon only drains."""
    buses = [{"name": "nowhere", "tcp": {"host": harness.HOST, "port": dead_port},
              "timeout": "200ms", "retries": 0}]
    meters = [{"name": token(m), "token": token(m), "bus": "nowhere", "unit": m,
               "poll_interval": "10s",
               "registers": [{"name": "voltage_l1", "address": 0, "function": "input",
                              "type": "float32"}]}
              for m in range(1, args.meters + 1)]
    extra = {"max_in_flight": in_flight} if in_flight else {}
    cfg = harness.gateway_config(ws, mqtt_port, buses, meters, app_version=DAEMON_APP,
                                 client_id="kaa-gw-bench-drain", keepalive="60s",
                                 response_timeout="60s",
                                 reconnect={"min_delay": "200ms", "max_delay": "1s"}, **extra)
    cfg["buffer"].update({"path": str(buffer_path), "max_size": "2GiB", "batch": args.batch})
    return cfg


def max_in_flight_supported(ws, args):
    """True when this kaa-gatewayd accepts kaa.max_in_flight (kaa-gatewayd --check)."""
    path = ws.write_yaml("probe.yaml", gateway_config(ws, 1883, 1502, args,
                                                      ws.file("probe.db"), 8))
    res = harness.run([harness.gatewayd(), "--check", "--config", path])
    if res.returncode == 0:
        return True
    if "max_in_flight" in res.stdout + res.stderr:
        return False
    raise SystemExit("bench: kaa-gatewayd --check failed (rc %d):\n%s%s"
                     % (res.returncode, res.stdout, res.stderr))


def copy_buffer(src, dst):
    for suffix in ("", "-wal"):
        if os.path.exists(str(src) + suffix):
            shutil.copyfile(str(src) + suffix, str(dst) + suffix)
    return dst


def rows_left(path):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return con.execute("SELECT count(*) FROM samples").fetchone()[0]
    finally:
        con.close()


# --------------------------------------------------------------------------------------
# Measuring


class Run:
    def __init__(self, label, app, in_flight):
        self.label = label
        self.app = app
        self.in_flight = in_flight
        self.count = None
        self.drain_s = None
        self.first_s = None
        self.status_s = None
        self.empty_s = None
        self.cpu = None
        self.rss_max = 0.0
        self.rss_samples = 0
        self.hwm = None
        self.io = None
        self.broker_cpu = None
        self.kpc_cpu = None
        self.self_cpu = None
        self.exit_code = None
        self.rows_left = None
        self.note = ""


def self_cpu():
    t = os.times()
    return t.user + t.system


def measure(proc, run, counter, samples, timeout, broker_pid, kpc_pid):
    """Starts proc; samples its VmRSS every 0.2 s until the subscriber counted `samples`."""
    broker0, kpc0, self0 = cpu_seconds(broker_pid), cpu_seconds(kpc_pid), self_cpu()
    t0 = time.monotonic()
    counter.expect(run.app, samples, t0)
    proc.start()
    pid = proc.pid
    state = {"next": t0}

    def drained():
        c = counter.get(run.app)
        if c.done_at is not None:
            return c
        if time.monotonic() >= state["next"]:
            state["next"] += RSS_INTERVAL_S
            try:
                run.rss_max = max(run.rss_max, rss_mib(pid))
                run.rss_samples += 1
            except (OSError, RuntimeError):
                pass
        if not proc.alive():
            # drain_floor exits once all PUBACKs are in; the subscriber may lag a moment.
            if proc.returncode() != 0:
                raise AssertionError("%s exited (rc %s) before the drain completed\n%s"
                                     % (run.label, proc.returncode(), proc.tail()))
        return None

    c = harness.wait_until(drained, timeout, interval=0.01,
                           message=lambda: "%s to drain %d samples (counted %d)\n%s"
                           % (run.label, samples, counter.get(run.app).samples, proc.tail()))
    if proc.alive():
        run.cpu = cpu_seconds(pid)
        run.hwm = peak_rss_mib(pid)
        run.io = io_mib(pid)
    run.count = c
    run.drain_s = c.done_at - t0
    run.first_s = c.first_at - t0
    # Every batch answered on /status by the stand-in (the daemon deletes it on that answer).
    c = harness.wait_until(
        lambda: (lambda x: x if x.statuses >= x.messages else None)(counter.get(run.app)),
        60, interval=0.01, message="the stand-in's /status answers to %s" % run.label)
    run.status_s = c.last_status_at - t0
    run.count = c
    run.broker_cpu = cpu_seconds(broker_pid) - broker0
    run.kpc_cpu = cpu_seconds(kpc_pid) - kpc0
    run.self_cpu = self_cpu() - self0


def wait_empty(run, buf):
    """Waits until the daemon deleted every row (it does so when the /status answer arrives);
    records when, counted from the daemon's start. Leaves empty_s None after 30 s."""
    try:
        harness.wait_until(lambda: rows_left(buf) == 0, 30, interval=0.01)
        run.empty_s = time.monotonic() - run.count.t0
    except (AssertionError, sqlite3.Error) as e:
        print("bench: the daemon's buffer did not empty: %s" % e, file=sys.stderr)


def usage_from_report(run, text):
    """drain_floor may exit before the subscriber counts its last sample: take its CPU and
    peak RSS from its own getrusage() report then."""
    m = re.search(r"CPU ([0-9.]+) s, peak RSS ([0-9]+) KiB", text)
    if m and run.cpu is None:
        run.cpu = float(m.group(1))
        run.hwm = int(m.group(2)) / 1024.0


# --------------------------------------------------------------------------------------
# Report


def insert_figures(bench, ws):
    """The durable insert rate against its floor: bench_store --inserts-only's lines."""
    res = harness.run([bench / "bench_store", "--inserts-only", str(ws.path)], timeout=900)
    lines = [l for l in res.stdout.splitlines()
             if l.startswith(("insert,", "reference, insert", "bench_store:"))]
    if not lines:
        raise AssertionError("bench_store failed (rc %d): %s%s"
                             % (res.returncode, res.stdout, res.stderr))
    return lines


def report(args, fill_line, runs, floor, in_flight_note, backlog_bytes, inserts):
    def f(v, fmt="%.2f"):
        return "-" if v is None else fmt % v

    cols = runs + [floor]
    names = ["kaa-gatewayd" for _ in runs] + ["drain_floor"]
    sub = ["max_in_flight %s" % (r.in_flight if r.in_flight else "default") for r in runs] + \
          ["PUBACKs only"]
    rows = [
        ("samples counted by the subscriber", [f(r.count.samples, "%d") for r in cols]),
        ("MQTT publishes (arrays)", [f(r.count.messages, "%d") for r in cols]),
        ("payload MiB", [f(r.count.payload_bytes / 1048576.0, "%.1f") for r in cols]),
        ("first array at (s after start)", [f(r.first_s, "%.3f") for r in cols]),
        ("DRAIN: all samples counted (s)", [f(r.drain_s, "%.3f") for r in cols]),
        ("  samples/s", [f(args.samples / r.drain_s, "%.0f") for r in cols]),
        ("all /status answers seen (s)", [f(r.status_s, "%.3f") for r in cols]),
        ("buffer file empty (s)", [f(r.empty_s, "%.3f") if r is not floor else "n/a"
                                   for r in cols]),
        ("CPU s (utime+stime) at drain end", [f(r.cpu) for r in cols]),
        ("max VmRSS, 0.2 s samples (MiB)", [f(r.rss_max) if r.rss_samples else "-"
                                            for r in cols]),
        ("peak RSS VmHWM (MiB)", [f(r.hwm) for r in cols]),
        ("read/written MiB (rchar/wchar)", [f(r.io, "%.0f/%.0f") for r in cols]),
        ("mosquitto CPU s during the run", [f(r.broker_cpu) for r in cols]),
        ("KPC stand-in CPU s during the run", [f(r.kpc_cpu) for r in cols]),
        ("subscriber (this process) CPU s", [f(r.self_cpu) for r in cols]),
        ("exit code", [str(r.exit_code) for r in cols]),
        ("rows left in its buffer copy", [f(r.rows_left, "%d") if r is not floor else "n/a"
                                          for r in cols]),
    ]
    w0 = max(len(r[0]) for r in rows) + 2
    w = 18
    lines = [
        "kaa-gateway backlog drain benchmark",
        "  %s" % fill_line,
        "  backlog %d samples over %d meters (%.1f MiB of sample JSON); buffer.batch %d samples"
        " per publish" % (args.samples, args.meters, backlog_bytes / 1048576.0, args.batch),
        "  %s" % in_flight_note,
        "  local mosquitto (max_queued_messages 0, set_tcp_nodelay true), KPC stand-in answering every request on"
        " /status, QoS 1;",
        "  daemon: kaa.delivery status, no reachable meter (drains only); floor: drain_floor,"
        " plain SQLite +",
        "  libmosquitto (its default 20 QoS 1 messages in flight), waits for PUBACKs only, not"
        " for /status.",
        "  Drain time: process start -> the subscriber counted every sample. Each run reads its"
        " own copy.",
        "",
        "%-*s" % (w0, "") + "".join("%*s" % (w, n) for n in names),
        "%-*s" % (w0, "") + "".join("%*s" % (w, s) for s in sub),
    ]
    lines += ["%-*s" % (w0, r[0]) + "".join("%*s" % (w, v) for v in r[1]) for r in rows]
    lines.append("")
    lines.append("drain_floor's own report: %s" % floor.note)
    lines.append("")
    lines.append("durable inserts, SqliteSampleStore::append against a minimal SQLite program "
                 "inserting the same rows in the same transactions (bench_store):")
    lines += ["  " + l for l in inserts]
    lines.append("")
    lines.append("targets:")
    for l in inserts:
        if l.startswith("insert,"):
            lines.append("  [inserts] %s" % l)
    for r in runs:
        ratio = r.drain_s / floor.drain_s
        rss = max(r.hwm or 0.0, r.rss_max)
        tag = "max_in_flight %s" % (r.in_flight if r.in_flight else "default")
        lines.append("  [%s] drain time / floor's <= %.1fx:  %6.2fx  (%.3f s / %.3f s)   %s"
                     % (tag, TARGET_RATIO, ratio, r.drain_s, floor.drain_s,
                        "PASS" if ratio <= TARGET_RATIO else "FAIL"))
        lines.append("  [%s] daemon RSS < %.0f MiB while draining: %6.2f MiB (max of VmHWM and the"
                     " sampled VmRSS)   %s"
                     % (tag, TARGET_RSS_MIB, rss,
                        "PASS" if rss < TARGET_RSS_MIB else "FAIL"))
        if r.rows_left:
            lines.append("  [%s] WARNING: %d rows left in the daemon's buffer after SIGTERM"
                         % (tag, r.rows_left))
        if r.count.samples != args.samples:
            lines.append("  [%s] WARNING: counted %d samples, expected %d (resent batches?)"
                         % (tag, r.count.samples, args.samples))
    print("\n".join(lines), flush=True)


# --------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1000000)
    parser.add_argument("--meters", type=int, default=10)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--in-flight", default="8,32",
                        help="comma-separated kaa.max_in_flight values, one daemon run each")
    parser.add_argument("--build-dir", default=str(REPO / "build"))
    parser.add_argument("--timeout", type=float, default=900.0, help="per drain, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the workspace (configs, logs)")
    parser.add_argument("--no-inserts", action="store_true",
                        help="skip the durable insert figures (bench_store --inserts-only)")
    args = parser.parse_args()
    if not 1 <= args.meters <= 247:
        parser.error("--meters must be 1..247 (Modbus unit ids)")
    if not 1 <= args.batch <= 10000:
        parser.error("--batch must be 1..10000 (buffer.batch)")
    if args.samples < 1:
        parser.error("--samples must be positive")
    in_flight = [int(v) for v in args.in_flight.split(",") if v.strip()]

    os.environ["KAA_BUILD_DIR"] = str(Path(args.build_dir).resolve())
    bench = harness.build_dir() / "tests" / "bench"
    fill_bin, floor_bin = bench / "fill_buffer", bench / "drain_floor"
    for path in (fill_bin, floor_bin, bench / "bench_store"):
        if not os.access(path, os.X_OK):
            raise SystemExit("bench: %s not found: cmake --build %s --target kaa-gatewayd "
                             "fill_buffer drain_floor bench_store" % (path, args.build_dir))
    harness.gatewayd()

    if args.keep:
        os.environ["KAA_IT_KEEP"] = "1"
    ws = harness.Workspace(prefix="kaa-bench-drain-")
    cleanups = []
    try:
        if max_in_flight_supported(ws, args):
            in_flight_note = ("kaa.max_in_flight (batches awaiting /status): %s, one daemon "
                              "run each" % ", ".join(str(v) for v in in_flight))
        else:
            in_flight_note = ("this kaa-gatewayd has no kaa.max_in_flight key: one run with "
                              "its built-in limit (UplinkSettings::max_in_flight)")
            in_flight = [None]

        master = ws.file("backlog.db")
        print("bench: filling %s with %d samples ..." % (master, args.samples), file=sys.stderr,
              flush=True)
        res = harness.run([fill_bin, master, "--samples", args.samples, "--meters", args.meters],
                          timeout=1800)
        if res.returncode != 0:
            raise AssertionError("fill_buffer failed (rc %d): %s%s"
                                 % (res.returncode, res.stdout, res.stderr))
        fill_line = next((l for l in res.stdout.splitlines() if l.startswith("fill_buffer:")),
                         res.stdout.strip())
        with sqlite3.connect("file:%s?mode=ro" % master, uri=True) as con:
            # The sample text column is "record" since schema 4 ("json" before).
            columns = [row[1] for row in con.execute("PRAGMA table_info(samples)")]
            text = "record" if "record" in columns else "json"
            backlog_bytes = con.execute(
                "SELECT sum(length(%s)) FROM samples" % text).fetchone()[0]

        broker = harness.Mosquitto(ws)
        with open(broker.conf, "a") as conf:
            conf.write("max_queued_messages 0\nset_tcp_nodelay true\n")
        cleanups.append(broker.cleanup)
        broker.start()

        kpc = harness.Process([harness.PYTHON, str(harness.SUPPORT / "kpc_standin.py"),
                               "--port", broker.port], ws, "kpc")
        cleanups.append(kpc.kill)
        kpc.start()
        kpc.wait_for_log(r"kpc-standin: listening", 15)

        counter = SampleCounter(broker.port)
        cleanups.append(counter.stop)
        counter.start()

        dead_port = harness.free_port()
        runs = []
        for k, limit in enumerate(in_flight):
            app = DAEMON_APP
            run = Run("kaa-gatewayd", app, limit)
            buf = copy_buffer(master, ws.file("daemon-%d.db" % k))
            config_path = ws.write_yaml("gatewayd-%d.yaml" % k, gateway_config(
                ws, broker.port, dead_port, args, buf, limit))
            print("bench: kaa-gatewayd draining (max_in_flight %s) ..."
                  % (limit if limit else "default"), file=sys.stderr, flush=True)
            gw = harness.Process([harness.gatewayd(), "--config", config_path], ws,
                                 "gatewayd-%d" % k)
            cleanups.append(gw.kill)
            measure(gw, run, counter, args.samples, args.timeout, broker.proc.pid, kpc.pid)
            wait_empty(run, buf)
            run.exit_code = gw.terminate(timeout=15)
            run.rows_left = rows_left(buf)
            runs.append(run)

        print("bench: drain_floor draining ...", file=sys.stderr, flush=True)
        floor = Run("drain_floor", FLOOR_APP, None)
        floor_db = copy_buffer(master, ws.file("floor.db"))
        fl = harness.Process([floor_bin, "--db", floor_db, "--mqtt-port", broker.port,
                              "--meters", args.meters, "--batch", args.batch,
                              "--app", FLOOR_APP, "--timeout", int(args.timeout)], ws, "floor")
        cleanups.append(fl.kill)
        measure(fl, floor, counter, args.samples, args.timeout, broker.proc.pid, kpc.pid)
        harness.wait_until(lambda: not fl.alive(), 60, message="drain_floor to exit")
        floor.exit_code = fl.returncode()
        floor.note = fl.stdout().strip() or fl.tail()
        usage_from_report(floor, floor.note)
        if floor.exit_code != 0:
            raise AssertionError("drain_floor failed\n%s" % fl.tail())

        print("bench: durable inserts (bench_store --inserts-only) ...", file=sys.stderr,
              flush=True)
        inserts = insert_figures(bench, ws) if not args.no_inserts else ["(skipped: --no-inserts)"]
        report(args, fill_line, runs, floor, in_flight_note, backlog_bytes, inserts)
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
