#!/usr/bin/python3
"""A small stand-in for Kaa's KPC (Kaa Protocol Communication service) on a real broker.

It subscribes to the data-collection and metadata request topics of 1/KP,

    kp1/<app>/dcx/<token>/json/<rid>
    kp1/<app>/epmx/<token>/update/keys/<rid>

and answers each request the way KPC would:

    ok      an empty payload on <topic>/status at once
    error   {"statusCode": <code>, "reasonPhrase": "..."} on <topic>/error
    silent  no answer at all (the gateway must re-send after its response timeout)
    slow    an empty payload on <topic>/status after --delay seconds

Requests without a positive integer request id are recorded but never answered
(fire and forget, as in 1/KP). Every request is recorded with its arrival time.

Commands (11/CEP): push_command() publishes a command to an endpoint the way Kaa does,
on kp1/<app>/cex/<token>/command/<type>/status, and keeps it pending until a result
for its id arrives on kp1/<app>/cex/<token>/result/<type>/<rid> (recorded, answered
on <topic>/status). A request for pending commands (kp1/<app>/cex/<token>/command/
<type>/<rid>, e.g. {"observe": true}) is answered on <topic>/status with the pending
ones of that token and type.

Configuration (7/CMP): push_config() publishes a configuration to an endpoint on
kp1/<app>/cmx/<token>/config/json/status and keeps it as the endpoint's current one,
which a request on kp1/<app>/cmx/<token>/config/json/<rid> gets on <topic>/status ({}
when the request names the current configId). Reports on kp1/<app>/cmx/<token>/
applied/json/<rid> are recorded (config_reports()) and answered on <topic>/status.

Command line (runs until SIGINT/SIGTERM, then prints its counters):

    kpc_standin.py --port 1883 [--host 127.0.0.1] [--mode ok|error|silent|slow]
                   [--error-code 400] [--delay 2.0]

Library:

    kpc = KpcStandin(port, mode="ok")
    kpc.start()              # returns once subscribed
    ... kpc.answered, kpc.requests() ...
    kpc.push_command("av", "token", "write", 7, {"setpoint": 21.5})
    kpc.command_results("token", "write")   # [{"id": 7, "statusCode": 200, ...}]
    kpc.stop()
"""

import argparse
import json
import re
import signal
import sys
import threading
import time
import uuid

import paho.mqtt.client as mqtt

REQUEST_TOPICS = ("kp1/+/dcx/+/json/+", "kp1/+/epmx/+/update/keys/+",
                  "kp1/+/cex/+/command/+/+", "kp1/+/cex/+/result/+/+",
                  "kp1/+/cmx/+/config/json/+", "kp1/+/cmx/+/applied/json/+")
MODES = ("ok", "error", "silent", "slow")

# kp1/<app>/<ext>/<token>/<resource path...>/<rid>
_REQUEST_RE = re.compile(r"^kp1/([^/]+)/(dcx|epmx)/([^/]+)/(json|update/keys)/([^/]+)$")
# kp1/<app>/cex/<token>/(command|result)/<type>/<rid>
_CMX_RE = re.compile(r"^kp1/([^/]+)/cmx/([^/]+)/(config|applied)/json/([1-9][0-9]*)$")
_CEX_RE = re.compile(r"^kp1/([^/]+)/cex/([^/]+)/(command|result)/([^/]+)/([1-9][0-9]*)$")


class Request:
    """One request KPC received: where, what, when, and how it was answered."""

    def __init__(self, topic, payload, received):
        self.topic = topic
        self.payload = payload
        self.received = received
        m = _REQUEST_RE.match(topic)
        self.app_version = m.group(1) if m else None
        self.extension = m.group(2) if m else None
        self.token = m.group(3) if m else None
        rid = m.group(5) if m else ""
        self.request_id = int(rid) if rid.isdigit() and int(rid) > 0 else None
        self.answer = None  # "status", "error" or None
        self._json = None

    def json(self):
        """The payload decoded as JSON (raises ValueError when it is not JSON).

        Decoded once and kept: tests poll the growing list of requests many times a
        second, and re-decoding every payload on each poll costs real CPU on a small
        machine. The caller must not change the object it gets."""
        if self._json is None:
            self._json = json.loads(self.payload.decode("utf-8"))
        return self._json

    def __repr__(self):
        return "Request(%r, %r, answer=%r)" % (self.topic, self.payload[:80], self.answer)


