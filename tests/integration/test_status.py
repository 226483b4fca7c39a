"""`kaa-gateway status` shows what the running daemon is doing (issue 12).

One daemon polls a live meter (the simulator) and a dead one (a bus whose TCP port has
nothing listening), and serves its status on a unix socket in the test's workspace.

1. `kaa-gateway status --json` (by --socket and by --config) shows the live meter ok with
   its exact last values and transaction counts, the dead one failing with the bus's
   error, the uplink connected and the buffer; the text output names both meters with
   their health, fits 80 columns, and the Prometheus text passes `promtool check metrics`.
2. During a broker outage the backlog (samples, oldest age) grows and the uplink shows
   the cut; after the broker returns (the meter now silent, so that nothing new arrives)
   the backlog falls to zero and the delivered count covers what waited.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 200
LIVE_TOKEN = "tok-status-live"
DEAD_TOKEN = "tok-status-dead"


class StatusTest(h.IntegrationTest):

    def start_plant(self):
        sim_port = h.free_port()
        self.sim = self.simulator({"servers": [
            {"name": "status-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 3, "registers": [
                    {"address": 0, "function": "holding", "type": "uint32", "value": 4242},
                    {"address": 2, "function": "holding", "type": "int16", "value": -7}]},
            ]},
        ]})
        dead_port = h.free_port()  # reserved, never listened on: connections are refused
        broker = self.mosquitto()
        broker.start()
        self.socket = str(self.ws.file("status.sock"))
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "plant-bus", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"},
            {"name": "dead-bus", "tcp": {"host": h.HOST, "port": dead_port}, "timeout": "300ms"},
        ], meters=[
            {"name": "heat-main", "token": LIVE_TOKEN, "bus": "plant-bus", "unit": 3,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [
                 {"name": "energy", "address": 0, "function": "holding", "type": "uint32"},
                 {"name": "flow", "address": 2, "function": "holding", "type": "int16"}]},
            {"name": "water-cellar", "token": DEAD_TOKEN, "bus": "dead-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [
                 {"name": "volume", "address": 0, "function": "input", "type": "uint32"}]},
        ], response_timeout="2s")
        config["status"] = {"socket": self.socket}
        kpc = self.kpc(broker.port, mode="ok")
        gw = self.gateway(config)
        self.config_path = self.ws.file("gatewayd.yaml")
        return broker, kpc, gw

    def status(self, *args):
        """`kaa-gateway status ARGS` (by socket unless --config is given): its output."""
        argv = [h.gateway_tool(), "status"] + list(args)
        if "--config" not in args:
            argv += ["--socket", self.socket]
        out = h.run(argv, timeout=15)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def document(self):
        """The status document, or None while the socket is not there yet."""
        out = h.run([h.gateway_tool(), "status", "--json", "--socket", self.socket], timeout=15)
        if out.returncode != 0:
            return None
        return json.loads(out.stdout)

    @staticmethod
    def meter(doc, name):
        return next(m for m in doc["meters"] if m["name"] == name)

    def test_status_shows_meters_uplink_and_buffer(self):
        broker, kpc, gw = self.start_plant()

        def settled():
            doc = self.document()
            if doc is None:
                return None
            live = self.meter(doc, "heat-main")
            dead = self.meter(doc, "water-cellar")
            if (doc["uplink"]["connected"] and live["state"] == "ok"
                    and live["transactions"]["answered"] >= 5 and dead["state"] == "failing"
                    and doc["uplink"]["samples_delivered"] >= 5):
                return doc
            return None
        doc = h.wait_until(settled, 30, interval=0.2, message=lambda: gw.tail())
        self.assertEqual(doc["schema"], 1)
        live = self.meter(doc, "heat-main")
        dead = self.meter(doc, "water-cellar")
        self.assertEqual(live["values"], {"energy": 4242, "flow": -7})
        self.assertEqual(live["bus"], "plant-bus")
        self.assertEqual(live["transactions"]["timeouts"], 0)
        self.assertEqual(live["transactions"]["requests"], live["transactions"]["answered"])
        self.assertIsNotNone(live["last_good_ms"])
        self.assertLessEqual(doc["generated_ms"] - live["last_good_ms"], 5000)
        self.assertIsNone(dead["last_good_ms"])
        self.assertIsNotNone(dead["failing_since_ms"])
        self.assertIn("refused", dead["last_error"])
        buses = {b["name"]: b for b in doc["buses"]}
        self.assertEqual(buses["plant-bus"]["state"], "open")
        self.assertEqual(buses["dead-bus"]["state"], "down")
        self.assertIn("refused", buses["dead-bus"]["last_error"])
        # TCP frames cost no line time: only configured delays count in the estimate.
        self.assertEqual(buses["plant-bus"]["utilisation_estimated"], 0)
        self.assertEqual(doc["uplink"]["broker"], "%s:%d" % (h.HOST, broker.port))
        self.assertEqual(doc["uplink"]["connects"], 1)
        self.assertIsNone(doc["uplink"]["last_error"])
        self.assertGreaterEqual(doc["buffer"]["file_bytes"], 4096)
        self.assertEqual(doc["buffer"]["dropped_overflow"], 0)

        # The same document through the configuration's status.socket.
        by_config = json.loads(self.status("--json", "--config", str(self.config_path)))
        self.assertEqual(by_config["config"], str(self.config_path))
        self.assertEqual([m["name"] for m in by_config["meters"]], ["heat-main", "water-cellar"])

        text = self.status()
        lines = text.splitlines()
        self.assertTrue(all(len(line) <= 80 for line in lines), text)
        heat = next(line for line in lines if line.startswith("heat-main"))
        water = next(line for line in lines if line.startswith("water-cellar"))
        self.assertIn(" ok ", heat)
        self.assertIn("failing", water)
        self.assertIn("energy=4242", text)
        self.assertIn("flow=-7", text)
        self.assertIn("Uplink  connected to %s:%d" % (h.HOST, broker.port), text)
        self.assertRegex(text, r"Buffer  \d+ samples waiting")
        self.assertRegex(text, r"dead-bus +down")

        prom = self.status("--prometheus")
        self.assertIn('kaa_gateway_meter_up{meter="heat-main",bus="plant-bus"} 1', prom)
        self.assertIn('kaa_gateway_meter_up{meter="water-cellar",bus="dead-bus"} 0', prom)
        self.assertIn('kaa_gateway_meter_reading{meter="heat-main",bus="plant-bus",'
                      'register="energy"} 4242', prom)
        self.assertIn("kaa_gateway_uplink_connected 1", prom)
        self.assertEqual(h.promtool_problems(prom), "")

    def test_backlog_grows_in_an_outage_and_drains_after(self):
        broker, kpc, gw = self.start_plant()

        def delivering():
            doc = self.document()
            return doc if doc and doc["uplink"]["samples_delivered"] >= 5 else None
        h.wait_until(delivering, 30, interval=0.2, message=lambda: gw.tail())

        broker.kill()

        def backlog():
            doc = self.document()
            if doc is None or doc["uplink"]["connected"]:
                return None
            buf = doc["buffer"]
            if buf["samples"] >= 15 and buf["oldest_ms"] is not None \
                    and doc["generated_ms"] - buf["oldest_ms"] >= 2000:
                return doc
            return None
        during = h.wait_until(backlog, 30, interval=0.2, message=lambda: gw.tail())
        self.assertNotEqual(during["uplink"]["last_disconnect"], "")
        later = h.wait_until(
            lambda: (lambda d: d if d and d["buffer"]["samples"] > during["buffer"]["samples"]
                     and d["buffer"]["oldest_ms"] <= during["buffer"]["oldest_ms"] else None)(
                self.document()), 10, interval=0.2)
        self.assertGreater(later["buffer"]["bytes"], during["buffer"]["bytes"])
        text = self.status()
        self.assertIn("Uplink  NOT connected to", text)

        # The meter goes quiet too, so that nothing new arrives and the buffer can empty.
        self.sim.kill()
        broker.restart()
        self.assertTrue(kpc.wait_subscribed(10), "KPC stand-in did not resubscribe")
        waited = later["buffer"]["samples"]
        delivered_before = later["uplink"]["samples_delivered"]

        def drained():
            doc = self.document()
            if doc and doc["uplink"]["connected"] and doc["buffer"]["samples"] == 0:
                return doc
            return None
        after = h.wait_until(drained, 60, interval=0.2,
                             message=lambda: json.dumps(self.document()) + "\n" + gw.tail())
        self.assertIsNone(after["buffer"]["oldest_ms"])
        self.assertEqual(after["uplink"]["connects"], 2)
        self.assertGreaterEqual(after["uplink"]["samples_delivered"], delivered_before + waited)
        prom = self.status("--prometheus")
        self.assertIn("kaa_gateway_buffer_samples 0\n", prom)
        self.assertIn("kaa_gateway_buffer_oldest_age_seconds 0\n", prom)

    def test_status_without_a_daemon_says_what_to_do(self):
        missing = str(self.ws.file("nobody.sock"))
        out = h.run([h.gateway_tool(), "status", "--socket", missing], timeout=15)
        self.assertEqual(out.returncode, 1)
        self.assertIn("cannot reach the status socket %s" % missing, out.stderr)
        self.assertIn("is kaa-gatewayd running?", out.stderr)


if __name__ == "__main__":
    unittest.main()
