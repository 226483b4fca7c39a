"""Watching what kaa-gatewayd publishes: a paho client on kp1/# and 1/KP payload helpers.

    col = MqttCollector(port).start()      # returns once subscribed
    col.samples("meter-001")               # DCX samples of one token, arrival order
    col.metadata("meter-001")              # EPMP update/keys payloads of one token
"""

import json
import re
import threading
import time
import uuid

import paho.mqtt.client as mqtt  # python3-paho-mqtt (1.6)

HOST = "127.0.0.1"

DCX_RE = re.compile(r"^kp1/([^/]+)/dcx/([^/]+)/json/([^/]+)$")
EPMX_RE = re.compile(r"^kp1/([^/]+)/epmx/([^/]+)/update/keys/([^/]+)$")


class Message:
    __slots__ = ("topic", "payload", "received", "_json")

    def __init__(self, topic, payload, received):
        self.topic = topic
        self.payload = payload
        self.received = received
        self._json = None

    def json(self):
        """The payload decoded as JSON, decoded once (the caller must not change it)."""
        if self._json is None:
            self._json = json.loads(self.payload.decode("utf-8"))
        return self._json

    def __repr__(self):
        return "Message(%r, %r)" % (self.topic, self.payload[:120])


class MqttCollector:
    """A paho client subscribed to kp1/# recording (topic, payload, receive time)."""

    def __init__(self, port, host=HOST, topic="kp1/#"):
        self.port = port
        self.host = host
        self.topic = topic
        self._lock = threading.Lock()
        self._messages = []
        self._subscribed = threading.Event()
        self._client = mqtt.Client(client_id="kaa-it-collector-" + uuid.uuid4().hex[:8],
                                   clean_session=True)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *a: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)

    def start(self, timeout=10.0):
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise AssertionError("MQTT collector not subscribed within %.1fs" % timeout)
        return self

    def stop(self):
        try:
            self._client.disconnect()
        except Exception:  # noqa: BLE001
            pass
        self._client.loop_stop()

    def _on_connect(self, client, userdata, flags, rc):
        if rc == 0:
            self._subscribed.clear()
            client.subscribe(self.topic, qos=1)

    def _on_message(self, client, userdata, msg):
        m = Message(msg.topic, bytes(msg.payload), time.time())
        with self._lock:
            self._messages.append(m)

    def messages(self):
        with self._lock:
            return list(self._messages)

    def requests(self):
        """Messages that are requests (not /status or /error answers)."""
        return [m for m in self.messages()
                if not (m.topic.endswith("/status") or m.topic.endswith("/error"))]

    def dcx(self, token=None):
        return [m for m in self.messages()
                if DCX_RE.match(m.topic) and (token is None or DCX_RE.match(m.topic).group(2) == token)]

    def epmx(self, token=None):
        return [m for m in self.messages()
                if EPMX_RE.match(m.topic)
                and (token is None or EPMX_RE.match(m.topic).group(2) == token)]

    def samples(self, token):
        """Every sample published for `token`, in arrival order (arrays flattened)."""
        return samples_of(self.dcx(token))

    def metadata(self, token):
        """Every metadata object published for `token`, in arrival order."""
        return [m.json() for m in self.epmx(token)]


def samples_of(messages):
    """Flattens DCX payloads (a JSON array of samples, or since Kaa 1.3 one object)."""
    out = []
    for m in messages:
        body = m.json()
        if isinstance(body, list):
            out.extend(body)
        else:
            out.append(body)
    return out


def unique_by_timestamp(samples):
    """First occurrence of each timestamp (re-sent batches may deliver a sample twice)."""
    seen = set()
    out = []
    for s in samples:
        ts = s.get("timestamp")
        if ts in seen:
            continue
        seen.add(ts)
        out.append(s)
    return out
