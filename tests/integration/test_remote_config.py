"""Configuration pushed from Kaa (7/CMP) to the gateway's own endpoint.

The gateway (kaa.remote_config: true, gateway.token) asks for its configuration after
connecting; the KPC stand-in pushes one on kp1/<av>/cmx/<token>/config/json/status:

- a valid push that changes a meter's poll interval takes effect (the samples come at
  the new rate) and is reported applied: {"configId", "statusCode": 200} on
  applied/json;
- an invalid push (two errors) is reported 400 with both errors by JSON path, and
  nothing changes;
- after a restart the applied configuration is still in force (kept beside the buffer),
  and kaa-gatewayd --check says so; a reload (SIGHUP) keeps it in force too.
"""

import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

AV = "demo_application_v1"
GW = "gw-remote-it"
TOKEN = "remote-meter"


def meter(poll):
    return {"name": "rm", "token": TOKEN, "bus": "sim", "unit": 1, "poll_interval": poll,
            "registers": [{"name": "v", "address": 0, "function": "holding", "type": "uint16"}]}


class RemoteConfigTest(h.IntegrationTest):

    def rate_between(self, kpc, t_from_ms, t_to_ms):
        stamps = [t for t in h.dcx_timestamps(kpc, TOKEN) if t_from_ms <= t < t_to_ms]
        return len(stamps) / ((t_to_ms - t_from_ms) / 1000.0)

    def wait_report(self, kpc, gw, config_id):
        def found():
            if not gw.alive():
                raise AssertionError("gateway exited\n" + gw.tail())
            return [r for r in kpc.config_reports(GW) if r and r.get("configId") == config_id]
        h.wait_until(found, 15, message=lambda: "the report on %s\n%s" % (config_id, self.logs()))
        return found()[-1]

    def test_a_pushed_config_is_applied_refused_and_kept_over_restarts(self):
        sim_port = h.free_port()
        self.simulator({"servers": [{"name": "remote-sim", "tcp": {"host": h.HOST, "port": sim_port},
                                     "units": [{"unit": 1, "registers": [
                                         {"address": 0, "function": "holding", "type": "uint16",
                                          "value": 7}]}]}]})
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode="ok")
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "sim", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"},
        ], meters=[meter("1s")], remote_config=True)
        config["gateway"] = {"token": GW}
        gw = self.gateway(config)
        h.wait_until(lambda: any(t == GW for t, _ in kpc.config_requests), 20,
                     message=lambda: "the gateway's configuration request\n" + gw.tail())
        h.wait_until(lambda: len(h.dcx_timestamps(kpc, TOKEN)) >= 2, 20, message="samples")

        # Valid: a faster poll interval.
        kpc.push_config(AV, GW, "cfg-1", {"meters": [meter("200ms")]})
        report = self.wait_report(kpc, gw, "cfg-1")
        self.assertEqual(report["statusCode"], 200, report)
        t_applied = h.now_ms()
        h.wait_until(lambda: any(t >= t_applied + 3000 for t in h.dcx_timestamps(kpc, TOKEN)), 15,
                     message="samples 3 s after the push")
        fast = self.rate_between(kpc, t_applied + 500, t_applied + 2500)
        self.assertGreaterEqual(fast, 3.5, "samples a second after the push: %.1f" % fast)

        # Invalid: two errors, both reported by JSON path; nothing changes.
        kpc.push_config(AV, GW, "cfg-2", {"kaa": {"qos": 7}, "meters": [meter("soon")]})
        report = self.wait_report(kpc, gw, "cfg-2")
        self.assertEqual(report["statusCode"], 400, report)
        self.assertIn("kaa.qos", report["reasonPhrase"])
        self.assertIn("meters[0].poll_interval", report["reasonPhrase"])
        self.assertIn("2 errors", report["reasonPhrase"])
        t_refused = h.now_ms()
        h.wait_until(lambda: any(t >= t_refused + 2500 for t in h.dcx_timestamps(kpc, TOKEN)), 15,
                     message="samples after the refused push")
        still = self.rate_between(kpc, t_refused + 500, t_refused + 2500)
        self.assertGreaterEqual(still, 3.5, "after the refused push: %.1f a second" % still)
        self.assertEqual(gw.terminate(), 0, gw.tail())

        # Restart: the applied configuration is in force from the start, and --check says so.
        check = h.run([h.gatewayd(), "--check", "--config", str(self.ws.file("gatewayd.yaml"))])
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn("remote configuration cfg-1 (from Kaa, kept in", check.stdout)
        self.assertIn("200ms", check.stdout)  # the plan shows the pushed poll interval
        gw2 = self.gateway(config, name="gatewayd-again")
        t_restart = h.now_ms()
        h.wait_until(lambda: any(t >= t_restart + 3000 for t in h.dcx_timestamps(kpc, TOKEN)), 20,
                     message="samples after the restart")
        again = self.rate_between(kpc, t_restart + 800, t_restart + 2800)
        self.assertGreaterEqual(again, 3.5, "after the restart: %.1f a second" % again)
        self.assertIn("remote configuration cfg-1", gw2.stderr())
        # It asked naming the configuration it has: the stand-in answered {} (unchanged).
        self.assertTrue(any(t == GW and b'"cfg-1"' in p for t, p in kpc.config_requests))

        # A reload (SIGHUP) reads the file again and lays the kept configuration over it.
        gw2.signal(signal.SIGHUP)
        h.wait_until(lambda: "reloaded" in gw2.stderr() or "reload failed" in gw2.stderr(), 15,
                     message=lambda: "the reload\n" + gw2.tail())
        self.assertNotIn("reload failed", gw2.stderr())
        t_reload = h.now_ms()
        h.wait_until(lambda: any(t >= t_reload + 2500 for t in h.dcx_timestamps(kpc, TOKEN)), 15,
                     message="samples after the reload")
        after_reload = self.rate_between(kpc, t_reload + 500, t_reload + 2500)
        self.assertGreaterEqual(after_reload, 3.5, "after the reload: %.1f a second" % after_reload)
        self.assertEqual(gw2.terminate(), 0, gw2.tail())


if __name__ == "__main__":
    unittest.main()
