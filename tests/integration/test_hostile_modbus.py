"""Broken Modbus TCP replies are refused, never published, and cost no link.

One TCP bus points at tests/support/hostile_modbus_peer.py, one meter per unit: unit 1
answers correctly, units 2..12 each answer with a reply broken in one way (wrong unit,
transaction or protocol id, lying MBAP length, wrong function, invalid exception code,
truncated frame, trailing bytes, 64 KiB of garbage), units 13..23 with each valid
exception code (1..11, each named in the log). A second bus to the simulator carries a
meter that must keep its poll rate.

Hostile connections, one bus each: a peer that accepts and closes at once, one that
resets the connection in the middle of a reply, one that answers one byte a second.
No hang, nothing published from them, each meter's failure named, and the meter on the
other bus keeps its rate.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 500
WINDOW_MS = 6000
REGISTER_BASE = 0x1200  # hostile_modbus_peer.py: unit 1's register N holds this + N

# unit -> how the daemon's log must name what is wrong with its replies
REASONS = {
    2: r"reply for unit 99, asked unit 2",
    3: r"reply with transaction id \d+, sent \d+ \(unit 3\)",
    4: r"protocol id 1 in the reply, not 0 \(unit 4\)",
    5: r"MBAP length 300 but 7 bytes came \(unit 5\)",
    6: r"MBAP length 5 but 7 bytes came \(unit 6\)",
    7: r"reply with function 4, asked function 3 \(unit 7\)",
    8: r"invalid exception code 0 from unit 8",
    9: r"invalid exception code 12 from unit 9",
    10: r"no answer from unit 10 within 300 ms",
    11: r"4 unexpected bytes followed the reply from unit 11",
    12: r"(MBAP length \d+ but \d+ bytes came|unusable reply from unit 12)",
}
EXCEPTION_NAMES = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
                   4: "server device failure", 5: "acknowledge", 6: "server device busy",
                   7: "negative acknowledge", 8: "memory parity error", 9: "unknown exception",
                   10: "gateway path unavailable",
                   11: "gateway target device failed to respond"}
# Units 13-23 answer with the valid exception codes 1-11: named, counted, nothing published.
REASONS.update({12 + code: r"Modbus exception %d \(%s\)" % (code, name)
                for code, name in EXCEPTION_NAMES.items()})
# What a peer does with the whole connection (hostile_modbus_peer.py --connection), and how
# the log must name it for the meter on that bus.
CONNECTIONS = {
    "close": r"tcp 127\.0\.0\.1:\d+ failed: (Connection reset by peer|[^\n]*closed)",
    "reset": r"tcp 127\.0\.0\.1:\d+ failed: (Connection reset by peer|[^\n]*closed)",
    "slow": r"no answer from unit 1 within 300 ms",
}


def hostile_meter(unit):
    return {"name": "hostile-%d" % unit, "token": "tok-hostile-%d" % unit, "bus": "hostile",
            "unit": unit, "poll_interval": "1s", "registers": [
                {"name": "a", "address": 0, "function": "holding", "type": "uint16"},
                {"name": "b", "address": 1, "function": "holding", "type": "uint16"}]}


class HostileModbusTest(h.IntegrationTest):

    def start_peer(self, connection="serve"):
        port_file = self.ws.file("hostile-%s.port" % connection)
        peer = self.track(h.Process([h.PYTHON, str(h.SUPPORT / "hostile_modbus_peer.py"),
                                     "--port-file", port_file, "--connection", connection],
                                    self.ws, "hostile-" + connection).start())
        self._procs.append(peer)
        h.wait_until(lambda: os.path.exists(port_file) or not peer.alive(), 20,
                     message=lambda: "the hostile peer's port file\n" + peer.tail())
        self.assertTrue(peer.alive(), peer.tail())
        with open(port_file) as f:
            return int(f.read())

    def test_broken_replies_are_refused_and_the_good_meters_go_on(self):
        peer_port = self.start_peer()
        broker = self.mosquitto().start()
        self.kpc(broker.port, mode="ok")
        collector = self.collector(broker.port)
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "plain-plant", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 222}]},
            ]},
        ]})
        good_registers = [
            {"name": "h0", "address": 0, "function": "holding", "type": "uint16"},
            {"name": "h1", "address": 1, "function": "holding", "type": "uint16"},
            {"name": "i5", "address": 5, "function": "input", "type": "uint32",
             "byte_order": "ABCD"},
            {"name": "c0", "address": 0, "function": "coil", "type": "bool"},
            {"name": "c1", "address": 1, "function": "coil", "type": "bool"},
            {"name": "c3", "address": 3, "function": "coil", "type": "bool"},
        ]
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "hostile", "tcp": {"host": h.HOST, "port": peer_port},
             "timeout": "300ms", "retries": 1},
            {"name": "plain", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "300ms"},
        ], meters=[
            {"name": "good-meter", "token": "tok-good", "bus": "hostile", "unit": 1,
             "poll_interval": "%dms" % POLL_MS, "registers": good_registers},
            {"name": "plain-meter", "token": "tok-plain", "bus": "plain", "unit": 1,
             "poll_interval": "%dms" % POLL_MS, "registers": [
                 {"name": "count", "address": 0, "function": "holding", "type": "uint16"}]},
        ] + [hostile_meter(unit) for unit in REASONS])
        gw = self.gateway(config)

        # The log names every bad meter and why its replies are refused.
        for unit, reason in REASONS.items():
            gw.wait_for_log(r"\[warning\][^\n]*meter hostile-%d \(unit %d on bus hostile\) is "
                            r"failing: %s" % (unit, unit, reason), 30)

        first = h.wait_until(lambda: collector.samples("tok-plain"), 15,
                             message=lambda: "a first plain sample\n" + self.logs())
        start_ms = first[0]["timestamp"]

        def window_done():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            return all(any(s["timestamp"] >= start_ms + WINDOW_MS for s in collector.samples(t))
                       for t in ("tok-plain", "tok-good"))

        h.wait_until(window_done, WINDOW_MS / 1000 + 20,
                     message=lambda: "good and plain samples past the %d ms window\n%s"
                     % (WINDOW_MS, self.logs()))
        self.assertTrue(gw.alive(), gw.tail())

        # The meter on the other bus keeps its rate.
        plain = h.unique_by_timestamp(collector.samples("tok-plain"))
        in_window = [s for s in plain if start_ms <= s["timestamp"] < start_ms + WINDOW_MS]
        expected = WINDOW_MS // POLL_MS
        self.assertGreaterEqual(len(in_window), int(0.8 * expected + 0.999),
                                "plain meter: %d samples in %d ms at poll_interval %d ms"
                                % (len(in_window), WINDOW_MS, POLL_MS))
        for s in plain:
            self.assertEqual(s.get("count"), 222, s)

        # Unit 1's values arrive exactly as served, in every sample.
        good = collector.samples("tok-good")
        self.assertTrue(good)
        expected_good = {"h0": REGISTER_BASE, "h1": REGISTER_BASE + 1,
                         "i5": ((REGISTER_BASE + 5) << 16) | (REGISTER_BASE + 6),
                         "c0": True, "c1": False, "c3": True}
        for s in good:
            self.assertEqual({k: s.get(k) for k in expected_good}, expected_good, s)

        # Nothing at all is published for a meter whose every reply is broken.
        for unit in REASONS:
            self.assertEqual(collector.samples("tok-hostile-%d" % unit), [],
                             "hostile-%d published a sample" % unit)

        # A broken reply is the meter's fault, not the link's.
        lost = re.findall(r"^.*bus hostile lost its link.*$", gw.stderr(), re.MULTILINE)
        self.assertEqual(lost, [], "a bad reply was taken for a lost link")
        bad = re.findall(r"^.*\[(?:warning|error)\][^\n]*(?:good|plain)-meter.*$", gw.stderr(),
                         re.MULTILINE)
        self.assertEqual(bad, [], "a good meter reported as failing")

        self.assertEqual(gw.terminate(), 0, gw.tail())

    def test_hostile_connections_cost_no_hang_and_the_other_bus_keeps_its_rate(self):
        ports = {mode: self.start_peer(mode) for mode in CONNECTIONS}
        broker = self.mosquitto().start()
        self.kpc(broker.port, mode="ok")
        collector = self.collector(broker.port)
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "plain-plant", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 333}]},
            ]},
        ]})
        buses = [{"name": "conn-%s" % mode, "tcp": {"host": h.HOST, "port": port},
                  "timeout": "300ms", "retries": 1} for mode, port in ports.items()]
        meters = [{"name": "conn-%s" % mode, "token": "tok-conn-%s" % mode, "bus": "conn-%s" % mode,
                   "unit": 1, "poll_interval": "%dms" % POLL_MS, "registers": [
                       {"name": "a", "address": 0, "function": "holding", "type": "uint16"}]}
                  for mode in CONNECTIONS]
        config = h.gateway_config(self.ws, broker.port, buses=buses + [
            {"name": "plain", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "300ms"},
        ], meters=meters + [
            {"name": "plain-meter", "token": "tok-plain", "bus": "plain", "unit": 1,
             "poll_interval": "%dms" % POLL_MS, "registers": [
                 {"name": "count", "address": 0, "function": "holding", "type": "uint16"}]}])
        gw = self.gateway(config)
        for mode, reason in CONNECTIONS.items():
            gw.wait_for_log(r"meter conn-%s \(unit 1 on bus conn-%s\) is failing: [^\n]*%s"
                            % (mode, mode, reason), 30)
        first = h.wait_until(lambda: collector.samples("tok-plain"), 15,
                             message=lambda: "a first plain sample\n" + self.logs())
        start_ms = first[0]["timestamp"]
        h.wait_until(lambda: any(s["timestamp"] >= start_ms + WINDOW_MS
                                 for s in collector.samples("tok-plain")),
                     WINDOW_MS / 1000 + 20, message=lambda: "plain samples past the window")
        self.assertTrue(gw.alive(), gw.tail())
        plain = h.unique_by_timestamp(collector.samples("tok-plain"))
        in_window = [s for s in plain if start_ms <= s["timestamp"] < start_ms + WINDOW_MS]
        self.assertGreaterEqual(len(in_window), int(0.8 * (WINDOW_MS // POLL_MS) + 0.999))
        for s in plain:
            self.assertEqual(s.get("count"), 333, s)
        for mode in CONNECTIONS:
            self.assertEqual(collector.samples("tok-conn-%s" % mode), [],
                             "conn-%s published a sample" % mode)
        for mode in ("close", "reset"):
            self.assertRegex(gw.stderr(), r"bus conn-%s lost its link \(tcp 127\.0\.0\.1:%d\); "
                             r"reopening" % (mode, ports[mode]))
        self.assertEqual(gw.terminate(), 0, gw.tail())


if __name__ == "__main__":
    unittest.main()
