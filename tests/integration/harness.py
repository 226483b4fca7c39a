"""Harness for kaa-gateway's integration tests: real processes, real broker, real ptys.

Everything listens on 127.0.0.1 only. Every process is started in its own process
group and killed (group-wide) when the test ends, pass or fail. Tests wait for
events with wait_until()/wait_for_log() and a deadline, never with a bare sleep.

Binaries come from $KAA_BUILD_DIR (ctest sets it), default <repo>/build.
KAA_IT_KEEP=1 keeps each test's workspace (configs, logs) and prints its path.
Helpers shared with tools live in tests/support/ (kpc_standin, mqtt_collector,
modbus_values, pymodbus_server, hostile_modbus_peer); the importable ones are
re-exported here.
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "tests" / "support"
sys.path.insert(0, str(SUPPORT))

# Re-exported for the tests: everything is reachable as harness.<name>.
from kpc_standin import KpcStandin  # noqa: E402,F401
from modbus_values import (float32_published, raw_modbus_read,  # noqa: E402,F401
                           raw_modbus_write_register, same_value, scaled, words_of)
from mqtt_collector import (DCX_RE, EPMX_RE, Message, MqttCollector,  # noqa: E402,F401
                            samples_of, unique_by_timestamp)

HOST = "127.0.0.1"
PYTHON = "/usr/bin/python3"
MOSQUITTO = "/usr/sbin/mosquitto"
SOCAT = "/usr/bin/socat"


# --------------------------------------------------------------------------------------
# Waiting


def wait_until(predicate, timeout, interval=0.05, message=None):
    """Polls predicate() until it returns something truthy, which is returned.

    Raises AssertionError after `timeout` seconds; `message` may be a string or a
    callable producing one (evaluated only on failure, e.g. to include log tails).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, text or getattr(predicate, "__name__", "condition")))
        time.sleep(interval)


def wait_seconds(seconds):
    """Lets `seconds` of wall-clock time pass on purpose (a test's time window, not an event)."""
    end = time.monotonic() + seconds
    wait_until(lambda: time.monotonic() >= end, seconds + 5, interval=0.02)


def dcx_publishes(kpc, token):
    """[(request, [samples])] of a token's DCX publishes the KPC stand-in saw, in arrival order."""
    out = []
    for r in kpc.requests("dcx", token):
        body = r.json()
        out.append((r, body if isinstance(body, list) else [body]))
    return out


def dcx_timestamps(kpc, token):
    """The distinct sample timestamps of a token the KPC stand-in saw, sorted."""
    return sorted({s["timestamp"] for _, ss in dcx_publishes(kpc, token) for s in ss})


def timestamp_gaps(stamps, limit_ms):
    """(timestamp, gap) for every gap between consecutive timestamps longer than limit_ms."""
    stamps = sorted(stamps)
    return [(a, b - a) for a, b in zip(stamps, stamps[1:]) if b - a > limit_ms]


def now_ms():
    return int(time.time() * 1000)


# --------------------------------------------------------------------------------------
# Ports and binaries


# Ports the tests hand out: below the kernel's ephemeral range (32768-60999 on Debian), so
# that no outgoing connection (a daemon to its broker, a client to a meter) takes a port
# between the moment it is found free and the moment the test's server binds it; and
# claimed with a file in PORT_CLAIMS, so that two tests running at once (ctest -j4,
# pytest -n) never get the same one. A claim older than PORT_CLAIM_S is stale.
PORT_RANGE = (20000, 32000)
PORT_CLAIMS = Path(tempfile.gettempdir()) / "kaa-it-ports"
PORT_CLAIM_S = 600


def _claim(port):
    """True when this process now holds the claim on `port`."""
    PORT_CLAIMS.mkdir(exist_ok=True)
    path = PORT_CLAIMS / str(port)
    try:
        if time.time() - path.stat().st_mtime > PORT_CLAIM_S:
            path.unlink()
    except FileNotFoundError:
        pass
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        return True
    except FileExistsError:
        return False


