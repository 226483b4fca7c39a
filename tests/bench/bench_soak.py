#!/usr/bin/python3
"""Soak benchmark: kaa-gatewayd for half an hour through broker and meter flaps.

    /usr/bin/python3 tests/bench/bench_soak.py [--minutes 30] [--tcp-meters 4] [--no-rtu]
                                               [--interval-ms 1000] [--flap-every 60]
                                               [--broker-down 10] [--meter-down 10]
                                               [--build-dir DIR] [--keep]

Not run in CI (a run lasts --minutes). Everything on 127.0.0.1: a real mosquitto on a free
port, the KPC stand-in (tests/support/kpc_standin.py, in this process) confirming every
request on <topic>/status, and the meters: --tcp-meters Modbus TCP meters, each served by a
simulator process of its own on its own bus, and one RTU meter (19200 baud) served by a
simulator on a socat pty pair (harness.SocatPair). Every meter is polled every
--interval-ms; kaa.delivery status, QoS 1, the durable buffer.

Every --flap-every seconds (the soak clock starts once every meter's first sample was
confirmed):

  at +15 s  the broker flaps: stopped (SIGTERM and kill -9 in turn), started again
            --broker-down seconds later on the same port; the daemon buffers meanwhile;
  at +40 s  one meter flaps, the meters in turn: its simulator killed (TCP: connection
            refused, the bus is reopened with backoff; RTU: timeouts) or frozen with
            SIGSTOP (timeouts on an open link, stale replies after SIGCONT), in turn;
            started again or resumed --meter-down seconds later.

Every --sample-every seconds the daemon's VmRSS, VmHWM, open fds (/proc/PID/fd) and threads
are read. At the end every flap is undone, the meters' simulators are stopped (so that no
new sample can be polled), and the run waits, with a deadline, until the daemon's poll
counts no longer move, its buffer is empty, nothing is in flight and the stand-in received
every polled sample; then the daemon gets SIGTERM and its buffer file is checked for rows.

Samples polled = per meter, `polls - polls_failed` of the daemon's status document (a
poll that read nothing is a failed read, not a sample). Delivered = the distinct samples
of that meter the stand-in received (distinct by their whole content: a re-sent sample is
the same bytes); lost = polled - delivered; duplicated = samples received more than once;
"same timestamp" = distinct samples of a meter that share their timestamp with another. The timeline check: every gap between a meter's
consecutive timestamps longer than 1.5 intervals that does not overlap one of that
meter's own outages counts its missing rounds ("rounds missed outside outages": a slipped
schedule or a loss). Exit 1 when a sample is lost, the fds grew by more than --fd-slack,
the daemon died or did not stop cleanly, or the drain did not complete; 0 otherwise.

Binaries: <build-dir>/kaa-gatewayd and <build-dir>/kaa-gateway (build dir: --build-dir, else
$KAA_BUILD_DIR, else <repo>/build, else <repo>/../build).
"""

import argparse
import json
import os
import signal
import sqlite3
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import harness  # noqa: E402  (tests/integration/harness.py: processes, broker, waiting)

APP = "soak_v1"
RTU_BAUD = 19200
BROKER_FLAP_AT_S = 15
METER_FLAP_AT_S = 40
GROWTH_WINDOW_S = 300  # RSS growth: the first vs the last 5 minutes' median

# Simulated registers (name, function, address, type, value, rise/s, wander) and the
# gateway's scale for each.
REGISTERS = [
    ("voltage", "input", 0, "float32", 230.1, 0, 2.0, 1),
    ("current", "input", 2, "float32", 5.2, 0, 1.0, 1),
    ("energy_wh", "input", 10, "uint32", 1000000, 12.5, 0, 1),
    ("temperature", "holding", 0, "int16", 215, 0, 10, 0.1),
]


# --------------------------------------------------------------------------------------
# Meters


def sim_registers(number):
    """The simulator's registers of meter `number` (values differ a little per meter)."""
    out = []
    for name, fn, addr, typ, value, rise, wander, _scale in REGISTERS:
        if isinstance(value, float):
            value = round(value * (1 + number / 1000.0), 3)
        reg = {"name": name, "address": addr, "function": fn, "type": typ, "value": value}
        if rise:
            reg["rise_per_second"] = rise
        if wander:
            reg["wander"] = wander
        out.append(reg)
    return out


