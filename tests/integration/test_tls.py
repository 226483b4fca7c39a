"""TLS and credentials against a real mosquitto TLS listener, certificates made with openssl
in each test's workspace.

- TLS 1.2 and TLS 1.3 listeners, the broker's certificate verified (its IP checked against
  the certificate), an X.509 client certificate the broker requires, and a username and
  password over TLS: each daemon connects, names the TLS version it got, and delivers.
- Every way the connection can be refused is named in words, with the fix, once (then
  rate-limited while the attempts go on): the broker's certificate untrusted, expired, for
  another name; the client certificate refused; the client key not matching its
  certificate; a wrong password, an unknown user, no credentials (each CONNACK code named).
- `kaa-gatewayd --check` looks into the files without connecting: an expired certificate, a
  key of another certificate, a file that is not PEM, a file the service user cannot read,
  a secret key readable by every user.
"""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 250
# How long a refused daemon is watched: its reconnect backoff (200 ms .. 1 s) makes several
# attempts meanwhile, and each kind of failure must be logged once in that time.
WATCH_S = 4


def meter(name, token, bus):
    """A meter reading holding register 0 (the simulator answers 321)."""
    return {"name": name, "token": token, "bus": bus, "unit": 1,
            "poll_interval": "%dms" % POLL_MS, "registers": [
                {"name": "v", "address": 0, "function": "holding", "type": "uint16"}]}