def free_port():
    """A TCP port on 127.0.0.1 that is free, outside the ephemeral range, and not handed to
    any other test of the last PORT_CLAIM_S seconds."""
    import random
    rng = random.Random()
    for _ in range(2000):
        port = rng.randrange(*PORT_RANGE)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        if _claim(port):
            return port
    raise AssertionError("no free port in %d-%d" % PORT_RANGE)


def port_accepts(port, host=HOST):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def build_dir():
    return Path(os.environ.get("KAA_BUILD_DIR", str(REPO / "build")))


def binary(name):
    path = build_dir() / name
    if not path.is_file() or not os.access(path, os.X_OK):
        raise AssertionError("binary %s not found (set KAA_BUILD_DIR to the build directory)" % path)
    return str(path)


def gatewayd():
    return binary("kaa-gatewayd")


def sanitizer():
    """The sanitizer the binaries are built with: "address" (KAA_SANITIZE=ON, ASan+UBSan),
    "thread" (KAA_SANITIZE_THREAD=ON, ThreadSanitizer), or None for a plain build."""
    try:
        cache = (build_dir() / "CMakeCache.txt").read_text()
    except FileNotFoundError:
        return None
    for option, name in (("KAA_SANITIZE", "address"), ("KAA_SANITIZE_THREAD", "thread")):
        if re.search(r"^%s:BOOL=ON$" % option, cache, re.MULTILINE):
            return name
    return None


def sanitized_build():
    """True when the binaries are a sanitizer build (see sanitizer()): their memory
    figures include the sanitizer's shadow memory (and ASan's quarantine), and they run
    several times slower."""
    return sanitizer() is not None


def gateway_tool():
    return binary("kaa-gateway")


# --------------------------------------------------------------------------------------
# Config files


