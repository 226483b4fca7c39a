"""Readings wait for a synchronised clock (clock.max_unsynced; issue 12).

A test cannot set the machine's clock, so NTP is played by a flag file
(KAA_TEST_CLOCK_SYNC_FILE: synchronised exactly while it exists); the correction of
read times by the step a sync makes is tested in simulated time
(tests/unit/core_clock_watch_test.cpp) and in the buffer
(tests/unit/buffer_shift_read_times_test.cpp).

1. Unsynchronised at start: the meter is polled and its readings are kept, but none is
   sent; the status says the clock is waiting. Once the clock is synchronised every
   reading taken meanwhile is delivered, with its read time, no gap, and live ones follow.
2. Never synchronised: after max_unsynced (2 s here) an error names the problem and the
   readings go with the local time; the status says so.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 200
TOKEN = "tok-clock"


class ClockSyncTest(h.IntegrationTest):

    def start_plant(self, max_unsynced):
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "clock-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 321}]},
            ]},
        ]})
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode="ok")
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "clock-bus", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"},
        ], meters=[
            {"name": "clock-meter", "token": TOKEN, "bus": "clock-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "v", "address": 0, "function": "holding",
                            "type": "uint16"}]},
        ])
        config["clock"] = {"max_unsynced": max_unsynced}
        self.flag = str(self.ws.file("ntp-synchronized"))
        self.socket = config["status"]["socket"]
        gw = self.gateway(config, env={"KAA_TEST_CLOCK_SYNC_FILE": self.flag})
        return kpc, gw

    def document(self):
        out = h.run([h.gateway_tool(), "status", "--json", "--socket", self.socket], timeout=15)
        return json.loads(out.stdout) if out.returncode == 0 else None

    def test_readings_wait_for_the_sync_then_all_arrive(self):
        t0 = h.now_ms()
        kpc, gw = self.start_plant("10min")

        def held():
            d = self.document()
            if d and d["clock"]["state"] == "waiting" and d["buffer"]["samples"] >= 10:
                return d
            return None
        doc = h.wait_until(held, 30, interval=0.2, message=lambda: gw.tail())
        self.assertIsNotNone(doc["clock"]["unsynced_since_ms"])
        self.assertEqual(h.dcx_timestamps(kpc, TOKEN), [], "a reading left before the sync")
        self.assertIn("the system clock is not synchronised", gw.stderr())
        text = h.run([h.gateway_tool(), "status", "--socket", self.socket], timeout=15).stdout
        self.assertIn("Clock   NOT synchronised for", text)
        self.assertIn("readings held", text)

        with open(self.flag, "w"):
            pass
        t_sync = h.now_ms()

        def delivered():
            stamps = h.dcx_timestamps(kpc, TOKEN)
            return stamps if stamps and stamps[-1] > t_sync + 1000 else None
        stamps = h.wait_until(delivered, 30, interval=0.2, message=lambda: gw.tail())
        self.assertLess(stamps[0], t0 + 3000, "the first readings are there")
        self.assertEqual(h.timestamp_gaps(stamps, 3 * POLL_MS), [], stamps)
        for _, ss in h.dcx_publishes(kpc, TOKEN):
            for s in ss:
                self.assertEqual(s["v"], 321)
        after = self.document()
        self.assertEqual(after["clock"]["state"], "synced")
        # The flag file stands in for NTP; the clock itself did not move.
        self.assertLess(abs(after["clock"]["sync_offset_ms"]), 1000)
        self.assertIn("the system clock is synchronised", gw.stderr())
        self.assertEqual(gw.terminate(), 0, gw.tail())

    def test_never_synchronised_sends_with_the_local_time_after_max_unsynced(self):
        kpc, gw = self.start_plant("2s")

        def given_up():
            d = self.document()
            return d if d and d["clock"]["state"] == "unsynced" else None
        doc = h.wait_until(given_up, 20, interval=0.2, message=lambda: gw.tail())
        self.assertIn("still not synchronised after clock.max_unsynced 2s", gw.stderr())
        h.wait_until(lambda: len(h.dcx_timestamps(kpc, TOKEN)) >= 10, 20, interval=0.2,
                     message=lambda: gw.tail())
        self.assertEqual(h.timestamp_gaps(h.dcx_timestamps(kpc, TOKEN), 3 * POLL_MS), [])
        self.assertIsNotNone(doc["clock"]["unsynced_since_ms"])
        self.assertEqual(gw.terminate(), 0, gw.tail())


if __name__ == "__main__":
    unittest.main()
