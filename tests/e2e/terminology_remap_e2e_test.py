"""Issue #8 end to end: a terminology change made through hl7ctl re-maps a held
message, which then reaches the test EHR.

hl7d delivers to the test EHR (tests/ehr) and holds messages with unmapped
local codes (--unmapped_code_policy=hold). A hematology ORU whose leukocyte
result carries the local code WBC^Leukocytes^99LAB is HELD; `hl7ctl
terminology upsert` maps 99LAB WBC to LOINC 6690-2; `hl7ctl queue remap`
sends it back through the mapping stage; it becomes DELIVERED and the EHR
holds an Observation coded 6690-2.
"""
import os
import time
import unittest

import ctl
import harness
from ehr import TestEhr

CONFIG = """
delivery {
  initial_backoff_ms: 100
  max_backoff_ms: 400
  request_timeout_ms: 5000
}
"""
CONTROL_ID = "HEM20261102-0042"
LOINC = "http://loinc.org"


def held_message():
    """oru_r01_v23_hematology.hl7 with the leukocyte count under a local code."""
    with open(os.path.join(harness.CORPUS, "oru_r01_v23_hematology.hl7"), "rb") as f:
        raw = f.read().replace(b"\r\n", b"\r").replace(b"\n", b"\r").rstrip(b"\r")
    assert b"6690-2^Leukocytes^LN" in raw
    return raw.replace(b"6690-2^Leukocytes^LN", b"WBC^Leukocytes^99LAB")


def codes(observation):
    return {(c.get("system"), c.get("code"))
            for c in observation.get("code", {}).get("coding", [])}


class TerminologyRemapTest(unittest.TestCase):

    def setUp(self):
        self.dir = harness.tmpdir()
        self.ehr = TestEhr(os.path.join(self.dir, "ehr")).start()
        self.pki = ctl.Principals(self.dir)
        self.hl7d = harness.Hl7d(self.dir, "--config=" + self.pki.write_config(CONFIG),
                                 "--ehr_url=" + self.ehr.url,
                                 "--unmapped_code_policy=hold").start()
        self.ctl = ctl.Hl7ctl(self.hl7d.grpc_port, self.pki)

    def tearDown(self):
        self.hl7d.stop()
        self.ehr.stop()

    def wait_item(self, seq, state, timeout=60):
        deadline = time.time() + timeout
        while True:
            item = self.ctl.json("queue", "show", str(seq), role="viewer")["item"]
            if item["state"] == "MESSAGE_STATE_" + state:
                return item
            if time.time() > deadline:
                self.fail("seq %d: %r, wanted %s\n%s" % (seq, item, state,
                                                         self.hl7d.log_text()[-3000:]))
            time.sleep(0.2)

    def test_terminology_change_remaps_held_message_into_the_ehr(self):
        c = self.ctl
        code, _ = harness.msa(harness.send_one(self.hl7d.port, held_message()))
        self.assertEqual(code, "AA")
        seq = int(c.json("messages", "search", "--control_id=" + CONTROL_ID,
                         role="viewer")["messages"][0]["seq"])

        # HELD, as `queue list --state=HELD` shows (table and JSON), with why.
        deadline = time.time() + 30
        while True:
            rc, out, err = c.run("queue", "list", "--state=HELD", role="viewer")
            self.assertEqual(rc, 0, err)
            rows = [line.split() for line in out.splitlines()[1:]]
            if any(r[0] == str(seq) for r in rows):
                break
            self.assertLess(time.time(), deadline, out + self.hl7d.log_text()[-3000:])
            time.sleep(0.2)
        self.assertIn(CONTROL_ID, out)
        items = c.json("queue", "list", "--state=HELD", role="viewer")["items"]
        self.assertEqual([int(i["seq"]) for i in items], [seq])
        self.assertIn("99LAB", items[0]["last_error"])
        self.assertEqual(self.ehr.dump("Observation"), [])
        rc, _, _ = c.run("terminology", "lookup", "--source_system=99LAB",
                         "--source_code=WBC", role="viewer")
        self.assertEqual(rc, 3)

        # The mapping, through hl7ctl (an operator may; a viewer may not).
        row = "--row=code,99LAB,WBC,,%s,6690-2,Leukocytes [#/volume] in Blood" % LOINC
        rc, _, err = c.run("terminology", "upsert", row, role="viewer")
        self.assertEqual(rc, 77, err)
        version = int(c.json("terminology", "upsert", row,
                             "--comment=lab's WBC is LOINC 6690-2",
                             role="operator")["version"])
        found = c.json("terminology", "lookup", "--source_system=99LAB",
                       "--source_code=WBC", role="viewer")
        self.assertEqual(int(found["version"]), version)
        self.assertEqual([(m["target_system"], m["target_code"]) for m in found["matches"]],
                         [(LOINC, "6690-2")])
        # Still HELD until re-mapped.
        self.assertEqual(self.wait_item(seq, "HELD")["seq"], str(seq))

        out = c.ok("queue", "remap", str(seq), role="operator")
        self.assertRegex(out, r"(?m)^seq: +%d$" % seq)
        item = self.wait_item(seq, "DELIVERED")
        self.assertEqual(item["last_error"], "")
        self.assertTrue(item["destination"].startswith("fhir:"), item)

        # The EHR holds the Observation coded 6690-2 (and the other results).
        observations = self.ehr.dump("Observation")
        wbc = [o for o in observations if (LOINC, "6690-2") in codes(o)]
        self.assertEqual(len(wbc), 1, observations)
        self.assertEqual(wbc[0]["valueQuantity"]["value"], 7.2)
        self.assertGreaterEqual(len(observations), 4)
        self.assertEqual(self.ehr.counters()["rejected_invalid"], 0)
        # The stored Bundle says the same.
        self.assertIn('"6690-2"', c.ok("messages", "bundle", str(seq), role="operator"))
        # Both changes are in the audit trail under the operator's name.
        events = c.json("audit", "query", "--actor=operator", role="auditor")["events"]
        types = [e["type"] for e in events]
        self.assertIn("AUDIT_TERMINOLOGY_CHANGED", types)
        self.assertIn(seq, [int(e["message_seq"]) for e in events
                            if e["type"] != "AUDIT_TERMINOLOGY_CHANGED"])


if __name__ == "__main__":
    harness.main()
