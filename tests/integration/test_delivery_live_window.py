"""kaa.live_window: a fast meter's readings go in one request per window, none lost.

Two meters polled every 100 ms through the real daemon, broker and KPC stand-in: one
with kaa.live_window 1s, so that its readings wait for company and go about ten to a
request, each within the window (plus a margin for the machine) of being read; the
readings of both arrive complete, in order, each once. The window is the daemon's (kaa:
section), so the second meter runs in a second daemon with the default (0s): one
request per reading or per few.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 100
WINDOW_MS = 1000
MARGIN_MS = 700      # read -> stored -> the window's end -> the stand-in, on a loaded machine
MAX_GAP_MS = 350     # a poll late or skipped on a busy machine, not a loss
READINGS = 60   # six windows or more


class DeliveryLiveWindowTest(h.IntegrationTest):

    def start(self, broker, sim_port, name, token, window):
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": name + "-bus", "tcp": {"host": h.HOST, "port": sim_port}}
        ], meters=[
            {"name": name, "token": token, "bus": name + "-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "v", "address": 0, "function": "holding",
                            "type": "uint16"}]}
        ], live_window=window)
        config["buffer"]["path"] = str(self.ws.file(name + ".db"))
        config["status"]["socket"] = str(self.ws.file(name + ".sock"))
        return self.gateway(config, name="gatewayd-" + name)

    def test_readings_go_in_one_request_per_window_and_none_is_lost(self):
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode="ok")
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "window-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 7}]}]},
        ]})
        windowed = self.start(broker, sim_port, "windowed", "tok-windowed", "1s")
        direct = self.start(broker, sim_port, "direct", "tok-direct", "0s")
        h.wait_until(lambda: min(len(h.dcx_timestamps(kpc, t))
                                 for t in ("tok-windowed", "tok-direct")) >= READINGS, 30,
                     message=lambda: "%d readings of each meter\n%s" % (READINGS, self.logs()))
        for gw in (windowed, direct):
            self.assertEqual(gw.terminate(), 0, gw.tail())

        for token in ("tok-windowed", "tok-direct"):
            stamps = [s["timestamp"] for _, ss in h.dcx_publishes(kpc, token) for s in ss]
            self.assertEqual(len(stamps), len(set(stamps)), "%s: a reading came twice" % token)
            self.assertEqual(stamps, sorted(stamps), "%s: out of order" % token)
            self.assertEqual(h.timestamp_gaps(sorted(stamps), MAX_GAP_MS), [],
                             "%s: readings missing" % token)
            for r, samples in h.dcx_publishes(kpc, token):
                self.assertEqual({s["v"] for s in samples}, {7}, token)

        # The windowed meter: one request per window, its readings waiting at most the window.
        requests = h.dcx_publishes(kpc, "tok-windowed")
        full = requests[1:-1]  # the first and last windows may be cut by the start and stop
        self.assertGreater(len(full), 2, "too few windows to judge")
        sizes = [len(ss) for _, ss in full]
        self.assertGreaterEqual(min(sizes), 6, "readings per request %s (window 1 s, polls "
                                "every 100 ms: about 10)" % sizes)
        self.assertLessEqual(max(sizes), 14, "readings per request %s" % sizes)
        for r, samples in requests:
            oldest = min(s["timestamp"] for s in samples)
            self.assertLessEqual(r.received * 1000 - oldest, WINDOW_MS + MARGIN_MS,
                                 "a reading waited longer than the window")
        # The direct meter: far more requests for the same readings.
        direct_requests = h.dcx_publishes(kpc, "tok-direct")
        per_request = len(h.dcx_timestamps(kpc, "tok-direct")) / len(direct_requests)
        self.assertLess(per_request, 3.0, "kaa.live_window 0s should send readings at once")


if __name__ == "__main__":
    unittest.main()