class KpcStandin:
    """Answers 1/KP dcx and epmx requests on a broker; usable in-process or from the CLI."""

    def __init__(self, port, host="127.0.0.1", mode="ok", error_code=400, delay=2.0,
                 client_id=None, username=None, password=None):
        if mode not in MODES:
            raise ValueError("mode must be one of %s, not %r" % (", ".join(MODES), mode))
        self.host = host
        self.port = port
        self.mode = mode
        self.error_code = error_code
        self.delay = delay
        self._lock = threading.Lock()
        self._requests = []
        self._timers = []
        self._subscribed = threading.Event()
        self._pending_subs = set()
        self.answered = 0          # responses published (status or error)
        self.answered_status = 0
        self.answered_error = 0
        self.connects = 0          # successful CONNACKs (reconnects included)
        self._pending = {}         # (token, type) -> [command], until a result arrives
        self._results = []         # (token, type, result item, time) in arrival order
        self.observe_requests = []  # (token, type, payload) of requests for pending commands
        self._configs = {}         # token -> {"configId": ..., "config": ...}
        self._reports = []         # (token, report body) of applied/json reports
        self.config_requests = []  # (token, payload) of configuration requests
        self._client = mqtt.Client(client_id=client_id or "kpc-standin-" + uuid.uuid4().hex[:8],
                                   clean_session=True)
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.on_disconnect = self._on_disconnect
        self._client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)

    # ---- lifecycle -------------------------------------------------------------------

    def start(self, timeout=10.0):
        """Connects (retrying until the broker is there) and returns once subscribed."""
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise TimeoutError("KPC stand-in: not subscribed on %s:%d within %.1fs"
                               % (self.host, self.port, timeout))
        return self

    def wait_subscribed(self, timeout=10.0):
        """After a broker restart: waits until the stand-in has subscribed again.

        The flag is cleared when the connection drops (see _on_disconnect), so after
        a broker kill this waits for the new subscription instead of returning at once
        on the old one. paho notices a kill -9 of the broker within a moment (the
        socket closes); wait for the broker's port to close before restarting it."""
        return self._subscribed.wait(timeout)

    def stop(self):
        """Cancels pending slow answers and disconnects."""
        with self._lock:
            timers, self._timers = self._timers, []
        for t in timers:
            t.cancel()
        try:
            self._client.disconnect()
        except Exception:  # noqa: BLE001 - stopping must never fail
            pass
        self._client.loop_stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- what was seen ---------------------------------------------------------------

    def requests(self, extension=None, token=None):
        """A copy of the recorded requests, optionally filtered by extension and token."""
        with self._lock:
            reqs = list(self._requests)
        return [r for r in reqs
                if (extension is None or r.extension == extension)
                and (token is None or r.token == token)]

    def push_command(self, app_version, token, command_type, command_id, payload=None):
        """Pushes one command as Kaa does (no request id) and keeps it pending."""
        item = {"id": command_id}
        if payload is not None:
            item["payload"] = payload
        with self._lock:
            self._pending.setdefault((token, command_type), []).append(item)
        topic = "kp1/%s/cex/%s/command/%s/status" % (app_version, token, command_type)
        self._client.publish(topic, json.dumps([item]).encode(), qos=1).wait_for_publish(5)

    def command_results(self, token=None, command_type=None):
        """Result items received, in arrival order, optionally for one token and type."""
        with self._lock:
            results = list(self._results)
        return [item for (tok, typ, item, _) in results
                if (token is None or tok == token)
                and (command_type is None or typ == command_type)]

    def push_config(self, app_version, token, config_id, config):
        """Pushes a configuration as Kaa does and keeps it as the endpoint's current one."""
        body = {"configId": config_id, "config": config}
        with self._lock:
            self._configs[token] = body
        topic = "kp1/%s/cmx/%s/config/json/status" % (app_version, token)
        self._client.publish(topic, json.dumps(body).encode(), qos=1).wait_for_publish(5)

    def config_reports(self, token=None):
        """applied/json report bodies received, in arrival order."""
        with self._lock:
            reports = list(self._reports)
        return [body for (tok, body) in reports if token is None or tok == token]

    def _on_cmx(self, m, msg):
        _, token, resource, _ = m.groups()
        try:
            body = json.loads(bytes(msg.payload).decode("utf-8") or "{}")
        except ValueError:
            body = None
        if resource == "config":
            with self._lock:
                self.config_requests.append((token, bytes(msg.payload)))
                current = self._configs.get(token)
            unchanged = (current is None or not isinstance(body, dict)
                         or body.get("configId") == current["configId"])
            answer = {} if unchanged else current
            self._client.publish(msg.topic + "/status", json.dumps(answer).encode(), qos=1)
            return
        with self._lock:
            self._reports.append((token, body))
        self._client.publish(msg.topic + "/status", b"", qos=1)

    def pending_commands(self, token, command_type):
        with self._lock:
            return list(self._pending.get((token, command_type), []))

    def request_count(self):
        with self._lock:
            return len(self._requests)

    # ---- paho callbacks --------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, rc):
        if rc != 0:
            return
        self.connects += 1
        self._subscribed.clear()
        result, mid = client.subscribe([(t, 1) for t in REQUEST_TOPICS])
        if result == mqtt.MQTT_ERR_SUCCESS:
            with self._lock:
                self._pending_subs.add(mid)

    def _on_disconnect(self, client, userdata, rc):
        self._subscribed.clear()

    def _on_subscribe(self, client, userdata, mid, granted_qos):
        with self._lock:
            self._pending_subs.discard(mid)
            done = not self._pending_subs
        if done:
            self._subscribed.set()

    def _on_cex(self, m, msg):
        _, token, resource, command_type, _ = m.groups()
        if resource == "command":
            with self._lock:
                self.observe_requests.append((token, command_type, bytes(msg.payload)))
                pending = list(self._pending.get((token, command_type), []))
            self._client.publish(msg.topic + "/status", json.dumps(pending).encode(), qos=1)
            return
        try:
            items = json.loads(bytes(msg.payload).decode("utf-8"))
        except ValueError:
            self._client.publish(msg.topic + "/error", json.dumps(
                {"statusCode": 400, "reasonPhrase": "not JSON"}).encode(), qos=1)
            return
        now = time.time()
        with self._lock:
            for item in items if isinstance(items, list) else [items]:
                self._results.append((token, command_type, item, now))
                key = (token, command_type)
                self._pending[key] = [c for c in self._pending.get(key, [])
                                      if c["id"] != item.get("id")]
        self._client.publish(msg.topic + "/status", b"", qos=1)

    def _on_message(self, client, userdata, msg):
        m = _CEX_RE.match(msg.topic)
        if m:
            self._on_cex(m, msg)
            return
        m = _CMX_RE.match(msg.topic)
        if m:
            self._on_cmx(m, msg)
            return
        if "/cex/" in msg.topic or "/cmx/" in msg.topic:
            return  # our own pushes and answers, echoed by the broker
        req = Request(msg.topic, bytes(msg.payload), time.time())
        with self._lock:
            self._requests.append(req)
        if req.request_id is None or self.mode == "silent":
            return
        if self.mode == "ok":
            self._answer(req)
        elif self.mode == "error":
            self._answer(req)
        elif self.mode == "slow":
            timer = threading.Timer(self.delay, self._answer, args=(req,))
            timer.daemon = True
            with self._lock:
                self._timers.append(timer)
            timer.start()

    def _answer(self, req):
        if self.mode == "error":
            body = json.dumps({"statusCode": self.error_code,
                               "reasonPhrase": "rejected by KPC stand-in"}).encode()
            info = self._client.publish(req.topic + "/error", body, qos=1)
            kind = "error"
        else:
            info = self._client.publish(req.topic + "/status", b"", qos=1)
            kind = "status"
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return  # not connected: the gateway re-sends, and we answer that one
        with self._lock:
            req.answer = kind
            self.answered += 1
            if kind == "status":
                self.answered_status += 1
            else:
                self.answered_error += 1


def main(argv=None):
    parser = argparse.ArgumentParser(description="KPC stand-in: answers 1/KP dcx/epmx requests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--error-code", type=int, default=400)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds, for --mode slow")
    args = parser.parse_args(argv)

    kpc = KpcStandin(args.port, host=args.host, mode=args.mode,
                     error_code=args.error_code, delay=args.delay)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    kpc.start(timeout=60.0)
    print("kpc-standin: listening on %s:%d, mode %s" % (args.host, args.port, args.mode),
          file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    kpc.stop()
    print("kpc-standin: %d requests, %d answered (%d status, %d error)"
          % (kpc.request_count(), kpc.answered, kpc.answered_status, kpc.answered_error),
          file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
