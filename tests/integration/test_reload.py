"""Reloading the configuration on SIGHUP (systemctl reload), end to end.

Real mosquitto, the KPC stand-in confirming every request, the simulator on Modbus TCP,
the daemon with NOTIFY_SOCKET pointing at a socket this test reads. Two buses on the
simulator's port: "steady" (meter steady, every 200 ms), which no reload touches, and
"tuned" (meter tuned, every 1 s). The valid reload changes tuned's interval to 250 ms
and adds meter "added" on bus tuned; then:
- RELOADING=1 (with MONOTONIC_USEC) and then READY=1 arrive on the notification socket;
- the new meter's metadata and samples arrive; tuned's samples come every 250 ms;
- bus steady keeps polling with no gap across the reload;
- the MQTT session stays: mosquitto logs one connection of the daemon's client id, the
  daemon one "connected";
- with the broker down during the reload, every sample polled before, during and after
  it arrives once the broker is back (no gap in any meter's timestamps).
An invalid file (three errors) is logged error by error, exactly as --check prints them,
and the old configuration keeps running. A storm of SIGHUPs is coalesced.
"""

import os
import re
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

STEADY_MS = 200
MAX_GAP_MS = 450  # a 200/250 ms meter never waits this long between samples


def meter(name, bus, unit, interval, **extra):
    m = {"name": name, "token": "tok-" + name, "bus": bus, "unit": unit,
         "poll_interval": interval,
         "registers": [{"name": "v", "address": 0, "function": "holding", "type": "uint16"}]}
    m.update(extra)
    return m