def _yaml_scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a double-quoted YAML scalar
    raise TypeError("cannot write %r as YAML" % (v,))


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts, lists and scalars (strings always double-quoted)."""
    pad = " " * indent
    lines = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, k))
                lines.append(to_yaml(v, indent + 2))
            elif isinstance(v, dict):
                lines.append("%s%s: {}" % (pad, k))
            elif isinstance(v, list):
                lines.append("%s%s: []" % (pad, k))
            else:
                lines.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 2)
                lines.append(pad + "- " + body[indent + 2:])
            else:
                lines.append("%s- %s" % (pad, _yaml_scalar(item)))
    else:
        lines.append(pad + _yaml_scalar(obj))
    return "\n".join(lines)


class Workspace:
    """A temporary directory for one test's config files, logs, ptys and buffer.

    Removed when the test ends unless KAA_IT_KEEP=1 (then its path is printed)."""

    def __init__(self, prefix="kaa-it-"):
        # mkdtemp + rmtree rather than TemporaryDirectory: KAA_IT_KEEP=1 must survive exit.
        self.path = Path(tempfile.mkdtemp(prefix=prefix))

    def file(self, name):
        return self.path / name

    def write(self, name, text):
        p = self.path / name
        p.write_text(text)
        return str(p)

    def write_yaml(self, name, obj):
        return self.write(name, to_yaml(obj) + "\n")

    def cleanup(self):
        if os.environ.get("KAA_IT_KEEP"):
            print("kaa-it: kept workspace %s" % self.path, file=sys.stderr)
            return
        shutil.rmtree(self.path, ignore_errors=True)


def gateway_config(ws, mqtt_port, buses, meters, app_version="demo_application_v1", **kaa):
    """A gateway config dict on 127.0.0.1:mqtt_port with a buffer inside the workspace."""
    kaa_section = {
        "host": HOST,
        "port": mqtt_port,
        "app_version": app_version,
        "client_id": "kaa-it-" + uuid.uuid4().hex[:8],
        "keepalive": "10s",
        "qos": 1,
        "delivery": "status",
        "response_timeout": "3s",
        "reconnect": {"min_delay": "200ms", "max_delay": "1s"},
    }
    kaa_section.update(kaa)
    return {
        "kaa": kaa_section,
        "buffer": {"path": str(ws.file("buffer.db")), "max_size": "64MiB",
                   "overflow": "drop-oldest", "batch": 500},
        # Each daemon its own socket: tests run side by side, and /run/kaa-gateway is the
        # service's.
        "status": {"socket": str(ws.file("status.sock"))},
        # Test machines run no NTP client (the kernel reports the clock unsynchronised):
        # send at once; the waiting for a sync is tested in simulated time
        # (tests/unit/core_clock_watch_test.cpp, tests/unit/buffer_shift_read_times_test.cpp).
        "clock": {"max_unsynced": "0s"},
        "buses": buses,
        "meters": meters,
    }


PROMTOOL = "/usr/bin/promtool"


def promtool_problems(text):
    """What `promtool check metrics` says is wrong with Prometheus text ("" when nothing)."""
    if not os.path.exists(PROMTOOL):
        return "promtool (Debian package prometheus) is not installed: scripts/install-deps.sh " \
               "installs it"
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, text=True,
                           capture_output=True, timeout=30)
    return "" if check.returncode == 0 else check.stdout + check.stderr


# --------------------------------------------------------------------------------------
# Processes

_live = set()
_live_lock = threading.Lock()


def _kill_all_at_exit():
    with _live_lock:
        procs = list(_live)
    for p in procs:
        p.kill()


atexit.register(_kill_all_at_exit)


def _on_sigterm(signum, frame):
    # ctest's timeout or a CI cancel: take every child down with us, now.
    _kill_all_at_exit()
    os._exit(128 + signum)


if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _on_sigterm)

SETPRIV = "/usr/bin/setpriv"


def _with_pdeathsig(argv):
    """Children get SIGKILL if the test process dies without cleaning up (even kill -9).

    setpriv sets PR_SET_PDEATHSIG and execs the command (same pid). Spawn from the
    main thread only: the signal fires when the spawning thread exits.
    """
    if os.path.exists(SETPRIV):
        return [SETPRIV, "--pdeathsig", "KILL", "--"] + list(argv)
    return list(argv)


class Process:
    """A child process in its own process group; stdout and stderr go to files."""

    def __init__(self, argv, ws, name, env=None):
        self.argv = [str(a) for a in argv]
        self.name = name
        self.stderr_path = ws.file(name + ".stderr")
        self.stdout_path = ws.file(name + ".stdout")
        self.env = env
        self.popen = None
        self.started_at = None

    def start(self):
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            env = dict(os.environ)
            env.pop("JOURNAL_STREAM", None)  # plain "[level] component: message" lines
            if self.env:
                env.update(self.env)
            self.popen = subprocess.Popen(_with_pdeathsig(self.argv), stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=err, env=env,
                                          start_new_session=True)
        self.started_at = time.time()
        with _live_lock:
            _live.add(self)
        return self

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def returncode(self):
        return self.popen.poll() if self.popen else None

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stdout(self):
        try:
            return self.stdout_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines=40):
        text = self.stderr().splitlines()[-lines:]
        return "---- %s (pid %s, rc %s) stderr tail ----\n%s" % (
            self.name, self.popen.pid if self.popen else "-", self.returncode(), "\n".join(text))

    def wait_for_log(self, pattern, timeout, flags=re.MULTILINE):
        """Waits until stderr matches `pattern`; returns the match. Fails early if the process exits."""
        rx = re.compile(pattern, flags)

        def seen():
            m = rx.search(self.stderr())
            if m:
                return m
            if not self.alive():
                m = rx.search(self.stderr())
                if m:
                    return m
                raise AssertionError("%s exited (rc %s) before logging /%s/\n%s"
                                     % (self.name, self.returncode(), pattern, self.tail()))
            return None

        return wait_until(seen, timeout, message=lambda: "/%s/ in %s's log\n%s"
                          % (pattern, self.name, self.tail()))

    def signal(self, sig):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def terminate(self, timeout=10.0):
        """SIGTERM, then waits for exit; returns the exit code (SIGKILLs the group on timeout)."""
        if self.popen is None:
            return None
        if self.alive():
            os.kill(self.popen.pid, signal.SIGTERM)
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("%s did not exit within %.1fs of SIGTERM\n%s"
                                 % (self.name, timeout, self.tail()))
        self._reap_group()
        return rc

    def kill(self):
        """SIGKILL to the whole process group, then reaps."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        with _live_lock:
            _live.discard(self)

    def _reap_group(self):
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # leftovers of the group, if any
        except (ProcessLookupError, PermissionError):
            pass
        with _live_lock:
            _live.discard(self)


