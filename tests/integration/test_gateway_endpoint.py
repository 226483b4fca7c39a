"""The gateway as its own Kaa endpoint (gateway.token; issue 12).

One daemon polls a live meter (the simulator) and a dead one (nothing listens on its
bus's port), with gateway.token and a health_interval of 1 s.

1. Its metadata reaches Kaa under gateway.token after the connect: the version, host
   name, client id and the buses and meters configured, the same as the status document
   (`kaa-gateway status --json`) says. Health samples arrive every second with the
   figures the status shows: 2 meters, 1 failing, connected, the dead bus down; the
   status's gateway_endpoint section counts the health samples Kaa saw (give or take the
   one in flight).
   The meters' tokens carry only their readings.
2. During a broker outage the health samples wait in memory; after it they are all
   delivered with their read times (one a second, no gap), and the metadata goes again.
"""

import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 200
LIVE_TOKEN = "tok-gwe-live"
DEAD_TOKEN = "tok-gwe-dead"
GATEWAY_TOKEN = "tok-gwe-gateway"
CLIENT_ID = "kaa-it-gwe"


class GatewayEndpointTest(h.IntegrationTest):

    def start_plant(self):
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "gwe-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 77}]},
            ]},
        ]})
        dead_port = h.free_port()  # reserved, never listened on
        broker = self.mosquitto().start()
        self.socket = str(self.ws.file("status.sock"))
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "plant-bus", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"},
            {"name": "dead-bus", "tcp": {"host": h.HOST, "port": dead_port}, "timeout": "300ms"},
        ], meters=[
            {"name": "heat", "token": LIVE_TOKEN, "bus": "plant-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "flow", "address": 0, "function": "holding",
                            "type": "uint16"}]},
            {"name": "cellar", "token": DEAD_TOKEN, "bus": "dead-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "volume", "address": 0, "function": "holding",
                            "type": "uint16"}]},
        ], response_timeout="2s")
        config["kaa"]["client_id"] = CLIENT_ID
        config["status"] = {"socket": self.socket}
        config["gateway"] = {"token": GATEWAY_TOKEN, "health_interval": "1s"}
        kpc = self.kpc(broker.port, mode="ok")
        gw = self.gateway(config)
        return broker, kpc, gw

    def document(self):
        out = h.run([h.gateway_tool(), "status", "--json", "--socket", self.socket], timeout=15)
        return json.loads(out.stdout) if out.returncode == 0 else None

    @staticmethod
    def health_samples(kpc):
        """{timestamp: sample} of every health sample Kaa saw under the gateway's token."""
        return {s["timestamp"]: s for _, ss in h.dcx_publishes(kpc, GATEWAY_TOKEN) for s in ss}

    @staticmethod
    def metadata(kpc):
        return [r.json() for r in kpc.requests("epmx", GATEWAY_TOKEN)]

    def test_metadata_and_health_carry_the_status_figures(self):
        broker, kpc, gw = self.start_plant()

        def settled():
            doc = self.document()
            if doc is None or "gateway_endpoint" not in doc:
                return None
            states = {m["name"]: m["state"] for m in doc["meters"]}
            if states != {"heat": "ok", "cellar": "failing"}:
                return None
            healthy = [s for s in self.health_samples(kpc).values() if s["meters_failing"] == 1]
            return (doc, healthy) if len(healthy) >= 3 and self.metadata(kpc) else None
        doc, healthy = h.wait_until(settled, 30, interval=0.2, message=lambda: gw.tail())

        md = self.metadata(kpc)[0]
        self.assertEqual(md["version"], doc["version"])
        self.assertEqual(md["hostname"], socket.gethostname())
        self.assertEqual(md["client_id"], CLIENT_ID)
        self.assertEqual(md["buses"], [b["name"] for b in doc["buses"]])
        self.assertEqual(md["meters"], ["heat", "cellar"])
        self.assertEqual(md["meters_configured"], 2)
        self.assertEqual(md["config"], doc["config"])
        self.assertTrue(md["os"])

        last = healthy[-1]
        self.assertEqual(last["meters"], 2)
        self.assertEqual(last["connected"], 1)
        self.assertEqual(last["reconnects"], 0)
        self.assertEqual(last["samples_dropped"], 0)
        # The dead bus never opens (its meter is not polled); the live one answers all.
        self.assertEqual(last["bus_dead-bus_up"], 0)
        self.assertEqual(last["bus_dead-bus_requests"], 0)
        self.assertEqual(last["bus_plant-bus_up"], 1)
        self.assertEqual(last["bus_plant-bus_errors"], 0)
        self.assertEqual(last["bus_plant-bus_error_rate"], 0)
        self.assertGreaterEqual(last["bus_plant-bus_requests"], 3, "5 polls a second")
        # The read times are a second apart.
        stamps = sorted(self.health_samples(kpc))
        for a, b in zip(stamps, stamps[1:]):
            self.assertGreaterEqual(b - a, 900, stamps)

        # The status counts what Kaa saw: a sample is made every second, so one may be
        # in flight between the two looks at Kaa's side.
        seen_before = len(self.health_samples(kpc))
        own = self.document()["gateway_endpoint"]
        seen_after = len(self.health_samples(kpc))
        self.assertLessEqual(own["samples_confirmed"], seen_after, own)
        self.assertGreaterEqual(own["samples_confirmed"], seen_before - 1, own)
        self.assertGreaterEqual(own["samples_sent"], seen_before, own)
        self.assertLessEqual(own["samples_waiting"], 1, own)
        self.assertEqual(own["token"], GATEWAY_TOKEN)
        self.assertEqual(own["samples_dropped"], 0)
        self.assertGreaterEqual(own["metadata_confirmed"], 1)

        # Meters' tokens carry their readings, nothing of the gateway's.
        for _, ss in h.dcx_publishes(kpc, LIVE_TOKEN):
            for s in ss:
                self.assertEqual(set(s), {"timestamp", "flow"})
        for r in kpc.requests("epmx", LIVE_TOKEN):
            self.assertNotIn("hostname", r.json())
        self.assertEqual(gw.terminate(), 0, gw.tail())

    def test_health_samples_wait_through_an_outage(self):
        broker, kpc, gw = self.start_plant()
        h.wait_until(lambda: len(self.health_samples(kpc)) >= 2, 30, interval=0.2,
                     message=lambda: gw.tail())
        before = self.metadata(kpc)
        broker.kill()
        t_down = h.now_ms()

        def waiting():
            d = self.document()
            own = d and d.get("gateway_endpoint")
            return own if own and own["samples_waiting"] >= 4 else None
        h.wait_until(waiting, 20, interval=0.2, message=lambda: gw.tail())
        broker.restart()
        self.assertTrue(kpc.wait_subscribed(10), "KPC stand-in did not resubscribe")
        t_up = h.now_ms()

        def caught_up():
            stamps = sorted(self.health_samples(kpc))
            return stamps if stamps and stamps[-1] > t_up + 1000 else None
        stamps = h.wait_until(caught_up, 30, interval=0.2, message=lambda: gw.tail())
        during = [t for t in stamps if t_down <= t < t_up]
        self.assertGreaterEqual(len(during), 4, "health samples read during the outage")
        gaps = h.timestamp_gaps(stamps, 1600)
        self.assertEqual(gaps, [], "a health sample is missing: %s" % stamps)
        after = self.health_samples(kpc)[stamps[-1]]
        self.assertGreaterEqual(after["reconnects"], 1)
        self.assertGreater(len(self.metadata(kpc)), len(before), "metadata again after reconnect")
        self.assertEqual(gw.terminate(), 0, gw.tail())


if __name__ == "__main__":
    unittest.main()
