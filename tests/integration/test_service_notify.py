"""The daemon's sd_notify messages, read from a real NOTIFY_SOCKET.

READY=1 once started (without waiting for the broker, which is down here), STATUS=
lines a person can read, WATCHDOG=1 at half of WATCHDOG_USEC while every bus worker
makes progress, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM; and no more WATCHDOG=1 once a bus worker is
stalled through the test hook.
"""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

WATCHDOG_USEC = 1_000_000  # pings expected every 0.5 s


class ServiceNotifyTest(h.IntegrationTest):

    def start(self, stall_bus=None):
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "plant", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 5}]}]}]})
        config = h.gateway_config(self.ws, h.free_port(), buses=[
            {"name": "plant", "tcp": {"host": h.HOST, "port": sim_port}}
        ], meters=[
            {"name": "m1", "token": "tok-1", "bus": "plant", "unit": 1, "poll_interval": "200ms",
             "registers": [{"name": "v", "address": 0, "function": "holding",
                            "type": "uint16"}]}])
        notify = h.NotifySocket(self.ws)
        self.addCleanup(notify.stop)
        env = {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
        if stall_bus:
            env["KAA_TEST_STALL_BUS"] = stall_bus
        path = self.ws.write_yaml("gatewayd.yaml", config)
        gw = self.track(h.Process([h.gatewayd(), "--config", path], self.ws, "gatewayd",
                                  env=env).start())
        self._procs.append(gw)
        return gw, notify

    def test_ready_status_watchdog_and_stopping(self):
        gw, notify = self.start()
        h.wait_until(lambda: notify.lines("READY=1"), 10,
                     message=lambda: "READY=1\n" + self.logs())
        status = h.wait_until(lambda: notify.lines("STATUS="), 10,
                              message=lambda: "STATUS=\n" + self.logs())
        self.assertRegex(status[0][1], r"^STATUS=NOT connected to 127\.0\.0\.1:\d+; meters \d+ "
                         r"ok, \d+ failing; \d+ samples waiting; 0 delivered$")
        h.wait_until(lambda: any("meters 1 ok, 0 failing" in m for _, m in notify.lines("STATUS=")),
                     10, message=lambda: "a STATUS with the meter ok\n" + str(notify.lines()))

        start = time.monotonic()
        h.wait_until(lambda: len([t for t, _ in notify.lines("WATCHDOG=1") if t >= start]) >= 6,
                     10, message=lambda: "six watchdog pings\n" + str(notify.lines()))
        pings = [t for t, _ in notify.lines("WATCHDOG=1") if t >= start]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        for gap in gaps:
            self.assertGreater(gap, 0.3, gaps)
            self.assertLess(gap, 0.8, gaps)

        # SIGHUP (systemctl reload): RELOADING=1 with MONOTONIC_USEC, then READY=1 again.
        sent = len(notify.lines())
        gw.signal(signal.SIGHUP)

        def reloaded():
            lines = [m for _, m in notify.lines()[sent:]]
            return "RELOADING=1" in lines and "READY=1" in lines[lines.index("RELOADING=1"):]

        h.wait_until(reloaded, 10, message=lambda: "RELOADING=1 then READY=1\n%s\n%s"
                     % (notify.lines()[sent:], self.logs()))
        lines = [m for _, m in notify.lines()[sent:]]
        self.assertRegex(lines[lines.index("RELOADING=1") + 1], r"^MONOTONIC_USEC=\d+$")

        gw.signal(signal.SIGTERM)
        h.wait_until(lambda: not gw.alive(), 5, message=lambda: "exit within 5 s\n" + self.logs())
        self.assertEqual(gw.returncode(), 0)
        self.assertTrue(notify.lines("STOPPING=1"), notify.lines())

    def test_a_stalled_bus_worker_stops_the_watchdog_pings(self):
        gw, notify = self.start(stall_bus="plant")
        gw.wait_for_log(r"bus plant stalls on purpose", 10)
        gw.wait_for_log(r"worker of bus plant made no progress", 5)
        h.wait_seconds(0.5)  # a datagram already on its way when the stall was logged
        before = len(notify.lines("WATCHDOG=1"))
        self.assertGreater(before, 0, "pings while the worker was still alive")
        h.wait_seconds(2.0)  # four ping intervals: pings would have shown up by now
        self.assertEqual(len(notify.lines("WATCHDOG=1")), before, "pings after the stall")
        self.assertTrue(gw.alive())


if __name__ == "__main__":
    unittest.main()
