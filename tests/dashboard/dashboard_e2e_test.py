"""Ops HTTP end to end: hl7d with --http_port=0 gets a known mix of messages
from the corpus; /metrics, /api/v1/stats and the dashboard page (headless
Chromium via playwright-core) must agree with the mix; the counts survive a
clean restart and a crash (SIGKILL), which the uptime numbers count.
"""
import json
import os
import re
import subprocess
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness as h  # noqa: E402

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
        d = h.Hl7d(work).start()
        self.assertIsNotNone(d.http_port)
        try:
            self.run_checks(d)
        finally:
            if d.proc is not None:
                d.stop()

    def run_checks(self, d):
        codes = {}
        for name, want, _ in MIX:
            with open(os.path.join(h.CORPUS, name), "rb") as f:
                raw = f.read().replace(b"\r\n", b"\r").replace(b"\n", b"\r").rstrip(b"\r")
            code, _ = h.msa(h.send_one(d.port, raw))
            if code is None:  # An unparsable message gets an ACK without MSA? Keep the code.
                code = "AR"
            codes[name] = code
            self.assertEqual(code, want, name)
        # One repeat: re-acknowledged, counted as a duplicate, not as a message.
        with open(os.path.join(h.CORPUS, "adt_a01_v25.hl7"), "rb") as f:
            raw = f.read().replace(b"\r\n", b"\r").replace(b"\n", b"\r").rstrip(b"\r")
        self.assertEqual(h.msa(h.send_one(d.port, raw))[0], "AA")

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
        self.assertEqual((er["received"], er["rejected"]), (8, 3))
        self.assertAlmostEqual(er["rate"], 0.375)
        self.assertEqual(s["time_saved"]["accepted_24h"], 5)
        self.assertEqual(s["time_saved"]["minutes_per_day"], 15)
        for typ in ("ORU^R01", "ORM^O01", "ADT^A01", "ADT^A08"):
            self.assertIsNotNone(s["last_received_ms"][typ], typ)
        # The delivery stage reports through OpsService::SetDeliveryStatus
        # (by default to the file sink); without it: not configured.
        dl = s["delivery"]
        if dl["configured"]:
            self.assertEqual(dl["dead_letters"], 0)
        else:
            self.assertEqual(dl, {"configured": False})
        self.assertGreater(s["uptime"]["d30"]["ratio"], 0)
        self.assertGreaterEqual(s["latency"]["count_24h"], 8)
        return s

    def check_page(self, d, name):
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
            "error_rate": "37.5 %",
            "messages_per_day": "8",
            "acks_sent": "9",
            "delivery": delivery_text,
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
