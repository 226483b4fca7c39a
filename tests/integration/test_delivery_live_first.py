"""After a reconnect, live readings go out first while the backlog drains behind them.

One meter polled every 250 ms; the KPC stand-in answers every request after 100 ms and
the gateway may have two batches of one sample awaiting their answers (buffer.batch 1,
kaa.max_in_flight 2): about 10 requests a second, of which the live readings need 4.
The broker is killed for 10 s, so about 40 samples wait in the buffer, and draining
them behind the live readings takes several seconds after the reconnect.

Live first means: every reading taken after the reconnect reaches the platform within
2 s of being read, even while the backlog is still draining; oldest first would make
them wait behind the whole backlog (up to 10 s). The backlog itself must arrive
complete, each sample with the time it was read, in order within the backlog.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 250
MAX_GAP_MS = 550
OUTAGE_S = 10.0
KPC_DELAY_S = 0.1
LIVE_LATENCY_MS = 2000
TOKEN = "tok-live-first"


class DeliveryLiveFirstTest(h.IntegrationTest):

    def test_live_readings_overtake_the_backlog_after_a_reconnect(self):
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode="slow", delay=KPC_DELAY_S)
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "live-first-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 42}]}]},
        ]})
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "live-first-bus", "tcp": {"host": h.HOST, "port": sim_port},
             "timeout": "500ms"}
        ], meters=[
            {"name": "live-first", "token": TOKEN, "bus": "live-first-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "v", "address": 0, "function": "holding", "type": "uint16"}]}
        ], max_in_flight=2,
           # The stand-in resubscribes within 0.5 s of the broker's return; reconnecting
           # later means no request is lost to a platform that is not listening yet.
           reconnect={"min_delay": "2s", "max_delay": "3s"})
        config["buffer"]["batch"] = 1

        t_start = h.now_ms()
        gw = self.gateway(config)
        h.wait_until(lambda: len(h.dcx_timestamps(kpc, TOKEN)) >= 5, 15,
                     message=lambda: "5 delivered samples\n" + self.logs())

        t_kill = h.now_ms()
        broker.kill()
        h.wait_seconds(OUTAGE_S)  # the outage: its backlog is what must not delay live readings
        self.assertTrue(gw.alive(), gw.tail())
        t_restart = h.now_ms()
        broker.restart()
        self.assertTrue(kpc.wait_subscribed(10), "KPC stand-in did not resubscribe")

        def backlog_delivered():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            stamps = sorted(set(h.dcx_timestamps(kpc, TOKEN)))
            return (stamps and stamps[-1] > t_restart + 3000
                    and not h.timestamp_gaps(stamps, MAX_GAP_MS))

        h.wait_until(backlog_delivered, 40, message=lambda: "the backlog, without gaps\n%s\n%s"
                     % (h.timestamp_gaps(sorted(set(h.dcx_timestamps(kpc, TOKEN))), MAX_GAP_MS),
                        self.logs()))
        self.assertEqual(gw.terminate(), 0, gw.tail())

        arrivals = {}  # timestamp -> first arrival, ms
        for r, samples in h.dcx_publishes(kpc, TOKEN):
            for s in samples:
                self.assertEqual(s["v"], 42, s)
                arrivals.setdefault(s["timestamp"], r.received * 1000)
        backlog = sorted(ts for ts in arrivals if t_kill < ts < t_restart)
        self.assertGreaterEqual(len(backlog), int(0.9 * (t_restart - t_kill) / POLL_MS),
                                "samples read during the outage: %d" % len(backlog))
        backlog_done = max(arrivals[ts] for ts in backlog)
        # The reconnect: the first request the stand-in saw after the broker's return.
        t_reconnect = min(r.received * 1000 for r in kpc.requests() if r.received * 1000 > t_restart)
        self.assertGreater(backlog_done - t_reconnect, 3000,
                           "the backlog drained in %d ms: too fast for this test to tell "
                           "live-first from oldest-first" % (backlog_done - t_reconnect))
        # In order within the backlog: arrival times never go back as timestamps grow.
        order = [arrivals[ts] for ts in backlog]
        self.assertEqual(order, sorted(order), "backlog out of order")

        # Read after the reconnect and while the backlog was still draining.
        live = sorted(ts for ts in arrivals if t_reconnect + 500 < ts < backlog_done - 1000)
        late = [(ts - t_start, int(arrivals[ts] - ts)) for ts in live
                if arrivals[ts] - ts > LIVE_LATENCY_MS]
        print("\nlive-first: %d backlog samples drained in %.1f s after the reconnect; "
              "%d live readings meanwhile, worst latency %d ms"
              % (len(backlog), (backlog_done - t_reconnect) / 1000.0, len(live),
                 max(arrivals[ts] - ts for ts in live)), file=sys.stderr)
        self.assertEqual(late, [], "live readings that waited behind the backlog "
                         "(ms after start, latency ms)")
        self.assertGreaterEqual(len(live), 6, "live readings during the drain: %s" % live)


if __name__ == "__main__":
    unittest.main()
