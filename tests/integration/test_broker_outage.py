"""No sample is lost while the broker is away (samples wait in the gateway's buffer).

1. The gateway starts while mosquitto is not running; after a few poll intervals
   the broker comes up: the samples read before it arrive with their original
   timestamps (earlier than the broker start), oldest first per token.
2. mosquitto is killed with SIGKILL and restarted on the same port: the
   timestamps of each token show no gap larger than ~2 poll intervals across
   the outage. (Daemon restarts are not part of this test.)

The KPC stand-in records what it receives; the gateway re-sends whatever the
stand-in did not answer, so the stand-in's records are complete (duplicates of a
re-sent batch are removed by timestamp).
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 500
MAX_GAP_MS = 2 * POLL_MS + 200
TOKENS = ("tok-outage-a", "tok-outage-b")


class BrokerOutageTest(h.IntegrationTest):

    def samples(self, kpc, token):
        """(timestamp-deduplicated samples in arrival order, every publish's sample list)."""
        reqs = [r for r in kpc.requests("dcx", token)]
        batches = []
        for r in reqs:
            body = r.json()
            batches.append(body if isinstance(body, list) else [body])
        flat = [s for b in batches for s in b]
        return h.unique_by_timestamp(flat), batches

    def gaps(self, stamps):
        stamps = sorted(stamps)
        return [(a, b) for a, b in zip(stamps, stamps[1:]) if b - a > MAX_GAP_MS]

    def test_samples_survive_late_broker_and_broker_kill(self):
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "outage-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 4242}]},
                {"unit": 2, "registers": [
                    {"address": 0, "function": "input", "type": "int32", "byte_order": "CDAB",
                     "value": -77}]},
            ]},
        ]})
        broker = self.mosquitto()  # configured, port reserved, NOT started
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "outage-bus", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"},
        ], meters=[
            {"name": "outage-a", "token": TOKENS[0], "bus": "outage-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "a", "address": 0, "function": "holding", "type": "uint16"}]},
            {"name": "outage-b", "token": TOKENS[1], "bus": "outage-bus", "unit": 2,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "b", "address": 0, "function": "input", "type": "int32",
                            "byte_order": "CDAB"}]},
        ], response_timeout="2s", reconnect={"min_delay": "200ms", "max_delay": "1s"})
        values = {TOKENS[0]: ("a", 4242), TOKENS[1]: ("b", -77)}

        t_gw_ms = h.now_ms()
        gw = self.gateway(config)
        h.wait_seconds(3 * POLL_MS / 1000 + 1.0)  # a few poll intervals without a broker
        self.assertTrue(gw.alive(), "gateway died without a broker\n" + gw.tail())

        # -- phase 1: the broker comes up late ---------------------------------------------
        t_up_ms = h.now_ms()
        broker.start()
        kpc = self.kpc(broker.port, mode="ok")

        def backlog_and_live():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            for t in TOKENS:
                stamps = [s["timestamp"] for s in self.samples(kpc, t)[0]]
                if not stamps or min(stamps) >= t_up_ms or max(stamps) < t_up_ms + 1500:
                    return False
                if self.gaps(stamps):
                    return False
            return True

        h.wait_until(backlog_and_live, 20, message=lambda: "backlog + live samples, no gaps: %s\n%s" % (
            {t: [s["timestamp"] - t_gw_ms for s in self.samples(kpc, t)[0]] for t in TOKENS},
            self.logs()))

        for t in TOKENS:
            uniq, batches = self.samples(kpc, t)
            stamps = [s["timestamp"] for s in uniq]
            before = [ts for ts in stamps if ts < t_up_ms]
            self.assertLessEqual(min(stamps), t_gw_ms + 2000,
                                 "%s: first sample %d ms after the gateway start" % (t, min(stamps) - t_gw_ms))
            self.assertGreaterEqual(min(stamps), t_gw_ms, t)
            self.assertGreaterEqual(len(before), 3, "%s: samples taken before the broker: %s" % (t, before))
            self.assertEqual(before, sorted(before),
                             "%s: backlog not delivered oldest first: %s" % (t, before))
            for b in batches:
                ts = [s["timestamp"] for s in b]
                self.assertEqual(ts, sorted(set(ts)), "%s: one publish not in time order: %s" % (t, ts))
            name, value = values[t]
            for s in uniq:
                self.assertEqual(set(s), {"timestamp", name}, s)
                self.assertTrue(h.same_value(value, s[name]), s)

        # -- phase 2: kill -9 and restart on the same port ---------------------------------
        t_kill_ms = h.now_ms()
        broker.kill()
        h.wait_seconds(4 * POLL_MS / 1000)
        self.assertTrue(gw.alive(), "gateway died when the broker was killed\n" + gw.tail())
        t_restart_ms = h.now_ms()
        broker.restart()
        self.assertTrue(kpc.wait_subscribed(10), "KPC stand-in did not resubscribe")

        def caught_up():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            for t in TOKENS:
                stamps = [s["timestamp"] for s in self.samples(kpc, t)[0]]
                if max(stamps) < t_restart_ms + 1500 or self.gaps(stamps):
                    return False
            return True

        h.wait_until(caught_up, 25, message=lambda: "no gap > %d ms across the outage: %s\n%s" % (
            MAX_GAP_MS, {t: self.gaps([s["timestamp"] - t_gw_ms for s in self.samples(kpc, t)[0]])
                         for t in TOKENS}, self.logs()))

        for t in TOKENS:
            uniq, batches = self.samples(kpc, t)
            stamps = sorted(s["timestamp"] for s in uniq)
            during = [ts for ts in stamps if t_kill_ms < ts < t_restart_ms]
            self.assertGreaterEqual(len(during), 2,
                                    "%s: samples read while the broker was down: %s" % (t, during))
            self.assertEqual(self.gaps(stamps), [], t)
            for b in batches:
                ts = [s["timestamp"] for s in b]
                self.assertEqual(ts, sorted(set(ts)), "%s: one publish not in time order: %s" % (t, ts))
            name, value = values[t]
            for s in uniq:
                self.assertTrue(h.same_value(value, s[name]), s)
        self.assertEqual(gw.terminate(), 0, gw.tail())


if __name__ == "__main__":
    unittest.main()
