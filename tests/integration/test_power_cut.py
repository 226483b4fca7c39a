"""Power cuts: the buffer loses at most its last unsynced commits and is never damaged.

The daemon's buffer.path lives on powercut_fs (tests/support/powercut_fs.c), a FUSE file
system that passes everything through to a backing directory and keeps, beside it, a
"durable" directory holding only what fsync made durable (directory operations are
durable at once there: a simplification). Pulling its plug (a stat of <mount>/.powercut)
makes every later operation fail with EIO; the daemon is then SIGKILLed, the file system
unmounted, and its durable directory becomes the disk of the next start. Half of the cuts
drop everything unsynced; the other half keep a random half of the unsynced 4 KiB pages
(a disk that wrote back some of its cache), seeded.

Four meters on their own Modbus TCP buses are polled every 100 ms (a uint32 counter rising
1000 per second each) into a 2 MiB buffer (a checkpoint every 32 WAL pages: checkpoints
and their fsyncs of the main file are cut too), batch 50, max_in_flight 4. CUTS cuts at
seeded random moments 0.35 to 1.6 s after each start; the broker is down for a seeded ~30%
of the runs (2.5 s at most each: a backlog of a batch or more per meter builds), and the
run after an outage is cut 0.3 to 0.9 s in, while it drains the backlog (delivered-run
records, deletions and batches in flight are cut). In that run and a third of the other
runs with the broker up the stand-in answers 300 ms late, so batches are in flight at
the cut. After each cut: the next start opens the buffer as "opened and checked (it was
not closed cleanly)", never moving it aside as damaged, and PRAGMA integrity_check of the
durable copy is "ok". A final run delivers everything. From every sample the KPC stand-in
saw:

(a) nothing durable is lost: per meter and run, the samples form an unbroken sequence (no
    gap over MAX_GAP_MS) from the run's first poll up to the last delivered one, and the
    first lost poll (last delivered + POLL_MS) was read no earlier than COMMIT_MARGIN_MS
    before the last completed fsync of buffer.db or buffer.db-wal preceding the cut (the
    file system logs each with its wall-clock time);
(b) the loss window (cut time - read time of the oldest lost sample) is at most
    WINDOW_BOUND_MS = the 100 ms sync interval + a poll interval (+ the commit margin in
    the sanitizer build): an append is fsynced at most the sync interval after the last
    fsync (by a later append or the daemon's sync timer), and a poll interval covers the
    way from the read to the fsync;
(c) a sample is delivered twice only across a cut, and only if the daemon had not taken
    its first copy's confirmation COMMIT_MARGIN_MS before that cut's last fsync (it was in
    flight at the cut, or its deletion was not durable yet: the daemons run at debug level,
    which logs each confirmation with the wall-clock ms it was taken); per cut, the samples in flight are at most
    MAX_IN_FLIGHT x BATCH, and the duplicates at most those in flight + those confirmed
    within that last sync window. Every copy of a sample carries the same counter value.

The second test is the check that this can fail: the same plant on a file system that lies
(--lie: fsync is logged as done, durable never changes) with the broker down, so nothing
is delivered live: every cut must be reported as losing durable samples.

KAA_POWERCUT_SEED=<n> repeats a run's cut moments, KAA_POWERCUT_CUTS=<n> sets the number of
cuts (50; 10 in the sanitizer build), KAA_POWERCUT_LIE=1 makes the first test's file system
lie too (the test must then fail).
"""

import collections
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

