"""Secrets never appear in what the gateway prints.

Every password and private key the integration tests make is registered with the harness
(make_password_file, make_tls_files, make_certificate, register_secret), and when any test
of the suite ends, every log of its processes and the output of every command it ran
(`--check`, `kaa-gateway status`) is searched for all of them: a secret found fails that
test (IntegrationTest._audit_secrets). This file makes sure that search can fail, and
walks a daemon with a password and a client key through what prints most about its
credentials: debug logging, `--check` with a secret readable by every user, the status in
every form, a reload, a refused password and an unreadable password file.
"""

import json
import os
import re
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

PASSWORD = "Gw-s3cret-7b1e"
WRONG = "Wr0ng-s3cret-55"


class SecretsTest(h.IntegrationTest):

    def test_the_search_finds_a_secret_in_a_log_and_in_a_command_output(self):
        h.register_secret("planted-s3cret-91")
        planted = self.ws.write("planted.stderr", "a line\nthe planted-s3cret-91 leaked\n")
        with self.assertRaisesRegex(AssertionError,
                                    r"secrets in the output:\nplanted\.stderr: pl\.\.\."):
            self._audit_secrets()
        os.unlink(planted)
        h.run(["/bin/echo", "output with planted-s3cret-91"])
        with self.assertRaisesRegex(AssertionError, r"output of echo: pl\.\.\."):
            self._audit_secrets()
        del h._run_outputs[:]
        self._audit_secrets()  # nothing left: passes
        self.assertEqual(h.find_secrets("no secret here"), [])

    def test_a_password_and_a_client_key_stay_out_of_logs_check_and_status(self):
        certs = h.make_tls_files(self.ws)
        client = h.make_certificate(self.ws, certs, "client", "gateway-s", san=None)
        users = h.make_password_file(self.ws, "gw", PASSWORD)
        h.make_password_file(self.ws, "kpc", "kpc-s3cret-pw", name="kpc.passwd")
        with open(users, "a") as f, open(self.ws.file("kpc.passwd")) as k:
            f.write(k.read())
        h.register_secret(WRONG)
        broker = self.mosquitto(tls=certs, password_file=users, require_certificate=True).start()
        kpc = self.kpc(broker.plain_port, username="kpc", password="kpc-s3cret-pw")
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "s", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 7}]}]}]})
        password_file = str(self.ws.file("gw.password"))
        with open(password_file, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(password_file, 0o644)  # readable by every user: --check says so
        config = h.gateway_config(self.ws, broker.port, buses=[
            {"name": "b", "tcp": {"host": h.HOST, "port": sim_port}}], meters=[
            {"name": "m", "token": "tok-secret", "bus": "b", "unit": 1, "poll_interval": "300ms",
             "registers": [{"name": "v", "address": 0, "function": "holding",
                            "type": "uint16"}]}],
            tls={"ca_file": certs["ca"], "cert_file": client["cert"], "key_file": client["key"]},
            auth={"username": "gw", "password_file": password_file})
        socket = config["status"]["socket"]

        check = h.run([h.gatewayd(), "--check", "--config",
                       self.ws.write_yaml("check.yaml", config), "--service-user", ""])
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertRegex(check.stderr, r"password_file '%s' is readable by every user"
                         % re.escape(password_file))

        gw = self.gateway(config, log_level="debug")
        gw.wait_for_log(r"mqtt: connected to 127\.0\.0\.1:%d \(TLS\)" % broker.port, 20)
        h.wait_until(lambda: len(h.dcx_publishes(kpc, "tok-secret")) >= 2, 20,
                     message=lambda: gw.tail())
        outputs = []
        for form in ([], ["--json"], ["--prometheus"]):
            out = h.run([h.gateway_tool(), "status", "--socket", socket] + form, timeout=15)
            self.assertEqual(out.returncode, 0, out.stderr)
            outputs.append(out.stdout)
        self.assertTrue(json.loads(outputs[1]), outputs[1])

        # A reload, then a wrong password at the next connection, then an unreadable file.
        gw.signal(signal.SIGHUP)
        gw.wait_for_log(r"reload", 15)
        with open(password_file, "w") as f:
            f.write(WRONG + "\n")
        broker.kill()
        broker.start()
        gw.wait_for_log(r"CONNACK code 5 \([^)]*\): check kaa\.auth\.username 'gw'", 20)
        os.unlink(password_file)
        os.mkdir(password_file)
        broker.kill()
        broker.start()
        gw.wait_for_log(r"cannot read kaa\.auth\.password_file '%s'" % re.escape(password_file),
                        20)
        self.assertEqual(gw.terminate(), 0, gw.tail())

        # What was searched holds the credentials' names, never their contents (the same
        # search runs again, over every log, when this test ends).
        printed = gw.stderr() + check.stdout + check.stderr + "".join(outputs)
        self.assertIn("kaa.auth", printed)
        self.assertIn(password_file, printed)
        self.assertEqual(h.find_secrets(printed), [])
        for secret in (PASSWORD, WRONG):
            self.assertNotIn(secret, printed)


if __name__ == "__main__":
    unittest.main()
