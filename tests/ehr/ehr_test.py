"""The test EHR (server.mjs through ehr.py) behaves like the FHIR server the
appliance delivers to: golden transactions accepted, idempotent redelivery,
invalid resources rejected as a whole, every fault kind, bearer token and mTLS.
"""
import copy
import glob
import json
import os
import socket
import ssl
import subprocess
import time
import unittest

import harness as h  # //tests/e2e:harness.py, for main() (JUnit XML)
from ehr import TestEhr

GOLDEN = os.path.join(h.RUNFILES, "tests", "data", "fhir")


def golden_bundles():
    """[(file name, Bundle)] of every golden file (some hold several Bundles)."""
    return [(os.path.basename(path), doc)
            for path in sorted(glob.glob(os.path.join(GOLDEN, "*.json")))
            for doc in h.json_documents(path)]


def first_oru():
    for name, b in golden_bundles():
        if any(e["request"]["url"].startswith("Observation") for e in b["entry"]):
            return copy.deepcopy(b)
    raise AssertionError("no ORU golden bundle")


def issues_text(outcome):
    return " ".join(json.dumps(i) for i in outcome.get("issue", []))


class EhrTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ehr = TestEhr(os.path.join(h.tmpdir(), "ehr")).start()
        cls.golden = golden_bundles()
        assert len(cls.golden) >= 10, len(cls.golden)

    @classmethod
    def tearDownClass(cls):
        cls.ehr.stop()

    def setUp(self):
        self.ehr.reset()

    def post_all(self):
        results = []
        for name, bundle in self.golden:
            status, body = self.ehr.post_bundle(bundle)
            self.assertEqual(status, 200, "%s: %s" % (name, body))
            self.assertEqual(body["resourceType"], "Bundle")
            self.assertEqual(body["type"], "transaction-response")
            self.assertEqual(len(body["entry"]), len(bundle["entry"]), name)
            results.append(body)
        return results

    def test_golden_bundles_accepted(self):
        for (name, bundle), resp in zip(self.golden, self.post_all()):
            for req, got in zip(bundle["entry"], resp["entry"]):
                r = got["response"]
                self.assertIn(r["status"], ("200 OK", "201 Created"), name)
                self.assertTrue(r["etag"].startswith('W/"'), r)
                rtype = req["resource"]["resourceType"]
                self.assertTrue(r["location"].startswith(rtype + "/"), r)
                self.assertIn("/_history/", r["location"])
                if req["request"]["method"] == "PUT":
                    self.assertEqual(r["location"].split("/")[1], req["resource"]["id"])
        c = self.ehr.counters()
        self.assertEqual(c["accepted"], len(self.golden))
        self.assertEqual(c["transactions"], len(self.golden))
        self.assertEqual(c["rejected_invalid"], 0)

    def test_references_resolved_and_searchable(self):
        self.post_all()
        patients = {p["id"]: p for p in self.ehr.dump("Patient")}
        observations = self.ehr.dump("Observation")
        self.assertTrue(observations)
        for o in observations:
            ref = o["subject"]["reference"]
            self.assertFalse(ref.startswith("urn:"), ref)
            self.assertIn(ref.split("/")[1], patients, ref)
        # Search by identifier, by subject, with _count.
        pid = observations[0]["subject"]["reference"].split("/")[1]
        ident = [i for i in patients[pid]["identifier"] if i.get("system")][0]
        status, bundle = self.ehr.fhir("GET", "Patient?identifier=%s|%s" % (ident["system"], ident["value"]))
        self.assertEqual(status, 200)
        self.assertEqual([e["resource"]["id"] for e in bundle["entry"]], [pid])
        n = len([o for o in observations if o["subject"]["reference"] == "Patient/" + pid])
        status, bundle = self.ehr.fhir("GET", "Observation?subject=Patient/" + pid)
        self.assertEqual(len(bundle["entry"]), n)
        status, bundle = self.ehr.fhir("GET", "Observation?subject=Patient/%s&_count=1" % pid)
        self.assertEqual(len(bundle["entry"]), 1)
        status, body = self.ehr.fhir("GET", observations[0]["resourceType"] + "/" + observations[0]["id"])
        self.assertEqual((status, body["id"]), (200, observations[0]["id"]))

    def test_redelivery_is_idempotent(self):
        expected = {}  # type -> set of ids (PUT) or conditions (conditional POST)
        for _, b in self.golden:
            for e in b["entry"]:
                t = e["resource"]["resourceType"]
                key = e["resource"]["id"] if e["request"]["method"] == "PUT" else e["request"]["ifNoneExist"]
                expected.setdefault(t, set()).add(key)
        self.post_all()
        first = {t: sorted(r["id"] for r in self.ehr.dump(t)) for t in expected}
        second = self.post_all()
        for resp in second:
            for got in resp["entry"]:
                self.assertEqual(got["response"]["status"], "200 OK")
        counts = self.ehr.counters()["resources"]
        self.assertEqual(counts, {t: len(k) for t, k in expected.items()})
        for t in expected:
            ids = [r["id"] for r in self.ehr.dump(t)]
            self.assertEqual(len(ids), len(set(ids)))
            self.assertEqual(sorted(ids), first[t], t)

    def test_conditional_create_in_large_transaction(self):
        # Medplum's router alone refuses conditional creates in transactions
        # of more than 8 entries; the EHR must not.
        b = first_oru()
        obs = [e for e in b["entry"] if e["resource"]["resourceType"] == "Observation"][0]
        for i in range(12):
            extra = copy.deepcopy(obs)
            extra["resource"]["id"] = "extra-obs-%d" % i
            extra["request"]["url"] = "Observation/extra-obs-%d" % i
            extra["fullUrl"] = "urn:uuid:00000000-0000-4000-8000-%012d" % i
            b["entry"].append(extra)
        for round_ in range(2):
            status, body = self.ehr.post_bundle(b)
            self.assertEqual(status, 200, body)
            want = "201 Created" if round_ == 0 else "200 OK"
            self.assertEqual({e["response"]["status"] for e in body["entry"]}, {want})
        self.assertEqual(self.ehr.counters()["resources"]["Patient"], 1)

    def assert_rejected(self, bundle, expect_text):
        status, body = self.ehr.post_bundle(bundle)
        self.assertEqual(status, 400, body)
        self.assertEqual(body["resourceType"], "OperationOutcome")
        self.assertIn(expect_text, issues_text(body))
        self.assertEqual(self.ehr.counters()["resources"], {})
        self.assertEqual(self.ehr.dump(), [])
        return body

    def test_bogus_status_rejected_as_a_whole(self):
        b = first_oru()
        obs = [e for e in b["entry"] if e["resource"]["resourceType"] == "Observation"][0]
        obs["resource"]["status"] = "bogus"
        body = self.assert_rejected(b, "not in required value set")
        self.assertIn("Observation.status", issues_text(body))

    def test_missing_required_element_rejected(self):
        b = first_oru()
        obs = [e for e in b["entry"] if e["resource"]["resourceType"] == "Observation"][0]
        del obs["resource"]["code"]
        self.assert_rejected(b, "Observation.code")
        self.assertEqual(self.ehr.counters()["rejected_invalid"], 1)

    def test_invalid_put_rejected(self):
        status, body = self.ehr.fhir("PUT", "Observation/x", {"resourceType": "Observation", "id": "x",
                                                              "status": "bogus", "code": {"text": "t"}})
        self.assertEqual((status, body["resourceType"]), (400, "OperationOutcome"))
        status, body = self.ehr.fhir("PUT", "Observation/x", {"resourceType": "Observation", "id": "x",
                                                              "status": "final", "code": {"text": "t"}})
        self.assertEqual(status, 201)
        status, body = self.ehr.fhir("PUT", "Observation/x", {"resourceType": "Observation", "id": "x",
                                                              "status": "final", "code": {"text": "u"}})
        self.assertEqual(status, 200)

    def test_fail_next_with_retry_after(self):
        _, bundle = self.golden[0]
        self.ehr.set_faults(fail_next=2, status=503, retry_after="2", outcome_text="maintenance")
        for _ in range(2):
            r = self.ehr.request("POST", "", bundle)
            self.assertEqual(r.status, 503)
            self.assertEqual(r.headers.get("retry-after"), "2")
            self.assertEqual(r.json()["resourceType"], "OperationOutcome")
            self.assertIn("maintenance", issues_text(r.json()))
        self.assertEqual(self.ehr.counters()["resources"], {})
        status, _ = self.ehr.post_bundle(bundle)
        self.assertEqual(status, 200)
        c = self.ehr.counters()
        self.assertEqual((c["faults_injected"], c["accepted"], c["requests"]), (2, 1, 3))

    def test_drop_next(self):
        _, bundle = self.golden[0]
        self.ehr.set_faults(drop_next=1)
        with self.assertRaises((ConnectionError, OSError)):
            self.ehr.request("POST", "", bundle)
        status, _ = self.ehr.post_bundle(bundle)
        self.assertEqual(status, 200)
        c = self.ehr.counters()
        self.assertEqual((c["faults_injected"], c["accepted"]), (1, 1))

    def test_delay(self):
        self.ehr.set_faults(delay_ms=400)
        t0 = time.monotonic()
        status, _ = self.ehr.post_bundle(self.golden[0][1])
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        with self.assertRaises((TimeoutError, socket.timeout)):
            self.ehr.request("GET", "metadata", timeout=0.1)
        self.ehr.clear_faults()
        t0 = time.monotonic()
        self.ehr.fhir("GET", "metadata")
        self.assertLess(time.monotonic() - t0, 0.4)

    def test_reject_identifier(self):
        target = first_oru()
        value = [e for e in target["entry"] if e["resource"]["resourceType"] == "Patient"][0][
            "resource"]["identifier"][0]["value"]
        self.ehr.set_faults(reject_identifier=value, status=422)
        rejected = accepted = 0
        for _, b in self.golden:
            status, body = self.ehr.post_bundle(b)
            hit = any(i.get("value") == value for e in b["entry"]
                      for i in e["resource"].get("identifier", []))
            if hit:
                self.assertEqual(status, 422, body)
                self.assertEqual(body["resourceType"], "OperationOutcome")
                rejected += 1
            else:
                self.assertEqual(status, 200, body)
                accepted += 1
        self.assertGreaterEqual(rejected, 1)
        self.assertGreaterEqual(accepted, 1)
        for p in self.ehr.dump("Patient"):
            self.assertNotIn(value, [i.get("value") for i in p.get("identifier", [])])
        self.assertEqual(self.ehr.counters()["accepted"], accepted)

    def test_log_keeps_arrival_order(self):
        self.post_all()
        log = self.ehr.log()
        self.assertEqual([r["n"] for r in log], list(range(1, len(self.golden) + 1)))
        for rec, (_, b) in zip(log, self.golden):
            self.assertEqual(rec["entries"], ["%s %s" % (e["request"]["method"], e["request"]["url"])
                                              for e in b["entry"]])
            want = ["%s|%s" % (i.get("system", ""), i.get("value", "")) for e in b["entry"]
                    if e["resource"]["resourceType"] == "Patient" for i in e["resource"]["identifier"]]
            self.assertEqual(rec["patient_identifiers"], want)

    def test_restart_same_port(self):
        ehr = TestEhr(os.path.join(h.tmpdir(), "ehr")).start()
        try:
            port = ehr.port
            self.assertEqual(ehr.post_bundle(self.golden[0][1])[0], 200)
            ehr.restart()
            self.assertEqual(ehr.port, port)
            self.assertEqual(ehr.counters()["accepted"], 0)
            ehr.kill()
            with self.assertRaises(ConnectionRefusedError):
                ehr.request("GET", "metadata")
        finally:
            ehr.stop()


