"""End-to-end delivery: MLLP sender -> hl7d -> the test EHR (tests/ehr).

Real processes and sockets: hl7d as built, the Medplum-based test EHR (which
validates every resource it receives and rejects invalid transactions), and
Debian's python3-hl7 `mllp_send` as one of the senders.
"""
import os
import time
import unittest

import harness
from ehr import TestEhr

GOLDEN = os.path.join(harness.RUNFILES, "tests", "data", "fhir")

# Fast retries for tests; production defaults are seconds to minutes.
CONFIG = """
delivery {
  initial_backoff_ms: 100
  max_backoff_ms: 400
  breaker_failures: 3
  breaker_cooldown_ms: 300
  request_timeout_ms: 5000
}
"""


def oru(control, mrn, filler, value, obx_status="F", obr_status="F"):
    """An ORU^R01 for patient `mrn` with one glucose result."""
    obr = ["OBR", "1", "", filler + "^LAB", "2345-7^Glucose^LN", "", "",
           "20261102073000"] + [""] * 14 + ["20261102080000", "", "CH", obr_status]
    return ("MSH|^~\\&|E2E|LAB|HL7APPLIANCE|GENHOSP|20261102081530||ORU^R01^ORU_R01|%s|P|2.5.1\r"
            "PID|1||%s^^^GENHOSP^MR||TESTPATIENT^SYNTH||19700101|F\r"
            "%s\r"
            "OBX|1|NM|2345-7^Glucose^LN||%s|mmol/L|3.9-6.1|N|||%s\r"
            % (control, mrn, "|".join(obr), value, obx_status)).encode()


def messages_of(raw):
    """The messages of a corpus file; an FHS/BHS batch is split into its
    messages (MLLP carries one message per frame)."""
    if raw.startswith(b"MSH"):
        return [raw]
    segments = [s for s in raw.replace(b"\r\n", b"\r").split(b"\r") if s]
    out = []
    for seg in segments:
        if seg[:3] in (b"FHS", b"BHS", b"BTS", b"FTS"):
            continue
        if seg.startswith(b"MSH"):
            out.append(b"")
        out[-1] += seg + b"\r"
    return out


def golden_bundles(name):
    """The expected Bundles of corpus file `name` (one or more JSON documents)."""
    return harness.json_documents(os.path.join(GOLDEN, name))