# ---- secrets: every password and private key a test makes is registered, and every test's
# logs and command outputs are searched for them when it ends (IntegrationTest).

_secrets = set()
_run_outputs = []  # (command, stdout + stderr) of run() since the current test started


def run_cleanups(fns):
    """Runs the clean-up functions last first, each whatever the others raise (a
    benchmark's broker, daemon and simulators, stopped after a failure too)."""
    for fn in reversed(fns):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - clean up the rest regardless
            print("bench: cleanup: %s" % e, file=sys.stderr)


def register_secret(text):
    """Marks `text` (a password, a line of a private key) as never to appear in output."""
    text = text.strip()
    if len(text) >= 6:
        _secrets.add(text)


def register_key_file(path):
    """Registers the body lines of a PEM private key file as secrets."""
    with open(path) as f:
        for line in f:
            if not line.startswith("-----"):
                register_secret(line)


def find_secrets(text, secrets=None):
    """The registered secrets (or `secrets`) that occur in text, each masked to its first
    two characters."""
    return sorted(s[:2] + "..." for s in (_secrets if secrets is None else secrets)
                  if s in text)


def run(argv, timeout=30.0, env=None, cwd=None):
    """Runs a command to completion; returns CompletedProcess with text stdout/stderr."""
    full_env = dict(os.environ)
    full_env.pop("JOURNAL_STREAM", None)
    if env:
        full_env.update(env)
    done = subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, env=full_env, start_new_session=True,
                          cwd=cwd)
    # Named by the program and its options only: an argument may be a secret itself.
    label = " ".join([os.path.basename(str(argv[0]))] +
                     [str(a) for a in argv[1:] if str(a).startswith("-") or str(a) == "status"])
    _run_outputs.append((label,
                         (done.stdout or "") + (done.stderr or "")))
    return done


# --------------------------------------------------------------------------------------
# Peers: mosquitto, socat, the simulator, the gateway


OPENSSL = "/usr/bin/openssl"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"


def make_tls_files(ws, name="tls"):
    """A test CA and a server certificate for 127.0.0.1 signed by it, made with openssl in
    the workspace; returns {"ca": ..., "cert": ..., "key": ..., "ca_key": ...} paths."""
    d = ws.file(name)
    d.mkdir(exist_ok=True)
    paths = {k: str(d / f) for k, f in (("ca", "ca.pem"), ("ca_key", "ca.key"),
                                        ("cert", "server.pem"), ("key", "server.key"))}
    csr, ext = str(d / "server.csr"), str(d / "server.ext")
    Path(ext).write_text("subjectAltName=IP:127.0.0.1\n")
    steps = [
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=kaa-it %s CA" % ("test" if name == "tls" else name),
         "-keyout", paths["ca_key"], "-out", paths["ca"]],
        [OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", paths["key"], "-out", csr],
        [OPENSSL, "x509", "-req", "-in", csr, "-CA", paths["ca"], "-CAkey", paths["ca_key"],
         "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", paths["cert"]],
    ]
    for argv in steps:
        done = run(argv, timeout=60)
        if done.returncode != 0:
            raise AssertionError("%s failed (rc %d)\n%s" % (" ".join(argv[:3]), done.returncode,
                                                             done.stdout + done.stderr))
    register_key_file(paths["key"])
    register_key_file(paths["ca_key"])
    return paths


