"""An independent Modbus implementation as the peer: a pymodbus 3.0 TCP server.

The register words are encoded here with struct (not by the gateway's codec), served
by pymodbus, read by kaa-gatewayd and must come out of MQTT as the original values.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

TOKEN = "pymodbus-peer-01"

# name, function, address, type, byte order, value
REGISTERS = [
    ("u16", "holding", 0, "uint16", "ABCD", 54321),
    ("i16", "holding", 1, "int16", "ABCD", -1234),
    ("f32_abcd", "holding", 10, "float32", "ABCD", 230.5),
    ("f32_cdab", "holding", 20, "float32", "CDAB", 229.7),
    ("u32", "input", 0, "uint32", "ABCD", 3000000000),
    ("i32_cdab", "input", 4, "int32", "CDAB", -100000),
    ("relay_on", "coil", 5, "bool", None, True),
    ("relay_off", "coil", 6, "bool", None, False),
]
TABLES = {"holding": "holding", "input": "input", "coil": "coils", "discrete": "discrete"}


def register_map():
    mapping = {"holding": {}, "input": {}, "coils": {}, "discrete": {},
               # distinct filler words next to every value; coils default to ON so that
               # relay_off (coil 6) read one address off would show True.
               "filler": {"holding": 0x5A00, "input": 0x5B00, "coils": True, "discrete": False}}
    for name, function, address, type_, order, value in REGISTERS:
        table = mapping[TABLES[function]]
        if type_ == "bool":
            table[str(address)] = value
        else:
            for i, word in enumerate(h.words_of(value, type_, order)):
                table[str(address + i)] = word
    return mapping


class PymodbusPeerTest(h.IntegrationTest):

    def test_values_served_by_pymodbus_arrive_unchanged(self):
        mapping = register_map()
        map_path = self.ws.write("pymodbus-map.json", json.dumps(mapping, indent=1))
        server = self.track(h.Process([h.PYTHON, str(h.SUPPORT / "pymodbus_server.py"),
                                       "--map", map_path], self.ws, "pymodbus").start())
        port = int(server.wait_for_log(r"pymodbus: serving on 127\.0\.0\.1:(\d+)", 20).group(1))

        # The peer serves what we think at the wire addresses (hand-built Modbus frames).
        self.assertEqual(h.raw_modbus_read(port, 1, 3, 0, 2), [54321, 0xFB2E])
        self.assertEqual(h.raw_modbus_read(port, 1, 3, 20, 2), h.words_of(229.7, "float32", "CDAB"))
        self.assertEqual(h.raw_modbus_read(port, 1, 4, 0, 2), [0xB2D0, 0x5E00])
        self.assertEqual(h.raw_modbus_read(port, 1, 1, 4, 4), [True, True, False, True])

        broker = self.mosquitto().start()
        self.kpc(broker.port, mode="ok")
        collector = self.collector(broker.port)
        regs = []
        for name, function, address, type_, order, _ in REGISTERS:
            reg = {"name": name, "address": address, "function": function, "type": type_}
            if order:
                reg["byte_order"] = order
            regs.append(reg)
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "pymodbus", "tcp": {"host": h.HOST, "port": port}, "timeout": "1s"},
        ], meters=[
            {"name": "peer-meter", "token": TOKEN, "bus": "pymodbus", "unit": 1,
             "poll_interval": "500ms", "registers": regs},
        ])
        t0_ms = h.now_ms()
        gw = self.gateway(config)
        h.wait_until(lambda: len(collector.samples(TOKEN)) >= 3 or not gw.alive(), 20,
                     message=lambda: "3 samples from %s\n%s" % (TOKEN, self.logs()))
        self.assertTrue(gw.alive(), gw.tail())
        t1_ms = h.now_ms()

        expected = {"u16": 54321, "i16": -1234, "f32_abcd": 230.5, "f32_cdab": 229.7,
                    "u32": 3000000000, "i32_cdab": -100000, "relay_on": True, "relay_off": False}
        for topic in {m.topic for m in collector.dcx(TOKEN)}:
            self.assertRegex(topic, r"^kp1/demo_application_v1/dcx/%s/json/[1-9][0-9]*$" % TOKEN)
        samples = collector.samples(TOKEN)
        self.assertGreaterEqual(len(samples), 3)
        for s in samples:
            self.assertEqual(set(s), {"timestamp"} | set(expected), s)
            self.assertTrue(t0_ms <= s["timestamp"] <= t1_ms, s)
            wrong = {k: s[k] for k, v in expected.items() if not h.same_value(v, s[k])}
            self.assertEqual(wrong, {}, "values differing from what pymodbus serves "
                             "(expected %r)" % expected)
        self.assertEqual(gw.terminate(), 0, gw.tail())


if __name__ == "__main__":
    unittest.main()
