"""`kaa-gateway read` and `scan` against an independent Modbus peer (issue 11, done-when 2).

A pymodbus 3.0 server serves units 2 and 7, over Modbus TCP and, in a second test, over
RTU on one end of a socat pty pair at 9600 baud. Unit 2 holds known values, encoded here with
struct (tests/support/modbus_values.py), not by the gateway's codec: a uint16, an int16, a
float32 and a uint32 in each of ABCD/CDAB/BADC/DCBA, a uint64, a float64 and a string.

`read` must print each value's decoding on the line of its address and byte order; a read
past the served registers exits 1 naming "illegal data address"; a silent unit exits 1 naming
the timeout. `scan --units 1-10` finds exactly units 2 and 7, and names the profile whose
fingerprint unit 7 answers. Silent units cost their timeout (200 ms), so a scan of ten units
takes about two seconds.

Units pymodbus does not serve are silent on both transports (this pymodbus answers no
exception for them), so the absent units of a scan cost their timeouts. A Modbus TCP gateway
that answers exception 10 or 11 for a silent unit instead is covered by the unit tests.
"""

import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

UNITS = (2, 7)
TIMEOUT_MS = 200
BAUD = 9600
ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
FLOAT32 = 229.75
UINT32 = 3000000000
UINT64 = 1234567890123456789
FLOAT64 = 12345.678
TEXT = "KAA-2"
UNIT7_WORD = 7777

# address -> (type, byte order, value) on unit 2's holding registers.
UNIT2 = {0: ("uint16", "ABCD", 54321), 1: ("int16", "ABCD", -1234),
         30: ("uint64", "ABCD", UINT64), 34: ("float64", "CDAB", FLOAT64)}
for i, order in enumerate(ORDERS):
    UNIT2[10 + 2 * i] = ("float32", order, FLOAT32)
    UNIT2[20 + 2 * i] = ("uint32", order, UINT32)

PROFILE = ("profile: {id: acme-seven, maker: Acme, model: Seven, kind: electricity}\n"
           "registers:\n  - {name: power_w, address: 0, function: holding, type: uint16}\n"
           "fingerprint:\n  - {address: 0, function: holding, type: uint16, one_of: [%d]}\n"
           % UNIT7_WORD)


def pymodbus_map():
    unit2 = {}
    for address, (type_, order, value) in UNIT2.items():
        for i, word in enumerate(h.words_of(value, type_, order)):
            unit2[str(address + i)] = word
    for i, word in enumerate(h.words_of(TEXT, "string", length=4)):
        unit2[str(40 + i)] = word
    return {"units": {"2": {"holding": unit2}, "7": {"holding": {"0": UNIT7_WORD}}}}


def u32_i32(words):
    u = (words[0] << 16) | words[1]
    return u, u - (1 << 32) if u >= 1 << 31 else u


def line_32(address, order, words, value=None):
    """The 32-bit table's line for the pair at `address` in `order`: the uint32 and int32 of
    the words as that order reads them, and the float32 column when the value is known."""
    ordered = list(words)
    if order in ("CDAB", "DCBA"):
        ordered = ordered[::-1]
    if order in ("BADC", "DCBA"):
        ordered = [((w & 0xFF) << 8) | (w >> 8) for w in ordered]
    u, i = u32_i32(ordered)
    tail = re.escape(repr(value)) if value is not None else r"\S+"
    return r"(?m)^\s*%d  %s\s+%d\s+%d  %s$" % (address, order, u, i, tail)