class TlsTest(h.IntegrationTest):

    def daemon(self, name, port, sim_port, log_level="info", **kaa):
        """A daemon named `name` publishing one meter to 127.0.0.1:port with the kaa
        settings given (tls, auth)."""
        config = h.gateway_config(self.ws, port, buses=[
            {"name": "bus-" + name, "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "1s"},
        ], meters=[meter("m-" + name, "tok-" + name, "bus-" + name)], **kaa)
        config["buffer"]["path"] = str(self.ws.file("buffer-%s.db" % name))
        config["status"]["socket"] = str(self.ws.file("status-%s.sock" % name))
        return self.gateway(config, name="gatewayd-" + name, log_level=log_level)

    def served_meter(self):
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "tls-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 321}]}]},
        ]})
        return sim_port

    def users(self, **accounts):
        """A mosquitto password file with these users (name=password)."""
        path = None
        lines = ""
        for i, (user, password) in enumerate(sorted(accounts.items())):
            path = h.make_password_file(self.ws, user, password, name="users-%d.passwd" % i)
            with open(path) as f:
                lines += f.read()
        path = str(self.ws.file("users.passwd"))
        with open(path, "w") as f:
            f.write(lines)
        return path

    def secret(self, name, text):
        h.register_secret(text)
        path = str(self.ws.file(name))
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o600)
        return path

    # ---- what works ------------------------------------------------------------------

    def test_tls_1_2_and_1_3_with_verification_client_certificates_and_passwords_deliver(self):
        certs = h.make_tls_files(self.ws)
        client = h.make_certificate(self.ws, certs, "client", "gateway-7", san=None)
        users = self.users(gw="pw-over-tls", kpc="kpc-pw")
        sim_port = self.served_meter()
        cases = {
            # name: broker options, daemon kaa settings, the version it must get
            "v12-cert": ({"max_tls": "TLSv1.2", "require_certificate": True},
                         {"tls": {"ca_file": certs["ca"], "cert_file": client["cert"],
                                  "key_file": client["key"]}}, "TLSv1.2"),
            "v13-password": ({"tls_version": "tlsv1.3", "password_file": users},
                             {"tls": {"ca_file": certs["ca"]},
                              "auth": {"username": "gw", "password_file":
                                       self.secret("gw.pw", "pw-over-tls")}}, "TLSv1.3"),
        }
        running = []
        for name, (broker_opts, kaa, version) in cases.items():
            broker = self.mosquitto(tls=certs, **broker_opts).start()
            kpc_auth = {"username": "kpc", "password": "kpc-pw"} if "password_file" in \
                broker_opts else {}
            kpc = self.kpc(broker.plain_port, **kpc_auth)
            gw = self.daemon(name, broker.port, sim_port, **kaa)
            running.append((name, broker, kpc, gw, version))
        for name, broker, kpc, gw, version in running:
            gw.wait_for_log(r"mqtt: connected to 127\.0\.0\.1:%d \(TLS\) with %s, [A-Z0-9_-]+, "
                            r"broker certificate verified" % (broker.port, re.escape(version)), 20)

            def delivered(kpc=kpc, name=name):
                batches = h.dcx_publishes(kpc, "tok-" + name)
                return [s for _, b in batches for s in b] if len(batches) >= 3 else None
            samples = h.wait_until(delivered, 20, message=lambda gw=gw: gw.tail())
            self.assertEqual({s["v"] for s in samples}, {321}, samples)
        # The broker saw the client certificate and the login.
        self.assertRegex(running[1][1].proc.stderr(), r"New client connected [^\n]* u'gw'")
        for name, _, _, gw, _ in running:
            self.assertEqual(gw.terminate(), 0, gw.tail())

    # ---- what is refused, each said in its own words -----------------------------------

    def test_every_refusal_is_named_once_with_its_fix(self):
        certs = h.make_tls_files(self.ws)
        other = h.make_tls_files(self.ws, name="other-ca")
        expired = h.make_certificate(self.ws, certs, "expired", "127.0.0.1",
                                     start="20200101000000Z", end="20200102000000Z")
        wrong_name = h.make_certificate(self.ws, certs, "named", "broker.example",
                                        san="DNS:broker.example,DNS:localhost")
        client = h.make_certificate(self.ws, certs, "client", "gateway-7", san=None)
        stranger = h.make_certificate(self.ws, other, "stranger", "gateway-8", san=None)
        other_key = h.make_certificate(self.ws, certs, "other-key", "gateway-9", san=None)["key"]
        users = self.users(gw="right-pw", kpc="kpc-pw")
        sim_port = h.free_port()  # nothing to poll: only the connection matters here
        brokers = {
            "plain": self.mosquitto(tls=certs),
            "expired": self.mosquitto(tls=dict(certs, **expired)),
            "named": self.mosquitto(tls=dict(certs, **wrong_name)),
            "client-cert": self.mosquitto(tls=certs, require_certificate=True),
            "users": self.mosquitto(tls=certs, password_file=users),
        }
        for broker in brokers.values():
            broker.start()
        ca = {"ca_file": certs["ca"]}
        port = re.escape
        cases = [
            ("untrusted", "plain", {"tls": {"ca_file": other["ca"]}},
             r"the broker's certificate 'CN=127\.0\.0\.1' is not trusted: it was issued by "
             r"'CN=kaa-it test CA', which kaa\.tls\.ca_file '%s' does not hold; set ca_file to "
             r"that CA's certificate" % port(other["ca"])),
            ("expired", "expired", {"tls": ca},
             r"the broker's certificate 'CN=127\.0\.0\.1' expired on 2020-01-02 00:00 UTC: "
             r"renew it on the broker \(or, if this machine's date is wrong, set its clock\)"),
            ("wrong-name", "named", {"tls": ca},
             r"the broker's certificate is for DNS:broker\.example, DNS:localhost, not for "
             r"'127\.0\.0\.1' \(kaa\.host\): set kaa\.host to a name the certificate lists, or "
             r"have the broker's certificate reissued for '127\.0\.0\.1'"),
            ("no-client-cert", "client-cert", {"tls": ca},
             r"the broker requires a client certificate \([^)]+\): set kaa\.tls\.cert_file and "
             r"kaa\.tls\.key_file"),
            ("stranger-cert", "client-cert",
             {"tls": dict(ca, cert_file=stranger["cert"], key_file=stranger["key"])},
             r"the broker refused this gateway's client certificate \(kaa\.tls\.cert_file "
             r"'%s'; TLS alert: [^)]+\): it must be signed by a CA the broker trusts and be "
             r"valid" % port(stranger["cert"])),
            ("key-mismatch", "client-cert",
             {"tls": dict(ca, cert_file=client["cert"], key_file=other_key)},
             r"kaa\.tls\.key_file: '%s' does not match cert_file '%s' \(certificate "
             r"'CN=gateway-7'\): it is not that certificate's private key; give the key the "
             r"certificate was issued for; not connecting until it is fixed"
             % (port(other_key), port(client["cert"]))),
            ("wrong-password", "users",
             {"tls": ca, "auth": {"username": "gw",
                                  "password_file": self.secret("wrong.pw", "wrong-pw")}},
             r"refused the connection with CONNACK code 5 \(Connection Refused: not "
             r"authori[sz]ed\.\): check kaa\.auth\.username 'gw' and the password in "
             r"kaa\.auth\.password_file '%s' against the broker's users"
             % port(str(self.ws.file("wrong.pw")))),
            ("unknown-user", "users",
             {"tls": ca, "auth": {"username": "nobody-here",
                                  "password_file": self.secret("nobody.pw", "right-pw")}},
             r"refused the connection with CONNACK code 5 \(Connection Refused: not "
             r"authori[sz]ed\.\): check kaa\.auth\.username 'nobody-here'"),
            ("no-credentials", "users", {"tls": ca},
             r"refused the connection with CONNACK code 5 \(Connection Refused: not "
             r"authori[sz]ed\.\): the broker wants a username and password: set kaa\.auth "
             r"\(username, password_file\)"),
        ]
        running = []
        for name, broker, kaa, expected in cases:
            gw = self.daemon(name, brokers[broker].port, sim_port, log_level="debug", **kaa)
            running.append((name, gw, expected))
        started = time.monotonic()
        for name, gw, expected in running:
            gw.wait_for_log(r"\[warning\] mqtt: [^\n]*%s" % expected, 20)
        # Several attempts each, every one refused, and the reason logged once.
        h.wait_seconds(max(0.0, WATCH_S - (time.monotonic() - started)))
        for name, gw, expected in running:
            log = gw.stderr()
            self.assertTrue(gw.alive(), name + "\n" + gw.tail())
            self.assertNotIn("mqtt: connected to", log, name)
            self.assertGreaterEqual(len(re.findall(r"mqtt: next attempt in", log)), 3,
                                    name + "\n" + gw.tail())
            self.assertEqual(len(re.findall(r"\[warning\] mqtt: ", log)), 1,
                             name + ": one warning, then rate-limited\n" + gw.tail())
            self.assertNotIn("right-pw", log, name)
            self.assertNotIn("wrong-pw", log, name)
        for _, gw, _ in running:
            self.assertEqual(gw.terminate(), 0, gw.tail())

    # ---- --check -----------------------------------------------------------------------

    def test_check_looks_into_the_files_without_connecting(self):
        certs = h.make_tls_files(self.ws)
        good = h.make_certificate(self.ws, certs, "good", "gateway-1", san=None)
        old = h.make_certificate(self.ws, certs, "old", "gateway-2", san=None,
                                 start="20200101000000Z", end="20200102000000Z")
        other = h.make_certificate(self.ws, certs, "other", "gateway-3", san=None)
        garbage = self.ws.write("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n"
                                "-----END CERTIFICATE-----\n")
        os.chmod(good["key"], 0o644)  # a secret readable by every user
        dead_port = h.free_port()  # nothing listens: --check must not try

        def check(name, tls, *extra):
            config = h.gateway_config(self.ws, dead_port, buses=[
                {"name": "b", "tcp": {"host": h.HOST, "port": dead_port}}],
                meters=[meter("m", "tok-check", "b")], tls=tls)
            path = self.ws.write_yaml("check-%s.yaml" % name, config)
            t0 = time.monotonic()
            done = h.run([h.gatewayd(), "--check", "--config", path] + list(extra))
            return done, time.monotonic() - t0, path

        done, took, path = check("good", {"ca_file": certs["ca"], "cert_file": good["cert"],
                                          "key_file": good["key"]}, "--service-user", "")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertLess(took, 5)
        self.assertRegex(done.stderr, r"%s:\d+:\d+: kaa\.tls: key_file '%s' is readable by every "
                         r"user, and it is a secret; run chmod o-r '%s' \(warning\)"
                         % (re.escape(path), re.escape(good["key"]), re.escape(good["key"])))
        self.assertNotRegex(done.stdout + done.stderr, r"connect")

        cases = [
            ("expired", {"ca_file": certs["ca"], "cert_file": old["cert"], "key_file": old["key"]},
             r"kaa\.tls: cert_file '%s' holds the client certificate 'CN=gateway-2', which "
             r"expired on 2020-01-02 00:00 UTC: install a renewed certificate" % re.escape(old["cert"])),
            ("mismatch", {"ca_file": certs["ca"], "cert_file": good["cert"],
                          "key_file": other["key"]},
             r"kaa\.tls: key_file '%s' does not match cert_file '%s'"
             % (re.escape(other["key"]), re.escape(good["cert"]))),
            ("garbage-ca", {"ca_file": garbage},
             r"kaa\.tls: ca_file '%s' holds no PEM certificate" % re.escape(garbage)),
        ]
        for name, tls, expected in cases:
            done, took, path = check(name, tls, "--service-user", "")
            self.assertEqual(done.returncode, 78, name + "\n" + done.stdout + done.stderr)
            self.assertRegex(done.stderr, r"%s:\d+:\d+: %s" % (re.escape(path), expected), name)
            self.assertLess(took, 5, name)

        # Files only root can read, while the service runs as another user: first the
        # workspace (mode 0700) keeps it out, then the key's own mode does.
        os.chmod(other["key"], 0o600)
        tls = {"ca_file": certs["ca"], "cert_file": other["cert"], "key_file": other["key"]}
        done, _, path = check("service-user", tls, "--service-user", "nobody")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stderr, r"kaa\.tls: key_file '%s' cannot be read by the service "
                         r"user nobody: its directory '%s' \(root:root, mode 0700\) does not let "
                         r"it in; run chmod o\+x '%s' or move the file to a directory it can "
                         r"enter \(warning\)" % (re.escape(other["key"]), re.escape(str(self.ws.path)),
                                                 re.escape(str(self.ws.path))))
        for d in (self.ws.path, os.path.dirname(certs["ca"]), os.path.dirname(other["key"])):
            os.chmod(d, 0o755)
        done, _, path = check("service-user-2", tls, "--service-user", "nobody")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stderr, r"kaa\.tls: key_file '%s' cannot be read by the service "
                         r"user nobody \(root:root, mode 0600\); run chgrp nobody '%s' && chmod "
                         r"g\+r '%s' \(warning\)" % ((re.escape(other["key"]),) * 3))
        self.assertNotRegex(done.stderr, r"(ca|cert)_file '[^']*' cannot be read")

if __name__ == "__main__":
    unittest.main()
