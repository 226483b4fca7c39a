"""Faulty meters must not starve a healthy one on the same bus.

On one TCP bus: a healthy meter (unit 1), a meter on a unit the simulator never
answers (unit 2: timeouts) and a meter one of whose registers touches an address
hole of a unit with illegal_holes (unit 3: Modbus exception 02).
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 500
WINDOW_MS = 8000


class FaultsTest(h.IntegrationTest):

    def test_dead_and_illegal_address_meters_do_not_starve_the_healthy_one(self):
        broker = self.mosquitto().start()
        self.kpc(broker.port, mode="ok")
        collector = self.collector(broker.port)
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "faulty-plant", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 111},
                    {"address": 1, "function": "holding", "type": "float32", "byte_order": "ABCD",
                     "value": 50.5}]},
                {"unit": 3, "illegal_holes": True, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 7},
                    {"address": 1, "function": "holding", "type": "uint16", "value": 8}]},
            ]},
        ]})
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "faulty-plant", "tcp": {"host": h.HOST, "port": sim_port},
             "timeout": "200ms", "retries": 1},
        ], meters=[
            {"name": "healthy-meter", "token": "tok-healthy", "bus": "faulty-plant", "unit": 1,
             "poll_interval": "%dms" % POLL_MS, "registers": [
                 {"name": "count", "address": 0, "function": "holding", "type": "uint16"},
                 {"name": "level", "address": 1, "function": "holding", "type": "float32",
                  "byte_order": "ABCD"}]},
            {"name": "dead-meter", "token": "tok-dead", "bus": "faulty-plant", "unit": 2,
             "poll_interval": "1s", "registers": [
                 {"name": "x", "address": 0, "function": "holding", "type": "uint16"}]},
            {"name": "holey-meter", "token": "tok-holey", "bus": "faulty-plant", "unit": 3,
             "poll_interval": "1s", "registers": [
                 {"name": "present", "address": 0, "function": "holding", "type": "uint16"},
                 # address 2 holds no register: any read touching it answers exception 02
                 {"name": "in_hole", "address": 2, "function": "holding", "type": "uint16"}]},
        ])
        gw = self.gateway(config)

        first = h.wait_until(lambda: collector.samples("tok-healthy"), 15,
                             message=lambda: "a first healthy sample\n" + self.logs())
        start_ms = first[0]["timestamp"]

        def window_done():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            return any(s["timestamp"] >= start_ms + WINDOW_MS for s in collector.samples("tok-healthy"))

        h.wait_until(window_done, WINDOW_MS / 1000 + 12,
                     message=lambda: "healthy samples past the %d ms window (have %d)\n%s"
                     % (WINDOW_MS, len(collector.samples("tok-healthy")), self.logs()))

        healthy = h.unique_by_timestamp(collector.samples("tok-healthy"))
        in_window = [s for s in healthy if start_ms <= s["timestamp"] < start_ms + WINDOW_MS]
        expected = WINDOW_MS // POLL_MS
        self.assertGreaterEqual(len(in_window), int(0.8 * expected + 0.999),
                                "healthy meter: %d samples in %d ms at poll_interval %d ms "
                                "(timestamps %s)" % (len(in_window), WINDOW_MS, POLL_MS,
                                                     [s["timestamp"] for s in healthy]))
        for s in healthy:
            self.assertEqual(s.get("count"), 111, s)
            self.assertTrue(h.same_value(50.5, s.get("level")), s)

        # Nothing was invented for the registers that cannot be read.
        for s in collector.samples("tok-dead"):
            self.assertIsNone(s.get("x"), "dead meter published a value: %r" % s)
        for s in collector.samples("tok-holey"):
            self.assertIsNone(s.get("in_hole"), "hole register published a value: %r" % s)

        # The log names both failing meters (warning or error), never the healthy one.
        gw.wait_for_log(r"\[(warning|error)\][^\n]*dead-meter", 5)
        gw.wait_for_log(r"\[(warning|error)\][^\n]*holey-meter", 5)
        bad = re.findall(r"^.*\[(?:warning|error)\][^\n]*healthy-meter.*$", gw.stderr(), re.MULTILINE)
        self.assertEqual(bad, [], "healthy meter reported as failing")

        self.assertTrue(gw.alive(), gw.tail())
        self.assertEqual(gw.terminate(), 0, gw.tail())


if __name__ == "__main__":
    unittest.main()
