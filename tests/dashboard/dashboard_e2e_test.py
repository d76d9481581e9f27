"""Ops HTTP end to end: hl7d with --http_port=0 gets a known mix of messages
from the corpus and delivers to the test EHR (tests/ehr), which refuses one
patient, so one message is dead-lettered; /metrics, /api/v1/stats, `hl7ctl
stats --json` (the gRPC control plane) and the dashboard page (headless
Chromium via playwright-core) must agree with the mix and with each other
(received per type, ACK codes, dead letters, queue depth); the counts survive
a clean restart and a crash (SIGKILL), which the uptime numbers count.
"""
import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ehr"))
import ctl  # noqa: E402
import harness as h  # noqa: E402
from ehr import TestEhr  # noqa: E402

HERE = os.path.dirname(os.path.realpath(__file__))
# Source tree folder (node_modules is installed there by tools/install-deps).
SRC = os.path.dirname(os.path.realpath(os.path.join(HERE, "dashboard.mjs")))

# (corpus file, expected ACK code, dashboard type)
MIX = [
    ("adt_a01_v25.hl7", "AA", "ADT^A01"),
    ("adt_a08_v231_nulls.hl7", "AA", "ADT^A08"),
    ("orm_o01_v24.hl7", "AA", "ORM^O01"),
    ("oru_r01_v23_hematology.hl7", "AA", "ORU^R01"),
    ("oru_r01_escapes.hl7", "AA", "ORU^R01"),
    ("oru_r01_bad_numeric.hl7", "AE", "ORU^R01"),
    ("unsupported_type_mdm.hl7", "AR", "other"),
    ("not_hl7.hl7", "AR", "other"),
]
PHI = ["TESTPATIENT", "MRN1000013", "KILO", "BRAVO"]
# The test EHR refuses this patient (oru_r01_escapes.hl7): a dead letter.
REJECTED_MRN = "MRN1000005"
# Accepted messages delivered / dead-lettered.
DELIVERED, DEAD_LETTERS = 4, 1
CONFIG = """
delivery {
  initial_backoff_ms: 100
  max_backoff_ms: 400
  breaker_failures: 50
  request_timeout_ms: 5000
}
"""