class CommissioningTest(h.IntegrationTest):

    def tool(self, *args, env=None):
        run_env = dict(os.environ)
        run_env.update(env or {})
        return subprocess.run([h.gateway_tool()] + [str(a) for a in args], capture_output=True,
                              text=True, timeout=60, env=run_env)

    def start_pymodbus(self, rtu_device=None):
        map_path = self.ws.write("pymodbus-map.json", json.dumps(pymodbus_map()))
        argv = [h.PYTHON, str(h.SUPPORT / "pymodbus_server.py"), "--map", map_path]
        if rtu_device:
            argv += ["--rtu", rtu_device, "--baud", str(BAUD)]
        peer = self.track(h.Process(argv, self.ws, "pymodbus").start())
        self._procs.append(peer)
        if rtu_device:
            peer.wait_for_log(r"pymodbus: serving rtu on", 20)
            return None
        return int(peer.wait_for_log(r"pymodbus: serving on 127\.0\.0\.1:(\d+)", 20).group(1))

    def check_read_and_scan(self, link, link_text):
        """The checks both transports share; `link` is the tool's --tcp/--rtu arguments."""
        whole = self.tool("read", *link, "--unit", 2, "--address", 0, "--count", 44)
        self.assertEqual(whole.returncode, 0, whole.stderr)
        out = whole.stdout
        self.assertIn("%s unit 2: holding 0..43 (44 registers)\n" % link_text, out)
        self.assertRegex(out, r"(?m)^      0  0xD431   54321  -11215$")
        self.assertRegex(out, r"(?m)^      1  0xFB2E   64302   -1234$")
        for address, (type_, order, value) in UNIT2.items():
            words = h.words_of(value, type_, order)
            if type_ == "float32":
                self.assertRegex(out, line_32(address, order, words, value), (address, order))
            elif type_ == "uint32":
                self.assertRegex(out, line_32(address, order, words), (address, order))
        self.assertRegex(out, r"(?m)^\s*30  ABCD\s+%d\s+%d  \S+$" % (UINT64, UINT64))
        self.assertRegex(out, r"(?m)^\s*34  CDAB\s+\d+\s+-?\d+  %s$" % re.escape(repr(FLOAT64)))

        text = self.tool("read", *link, "--unit", 2, "--address", 40, "--count", 4)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn('as a string (2 characters per register, high byte first): '
                      '"KAA-2\\x00\\x00\\x00"\n', text.stdout)

        seven = self.tool("read", *link, "--unit", 7, "--address", 0)
        self.assertEqual(seven.returncode, 0, seven.stderr)
        self.assertRegex(seven.stdout, r"(?m)^      0  0x1E61    7777    7777$")

        hole = self.tool("read", *link, "--unit", 2, "--address", 300, "--count", 2)
        self.assertEqual(hole.returncode, 1, hole.stdout + hole.stderr)
        self.assertIn("Modbus exception 2 (illegal data address)", hole.stderr)

        profiles = self.ws.file("profiles")
        profiles.mkdir(exist_ok=True)
        (profiles / "acme-seven.yaml").write_text(PROFILE)
        scan = self.tool("scan", *link, "--units", "1-10", "--timeout-ms", TIMEOUT_MS,
                         env={"KAA_PROFILE_DIRS": str(profiles)})
        self.assertEqual(scan.returncode, 0, scan.stdout + scan.stderr)
        lines = scan.stdout.splitlines()
        self.assertRegex(lines[0], r"^scanning units 1-10 (on tcp 127\.0\.0\.1:\d+|at 9600 baud): "
                                   r"at most [23] s \(200 ms for each unit that does not answer\)$")
        found = {int(m.group(1)): m.group(2)
                 for m in re.finditer(r"(?m)^unit (\d+): (.*)$", scan.stdout)}
        self.assertEqual(set(found), set(UNITS), scan.stdout)
        self.assertEqual(found[2], "registers")
        self.assertEqual(found[7], "registers; may be acme-seven (Acme Seven)")
        self.assertEqual(lines[-1], "2 units answered: 2, 7")
        # Not a terminal: a progress line after the tenth unit, on stderr.
        self.assertIn("scanned 10 of 10 units (last 10), 2 answered", scan.stderr)

        none = self.tool("scan", *link, "--units", "3-5", "--timeout-ms", TIMEOUT_MS)
        self.assertEqual(none.returncode, 1, none.stdout + none.stderr)
        self.assertEqual(none.stdout.splitlines()[-1], "no unit of 3-5 answered")

        usage = self.tool("scan", *link, "--units", "0-3")
        self.assertEqual(usage.returncode, 2)
        self.assertIn("'0' is not a unit id 1..247", usage.stderr)

    def test_read_and_scan_over_tcp(self):
        port = self.start_pymodbus()
        peer = "%s:%d" % (h.HOST, port)
        self.check_read_and_scan(["--tcp", peer], "tcp " + peer)

        silent = self.tool("read", "--tcp", peer, "--unit", 9, "--timeout-ms", TIMEOUT_MS)
        self.assertEqual(silent.returncode, 1, silent.stdout + silent.stderr)
        self.assertIn("no answer from unit 9 within 200 ms", silent.stderr)

        refused = self.tool("scan", "--tcp", "%s:%d" % (h.HOST, h.free_port()), "--units", "1")
        self.assertEqual(refused.returncode, 2, refused.stdout + refused.stderr)
        self.assertIn("scan stopped: cannot open tcp", refused.stderr)
        self.assertIn("Connection refused", refused.stderr)

    def test_read_and_scan_over_rtu(self):
        line = self.socat_pair("rtu-line")
        self.start_pymodbus(rtu_device=line.a)
        link = ["--rtu", line.b, "--baud", BAUD]
        self.check_read_and_scan(link, "rtu %s %d 8N1" % (line.b, BAUD))

        silent = self.tool("read", *link, "--unit", 9, "--timeout-ms", TIMEOUT_MS)
        self.assertEqual(silent.returncode, 1, silent.stdout + silent.stderr)
        self.assertIn("no answer from unit 9 within 200 ms", silent.stderr)


if __name__ == "__main__":
    unittest.main()