def gateway_registers():
    """The registers every meter's gateway entry reads."""
    out = []
    for name, fn, addr, typ, _value, _rise, _wander, scale in REGISTERS:
        reg = {"name": name, "address": addr, "function": fn, "type": typ}
        if scale != 1:
            reg["scale"] = scale
        out.append(reg)
    return out


class Meter:
    """One simulated meter: its simulator process, its bus, its outages."""

    def __init__(self, ws, number, kind, pair=None):
        """A TCP meter on a port of its own, or the RTU meter on the pty pair `pair`."""
        self.ws = ws
        self.number = number
        self.kind = kind
        self.name = "soak-%s-%d" % (kind, number)
        self.token = "soak-%s-%d" % (kind, number)
        self.bus = "bus-%s-%d" % (kind, number)
        self.pair = pair
        self.port = harness.free_port() if kind == "tcp" else None
        link = ({"tcp": {"host": harness.HOST, "port": self.port}} if kind == "tcp"
                else {"rtu": {"device": pair.a, "baud": RTU_BAUD}})
        server = {"name": "sim-" + self.name}
        server.update(link)
        server["units"] = [{"unit": 1, "registers": sim_registers(number)}]
        self.sim_config = {"servers": [server]}
        self.proc = None
        self.generation = 0
        self.frozen = False
        self.outages = []  # [down wall ms, up wall ms or None, how]
        self.flaps = 0

    def bus_config(self):
        """The gateway's bus entry for this meter."""
        link = ({"tcp": {"host": harness.HOST, "port": self.port}} if self.kind == "tcp"
                else {"rtu": {"device": self.pair.b, "baud": RTU_BAUD}})
        bus = {"name": self.bus}
        bus.update(link)
        bus.update({"timeout": "300ms", "retries": 1})
        return bus

    def meter_config(self, interval_ms):
        """The gateway's meter entry."""
        return {"name": self.name, "token": self.token, "bus": self.bus, "unit": 1,
                "poll_interval": "%dms" % interval_ms, "registers": gateway_registers()}

    def start(self):
        """Starts (or starts again) this meter's simulator and waits until it serves."""
        self.generation += 1
        self.proc = harness.start_simulator(self.ws, self.sim_config,
                                            name="sim-%s-%d" % (self.name, self.generation))

    def go_down(self, how):
        """Takes the meter away: 'kill' its simulator, or 'freeze' it with SIGSTOP."""
        self.flaps += 1
        self.outages.append([harness.now_ms(), None, how])
        if how == "kill":
            self.proc.kill()
        else:
            os.kill(self.proc.pid, signal.SIGSTOP)
            self.frozen = True

    def come_back(self):
        """Undoes go_down: resumes a frozen simulator or starts a new one."""
        how = self.outages[-1][2]
        if how == "kill":
            self.start()
        else:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.frozen = False
        self.outages[-1][1] = harness.now_ms()

    def down(self):
        """True while an outage of this meter is under way."""
        return bool(self.outages) and self.outages[-1][1] is None

    def stop(self):
        """Stops the simulator for good (resuming it first if frozen)."""
        if self.proc is None:
            return
        if self.frozen:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.frozen = False
        self.proc.kill()


# --------------------------------------------------------------------------------------
# Reading the daemon


def proc_figures(pid):
    """VmRSS and VmHWM (MiB), open fds and threads of a process, from /proc."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024.0
            elif key == "Threads":
                out["threads"] = int(value.split()[0])
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return out


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_doc(socket_path):
    """The daemon's status document (`kaa-gateway status --json`), or None."""
    res = harness.run([harness.gateway_tool(), "status", "--json", "--socket", socket_path],
                      timeout=15)
    if res.returncode != 0:
        return None
    try:
        return json.loads(res.stdout)
    except ValueError:
        return None


def ok_polls(doc):
    """{meter name: polls that produced a sample} from a status document."""
    return {m["name"]: m.get("polls", 0) - m.get("polls_failed", 0) for m in doc["meters"]}


def sample_key(sample):
    """A sample's identity: its whole content (a re-sent sample is the same bytes; two
    polls that got the same timestamp are still two samples)."""
    return json.dumps(sample, sort_keys=True)


