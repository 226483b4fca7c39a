"""End to end: simulator (TCP + RTU over a socat pty pair) -> kaa-gatewayd -> mosquitto -> KPC stand-in.

The TCP unit holds a register of every type in every byte order (constant values);
the RTU line carries two units. Every topic, every decoded value, the metadata
payloads and the sample timestamps are checked exactly.
"""

import os
import re
import statistics
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402


def merged(payloads):
    """The metadata Kaa holds after these partial updates (update/keys), in order."""
    out = {}
    for p in payloads:
        if isinstance(p, dict):
            out.update(p)
    return out

OBSERVE_RE = re.compile(r"^kp1/([^/]+)/cex/([^/]+)/command/read/([^/]+)$")

APP = "demo_application_v1"
ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")

# One distinct value per byte order, so a mixed-up address or order cannot pass.
VALUES = {
    "int16": [-12345, 31000, -2, 1234],
    "uint16": [54321, 65535, 258, 4660],
    "int32": [-123456789, 2147483647, -2, 16909060],
    "uint32": [3000000000, 4294967295, 16909060, 305419896],
    "int64": [-1234567890123456789, 9223372036854775807, -9223372036854775808, 72623859790382856],
    "uint64": [12345678901234567890, 18446744073709551615, 1, 72623859790382856],
    "float32": [230.5, 229.7, -0.15625, 1013.25],
    "float64": [12345.6789012345, -2.5e-300, 3.141592653589793, 1e300],
    "string": ["KAA-GW-01", "Line 3  ", "abcdefghij", "Z"],
}
SIZES = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "int64": 4, "uint64": 4,
         "float32": 2, "float64": 4, "string": 5}


def expected_value(reg):
    """What the gateway must publish for a register spec."""
    t, v = reg["type"], reg["value"]
    if "scale" in reg or "offset" in reg:
        return h.scaled(v, reg.get("scale", 1.0), reg.get("offset", 0.0))
    if t == "float32":
        return h.float32_published(v)
    if t == "string":
        return v.rstrip("\0 ")
    return v


def sim_register(reg):
    out = {"address": reg["address"], "function": reg["function"], "type": reg["type"]}
    if "byte_order" in reg:
        out["byte_order"] = reg["byte_order"]
    if reg["type"] == "string":
        out["length"] = reg["length"]
    out["value"] = reg["value"]
    return out


def gw_register(reg):
    out = {"name": reg["name"], "address": reg["address"], "function": reg["function"],
           "type": reg["type"]}
    for key in ("byte_order", "length", "scale", "offset"):
        if key in reg:
            out[key] = reg[key]
    if reg["type"] != "string":
        out.pop("length", None)
    return out


def all_types_registers():
    """Every non-bit type x every byte order; ABCD/BADC in holding, CDAB/DCBA in input registers."""
    regs = []
    next_addr = {"holding": 0, "input": 0}
    for i, order in enumerate(ORDERS):
        function = "holding" if order in ("ABCD", "BADC") else "input"
        for t in VALUES:
            reg = {"name": "%s_%s" % (t, order.lower()), "address": next_addr[function],
                   "function": function, "type": t, "byte_order": order, "value": VALUES[t][i]}
            if t == "string":
                reg["length"] = SIZES[t]
            regs.append(reg)
            next_addr[function] += SIZES[t] + 2  # small gaps: the planner may merge across them
    regs += [
        {"name": "coil_on", "address": 0, "function": "coil", "type": "bool", "value": True},
        {"name": "coil_off", "address": 1, "function": "coil", "type": "bool", "value": False},
        {"name": "coil_far", "address": 37, "function": "coil", "type": "bool", "value": True},
        {"name": "discrete_off", "address": 0, "function": "discrete", "type": "bool",
         "value": False},
        {"name": "discrete_on", "address": 3, "function": "discrete", "type": "bool",
         "value": True},
        {"name": "voltage_scaled", "address": 200, "function": "holding", "type": "uint16",
         "value": 2305, "scale": 0.1},
        {"name": "temp_scaled", "address": 202, "function": "holding", "type": "int16",
         "value": -400, "scale": 0.01, "offset": 273.15},
    ]
    return regs


TCP_SERIAL = {"name": "serial_number", "address": 300, "function": "holding", "type": "string",
              "length": 5, "value": "SN-000042"}
