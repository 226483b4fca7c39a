"""The status page over HTTP (status.http; issue 12), looked at in a real browser.

One daemon polls a live meter (the simulator) and a dead one (nothing listens on its
bus's port) and serves status.http on 127.0.0.1:<free port>.

1. Debian's headless Chromium loads `/`: the page it renders has a row for every meter
   with its health (heat ok, cellar failing with the bus's error) and the live meter's
   exact last values, the uplink connected and both buses. Chromium also takes the
   screenshot the README shows (KAA_STATUS_SCREENSHOT=PATH keeps a copy there).
2. `/status.json` is the document `kaa-gateway status --json` prints; `/metrics` passes
   `promtool check metrics`; anything but GET/HEAD is refused with 405 and nothing
   changes; an unknown path is 404.
"""

import html.parser
import json
import os
import shutil
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 200
CHROMIUM = "/usr/bin/chromium"


class MeterRows(html.parser.HTMLParser):
    """{meter: {"health": class, "health_text": text, "values": {register: text}}}."""

    def __init__(self):
        super().__init__()
        self.meters = {}
        self._meter = None
        self._cell = None
        self._register = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-meter" in a:
            self._meter = a["data-meter"]
            self.meters[self._meter] = {"health": None, "health_text": "", "values": {}}
        elif self._meter and tag == "td" and "health" in (a.get("class") or "").split():
            self.meters[self._meter]["health"] = a["class"].split()[0]
            self._cell = "health"
        elif self._meter and tag == "span" and "data-register" in a:
            self._register = a["data-register"]

    def handle_endtag(self, tag):
        if tag == "tr":
            self._meter = None
        if tag == "td":
            self._cell = None
        if tag == "span":
            self._register = None

    def handle_data(self, data):
        if not self._meter:
            return
        if self._register:
            values = self.meters[self._meter]["values"]
            values[self._register] = values.get(self._register, "") + data
        elif self._cell == "health":
            self.meters[self._meter]["health_text"] += data


class StatusPageTest(h.IntegrationTest):

    def start_plant(self):
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "page-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 4, "registers": [
                    {"address": 0, "function": "holding", "type": "uint32", "value": 98765},
                    {"address": 2, "function": "holding", "type": "int16", "value": -12}]},
            ]},
        ]})
        dead_port = h.free_port()  # reserved, never listened on
        broker = self.mosquitto().start()
        self.kpc(broker.port, mode="ok")
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "plant-bus", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"},
            {"name": "dead-bus", "tcp": {"host": h.HOST, "port": dead_port}, "timeout": "300ms"},
        ], meters=[
            {"name": "heat", "token": "tok-page-heat", "bus": "plant-bus", "unit": 4,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [
                 {"name": "energy", "address": 0, "function": "holding", "type": "uint32"},
                 {"name": "flow", "address": 2, "function": "holding", "type": "int16"}]},
            {"name": "cellar", "token": "tok-page-cellar", "bus": "dead-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "volume", "address": 0, "function": "holding",
                            "type": "uint16"}]},
        ])
        self.http_port = h.free_port()
        config["status"]["http"] = "%s:%d" % (h.HOST, self.http_port)
        self.socket = config["status"]["socket"]
        gw = self.gateway(config)
        return gw

    def url(self, path):
        return "http://%s:%d%s" % (h.HOST, self.http_port, path)

    def get(self, path, method="GET"):
        """(code, content type, body) of one request."""
        req = urllib.request.Request(self.url(path), method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers.get("Content-Type"), r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read().decode("utf-8")

    def settled(self):
        """The document once the live meter has values and the dead one is failing."""
        try:
            code, _, body = self.get("/status.json")
        except OSError:
            return None
        if code != 200:
            return None
        doc = json.loads(body)
        states = {m["name"]: m["state"] for m in doc["meters"]}
        heat = next(m for m in doc["meters"] if m["name"] == "heat")
        if states == {"heat": "ok", "cellar": "failing"} and heat["values"] \
                and doc["uplink"]["connected"]:
            return doc
        return None

    def chromium(self, *args):
        profile = self.ws.file("chromium-profile")
        argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--user-data-dir=%s" % profile] + list(args)
        out = h.run(argv, timeout=90)
        self.assertEqual(out.returncode, 0, out.stderr[-2000:])
        return out.stdout

    def test_the_page_shows_every_meter_in_a_real_browser(self):
        if not os.path.exists(CHROMIUM):
            self.fail("chromium (Debian package chromium) is not installed: "
                      "scripts/install-deps.sh installs it")
        gw = self.start_plant()
        h.wait_until(self.settled, 30, interval=0.2, message=lambda: gw.tail())

        dom = self.chromium("--dump-dom", self.url("/"))
        rows = MeterRows()
        rows.feed(dom)
        self.assertEqual(set(rows.meters), {"heat", "cellar"}, dom[-3000:])
        self.assertEqual(rows.meters["heat"]["health"], "ok")
        self.assertEqual(rows.meters["heat"]["values"], {"energy": "energy=98765",
                                                         "flow": "flow=-12"})
        self.assertEqual(rows.meters["cellar"]["health"], "failing")
        self.assertIn("failing since", rows.meters["cellar"]["health_text"])
        self.assertIn("refused", dom)  # the dead bus's error, on its row and the meter's
        self.assertIn("connected to</span> %s:" % h.HOST, dom)
        self.assertIn('data-bus="plant-bus"', dom)
        self.assertIn('data-bus="dead-bus"', dom)

        shot = self.ws.file("status-page.png")
        self.chromium("--screenshot=%s" % shot, "--window-size=1100,640", self.url("/"))
        with open(shot, "rb") as f:
            png = f.read()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertGreater(len(png), 10000, "an empty screenshot")
        keep = os.environ.get("KAA_STATUS_SCREENSHOT")
        if keep:
            shutil.copyfile(shot, keep)
        self.assertEqual(gw.terminate(), 0, gw.tail())

    def test_json_and_metrics_match_the_socket_and_nothing_else_is_served(self):
        gw = self.start_plant()
        doc = h.wait_until(self.settled, 30, interval=0.2, message=lambda: gw.tail())
        out = h.run([h.gateway_tool(), "status", "--json", "--socket", self.socket], timeout=15)
        self.assertEqual(out.returncode, 0, out.stderr)
        by_socket = json.loads(out.stdout)
        self.assertEqual(by_socket["schema"], doc["schema"])
        self.assertEqual([m["name"] for m in by_socket["meters"]], ["heat", "cellar"])
        self.assertEqual(by_socket["meters"][0]["values"], {"energy": 98765, "flow": -12})
        self.assertEqual(doc["meters"][0]["values"], {"energy": 98765, "flow": -12})

        code, ctype, metrics = self.get("/metrics")
        self.assertEqual(code, 200)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        self.assertIn('kaa_gateway_meter_up{meter="heat",bus="plant-bus"} 1', metrics)
        self.assertIn('kaa_gateway_meter_up{meter="cellar",bus="dead-bus"} 0', metrics)
        self.assertEqual(h.promtool_problems(metrics), "")

        code, ctype, page = self.get("/")
        self.assertEqual(code, 200)
        self.assertEqual(ctype, "text/html; charset=utf-8")
        for method in ("POST", "PUT", "DELETE"):
            code, _, _ = self.get("/", method=method)
            self.assertEqual(code, 405, method)
        self.assertEqual(self.get("/etc/passwd")[0], 404)
        self.assertEqual(self.get("/status.json?x=1")[0], 200)
        self.assertTrue(gw.alive())
        self.assertEqual(gw.terminate(), 0, gw.tail())


if __name__ == "__main__":
    unittest.main()
