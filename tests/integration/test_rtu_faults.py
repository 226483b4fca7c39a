"""Misbehaving meters on one RTU line (issue 4, done-when 2).

The simulator serves an RS-485 line (socat pty pair, 9600 baud) on which a healthy
meter shares the bus with a meter that answers late (after the gateway's timeout),
one whose replies carry a wrong CRC or line noise, or one that refuses part of a
merged read with exception 02. In each test the daemon stays up, the faulty meter
is named in the log, and the healthy meter keeps publishing exactly its values.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

BAUD = 9600
HEALTHY_POLL_MS = 500
WINDOW_MS = 12_000
HEALTHY = {"count": 111, "level": 50.5}


def rtu_link(device):
    return {"device": device, "baud": BAUD, "parity": "none", "data_bits": 8, "stop_bits": 1}


def unit(unit_id, count, level, **faults):
    """A simulated unit with the healthy meter's register layout and its own values."""
    return dict({"unit": unit_id, "registers": [
        {"address": 0, "function": "holding", "type": "uint16", "value": count},
        {"address": 1, "function": "holding", "type": "float32", "byte_order": "ABCD",
         "value": level}]}, **faults)


def meter(name, unit_id, poll_ms):
    return {"name": name, "token": "tok-" + name, "bus": "line", "unit": unit_id,
            "poll_interval": "%dms" % poll_ms, "registers": [
                {"name": "count", "address": 0, "function": "holding", "type": "uint16"},
                {"name": "level", "address": 1, "function": "holding", "type": "float32",
                 "byte_order": "ABCD"}]}