_CA_CONFIG = """[ca]
default_ca = test
[test]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
[ext]
subjectAltName = %s
"""


def make_certificate(ws, tls, name, cn, san="IP:127.0.0.1", start=None, end=None):
    """A certificate (and its new key) for `cn` with subjectAltName `san` (None: none),
    signed by the CA of `tls` (make_tls_files' paths), valid from `start` to `end`
    (openssl's YYYYMMDDHHMMSSZ; default: from now for 2 days). Returns {"cert", "key"}."""
    d = Path(tls["ca"]).parent / name
    d.mkdir(exist_ok=True)
    key, csr, cert = str(d / "key.pem"), str(d / "req.csr"), str(d / "cert.pem")
    (d / "index.txt").write_text("")
    (d / "serial").write_text("%02x\n" % (abs(hash(name)) % 250 + 2))
    conf = d / "ca.cnf"
    conf.write_text(_CA_CONFIG % (san or "email:none@invalid"))
    dates = (["-startdate", start] if start else []) + (["-enddate", end] if end else
                                                        ["-days", "2"])
    steps = [
        [OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
         "-keyout", key, "-out", csr],
        [OPENSSL, "ca", "-batch", "-config", str(conf), "-cert", tls["ca"], "-keyfile",
         tls["ca_key"], "-in", csr, "-out", cert, "-extensions", "ext", "-notext"] + dates,
    ]
    for argv in steps:
        done = run(argv, timeout=60, cwd=str(d))
        if done.returncode != 0:
            raise AssertionError("%s failed (rc %d)\n%s" % (" ".join(argv[:3]), done.returncode,
                                                             done.stdout + done.stderr))
    register_key_file(key)
    return {"cert": cert, "key": key}


def make_password_file(ws, username, password, name="mosquitto.passwd"):
    """A mosquitto password file (hashed) for one user; returns its path."""
    path = str(ws.file(name))
    register_secret(password)
    done = run([MOSQUITTO_PASSWD, "-b", "-c", path, username, password])
    if done.returncode != 0:
        raise AssertionError("mosquitto_passwd failed\n" + done.stdout + done.stderr)
    return path


class Mosquitto:
    """The real mosquitto broker on 127.0.0.1:<port>; can be stopped, killed and restarted.

    With tls (make_tls_files' paths) `port` is a TLS listener and `plain_port` a second,
    plain one on the same broker (for the stand-ins); tls_version ("tlsv1.2", "tlsv1.3")
    and require_certificate (clients must show a certificate signed by tls["ca"]) apply to
    it; max_tls ("TLSv1.2") caps what it speaks, through an OpenSSL configuration of its own
    (mosquitto's tls_version is a minimum). With password_file (see make_password_file)
    clients must log in."""

    def __init__(self, ws, port=None, tls=None, password_file=None, tls_version=None,
                 require_certificate=False, max_tls=None):
        self.ws = ws
        self.port = port or free_port()
        self.plain_port = free_port() if tls else self.port
        listeners = "listener %d %s\n" % (self.port, HOST)
        if tls:
            listeners += "cafile %s\ncertfile %s\nkeyfile %s\n" % (tls["ca"], tls["cert"],
                                                                    tls["key"])
            if tls_version:
                listeners += "tls_version %s\n" % tls_version
            if require_certificate:
                listeners += "require_certificate true\n"
            listeners += "listener %d %s\n" % (self.plain_port, HOST)
        auth = ("password_file %s\nallow_anonymous false\n" % password_file if password_file
                else "allow_anonymous true\n")
        # As root mosquitto would switch to user "mosquitto", which clears the parent-death
        # signal; "user root" keeps it (the option has no effect for other users).
        self.conf = ws.write("mosquitto-%d.conf" % self.port,
                             "%s%spersistence false\n"
                             "log_dest stderr\nlog_type error\nlog_type warning\n"
                             "log_type notice\nlog_type information\n%s"
                             % (listeners, auth, "user root\n" if os.geteuid() == 0 else ""))
        self.env = None
        if max_tls:
            ssl_conf = ws.write("openssl-%d.cnf" % self.port,
                                "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\n"
                                "system_default = defaults\n[defaults]\nMaxProtocol = %s\n"
                                % max_tls)
            self.env = {"OPENSSL_CONF": str(ssl_conf)}
        self.proc = None
        self.generation = 0

    def start(self, timeout=10.0):
        self.generation += 1
        self.proc = Process([MOSQUITTO, "-c", self.conf], self.ws,
                            "mosquitto-%d" % self.generation, env=self.env).start()

        def listening():
            if not self.proc.alive():
                raise AssertionError("mosquitto exited (rc %s)\n%s"
                                     % (self.proc.returncode(), self.proc.tail()))
            return port_accepts(self.port) and port_accepts(self.plain_port)

        wait_until(listening, timeout, message=lambda: "mosquitto on port %d\n%s"
                   % (self.port, self.proc.tail()))
        return self

    def stop(self):
        if self.proc:
            self.proc.terminate()

    def kill(self):
        """kill -9: connections drop without a DISCONNECT."""
        if self.proc:
            self.proc.kill()
        wait_until(lambda: not port_accepts(self.port), 5, message="broker port to close")

    def restart(self, timeout=10.0):
        return self.start(timeout)

    def cleanup(self):
        if self.proc:
            self.proc.kill()


