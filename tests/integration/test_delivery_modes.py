"""Every kaa.delivery mode and every KPC answer, against the real mosquitto.

One meter (four registers of different types, constant values) polled every 200 ms
on Modbus TCP; the KPC stand-in answers in one mode per test. Publishes are counted
per sample timestamp, as the stand-in received them:

- status + KPC ok:            every sample once, nothing sent again.
- puback (qos 1) + KPC silent: every sample once: the PUBACK alone confirms.
- none (qos 0) + KPC silent:   every sample once: the write alone confirms.
- status + /error 400:        "rejected" logged with meter name and code; no batch is
                               sent again, later batches go on.
- status + /error 503:        the same samples are published again, after about 1 s.
- status + silence (response_timeout 1s): sent again after 1 s, "no confirmation".
- status + a 2 s slow KPC (response_timeout 5s): every sample once, nothing re-sent.

response_timeout is 1s where nothing may be re-sent (except the slow case), so that a
wrong re-send shows within the observation window.
"""

import collections
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 200
MAX_GAP_MS = 450          # consecutive samples of the meter: 200 ms apart, 2x when busy
METER = "mode-meter"
TOKEN = "tok-mode"

REGISTERS = [
    {"name": "u", "address": 0, "function": "holding", "type": "uint16", "value": 4242},
    {"name": "i", "address": 1, "function": "holding", "type": "int32", "byte_order": "CDAB",
     "value": -123456},
    {"name": "f", "address": 0, "function": "input", "type": "float32", "byte_order": "ABCD",
     "value": 230.5},
    {"name": "s", "address": 10, "function": "holding", "type": "string", "length": 5,
     "value": "GW-07"},
]
EXPECTED = {"u": 4242, "i": -123456, "f": h.float32_published(230.5), "s": "GW-07"}

RESENT_RE = r"kaa: samples of meter %s \(request \d+\): [^\n]*; sending again" % re.escape(METER)


def sim_register(reg):
    return {k: v for k, v in reg.items() if k != "name"}


def gw_register(reg):
    return {k: v for k, v in reg.items() if k != "value"}