def delivered(kpc):
    """{token: {"received": samples received, "distinct": set of distinct samples,
    "stamps": set of distinct timestamps}} of what the stand-in got."""
    out = {}
    for r in kpc.requests("dcx"):
        if r.app_version != APP:
            continue
        try:
            body = r.json()
        except ValueError:
            continue
        items = body if isinstance(body, list) else [body]
        d = out.setdefault(r.token, {"received": 0, "distinct": set(), "stamps": set()})
        d["received"] += len(items)
        for s in items:
            d["distinct"].add(sample_key(s))
            d["stamps"].add(s.get("timestamp"))
    return out


def dump_requests(kpc, path):
    """Writes every DCX request the stand-in received to `path` (JSON lines), for --keep."""
    with open(path, "w") as f:
        for r in kpc.requests("dcx"):
            f.write(json.dumps({"received": r.received, "topic": r.topic,
                                "payload": r.payload.decode("utf-8", "replace")}) + "\n")


def rows_left(path):
    """Rows in the buffer file's samples table (read-only)."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return con.execute("SELECT count(*) FROM samples").fetchone()[0]
    finally:
        con.close()


def refresh_claims(ports):
    """Keeps this run's port claims fresh (harness.free_port treats a claim older than
    harness.PORT_CLAIM_S as stale, and a broker or simulator down for a flap frees its
    port for a moment)."""
    for port in ports:
        try:
            os.utime(harness.PORT_CLAIMS / str(port))
        except FileNotFoundError:
            pass


# --------------------------------------------------------------------------------------
# The soak


class Soak:
    """The run's state: peers, schedule, samples of the daemon's figures."""

    def __init__(self, args, ws):
        """Nothing is started yet."""
        self.args = args
        self.ws = ws
        self.cleanups = []
        self.meters = []
        self.broker = None
        self.kpc = None
        self.gw = None
        self.samples = []  # (seconds since the soak start, proc_figures)
        self.broker_flaps = 0
        self.broker_outages = []  # (down wall ms, up wall ms, how)
        self.backlog_max = 0
        self.t0 = None
        self.fail_reasons = []
        self.notes = []

    # ---- set-up ------------------------------------------------------------------------

    def start(self):
        """Starts the broker, the stand-in, the meters and the daemon; waits for samples."""
        args = self.args
        self.broker = harness.Mosquitto(self.ws)
        self.cleanups.append(self.broker.cleanup)
        self.broker.start()
        self.kpc = harness.KpcStandin(self.broker.port)
        self.cleanups.append(self.kpc.stop)
        self.kpc.start()

        for n in range(1, args.tcp_meters + 1):
            self.meters.append(Meter(self.ws, n, "tcp"))
        if not args.no_rtu:
            pair = harness.SocatPair(self.ws, "soak-line")
            self.cleanups.append(pair.cleanup)
            pair.start()
            self.meters.append(Meter(self.ws, len(self.meters) + 1, "rtu", pair))
        for m in self.meters:
            self.cleanups.append(m.stop)
            m.start()

        cfg = harness.gateway_config(self.ws, self.broker.port,
                                     [m.bus_config() for m in self.meters],
                                     [m.meter_config(args.interval_ms) for m in self.meters],
                                     app_version=APP, client_id="kaa-gw-soak")
        self.socket = cfg["status"]["socket"]
        self.buffer_path = cfg["buffer"]["path"]
        self.gw = harness.start_gateway(self.ws, cfg, name="gatewayd")
        self.cleanups.append(self.gw.kill)

        def first_samples():
            """True once the stand-in received a sample of every meter."""
            self.check_alive()
            got = delivered(self.kpc)
            return all(m.token in got for m in self.meters)

        harness.wait_until(first_samples, 60, message=lambda: "every meter's first sample\n"
                           + self.gw.tail())
        self.t0 = time.monotonic()
        self.cpu0 = cpu_seconds(self.gw.pid)

    def check_alive(self):
        """Raises when the daemon has exited."""
        if not self.gw.alive():
            raise AssertionError("kaa-gatewayd exited (rc %s) during the soak\n%s"
                                 % (self.gw.returncode(), self.gw.tail(60)))

    def ports(self):
        """Every port this run holds."""
        return [self.broker.port] + [m.port for m in self.meters if m.port]

    # ---- the schedule ------------------------------------------------------------------

    def schedule(self):
        """[(seconds after the soak start, action, argument)] of every flap and its end."""
        args = self.args
        events = []
        total = args.minutes * 60.0
        k = 0
        while k * args.flap_every + BROKER_FLAP_AT_S < total:
            base = k * args.flap_every
            events.append((base + BROKER_FLAP_AT_S, "broker_down", k))
            events.append((base + BROKER_FLAP_AT_S + args.broker_down, "broker_up", k))
            if base + METER_FLAP_AT_S < total:
                events.append((base + METER_FLAP_AT_S, "meter_down", k))
                events.append((base + METER_FLAP_AT_S + args.meter_down, "meter_up", k))
            k += 1
        return sorted(events, key=lambda e: e[0])

    def act(self, action, k):
        """Carries out one scheduled action of flap number k."""
        if action == "broker_down":
            how = "kill -9" if k % 2 else "SIGTERM"
            self.broker_outages.append([harness.now_ms(), None, how])
            if k % 2:
                self.broker.kill()
            else:
                self.broker.stop()
            self.broker_flaps += 1
        elif action == "broker_up":
            doc = status_doc(self.socket)
            if doc:
                self.backlog_max = max(self.backlog_max, doc["buffer"].get("samples", 0))
            self.broker.restart()
            self.broker_outages[-1][1] = harness.now_ms()
            if not self.kpc.wait_subscribed(15):
                self.notes.append("the stand-in was not subscribed 15 s after broker restart %d"
                                  % (k + 1))
        elif action == "meter_down":
            meter = self.meters[k % len(self.meters)]
            # Alternate the kinds, and give each meter both in turn whatever their number.
            n = len(self.meters)
            how = "freeze" if (k % n + k // n) % 2 else "kill"
            meter.go_down(how)
        elif action == "meter_up":
            self.meters[k % len(self.meters)].come_back()

    def sample(self):
        """Reads the daemon's figures once."""
        self.samples.append((time.monotonic() - self.t0, proc_figures(self.gw.pid)))

    def progress(self, t):
        """One line on stderr per minute: where the soak stands."""
        s = self.samples[-1][1]
        got = delivered(self.kpc)
        print("soak: %5.1f min  RSS %.2f MiB (HWM %.2f)  fds %d  threads %d  delivered %d"
              "  broker flaps %d  meter flaps %d"
              % (t / 60.0, s["VmRSS"], s["VmHWM"], s["fds"], s["threads"],
                 sum(len(v["distinct"]) for v in got.values()), self.broker_flaps,
                 sum(m.flaps for m in self.meters)), file=sys.stderr, flush=True)

    def wait_until_time(self, t):
        """Lets the soak clock reach t seconds (a timer, not an event); fails early if
        the daemon exits."""
        end = self.t0 + t
        harness.wait_until(lambda: time.monotonic() >= end or not self.gw.alive(),
                           max(0.0, end - time.monotonic()) + 30, interval=0.05)
        self.check_alive()

    def run(self):
        """The soak itself: flaps on schedule, figures sampled every --sample-every s."""
        args = self.args
        total = args.minutes * 60.0
        events = self.schedule()
        next_sample = 0.0
        next_progress = 60.0
        self.sample()
        while True:
            now = time.monotonic() - self.t0
            pending = events[0][0] if events else None
            if pending is None and now >= total:
                break
            due = min(t for t in (pending, next_sample, total) if t is not None)
            self.wait_until_time(due)
            now = time.monotonic() - self.t0
            while events and events[0][0] <= now:
                _, action, k = events.pop(0)
                self.act(action, k)
            if now >= next_sample:
                if now < total:
                    self.sample()
                next_sample += args.sample_every
            if now >= next_progress:
                refresh_claims(self.ports())
                self.progress(now)
                next_progress += 60.0
        self.sample()
        self.cpu = cpu_seconds(self.gw.pid) - self.cpu0
        self.soak_s = time.monotonic() - self.t0

    # ---- the end -----------------------------------------------------------------------

    def finish(self):
        """Stops the meters, waits for the drain, stops the daemon; returns the figures."""
        for m in self.meters:
            m.stop()
        state = {"base": None}

        def polls_settled():
            """The status document once the poll counts stood still for 3 s, else None."""
            self.check_alive()
            doc = status_doc(self.socket)
            if doc is None:
                return None
            base = state["base"]
            if base is None or ok_polls(doc) != ok_polls(base):
                state["base"] = doc
                return None
            return doc if doc["generated_ms"] - base["generated_ms"] >= 3000 else None

        harness.wait_until(polls_settled, 60, interval=0.5,
                           message="the daemon's poll counts to settle")

        final = {"doc": None}

        def drained():
            """True once the buffer is empty and every polled sample arrived."""
            self.check_alive()
            doc = status_doc(self.socket)
            if doc is None:
                return False
            final["doc"] = doc
            polled = ok_polls(doc)
            got = delivered(self.kpc)
            return (doc["buffer"].get("samples", 0) == 0
                    and doc["uplink"].get("in_flight", 0) == 0
                    and all(m.token in got
                            and len(got[m.token]["distinct"]) >= polled.get(m.name, 0)
                            for m in self.meters))

        t = time.monotonic()
        try:
            harness.wait_until(drained, self.args.drain_timeout, interval=0.5,
                               message="the buffer to drain and every sample to arrive")
            self.drain_s = time.monotonic() - t
        except AssertionError as e:
            self.fail_reasons.append("drain incomplete: %s" % str(e).splitlines()[0])
            self.drain_s = None
        self.final_doc = final["doc"]
        self.final_hwm = proc_figures(self.gw.pid)["VmHWM"]
        self.exit_code = self.gw.terminate(timeout=30)
        try:
            self.rows_left = rows_left(self.buffer_path)
        except sqlite3.Error as e:
            self.rows_left = None
            self.notes.append("buffer file unreadable after the stop: %s" % e)

    # ---- the figures -------------------------------------------------------------------

    def analyse(self):
        """Per meter: polled, delivered, lost, duplicated, rounds missed, recovery."""
        interval = self.args.interval_ms
        polled = ok_polls(self.final_doc) if self.final_doc else {}
        failed = {m["name"]: m.get("polls_failed", 0) for m in self.final_doc["meters"]} \
            if self.final_doc else {}
        got = delivered(self.kpc)
        rows = []
        for m in self.meters:
            d = got.get(m.token, {"received": 0, "distinct": set(), "stamps": set()})
            distinct = len(d["distinct"])
            stamps = sorted(s for s in d["stamps"] if s is not None)
            missed = 0
            for a, b in zip(stamps, stamps[1:]):
                if b - a <= 1.5 * interval:
                    continue
                covered = any(a <= up and b >= down for down, up, _ in m.outages)
                if not covered:
                    missed += int(round((b - a) / float(interval))) - 1
            recoveries = []
            for down, up, _how in m.outages:
                if up is None:
                    continue
                after = [s for s in stamps if s >= up]
                if after:
                    recoveries.append((after[0] - up) / 1000.0)
            n_polled = polled.get(m.name, 0)
            rows.append({
                "meter": m.name, "polled": n_polled, "failed": failed.get(m.name, 0),
                "delivered": distinct, "lost": max(0, n_polled - distinct),
                "extra": max(0, distinct - n_polled), "dups": d["received"] - distinct,
                "same_ts": distinct - len(stamps),
                "missed": missed, "flaps": m.flaps,
                "recovery": max(recoveries) if recoveries else None,
            })
        return rows

    def log_counts(self):
        """Counts of notable lines in the daemon's log."""
        text = self.gw.stderr()
        return {
            "[error] lines": text.count("[error]"),
            "[warning] lines": text.count("[warning]"),
            "'lost its link'": text.count("lost its link"),
            "'samples lost'": text.count("samples lost"),
            "'connected to'": text.count("mqtt: connected to"),
        }


