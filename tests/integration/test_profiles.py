"""Every meter profile in config/profiles/ read through the gateway from a simulated meter.

The profiles are discovered (at least 17). For each one tests/support/profile_sim.py plans a
simulated meter that serves every register and metadata register of the profile at its
address, function, type, byte order and string length, with raw values whose bytes all differ
(so a wrong byte order, a wrong word order, a wrong address or a lost sign changes the value)
and the profile's own scales and offsets applied by the gateway. All meters share one Modbus TCP
simulator, one unit each; a profile allowing no gap (max_gap 0) gets a unit that refuses reads
over unlisted addresses. The test checks that

  * the simulator holds, for every register, the words encoded in Python (modbus_values), so
    the expected values do not rest on the C++ codec the simulator and the gateway share;
  * `kaa-gatewayd --check` accepts a configuration with one `profile: <id>` meter per profile
    and names each meter's profile;
  * kaa-gatewayd, reading the profiles of the source tree (KAA_PROFILE_DIRS), publishes for each
    meter samples whose keys are exactly the profile's register names (plus the timestamp),
    each value equal to the expected one (exact for integers and strings, relative 1e-12 for
    floats), and EPMP metadata equal to the metadata registers' expected values.
"""

import math
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402
import profile_sim  # noqa: E402  (tests/support, on the path through harness)

PROFILE_DIR = h.REPO / "config" / "profiles"
PROFILES = sorted(PROFILE_DIR.glob("*.yaml"))
MIN_PROFILES = 17
BUS = "profiles-sim"
FUNCTION_CODES = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
FLOAT_REL_TOL = 1e-12


def plans():
    """One plan per profile file, in file name order."""
    return [profile_sim.plan_meter(p) for p in PROFILES]


def gateway_config(ws, mqtt_port, sim_port, meter_plans):
    """A gateway config with every plan's meter (unit i + 1) on one TCP bus to the simulator."""
    return h.gateway_config(
        ws, mqtt_port,
        buses=[{"name": BUS, "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"}],
        meters=[profile_sim.gateway_meter(p, i + 1, BUS) for i, p in enumerate(meter_plans)])


def same(expected, actual):
    """Exact for bool, integers and strings (kind included); relative 1e-12 for floats."""
    if isinstance(expected, float):
        return (isinstance(actual, (int, float)) and not isinstance(actual, bool)
                and math.isclose(expected, actual, rel_tol=FLOAT_REL_TOL))
    return h.same_value(expected, actual)


class ProfilesTest(h.IntegrationTest):

    def profile_env(self):
        return {"KAA_PROFILE_DIRS": str(PROFILE_DIR)}

    def test_check_accepts_a_profile_meter_of_every_profile(self):
        self.assertGreaterEqual(len(PROFILES), MIN_PROFILES, "profiles in %s" % PROFILE_DIR)
        meter_plans = plans()
        path = self.ws.write_yaml("check.yaml", gateway_config(self.ws, 1883, 15020, meter_plans))
        r = h.run([h.gatewayd(), "--check", "--config", path], env=self.profile_env())
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, "kaa-gatewayd --check\n" + out)
        for i, plan in enumerate(meter_plans):
            self.assertRegex(out, re.compile(
                r"^\s*meter %s \(unit %d, every 1s, token tok-%s, profile %s\): \d+ requests? "
                r"per poll for %d registers?$" % (re.escape(plan.profile_id), i + 1,
                                                  re.escape(plan.profile_id),
                                                  re.escape(plan.profile_id),
                                                  len(plan.names(metadata=False))),
                re.MULTILINE))

    def test_every_profile_is_read_and_published_as_the_simulator_serves_it(self):
        self.assertGreaterEqual(len(PROFILES), MIN_PROFILES, "profiles in %s" % PROFILE_DIR)
        meter_plans = plans()
        sim_port = h.free_port()
        self.simulator(profile_sim.sim_config(meter_plans, sim_port, host=h.HOST))

        wrong_words = []
        for unit, plan in enumerate(meter_plans, start=1):
            for reg in plan.registers:
                want = profile_sim.words(reg)
                got = h.raw_modbus_read(sim_port, unit, FUNCTION_CODES[reg.function],
                                        reg.address, len(want))
                if got != want:
                    wrong_words.append("%s %s @%s %d: want %s, got %s" % (
                        plan.profile_id, reg.name, reg.function, reg.address, want, got))
        self.assertEqual(wrong_words, [], "simulator words:\n  " + "\n  ".join(wrong_words))

        broker = self.mosquitto().start()
        self.kpc(broker.port, mode="ok")
        collector = self.collector(broker.port)
        gw = self.gateway(gateway_config(self.ws, broker.port, sim_port, meter_plans),
                          env=self.profile_env())
        tokens = {"tok-" + p.profile_id: p for p in meter_plans}

        def has_metadata(token):
            names = tokens[token].names(metadata=True)
            return names <= {key for payload in collector.metadata(token) for key in payload}

        def arrived():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            return all(collector.samples(t) and has_metadata(t) for t in tokens)

        h.wait_until(arrived, 20, message=lambda: "a sample and the metadata of every meter; "
                     "missing: %s\n%s" % (sorted(t for t in tokens if not collector.samples(t)
                                                 or not has_metadata(t)), self.logs()))

        problems = []
        for token, plan in tokens.items():
            want = profile_sim.expected(plan)
            for sample in collector.samples(token):
                keys = set(sample) - {"timestamp"}
                if keys != plan.names(metadata=False):
                    problems.append("%s: sample names %s, profile names %s" % (
                        token, sorted(keys), sorted(plan.names(metadata=False))))
                for name, value in want.items():
                    if name in sample and not same(value, sample[name]):
                        problems.append("%s %s: want %r, got %r" % (token, name, value,
                                                                    sample[name]))
            want_meta = profile_sim.expected(plan, metadata=True)
            for payload in collector.metadata(token):
                for key, value in payload.items():
                    if key not in want_meta or not same(want_meta[key], value):
                        problems.append("%s metadata %s: want %r, got %r" % (
                            token, key, want_meta.get(key, "(no such register)"), value))
        self.assertEqual(problems, [], "published:\n  " + "\n  ".join(sorted(set(problems))))
        self.assertEqual(gw.terminate(), 0, "kaa-gatewayd exit code after SIGTERM\n" + gw.tail())


if __name__ == "__main__":
    unittest.main()
