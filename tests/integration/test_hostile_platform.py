"""A hostile "platform" on the broker changes nothing: every sample still arrives, once confirmed.

Next to the KPC stand-in (which confirms every real request), a paho client publishes to
the gateway's reply topics: /status and /error for request ids the gateway never sent
and for tokens it does not serve, malformed JSON, wrong JSON types, 100,000 levels of
nesting, 10 MB payloads on /error and /status and a 10 MB reasonPhrase, command and
configuration pushes, and then 100,000 such messages in one burst while two meters are
polled every 200 ms. It also answers the gateway's first real requests with unreadable
/error payloads (which must hold the samples, never drop them).

Asserted: the daemon stays alive through it all; its RSS (VmRSS, sampled during and
after the flood) stays under RSS_BOUND_KIB; the log stays short (a bounded number of
lines, none longer than MAX_LINE) and names the problems; SIGTERM during a second flood
stops it within a few seconds with exit code 0; and no sample is lost: a second run
(meters unplugged) drains the buffer, after which the stand-in has seen exactly the
samples the first run reported delivered plus those it left in the buffer, each meter's
without a gap.
"""

import collections
import os
import re
import sys
import threading
import time
import unittest
import uuid

import paho.mqtt.client as mqtt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

APP = "demo_application_v1"
TOKENS = ("tok-hp-a", "tok-hp-b")
POLL_MS = 200
FLOOD = 100_000
# Measured on the 2-core CI machine (RelWithDebInfo, 6 runs): 10 MiB before the hostile
# messages, peaks of 27..33 MiB (a 10 MB payload passes through libmosquitto's buffers),
# 13..18 MiB after the flood. The AddressSanitizer build keeps freed memory in quarantine
# (it measured 45 MiB before and a 376 MiB peak): only a runaway is caught there.
RSS_BOUND_KIB = (1024 if h.sanitized_build() else 64) * 1024
# The sanitizer build works through a flood several times slower: its deadlines stretch.
SLOW = 3 if h.sanitized_build() else 1
MAX_LOG_LINES = 200
MAX_LINE = 1000
NEVER_SENT = 1_000_000  # request ids from here up: the gateway counts from 1
MB10 = 10 * 1024 * 1024


def reply(ext, token, rid, outcome):
    """The reply topic of a dcx or epmx request: .../<rid>/status or .../<rid>/error."""
    if ext == "dcx":
        return "kp1/%s/dcx/%s/json/%s/%s" % (APP, token, rid, outcome)
    return "kp1/%s/epmx/%s/update/keys/%s/%s" % (APP, token, rid, outcome)


def hostile_cases():
    """(topic, payload) of every kind of hostile message, small ones only."""
    cases = []
    bad_payloads = [b"", b"{", b"not json", b"\xff\xfe\x00", b"null", b"[400]", b"400",
                    b'{"statusCode":"400","reasonPhrase":"string code"}',
                    b'{"statusCode":400.0,"reasonPhrase":"float code"}',
                    b'{"statusCode":{"a":1},"reasonPhrase":["x"]}',
                    b'{"statusCode":400,"reasonPhrase":"never sent\\n[error] kaa: forged"}',
                    b'{"statusCode":99999999999999999999}',
                    b"[" * 2000, b'{"a":' * 2000]
    for i, payload in enumerate(bad_payloads):
        for ext in ("dcx", "epmx"):
            for token in TOKENS + ("stranger-%d" % i, "x" * 60_000):
                for outcome in ("status", "error"):
                    cases.append((reply(ext, token, NEVER_SENT + i, outcome), payload))
    cases += [
        ("kp1/%s/dcx/%s/json/0/status" % (APP, TOKENS[0]), b""),
        ("kp1/%s/dcx/%s/json/-5/error" % (APP, TOKENS[0]), b'{"statusCode":400}'),
        ("kp1/%s/dcx/%s/json/abc/error" % (APP, TOKENS[1]), b'{"statusCode":400}'),
        ("kp1/%s/dcx/%s/json/99999999999/status" % (APP, TOKENS[1]), b""),
        ("kp1/other_app/dcx/%s/json/1/error" % TOKENS[0], b'{"statusCode":400}'),
        ("kp1/%s/cex/%s/command/reboot/status" % (APP, TOKENS[0]),
         b'[{"id":1,"payload":{"delay":0}}]'),
        ("kp1/%s/cex/%s/command/reboot/status" % (APP, TOKENS[1]), b"[" * 5000),
        ("kp1/%s/cmx/%s/config/json/status" % (APP, TOKENS[0]),
         b'{"configId":"x","config":{"poll":"1ms"}}'),
        ("kp1/%s/cmx/%s/config/json/status" % (APP, TOKENS[1]), b"{{{{"),
    ]
    return cases


