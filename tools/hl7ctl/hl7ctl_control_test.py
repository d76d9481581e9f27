"""hl7ctl's online commands against a real hl7d and the test EHR.

hl7d runs with principals in its config (only token hashes there; the tokens
in files given to hl7ctl by --token_file), delivery to the test EHR (which
refuses one patient: a dead letter with an OperationOutcome) and
--unmapped_code_policy=hold (a local code without mapping: HELD). Every
subcommand runs at least once; --json output is parsed; exit codes: 64 usage,
3 NOT_FOUND, 77 PERMISSION_DENIED / UNAUTHENTICATED, 69 nothing listening.
"""
import json
import os
import socket
import time
import unittest

import ctl
import harness
from ehr import TestEhr

CONFIG = """
delivery {
  initial_backoff_ms: 100
  max_backoff_ms: 400
  breaker_failures: 50
  breaker_cooldown_ms: 300
  request_timeout_ms: 5000
}
"""


def oru(control, mrn, code="2345-7^Glucose^LN"):
    return ("MSH|^~\\&|CTLTEST|LAB|HL7APPLIANCE|GENHOSP|20261102081530||ORU^R01^ORU_R01|%s|P|2.5.1\r"
            "PID|1||%s^^^GENHOSP^MR||TESTPATIENT^SYNTH||19700101|F\r"
            "OBR|1||FIL-%s|%s|||20261102073000\r"
            "OBX|1|NM|%s||5.4|mmol/L|3.9-6.1|N|||F\r"
            % (control, mrn, control, code, code)).encode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ControlTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = harness.tmpdir()
        cls.ehr = TestEhr(os.path.join(cls.dir, "ehr")).start()
        cls.ehr.set_faults(reject_identifier="MRN-CTL-REJ", status=422)
        cls.pki = ctl.Principals(cls.dir)
        cls.hl7d = harness.Hl7d(cls.dir, "--config=" + cls.pki.write_config(CONFIG),
                                "--ehr_url=" + cls.ehr.url,
                                "--unmapped_code_policy=hold").start()
        cls.c = ctl.Hl7ctl(cls.hl7d.grpc_port, cls.pki)
        cls.seq = {}
        for control, mrn, code in (
                ("CTL-OK", "MRN-CTL-OK", "2345-7^Glucose^LN"),
                ("CTL-REJ", "MRN-CTL-REJ", "2345-7^Glucose^LN"),
                ("CTL-HOLD1", "MRN-CTL-H1", "GLU^Glucose^99CTL"),
                ("CTL-HOLD2", "MRN-CTL-H2", "GLU^Glucose^99CTL")):
            code_, _ = harness.msa(harness.send_one(cls.hl7d.port, oru(control, mrn, code)))
            assert code_ == "AA", code_
        for control, state in (("CTL-OK", "DELIVERED"), ("CTL-REJ", "DEAD_LETTER"),
                               ("CTL-HOLD1", "HELD"), ("CTL-HOLD2", "HELD")):
            cls.seq[control] = cls.wait_state(control, state)

    @classmethod
    def tearDownClass(cls):
        cls.hl7d.stop()
        cls.ehr.stop()

    @classmethod
    def wait_state(cls, control, state, timeout=60):
        deadline = time.time() + timeout
        while True:
            doc = cls.c.json("messages", "search", "--control_id=" + control, role="viewer")
            msgs = doc["messages"]
            if msgs and msgs[0]["state"] == "MESSAGE_STATE_" + state:
                return int(msgs[0]["seq"])
            if time.time() > deadline:
                raise AssertionError("%s: %r, wanted %s\n%s" % (
                    control, msgs, state, cls.hl7d.log_text()[-2000:]))
            time.sleep(0.2)

    # ------------------------------------------------------------ help, usage
    def test_help_everywhere_and_usage_errors(self):
        c = self.c
        out = c.ok("--help", server=False)
        for cmd in ("validate", "convert", "queue discard", "terminology import",
                    "admin backup", "audit query", "exit: 0 ok"):
            self.assertIn(cmd, out)
        for args in (["queue", "--help"], ["queue", "list", "--help"],
                     ["messages", "raw", "--help"], ["stats", "--help"],
                     ["terminology", "--help"], ["admin", "backup", "--help"],
                     ["audit", "--help"], ["audit", "query", "--help"],
                     ["audit", "verify", "--help"], ["audit", "export", "--help"]):
            rc, out, err = c.run(*args, server=False)
            self.assertEqual(rc, 0, args)
            self.assertIn("usage", out, args)
        self.assertIn("77 permission denied", c.ok("queue", "list", "--help", server=False))
        for args in (["queue"], ["queue", "frobnicate"], ["queue", "show"],
                     ["queue", "show", "abc"], ["queue", "show", "1", "2"],
                     ["queue", "discard", "1"], ["queue", "list", "--state=SLEEPING"],
                     ["queue", "list", "--limit"], ["queue", "list", "--bogus=1"],
                     ["messages", "search", "--from=yesterday"], ["stats", "--json=1"],
                     ["audit", "export", "--server=" + c.server, "--format=xml"],
                     ["audit", "verify", "--server=" + c.server, "--data_dir=/tmp"],
                     ["terminology", "lookup"], ["terminology", "diff", "1"],
                     ["terminology", "upsert", "--row=a,b"], ["admin", "backup"],
                     ["nope"]):
            rc, out, err = c.run(*args, role="admin")
            self.assertEqual(rc, 64, (args, out, err))
            self.assertTrue(err.startswith("hl7ctl"), (args, err))
        # Plain text to a non-loopback server; TLS options without --tls.
        rc, _, err = c.run("stats", "--server=192.0.2.1:50051", role="viewer")
        self.assertEqual(rc, 64)
        self.assertIn("loopback", err)
        rc, _, err = c.run("stats", role="viewer", env={"HL7CTL_CA_FILE": "/x.pem"})
        self.assertEqual(rc, 64)
        # Offline audit with neither --data_dir nor a server: usage.
        rc, _, _ = c.run("audit", "verify", server=False)
        self.assertEqual(rc, 64)

    # ------------------------------------------------------------ exit codes
    def test_exit_codes(self):
        c = self.c
        rc, _, err = c.run("queue", "show", "999999", role="viewer")
        self.assertEqual(rc, 3, err)
        self.assertRegex(err, r"^hl7ctl: queue show 999999: .*\[NOT_FOUND\]\n$")
        rc, _, err = c.run("messages", "bundle", "999999", role="operator")
        self.assertEqual(rc, 3, err)
        rc, _, err = c.run("terminology", "rows", "--version=9999", role="viewer")
        self.assertEqual(rc, 3, err)
        # A viewer may not discard; the message stays HELD.
        seq = self.seq["CTL-HOLD2"]
        rc, _, err = c.run("queue", "discard", str(seq), "--reason=test", role="viewer")
        self.assertEqual(rc, 77, err)
        self.assertIn("PERMISSION_DENIED", err)
        self.assertEqual(len(err.strip().splitlines()), 1)
        rc, _, err = c.run("messages", "raw", str(seq), role="viewer")
        self.assertEqual(rc, 77, err)
        rc, _, err = c.run("audit", "query", role="operator")
        self.assertEqual(rc, 77, err)
        # No token, and a wrong one: UNAUTHENTICATED.
        rc, _, err = c.run("stats")
        self.assertEqual(rc, 77, err)
        self.assertIn("UNAUTHENTICATED", err)
        rc, _, err = c.run("stats", env={"HL7CTL_TOKEN": "0" * 64})
        self.assertEqual(rc, 77, err)
        # The token from the environment works.
        self.assertEqual(c.json("admin", "whoami",
                                env={"HL7CTL_TOKEN": self.pki.tokens["auditor"]})["role"],
                         "auditor")
        # Nothing listening.
        rc, _, err = c.run("stats", "--server=127.0.0.1:%d" % free_port(), role="viewer")
        self.assertEqual(rc, 69, err)
        self.assertIn("UNAVAILABLE", err)
        rc, _, err = c.run("audit", "verify", "--server=127.0.0.1:%d" % free_port(),
                           role="auditor")
        self.assertEqual(rc, 69, err)
        # A bad request the server refuses (absolute path required): 1.
        rc, _, err = c.run("admin", "backup", "--path=relative/dir", role="admin")
        self.assertEqual(rc, 1, err)
        self.assertIn("INVALID_ARGUMENT", err)

    # ------------------------------------------------------------ admin, stats
    def test_admin_and_stats(self):
        c = self.c
        for role in ctl.ROLES:
            who = c.json("admin", "whoami", role=role)
            self.assertEqual((who["name"], who["role"], who["authenticated_by"]),
                             (role, role, "token"))
        out = c.ok("admin", "whoami", role="operator")
        self.assertRegex(out, r"(?m)^name: +operator$")
        self.assertIn("queue.write", out)
        # Leading flags go with the online command.
        self.assertEqual(json.loads(c.ok("--json", "admin", "whoami", role="viewer"))["name"],
                         "viewer")
        cfg = c.ok("admin", "config", role="admin")
        self.assertIn("# redacted:", cfg)
        self.assertIn("<redacted>", cfg)
        for token in self.pki.tokens.values():
            self.assertNotIn(token, cfg)
        self.assertIn("config_text", c.json("admin", "config", role="admin"))
        rot = c.json("admin", "rotate-key", "--reason=ctl test", role="admin")
        self.assertGreater(rot["key_id"], rot["previous_key_id"])
        out = c.ok("admin", "rotate-key", role="admin")
        self.assertRegex(out, r"(?m)^key_id: +\d+$")
        backup = os.path.join(self.dir, "backup")
        b = c.json("admin", "backup", "--path=" + backup, role="admin")
        self.assertEqual(b["destination_dir"], backup)
        self.assertGreater(int(b["bytes"]), 0)
        self.assertTrue(os.path.exists(os.path.join(backup, "data.mdb")))
        rc, _, err = c.run("admin", "backup", "--path=" + backup, role="admin")
        self.assertEqual(rc, 1, err)  # ALREADY_EXISTS.

        s = c.json("stats", "--count_messages", role="viewer")
        self.assertGreaterEqual(int(s["messages"]), 4)
        self.assertEqual(s["dashboard"]["messages_24h"]["ORU^R01"], 4)
        self.assertGreater(int(s["audit_records"]), 10)
        self.assertTrue(s["delivery"]["configured"])
        self.assertGreaterEqual(int(s["by_type"]["ORU^R01"]), 4)
        out = c.ok("stats", role="viewer")
        self.assertRegex(out, r"(?m)^messages_24h\.ORU\^R01: +4$")
        self.assertRegex(out, r"(?m)^delivery_stage\.configured: +yes$")

    # ------------------------------------------------------------ messages
    def test_messages(self):
        c = self.c
        seq = self.seq["CTL-OK"]
        out = c.ok("messages", "search", "--sender=CTLTEST", "--type=ORU^R01", role="viewer")
        lines = out.splitlines()
        self.assertEqual(lines[0].split()[:4], ["SEQ", "RECEIVED", "TYPE", "CONTROL_ID"])
        self.assertGreaterEqual(len(lines), 5)
        doc = c.json("messages", "search", "--state=DELIVERED", "--from=2000-01-01",
                     "--limit=1", role="viewer")
        self.assertEqual(len(doc["messages"]), 1)
        self.assertEqual(c.json("messages", "search", "--to=2000-01-01",
                                role="viewer")["messages"], [])
        show = c.json("messages", "show", str(seq), role="viewer")
        self.assertEqual(show["message"]["control_id"], "CTL-OK")
        self.assertTrue(show["has_bundle"])
        out = c.ok("messages", "show", str(seq), role="viewer")
        self.assertRegex(out, r"(?m)^control_id: +CTL-OK$")
        self.assertRegex(out, r"(?m)^state: +DELIVERED$")
        raw = c.ok("messages", "raw", str(seq), role="operator")
        self.assertTrue(raw.startswith("MSH|^~\\&|CTLTEST|"))
        self.assertIn("\nPID|1||MRN-CTL-OK", raw)
        rc, exact, _ = c.run("messages", "raw", str(seq), "--exact", role="operator",
                             binary=True)
        self.assertEqual(rc, 0)
        self.assertEqual(exact, oru("CTL-OK", "MRN-CTL-OK"))
        bundle = json.loads(c.ok("messages", "bundle", str(seq), role="operator"))
        self.assertEqual(bundle["resourceType"], "Bundle")
        self.assertIn("bundle_json", c.json("messages", "bundle", str(seq), role="admin"))
        # The PHI reads were audited, with the principal as the actor.
        events = c.json("audit", "query", "--type=PHI_READ", "--message_seq=%d" % seq,
                        "--actor=operator", role="auditor")["events"]
        self.assertGreaterEqual(len(events), 2)

    # ------------------------------------------------------------ queue
    def test_queue(self):
        c = self.c
        out = c.ok("queue", "list", role="viewer")
        self.assertEqual(out.splitlines()[0].split()[:3], ["SEQ", "STATE", "TYPE"])
        held = c.json("queue", "list", "--state=HELD", role="viewer")["items"]
        held_seqs = {int(i["seq"]) for i in held}
        self.assertTrue({self.seq["CTL-HOLD1"], self.seq["CTL-HOLD2"]} <= held_seqs, held)
        dead = c.json("queue", "list", "--state=dead_letter", "--error=422",
                      role="viewer")["items"]
        self.assertEqual([int(i["seq"]) for i in dead], [self.seq["CTL-REJ"]])
        # Paging: one per page, the token printed on stderr.
        rc, out, err = c.run("queue", "list", "--state=HELD,DEAD_LETTER", "--limit=1",
                             role="viewer")
        self.assertEqual(rc, 0)
        self.assertEqual(len(out.splitlines()), 2)
        token = err.strip().split("--page_token=")[1]
        page2 = c.json("queue", "list", "--state=HELD,DEAD_LETTER", "--limit=1",
                       "--page_token=" + token, role="viewer")
        self.assertEqual(len(page2["items"]), 1)

        rej = self.seq["CTL-REJ"]
        item = c.json("queue", "show", str(rej), role="viewer")["item"]
        self.assertEqual(item["state"], "MESSAGE_STATE_DEAD_LETTER")
        self.assertEqual(item["last_http_status"], 422)
        self.assertTrue(item["has_operation_outcome"])
        out = c.ok("queue", "show", str(rej), role="viewer")
        self.assertRegex(out, r"(?m)^last_http_status: +422$")
        oo = json.loads(c.ok("queue", "outcome", str(rej), role="operator"))
        self.assertEqual(oo["resourceType"], "OperationOutcome")
        self.assertEqual(c.json("queue", "outcome", str(rej), role="operator")["http_status"],
                         422)
        rc, _, err = c.run("queue", "outcome", str(self.seq["CTL-OK"]), role="operator")
        self.assertEqual(rc, 3, err)

        # Pause, state, resume.
        p = c.json("queue", "pause", role="operator")
        self.assertTrue(p["delivery"]["paused"])
        self.assertRegex(c.ok("queue", "state", role="viewer"), r"(?m)^paused: +yes$")
        self.assertTrue(c.json("queue", "state", role="viewer")["delivery"]["paused"])
        self.assertRegex(c.ok("queue", "resume", role="operator"), r"(?m)^paused: +no$")

        # Replay the dead letter once the EHR accepts the patient again.
        self.ehr.clear_faults()
        r = c.json("queue", "retry", str(rej), role="operator")
        self.assertIn(r["item"]["state"], ("MESSAGE_STATE_MAPPED", "MESSAGE_STATE_RETRYING",
                                           "MESSAGE_STATE_DELIVERED"))
        self.wait_state("CTL-REJ", "DELIVERED")

        # Discard a held message (the reason is required, and audited).
        h2 = self.seq["CTL-HOLD2"]
        out = c.ok("queue", "discard", str(h2), "--reason=duplicate sent by the lab",
                   role="operator")
        self.assertRegex(out, r"(?m)^state: +DISCARDED$")
        rc, _, err = c.run("queue", "discard", str(h2), "--reason=again", role="operator")
        self.assertEqual(rc, 1, err)  # FAILED_PRECONDITION.
        self.assertIn("FAILED_PRECONDITION", err)
        events = c.json("audit", "query", "--type=AUDIT_MESSAGE_DISCARDED",
                        role="auditor")["events"]
        self.assertEqual([(int(e["message_seq"]), e["actor"]) for e in events],
                         [(h2, "operator")])

    # ------------------------------------------------------------ terminology
    def test_terminology_and_remap(self):
        c = self.c
        rc, out, err = c.run("terminology", "lookup", "--source_system=99CTL",
                             "--source_code=GLU", role="viewer")
        self.assertEqual(rc, 3, out + err)
        self.assertIn("no mapping", err)
        before = c.json("terminology", "versions", role="viewer")
        v = c.json("terminology", "upsert",
                   "--row=code,99CTL,GLU,,http://loinc.org,2345-7,Glucose",
                   "--comment=ctl test", role="operator")["version"]
        v = int(v)
        self.assertGreater(v, int(before["current_version"]))
        out = c.ok("terminology", "lookup", "--source_system=99CTL", "--source_code=GLU",
                   role="viewer")
        self.assertIn("2345-7", out)
        # Flags instead of a CSV line; a second row.
        v2 = int(c.json("terminology", "upsert", "--source_system=99CTL", "--source_code=K",
                        "--target_system=http://loinc.org", "--target_code=2823-3",
                        "--target_display=Potassium", role="operator")["version"])
        self.assertEqual(v2, v + 1)
        versions = c.ok("terminology", "versions", role="viewer")
        self.assertEqual(versions.splitlines()[0].split()[:3], ["VERSION", "CURRENT", "CREATED"])
        self.assertRegex(versions, r"(?m)^%d +\* " % v2)
        maps = c.json("terminology", "maps", role="viewer")
        self.assertIn({"kind": "code", "source_system": "99CTL", "rows": "2"}, maps["maps"])
        self.assertIn("99CTL", c.ok("terminology", "maps", "--version=%d" % v, role="viewer"))
        rows = c.json("terminology", "rows", "--kind=code", "--source_system=99CTL",
                      role="viewer")["rows"]
        self.assertEqual(sorted(r["source_code"] for r in rows), ["GLU", "K"])
        key_k = [r["key"] for r in rows if r["source_code"] == "K"][0]
        self.assertIn("2823-3", c.ok("terminology", "rows", "--source_system=99CTL",
                                     role="viewer"))
        diff = c.json("terminology", "diff", str(v), str(v2), role="viewer")
        self.assertEqual([r["source_code"] for r in diff["added"]], ["K"])
        self.assertIn("added", c.ok("terminology", "diff", str(v), "0", role="viewer"))
        csv = c.ok("terminology", "export", role="viewer")
        self.assertTrue(csv.startswith("kind,"))
        self.assertIn("99CTL,K", csv)
        v3 = int(c.json("terminology", "delete", key_k, "--comment=not needed",
                        role="operator")["version"])
        self.assertEqual(v3, v2 + 1)
        rc, _, err = c.run("terminology", "delete", key_k, role="operator")
        self.assertEqual(rc, 3, err)
        # Import a CSV file, and from stdin.
        path = os.path.join(self.dir, "import.csv")
        with open(path, "w") as f:
            f.write("kind,source_system,source_code,facility,target_system,target_code,"
                    "target_display\ncode,99CTL,NA,,http://loinc.org,2951-2,Sodium\n")
        v4 = int(c.json("terminology", "import", path, "--comment=file", role="operator")["version"])
        self.assertEqual(v4, v3 + 1)
        out = c.ok("terminology", "import", "-", role="operator",
                   stdin="code,99CTL,CL,,http://loinc.org,2075-0,Chloride\n")
        self.assertRegex(out, r"(?m)^version: +%d$" % (v4 + 1))
        rc, _, err = c.run("terminology", "import", path, role="viewer")
        self.assertEqual(rc, 77, err)
        rc, _, err = c.run("terminology", "import", "/nonexistent.csv", role="operator")
        self.assertEqual(rc, 64, err)

        # The held message, re-mapped with the new mapping, is delivered.
        h1 = self.seq["CTL-HOLD1"]
        out = c.ok("queue", "remap", str(h1), role="operator")
        self.assertRegex(out, r"(?m)^seq: +%d$" % h1)
        self.wait_state("CTL-HOLD1", "DELIVERED")
        rc, _, err = c.run("queue", "remap", str(h1), role="operator")
        self.assertEqual(rc, 1, err)  # No longer HELD.

    # ------------------------------------------------------------ audit
    def test_audit_online(self):
        c = self.c
        out = c.ok("audit", "query", "--type=CONTROL_CALL", "--limit=5", role="auditor")
        self.assertEqual(out.splitlines()[0].split()[:4], ["SEQ", "TIME", "TYPE", "OUTCOME"])
        self.assertEqual(len(out.splitlines()), 6)
        ev = c.json("audit", "query", "--from=2000-01-01", role="auditor")["events"]
        self.assertTrue(ev)
        self.assertEqual(ev[0]["seq"], "1")
        refused = c.json("audit", "query", "--type=AUDIT_ACCESS_REFUSED", role="auditor")
        self.assertIsInstance(refused["events"], list)
        # Verify (online): exit 0, the offline report's form.
        out = c.ok("audit", "verify", "--server=" + c.server, role="auditor")
        self.assertRegex(out, r"^OK: \d+ audit records")
        self.assertTrue(c.json("audit", "verify", "--server=" + c.server,
                               role="auditor")["ok"])
        # HL7CTL_SERVER selects the online verify too.
        self.assertTrue(c.ok("audit", "verify", role="auditor").startswith("OK:"))
        # Export: JSON lines, FHIR NDJSON, to a file.
        rc, out, err = c.run("audit", "export", role="auditor")
        self.assertEqual(rc, 0, err)
        lines = [json.loads(l) for l in out.splitlines()]
        self.assertGreater(len(lines), 10)
        self.assertIn("hash", lines[0])
        self.assertRegex(err, r"audit export: %d records" % len(lines))
        dest = os.path.join(self.dir, "audit.ndjson")
        rc, _, err = c.run("audit", "export", "--format=fhir", "--type=MESSAGE_RECEIVED",
                           "--out=" + dest, role="auditor")
        self.assertEqual(rc, 0, err)
        events = [json.loads(l) for l in open(dest)]
        self.assertGreaterEqual(len(events), 4)
        self.assertEqual({e["resourceType"] for e in events}, {"AuditEvent"})
        rc, _, err = c.run("audit", "export", "--server=" + c.server, role="viewer")
        self.assertEqual(rc, 77, err)


if __name__ == "__main__":
    harness.main()