class DeliveryTest(unittest.TestCase):

    def setUp(self):
        self.dir = harness.tmpdir()
        self.ehr = TestEhr(os.path.join(self.dir, "ehr")).start()
        config = os.path.join(self.dir, "hl7d.textproto")
        with open(config, "w") as f:
            f.write(CONFIG)
        self.hl7d = harness.Hl7d(self.dir, "--config=" + config, "--ehr_url=" + self.ehr.url)
        self.hl7d.start()

    def tearDown(self):
        if self.hl7d.proc is not None:
            self.hl7d.stop()
        self.ehr.stop()

    def send(self, payload):
        code, _ = harness.msa(harness.send_one(self.hl7d.port, payload))
        self.assertIn(code, ("AA", "CA"))

    def states(self):
        return {row["control_id"]: row["state"] for row in self.hl7d.inspect()[1]}

    def wait_states(self, want, timeout=60):
        """Waits until every control id in `want` has its state; returns states."""
        deadline = time.time() + timeout
        while True:
            got = self.states()
            if all(got.get(c) == s for c, s in want.items()):
                return got
            if time.time() > deadline:
                self.fail("states %r, wanted %r\n%s" % (
                    {c: got.get(c) for c in want}, want, self.hl7d.log_text()[-3000:]))
            time.sleep(0.2)

    def observations_by_value(self):
        return {o["valueQuantity"]["value"]: o for o in self.ehr.dump("Observation")}

    def test_corpus_ends_in_the_ehr_valid_and_idempotent(self):
        accepted = []
        for line in open(os.path.join(harness.CORPUS, "expected.txt")):
            if line.startswith("#") or not line.strip():
                continue
            name, *codes = line.split()
            if all(c in ("AA", "CA") for c in codes):
                accepted.append(name)
        self.assertGreaterEqual(len(accepted), 10)
        for i, name in enumerate(accepted):
            path = os.path.join(harness.CORPUS, name)
            raw = open(path, "rb").read()
            if i % 2 == 0 and raw.startswith(b"MSH|"):
                harness.mllp_send(self.hl7d.port, path, loose=True)  # A peer we did not write.
            else:
                for payload in messages_of(raw):
                    self.send(payload)
        deadline = time.time() + 60
        while time.time() < deadline:
            rows = self.hl7d.inspect()[1]
            pending = [r for r in rows if r["state"] in ("PENDING", "MAPPED", "RETRYING")]
            if not pending:
                break
            time.sleep(0.2)
        rows = self.hl7d.inspect()[1]
        self.assertTrue(rows)
        self.assertEqual({r["state"] for r in rows}, {"DELIVERED"},
                         [(r["control_id"], r["state"]) for r in rows])
        counters = self.ehr.counters()
        self.assertEqual(counters["rejected_invalid"], 0)
        # Every resource of the expected Bundles is in the EHR under its id.
        expected_ids = set()
        for name in accepted:
            for bundle in golden_bundles(name.replace(".hl7", ".json")):
                for entry in bundle["entry"]:
                    if entry["request"]["method"] == "PUT":
                        expected_ids.add(entry["request"]["url"])
        stored = {"%s/%s" % (r["resourceType"], r["id"]) for r in self.ehr.dump()}
        self.assertEqual(expected_ids - stored, set())
        before = self.ehr.counters()["resources"]

        # Resending everything (same control ids: duplicates, not delivered
        # again) and again as new messages (delivered again) changes nothing.
        for name in accepted:
            for payload in messages_of(open(os.path.join(harness.CORPUS, name), "rb").read()):
                self.send(payload)
        transactions = self.ehr.counters()["transactions"]
        for name in accepted:
            for payload in messages_of(open(os.path.join(harness.CORPUS, name), "rb").read()):
                first = payload.split(b"\r")[0].split(b"\n")[0]
                sep = payload[3:4]
                f = first.split(sep)
                f[9] = f[9] + b"-AGAIN"
                self.send(sep.join(f) + payload[len(first):])
        deadline = time.time() + 60
        while time.time() < deadline:
            states = {r["state"] for r in self.hl7d.inspect()[1]}
            if states == {"DELIVERED"}:
                break
            time.sleep(0.2)
        self.assertEqual({r["state"] for r in self.hl7d.inspect()[1]}, {"DELIVERED"})
        self.assertGreater(self.ehr.counters()["transactions"], transactions)
        self.assertEqual(self.ehr.counters()["resources"], before)

    def test_preliminary_final_corrected_update_one_resource(self):
        for control, status in (("P1", "P"), ("F1", "F"), ("C1", "C")):
            self.send(oru(control, "MRN-IDEM", "FIL-IDEM", "5.5", status, status))
            self.wait_states({control: "DELIVERED"})
        observations = self.ehr.dump("Observation")
        reports = self.ehr.dump("DiagnosticReport")
        patients = self.ehr.dump("Patient")
        self.assertEqual(len(observations), 1)
        self.assertEqual(len(reports), 1)
        self.assertEqual(len(patients), 1)
        self.assertEqual(observations[0]["status"], "corrected")
        self.assertEqual(reports[0]["status"], "corrected")

    def test_ehr_outage_then_back_everything_arrives_in_patient_order(self):
        self.ehr.stop()  # Connection refused from now on.
        sent = {}  # patient -> values in send order
        want = {}
        for i in range(12):
            patient = "MRN-OUT-%d" % (i % 3)
            value = "%d.5" % (i + 1)
            control = "OUT%d" % i
            self.send(oru(control, patient, "FIL-OUT-%d" % i, value))
            sent.setdefault(patient, []).append(float(value))
            want[control] = "DELIVERED"
        time.sleep(1.5)
        states = self.states()
        self.assertIn("RETRYING", states.values())
        self.assertNotIn("DELIVERED", states.values())
        self.assertNotIn("DEAD_LETTER", states.values())
        # Back, but answering 503 with Retry-After twice first.
        self.ehr.start()
        self.ehr.set_faults(fail_next=2, status=503, retry_after="1")
        self.wait_states(want)
        self.assertEqual(self.ehr.counters()["faults_injected"], 2)
        # Per patient, the transactions arrived in the order of the messages.
        value_of = {o["id"]: o["valueQuantity"]["value"] for o in self.ehr.dump("Observation")}
        arrived = {}
        for tx in self.ehr.log():
            obs = [e.split("/", 1)[1] for e in tx["entries"] if e.startswith("PUT Observation/")]
            patient = tx["patient_identifiers"][0].split("|")[1]
            arrived.setdefault(patient, []).extend(value_of[o] for o in obs)
        self.assertEqual(arrived, sent)

    def test_permanent_refusal_dead_letters_only_that_message(self):
        self.ehr.set_faults(reject_identifier="MRN-BAD", status=422)
        self.send(oru("GOOD1", "MRN-GOOD", "FIL-G1", "1.5"))
        self.send(oru("BAD1", "MRN-BAD", "FIL-B1", "2.5"))
        self.send(oru("GOOD2", "MRN-GOOD2", "FIL-G2", "3.5"))
        self.wait_states({"GOOD1": "DELIVERED", "BAD1": "DEAD_LETTER", "GOOD2": "DELIVERED"})
        self.assertEqual(sorted(self.observations_by_value()), [1.5, 3.5])
        summary, _ = self.hl7d.inspect()
        self.assertEqual(summary.get("counter delivery/dead_letter"), 1)

    def test_sigkill_during_delivery_loses_and_duplicates_nothing(self):
        self.ehr.set_faults(delay_ms=40)
        want = {}
        for i in range(30):
            control = "K%d" % i
            self.send(oru(control, "MRN-K-%d" % (i % 4), "FIL-K-%d" % i, "%d.25" % i))
            want[control] = "DELIVERED"
        deadline = time.time() + 30
        while self.ehr.counters()["accepted"] < 5 and time.time() < deadline:
            time.sleep(0.05)
        self.hl7d.kill()
        delivered_before = sum(1 for s in self.states().values() if s == "DELIVERED")
        self.assertLess(delivered_before, 30)
        self.hl7d.start()
        self.wait_states(want)
        counters = self.ehr.counters()["resources"]
        self.assertEqual(counters["Observation"], 30)
        self.assertEqual(counters["DiagnosticReport"], 30)
        self.assertEqual(counters["Patient"], 4)
        self.assertEqual(sorted(self.observations_by_value()), [i + 0.25 for i in range(30)])


