"""A full disk under the buffer: delivery goes on, nothing is lost that could be kept.

The buffer lives on its own 6 MiB tmpfs (mounted by the test: it needs root, as CI runs;
elsewhere it is skipped), while buffer.max_size is 64 MiB: the disk fills before the
buffer's own bound, as on a Pi whose SD card filled up. The test fills the disk with a
file of its own while the broker is away, then:

1. The gateway says the disk is full, gives its reserve file back (the file beside the
   buffer is deleted) and keeps new samples in memory.
2. The broker returns while the disk stays full (but for the reserve's room, which the
   test's filler leaves alone, as a disk filled once would): the samples stored before
   the disk filled and those kept in memory since are all delivered (per meter an unbroken run of
   poll-interval stamps from the first poll to the present), live samples keep coming,
   and no delivered sample fails to be deleted ("cannot delete" never appears).
3. The filler goes: the gateway says the disk has room again, takes its reserve again,
   and samples reach the buffer file again.
4. Broker away, disk full again, SIGTERM: the samples held only in memory are counted and
   logged as lost; the gateway restarts on the still-full disk, opens its buffer (not a
   memory-only fallback) and delivers what the buffer held: everything read before the
   disk filled the second time.
"""

import collections
import errno
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 100
MAX_GAP_MS = 450
TOKENS = ("tok-disk-a", "tok-disk-b")
VALUES = {"tok-disk-a": ("a", 1234), "tok-disk-b": ("b", -5)}
DISK_MIB = 6


def fill_disk(path):
    """Writes `path` until the file system has no room left; returns the bytes written."""
    written = 0
    block = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(block)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        # The last blocks too: tmpfs has pages of 4 KiB.
        for size in (16384, 4096, 512):
            while True:
                try:
                    written += f.write(block[:size])
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    return written