class SocatPair:
    """Two linked ptys (a virtual RS-485 line): the simulator opens one end, the gateway the other."""

    def __init__(self, ws, name="rtu"):
        self.ws = ws
        self.a = str(ws.file(name + "-sim"))
        self.b = str(ws.file(name + "-gw"))
        self.proc = Process([SOCAT, "-d", "-d", "pty,raw,echo=0,link=" + self.a,
                             "pty,raw,echo=0,link=" + self.b], ws, "socat-" + name)

    def start(self, timeout=10.0):
        self.proc.start()
        self.proc.wait_for_log(r"starting data transfer loop", timeout)
        wait_until(lambda: os.path.exists(self.a) and os.path.exists(self.b), timeout,
                   message="socat pty links")
        return self

    def cleanup(self):
        self.proc.kill()


def start_simulator(ws, sim_config, name="simulator", timeout=15.0):
    """Writes sim_config, starts `kaa-gateway simulate` and waits for every 'simulate: serving'."""
    path = ws.write_yaml(name + ".yaml", sim_config)
    proc = Process([gateway_tool(), "simulate", "--config", path], ws, name).start()
    n = len(sim_config["servers"])
    wait_until(lambda: _count(proc, r"simulate: serving") >= n or _dead(proc), timeout,
               message=lambda: "%d x 'simulate: serving'\n%s" % (n, proc.tail()))
    if not proc.alive():
        raise AssertionError("simulator exited (rc %s)\n%s" % (proc.returncode(), proc.tail()))
    for server in sim_config["servers"]:
        if "tcp" in server:
            wait_until(lambda: port_accepts(server["tcp"]["port"]), timeout,
                       message="simulator TCP port %d" % server["tcp"]["port"])
    return proc


def start_gateway(ws, config, name="gatewayd", log_level="info", env=None):
    """Writes config and starts kaa-gatewayd on it; env adds to the daemon's environment."""
    path = ws.write_yaml(name + ".yaml", config)
    return Process([gatewayd(), "--config", path, "--log-level", log_level], ws, name,
                   env=env).start()


def _count(proc, pattern):
    return len(re.findall(pattern, proc.stderr()))


def _dead(proc):
    return not proc.alive()


# --------------------------------------------------------------------------------------
# Test base class