def huge_cases():
    """The large ones: deep nesting, 10 MB payloads, a 10 MB reasonPhrase."""
    deep = b"[" * 100_000
    nested = b"[" * 30_000 + b"]" * 30_000  # 60 KB: under the parse limit, parsed
    big_reason = b'{"statusCode":400,"reasonPhrase":"' + b"r" * MB10 + b'"}'
    out = []
    for token in TOKENS:
        out += [(reply("dcx", token, NEVER_SENT + 500, "error"), deep),
                (reply("dcx", token, NEVER_SENT + 501, "status"), deep),
                (reply("dcx", token, NEVER_SENT + 502, "error"), nested),
                (reply("epmx", token, NEVER_SENT + 503, "error"), nested),
                (reply("dcx", token, NEVER_SENT + 504, "error"), b"e" * MB10),
                (reply("dcx", token, NEVER_SENT + 505, "status"), b"s" * MB10),
                (reply("dcx", token, NEVER_SENT + 506, "error"), big_reason)]
    return out


# What the hostile client answers to the gateway's first real requests, ahead of (or after)
# the stand-in's /status: none of it may delete a sample.
ECHO_PAYLOADS = [
    b'{"statusCode":400,"reasonPhrase":"' + b"r" * MB10 + b'"}',
    b'{"statusCode":"400","reasonPhrase":"a string code"}',
    b"[" * 100_000,
    b"[" * 30_000 + b"]" * 30_000,
]