class ReloadTest(h.IntegrationTest):

    def start(self, broker):
        self.kpc_ = self.kpc(broker.port, mode="ok")
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "reload-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": unit, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": value}]}
                for unit, value in ((1, 101), (2, 202), (3, 303))]}]})
        self.config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "steady", "tcp": {"host": h.HOST, "port": sim_port}},
            {"name": "tuned", "tcp": {"host": h.HOST, "port": sim_port}},
        ], meters=[
            meter("steady", "steady", 1, "%dms" % STEADY_MS),
            meter("tuned", "tuned", 2, "1s"),
        ])
        self.notify = h.NotifySocket(self.ws)
        self.addCleanup(self.notify.stop)
        self.path = self.ws.write_yaml("gatewayd.yaml", self.config)
        self.gw = self.track(h.Process([h.gatewayd(), "--config", self.path], self.ws, "gatewayd",
                                       env={"NOTIFY_SOCKET": self.notify.path}).start())
        h.wait_until(lambda: self.notify.lines("READY=1"), 10,
                     message=lambda: "READY=1\n" + self.logs())
        return self.gw

    def stamps(self, name):
        return h.dcx_timestamps(self.kpc_, "tok-" + name)

    def values(self, name):
        return {s["v"] for _, ss in h.dcx_publishes(self.kpc_, "tok-" + name) for s in ss}

    def change_config(self):
        """tuned every 250 ms, and meter added (unit 3, with static metadata) on bus tuned."""
        self.config["meters"][1]["poll_interval"] = "250ms"
        self.config["meters"].append(meter("added", "tuned", 3, "250ms",
                                           metadata={"model": "reload-test"}))
        self.ws.write_yaml("gatewayd.yaml", self.config)

    def reload(self):
        """SIGHUP; waits for the READY=1 that follows its RELOADING=1; returns both times."""
        before = len(self.notify.lines())
        self.gw.signal(signal.SIGHUP)

        def ready_after_reloading():
            lines = self.notify.lines()[before:]
            reloading = [i for i, (_, m) in enumerate(lines) if m == "RELOADING=1"]
            if not reloading:
                return None
            ready = [t for t, m in lines[reloading[0]:] if m == "READY=1"]
            return (lines[reloading[0]][0], ready[0]) if ready else None

        return h.wait_until(ready_after_reloading, 10,
                            message=lambda: "RELOADING=1 then READY=1\n%s\n%s"
                            % (self.notify.lines()[before:], self.logs()))

    def assert_no_gap(self, name, since_ms=None):
        stamps = [t for t in self.stamps(name) if since_ms is None or t >= since_ms]
        self.assertGreater(len(stamps), 5, name)
        self.assertEqual(h.timestamp_gaps(stamps, MAX_GAP_MS), [],
                         "%s: gaps (timestamp, ms) in its samples" % name)

    def test_valid_reload_applies_changes_without_a_new_mqtt_session(self):
        broker = self.mosquitto().start()
        gw = self.start(broker)
        h.wait_until(lambda: len(self.stamps("steady")) >= 5 and len(self.stamps("tuned")) >= 3,
                     15, message=lambda: "first samples\n" + self.logs())

        self.change_config()
        reload_ms = h.now_ms()
        self.reload()
        notified = [m for _, m in self.notify.lines()]
        reloading = notified.index("RELOADING=1")
        self.assertRegex(notified[reloading + 1], r"^MONOTONIC_USEC=\d+$")
        gw.wait_for_log(r"reloaded .*: meters added: added; changed: tuned; removed: none; "
                        r"buses restarted: tuned; stopped: none; 1 buses kept polling", 5)

        # The new meter: its metadata, then samples with its value.
        h.wait_until(lambda: any(r.json() == {"model": "reload-test"}
                                 for r in self.kpc_.requests("epmx", "tok-added")), 10,
                     message=lambda: "metadata of added\n" + self.logs())
        h.wait_until(lambda: len(self.stamps("added")) >= 8, 10,
                     message=lambda: "samples of added\n" + self.logs())
        self.assertEqual(self.values("added"), {303})
        # tuned: every 1 s before the reload, every 250 ms from its bus's restart on.
        h.wait_until(lambda: len([t for t in self.stamps("tuned") if t > reload_ms + 500]) >= 8,
                     10, message=lambda: "tuned at 250 ms\n" + self.logs())
        before = [t for t in self.stamps("tuned") if t < reload_ms]
        after = [t for t in self.stamps("tuned") if t > reload_ms + 500]
        self.assertTrue(all(900 <= b - a <= 1500 for a, b in zip(before, before[1:])), before)
        self.assertTrue(all(150 <= b - a <= MAX_GAP_MS for a, b in zip(after, after[1:])), after)
        # The untouched bus polled on through the reload, on its first connection.
        self.assert_no_gap("steady")
        self.assertEqual(len(re.findall(r"bus steady open", gw.stderr())), 1, gw.tail())
        self.assertEqual(len(re.findall(r"bus tuned open", gw.stderr())), 2, gw.tail())
        self.assertTrue(self.stamps("steady")[0] < reload_ms < self.stamps("steady")[-1])
        # One MQTT session from start to end, on both sides.
        client_id = self.config["kaa"]["client_id"]
        self.assertEqual(len(re.findall(r"New client connected .* as %s" % client_id,
                                        broker.proc.stderr())), 1, broker.proc.tail())
        self.assertEqual(len(re.findall(r"mqtt: connected to", gw.stderr())), 1, gw.tail())

    def test_reload_during_a_broker_outage_loses_no_sample(self):
        broker = self.mosquitto().start()
        gw = self.start(broker)
        h.wait_until(lambda: len(self.stamps("steady")) >= 5, 15,
                     message=lambda: "first samples\n" + self.logs())
        broker.kill()
        gw.wait_for_log(r"connection lost", 10)
        outage_ms = h.now_ms()
        h.wait_seconds(1.5)  # samples pile up in the buffer before the reload
        self.change_config()
        reload_ms = h.now_ms()
        self.reload()
        h.wait_seconds(1.5)  # and after it, still without a broker
        broker.restart()
        back_ms = h.now_ms()

        since = {"steady": 0, "tuned": reload_ms + 500, "added": 0}

        def caught_up():
            # Batches sent before the KPC stand-in resubscribed come again after 3 s.
            for name, start in since.items():
                stamps = [t for t in self.stamps(name) if t >= start]
                if not stamps or stamps[-1] < back_ms + 1000 or h.timestamp_gaps(stamps,
                                                                                  MAX_GAP_MS):
                    return False
            return True

        h.wait_until(caught_up, 30, message=lambda: "catch-up; gaps %s\n%s" % (
            {n: h.timestamp_gaps(self.stamps(n), MAX_GAP_MS) for n in since}, self.logs()))
        self.assert_no_gap("steady")
        self.assert_no_gap("tuned", since_ms=reload_ms + 500)
        self.assert_no_gap("added")
        # Samples of the outage, before and after the reload, all arrived.
        for name in ("steady", "tuned"):
            self.assertTrue(any(outage_ms < t < reload_ms for t in self.stamps(name)), name)
        for name in ("steady", "tuned", "added"):
            self.assertTrue(any(reload_ms < t < back_ms for t in self.stamps(name)), name)
        self.assertEqual(self.values("added"), {303})
        h.wait_until(lambda: any(r.json() == {"model": "reload-test"}
                                 for r in self.kpc_.requests("epmx", "tok-added")), 10,
                     message=lambda: "metadata of added\n" + self.logs())

    def test_invalid_file_is_logged_error_by_error_and_the_old_config_runs_on(self):
        broker = self.mosquitto().start()
        gw = self.start(broker)
        h.wait_until(lambda: len(self.stamps("steady")) >= 5, 15,
                     message=lambda: "first samples\n" + self.logs())
        good = h.to_yaml(self.config)
        bad = (good.replace('poll_interval: "1s"', 'poll_interval: "1parsec"')
                   .replace('function: "holding"', 'function: "holdin"', 1)
                   .replace('  - name: "tuned"\n', '  - name: "tuned"\n    colour: blue\n', 1))
        self.assertEqual(bad.count("\n"), good.count("\n") + 1)
        self.ws.write("gatewayd.yaml", bad)
        check = h.run([h.gatewayd(), "--check", "--config", self.path])
        expected = [line for line in check.stderr.splitlines()
                    if re.match(re.escape(self.path) + r":\d+:\d+: ", line)]
        self.assertEqual(len(expected), 3, check.stderr)
        lines = bad.splitlines()
        for word in ('"1parsec"', '"holdin"', "colour"):
            row = next(i for i, text in enumerate(lines) if word in text)
            col = lines[row].index(word)
            self.assertTrue(any(e.startswith("%s:%d:%d:" % (self.path, row + 1, col + 1))
                                for e in expected), (word, expected))

        reload_ms = h.now_ms()
        self.reload()
        for error in expected:
            self.assertIn("gateway: " + error, gw.stderr())
        gw.wait_for_log(r"reload failed: 3 errors in .*gatewayd\.yaml; the running "
                        r"configuration stays in effect", 5)
        h.wait_until(lambda: any("last reload FAILED: 3 errors" in m
                                 for _, m in self.notify.lines("STATUS=")), 5,
                     message=lambda: "STATUS after the failed reload\n%s" % self.notify.lines())
        # The old configuration runs on: steady without a gap, tuned still every 1 s.
        h.wait_until(lambda: len([t for t in self.stamps("tuned") if t > reload_ms]) >= 3, 10,
                     message=lambda: "tuned after the failed reload\n" + self.logs())
        self.assert_no_gap("steady")
        after = [t for t in self.stamps("tuned") if t > reload_ms]
        self.assertTrue(all(900 <= b - a <= 1500 for a, b in zip(after, after[1:])), after)
        self.assertNotIn("reloaded", gw.stderr())

    def test_a_sighup_storm_is_coalesced(self):
        broker = self.mosquitto().start()
        gw = self.start(broker)
        h.wait_until(lambda: len(self.stamps("steady")) >= 5, 15,
                     message=lambda: "first samples\n" + self.logs())
        self.change_config()
        storm_ms = h.now_ms()
        for _ in range(50):
            gw.signal(signal.SIGHUP)
        gw.wait_for_log(r"meters added: added", 10)
        h.wait_until(lambda: len(self.stamps("added")) >= 5 and
                     self.stamps("steady")[-1] > storm_ms + 2000, 10,
                     message=lambda: "samples after the storm\n" + self.logs())
        reloads = len(re.findall(r"reloading the configuration", gw.stderr()))
        print("\n50 SIGHUPs: %d reloads" % reloads)
        self.assertGreaterEqual(reloads, 1)
        self.assertLess(reloads, 50)
        self.assertEqual(len(re.findall(r"meters added: added", gw.stderr())), 1)
        notified = [m for _, m in self.notify.lines() if m in ("RELOADING=1", "READY=1")]
        self.assertEqual(notified.count("RELOADING=1"), reloads)
        self.assertEqual(notified[-1], "READY=1")
        self.assert_no_gap("steady")
        self.assertTrue(gw.alive())


if __name__ == "__main__":
    unittest.main()