RTU1_FW = {"name": "fw_version", "address": 100, "function": "holding", "type": "uint32",
           "byte_order": "ABCD", "value": 20240501}

RTU1_REGS = [
    {"name": "energy_wh", "address": 0, "function": "holding", "type": "uint32",
     "byte_order": "CDAB", "value": 123456789},
    {"name": "power_w", "address": 0, "function": "input", "type": "float32",
     "byte_order": "BADC", "value": -1520.25},
    {"name": "freq_hz", "address": 10, "function": "holding", "type": "uint16",
     "value": 4998, "scale": 0.01},
    {"name": "relay", "address": 3, "function": "coil", "type": "bool", "value": True},
]
RTU2_REGS = [
    {"name": "temp_c", "address": 5, "function": "input", "type": "int16",
     "byte_order": "ABCD", "value": -215, "scale": 0.1},
    {"name": "counter", "address": 0, "function": "holding", "type": "uint64",
     "byte_order": "DCBA", "value": 9007199254740993},
    {"name": "label", "address": 8, "function": "holding", "type": "string",
     "byte_order": "BADC", "length": 4, "value": "Bay 7"},
    {"name": "alarm", "address": 1, "function": "discrete", "type": "bool", "value": False},
    {"name": "cos_phi", "address": 0, "function": "input", "type": "float64",
     "byte_order": "CDAB", "value": 0.987654321},
]

TOKENS = {"tcp-meter": "tok-tcp-all", "rtu-meter-1": "tok-rtu-1", "rtu-meter-2": "tok-rtu-2"}
POLL_MS = 500