FUSERMOUNT = "/usr/bin/fusermount3"
POLL_MS = 100
METERS = 4
SYNC_INTERVAL_MS = 100          # daemon/buffer/sqlite/settings.hpp kSyncInterval
COMMIT_MARGIN_MS = 2 * POLL_MS  # read -> appended -> committed, on a loaded machine
# A commit is fsynced at most the sync interval after the one before it was (by the next
# append or the daemon's sync timer); a poll interval covers read -> append -> fsync. The
# sanitizer build's daemon is several times slower: the commit margin on top.
WINDOW_BOUND_MS = SYNC_INTERVAL_MS + POLL_MS + (COMMIT_MARGIN_MS if h.sanitized_build() else 0)
MAX_GAP_MS = int(2.5 * POLL_MS)  # a poll late or skipped on a busy machine, not a loss
MAX_IN_FLIGHT = 4
BATCH = 50
KEEP_PROBABILITY = 0.5
CUT_DELAY_S = (0.35, 1.6)       # from the daemon's start to the cut
DOWN_CUT_DELAY_S = (0.35, 2.5)  # with the broker down: backlogs of over a batch per meter
DRAIN_CUT_DELAY_S = (0.3, 0.9)  # the run after an outage: cut while it drains the backlog
KILL_MS = 50                    # what the daemon still sends between the cut and its SIGKILL
SLOW_ANSWER_S = 0.3             # a third of the runs with the broker up: answers come late
OPENED_AFTER_CUT = "opened and checked (it was not closed cleanly)"
# What the daemon logs when it moves a damaged buffer aside (daemon/buffer/buffer_file.cpp,
# daemon/buffer/sqlite/store_open.cpp).
# daemon/kaa/uplink_replies.cpp, at debug level: when the daemon took a batch's confirmation.
CONFIRMED = re.compile(r"kaa: confirmed request \d+ of meter (\S+): \d+ samples read "
                       r"(-?\d+)\.\.(-?\d+) ms, at (\d+) ms")
DAMAGED = re.compile(r"damaged, and cannot move it aside|and started an empty buffer|\.corrupt-")


def token(m):
    return "tok-pc-%d" % m


def fsync_times(log_path):
    """(cut line fields, [wall ms of each completed fsync of buffer.db or its WAL])."""
    cut, syncs = None, []
    with open(log_path) as f:
        for line in f:
            words = line.split()
            if words and words[0] == "cut":
                cut = {"ms": int(words[1]), **dict(w.split("=") for w in words[2:])}
            elif (len(words) == 3 and words[0] in ("fsync", "fdatasync")
                  and words[2] in ("/buffer.db", "/buffer.db-wal")):
                syncs.append(int(words[1]))
    return cut, syncs


class Cut:
    """One run of the daemon that ended in a power cut, and what it measured."""

    def __init__(self, index, mode, broker_up, started_ms):
        self.index = index
        self.mode = mode            # "drop", "keep" or "lie"
        self.broker_up = broker_up
        self.started_ms = started_ms
        self.opened_ms = None       # when the test saw the daemon log its buffer open
        self.cut_ms = None
        self.last_sync_ms = None    # the last completed fsync of the db or WAL before the cut
        self.pages = self.kept = 0  # unsynced pages at the cut, and those kept
        self.window_ms = 0          # cut - read time of the oldest lost sample (any meter)
        self.lost_before_sync_ms = 0  # how long before the last fsync that sample was read
        self.lost = 0
        self.duplicates = 0
        self.answer_delay_ms = 0    # the stand-in's answers come this late (0: at once)
        self.in_flight = 0          # samples sent before the cut and not answered before it
        self.allowed_duplicates = 0
        self.rows = self.delivered_runs = 0  # rows in the durable copy; runs recorded delivered
        self.confirmed = []         # (meter, first read ms, last read ms, taken at ms) of the run