@unittest.skipUnless(os.geteuid() == 0, "mounts a size-capped tmpfs: needs root (CI runs as root)")
class DiskFullTest(h.IntegrationTest):

    def mount_small_disk(self):
        disk = self.ws.file("disk")
        os.makedirs(disk, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0755" % DISK_MIB, "tmpfs",
                        str(disk)], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", str(disk)], check=False)
        return disk

    def stamps(self, kpc, token):
        return sorted({s["timestamp"] for _, ss in h.dcx_publishes(kpc, token) for s in ss})

    def check_values(self, kpc, token):
        name, value = VALUES[token]
        for _, ss in h.dcx_publishes(kpc, token):
            for s in ss:
                self.assertEqual(set(s), {"timestamp", name}, s)
                self.assertTrue(h.same_value(value, s[name]), s)

    def gaps(self, stamps, start, end):
        inside = [t for t in stamps if start <= t <= end]
        return [(a, b) for a, b in zip(inside, inside[1:]) if b - a > MAX_GAP_MS]

    def test_delivery_goes_on_when_the_disk_is_full(self):
        disk = self.mount_small_disk()
        buffer_path = os.path.join(disk, "buffer.db")
        reserve = buffer_path + "-reserve"
        filler = os.path.join(disk, "filler")
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "disk-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 1234}]},
                {"unit": 2, "registers": [
                    {"address": 0, "function": "holding", "type": "int16", "value": -5}]},
            ]},
        ]})
        broker = self.mosquitto()  # not started: the platform is away at first
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "disk-bus", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "500ms"},
        ], meters=[
            {"name": "disk-a", "token": TOKENS[0], "bus": "disk-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "a", "address": 0, "function": "holding", "type": "uint16"}]},
            {"name": "disk-b", "token": TOKENS[1], "bus": "disk-bus", "unit": 2,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "b", "address": 0, "function": "holding", "type": "int16"}]},
        ], response_timeout="2s")
        config["buffer"]["path"] = buffer_path

        t_start = h.now_ms()
        gw = self.gateway(config)
        gw.wait_for_log(r"buffer: .*buffer\.db created", 10)
        h.wait_until(lambda: os.path.exists(reserve), 5, message="the reserve file beside the buffer")
        self.assertEqual(os.path.getsize(reserve), 2 * 1024 * 1024)
        h.wait_seconds(1.0)  # samples in the buffer file before the disk fills

        # -- 1. the disk fills while the platform is away ------------------------------------
        t_full = h.now_ms()
        fill_disk(filler)
        gw.wait_for_log(r"the disk is full; gave the 2 MiB reserve back", 10)
        gw.wait_for_log(r"new samples wait in memory", 5)
        self.assertFalse(os.path.exists(reserve))
        h.wait_seconds(1.5)  # samples only in memory

        # -- 2. the platform returns, the disk stays full -------------------------------------
        t_up = h.now_ms()
        broker.start()
        kpc = self.kpc(broker.port, mode="ok")

        def all_delivered():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            for t in TOKENS:
                st = self.stamps(kpc, t)
                if not st or st[0] > t_start + 1500 or st[-1] < t_up + 2000:
                    return False
                if self.gaps(st, st[0], st[-1]):
                    return False
            return True

        h.wait_until(all_delivered, 25, message=lambda: "unbroken runs: %s\n%s" % (
            {t: self.gaps(self.stamps(kpc, t), 0, 1 << 62) for t in TOKENS}, gw.tail()))
        for t in TOKENS:
            st = self.stamps(kpc, t)
            self.assertGreater(len([s for s in st if s < t_full]), 5, t)  # from the file
            self.assertGreater(len([s for s in st if t_full + 500 < s < t_up]), 5, t)  # memory
            self.check_values(kpc, t)
        self.assertNotIn("cannot delete", gw.stderr())

        # -- 3. room again ---------------------------------------------------------------------
        os.unlink(filler)
        gw.wait_for_log(r"the disk has room again \(the 2 MiB reserve is held again\)", 15)
        gw.wait_for_log(r"the buffer accepts samples again", 5)
        self.assertTrue(os.path.exists(reserve))

        # -- 4. full again with the platform away, then a stop and a restart -----------------
        broker.kill()
        h.wait_seconds(1.5)  # a backlog in the buffer file
        t_full2 = h.now_ms()
        fill_disk(filler)
        full_logs = len(re.findall(r"the disk is full", gw.stderr()))
        h.wait_until(lambda: len(re.findall(r"the disk is full", gw.stderr())) > full_logs, 10,
                     message=lambda: "the second full disk logged\n" + gw.tail())
        h.wait_seconds(1.0)
        t_stop = h.now_ms()
        self.assertEqual(gw.terminate(), 0, gw.tail())
        lost = re.search(r"(\d+) samples were kept only in memory and are lost at shutdown",
                         gw.stderr())
        self.assertIsNotNone(lost, gw.tail())
        lost = int(lost.group(1))
        # Two meters at 10 reads a second, from the second full disk to the stop.
        self.assertGreater(lost, 10)
        self.assertLessEqual(lost, 2 * (t_stop - t_full2) / POLL_MS + 10)

        delivered_before = {t: set(self.stamps(kpc, t)) for t in TOKENS}
        gw2 = self.gateway(config, name="gatewayd-2")
        gw2.wait_for_log(r"buffer: .*buffer\.db opened", 10)
        self.assertNotIn("kept in memory only", gw2.stderr())
        broker.restart()
        self.assertTrue(kpc.wait_subscribed(10), "KPC stand-in did not resubscribe")

        def backlog_delivered():
            if not gw2.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw2.returncode(), gw2.tail()))
            for t in TOKENS:
                # Everything read between the broker's loss and the second full disk: an
                # unbroken run up to the moment the disk filled.
                before = [s for s in self.stamps(kpc, t) if s <= t_full2 - 2 * POLL_MS]
                if not before or before[-1] < t_full2 - 2 * POLL_MS - MAX_GAP_MS or \
                        self.gaps(before, before[0], before[-1]):
                    return False
            return True

        h.wait_until(backlog_delivered, 20, message=lambda: "backlog after the restart: %s\n%s" % (
            {t: self.gaps(self.stamps(kpc, t), 0, t_full2) for t in TOKENS}, gw2.tail()))
        for t in TOKENS:
            st = self.stamps(kpc, t)
            self.assertGreater(len(set(st) - delivered_before[t]), 10, t)
            self.check_values(kpc, t)
        os.unlink(filler)
        self.assertEqual(gw2.terminate(), 0, gw2.tail())


if __name__ == "__main__":
    unittest.main()
