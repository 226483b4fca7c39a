"""The durable buffer at its limits: full (each overflow policy), unwritable, corrupted.

Full buffer: buffer.max_size is the minimum, 1 MiB. 8 meters, each on its own Modbus
TCP bus, read 8 string registers of 123 registers (246 characters) every 100 ms:
a sample is about 2.0 KiB of JSON, so the plant produces about 160 KiB/s and fills
the ~700 KiB the file has for rows (a 2 KiB row takes a 4 KiB page; the rest of the
MiB is the WAL's allowance) in about 4 s. The gateway cannot reach the broker for 8 s (about 2.5 MiB read;
it talks to mosquitto through a socat forwarder that is started only then, so the KPC
stand-in is subscribed before the gateway's first publish), then it can:

- drop-oldest: the oldest samples are missing (nothing from the first 3 s arrives), the
  newest are there: per meter an unbroken run up to what the store held when delivery
  resumed (close to the broker's return; those rows are in flight and never dropped, so
  the rows read just after them may go while the buffer is still full).
- drop-newest: the oldest are there (from the first poll, unbroken), the later ones
  are missing (nothing from the last 3 s before the broker's return).

Both: what was kept from before the broker's return is at most 1 MiB of payload and
at least 128 KiB (a 2 KiB row fills half a 4 KiB page, so about half of the file can
hold payload); the file (database + WAL) never grows past 1 MiB; the drops are
logged at warning or error level, rate-limited (at most 10 lines for ~1000
dropped samples); every delivered sample has exact values; live samples follow.

Unwritable path (its parent is a regular file): a clear error naming the path, and
the daemon polls and delivers anyway (from memory).

Corrupted file (4 KiB of garbage at buffer.path): an error saying the file was moved
aside to <path>.corrupt-*, which holds exactly the garbage; a fresh buffer is used,
samples are delivered, and a second start finds nothing to move aside.
"""

import collections
import glob
import json
import os
import random
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

MIB = 1024 * 1024

# ---- the full-buffer plant ----------------------------------------------------------------
FILL_METERS = 8
STRINGS = 8               # string registers per meter
STRING_REGS = 123         # registers per string: 246 characters (the maximum length)
FILL_POLL_MS = 100        # the minimum poll interval
CATCH_UP_MS = 3000        # after the broker's return: drop-oldest may drop fresh samples
FILL_MAX_GAP_MS = 300     # 100 ms apart, 2x when the bus is busy, plus slack
OUTAGE_S = 8.0
IN_FLIGHT_LAG_MS = 2500  # how far the store may lag the meters on a loaded machine


def fill_token(m):
    return "tok-fill-%02d" % m


def fill_value(m, i):
    """246 distinct printable characters per (meter, register): no trailing blanks."""
    return ("m%02d-r%d:" % (m, i)).ljust(2 * STRING_REGS, chr(ord("a") + (m + i) % 26))


FILL_EXPECTED = {fill_token(m): {"s%d" % i: fill_value(m, i) for i in range(STRINGS)}
                 for m in range(FILL_METERS)}
SAMPLE_BYTES = len(json.dumps(dict(timestamp=1_800_000_000_000, **FILL_EXPECTED[fill_token(0)]),
                              separators=(",", ":")))

# ---- the small plant (unwritable / corrupted buffer) ------------------------------------
POLL_MS = 200
MAX_GAP_MS = 450
SMALL = {"tok-buf-a": ("buf-a", 1, 7001), "tok-buf-b": ("buf-b", 2, 7002)}


def stamp_counts(kpc, token):
    return collections.Counter(s["timestamp"] for _, ss in h.dcx_publishes(kpc, token) for s in ss)