class BearerTokenTest(unittest.TestCase):

    def test_token_required(self):
        ehr = TestEhr(os.path.join(h.tmpdir(), "ehr"), bearer_token="s3cret-token").start()
        try:
            bundle = golden_bundles()[0][1]
            r = ehr.request("POST", "", bundle, token=False)
            self.assertEqual(r.status, 401)
            self.assertEqual(r.json()["resourceType"], "OperationOutcome")
            r = ehr.request("POST", "", bundle, token=False,
                            headers={"Authorization": "Bearer wrong"})
            self.assertEqual(r.status, 401)
            self.assertEqual(ehr.counters()["resources"], {})
            self.assertEqual(ehr.post_bundle(bundle)[0], 200)
        finally:
            ehr.stop()


def make_pki(d):
    """ca.pem, server.{pem,key} (SAN 127.0.0.1), client.{pem,key}; evil.{pem,key} (other CA)."""
    h.make_pki(d, ("ca", "evilca"), [("server", "ca", True), ("client", "ca", True),
                                     ("evil", "evilca", True)])


class MutualTlsTest(unittest.TestCase):

    def test_https_with_client_certificate(self):
        work = h.tmpdir()
        pki = os.path.join(work, "pki")
        os.mkdir(pki)
        make_pki(pki)
        p = lambda n: os.path.join(pki, n)
        ehr = TestEhr(os.path.join(work, "ehr"), tls={
            "cert": p("server.pem"), "key": p("server.key"), "ca": p("ca.pem"),
            "client_cert": p("client.pem"), "client_key": p("client.key"),
            "server_ca": p("ca.pem")}).start()
        try:
            self.assertTrue(ehr.url.startswith("https://127.0.0.1:"))
            self.assertEqual(ehr.post_bundle(golden_bundles()[0][1])[0], 200)
            # No client certificate: the handshake or the first read fails.
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                ehr.request("GET", "metadata", client_cert=False)
            # A certificate from another CA: refused too.
            ehr.tls.update(client_cert=p("evil.pem"), client_key=p("evil.key"))
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                ehr.request("GET", "metadata")
            # Plain HTTP to the HTTPS port gets no FHIR answer.
            with socket.create_connection(("127.0.0.1", ehr.port), timeout=5) as s:
                s.sendall(b"GET /fhir/R4/metadata HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertNotIn(b"CapabilityStatement", s.recv(65536))
            ehr.tls.update(client_cert=p("client.pem"), client_key=p("client.key"))
            self.assertEqual(ehr.counters()["accepted"], 1)
        finally:
            ehr.stop()


if __name__ == "__main__":
    h.main()