class HostileClient:
    """A paho client publishing as the platform would, and answering some real requests."""

    def __init__(self, port):
        self.connected = threading.Event()
        self.echoed = 0
        self.sent = 0
        self._lock = threading.Lock()
        self._echo_left = list(ECHO_PAYLOADS)
        self.client = mqtt.Client(client_id="hostile-" + uuid.uuid4().hex[:8],
                                  clean_session=True)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect_async(h.HOST, port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, rc):
        if rc == 0:
            client.subscribe("kp1/+/dcx/+/json/+", qos=0)
            self.connected.set()

    def _on_message(self, client, userdata, msg):
        with self._lock:
            if not self._echo_left:
                return
            payload = self._echo_left.pop(0)
        client.publish(msg.topic + "/error", payload, qos=0)
        self.echoed += 1

    def publish(self, topic, payload):
        info = self.client.publish(topic, payload, qos=0)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise AssertionError("hostile publish failed: %s" % mqtt.error_string(info.rc))
        self.sent += 1
        return info

    def flood(self, cases, count, stop=None):
        """Publishes `count` messages, then waits until they left: in turn one of `cases`,
        an /error 400 for a new stranger token, and a /status and an /error 400 for a new
        never-sent request id of a served token."""
        last = None
        error = b'{"statusCode":400,"reasonPhrase":"flood"}'
        for i in range(count):
            if stop is not None and stop.is_set():
                break
            kind = i % 4
            if kind == 0:
                topic, payload = cases[(i // 4) % len(cases)]
            elif kind == 1:
                topic, payload = reply("dcx", "stranger-%d" % i, i + 1, "error"), error
            else:
                outcome = "status" if kind == 2 else "error"
                topic = reply("dcx", TOKENS[i % 2], NEVER_SENT + i, outcome)
                payload = b"" if kind == 2 else error
            last = self.publish(topic, payload)
            if i % 2000 == 1999:
                last.wait_for_publish(60)  # at most 2000 waiting in paho: a stop is prompt
        if last is not None:
            last.wait_for_publish(60)

    def stop(self):
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - stopping must never fail
            pass
        self.client.loop_stop()


class RssSampler:
    """Samples a process's VmRSS (KiB) every 50 ms in a thread."""

    def __init__(self, pid):
        self.pid = pid
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.05):
            kib = rss_kib(self.pid)
            if kib is not None:
                self.samples.append(kib)

    def stop(self):
        self._stop.set()
        self._thread.join(2)

    def peak(self):
        return max(self.samples) if self.samples else None


def rss_kib(pid):
    """The process's resident set (VmRSS) in KiB, or None once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class HostilePlatformTest(h.IntegrationTest):

    def plant(self):
        broker = self.mosquitto().start()
        kpc = self.kpc(broker.port, mode="ok")
        sim_port = h.free_port()
        sim = self.simulator({"servers": [
            {"name": "hp-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": u, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 100 + u},
                ]} for u in (1, 2)]},
        ]})
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "hp-bus", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "1s"},
        ], meters=[
            {"name": "hp-meter-%d" % u, "token": TOKENS[u - 1], "bus": "hp-bus", "unit": u,
             "poll_interval": "%dms" % POLL_MS,
             "metadata": {"model": "hostile-platform-%d" % u},
             "registers": [{"name": "v", "address": 0, "function": "holding",
                            "type": "uint16"}]} for u in (1, 2)
        ], response_timeout="%ds" % (2 * SLOW))
        return broker, kpc, sim, config

    def distinct(self, kpc, token):
        return set(self.seen(kpc)[token])

    def counted(self, kpc, token):
        return sum(self.seen(kpc)[token].values())

    def seen(self, kpc):
        """{token: {read time: samples}} the stand-in saw, without the re-sent copies: per
        read time, the most samples one publish carried with it (a meter polled twice in
        one millisecond, as it is when it falls behind, gives two samples with one time).
        Folded in as requests arrive: going over every one at each look would take the
        interpreter from the stand-in's thread, whose answers would come late."""
        if not hasattr(self, "_seen"):
            self._seen = {t: collections.Counter() for t in TOKENS}
            self._seen_upto = 0
        requests = kpc.requests("dcx")
        for r in requests[self._seen_upto:]:
            body = r.json()
            batch = body if isinstance(body, list) else [body]
            most = self._seen.get(r.token)
            if most is None:
                continue
            for ts, n in collections.Counter(x["timestamp"] for x in batch).items():
                most[ts] = max(most[ts], n)
        self._seen_upto = len(requests)
        return self._seen

    def check_alive(self, gw, what):
        if not gw.alive():
            raise AssertionError("the gateway died %s (rc %s)\n%s"
                                 % (what, gw.returncode(), gw.tail()))

    def test_a_hostile_platform_neither_crashes_the_gateway_nor_deletes_a_sample(self):
        broker, kpc, sim, config = self.plant()
        gw = self.gateway(config)
        for token in TOKENS:
            h.wait_until(lambda: self.distinct(kpc, token), 15,
                         message=lambda: "first samples\n" + self.logs())
        # The stand-in answers late for a moment, so that the hostile answers to the first
        # real requests arrive first.
        kpc.delay = 0.5
        kpc.mode = "slow"
        hostile = self.track(HostileClient(broker.port))
        self.assertTrue(hostile.connected.wait(10), "the hostile client did not connect")
        log_start = len(gw.stderr().splitlines())
        rss_before = rss_kib(gw.pid)
        rss = RssSampler(gw.pid)
        self.addCleanup(rss.stop)

        # Every kind once, then the large ones, then the burst of 100,000.
        cases = hostile_cases()
        for topic, payload in cases:
            hostile.publish(topic, payload)
        for topic, payload in huge_cases():
            hostile.publish(topic, payload).wait_for_publish(30)
            self.check_alive(gw, "on a %d-byte message on %s" % (len(payload), topic[:80]))
        h.wait_until(lambda: hostile.echoed == len(ECHO_PAYLOADS), 15,
                     message="the hostile answers to real requests")
        kpc.mode = "ok"
        t_flood = time.monotonic()
        hostile.flood(cases, FLOOD)
        flood_s = time.monotonic() - t_flood
        self.check_alive(gw, "during the flood")
        # After the flood: the gateway catches up (samples read now reach the stand-in)
        # and its memory settles.
        t_after = h.now_ms()
        for token in TOKENS:
            h.wait_until(lambda: max(self.distinct(kpc, token)) > t_after + 1000, 20 * SLOW,
                         message=lambda: "samples after the flood\n" + self.logs())
        rss_after = rss_kib(gw.pid)
        rss.stop()
        peak = rss.peak()
        print("hostile platform: %d messages in %.1f s; RSS before %d KiB, peak %d KiB, "
              "after %d KiB (bound %d KiB)"
              % (hostile.sent, flood_s, rss_before, peak, rss_after, RSS_BOUND_KIB))
        self.assertLess(peak, RSS_BOUND_KIB)
        self.assertLess(rss_after, RSS_BOUND_KIB)

        # SIGTERM in the middle of a second flood: the signal goes ahead of the messages.
        stop_flood = threading.Event()
        sent_before = hostile.sent
        flooder = threading.Thread(target=hostile.flood, args=(cases, FLOOD, stop_flood),
                                   daemon=True)
        flooder.start()
        self.addCleanup(stop_flood.set)
        h.wait_until(lambda: hostile.sent > sent_before + 5_000, 30,
                     message="the second flood under way")
        t_term = time.monotonic()
        rc = gw.terminate(timeout=10)
        term_s = time.monotonic() - t_term
        stop_flood.set()
        flooder.join(30)
        self.assertFalse(flooder.is_alive(), "the second flood did not stop")
        hostile.stop()
        print("hostile platform: stopped %.2f s after SIGTERM, mid-flood" % term_s)
        self.assertEqual(rc, 0, gw.tail())
        self.assertLess(term_s, 5.0)

        # The log: the problems named, briefly.
        err = gw.stderr()
        lines = err.splitlines()[log_start:]
        self.assertLess(len(lines), MAX_LOG_LINES, "\n".join(lines[:50]))
        longest = max(len(line) for line in err.splitlines())
        self.assertLess(longest, MAX_LINE, "a log line of %d characters" % longest)
        self.assertRegex(err, r"\[warning\] kaa: ignored an /error for samples request \d+ of "
                              r"token \S+: not a request in flight")
        for token in TOKENS:
            # The hostile answers came first (the stand-in was slow then): held, sent again.
            self.assertRegex(err, r"\[error\] kaa: /error 0 '[^'\n]*' for samples of meter "
                                  r"hp-meter-\d \(token %s\)" % token)
        self.assertNotRegex(err, r"Kaa rejected")
        self.assertNotRegex(err, r"\n\[error\] kaa: forged")
        self.assertNotRegex(err, r"is failing")
        delivered = int(re.search(r"stopped; (\d+) samples delivered in this run", err).group(1))
        m = re.search(r"(\d+) samples wait in the buffer for the next start", err)
        waiting = int(m.group(1)) if m else 0

        # Nothing was deleted unconfirmed: with the meters unplugged, a second run drains
        # the buffer, and the stand-in then holds exactly delivered + waiting samples.
        sim.kill()
        gw2 = self.gateway(config, name="gatewayd-drain")
        gw2.wait_for_log(r"buffer \S+ open; %d samples from earlier runs wait" % waiting, 15)

        def all_there():
            return sum(self.counted(kpc, t) for t in TOKENS) >= delivered + waiting
        h.wait_until(all_there, 30 * SLOW, message=lambda: "the drained samples (%d + %d, seen %s)\n%s"
                     % (delivered, waiting, {t: self.counted(kpc, t) for t in TOKENS},
                        self.logs()))
        self.assertEqual(gw2.terminate(), 0, gw2.tail())
        self.assertEqual(sum(self.counted(kpc, t) for t in TOKENS), delivered + waiting,
                         {t: self.counted(kpc, t) for t in TOKENS})
        per_meter = {t: sorted(self.distinct(kpc, t)) for t in TOKENS}
        for token, stamps in per_meter.items():
            # A poll can come late while the flood keeps both cores busy: under the
            # sanitizers (SLOW) one came 638 ms after the one before it in CI, with no bus
            # error and every sample the daemon stored delivered (the exact count above);
            # polls missing in numbers fail the count of readings below.
            gaps = h.timestamp_gaps(stamps, int(2.5 * POLL_MS * SLOW))
            self.assertEqual(gaps, [], "%s: samples missing (timestamp, gap ms)" % token)
            expected = (stamps[-1] - stamps[0]) / POLL_MS
            self.assertGreaterEqual(len(stamps), int(0.8 * expected), token)
            for _, batch in h.dcx_publishes(kpc, token):
                for s in batch:
                    self.assertEqual(s["v"], 100 + TOKENS.index(token) + 1, s)
        print("hostile platform: %d samples, all delivered (%d in the first run, %d after)"
              % (delivered + waiting, delivered, waiting))


if __name__ == "__main__":
    unittest.main()
