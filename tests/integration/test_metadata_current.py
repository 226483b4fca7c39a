"""Metadata kept current: metadata_registers are read again every metadata_interval.

Against a pymodbus peer: a meter with two metadata registers (tariff, firmware) read
every 2 s. Its first update/keys messages carry both and its static key; after the tariff is changed on the peer
(a hand-built write) the next update/keys arrives within one metadata_interval (plus a
poll) and carries only the tariff; in the intervals after it nothing more is sent (the
unchanged values are read again, and not sent again).
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

TOKEN = "md-current"
INTERVAL_S = 2.0


class MetadataCurrentTest(h.IntegrationTest):

    def test_a_changed_metadata_register_is_sent_and_unchanged_ones_are_not(self):
        mapping = {"holding": {"0": 11, "100": 1, "101": 7}}
        map_path = self.ws.write("pymodbus-map.json", json.dumps(mapping))
        server = self.track(h.Process([h.PYTHON, str(h.SUPPORT / "pymodbus_server.py"),
                                       "--map", map_path], self.ws, "pymodbus").start())
        port = int(server.wait_for_log(r"pymodbus: serving on 127\.0\.0\.1:(\d+)", 20).group(1))
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode="ok")
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "peer", "tcp": {"host": h.HOST, "port": port}, "timeout": "500ms"},
        ], meters=[
            {"name": "md", "token": TOKEN, "bus": "peer", "unit": 1, "poll_interval": "500ms",
             "metadata_interval": "%ds" % INTERVAL_S,
             "metadata": {"model": "M1"},
             "metadata_registers": [
                 {"name": "tariff", "address": 100, "function": "holding", "type": "uint16"},
                 {"name": "firmware", "address": 101, "function": "holding", "type": "uint16"}],
             "registers": [{"name": "v", "address": 0, "function": "holding", "type": "uint16"}]},
        ])
        gw = self.gateway(config)

        def updates():
            if not gw.alive():
                raise AssertionError("gateway exited\n" + gw.tail())
            return [r.json() for r in kpc.requests("epmx", TOKEN)]

        h.wait_until(lambda: any("tariff" in u for u in updates()), 20,
                     message=lambda: "the first metadata\n" + gw.tail())
        # The static keys may go out at the connect, before the registers were read.
        merged = {}
        for u in updates():
            merged.update(u)
        self.assertEqual(merged, {"model": "M1", "tariff": 1, "firmware": 7})
        sent_before = len(updates())

        h.raw_modbus_write_register(port, 1, 100, 2)
        t_change = time.monotonic()
        h.wait_until(lambda: len(updates()) > sent_before, INTERVAL_S + 2,
                     message=lambda: "the changed tariff within %.0f s: %s" % (
                         INTERVAL_S, updates()))
        took = time.monotonic() - t_change
        self.assertEqual(updates()[sent_before], {"tariff": 2})
        print("\nmetadata: the changed tariff reached Kaa %.2f s after the change "
              "(metadata_interval %.0f s)" % (took, INTERVAL_S), file=sys.stderr)

        # Two more intervals: read again, unchanged, not sent.
        count = len(updates())
        end = time.monotonic() + 2.5 * INTERVAL_S
        h.wait_until(lambda: time.monotonic() >= end or len(updates()) > count,
                     3 * INTERVAL_S + 2, message="the end of the quiet window")
        self.assertEqual(len(updates()), count, updates())
        self.assertEqual(gw.terminate(), 0, gw.tail())


if __name__ == "__main__":
    unittest.main()