class IntegrationTest(unittest.TestCase):
    """Gives each test a workspace and cleans up every peer it started, pass or fail.

    On failure the stderr tails of all started processes are printed.
    """

    def setUp(self):
        self.ws = Workspace()
        self.addCleanup(self.ws.cleanup)
        self.addCleanup(self._dump_logs_on_failure)
        self.addCleanup(self._audit_secrets)
        self._procs = []
        del _run_outputs[:]

    def track(self, thing):
        """Registers a Process / Mosquitto / SocatPair / client for cleanup; returns it."""
        if isinstance(thing, Process):
            self._procs.append(thing)
            self.addCleanup(thing.kill)
        elif isinstance(thing, (Mosquitto, SocatPair)):
            self.addCleanup(thing.cleanup)
        elif hasattr(thing, "stop"):
            self.addCleanup(thing.stop)
        return thing

    def mosquitto(self, port=None, tls=None, password_file=None, **tls_options):
        broker = self.track(Mosquitto(self.ws, port, tls=tls, password_file=password_file,
                                      **tls_options))
        if not hasattr(self, "_brokers"):
            self._brokers = []
        self._brokers.append(broker)
        return broker

    def socat_pair(self, name="rtu"):
        pair = self.track(SocatPair(self.ws, name))
        pair.start()
        self._procs.append(pair.proc)
        return pair

    def simulator(self, sim_config, name="simulator"):
        proc = start_simulator(self.ws, sim_config, name)
        self._procs.append(proc)
        self.addCleanup(proc.kill)
        return proc

    def gateway(self, config, name="gatewayd", log_level="info", env=None):
        proc = start_gateway(self.ws, config, name, log_level, env)
        return self.track(proc)

    def collector(self, port):
        return self.track(MqttCollector(port).start())

    def kpc(self, port, **kw):
        return self.track(KpcStandin(port, **kw).start())

    def logs(self):
        return "\n".join(p.tail() for p in self._procs)

    def run(self, result=None):
        # The failure log dump runs as a cleanup, inside TestCase.run, where neither
        # unittest nor pytest says yet whether the test failed (the outcome's
        # success flag is reset for each cleanup, and pytest's result object keeps
        # no failures list). Noting addFailure/addError on the way to the real
        # result works under both runners.
        if result is None:
            return super().run(result)
        return super().run(_FailureNotingResult(result, self))

    def _failed(self):
        return getattr(self, "_it_failed", False)

    def _audit_secrets(self):
        """Fails the test when a registered secret (a password, a private key's line) is in
        any process's log of this test, or in the output of a command it ran (--check,
        status). Runs after the processes' own cleanups: their last lines are in."""
        for proc in list(self._procs):
            proc.kill()
        found = []
        for log in sorted(self.ws.path.glob("*.std*")):
            hits = find_secrets(log.read_text(errors="replace"))
            if hits:
                found.append("%s: %s" % (log.name, ", ".join(hits)))
        for command, output in _run_outputs:
            hits = find_secrets(output)
            if hits:
                found.append("output of %s: %s" % (command, ", ".join(hits)))
        if found:
            self.fail("secrets in the output:\n" + "\n".join(found))

    def _dump_logs_on_failure(self):
        if self._failed():
            procs = list(self._procs)
            for broker in getattr(self, "_brokers", []):
                procs.append(broker.proc)
            print("\n" + "\n".join(p.tail(60) for p in procs if p), file=sys.stderr)


class _FailureNotingResult:
    """Forwards everything to a test result; marks the test when a part of it fails."""

    def __init__(self, result, test):
        self._result = result
        self._test = test

    def __getattr__(self, name):
        return getattr(self._result, name)

    def addFailure(self, test, err):
        self._test._it_failed = True
        return self._result.addFailure(test, err)

    def addError(self, test, err):
        self._test._it_failed = True
        return self._result.addError(test, err)

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self._test._it_failed = True
        return self._result.addSubTest(test, subtest, err)


# --------------------------------------------------------------------------------------
# systemd's notification socket

class NotifySocket:
    """A datagram socket standing in for systemd's notification socket."""

    def __init__(self, ws):
        self.path = str(ws.file("notify.sock"))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, line)
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            with self.lock:
                for line in data.decode().splitlines():
                    self.messages.append((now, line))

    def lines(self, prefix=""):
        with self.lock:
            return [(t, m) for t, m in self.messages if m.startswith(prefix)]

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()