class PowerCutPlant(h.IntegrationTest):
    """The simulator, broker, stand-in and the cycle: mount, start, cut, kill, unmount."""

    def setUp(self):
        super().setUp()
        self.fs_binary = h.binary("powercut_fs")  # fails (not skips) when it was not built
        self.assertTrue(os.path.exists("/dev/fuse"), "no /dev/fuse: cannot mount powercut_fs")
        self.assertTrue(os.access(FUSERMOUNT, os.X_OK), "%s missing (Debian package fuse3)"
                        % FUSERMOUNT)
        self.mnt = str(self.ws.file("mnt"))
        os.mkdir(self.mnt)
        self.addCleanup(self.unmount_if_mounted)

    def unmount_if_mounted(self):
        """Cleanup: a mount left by a failed test goes (lazily: a dead fs cannot answer)."""
        with open("/proc/mounts") as f:
            if any(line.split()[1] == self.mnt for line in f if len(line.split()) > 1):
                h.run([FUSERMOUNT, "-u", "-z", self.mnt], timeout=10)

    def plant(self):
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode="ok")
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "pc-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": m + 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint32", "value": 1000 * m,
                     "rise_per_second": 1000}]}
                for m in range(METERS)]},
        ]})
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "pc-bus-%d" % m, "tcp": {"host": h.HOST, "port": sim_port},
             "timeout": "500ms"} for m in range(METERS)
        ], meters=[
            {"name": "pc-%d" % m, "token": token(m), "bus": "pc-bus-%d" % m, "unit": m + 1,
             "poll_interval": "%dms" % POLL_MS,
             "registers": [{"name": "v", "address": 0, "function": "holding", "type": "uint32"}]}
            for m in range(METERS)
        ], max_in_flight=MAX_IN_FLIGHT)
        config["buffer"].update({"path": os.path.join(self.mnt, "buffer.db"), "max_size": "2MiB",
                                 "batch": BATCH})
        config_path = self.ws.write_yaml("gatewayd.yaml", config)
        self.argv = [h.gatewayd(), "--config", config_path, "--log-level", "debug"]
        return broker, kpc

    def mount(self, cycle, previous_durable, fs_args):
        """powercut_fs over self.mnt on copies of the previous durable directory."""
        base = self.ws.file("cycle-%03d" % cycle)
        backing, durable = str(base / "backing"), str(base / "durable")
        for d in (backing, durable):
            if previous_durable:
                shutil.copytree(previous_durable, d)
            else:
                os.makedirs(d)
        log = str(base / "fs.log")
        fs = self.track(h.Process([self.fs_binary, "--backing", backing, "--durable", durable,
                                   "--log", log] + fs_args + [self.mnt], self.ws,
                                  "powercut_fs-%03d" % cycle).start())
        h.wait_until(lambda: os.path.ismount(self.mnt) or not fs.alive(), 10,
                     message="powercut_fs mounted")
        self.assertTrue(fs.alive(), fs.tail())
        return fs, durable, log

    def unmount(self, fs):
        done = h.run([FUSERMOUNT, "-u", self.mnt], timeout=10)
        self.assertEqual(done.returncode, 0, done.stderr + fs.tail())
        h.wait_until(lambda: not fs.alive(), 10, message="powercut_fs to exit once unmounted")
        fs.kill()  # reaps

    def start_daemon(self, name, must_open_as):
        gw = self.track(h.Process(self.argv, self.ws, name).start())
        line = gw.wait_for_log(r"^.*buffer: \S+ (created|opened and checked \(it was not closed "
                               r"cleanly\)|opened): .*$", 20).group(0)
        if must_open_as:
            self.assertIn(must_open_as, line, "%s: %s" % (name, line))
        return gw

    def check_durable(self, cycle, durable):
        """The durable copy is a sound SQLite file (checked on a copy: the check's own
        close would checkpoint the WAL that the next start must replay)."""
        self.assertEqual([f for f in os.listdir(durable) if ".corrupt-" in f], [], durable)
        scratch = str(self.ws.file("check-%03d" % cycle))
        shutil.copytree(durable, scratch)
        db = sqlite3.connect(os.path.join(scratch, "buffer.db"))
        try:
            result = db.execute("PRAGMA integrity_check").fetchall()
            tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            rows = [db.execute("SELECT count(*) FROM %s" % t).fetchone()[0] if t in tables else 0
                    for t in ("samples", "delivered")]
        finally:
            db.close()
        shutil.rmtree(scratch)
        self.assertEqual(result, [("ok",)], "cut %d: integrity_check of the durable copy" % cycle)
        return rows

    def set_broker(self, broker, kpc, up):
        if up == broker.proc.alive():
            return
        if not up:
            broker.kill()
            return
        before = kpc.connects
        broker.restart()
        h.wait_until(lambda: kpc.connects > before and kpc.wait_subscribed(0.1), 10,
                     message="the KPC stand-in to subscribe again")

    def run_cuts(self, broker, kpc, n_cuts, rng, mode_of, broker_schedule, delay_s=CUT_DELAY_S,
                 down_delay_s=DOWN_CUT_DELAY_S):
        """n_cuts cycles of mount, start, run, cut, kill, unmount; then the final run,
        which delivers everything. Returns the cuts."""
        cuts, durable = [], None
        for k in range(n_cuts):
            self.set_broker(broker, kpc, broker_schedule[k])
            mode = mode_of(k)
            # The run after an outage drains its backlog with slow answers and is cut early:
            # in the middle of the drain, with batches in flight and runs recorded delivered.
            draining = broker_schedule[k] and k > 0 and not broker_schedule[k - 1]
            slow = broker_schedule[k] and (draining or rng.random() < 1 / 3)
            kpc.mode, kpc.delay = ("slow", SLOW_ANSWER_S) if slow else ("ok", 0)
            fs_seed = str(rng.randrange(1 << 30))
            fs_args = {"drop": [], "lie": ["--lie"],
                       "keep": ["--keep", str(KEEP_PROBABILITY), "--seed", fs_seed]}[mode]
            fs, next_durable, log = self.mount(k, durable, fs_args)
            cut = Cut(k, mode, broker_schedule[k], h.now_ms())
            cut.answer_delay_ms = int(SLOW_ANSWER_S * 1000) if slow else 0
            gw = self.start_daemon("gatewayd-%03d" % k,
                                   OPENED_AFTER_CUT if k > 0 and mode != "lie" else None)
            cut.opened_ms = h.now_ms()
            moment = cut.started_ms + rng.uniform(
                *(DRAIN_CUT_DELAY_S if draining else delay_s if broker_schedule[k]
                  else down_delay_s)) * 1000

            def moment_came():
                if not gw.alive():
                    raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(),
                                                                           gw.tail()))
                return h.now_ms() >= moment

            h.wait_until(moment_came, 10, interval=0.01, message="the cut's moment")
            os.stat(os.path.join(self.mnt, ".powercut"))  # the plug: returns once pulled
            gw.kill()
            self.assertIsNone(DAMAGED.search(gw.stderr()), gw.tail())
            cut.confirmed = [(g[0], int(g[1]), int(g[2]), int(g[3]))
                             for g in CONFIRMED.findall(gw.stderr())]
            self.unmount(fs)
            fields, syncs = fsync_times(log)
            self.assertIsNotNone(fields, "no cut in %s" % log)
            cut.cut_ms = fields["ms"]
            cut.pages, cut.kept = int(fields["pages"]), int(fields["kept"])
            before = [t for t in syncs if t <= cut.cut_ms]
            cut.last_sync_ms = before[-1] if before else None
            cut.rows, cut.delivered_runs = self.check_durable(k, next_durable)
            if durable:
                shutil.rmtree(os.path.dirname(durable))  # the cycle before: copied already
            durable = next_durable
            cuts.append(cut)
            if slow:  # late answers to the dead daemon's requests must not meet the next one
                h.wait_until(lambda: h.now_ms() > cut.cut_ms + SLOW_ANSWER_S * 1000 + 100, 5,
                             interval=0.02, message="the slow answers of the run to be sent")
            for p in (gw, fs):  # checked: a failure's log dump shows the runs still to check
                self._procs.remove(p)
        self.set_broker(broker, kpc, True)
        kpc.mode = "ok"
        fs, _, _ = self.mount(n_cuts, durable, [])
        final_ms = h.now_ms()
        gw = self.start_daemon("gatewayd-final",
                               OPENED_AFTER_CUT if all(c.mode != "lie" for c in cuts) else None)
        status = self.ws.file("status.sock")

        def drained():
            if not gw.alive():
                raise AssertionError("gateway exited (rc %s)\n%s" % (gw.returncode(), gw.tail()))
            out = h.run([h.gateway_tool(), "status", "--json", "--socket", status], timeout=15)
            if out.returncode != 0:
                return False
            buffer = json.loads(out.stdout).get("buffer")  # none until the first document
            if buffer is None:
                return False
            oldest = buffer["oldest_ms"]
            newest = [max(h.dcx_timestamps(kpc, token(m)), default=0) for m in range(METERS)]
            return (oldest is None or oldest >= final_ms) and min(newest) >= final_ms + 500

        h.wait_until(drained, 60, interval=0.3, message=lambda: "the backlog delivered\n"
                     + gw.tail())
        self.assertEqual(gw.terminate(), 0, gw.tail())
        self.assertIsNone(DAMAGED.search(gw.stderr()), gw.tail())
        self.unmount(fs)
        return cuts

    def analyse(self, kpc, cuts):
        """Checks (a), (b) and (c) on everything the stand-in saw; fills in each cut's
        figures and returns the problems found (empty when all hold)."""
        problems = []
        runs = [(c.started_ms, c.cut_ms, c) for c in cuts]

        def confirmed_ms(received_ms):
            """When the stand-in answered a request it received then (slow in some runs)."""
            for c in cuts:
                if c.started_ms <= received_ms <= c.cut_ms + KILL_MS:
                    return received_ms + c.answer_delay_ms
            return received_ms

        for m in range(METERS):
            copies = collections.defaultdict(list)  # timestamp -> [(received s, value)]
            for r, ss in h.dcx_publishes(kpc, token(m)):
                for s in ss:
                    copies[s["timestamp"]].append((r.received, s["v"]))
            stamps = sorted(copies)
            # Every copy of a sample carries the same value, and the counter keeps pace with
            # the read time (1000 per second; the offset moves only by the simulator's and
            # the daemon's clocks' jitter): the samples are the readings, not made up.
            for ts, cs in copies.items():
                if len({v for _, v in cs}) != 1:
                    problems.append("%s: sample %d delivered with different values %s"
                                    % (token(m), ts, cs))
            offsets = [copies[ts][0][1] - ts for ts in stamps]
            if offsets and max(offsets) - min(offsets) > 1500:
                problems.append("%s: counter - read time drifts by %d ms (not the samples read)"
                                % (token(m), max(offsets) - min(offsets)))
            for start, end, cut in runs:
                kept = [ts for ts in stamps if start <= ts < end]
                if not kept:
                    # Polls start once the buffer is open: one read a poll interval later was
                    # durable if the last fsync came a margin after it.
                    cut.window_ms = max(cut.window_ms, end - cut.opened_ms)
                    cut.lost += max(0, end - cut.opened_ms) // POLL_MS
                    if cut.last_sync_ms is not None:
                        cut.lost_before_sync_ms = max(cut.lost_before_sync_ms, cut.last_sync_ms
                                                      - cut.opened_ms - POLL_MS)
                    if (cut.last_sync_ms is not None and
                            cut.last_sync_ms - COMMIT_MARGIN_MS > cut.opened_ms + POLL_MS):
                        problems.append("cut %d: %s: nothing read in the %d ms before the cut "
                                        "was kept (last fsync %d ms before it)"
                                        % (cut.index, token(m), end - cut.opened_ms,
                                           end - cut.last_sync_ms))
                    continue
                for a, gap in h.timestamp_gaps(kept, MAX_GAP_MS):
                    problems.append("cut %d: %s: %d ms without a sample from %d ms before the "
                                    "cut (a hole, not the cut's tail)"
                                    % (cut.index, token(m), gap, end - a))
                first_lost = kept[-1] + POLL_MS
                if first_lost < end:
                    cut.lost += (end - kept[-1] - 1) // POLL_MS
                    cut.window_ms = max(cut.window_ms, end - first_lost)
                if cut.last_sync_ms is not None and first_lost < end:
                    cut.lost_before_sync_ms = max(cut.lost_before_sync_ms,
                                                  cut.last_sync_ms - first_lost)
                if (cut.last_sync_ms is not None and first_lost < end
                        and first_lost < cut.last_sync_ms - COMMIT_MARGIN_MS):
                    problems.append("cut %d: %s: lost a sample read %d ms before the last "
                                    "fsync before the cut (it was durable)"
                                    % (cut.index, token(m), cut.last_sync_ms - first_lost))
            # (c) A copy after the first is a re-send across a cut, of a sample whose first
            # copy was not confirmed before the margin before that cut's last fsync.
            for ts, cs in copies.items():
                received = sorted(r * 1000 for r, _ in cs)
                for earlier, later in zip(received, received[1:]):
                    cut = next((c for c in cuts if earlier <= c.cut_ms + KILL_MS
                                and later > c.cut_ms), None)
                    if cut is None:
                        problems.append("%s: sample %d delivered twice within one run "
                                        "(at %d and %d)" % (token(m), ts, earlier, later))
                        continue
                    cut.duplicates += 1
                    # When the daemon took the confirmation (its debug line), not when the
                    # stand-in sent it: on a loaded machine the two can lie far apart.
                    taken = [at for meter, first_ms, last_ms, at in cut.confirmed
                             if meter == "pc-%d" % m and first_ms <= ts <= last_ms]
                    reference = (cut.last_sync_ms or cut.started_ms) - COMMIT_MARGIN_MS
                    if taken and min(taken) < reference:
                        problems.append("cut %d: %s: sample %d sent again, though the daemon "
                                        "took its confirmation %d ms before the last fsync "
                                        "before the cut (its deletion was durable)"
                                        % (cut.index, token(m), ts,
                                           reference + COMMIT_MARGIN_MS - min(taken)))
        # (c) per cut: what was in flight (at most MAX_IN_FLIGHT x BATCH) + what was confirmed
        # in the last sync window.
        confirmations = [(r.received * 1000, confirmed_ms(r.received * 1000), len(ss))
                         for r, ss in h.dcx_publishes(kpc, None)]
        for cut in cuts:
            reference = (cut.last_sync_ms or cut.started_ms) - COMMIT_MARGIN_MS
            in_flight = sum(n for r, c, n in confirmations
                            if r <= cut.cut_ms + KILL_MS and c > cut.cut_ms)
            late = sum(n for r, c, n in confirmations if reference <= c <= cut.cut_ms)
            cut.in_flight = in_flight
            cut.allowed_duplicates = in_flight + late
            if in_flight > MAX_IN_FLIGHT * BATCH:
                problems.append("cut %d: %d samples in flight, more than max_in_flight %d x "
                                "batch %d" % (cut.index, in_flight, MAX_IN_FLIGHT, BATCH))
            if cut.duplicates > cut.allowed_duplicates:
                problems.append("cut %d: %d duplicates, more than the %d in flight + %d "
                                "confirmed in the last sync window"
                                % (cut.index, cut.duplicates, in_flight, late))
            if cut.window_ms > WINDOW_BOUND_MS:
                problems.append("cut %d: lost the readings of the last %d ms (bound %d)"
                                % (cut.index, cut.window_ms, WINDOW_BOUND_MS))
        return problems

    def report(self, name, cuts, seed, t0):
        for c in cuts:
            print("power_cut: cut %2d %-4s broker %-4s ran %4d ms, last fsync %4s ms before, "
                  "unsynced pages %3d kept %3d, lost %2d samples, window %3d ms, in flight %3d, "
                  "duplicates %3d (allowed %3d); durable rows %3d, delivered runs %d"
                  % (c.index, c.mode, ("slow" if c.answer_delay_ms else "up") if c.broker_up
                     else "down", c.cut_ms - c.started_ms,
                     c.cut_ms - c.last_sync_ms if c.last_sync_ms else "-", c.pages, c.kept,
                     c.lost, c.window_ms, c.in_flight, c.duplicates, c.allowed_duplicates, c.rows,
                     c.delivered_runs),
                  file=sys.stderr)
        windows = [c.window_ms for c in cuts]
        print("power_cut: %s: seed %d, %d cuts in %.1f s; loss window max %d ms, median %d ms "
              "(bound %d); oldest lost sample read up to %d ms before the last fsync (margin %d); "
              "lost samples per cut max %d, total %d; duplicates per cut max %d, total %d; "
              "%d cuts with runs recorded delivered on disk"
              % (name, seed, len(cuts), time.monotonic() - t0, max(windows),
                 statistics.median(windows), WINDOW_BOUND_MS,
                 max(c.lost_before_sync_ms for c in cuts), COMMIT_MARGIN_MS,
                 max(c.lost for c in cuts), sum(c.lost for c in cuts),
                 max(c.duplicates for c in cuts), sum(c.duplicates for c in cuts),
                 sum(1 for c in cuts if c.delivered_runs)),
              file=sys.stderr)