class RtuFaultsTest(h.IntegrationTest):

    def start_line(self, sim_units, meters):
        """Broker, KPC stand-in, a pty line served by the simulator, and the gateway."""
        broker = self.mosquitto().start()
        self.kpc_ = self.kpc(broker.port, mode="ok")
        pair = self.socat_pair("line")
        self.simulator({"servers": [{"name": "rs485", "rtu": rtu_link(pair.a),
                                     "units": sim_units}]})
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "line", "rtu": rtu_link(pair.b), "timeout": "200ms", "retries": 1,
             "inter_request_delay": "10ms"}], meters=meters)
        self.gw = self.gateway(config)
        return self.gw

    def healthy_keeps_flowing(self, token="tok-healthy"):
        """Waits a WINDOW_MS window of the healthy meter's samples and checks rate and values."""
        kpc, gw = self.kpc_, self.gw
        first = h.wait_until(lambda: h.dcx_timestamps(kpc, token) or not gw.alive(), 15,
                             message=lambda: "a first healthy sample\n" + self.logs())
        self.assertTrue(gw.alive(), gw.tail())
        start_ms = first[0]
        end_ms = start_ms + WINDOW_MS

        def window_done():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            return h.dcx_timestamps(kpc, token)[-1] >= end_ms

        h.wait_until(window_done, WINDOW_MS / 1000 + 15, interval=0.2,
                     message=lambda: "healthy samples past the window\n" + self.logs())
        stamps = [s for s in h.dcx_timestamps(kpc, token) if start_ms <= s < end_ms]
        expected = WINDOW_MS // HEALTHY_POLL_MS
        self.assertGreaterEqual(len(stamps), 0.8 * expected,
                                "healthy meter: %d of %d polls, gaps %s"
                                % (len(stamps), expected, h.timestamp_gaps(stamps, 1000)))
        for _, samples in h.dcx_publishes(kpc, token):
            for s in samples:
                self.assertEqual({k: v for k, v in s.items() if k != "timestamp"}, HEALTHY,
                                 "healthy meter published a value that is not its own")
        return len(stamps), expected

    def assert_never_failing(self, name):
        bad = re.findall(r"^.*\[(?:warning|error)\][^\n]*meter %s\b.*$" % name, self.gw.stderr(),
                         re.MULTILINE)
        self.assertEqual(bad, [], "meter %s reported as failing" % name)

    def test_late_reply_is_never_taken_as_the_next_answer(self):
        # Unit 2 has the healthy meter's layout but other values, and answers 500 ms after
        # each request: 300 ms after the gateway gave up, while it talks to unit 1.
        self.start_line([unit(1, 111, 50.5), unit(2, 999, 99.5, reply_delay="500ms")],
                        [meter("healthy", 1, HEALTHY_POLL_MS), meter("late", 2, 1000)])
        self.healthy_keeps_flowing()
        self.gw.wait_for_log(r"\[warning\] modbus: meter late \(unit 2 on bus line\) is failing: "
                             r"no answer from unit 2 within 200 ms", 5)
        self.assertEqual(h.dcx_timestamps(self.kpc_, "tok-late"), [],
                         "a late reply was published as a sample")
        self.assert_never_failing("healthy")
        self.assertTrue(self.gw.alive(), self.gw.tail())
        self.assertEqual(self.gw.terminate(), 0, self.gw.tail())

    def test_crc_errors_and_line_noise_are_rejected(self):
        # Unit 2: every reply has a wrong CRC. Unit 3: every 2nd reply is noise, so it
        # keeps publishing (its good replies, on retry) without a value from the noise.
        self.start_line([unit(1, 111, 50.5), unit(2, 222, 22.5, corrupt="crc"),
                         unit(3, 333, 33.5, corrupt="garbage", corrupt_every=2)],
                        [meter("healthy", 1, HEALTHY_POLL_MS), meter("bad-crc", 2, 1000),
                         meter("noisy", 3, 1000)])
        self.healthy_keeps_flowing()
        self.gw.wait_for_log(r"\[warning\] modbus: meter bad-crc \(unit 2 on bus line\) is "
                             r"failing: unusable reply from unit 2: Invalid CRC", 5)
        self.assertEqual(h.dcx_timestamps(self.kpc_, "tok-bad-crc"), [])
        noisy = [s for _, ss in h.dcx_publishes(self.kpc_, "tok-noisy") for s in ss]
        self.assertGreater(len(noisy), 3, "the noisy meter's good replies should get through")
        for s in noisy:
            self.assertEqual({k: v for k, v in s.items() if k != "timestamp"},
                             {"count": 333, "level": 33.5})
        self.assert_never_failing("healthy")
        self.assertTrue(self.gw.alive(), self.gw.tail())
        self.assertEqual(self.gw.terminate(), 0, self.gw.tail())

    def test_exception_02_on_part_of_a_merged_read_over_rtu(self):
        # Unit 3 refuses reads touching addresses without a register (like an SDM630):
        # 0 and 2 exist, 1 and 6 do not. The planner merges 0..6 (max_gap 8); the
        # meter answers 02; the gateway bisects the read (learning that it may not span
        # address 1, nor 3..5 up to in_hole), publishes a and b, names in_hole.
        holey = {"unit": 3, "illegal_holes": True, "registers": [
            {"address": 0, "function": "holding", "type": "uint16", "value": 7},
            {"address": 2, "function": "holding", "type": "uint16", "value": 8}]}
        holey_meter = {"name": "holey", "token": "tok-holey", "bus": "line", "unit": 3,
                       "poll_interval": "1s", "registers": [
                           {"name": "a", "address": 0, "function": "holding", "type": "uint16"},
                           {"name": "b", "address": 2, "function": "holding", "type": "uint16"},
                           {"name": "in_hole", "address": 6, "function": "holding",
                            "type": "uint16"}]}
        self.start_line([unit(1, 111, 50.5), holey],
                        [meter("healthy", 1, HEALTHY_POLL_MS), holey_meter])
        self.healthy_keeps_flowing()
        self.gw.wait_for_log(r"\[info\] modbus: meter holey \(unit 3 on bus line\) refused the "
                             r"read holding 0\.\.6 \(exception 2\); it refuses reads across "
                             r"holding 1\.\.1, holding 3\.\.5: its reads are split there from "
                             r"now on", 5)
        self.gw.wait_for_log(r"\[warning\] modbus: meter holey \(unit 3 on bus line\): Modbus "
                             r"exception 2 \(illegal data address\) reading holding 6\.\.6 "
                             r"\(in_hole\); its other registers are published", 5)
        holey_samples = [s for _, ss in h.dcx_publishes(self.kpc_, "tok-holey") for s in ss]
        self.assertGreater(len(holey_samples), 5)
        for s in holey_samples:
            self.assertEqual({k: v for k, v in s.items() if k != "timestamp"}, {"a": 7, "b": 8})
        # Named once (rate-limited), not once per poll.
        self.assertEqual(len(re.findall(r"reading holding 6\.\.6", self.gw.stderr())), 1)
        self.assert_never_failing("healthy")
        self.assertEqual(self.gw.terminate(), 0, self.gw.tail())


if __name__ == "__main__":
    unittest.main()