class FullBufferTest(h.IntegrationTest):

    def fill_plant(self, overflow):
        """Simulator, broker and KPC stand-in up; the gateway's way to the broker closed.

        The gateway reaches mosquitto through a socat TCP forwarder that is started
        only when the outage ends: the stand-in is subscribed all along, so the
        gateway's first publishes after the outage are answered at once (with the
        broker itself restarted, the gateway may reconnect before the stand-in has
        resubscribed, lose its first batches and wait response_timeout, while a full
        buffer keeps dropping)."""
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "fill-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": m + 1, "registers": [
                    {"address": i * STRING_REGS, "function": "holding", "type": "string",
                     "length": STRING_REGS, "value": fill_value(m, i)} for i in range(STRINGS)]}
                for m in range(FILL_METERS)]},
        ]})
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode="ok")
        gateway_port = h.free_port()
        proxy = h.Process([h.SOCAT, "TCP-LISTEN:%d,bind=%s,reuseaddr,fork" % (gateway_port, h.HOST),
                           "TCP:%s:%d" % (h.HOST, broker.port)], self.ws, "broker-forwarder")
        config = h.gateway_config(self.ws, gateway_port, buses=[
            {"name": "fill-bus-%02d" % m, "tcp": {"host": h.HOST, "port": sim_port},
             "timeout": "500ms"} for m in range(FILL_METERS)
        ], meters=[
            {"name": "fill-%02d" % m, "token": fill_token(m), "bus": "fill-bus-%02d" % m,
             "unit": m + 1, "poll_interval": "%dms" % FILL_POLL_MS,
             "registers": [{"name": "s%d" % i, "address": i * STRING_REGS, "function": "holding",
                            "type": "string", "length": STRING_REGS} for i in range(STRINGS)]}
            for m in range(FILL_METERS)
        ])
        config["buffer"].update({"max_size": "1MiB", "overflow": overflow, "batch": 500})
        return kpc, proxy, config

    def run_outage(self, overflow):
        """Gateway without a broker for OUTAGE_S, then with it; returns what is needed."""
        kpc, proxy, config = self.fill_plant(overflow)
        db = config["buffer"]["path"]
        t0 = h.now_ms()
        gw = self.gateway(config)
        print("\ndelivery_buffer: %s: %d meters x %d B every %d ms = %.0f KiB/s; "
              "1 MiB full after ~%.1f s; broker away for %.0f s"
              % (overflow, FILL_METERS, SAMPLE_BYTES, FILL_POLL_MS,
                 FILL_METERS * SAMPLE_BYTES * 1000 / FILL_POLL_MS / 1024,
                 MIB / (FILL_METERS * SAMPLE_BYTES * 1000 / FILL_POLL_MS), OUTAGE_S),
              file=sys.stderr)

        # The outage, watching the file's size on disk all along.
        biggest = [0, ""]

        def watch_disk_until_end():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            sizes = {}
            for suffix in ("", "-wal"):
                try:
                    sizes[suffix or "db"] = os.path.getsize(db + suffix)
                except FileNotFoundError:
                    pass
            total = sum(sizes.values())
            if total > biggest[0]:
                biggest[0], biggest[1] = total, str(sizes)
            return h.now_ms() >= t0 + OUTAGE_S * 1000

        h.wait_until(watch_disk_until_end, OUTAGE_S + 5, interval=0.02,
                     message="the end of the outage window")
        self.assertTrue(os.path.isfile(db), "no buffer file at %s" % db)
        t_up = h.now_ms()
        self.track(proxy.start())
        h.wait_until(lambda: h.port_accepts(config["kaa"]["port"]), 5,
                     message="the forwarder to the broker")
        print("delivery_buffer: %s: file peaked at %d bytes (%s) during the outage"
              % (overflow, biggest[0], biggest[1]), file=sys.stderr)
        return gw, kpc, t0, t_up, biggest

    def check_common(self, gw, kpc, t_up, biggest, overflow, problems):
        """Checks that apply to both policies; adds to `problems`, then fails with all of them."""
        if biggest[0] > MIB:
            problems.append("buffer file (database + WAL) grew to %d bytes (%s) past max_size "
                            "1MiB" % (biggest[0], biggest[1]))
        kept_bytes = 0
        for token, want in FILL_EXPECTED.items():
            pubs = h.dcx_publishes(kpc, token)
            seen = {}
            for r, ss in pubs:
                ts = [s["timestamp"] for s in ss]
                self.assertEqual(ts, sorted(set(ts)), "%s: publish not in time order" % token)
                for s in ss:
                    self.assertEqual(set(s), {"timestamp"} | set(want), token)
                    for name, value in want.items():
                        self.assertEqual(s[name], value, "%s %s" % (token, name))
                    seen[s["timestamp"]] = s
            kept_bytes += sum(len(json.dumps(s, separators=(",", ":")))
                              for ts, s in seen.items() if ts < t_up)
        print("delivery_buffer: %s: kept %d payload bytes (%d samples) read before the broker's "
              "return" % (overflow, kept_bytes, kept_bytes // SAMPLE_BYTES), file=sys.stderr)
        if kept_bytes > MIB:
            problems.append("%d payload bytes read before the broker's return were kept in a "
                            "1 MiB buffer" % kept_bytes)
        if kept_bytes < MIB // 8:
            problems.append("only %d payload bytes of the backlog were kept in a 1 MiB buffer"
                            % kept_bytes)

        # Drops are logged, and rate-limited.
        drop_lines = re.findall(r"^.*\[(?:warning|error)\][^\n]*\bdrop[^\n]*$", gw.stderr(),
                                re.MULTILINE | re.IGNORECASE)
        if not drop_lines:
            problems.append("no warning/error line about the dropped samples (grep drop)")
        if len(drop_lines) > 10:
            problems.append("%d drop lines, not rate-limited:\n%s"
                            % (len(drop_lines), "\n".join(drop_lines[:20])))
        self.assertEqual(gw.terminate(), 0, gw.tail())
        self.assertEqual(problems, [], "%s:\n  %s\n%s" % (overflow, "\n  ".join(problems),
                                                          gw.tail(30)))

    def wait_or_note(self, gw, predicate, timeout, what, problems):
        """Waits for `predicate`; on timeout notes the problem and goes on to the checks."""
        def ready():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            return predicate()

        try:
            h.wait_until(ready, timeout, message=what)
        except AssertionError as e:
            if not gw.alive():
                raise
            problems.append(str(e))

    def test_drop_oldest_keeps_the_newest(self):
        gw, kpc, t0, t_up, biggest = self.run_outage("drop-oldest")
        problems = []

        def in_flight_boundary(token):
            # The newest sample read before the return in the first publish that carried
            # backlog: the whole backlog the store held when delivery resumed (batch 500
            # holds all of a meter's ~30 kept rows). Those rows are in flight, and in-flight
            # rows are never dropped, so while the buffer is still full the oldest rows that
            # may go are the ones after them: read just before the return (the main loop
            # appends a poll round behind the bus threads: on a loaded machine the store
            # lags the meters by up to a second or two) and just after it.
            for _, ss in h.dcx_publishes(kpc, token):
                old = [s["timestamp"] for s in ss if s["timestamp"] < t_up]
                if old:
                    return max(old)
            return None

        def holes_of(token, stamps):
            # Holes between the in-flight boundary and CATCH_UP_MS after the return are the
            # policy working, not a loss; anywhere else they are a failure.
            start = min(t_up - FILL_MAX_GAP_MS, in_flight_boundary(token) or t_up)
            return [(a, d) for a, d in h.timestamp_gaps(stamps, FILL_MAX_GAP_MS)
                    if not (start <= a < t_up + CATCH_UP_MS)]

        def delivered():
            for token in FILL_EXPECTED:
                stamps = sorted(stamp_counts(kpc, token))
                if not stamps or stamps[-1] < t_up + CATCH_UP_MS + 1500 or holes_of(token, stamps):
                    return False
            return True

        self.wait_or_note(gw, delivered, 20, "an unbroken run of samples per meter up to live ones",
                          problems)
        for token in FILL_EXPECTED:
            stamps = sorted(stamp_counts(kpc, token))
            if not stamps:
                problems.append("%s: nothing delivered" % token)
                continue
            if stamps[0] < t0 + 3000:
                problems.append("%s: kept a sample read %d ms after the start (the oldest must be "
                                "gone)" % (token, stamps[0] - t0))
            # The newest samples the store held when delivery resumed were kept: the backlog
            # reaches to the boundary, and the boundary is close to the return.
            boundary = in_flight_boundary(token)
            before = [ts for ts in stamps if ts < t_up]
            if boundary is None or boundary < t_up - IN_FLIGHT_LAG_MS:
                problems.append("%s: the newest samples are missing: the last one read before "
                                "the broker came back is from %s ms before it" % (
                                    token, t_up - before[-1] if before else "(none)"))
            holes = holes_of(token, stamps)
            if holes:
                problems.append("%s: first sample at +%d ms; in flight up to +%s ms; gaps (ms after "
                                "start, length) %s" % (token, stamps[0] - t0,
                                                      boundary - t0 if boundary else "?",
                                                      [(a - t0, d) for a, d in holes]))
        self.check_common(gw, kpc, t_up, biggest, "drop-oldest", problems)

    def test_drop_newest_keeps_the_oldest(self):
        gw, kpc, t0, t_up, biggest = self.run_outage("drop-newest")
        problems = []

        def delivered():
            for token in FILL_EXPECTED:
                stamps = sorted(stamp_counts(kpc, token))
                old = [ts for ts in stamps if ts < t_up]
                live = [ts for ts in stamps if ts >= t_up + 1500]
                if (not old or old[0] > t0 + 2000 or h.timestamp_gaps(old, FILL_MAX_GAP_MS)
                        or len(live) < 10 or h.timestamp_gaps(live, FILL_MAX_GAP_MS)):
                    return False
            return True

        self.wait_or_note(gw, delivered, 20, "an unbroken run from the first poll, then live "
                          "samples, per meter", problems)
        for token in FILL_EXPECTED:
            stamps = sorted(stamp_counts(kpc, token))
            old = [ts for ts in stamps if ts < t_up]
            if not old:
                problems.append("%s: nothing read before the broker's return was delivered" % token)
                continue
            if old[0] > t0 + 2000:
                problems.append("%s: the oldest samples are missing: first at +%d ms"
                                % (token, old[0] - t0))
            if old[-1] - old[0] < 1000:
                problems.append("%s: less than a second of the oldest samples kept" % token)
            holes = h.timestamp_gaps(old, FILL_MAX_GAP_MS)
            if holes:
                problems.append("%s: the kept oldest samples have gaps (ms after start, length) %s"
                                % (token, [(a - t0, d) for a, d in holes]))
            late = [ts - t0 for ts in stamps if t_up - 3000 <= ts < t_up - 300]
            if late:
                problems.append("%s: kept %d samples read in the last 3 s before the broker came "
                                "back (+%d..+%d ms)" % (token, len(late), late[0], late[-1]))
        self.check_common(gw, kpc, t_up, biggest, "drop-newest", problems)


class BrokenBufferFileTest(h.IntegrationTest):

    def small_plant(self, buffer_path):
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode="ok")
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "buf-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": unit, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": value}]}
                for (_, unit, value) in SMALL.values()]},
        ]})
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "buf-bus", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"},
        ], meters=[
            {"name": name, "token": token, "bus": "buf-bus", "unit": unit,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "v", "address": 0, "function": "holding", "type": "uint16"}]}
            for token, (name, unit, _) in SMALL.items()
        ])
        config["buffer"]["path"] = buffer_path
        return kpc, config

    def check_delivers(self, gw, kpc, count=10):
        """`count` samples per meter arrive, once each, with exact values and no gap."""
        def enough():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            return all(len(stamp_counts(kpc, t)) >= count for t in SMALL)

        h.wait_until(enough, 20, message=lambda: "%d delivered samples per meter\n%s"
                     % (count, self.logs()))
        for token, (_, _, value) in SMALL.items():
            counts = stamp_counts(kpc, token)
            self.assertEqual({ts: n for ts, n in counts.items() if n != 1}, {},
                             "%s: samples delivered more than once" % token)
            self.assertEqual(h.timestamp_gaps(counts, MAX_GAP_MS), [], token)
            for _, ss in h.dcx_publishes(kpc, token):
                for s in ss:
                    self.assertEqual(set(s), {"timestamp", "v"}, s)
                    self.assertTrue(h.same_value(value, s["v"]), s)

    def test_unwritable_path_is_an_error_but_polling_goes_on(self):
        blocker = self.ws.write("afile", "a regular file, not a directory\n")
        path = os.path.join(blocker, "buffer.db")
        kpc, config = self.small_plant(path)
        gw = self.gateway(config)
        line = gw.wait_for_log(r"^.*\[(?:error|critical)\][^\n]*%s.*$" % re.escape(path), 10)
        print("\ndelivery_buffer: unwritable path: %s" % line.group(0), file=sys.stderr)
        self.check_delivers(gw, kpc)
        self.assertFalse(os.path.exists(path))
        self.assertTrue(gw.alive(), gw.tail())
        self.assertEqual(gw.terminate(), 0, gw.tail())

    def test_corrupted_file_is_moved_aside(self):
        path = str(self.ws.file("buffer.db"))
        garbage = random.Random(3).randbytes(4096)
        self.assertFalse(garbage.startswith(b"SQLite format 3"))
        with open(path, "wb") as f:
            f.write(garbage)
        kpc, config = self.small_plant(path)
        config_path = self.ws.write_yaml("gatewayd.yaml", config)
        argv = [h.gatewayd(), "--config", config_path, "--log-level", "info"]

        gw = self.track(h.Process(argv, self.ws, "gatewayd-1").start())
        line = gw.wait_for_log(r"^.*\[(?:error|critical)\][^\n]*%s[^\n]*\.corrupt-.*$"
                               % re.escape(path), 10)
        print("\ndelivery_buffer: corrupted file: %s" % line.group(0), file=sys.stderr)
        moved = glob.glob(glob.escape(path) + ".corrupt-*")
        self.assertEqual(len(moved), 1, "files moved aside: %s" % moved)
        self.assertIn(moved[0], line.group(0), "the error names where the file went")
        with open(moved[0], "rb") as f:
            self.assertEqual(f.read(), garbage, "the file moved aside is not the damaged buffer")
        self.check_delivers(gw, kpc)
        with open(path, "rb") as f:
            self.assertEqual(f.read(16), b"SQLite format 3\0", "no fresh buffer at %s" % path)
        self.assertEqual(gw.terminate(), 0, gw.tail())

        # A second start opens the fresh buffer: nothing more is moved aside.
        gw2 = self.track(h.Process(argv, self.ws, "gatewayd-2").start())
        n_before = len(kpc.requests("dcx"))
        h.wait_until(lambda: len(kpc.requests("dcx")) >= n_before + 2 * len(SMALL), 15,
                     message=lambda: "deliveries after the second start\n" + gw2.tail())
        self.assertEqual(glob.glob(glob.escape(path) + ".corrupt-*"), moved)
        self.assertIsNone(re.search(r"\[(?:error|critical)\]", gw2.stderr()), gw2.tail())
        self.assertEqual(gw2.terminate(), 0, gw2.tail())


if __name__ == "__main__":
    unittest.main()
