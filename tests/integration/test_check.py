"""kaa-gatewayd --check: validates a config, shows the read plan, reports every error.

  * the reference config (config/reference.yaml) is valid (exit 0) and its meter's plan is printed;
  * a config with several buses/meters prints each meter's requests per poll;
  * a config with three distinct errors prints all three as file:line:column: message
    and exits 78 (EX_CONFIG).
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

EX_CONFIG = 78

# Line numbers matter below: keep this text exactly as it is.
BROKEN = """\
kaa:
  host: 127.0.0.1
  port: 1883
  app_version: demo_application_v1
buffer:
  path: {buffer}
buses:
  - name: plant
    tcp:
      host: 127.0.0.1
      port: 5020
meters:
  - name: typo-meter
    token: meter-typo
    bus: plant
    unit: 1
    polll_interval: 10s
    registers:
      - name: voltage
        address: 0
        function: input
        type: float32
  - name: slash-meter
    token: a/b
    bus: plant
    unit: 2
    registers:
      - name: voltage
        address: 0
        function: input
        type: float32
  - name: orphan-meter
    token: meter-orphan
    bus: nosuchbus
    unit: 3
    registers:
      - name: voltage
        address: 0
        function: input
        type: float32
"""
# (line, key column, value column, words the message must contain)
ERRORS = {
    "unknown key": (17, 5, 21, ["polll_interval", "poll_interval"]),
    "bad token": (24, 5, 12, ["a/b", "slash-meter"]),
    "undefined bus": (34, 5, 10, ["nosuchbus", "orphan-meter"]),
}

PLAN = {
    "kaa": {"host": "127.0.0.1", "port": 1883, "app_version": "demo_application_v1"},
    "buses": [
        {"name": "line-a", "rtu": {"device": "/dev/ttyUSB7", "baud": 9600, "parity": "even",
                                   "data_bits": 8, "stop_bits": 1}, "timeout": "300ms"},
        {"name": "plant", "tcp": {"host": "127.0.0.1", "port": 5020}},
    ],
    "meters": [
        # holding 0..1 and 5: 3 unused registers between them (< max_gap 8) -> one read;
        # input -> a second read; coil -> a third.
        {"name": "merged-meter", "token": "tok-merged", "bus": "line-a", "unit": 4,
         "poll_interval": "5s", "registers": [
             {"name": "u", "address": 0, "function": "holding", "type": "uint32"},
             {"name": "v", "address": 5, "function": "holding", "type": "uint16"},
             {"name": "w", "address": 0, "function": "input", "type": "float32"},
             {"name": "relay", "address": 3, "function": "coil", "type": "bool"}]},
        # holding 0 and 100: too far apart to merge -> two reads.
        {"name": "split-meter", "token": "tok-split", "bus": "plant", "unit": 9,
         "poll_interval": "30s", "registers": [
             {"name": "a", "address": 0, "function": "holding", "type": "uint16"},
             {"name": "b", "address": 100, "function": "holding", "type": "uint16"}]},
    ],
}


class CheckTest(h.IntegrationTest):

    def test_reference_config_is_valid(self):
        path = h.REPO / "config" / "reference.yaml"
        self.assertTrue(path.is_file(), path)
        r = h.run([h.gatewayd(), "--check", "--config", path])
        self.assertEqual(r.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        out = r.stdout + r.stderr
        # voltage (input 0..1) and energy_total (input 342..343) are too far apart to merge.
        self.assertRegex(out, re.compile(
            r"^\s*meter main-meter \(unit 1, every 10s, token meter-001\): 2 requests per poll(?: .*)?$",
            re.MULTILINE))
        self.assertRegex(out, "rs485-1")

    def test_plan_shows_requests_per_poll_for_each_meter(self):
        config = dict(PLAN, buffer={"path": str(self.ws.file("buffer.db"))})
        path = self.ws.write_yaml("plan.yaml", config)
        r = h.run([h.gatewayd(), "--check", "--config", path])
        self.assertEqual(r.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        out = r.stdout + r.stderr
        self.assertRegex(out, re.compile(
            r"^\s*meter merged-meter \(unit 4, every 5s, token tok-merged\): 3 requests per poll(?: .*)?$",
            re.MULTILINE))
        self.assertRegex(out, re.compile(
            r"^\s*meter split-meter \(unit 9, every 30s, token tok-split\): 2 requests per poll(?: .*)?$",
            re.MULTILINE))
        # Per bus: the RTU meter is listed under line-a, the TCP one under plant.
        lines = out.splitlines()
        merged = next(i for i, l in enumerate(lines) if "meter merged-meter" in l)
        split = next(i for i, l in enumerate(lines) if "meter split-meter" in l)
        self.assertTrue(any("line-a" in l for l in lines[:merged]), out)
        between = lines[merged + 1:split] if merged < split else lines[:split]
        self.assertTrue(any("plant" in l for l in between), out)

    def test_a_bus_that_cannot_fit_its_poll_intervals_is_an_error(self):
        # 2 x 125 registers every 500 ms at 1200 baud: each read is 8 + 255 characters of
        # 11 bits (even parity) = 2.41 s of line time, so the meter needs ~966% of the bus.
        config = {
            "kaa": {"host": "127.0.0.1", "port": 1883, "app_version": "demo_application_v1"},
            "buffer": {"path": str(self.ws.file("buffer.db"))},
            "buses": [{"name": "slow-line", "rtu": {"device": "/dev/ttyUSB9", "baud": 1200,
                                                    "parity": "even"}}],
            "meters": [{"name": "greedy", "token": "tok-greedy", "bus": "slow-line",
                        "poll_interval": "500ms", "registers": [
                            {"name": "block_a", "address": 0, "type": "string", "length": 120},
                            {"name": "block_b", "address": 120, "type": "string",
                             "length": 120}]}],
        }
        path = self.ws.write_yaml("slow.yaml", config)
        r = h.run([h.gatewayd(), "--check", "--config", path])
        self.assertEqual(r.returncode, EX_CONFIG, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        self.assertRegex(r.stderr, re.compile(
            r"^.*slow\.yaml:\d+:\d+: bus slow-line cannot fit its poll intervals: its meters need "
            r"9\d\d% of the line's time \(greedy needs \d+\.\d ms every 500ms\)", re.MULTILINE))
        self.assertRegex(r.stdout, r"estimated bus time: \d+\.\d ms to poll every meter once")

    def test_broken_config_reports_every_error_with_location(self):
        path = self.ws.write("broken.yaml", BROKEN.format(buffer=self.ws.file("buffer.db")))
        lines = BROKEN.splitlines()
        # Guard the fixture itself: the expected locations point at the faulty text.
        self.assertEqual(lines[17 - 1].index("polll_interval") + 1, 5)
        self.assertEqual(lines[24 - 1].index("a/b") + 1, 12)
        self.assertEqual(lines[34 - 1].index("nosuchbus") + 1, 10)

        r = h.run([h.gatewayd(), "--check", "--config", path])
        self.assertEqual(r.returncode, EX_CONFIG,
                         "exit code; stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        located = [(l, c, msg) for l, c, msg in
                   re.findall(r"^%s:(\d+):(\d+): (.+)$" % re.escape(path), r.stderr, re.MULTILINE)
                   if not msg.endswith("(warning)")]
        self.assertEqual(len(located), 3, "want exactly 3 located errors, stderr:\n" + r.stderr)
        for what, (line, key_col, value_col, words) in ERRORS.items():
            hits = [(int(c), msg) for l, c, msg in located if int(l) == line]
            self.assertEqual(len(hits), 1, "%s: one error on line %d; stderr:\n%s" % (what, line, r.stderr))
            col, msg = hits[0]
            self.assertIn(col, (key_col, value_col), "%s: column; stderr:\n%s" % (what, r.stderr))
            for w in words:
                self.assertIn(w, msg, "%s: message should mention %r" % (what, w))


if __name__ == "__main__":
    unittest.main()