def seed_of_run():
    return int(os.environ.get("KAA_POWERCUT_SEED") or random.SystemRandom().randrange(1 << 31))


class PowerCutTest(PowerCutPlant):

    def test_power_cuts_lose_only_the_last_unsynced_commits(self):
        t0 = time.monotonic()
        seed = seed_of_run()
        print("\npower_cut: seed %d (KAA_POWERCUT_SEED=%d repeats it)" % (seed, seed),
              file=sys.stderr)
        rng = random.Random(seed)
        n_cuts = int(os.environ.get("KAA_POWERCUT_CUTS") or (10 if h.sanitized_build() else 50))
        # The broker is down for ~30% of the runs, in stretches (2.5 runs on average); up
        # for the first two so that something is delivered before the first backlog.
        schedule, up = [], True
        for k in range(n_cuts):
            up = True if k < 2 else (rng.random() >= 0.17) if up else (rng.random() < 0.4)
            schedule.append(up)
        lie = os.environ.get("KAA_POWERCUT_LIE") == "1"
        broker, kpc = self.plant()
        cuts = self.run_cuts(broker, kpc, n_cuts, rng,
                                       lambda k: "lie" if lie else ("drop", "keep")[k % 2],
                                       schedule)
        problems = self.analyse(kpc, cuts)
        self.report("power cuts", cuts, seed, t0)
        self.assertEqual(problems, [], "\n  ".join(["%d problems:" % len(problems)] + problems))
        self.assertGreater(sum(c.lost for c in cuts), 0, "no cut lost anything: were the "
                           "cuts real?")
        self.assertGreater(sum(c.duplicates for c in cuts), 0, "no cut left a sample to send "
                           "again: were deliveries cut?")
        self.assertGreater(sum(len(c.confirmed) for c in cuts), 0, "no daemon logged a "
                           "confirmation at debug level: check (c) had nothing to judge by")

    def test_a_disk_that_lies_about_fsync_is_caught(self):
        t0 = time.monotonic()
        seed = seed_of_run()
        rng = random.Random(seed)
        n_cuts = 3
        broker, kpc = self.plant()
        # Runs long enough for a poll's sample to be fsynced (and lost) well before the cut.
        cuts = self.run_cuts(broker, kpc, n_cuts, rng, lambda k: "lie",
                                       [False] * n_cuts, down_delay_s=(1.0, 1.6))
        problems = self.analyse(kpc, cuts)
        self.report("lying disk", cuts, seed, t0)
        caught = {c.index for c in cuts
                  if any(p.startswith("cut %d: " % c.index) and "before the cut" in p
                         for p in problems)}
        self.assertEqual(caught, set(range(n_cuts)), "the checks missed a lying disk's losses:\n"
                         + "\n".join(problems))


if __name__ == "__main__":
    unittest.main()
