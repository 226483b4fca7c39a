"""What a real Kaa needs, end to end against the real mosquitto and the KPC stand-in.

- kaa.timestamp: each format (millis, seconds, iso8601) under the configured key carries the
  read time with millisecond precision; a register named like the key is a config error.
- /error codes: 401, then 429, then 503 for 15 s while a meter is polled every 500 ms, then
  /status: nothing is deleted, every sample read during the refusal arrives afterwards, in
  order, with its read time. With 400 the refused batches are dropped, counted and logged,
  and later samples still arrive.
- buffer.batch_bytes: after a 20 s outage with a wide meter (60 registers at 100 ms), no DCX
  publish is larger than the bound, and every sample arrives.
"""

import datetime
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

VALUES = [{"name": "u", "address": 0, "function": "holding", "type": "uint16", "value": 4242},
          {"name": "f", "address": 0, "function": "input", "type": "float32", "value": 230.5}]


def sim_register(reg):
    return {k: v for k, v in reg.items() if k != "name"}


def gw_register(reg):
    return {k: v for k, v in reg.items() if k != "value"}


def iso_ms(text):
    """Milliseconds since the epoch of "YYYY-MM-DDTHH:MM:SS.mmmZ" (exactly that form)."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z", text)
    if not m:
        raise AssertionError("not ISO 8601 UTC with milliseconds and Z: %r" % text)
    y, mo, d, hh, mm, ss, ms = (int(g) for g in m.groups())
    t = datetime.datetime(y, mo, d, hh, mm, ss, tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1000 + ms


class KaaSemanticsTest(h.IntegrationTest):

    def plant(self, registers, poll="500ms", kpc_mode="ok", kpc_code=400, buffer=None, **kaa):
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode=kpc_mode, error_code=kpc_code)
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "sem-sim", "tcp": {"host": h.HOST, "port": sim_port},
             "units": [{"unit": 1, "registers": [sim_register(r) for r in registers]}]},
        ]})
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "sem-bus", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"},
        ], meters=[
            {"name": "sem-meter", "token": "tok-sem", "bus": "sem-bus", "unit": 1,
             "poll_interval": poll, "registers": [gw_register(r) for r in registers]},
        ], **kaa)
        if buffer:
            config["buffer"].update(buffer)
        self.t0_ms = h.now_ms()
        gw = self.gateway(config)
        return broker, kpc, gw

    def samples(self, kpc):
        return [s for _, batch in h.dcx_publishes(kpc, "tok-sem") for s in batch]

    # ---- timestamps -------------------------------------------------------------------

    def check_format(self, fmt, decode):
        _, kpc, gw = self.plant(VALUES, poll="200ms", timestamp={"key": "ts", "format": fmt})
        h.wait_until(lambda: len(self.samples(kpc)) >= 10, 20,
                     message=lambda: "10 samples\n" + self.logs())
        t_end = h.now_ms()
        got = self.samples(kpc)[:10]
        stamps = []
        for s in got:
            self.assertEqual(set(s), {"ts", "u", "f"}, s)
            self.assertEqual(s["u"], 4242)
            stamps.append(decode(s["ts"]))
        # Read times: inside the run, 200 ms apart give or take the machine's load, in order.
        for t in stamps:
            self.assertGreaterEqual(t, self.t0_ms)
            self.assertLessEqual(t, t_end)
        self.assertEqual(stamps, sorted(stamps))
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        self.assertTrue(all(100 <= g <= 700 for g in gaps), gaps)
        # Milliseconds are real: not every stamp falls on a whole second.
        self.assertTrue(any(t % 1000 for t in stamps), stamps)
        self.assertEqual(gw.terminate(), 0, gw.tail())

    def test_iso8601_timestamps_are_utc_with_milliseconds(self):
        def decode(v):
            self.assertIsInstance(v, str)
            return iso_ms(v)
        self.check_format("iso8601", decode)

    def test_seconds_timestamps_carry_a_millisecond_fraction(self):
        def decode(v):
            self.assertIsInstance(v, float)
            return round(v * 1000)
        self.check_format("seconds", decode)

    def test_millis_timestamps_are_integers(self):
        def decode(v):
            self.assertIsInstance(v, int)
            return v
        self.check_format("millis", decode)

    def test_a_register_named_like_the_timestamp_key_is_a_config_error(self):
        config = h.gateway_config(self.ws, 1883, buses=[
            {"name": "b", "tcp": {"host": h.HOST, "port": 1502}}], meters=[
            {"name": "m", "token": "t", "bus": "b", "unit": 1, "poll_interval": "1s",
             "registers": [{"name": "ts", "address": 0, "function": "holding",
                            "type": "uint16"}]}], timestamp={"key": "ts", "format": "millis"})
        path = self.ws.write_yaml("clash.yaml", config)
        done = h.run([h.gatewayd(), "--check", "--config", str(path)])
        self.assertEqual(done.returncode, 78, done.stdout + done.stderr)
        self.assertRegex(done.stdout + done.stderr, r"clash\.yaml:\d+:\d+: [^\n]*'ts'[^\n]*timestamp")

    # ---- /error codes -----------------------------------------------------------------

    def test_auth_rate_limit_and_server_errors_keep_every_sample(self):
        _, kpc, gw = self.plant(VALUES, poll="500ms", kpc_mode="error", kpc_code=401,
                                response_timeout="2s")
        t_refusal = h.now_ms()
        h.wait_until(lambda: kpc.answered_error > 0, 15, message=lambda: "a refusal\n" + self.logs())
        h.wait_seconds(5)
        kpc.error_code = 429
        h.wait_seconds(5)
        kpc.error_code = 503
        h.wait_seconds(5)
        t_accept = h.now_ms()
        kpc.mode = "ok"
        # Every sample read during the refusal arrives once Kaa accepts again.
        def confirmed():
            return sorted({s["timestamp"] for r, batch in h.dcx_publishes(kpc, "tok-sem")
                           if r.answer == "status" for s in batch})
        def covered():
            c = confirmed()
            return c if c and c[0] <= t_refusal + 1000 and c[-1] >= t_accept else None
        # Each refusal (401, 429, 503) lengthens the meter's hold: a full-jitter backoff whose
        # ceiling doubles up to retry_max_delay (60 s). The last hold drawn before Kaa accepts
        # may be most of that, so the wait is longer than it.
        stamps = h.wait_until(covered, 75, message=lambda: "the held samples\n" + self.logs())
        during = [t for t in stamps if t_refusal <= t <= t_accept]
        self.assertGreaterEqual(len(during), int(0.8 * (t_accept - t_refusal) / 500), during)
        gaps = [(a - t_refusal, b - a) for a, b in zip(stamps, stamps[1:]) if b - a > 1500]
        self.assertEqual(gaps, [], "samples missing (offset, gap ms)\n" + gw.tail())
        # In order: within each accepted publish, and the held ones in read order overall.
        accepted = [[s["timestamp"] for s in b] for r, b in h.dcx_publishes(kpc, "tok-sem")
                    if r.answer == "status"]
        for batch in accepted:
            self.assertEqual(batch, sorted(batch))
        held = [t for batch in accepted for t in batch if t <= t_accept]
        self.assertEqual(held, sorted(held))
        err = gw.stderr()
        self.assertNotRegex(err, r"Kaa rejected", gw.tail())
        self.assertRegex(err, r"kaa: samples of meter sem-meter [^\n]*Kaa answered 401 ")
        self.assertEqual(gw.terminate(), 0, gw.tail())

    def test_a_refused_payload_is_dropped_counted_and_logged_and_later_samples_arrive(self):
        _, kpc, gw = self.plant(VALUES, poll="500ms", kpc_mode="error", kpc_code=400)
        gw.wait_for_log(r"\[error\] kaa: Kaa rejected [^\n]*sem-meter[^\n]*\b400\b", 15)
        h.wait_until(lambda: kpc.answered_error >= 2, 15, message=lambda: self.logs())
        rejected = {s["timestamp"] for r, b in h.dcx_publishes(kpc, "tok-sem")
                    if r.answer == "error" for s in b}
        t_ok = h.now_ms()
        kpc.mode = "ok"
        h.wait_until(lambda: any(r.answer == "status" and b[-1]["timestamp"] > t_ok
                                 for r, b in h.dcx_publishes(kpc, "tok-sem")), 15,
                     message=lambda: "samples after the refusal\n" + self.logs())
        resent = {s["timestamp"] for r, b in h.dcx_publishes(kpc, "tok-sem")
                  if r.answer == "status" for s in b} & rejected
        self.assertEqual(resent, set(), "refused samples were sent again")
        line = re.search(r"^.*Kaa rejected.*$", gw.stderr(), re.MULTILINE).group(0)
        self.assertIn("tok-sem", line)
        self.assertRegex(line, r"read \S+ \.\. \S+")  # the batch's first and last read time
        self.assertEqual(gw.terminate(), 0, gw.tail())

    # ---- bounded publishes ------------------------------------------------------------

    def test_after_an_outage_no_publish_is_larger_than_batch_bytes(self):
        wide = [{"name": "r%02d" % i, "address": i, "function": "holding", "type": "uint16",
                 "value": 1000 + i} for i in range(60)]
        bound = 16 * 1024
        broker, kpc, gw = self.plant(wide, poll="100ms", buffer={"batch_bytes": "16KiB"})
        h.wait_until(lambda: self.samples(kpc), 15, message=lambda: self.logs())
        broker.kill()
        t_down = h.now_ms()
        h.wait_seconds(20)
        broker.start()
        self.assertTrue(kpc.wait_subscribed(15), "the stand-in did not subscribe again")
        t_up = h.now_ms()
        expected = int(0.8 * (t_up - t_down) / 100)

        def caught_up():
            # Live readings go first after the reconnect: wait for the backlog too.
            stamps = sorted({s["timestamp"] for s in self.samples(kpc)})
            during = [t for t in stamps if t_down <= t <= t_up]
            after = [t for t in stamps if t > t_up + 2000]
            return stamps if after and len(during) >= expected else None
        stamps = h.wait_until(caught_up, 60, message=lambda: "the backlog\n" + self.logs())
        sizes = [len(r.payload) for r, _ in h.dcx_publishes(kpc, "tok-sem")]
        self.assertLessEqual(max(sizes), bound, sizes)
        self.assertGreater(len([s for s in sizes if s > bound // 2]), 0, sizes)
        during = [t for t in stamps if t_down <= t <= t_up]
        self.assertGreaterEqual(len(during), expected, len(during))
        gaps = [(a - t_down, b - a) for a, b in zip(stamps, stamps[1:]) if b - a > 500]
        self.assertEqual(gaps, [], gw.tail())
        for s in self.samples(kpc)[:50]:
            self.assertEqual(s["r59"], 1059)
        self.assertEqual(gw.terminate(), 0, gw.tail())


if __name__ == "__main__":
    unittest.main()
