"""A meter that refuses reads across its holes: the plan is learnt once and kept.

The simulator's unit 1 (illegal_holes: a read that covers an address without a register is
answered with exception 02) has values at holding 0-2, 9-10 and 17-18. At the default
max_gap of 8 the gateway plans one read of 0..18, which the meter refuses. The first poll
must still publish every value (they are read while the refused read is bisected), the log
must name the refused addresses (3..8 and 11..16), and the cuts must be written beside the
buffer. After a restart the gateway must start from the learnt plan: no refused read, the
same values.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

VALUES = {0: 100, 1: 101, 2: 102, 9: 109, 10: 110, 17: 117, 18: 118}
REFUSED_LOG = r"refused the read holding 0\.\.18 \(exception 2\); it refuses reads across " \
              r"holding 3\.\.8, holding 11\.\.16"


class LearnedPlansTest(h.IntegrationTest):

    def test_holes_are_learnt_in_the_first_poll_and_kept_across_a_restart(self):
        broker = self.mosquitto().start()
        self.kpc(broker.port, mode="ok")
        collector = self.collector(broker.port)
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "holey", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "illegal_holes": True, "registers": [
                    {"address": a, "function": "holding", "type": "uint16", "value": v}
                    for a, v in VALUES.items()]}]}]})
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "plant", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "300ms"},
        ], meters=[
            {"name": "sdm", "token": "tok-sdm", "bus": "plant", "unit": 1,
             "poll_interval": "300ms", "registers": [
                 {"name": "r%d" % a, "address": a, "function": "holding", "type": "uint16"}
                 for a in VALUES]},
        ])
        expected = {"r%d" % a: v for a, v in VALUES.items()}
        plans = config["buffer"]["path"] + "-plans.json"

        first_run = self.gateway(config, name="first")
        first = h.wait_until(lambda: collector.samples("tok-sdm"), 15,
                             message=lambda: "a first sample\n" + self.logs())
        self.assertEqual({k: first[0].get(k) for k in expected}, expected, first[0])
        first_run.wait_for_log(REFUSED_LOG, 5)
        self.assertEqual(first_run.terminate(), 0, first_run.tail())
        with open(plans) as f:
            kept = json.load(f)
        self.assertEqual(kept["meters"], {"sdm@plant/1": [
            {"function": "holding", "address": 9}, {"function": "holding", "address": 17}]})

        delivered = len(collector.samples("tok-sdm"))
        second_run = self.gateway(config, name="second")
        h.wait_until(lambda: len(collector.samples("tok-sdm")) >= delivered + 3, 15,
                     message=lambda: "three samples after the restart\n" + self.logs())
        for sample in collector.samples("tok-sdm")[delivered:]:
            self.assertEqual({k: sample.get(k) for k in expected}, expected, sample)
        self.assertEqual(second_run.terminate(), 0, second_run.tail())
        self.assertNotIn("refused", second_run.stderr())


if __name__ == "__main__":
    unittest.main()
