"""Reporting rules end to end: what reaches Kaa from a meter with on_change registers.

The simulator serves a counter that rises 20 a second and a value that never changes.
The meter polls every 200 ms; the counter is `every_poll`, the steady value `on_change`
with a 2 s heartbeat, and a third register (rising 1 a second) `on_change` with a deadband
of 3. Over about 6 s Kaa receives the counter in every sample, the steady value only in
the first sample and at each heartbeat (never with a time it was not read at), and the
slow one only when it moved by more than 3 or at a heartbeat.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

TOKEN = "tok-reporting"
POLL_MS = 200
HEARTBEAT_MS = 2000


class ReportingTest(h.IntegrationTest):

    def test_on_change_registers_are_sent_on_change_and_at_each_heartbeat(self):
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "rep-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint32", "value": 1000,
                     "rise_per_second": 20},
                    {"address": 2, "function": "holding", "type": "uint16", "value": 230},
                    {"address": 3, "function": "holding", "type": "uint32", "value": 50,
                     "rise_per_second": 1}]},
            ]},
        ]})
        broker = self.mosquitto()
        broker.start()
        kpc = self.kpc(broker.port, mode="ok")
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "rep-bus", "tcp": {"host": h.HOST, "port": sim_port}},
        ], meters=[
            {"name": "rep", "token": TOKEN, "bus": "rep-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS, "heartbeat": "%dms" % HEARTBEAT_MS,
             "registers": [
                 {"name": "counter", "address": 0, "function": "holding", "type": "uint32"},
                 {"name": "steady", "address": 2, "function": "holding", "type": "uint16",
                  "report": "on_change"},
                 {"name": "slow", "address": 3, "function": "holding", "type": "uint32",
                  "deadband": 3}]},
        ])
        gw = self.gateway(config)

        def samples():
            out = []
            for _, batch in h.dcx_publishes(kpc, TOKEN):
                out.extend(batch)
            return h.unique_by_timestamp(out)

        h.wait_until(lambda: len(samples()) >= 30, 30, message=lambda: gw.tail())
        got = sorted(samples(), key=lambda s: s["timestamp"])
        self.assertTrue(all("counter" in s for s in got), got[:5])
        steady = [s for s in got if "steady" in s]
        self.assertTrue(all(s["steady"] == 230 for s in steady))
        self.assertIn("steady", got[0])
        # The first sample and one per heartbeat: about 1 + span / 2 s, never more.
        span = got[-1]["timestamp"] - got[0]["timestamp"]
        self.assertLessEqual(len(steady), 1 + span // HEARTBEAT_MS + 1, steady)
        self.assertGreaterEqual(len(steady), 1 + span // HEARTBEAT_MS - 1, steady)
        gaps = [b["timestamp"] - a["timestamp"] for a, b in zip(steady, steady[1:])]
        self.assertTrue(all(g >= HEARTBEAT_MS for g in gaps), gaps)
        self.assertTrue(all(g <= HEARTBEAT_MS + 2 * POLL_MS for g in gaps), gaps)
        # slow moved by more than 3 between any two of its values, unless a heartbeat
        # carried it (then steady is in the same sample).
        slow = [s for s in got if "slow" in s]
        for a, b in zip(slow, slow[1:]):
            self.assertTrue(b["slow"] - a["slow"] > 3 or "steady" in b, (a, b))
        self.assertLess(len(slow), len(got) // 2, slow)


if __name__ == "__main__":
    import unittest
    unittest.main()