def median_window(samples, lo, hi):
    """The median VmRSS of the samples taken between lo and hi seconds."""
    values = [s["VmRSS"] for t, s in samples if lo <= t <= hi]
    return statistics.median(values) if values else float("nan")


def report(soak, rows):
    """Prints the table; returns the list of failed checks."""
    args = soak.args
    samples = soak.samples
    first, last = samples[0][1], samples[-1][1]
    total = soak.soak_s
    window = min(GROWTH_WINDOW_S, total / 3.0)
    early = median_window(samples, 0, window)
    late = median_window(samples, total - window, total)
    growth = late - early
    rss = [s["VmRSS"] for _, s in samples]
    fds = [s["fds"] for _, s in samples]
    threads = [s["threads"] for _, s in samples]
    hwm = max(soak.final_hwm, max(s["VmHWM"] for _, s in samples))
    polled = sum(r["polled"] for r in rows)
    delivered_n = sum(r["delivered"] for r in rows)
    lost = sum(r["lost"] for r in rows)
    dups = sum(r["dups"] for r in rows)
    same_ts = sum(r["same_ts"] for r in rows)
    missed = sum(r["missed"] for r in rows)
    failed = sum(r["failed"] for r in rows)
    uplink = soak.final_doc["uplink"] if soak.final_doc else {}

    fails = list(soak.fail_reasons)
    if lost:
        fails.append("%d samples lost" % lost)
    if fds[-1] - fds[0] > args.fd_slack:
        fails.append("open fds grew from %d to %d (more than %d)" % (fds[0], fds[-1],
                                                                    args.fd_slack))
    if soak.exit_code != 0:
        fails.append("kaa-gatewayd exited with %s after SIGTERM" % soak.exit_code)
    if soak.rows_left:
        fails.append("%d rows left in the buffer file after the stop" % soak.rows_left)

    lines = [
        "kaa-gateway soak benchmark",
        "  %.1f min soak (%d figures, every %g s), %d TCP meters (a simulator and a bus each)%s,"
        % (total / 60.0, len(samples), args.sample_every, args.tcp_meters,
           "" if args.no_rtu else " + 1 RTU meter (socat pty pair, %d baud)" % RTU_BAUD),
        "  every meter polled every %d ms; local mosquitto, KPC stand-in confirming on /status,"
        " QoS 1;" % args.interval_ms,
        "  every %g s: the broker down for %g s (SIGTERM / kill -9 in turn), one meter down for"
        " %g s" % (args.flap_every, args.broker_down, args.meter_down),
        "  (simulator killed / frozen with SIGSTOP in turn, the meters in turn).",
        "",
    ]
    table = [
        ("RSS start / end / peak (VmRSS max)", "%.2f / %.2f / %.2f MiB"
         % (first["VmRSS"], last["VmRSS"], max(rss))),
        ("peak RSS (VmHWM)", "%.2f MiB" % hwm),
        ("RSS median, first / last %.0f s" % window, "%.2f / %.2f MiB" % (early, late)),
        ("RSS growth", "%+.2f MiB (%+.1f%%)" % (growth, 100.0 * growth / early)),
        ("open fds start / end / max", "%d / %d / %d" % (fds[0], fds[-1], max(fds))),
        ("threads start / end / max", "%d / %d / %d" % (threads[0], threads[-1], max(threads))),
        ("daemon CPU during the soak", "%.1f s (%.1f%% of one core)"
         % (soak.cpu, 100.0 * soak.cpu / total)),
        ("broker flaps", "%d (largest backlog at a restart: %d samples)"
         % (soak.broker_flaps, soak.backlog_max)),
        ("meter flaps", "%d (%s)" % (sum(m.flaps for m in soak.meters),
                                    ", ".join("%s %d" % (m.name, m.flaps) for m in soak.meters))),
        ("MQTT connects (uplink)", "%s" % uplink.get("connects", "-")),
        ("batches resent (uplink)", "%s" % uplink.get("batches_resent", "-")),
        ("failed reads (polls that read nothing)", "%d" % failed),
        ("samples polled", "%d" % polled),
        ("samples delivered (distinct)", "%d" % delivered_n),
        ("samples lost", "%d" % lost),
        ("samples duplicated", "%d" % dups),
        ("distinct samples sharing a timestamp", "%d" % same_ts),
        ("rounds missed outside outages", "%d" % missed),
        ("drain after the meters stopped", "-" if soak.drain_s is None
         else "%.1f s" % soak.drain_s),
        ("exit code after SIGTERM", "%s" % soak.exit_code),
        ("rows left in the buffer file", "-" if soak.rows_left is None
         else "%d" % soak.rows_left),
    ]
    w0 = max(len(k) for k, _ in table) + 2
    lines += ["%-*s%s" % (w0, k, v) for k, v in table]
    lines.append("")
    head = ("meter", "polled", "failed", "delivered", "lost", "dup", "same ts", "missed",
            "flaps", "max recovery")
    fmt = "%-12s%9s%9s%11s%7s%6s%9s%8s%7s%14s"
    lines.append(fmt % head)
    for r in rows:
        lines.append(fmt % (r["meter"], r["polled"], r["failed"], r["delivered"], r["lost"],
                            r["dups"], r["same_ts"], r["missed"], r["flaps"],
                            "-" if r["recovery"] is None else "%.1f s" % r["recovery"]))
        if r["extra"]:
            lines.append("  %s: %d distinct samples delivered beyond its polled count"
                         % (r["meter"], r["extra"]))
    lines.append("")
    lines.append("daemon log: " + ", ".join("%s %d" % kv for kv in soak.log_counts().items()))
    for note in soak.notes:
        lines.append("note: " + note)
    lines.append("")
    lines.append("RESULT: " + ("PASS" if not fails else "FAIL: " + "; ".join(fails)))
    print("\n".join(lines), flush=True)
    return fails


