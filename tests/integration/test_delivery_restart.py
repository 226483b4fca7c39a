"""kill -9 of the daemon during a broker outage loses no sample it had buffered.

Two meters, each on its own Modbus TCP bus, polled every 200 ms. Timeline:

    broker up, a few samples delivered -> broker killed (SIGKILL) -> 3 s later the
    daemon is killed (SIGKILL) -> restarted at once with the same config and
    buffer.path -> 2 s later the broker comes back on the same port.

Afterwards every sample the first daemon read up to one second before its kill
(a poll round may still be uncommitted at the kill) has reached the KPC stand-in:
per meter, the timestamps from its first sample to kill-1s have no gap wider than
450 ms (2x the poll interval plus slack), and the second daemon's samples follow.
"""

import collections
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 200
MAX_GAP_MS = 450
COMMIT_SLACK_MS = 1000   # samples younger than this at the kill may be lost
METERS = {  # token: (meter name, bus, unit, value)
    "tok-restart-a": ("restart-a", "restart-bus-a", 1, 1111),
    "tok-restart-b": ("restart-b", "restart-bus-b", 2, 2222),
}


class DaemonRestartTest(h.IntegrationTest):

    def test_samples_buffered_before_kill_9_arrive_after_restart(self):
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode="ok")
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "restart-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": unit, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": value}]}
                for (_, _, unit, value) in METERS.values()]},
        ]})
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": bus, "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"}
            for (_, bus, _, _) in METERS.values()
        ], meters=[
            {"name": name, "token": token, "bus": bus, "unit": unit,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "v", "address": 0, "function": "holding", "type": "uint16"}]}
            for token, (name, bus, unit, _) in METERS.items()
        ])
        config_path = self.ws.write_yaml("gatewayd.yaml", config)
        argv = [h.gatewayd(), "--config", config_path, "--log-level", "info"]

        t_start = h.now_ms()
        gw1 = self.track(h.Process(argv, self.ws, "gatewayd-1").start())

        # -- a few samples go through while the broker is up -----------------------------
        h.wait_until(lambda: all(len(h.dcx_timestamps(kpc, t)) >= 3 for t in METERS), 15,
                     message=lambda: "3 delivered samples per meter\n" + self.logs())
        delivered_before_cut = {t: h.dcx_timestamps(kpc, t) for t in METERS}

        # -- broker killed; 3 s later the daemon is killed ---------------------------------
        t_cut = h.now_ms()
        broker.kill()
        h.wait_seconds(3.0)
        self.assertTrue(gw1.alive(), "gateway died without a broker\n" + gw1.tail())
        t_kill = h.now_ms()
        os.kill(gw1.pid, signal.SIGKILL)
        h.wait_until(lambda: not gw1.alive(), 5, message="the first daemon to die of SIGKILL")
        self.assertEqual(gw1.returncode(), -signal.SIGKILL, gw1.tail())
        gw1.kill()  # reap the group

        # -- restarted with the same config (same buffer.path); 2 s later the broker -------
        t_restart = h.now_ms()
        gw2 = self.track(h.Process(argv, self.ws, "gatewayd-2").start())
        h.wait_seconds(2.0)
        self.assertTrue(gw2.alive(), "restarted gateway died\n" + gw2.tail())
        t_up = h.now_ms()
        broker.restart()
        self.assertTrue(kpc.wait_subscribed(10), "KPC stand-in did not resubscribe")

        def complete(token):
            stamps = h.dcx_timestamps(kpc, token)
            before = [ts for ts in stamps if ts <= t_kill - COMMIT_SLACK_MS]
            after = [ts for ts in stamps if ts >= t_restart]
            return (before and before[0] == delivered_before_cut[token][0]
                    and before[-1] >= t_kill - COMMIT_SLACK_MS - MAX_GAP_MS
                    and not h.timestamp_gaps(before, MAX_GAP_MS)
                    and after and after[-1] >= t_up + 1000)

        def all_complete():
            if not gw2.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw2.returncode(), gw2.tail()))
            return all(complete(t) for t in METERS)

        h.wait_until(all_complete, 20, message=lambda: "every sample up to kill-1s, then live ones; "
                     "gaps (ms after start, length): %s; last before kill-1s: %s\n%s" % (
                         {t: [(a - t_start, d) for a, d in h.timestamp_gaps(
                             [ts for ts in h.dcx_timestamps(kpc, t) if ts <= t_kill - COMMIT_SLACK_MS], MAX_GAP_MS)]
                          for t in METERS},
                         {t: max([ts - t_start for ts in h.dcx_timestamps(kpc, t)
                                  if ts <= t_kill - COMMIT_SLACK_MS], default=None)
                          for t in METERS},
                         self.logs()))

        duplicates = 0
        for token, (name, _, _, value) in METERS.items():
            pubs = h.dcx_publishes(kpc, token)
            counts = collections.Counter(s["timestamp"] for _, ss in pubs for s in ss)
            duplicates += sum(n - 1 for n in counts.values())
            stamps = sorted(counts)
            first = stamps[0]
            self.assertGreaterEqual(first, t_start, token)
            self.assertLessEqual(first, t_start + 2000,
                                 "%s: first sample %d ms after the start" % (token, first - t_start))
            before = [ts for ts in stamps if ts <= t_kill - COMMIT_SLACK_MS]
            span = before[-1] - before[0]
            self.assertGreaterEqual(len(before), int(0.9 * span / POLL_MS),
                                    "%s: %d samples over %d ms before the kill" % (token, len(before), span))
            # Samples the first daemon read while the broker was down came from its buffer file.
            outage = [ts for ts in before if ts > t_cut]
            self.assertGreaterEqual(len(outage), int(0.9 * (t_kill - COMMIT_SLACK_MS - t_cut) / POLL_MS),
                                    "%s: samples read between the broker kill and kill-1s: %s"
                                    % (token, [ts - t_cut for ts in outage]))
            # The second daemon polled from its start and delivered that too.
            after = [ts for ts in stamps if ts >= t_restart]
            self.assertLessEqual(after[0], t_restart + 2000, token)
            self.assertEqual(h.timestamp_gaps(after, MAX_GAP_MS), [], "%s: gaps after the restart" % token)
            self.assertTrue(all(ts <= t_kill or ts >= t_restart for ts in stamps), token)
            for r, ss in pubs:
                ts = [s["timestamp"] for s in ss]
                self.assertEqual(ts, sorted(set(ts)), "%s: publish not in time order: %s" % (token, ts))
                for s in ss:
                    self.assertEqual(set(s), {"timestamp", "v"}, s)
                    self.assertTrue(h.same_value(value, s["v"]), s)
        print("\ndelivery_restart: %d duplicate samples (re-sent after the cut or the kill)"
              % duplicates, file=sys.stderr)

        self.assertEqual(gw2.terminate(), 0, gw2.tail())


if __name__ == "__main__":
    unittest.main()
