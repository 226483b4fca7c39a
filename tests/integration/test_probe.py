"""`kaa-gateway read` against the simulator: the probe an engineer runs at a new meter.

The simulator serves unit 1 with a float32 229.7 (ABCD) at holding 0, a uint16 at holding
10 and a coil, with illegal_holes so that a read of an address without a register gets
exception 02. The probe must show 229.7 on the ABCD line of the pair at 0, list the coil,
exit 1 naming "Modbus exception 2 (illegal data address)" for the hole and naming the
timeout for a unit that does not exist, and exit 2 for a port where nothing listens. With
--profile it reads a profile's registers (from KAA_PROFILE_DIRS) as name = value.
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402


class ProbeTest(h.IntegrationTest):

    def probe(self, *args, env=None):
        run_env = dict(os.environ)
        run_env.update(env or {})
        return subprocess.run([h.gateway_tool(), "read"] + list(args), capture_output=True,
                              text=True, timeout=30, env=run_env)

    def test_the_probe_decodes_names_errors_and_reads_a_profile(self):
        port = h.free_port()
        self.simulator({"servers": [
            {"name": "probe-sim", "tcp": {"host": h.HOST, "port": port}, "units": [
                {"unit": 1, "illegal_holes": True, "registers": [
                    {"address": 0, "function": "holding", "type": "float32", "value": 229.7},
                    {"address": 10, "function": "holding", "type": "uint16", "value": 4711},
                    {"address": 3, "function": "coil", "type": "bool", "value": True}]}]}]})
        peer = "%s:%d" % (h.HOST, port)

        ok = self.probe("--tcp", peer, "--unit", "1", "--address", "0", "--count", "2")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("tcp %s unit 1: holding 0..1 (2 registers)" % peer, ok.stdout)
        self.assertRegex(ok.stdout, r"\n +0  ABCD +\d+ +-?\d+  229\.7\n")

        coil = self.probe("--tcp", peer, "--function", "coil", "--address", "3", "--count", "1")
        self.assertEqual(coil.returncode, 0, coil.stderr)
        self.assertIn("      3  1\n", coil.stdout)

        hole = self.probe("--tcp", peer, "--address", "4", "--count", "2")
        self.assertEqual(hole.returncode, 1)
        self.assertIn("Modbus exception 2 (illegal data address)", hole.stderr)

        absent = self.probe("--tcp", peer, "--unit", "9", "--timeout-ms", "300")
        self.assertEqual(absent.returncode, 1)
        self.assertIn("no answer from unit 9 within 300 ms", absent.stderr)

        refused = self.probe("--tcp", "%s:%d" % (h.HOST, h.free_port()))
        self.assertEqual(refused.returncode, 2, refused.stdout + refused.stderr)
        self.assertIn("Connection refused", refused.stderr)

        profiles = self.ws.file("profiles")
        os.makedirs(profiles)
        with open(os.path.join(profiles, "probe-twin.yaml"), "w") as f:
            f.write("profile: {id: probe-twin, maker: Acme, model: T2, kind: electricity}\n"
                    "registers:\n"
                    "  - {name: voltage_v, address: 0, function: holding, type: float32}\n"
                    "  - {name: energy_import_kwh, address: 10, function: holding, type: uint16,"
                    " scale: 0.1}\n")
        prof = self.probe("--tcp", peer, "--profile", "probe-twin",
                          env={"KAA_PROFILE_DIRS": str(profiles)})
        self.assertEqual(prof.returncode, 0, prof.stderr)
        self.assertEqual(prof.stdout.splitlines()[1:], ["voltage_v = 229.7",
                                                        "energy_import_kwh = 471.1"])

        usage = self.probe("--address", "0")
        self.assertEqual(usage.returncode, 2)
        self.assertIn("give --tcp HOST:PORT or --rtu DEVICE", usage.stderr)


if __name__ == "__main__":
    unittest.main()