# --------------------------------------------------------------------------------------


def default_build_dir():
    """$KAA_BUILD_DIR, else <repo>/build when it holds the daemon, else <repo>/../build (a
    build directory next to the checkout)."""
    if os.environ.get("KAA_BUILD_DIR"):
        return os.environ["KAA_BUILD_DIR"]
    inside = REPO / "build"
    return str(inside if (inside / "kaa-gatewayd").exists() else REPO.parent / "build")


def main():
    """Parses the options, runs the soak, prints the table; 0 pass, 1 fail."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--tcp-meters", type=int, default=4)
    parser.add_argument("--no-rtu", action="store_true", help="no RTU meter (no socat)")
    parser.add_argument("--interval-ms", type=int, default=1000, help="every meter's poll interval")
    parser.add_argument("--flap-every", type=float, default=60.0, help="seconds between flaps")
    parser.add_argument("--broker-down", type=float, default=10.0, help="seconds")
    parser.add_argument("--meter-down", type=float, default=10.0, help="seconds")
    parser.add_argument("--sample-every", type=float, default=5.0,
                        help="seconds between RSS/fd/thread readings")
    parser.add_argument("--fd-slack", type=int, default=3,
                        help="fds the daemon may hold more at the end than at the start")
    parser.add_argument("--drain-timeout", type=float, default=180.0, help="seconds")
    parser.add_argument("--build-dir", default=default_build_dir(),
                        help="default $KAA_BUILD_DIR, else <repo>/build, else <repo>/../build")
    parser.add_argument("--keep", action="store_true", help="keep the workspace (configs, logs)")
    args = parser.parse_args()
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    if not 1 <= args.tcp_meters <= 50:
        parser.error("--tcp-meters must be 1..50")
    if args.broker_down + BROKER_FLAP_AT_S >= METER_FLAP_AT_S or \
            args.meter_down + METER_FLAP_AT_S >= args.flap_every + BROKER_FLAP_AT_S:
        parser.error("the flaps overlap: keep --broker-down < %d s and --meter-down < "
                     "--flap-every - %d s" % (METER_FLAP_AT_S - BROKER_FLAP_AT_S,
                                              METER_FLAP_AT_S - BROKER_FLAP_AT_S))

    os.environ["KAA_BUILD_DIR"] = str(Path(args.build_dir).resolve())
    harness.gatewayd()
    harness.gateway_tool()
    if args.keep:
        os.environ["KAA_IT_KEEP"] = "1"
    ws = harness.Workspace(prefix="kaa-bench-soak-")
    soak = Soak(args, ws)
    try:
        print("bench: soak of %g min in %s ..." % (args.minutes, ws.path), file=sys.stderr,
              flush=True)
        soak.start()
        soak.run()
        soak.finish()
        fails = report(soak, soak.analyse())
        if args.keep:
            print("bench: workspace kept in %s" % ws.path, file=sys.stderr)
        return 1 if fails else 0
    except (AssertionError, TimeoutError) as e:
        print("bench: set-up or run failed: %s" % e, file=sys.stderr)
        return 1
    finally:
        if args.keep and soak.kpc is not None:
            dump_requests(soak.kpc, ws.file("kpc-requests.jsonl"))
        harness.run_cleanups(soak.cleanups)
        ws.cleanup()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