class DeliveryModesTest(h.IntegrationTest):

    # ---- plant ------------------------------------------------------------------------

    def start_plant(self, kpc_mode, error_code=400, delay=2.0, **kaa):
        """mosquitto, the KPC stand-in in `kpc_mode`, the simulator and the gateway."""
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode=kpc_mode, error_code=error_code, delay=delay)
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "modes-sim", "tcp": {"host": h.HOST, "port": sim_port},
             "units": [{"unit": 1, "registers": [sim_register(r) for r in REGISTERS]}]},
        ]})
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "modes-bus", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"},
        ], meters=[
            {"name": METER, "token": TOKEN, "bus": "modes-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [gw_register(r) for r in REGISTERS]},
        ], **kaa)
        self.t0_ms = h.now_ms()
        gw = self.gateway(config)
        return gw, kpc

    # ---- what the stand-in received ---------------------------------------------------

    @staticmethod
    def counts(pubs):
        """How many times each sample timestamp was published."""
        return collections.Counter(s["timestamp"] for _, samples in pubs for s in samples)

    def first_publish_plus(self, gw, kpc, seconds):
        """Waits for the first DCX publish, then `seconds` more; returns its arrival time."""
        def first():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            pubs = h.dcx_publishes(kpc, TOKEN)
            return pubs[0][0].received if pubs else None

        t_first = h.wait_until(first, 15, message=lambda: "a first DCX publish\n" + self.logs())
        h.wait_seconds(seconds)
        return t_first

    def check_values_and_order(self, pubs):
        """Exact values in every published sample; each publish in timestamp order."""
        for r, samples in pubs:
            stamps = [s["timestamp"] for s in samples]
            self.assertEqual(stamps, sorted(set(stamps)),
                             "publish %s not in timestamp order: %s" % (r.topic, stamps))
            for s in samples:
                self.assertEqual(set(s), {"timestamp"} | set(EXPECTED), s)
                self.assertIsInstance(s["timestamp"], int, s)
                self.assertGreaterEqual(s["timestamp"], self.t0_ms, s)
                for name, want in EXPECTED.items():
                    self.assertTrue(h.same_value(want, s[name]),
                                    "%s: want %r, got %r in %r" % (name, want, s[name], s))

    def check_no_gaps(self, stamps, what):
        stamps = sorted(stamps)
        gaps = [(a - stamps[0], b - a) for a, b in zip(stamps, stamps[1:]) if b - a > MAX_GAP_MS]
        self.assertEqual(gaps, [], "%s: gaps (offset, length ms) between consecutive samples "
                         "of a meter polled every %d ms" % (what, POLL_MS))

    def check_each_once(self, gw, kpc, window_s, what):
        """The window's samples were all published exactly once, with no gap."""
        pubs = h.dcx_publishes(kpc, TOKEN)
        counts = self.counts(pubs)
        self.check_values_and_order(pubs)
        twice = {ts - self.t0_ms: n for ts, n in counts.items() if n != 1}
        self.assertEqual(twice, {}, "%s: samples (ms after start: times published) published "
                         "more than once\n%s" % (what, gw.tail()))
        # The meter kept being polled and delivered through the window.
        self.assertGreaterEqual(len(counts), int(0.8 * window_s * 1000 / POLL_MS),
                                "%s: %d samples in a %.1f s window" % (what, len(counts), window_s))
        self.check_no_gaps(counts.keys(), what)
        self.assertIsNone(re.search(RESENT_RE, gw.stderr()),
                          "%s: the gateway sent samples again\n%s" % (what, gw.tail()))

    def first_resend(self, kpc):
        """(first publish, first later publish repeating one of its timestamps) or None."""
        pubs = h.dcx_publishes(kpc, TOKEN)
        if not pubs:
            return None
        first_req, first_samples = pubs[0]
        first_stamps = {s["timestamp"] for s in first_samples}
        for r, samples in pubs[1:]:
            if first_stamps & {s["timestamp"] for s in samples}:
                return first_req, r
        return None

    def finish(self, gw):
        self.assertTrue(gw.alive(), gw.tail())
        self.assertEqual(gw.terminate(), 0, "exit code after SIGTERM\n" + gw.tail())

    # ---- tests ------------------------------------------------------------------------

    def test_status_confirmed_by_kpc_sends_each_sample_once(self):
        gw, kpc = self.start_plant("ok", delivery="status", qos=1, response_timeout="1s")
        self.first_publish_plus(gw, kpc, 3.0)
        self.check_each_once(gw, kpc, 3.0, "delivery status, KPC answers /status")
        pubs = h.dcx_publishes(kpc, TOKEN)
        h.wait_until(lambda: all(r.answer == "status" for r, _ in pubs), 5,
                     message="the stand-in's /status answers")
        self.finish(gw)

    def test_puback_needs_no_status(self):
        gw, kpc = self.start_plant("silent", delivery="puback", qos=1, response_timeout="1s")
        self.first_publish_plus(gw, kpc, 3.0)
        self.check_each_once(gw, kpc, 3.0, "delivery puback, KPC silent")
        self.assertIsNone(re.search(r"no confirmation", gw.stderr()), gw.tail())
        self.finish(gw)

    def test_none_needs_no_answer(self):
        gw, kpc = self.start_plant("silent", delivery="none", qos=0, response_timeout="1s")
        self.first_publish_plus(gw, kpc, 3.0)
        self.check_each_once(gw, kpc, 3.0, "delivery none (qos 0), KPC silent")
        self.assertIsNone(re.search(r"no confirmation", gw.stderr()), gw.tail())
        self.finish(gw)

    def test_error_4xx_drops_the_batch_and_logs_it(self):
        gw, kpc = self.start_plant("error", error_code=400, delivery="status", qos=1,
                                   response_timeout="1s")
        gw.wait_for_log(r"\[error\] kaa: [^\n]*rejected[^\n]*\b%s\b[^\n]*\b400\b"
                        % re.escape(METER), 15)
        self.first_publish_plus(gw, kpc, 3.0)
        self.check_each_once(gw, kpc, 3.0, "/error 400")
        pubs = h.dcx_publishes(kpc, TOKEN)
        h.wait_until(lambda: all(r.answer == "error" for r, _ in pubs), 5,
                     message="the stand-in's /error answers")
        # Every rejection names the meter, its token and the code.
        for line in re.findall(r"^.*rejected.*$", gw.stderr(), re.MULTILINE):
            if "samples" in line:
                self.assertIn(METER, line)
                self.assertIn(TOKEN, line)
                self.assertRegex(line, r"\b400\b")
        self.finish(gw)

    def test_error_5xx_sends_the_same_samples_again_after_a_second(self):
        gw, kpc = self.start_plant("error", error_code=503, delivery="status", qos=1)
        pair = h.wait_until(lambda: self.first_resend(kpc), 15,
                            message=lambda: "a re-send of the first batch; publishes %s\n%s" % (
                                [(round(r.received, 3), [s["timestamp"] for s in ss])
                                 for r, ss in h.dcx_publishes(kpc, TOKEN)], self.logs()))
        first, again = pair
        delay = again.received - first.received
        self.assertTrue(0.8 <= delay <= 2.5,
                        "the first batch was sent again %.3f s after its 503 (want ~1 s)" % delay)
        first_stamps = [s["timestamp"] for s in first.json()]
        counts = self.counts(h.dcx_publishes(kpc, TOKEN))
        self.assertEqual({ts: counts[ts] for ts in first_stamps if counts[ts] < 2}, {},
                         "samples of the first batch not published again")
        self.assertNotEqual(first.request_id, again.request_id)
        self.check_values_and_order(h.dcx_publishes(kpc, TOKEN))
        gw.wait_for_log(r"\[warning\] kaa: samples of meter %s \(request %d\): Kaa answered 503 "
                        r"'[^'\n]*'; sending again" % (re.escape(METER), first.request_id), 5)
        self.finish(gw)

    def test_silence_sends_again_after_response_timeout(self):
        gw, kpc = self.start_plant("silent", delivery="status", qos=1, response_timeout="1s")
        pair = h.wait_until(lambda: self.first_resend(kpc), 15,
                            message=lambda: "a re-send of the first batch\n" + self.logs())
        first, again = pair
        delay = again.received - first.received
        self.assertTrue(0.9 <= delay <= 2.5,
                        "the first batch was sent again %.3f s after it went out "
                        "(response_timeout 1s)" % delay)
        counts = self.counts(h.dcx_publishes(kpc, TOKEN))
        first_stamps = [s["timestamp"] for s in first.json()]
        self.assertEqual({ts: counts[ts] for ts in first_stamps if counts[ts] < 2}, {},
                         "samples of the first batch not published again")
        self.assertNotEqual(first.request_id, again.request_id)
        self.check_values_and_order(h.dcx_publishes(kpc, TOKEN))
        gw.wait_for_log(r"\[warning\] kaa: samples of meter %s \(request %d\): no confirmation "
                        r"within 1s; sending again" % (re.escape(METER), first.request_id), 5)
        self.finish(gw)

    def test_slow_answer_within_timeout_is_not_resent(self):
        gw, kpc = self.start_plant("slow", delay=2.0, delivery="status", qos=1,
                                   response_timeout="5s")
        # Past the 5 s response timeout of the first batch: a wrong re-send would show.
        t_first = self.first_publish_plus(gw, kpc, 6.0)
        self.check_each_once(gw, kpc, 6.0, "KPC answers after 2 s, response_timeout 5s")
        early = [r for r, _ in h.dcx_publishes(kpc, TOKEN) if r.received <= t_first + 3.5]
        h.wait_until(lambda: all(r.answer == "status" for r in early), 5,
                     message="the slow stand-in's answers to the early publishes")
        self.finish(gw)


if __name__ == "__main__":
    unittest.main()