class DeliveryTlsTest(unittest.TestCase):
    """HTTPS with a private CA, a client certificate (mTLS) and a bearer token
    read from a file: only the right combination delivers."""

    def setUp(self):
        self.dir = harness.tmpdir()
        pki = os.path.join(self.dir, "pki")
        os.mkdir(pki)
        harness.make_pki(pki, ("ca", "evil"), [("server", "ca", True), ("appliance", "ca", False),
                                               ("intruder", "evil", False)])
        self.p = lambda n: os.path.join(pki, n)
        self.ehr = TestEhr(os.path.join(self.dir, "ehr"), bearer_token="t0ken-for-tests", tls={
            "cert": self.p("server.pem"), "key": self.p("server.key"), "ca": self.p("ca.pem"),
            "client_cert": self.p("appliance.pem"), "client_key": self.p("appliance.key"),
            "server_ca": self.p("ca.pem")}).start()
        self.token = os.path.join(self.dir, "token")
        with open(self.token, "w") as f:
            f.write("t0ken-for-tests\n")
        self.config = os.path.join(self.dir, "hl7d.textproto")
        with open(self.config, "w") as f:
            f.write(CONFIG)
        self.hl7d = None

    def tearDown(self):
        if self.hl7d is not None and self.hl7d.proc is not None:
            self.hl7d.stop()
        self.ehr.stop()

    def run_hl7d(self, name, *flags):
        work = os.path.join(self.dir, name)
        os.mkdir(work)
        self.hl7d = harness.Hl7d(work, "--config=" + self.config, "--ehr_url=" + self.ehr.url,
                                 "--ehr_ca_file=" + self.p("ca.pem"), *flags).start()
        code, _ = harness.msa(harness.send_one(self.hl7d.port, oru("TLS1", "MRN-TLS", "FIL-TLS", "4.5")))
        self.assertEqual(code, "AA")

    def wait_state(self, want, timeout=30):
        deadline = time.time() + timeout
        state = None
        while time.time() < deadline:
            rows = self.hl7d.inspect()[1]
            state = rows[0]["state"] if rows else None
            if state == want:
                return
            time.sleep(0.2)
        self.fail("state %s, wanted %s\n%s" % (state, want, self.hl7d.log_text()[-2000:]))

    def test_mtls_and_token_deliver(self):
        self.assertTrue(self.ehr.url.startswith("https://"))
        self.run_hl7d("good", "--ehr_client_cert_file=" + self.p("appliance.pem"),
                      "--ehr_client_key_file=" + self.p("appliance.key"),
                      "--ehr_bearer_token_file=" + self.token)
        self.wait_state("DELIVERED")
        self.assertEqual(self.ehr.counters()["resources"]["Observation"], 1)
        # The secret never appears in the appliance's log.
        self.assertNotIn("t0ken-for-tests", self.hl7d.log_text())

    def test_wrong_client_certificate_or_token_keeps_retrying(self):
        self.run_hl7d("intruder", "--ehr_client_cert_file=" + self.p("intruder.pem"),
                      "--ehr_client_key_file=" + self.p("intruder.key"),
                      "--ehr_bearer_token_file=" + self.token)
        self.wait_state("RETRYING")
        self.hl7d.stop()
        with open(self.token, "w") as f:
            f.write("wrong-token\n")
        self.run_hl7d("badtoken", "--ehr_client_cert_file=" + self.p("appliance.pem"),
                      "--ehr_client_key_file=" + self.p("appliance.key"),
                      "--ehr_bearer_token_file=" + self.token)
        self.wait_state("RETRYING")
        self.assertEqual(self.ehr.counters()["resources"].get("Observation", 0), 0)


if __name__ == "__main__":
    harness.main()