def get(port, path, timeout=10):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def metric(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    series = name + ("{%s}" % want if labels else "")
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


class DashboardTest(unittest.TestCase):

    def test_numbers_agree_and_survive_restarts(self):
        work = h.tmpdir()
        self.ehr = TestEhr(os.path.join(work, "ehr")).start()
        try:
            self.ehr.set_faults(reject_identifier=REJECTED_MRN, status=422)
            self.pki = ctl.Principals(work)
            d = h.Hl7d(work, "--config=" + self.pki.write_config(CONFIG),
                       "--ehr_url=" + self.ehr.url).start()
            self.assertIsNotNone(d.http_port)
            try:
                self.run_checks(d)
            finally:
                if d.proc is not None:
                    d.stop()
        finally:
            self.ehr.stop()

    def hl7ctl_stats(self, d):
        return ctl.Hl7ctl(d.grpc_port, self.pki).json("stats", "--count_messages",
                                                            role="viewer")

    def wait_delivery_settled(self, d, timeout=60):
        """Waits until the dead letter is there and nothing waits for delivery,
        as the control plane, /api/v1/stats (cached ~1 s) and /metrics (the
        pipeline scan behind hl7_queue_depth and the dashboard's `queue` is
        cached ~10 s) see it."""
        deadline = time.time() + timeout
        while True:
            c = self.hl7ctl_stats(d)["delivery"]
            s = json.loads(get(d.http_port, "/api/v1/stats")[2])
            dl, queue = s["delivery"], s["queue"]
            m = get(d.http_port, "/metrics")[2]
            if (int(c.get("dead_letters", 0)) == DEAD_LETTERS and int(c.get("queued", 0)) == 0
                    and dl.get("dead_letters") == DEAD_LETTERS and dl.get("queue_depth") == 0
                    and queue.get("DEAD_LETTER") == DEAD_LETTERS
                    and not any(queue.get(k) for k in ("PENDING", "MAPPED", "RETRYING"))
                    and metric(m, "hl7_queue_depth", state="DEAD_LETTER") == DEAD_LETTERS):
                return
            if time.time() > deadline:
                self.fail("delivery not settled: %r / %r / %r\n%s" % (
                    c, dl, queue, d.log_text()[-3000:]))
            time.sleep(0.2)

    def check_agreement(self, d, first_session=True):
        """/metrics, /api/v1/stats and `hl7ctl stats --json` tell the same.
        The metrics' message and ACK counters are per process: compared with
        the (persistent) dashboard numbers only in the first session."""
        self.wait_delivery_settled(d)
        m = get(d.http_port, "/metrics")[2]
        s = json.loads(get(d.http_port, "/api/v1/stats")[2])
        c = self.hl7ctl_stats(d)
        dash = c["dashboard"]
        # hl7ctl carries the dashboard document itself.
        for key in ("messages_24h", "queue", "error_rate", "time_saved"):
            self.assertEqual(dash[key], s[key], key)
        by_type = {k: int(v) for k, v in c["by_type"].items()}
        for typ in ("ORU^R01", "ORM^O01", "ADT^A01", "ADT^A08"):
            self.assertEqual(by_type[typ], s["messages_24h"][typ], typ)
        if first_session:
            # Received per type: the metrics count every frame's message (the
            # duplicate ADT^A01 included), the dashboard distinct messages.
            def metric_total(typ):
                return sum(metric(m, "hl7_messages_total", type=typ, outcome=o) or 0
                           for o in ("accepted", "error", "rejected"))
            for typ, dups in (("ORU^R01", 0), ("ORM^O01", 0), ("ADT^A08", 0), ("ADT^A01", 1)):
                self.assertEqual(metric_total(typ) - dups, s["messages_24h"][typ], typ)
                self.assertEqual(dash["messages_24h"][typ], s["messages_24h"][typ], typ)
            self.assertEqual(metric_total("other") + metric_total("unparsed"),
                             s["messages_24h"]["other"])
            # ACK codes.
            acks = {code: metric(m, "hl7_acks_total", code=code) for code in ("AA", "AE", "AR")}
            self.assertEqual(sum(acks.values()), s["messages_24h"]["acks_sent"])
            self.assertEqual(acks["AE"] + acks["AR"], s["messages_24h"]["rejected"])
            self.assertEqual(metric(m, "hl7_duplicates_total"), s["messages_24h"]["duplicates"])
            # The error rate's failed deliveries are the dead-lettered ones.
            self.assertEqual(metric(m, "hl7_delivery_dead_lettered_total"),
                             s["error_rate"]["this_month"]["failed"])
        # Dead letters / failed deliveries.
        self.assertEqual(metric(m, "hl7_delivery_dead_letters"), DEAD_LETTERS)
        self.assertEqual(s["delivery"]["dead_letters"], DEAD_LETTERS)
        self.assertEqual(int(c["delivery"]["dead_letters"]), DEAD_LETTERS)
        self.assertEqual(dash["delivery"]["dead_letters"], DEAD_LETTERS)
        self.assertEqual(metric(m, "hl7_queue_depth", state="DEAD_LETTER"), DEAD_LETTERS)
        self.assertEqual(s["queue"]["DEAD_LETTER"], DEAD_LETTERS)
        self.assertEqual(int(c["by_state"]["DEAD_LETTER"]), DEAD_LETTERS)
        self.assertEqual(metric(m, "hl7_delivery_dead_lettered_total"),
                         int(c["delivery"]["dead_lettered"]))
        delivered = metric(m, "hl7_delivery_attempts_total", result="delivered")
        failed = metric(m, "hl7_delivery_attempts_total", result="failed")
        self.assertEqual(delivered, int(c["delivery"]["delivered"]))
        self.assertEqual(failed, int(c["delivery"]["failed_attempts"]))
        # Every attempt has one result: delivered, failed (retryable) or
        # refused (permanently, then dead-lettered).
        refused = metric(m, "hl7_delivery_attempts_total", result="refused")
        if first_session:  # Process counters: zero again after a restart.
            self.assertEqual(refused, DEAD_LETTERS)
        self.assertEqual(delivered + failed + refused, int(c["delivery"]["attempts"]))
        # The EHR latency histogram saw every attempt.
        self.assertEqual(metric(m, "hl7_delivery_latency_seconds_count"),
                         int(c["delivery"]["attempts"]))
        if first_session:
            self.assertGreater(metric(m, "hl7_delivery_latency_seconds_sum"), 0)
        # Queue depth: nothing waits.
        depth = sum(metric(m, "hl7_delivery_queue", kind=k) or 0
                    for k in ("queued", "retrying", "in_flight"))
        self.assertEqual(depth, s["delivery"]["queue_depth"])
        self.assertEqual(int(c["delivery"]["queued"]), s["delivery"]["queue_depth"])
        for state, n in s["queue"].items():
            self.assertEqual(metric(m, "hl7_queue_depth", state=state), n, state)
        self.assertEqual(int(c["by_state"].get("DELIVERED", 0)), DELIVERED)
        return c

    def run_checks(self, d):
        def corpus(name):
            with open(os.path.join(h.CORPUS, name), "rb") as f:
                return f.read().replace(b"\r\n", b"\r").replace(b"\n", b"\r").rstrip(b"\r")

        for name, want, _ in MIX:
            self.assertEqual(h.msa(h.send_one(d.port, corpus(name)))[0], want, name)
        # One repeat: re-acknowledged, counted as a duplicate, not as a message.
        self.assertEqual(h.msa(h.send_one(d.port, corpus("adt_a01_v25.hl7")))[0], "AA")

        # Health.
        status, ctype, body = get(d.http_port, "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["status"], "alive")
        status, _, body = get(d.http_port, "/readyz")
        self.assertEqual(status, 200, body)
        self.assertTrue(json.loads(body)["ready"])
        self.assertEqual(get(d.http_port, "/nope")[0], 404)

        # Prometheus.
        status, ctype, m = get(d.http_port, "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("version=0.0.4", ctype)
        self.assertEqual(metric(m, "hl7_messages_total", type="ORU^R01", outcome="accepted"), 2)
        self.assertEqual(metric(m, "hl7_messages_total", type="ORU^R01", outcome="error"), 1)
        self.assertEqual(metric(m, "hl7_messages_total", type="ADT^A01", outcome="accepted"), 2)
        self.assertEqual(metric(m, "hl7_messages_total", type="other", outcome="rejected"), 1)
        self.assertEqual(metric(m, "hl7_messages_total", type="unparsed", outcome="rejected"), 1)
        self.assertEqual(metric(m, "hl7_acks_total", code="AA"), 6)
        self.assertEqual(metric(m, "hl7_acks_total", code="AE"), 1)
        self.assertEqual(metric(m, "hl7_acks_total", code="AR"), 2)
        self.assertEqual(metric(m, "hl7_duplicates_total"), 1)
        self.assertEqual(metric(m, "hl7_ack_latency_seconds_count"), 9)
        self.assertEqual(metric(m, "hl7_mllp_frames_total"), 9)
        self.assertEqual(metric(m, "hl7_mllp_connections_active"), 0)
        self.assertEqual(metric(m, "hl7_store_healthy"), 1)
        self.assertGreater(metric(m, "hl7_audit_records"), 18)
        for phi in PHI:
            self.assertNotIn(phi, m)

        c = self.check_agreement(d)
        self.assertEqual(int(c["delivery"]["dead_lettered"]), DEAD_LETTERS)
        self.assertEqual(int(c["delivery"]["delivered"]), DELIVERED)
        stats = self.check_stats(d)
        self.assertEqual(stats["uptime"]["sessions"], 1)
        self.check_page(d, "first")

        # Clean restart: the counts survive, one restart, no crash.
        self.assertEqual(d.stop(), 0)
        d.start()
        stats = self.check_stats(d)
        self.assertEqual(stats["uptime"]["sessions"], 2)
        self.assertEqual(stats["uptime"]["d30"]["restarts"], 1)
        self.assertEqual(stats["uptime"]["d30"]["crashes"], 0)

        # Crash: counted as one (down from its last heartbeat).
        d.kill()
        d.start()
        stats = self.check_stats(d)
        self.assertEqual(stats["uptime"]["sessions"], 3)
        self.assertEqual(stats["uptime"]["d30"]["crashes"], 1)
        self.check_agreement(d, first_session=False)
        self.check_page(d, "after_restarts")

    def check_stats(self, d):
        status, ctype, body = get(d.http_port, "/api/v1/stats")
        self.assertEqual(status, 200, body)
        self.assertEqual(ctype, "application/json")
        for phi in PHI:
            self.assertNotIn(phi, body)
        s = json.loads(body)
        t = s["messages_24h"]
        self.assertEqual(t["ORU^R01"], 3)
        self.assertEqual(t["ORM^O01"], 1)
        self.assertEqual(t["ADT^A01"], 1)
        self.assertEqual(t["ADT^A08"], 1)
        self.assertEqual(t["other"], 2)
        self.assertEqual(t["acks_sent"], 9)
        self.assertEqual(t["duplicates"], 1)
        self.assertEqual(t["rejected"], 3)
        self.assertEqual(s["throughput"]["messages_24h"], 8)
        er = s["error_rate"]["this_month"]
        # Errors: 3 rejected (AE/AR) plus the failed (dead-lettered) delivery.
        self.assertEqual((er["received"], er["rejected"], er["failed"]), (8, 3, DEAD_LETTERS))
        self.assertAlmostEqual(er["rate"], 0.5)
        self.assertEqual(s["time_saved"]["accepted_24h"], 5)
        self.assertEqual(s["time_saved"]["minutes_per_day"], 15)
        for typ in ("ORU^R01", "ORM^O01", "ADT^A01", "ADT^A08"):
            self.assertIsNotNone(s["last_received_ms"][typ], typ)
        # The delivery stage reports through OpsService::SetDeliveryStatus:
        # the EHR refused one patient's message.
        dl = s["delivery"]
        self.assertTrue(dl["configured"])
        self.assertEqual(dl["dead_letters"], DEAD_LETTERS)
        self.assertGreater(s["uptime"]["d30"]["ratio"], 0)
        self.assertGreaterEqual(s["latency"]["count_24h"], 8)
        return s

    def check_page(self, d, name):
        self.wait_delivery_settled(d)
        dl = json.loads(get(d.http_port, "/api/v1/stats")[2])["delivery"]
        delivery_text = ("not configured" if not dl["configured"] else
                         "reachable" if dl["ehr_reachable"] else "unreachable")
        status, ctype, page = get(d.http_port, "/")
        self.assertEqual(status, 200)
        self.assertIn("text/html", ctype)
        self.assertIn('src="/dashboard.js"', page)
        self.assertNotIn("http://", page.replace("http://www.w3.org", ""))  # No CDN.
        out_dir = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or h.tmpdir()
        profile = h.tmpdir()
        expected = {
            "error_rate": "50.0 %",
            "messages_per_day": "8",
            "acks_sent": "9",
            "delivery": delivery_text,
            "dead_letters": str(DEAD_LETTERS),
            "queue_depth": "0",
            "types": {"ORU^R01": 3, "ORM^O01": 1, "ADT^A01": 1, "ADT^A08": 1},
            "absent": PHI,
        }
        env = dict(os.environ, HOME=profile)
        r = subprocess.run(
            ["node", os.path.join(SRC, "dashboard.mjs"),
             "http://127.0.0.1:%d/" % d.http_port, json.dumps(expected),
             os.path.join(out_dir, "dashboard_%s.png" % name), os.path.join(profile, "chromium")],
            cwd=SRC, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.getsize(os.path.join(out_dir, "dashboard_%s.png" % name)) > 1000)


if __name__ == "__main__":
    if not os.path.isdir(os.path.join(SRC, "node_modules", "playwright-core")):
        print("FAIL: playwright-core missing in tests/dashboard/node_modules; run tools/install-deps")
        sys.exit(1)
    h.main()
