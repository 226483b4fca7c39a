"""Lost buses come back by themselves (issue 4, done-when 2).

Two buses in one gateway: a Modbus TCP meter served by one simulator process and an
RTU meter on a socat pty line served by another. In one test the TCP simulator is
killed and started again on the same port; in the other the pty pair is taken away
(the gateway's device path vanishes: ENOENT, reads fail with EIO) and created again
at the same path. Each time the daemon stays up, names the bus in its log, reopens
with backoff and resumes polling, while the other bus's meter keeps publishing.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 500
OUTAGE_S = 4


def registers(value):
    return [{"address": 0, "function": "holding", "type": "uint16", "value": value}]


class LostLinksTest(h.IntegrationTest):

    def setUp(self):
        super().setUp()
        broker = self.mosquitto().start()
        self.kpc_ = self.kpc(broker.port, mode="ok")
        self.tcp_port = h.free_port()
        self.tcp_sim_config = {"servers": [{"name": "plant", "tcp": {"host": h.HOST,
                                                                     "port": self.tcp_port},
                                            "units": [{"unit": 1, "registers": registers(41)}]}]}
        self.tcp_sim = self.simulator(self.tcp_sim_config, name="sim-tcp")
        self.pair = self.socat_pair("line")
        self.rtu_sim_config = {"servers": [{"name": "rs485", "rtu": {"device": self.pair.a,
                                                                     "baud": 19200},
                                            "units": [{"unit": 1, "registers": registers(42)}]}]}
        self.simulator(self.rtu_sim_config, name="sim-rtu")
        reg = [{"name": "value", "address": 0, "function": "holding", "type": "uint16"}]
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "plant-tcp", "tcp": {"host": h.HOST, "port": self.tcp_port},
             "timeout": "300ms", "retries": 1},
            {"name": "rs485-line", "rtu": {"device": self.pair.b, "baud": 19200},
             "timeout": "300ms", "retries": 1},
        ], meters=[
            {"name": "tcp-meter", "token": "tok-tcp", "bus": "plant-tcp", "unit": 1,
             "poll_interval": "%dms" % POLL_MS, "registers": reg},
            {"name": "rtu-meter", "token": "tok-rtu", "bus": "rs485-line", "unit": 1,
             "poll_interval": "%dms" % POLL_MS, "registers": reg},
        ])
        self.gw = self.gateway(config)
        h.wait_until(lambda: h.dcx_timestamps(self.kpc_, "tok-tcp")
                     and h.dcx_timestamps(self.kpc_, "tok-rtu") or not self.gw.alive(), 20,
                     message=lambda: "first samples of both meters\n" + self.logs())
        self.assertTrue(self.gw.alive(), self.gw.tail())

    def values(self, token):
        return {s["value"] for _, ss in h.dcx_publishes(self.kpc_, token) for s in ss}

    def assert_flowed(self, token, start_ms, end_ms):
        """The meter published at least 70% of its polls between start_ms and end_ms."""
        stamps = [t for t in h.dcx_timestamps(self.kpc_, token) if start_ms <= t < end_ms]
        expected = (end_ms - start_ms) // POLL_MS
        self.assertGreaterEqual(len(stamps), 0.7 * expected,
                                "%s during the other bus's outage: %d of %d polls"
                                % (token, len(stamps), expected))

    def resumed_after(self, token, t_ms):
        h.wait_until(lambda: any(t > t_ms for t in h.dcx_timestamps(self.kpc_, token))
                     or not self.gw.alive(), 20,
                     message=lambda: "%s publishing again\n%s" % (token, self.logs()))
        self.assertTrue(self.gw.alive(), self.gw.tail())

    def assert_reopened(self, pattern):
        """The bus was opened twice: at start and after the outage."""
        h.wait_until(lambda: len(re.findall(pattern, self.gw.stderr())) >= 2, 5,
                     message=lambda: "/%s/ twice\n%s" % (pattern, self.gw.tail()))

    def test_tcp_meter_server_stopped_and_started_again(self):
        self.tcp_sim.kill()
        down_ms = h.now_ms()
        self.gw.wait_for_log(r"modbus: bus plant-tcp lost its link \(tcp 127\.0\.0\.1:%d\); "
                             r"reopening" % self.tcp_port, 10)
        self.gw.wait_for_log(r"\[error\] modbus: bus plant-tcp: cannot open tcp 127\.0\.0\.1:%d: "
                             r"Connection refused \(nothing listens on that port" % self.tcp_port,
                             10)
        h.wait_seconds(OUTAGE_S)  # the outage: the TCP meter is gone for this long
        back_ms = h.now_ms()
        self.simulator(self.tcp_sim_config, name="sim-tcp-again")
        self.resumed_after("tok-tcp", back_ms)
        self.assert_reopened(r"\[info\] modbus: bus plant-tcp open \(tcp 127\.0\.0\.1:%d\)"
                             % self.tcp_port)
        self.assert_flowed("tok-rtu", down_ms, back_ms)
        self.assertEqual(self.values("tok-tcp"), {41})
        self.assertEqual(self.values("tok-rtu"), {42})
        self.assertEqual(self.gw.terminate(), 0, self.gw.tail())

    def test_rtu_device_path_disappears_and_comes_back(self):
        self.pair.proc.terminate()  # socat removes both links: the adapter is unplugged
        down_ms = h.now_ms()
        h.wait_until(lambda: not os.path.lexists(self.pair.b), 5, message="the pty link to vanish")
        self.gw.wait_for_log(r"modbus: bus rs485-line lost its link \(rtu %s 19200 8N1\); "
                             r"reopening" % self.pair.b, 10)
        self.gw.wait_for_log(r"\[error\] modbus: bus rs485-line: cannot open rtu %s 19200 8N1: "
                             r"No such file or directory \(the device does not exist: is the USB "
                             r"RS-485 adapter plugged in\?" % self.pair.b, 10)
        h.wait_seconds(OUTAGE_S)  # the outage: the device path is gone for this long
        back_ms = h.now_ms()
        again = self.track(h.SocatPair(self.ws, "line"))
        again.start()
        self._procs.append(again.proc)
        self.resumed_after("tok-rtu", back_ms)
        self.assert_reopened(r"\[info\] modbus: bus rs485-line open \(rtu %s" % self.pair.b)
        self.assert_flowed("tok-tcp", down_ms, back_ms)
        self.assertEqual(self.values("tok-tcp"), {41})
        self.assertEqual(self.values("tok-rtu"), {42})
        self.assertEqual(self.gw.terminate(), 0, self.gw.tail())


if __name__ == "__main__":
    unittest.main()
