"""TLS and credential faults while the daemon runs: named in the log, survived, recovered.

- kaa.tls.ca_file removed (or replaced by garbage) while connected, then the broker
  restarted: the daemon stays up, names the file, keeps polling into the buffer, and once
  the file is back reconnects and delivers every sample of the outage.
- kaa.auth.password_file unreadable at a reconnect: named with the reason, and the
  daemon never tries the broker with an empty password; once readable it logs in again
  and delivers everything.
- A broker that is never reachable (plain and TLS): SIGTERM stops the daemon with exit
  code 0 (under AddressSanitizer that includes "no leak").
- Plain MQTT against a TLS port and TLS against a plain port: the log says which.

The broker has a TLS listener for the daemon and a plain one for the KPC stand-in; the
CA and the server certificate are made with openssl in each test's workspace.
"""

import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as h  # noqa: E402

POLL_MS = 200
OUTAGE_S = 3


class TlsFaultsTest(h.IntegrationTest):

    def plant(self, broker, tls=None, auth=None, kaa_port=None, kpc_auth=None):
        """The stand-in on the broker's plain port, a simulated meter, and the daemon."""
        kpc = self.kpc(broker.plain_port, **(kpc_auth or {}))
        sim_port = h.free_port()
        self.simulator({"servers": [
            {"name": "tls-sim", "tcp": {"host": h.HOST, "port": sim_port}, "units": [
                {"unit": 1, "registers": [
                    {"address": 0, "function": "holding", "type": "uint16", "value": 321}]}]},
        ]})
        kaa = {}
        if tls:
            kaa["tls"] = tls
        if auth:
            kaa["auth"] = auth
        config = h.gateway_config(self.ws, kaa_port or broker.port, buses=[
            {"name": "tls-bus", "tcp": {"host": h.HOST, "port": sim_port}, "timeout": "1s"},
        ], meters=[
            {"name": "tls-meter", "token": "tok-tls", "bus": "tls-bus", "unit": 1,
             "poll_interval": "%dms" % POLL_MS, "registers": [
                 {"name": "v", "address": 0, "function": "holding", "type": "uint16"}]},
        ], **kaa)
        gw = self.gateway(config)
        return kpc, gw, config

    def stamps(self, kpc):
        return sorted({s["timestamp"] for _, b in h.dcx_publishes(kpc, "tok-tls") for s in b})

    def outage_then_recovery(self, broker, kpc, gw, spoil, restore, named):
        """Spoils a file, restarts the broker, checks the daemon names it and waits, then
        restores it and checks every sample read meanwhile arrives."""
        h.wait_until(lambda: self.stamps(kpc), 20, message=lambda: "first samples\n" + self.logs())
        gw.wait_for_log(r"mqtt: connected to ", 5)
        spoil()
        t_down = h.now_ms()
        broker.kill()
        broker.start()
        self.assertTrue(kpc.wait_subscribed(15), "the stand-in did not subscribe again")
        gw.wait_for_log(named, 15)
        # The daemon stays away from the broker while the file is bad, and keeps polling.
        seen = len(self.stamps(kpc))
        h.wait_seconds(OUTAGE_S)
        self.assertTrue(gw.alive(), gw.tail())
        self.assertEqual(len(self.stamps(kpc)), seen, "samples arrived while the file was bad")
        self.assertEqual(len(re.findall(r"mqtt: connected to ", gw.stderr())), 1, gw.tail())
        restore()
        t_up = h.now_ms()
        gw.wait_for_log(r"(?s)%s.*mqtt: connected to " % named, 15)

        def caught_up():
            stamps = self.stamps(kpc)
            return stamps if stamps and stamps[-1] > t_up + 1000 else None
        stamps = h.wait_until(caught_up, 20, message=lambda: "the backlog\n" + self.logs())
        during = [t for t in stamps if t_down <= t <= t_up]
        self.assertGreaterEqual(len(during), int(0.8 * (t_up - t_down) / POLL_MS), during)
        self.assertEqual(h.timestamp_gaps(stamps, int(2.5 * POLL_MS)), [], gw.tail())
        for _, batch in h.dcx_publishes(kpc, "tok-tls"):
            for s in batch:
                self.assertEqual(s["v"], 321, s)
        self.assertEqual(gw.terminate(), 0, gw.tail())
        return stamps

    # ---- kaa.tls.ca_file -------------------------------------------------------------

    def tls_plant(self):
        certs = h.make_tls_files(self.ws)
        broker = self.mosquitto(tls=certs).start()
        ca = str(self.ws.file("gateway-ca.pem"))
        shutil.copy(certs["ca"], ca)
        kpc, gw, _ = self.plant(broker, tls={"ca_file": ca})
        return certs, broker, kpc, gw, ca

    def test_a_ca_file_removed_while_running_is_named_and_delivery_resumes_once_it_is_back(self):
        certs, broker, kpc, gw, ca = self.tls_plant()
        self.outage_then_recovery(
            broker, kpc, gw, spoil=lambda: os.unlink(ca),
            restore=lambda: shutil.copy(certs["ca"], ca),
            named=r"\[warning\] mqtt: cannot read kaa\.tls\.ca_file '%s': No such file or "
                  r"directory \(fix the path, or let the service user read the file\); not "
                  r"connecting until it is fixed" % re.escape(ca))
        self.assertNotRegex(gw.stderr(), r"\[critical\]")

    def test_a_ca_file_replaced_by_garbage_is_named_and_delivery_resumes_once_it_is_back(self):
        certs, broker, kpc, gw, ca = self.tls_plant()

        def spoil():
            with open(ca, "w") as f:
                f.write("this is not a certificate\n" * 10)
        self.outage_then_recovery(
            broker, kpc, gw, spoil=spoil, restore=lambda: shutil.copy(certs["ca"], ca),
            named=r"\[warning\] mqtt: kaa\.tls\.ca_file: '%s' holds no PEM certificate \(a "
                  r"'-----BEGIN CERTIFICATE-----' block\): ca_file must be the certificate of "
                  r"the CA that signed the broker's certificate; not connecting until it is "
                  r"fixed" % re.escape(ca))

    # ---- kaa.auth.password_file ------------------------------------------------------

    def test_an_unreadable_password_file_is_named_and_no_empty_password_is_tried(self):
        users = h.make_password_file(self.ws, "gw-user", "s3cret-pw")
        h.make_password_file(self.ws, "kpc", "kpc-pw", name="kpc.passwd")
        with open(users, "a") as f, open(self.ws.file("kpc.passwd")) as k:
            f.write(k.read())
        broker = self.mosquitto(password_file=users).start()
        secret = str(self.ws.file("password"))
        with open(secret, "w") as f:
            f.write("s3cret-pw\n")
        kpc, gw, config = self.plant(broker, auth={"username": "gw-user", "password_file": secret},
                                     kpc_auth={"username": "kpc", "password": "kpc-pw"})
        client_id = config["kaa"]["client_id"]

        def spoil():
            os.unlink(secret)
            os.mkdir(secret)  # unreadable even for root: reading a directory fails

        def restore():
            os.rmdir(secret)
            with open(secret, "w") as f:
                f.write("s3cret-pw\n")
        broker_log = []

        def restore_after_checking_the_broker():
            # Until now the restarted broker has not seen the daemon try to log in.
            broker_log.append(broker.proc.stderr())
            restore()
        self.outage_then_recovery(
            broker, kpc, gw, spoil=spoil, restore=restore_after_checking_the_broker,
            named=r"\[warning\] mqtt: cannot read kaa\.auth\.password_file '%s': Is a "
                  r"directory; not connecting until it is fixed" % re.escape(secret))
        self.assertNotIn(client_id, broker_log[0])
        self.assertNotRegex(broker_log[0], r"not authori[sz]ed")
        self.assertNotIn("s3cret-pw", gw.stderr())
        self.assertRegex(broker.proc.stderr(), r"New client connected [^\n]* as %s "
                         % re.escape(client_id))

    # ---- no broker at all ------------------------------------------------------------

    def test_a_daemon_that_never_reaches_a_broker_stops_cleanly(self):
        certs = h.make_tls_files(self.ws)
        dead = h.free_port()
        gateways = []
        for name, tls in (("plain", None), ("tls", {"ca_file": certs["ca"]})):
            kaa = {"tls": tls} if tls else {}
            config = h.gateway_config(self.ws, dead, buses=[
                {"name": "b", "tcp": {"host": h.HOST, "port": h.free_port()}}], meters=[
                {"name": "m", "token": "t", "bus": "b", "unit": 1, "poll_interval": "1s",
                 "registers": [{"name": "v", "address": 0, "function": "holding",
                                "type": "uint16"}]}], **kaa)
            config["buffer"]["path"] = str(self.ws.file("buffer-%s.db" % name))
            gateways.append(self.gateway(config, name="gatewayd-" + name))
        for gw in gateways:
            gw.wait_for_log(r"mqtt: cannot connect to 127\.0\.0\.1:%d[^\n]*Connection refused"
                            % dead, 20)
        for gw in gateways:
            self.assertEqual(gw.terminate(), 0, gw.tail())
            self.assertNotRegex(gw.stderr(), r"LeakSanitizer|AddressSanitizer")
            self.assertRegex(gw.stderr(), r"gateway: stopped; 0 samples delivered")

    # ---- plain vs TLS ----------------------------------------------------------------

    def test_plain_mqtt_on_a_tls_port_and_tls_on_a_plain_port_are_named(self):
        certs = h.make_tls_files(self.ws)
        broker = self.mosquitto(tls=certs).start()
        kpc = self.kpc(broker.plain_port)
        cases = (
            ("plain-to-tls", broker.port, None,
             r"port %d on 127\.0\.0\.1 looks like TLS \(it closed the connection at the MQTT "
             r"CONNECT\): set kaa\.tls \(ca_file\)" % broker.port),
            ("tls-to-plain", broker.plain_port, {"ca_file": certs["ca"]},
             r"port %d on 127\.0\.0\.1 is plain MQTT, but kaa\.tls is set: remove kaa\.tls, "
             r"or set kaa\.port to the broker's TLS port" % broker.plain_port),
        )
        gateways = []
        for name, port, tls, _ in cases:
            kaa = {"tls": tls} if tls else {}
            config = h.gateway_config(self.ws, port, buses=[
                {"name": "b", "tcp": {"host": h.HOST, "port": h.free_port()}}], meters=[
                {"name": "m", "token": "tok-" + name, "bus": "b", "unit": 1,
                 "poll_interval": "1s", "registers": [
                     {"name": "v", "address": 0, "function": "holding", "type": "uint16"}]}],
                **kaa)
            config["buffer"]["path"] = str(self.ws.file("buffer-%s.db" % name))
            gateways.append(self.gateway(config, name="gatewayd-" + name))
        for gw, (name, _, _, hint) in zip(gateways, cases):
            gw.wait_for_log(r"\[warning\] mqtt: [^\n]*; %s" % hint, 20)
        for gw in gateways:
            self.assertTrue(gw.alive(), gw.tail())
            self.assertNotRegex(gw.stderr(), r"mqtt: connected to ")
            self.assertEqual(gw.terminate(), 0, gw.tail())
        self.assertEqual(kpc.requests(), [])


if __name__ == "__main__":
    unittest.main()