class EndToEndTest(h.IntegrationTest):

    def test_every_type_and_byte_order_over_tcp_and_rtu(self):
        tcp_regs = all_types_registers()
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode="ok")
        collector = self.collector(broker.port)
        pair = self.socat_pair("rs485")
        sim_port = h.free_port()

        self.simulator({"servers": [
            {"name": "tcp-sim", "tcp": {"host": h.HOST, "port": sim_port},
             "units": [{"unit": 1,
                        "registers": [sim_register(r) for r in tcp_regs + [TCP_SERIAL]]}]},
            {"name": "rtu-sim",
             "rtu": {"device": pair.a, "baud": 19200, "parity": "none", "data_bits": 8,
                     "stop_bits": 1},
             "units": [{"unit": 1, "registers": [sim_register(r) for r in RTU1_REGS + [RTU1_FW]]},
                       {"unit": 2, "registers": [sim_register(r) for r in RTU2_REGS]}]},
        ]})

        metadata = {
            "tok-tcp-all": {"model": "SimMeter X1", "mac": "00-14-22-01-23-45",
                            "serial_number": "SN-000042"},
            "tok-rtu-1": {"model": "RTU Sim A", "fw_version": 20240501},
            "tok-rtu-2": {"model": "RTU Sim B", "location": "Bay 7"},
        }
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "plant-tcp", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"},
            {"name": "rs485-it",
             "rtu": {"device": pair.b, "baud": 19200, "parity": "none", "data_bits": 8,
                     "stop_bits": 1},
             "timeout": "500ms", "retries": 1, "inter_request_delay": "5ms"},
        ], meters=[
            {"name": "tcp-meter", "token": "tok-tcp-all", "bus": "plant-tcp", "unit": 1,
             "poll_interval": "500ms",
             "metadata": {"model": "SimMeter X1", "mac": "00-14-22-01-23-45"},
             "metadata_registers": [gw_register(TCP_SERIAL)],
             "registers": [gw_register(r) for r in tcp_regs]},
            {"name": "rtu-meter-1", "token": "tok-rtu-1", "bus": "rs485-it", "unit": 1,
             "poll_interval": "500ms", "metadata": {"model": "RTU Sim A"},
             "metadata_registers": [gw_register(RTU1_FW)],
             "registers": [gw_register(r) for r in RTU1_REGS]},
            {"name": "rtu-meter-2", "token": "tok-rtu-2", "bus": "rs485-it", "unit": 2,
             "poll_interval": "500ms", "metadata": {"model": "RTU Sim B", "location": "Bay 7"},
             "registers": [gw_register(r) for r in RTU2_REGS]},
        ])
        registers = {"tok-tcp-all": tcp_regs, "tok-rtu-1": RTU1_REGS, "tok-rtu-2": RTU2_REGS}

        t0_ms = h.now_ms()
        gw = self.gateway(config)

        def enough():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            return all(len(collector.samples(t)) >= 5 and merged(collector.metadata(t)) == metadata[t]
                       for t in registers)

        h.wait_until(enough, 25, message=lambda: "5 samples and complete metadata per token; have %s\n%s" % (
            {t: (len(collector.samples(t)), collector.metadata(t)) for t in registers},
            self.logs()))
        t1_ms = h.now_ms()
        requests = collector.requests()

        # Topics: only dcx/json, epmx/update/keys and, after connecting, the requests for
        # pending commands (cex/<token>/command/<type>), with a positive request id and
        # known tokens.
        for m in requests:
            dcx, epmx = h.DCX_RE.match(m.topic), h.EPMX_RE.match(m.topic)
            observe = OBSERVE_RE.match(m.topic)
            if observe:
                self.assertEqual(m.payload, b'{"observe":true}', m.topic)
            match = dcx or epmx or observe
            self.assertIsNotNone(match, "unexpected topic %r" % m.topic)
            self.assertEqual(match.group(1), APP, m.topic)
            self.assertIn(match.group(2), registers, m.topic)
            self.assertRegex(match.group(3), r"^[1-9][0-9]*$", m.topic)
            self.assertLessEqual(int(match.group(3)), 2**31 - 1, m.topic)

        problems = []
        for token, regs in registers.items():
            samples = h.samples_of([m for m in requests if h.DCX_RE.match(m.topic)
                                    and h.DCX_RE.match(m.topic).group(2) == token])
            self.assertGreaterEqual(len(samples), 5, token)
            names = {"timestamp"} | {r["name"] for r in regs}
            stamps = []
            for s in samples:
                self.assertIsInstance(s, dict, "%s: sample %r" % (token, s))
                self.assertEqual(set(s), names, "%s: sample keys" % token)
                ts = s["timestamp"]
                self.assertIsInstance(ts, int, "%s: timestamp %r" % (token, ts))
                self.assertGreaterEqual(ts, t0_ms, "%s: timestamp before the gateway started" % token)
                self.assertLessEqual(ts, t1_ms, "%s: timestamp after the samples arrived" % token)
                stamps.append(ts)
                for r in regs:
                    want, got = expected_value(r), s[r["name"]]
                    if not h.same_value(want, got):
                        problems.append("%s %s (%s %s @%s %s): want %r, got %r" % (
                            token, r["name"], r["type"], r.get("byte_order", "-"), r["function"],
                            r["address"], want, got))
            self.assertEqual(stamps, sorted(set(stamps)),
                             "%s: timestamps not strictly increasing: %s" % (token, stamps))
            spacing = statistics.median(b - a for a, b in zip(stamps, stamps[1:]))
            self.assertTrue(0.8 * POLL_MS <= spacing <= 1.2 * POLL_MS,
                            "%s: median sample spacing %s ms for poll_interval %d ms: %s"
                            % (token, spacing, POLL_MS, stamps))

            published = [m.json() for m in requests if h.EPMX_RE.match(m.topic)
                         and h.EPMX_RE.match(m.topic).group(2) == token]
            self.assertGreaterEqual(len(published), 1, token)
            # The gateway may publish the static keys before the metadata registers are
            # read, and sends only keys that changed (update/keys is a partial update):
            # every payload carries only right keys with right values, and together they
            # make the complete object.
            for payload in published:
                self.assertIsInstance(payload, dict, token)
                extra = {k: v for k, v in payload.items()
                         if k not in metadata[token] or not h.same_value(metadata[token][k], v)}
                self.assertEqual(extra, {}, "%s: wrong metadata keys/values in %r" % (token, payload))
            self.assertEqual(merged(published), metadata[token], "%s: metadata incomplete" % token)

        self.assertEqual(problems, [], "wrong values:\n  " + "\n  ".join(sorted(set(problems))))

        # The stand-in answered what it got; nothing else was published on kp1/.
        h.wait_until(lambda: kpc.answered >= len(requests), 5,
                     message=lambda: "KPC answers %d of %d" % (kpc.answered, len(requests)))
        self.assertEqual(gw.terminate(), 0, "kaa-gatewayd exit code after SIGTERM\n" + gw.tail())


if __name__ == "__main__":
    unittest.main()
