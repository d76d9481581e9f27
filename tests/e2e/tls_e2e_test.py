"""End-to-end TLS: hl7d with a server certificate and required client
certificates, exercised with hl7send (our client) and Python's ssl module.

Good client -> AA; no client certificate -> refused; client certificate from
another CA -> refused; a TLS 1.1-only client -> refused; non-loopback bind with
TLS is allowed by the config check (not actually bound here).
"""
import os
import socket
import ssl
import subprocess
import unittest

import harness as h

HL7SEND = os.path.join(h.RUNFILES, "tools", "hl7send", "hl7send")
HL7CTL = os.path.join(h.RUNFILES, "tools", "hl7ctl", "hl7ctl")


def make_pki(d):
    h.make_pki(d, ("ca", "evil"), [("server", "ca", True), ("lab-analyzer", "ca", False),
                                   ("intruder", "evil", False)])


class TlsE2ETest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = h.tmpdir()
        cls.pki = os.path.join(cls.work, "pki")
        os.mkdir(cls.pki)
        make_pki(cls.pki)
        p = lambda n: os.path.join(cls.pki, n)
        cls.d = h.Hl7d(cls.work, "--tls_cert_file=" + p("server.pem"),
                       "--tls_key_file=" + p("server.key"),
                       "--tls_ca_file=" + p("ca.pem"),
                       "--tls_require_client_cert").start()
        cls.msg = os.path.join(cls.work, "msg.hl7")
        with open(cls.msg, "wb") as f:
            f.write(h.message("TLS-1"))

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def p(self, name):
        return os.path.join(self.pki, name)

    def hl7send(self, *args):
        return subprocess.run([HL7SEND, "--port=%d" % self.d.port, "--tls",
                               "--ca_file=" + self.p("ca.pem"), "--timeout_ms=5000"]
                              + list(args) + [self.msg],
                              capture_output=True, text=True, timeout=60)

    def test_good_client_certificate_is_accepted(self):
        r = self.hl7send("--cert_file=" + self.p("lab-analyzer.pem"),
                         "--key_file=" + self.p("lab-analyzer.key"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"#1 AA TLS-1 ")

    def test_missing_client_certificate_is_refused(self):
        r = self.hl7send()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertNotRegex(r.stdout, r"#1 AA ")
        self.assertIn("AA 0,", r.stdout)

    def test_client_certificate_from_another_ca_is_refused(self):
        r = self.hl7send("--cert_file=" + self.p("intruder.pem"),
                         "--key_file=" + self.p("intruder.key"))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertNotRegex(r.stdout, r"#1 AA ")
        self.assertIn("AA 0,", r.stdout)

    def test_tls11_client_is_refused(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.p("ca.pem"))
        ctx.load_cert_chain(self.p("lab-analyzer.pem"), self.p("lab-analyzer.key"))
        try:
            ctx.set_ciphers("ALL:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        except (ValueError, ssl.SSLError):
            self.skipTest("this OpenSSL cannot even offer TLS 1.1")
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=5) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                    s.sendall(h.frame(h.message("TLS11")))
                    h.read_frame(s, timeout=5)

    def test_plain_tcp_client_gets_no_ack(self):
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=5) as s:
            s.sendall(h.frame(h.message("PLAIN")))
            with self.assertRaises((ConnectionError, OSError, socket.timeout)):
                h.read_frame(s, timeout=3)

    def test_refused_handshakes_are_audited(self):
        import json
        import time
        self.hl7send("--cert_file=" + self.p("intruder.pem"),
                     "--key_file=" + self.p("intruder.key"))
        deadline = time.time() + 10
        records = []
        while time.time() < deadline:
            out = subprocess.run([HL7CTL, "audit", "export", "--data_dir=" + self.d.data_dir,
                                  "--type=AUDIT_TLS_REFUSED"],
                                 capture_output=True, text=True, check=True).stdout
            records = [json.loads(line) for line in out.splitlines()]
            if records:
                break
            time.sleep(0.2)
        self.assertTrue(records, "no AUDIT_TLS_REFUSED record")
        self.assertTrue(records[0]["actor"].startswith("127.0.0.1:"))
        self.assertIn("handshake", records[0]["detail"])
        self.assertEqual(records[0]["outcome"], 4)

    def test_stored_with_tls_identity(self):
        self.hl7send("--cert_file=" + self.p("lab-analyzer.pem"),
                     "--key_file=" + self.p("lab-analyzer.key"))
        summary, rows = self.d.inspect()
        self.assertIn("TLS-1", [r["control_id"] for r in rows])
        self.assertNotIn("PLAIN", [r["control_id"] for r in rows])
        self.assertNotIn("TLS11", [r["control_id"] for r in rows])


if __name__ == "__main__":
    h.main()
