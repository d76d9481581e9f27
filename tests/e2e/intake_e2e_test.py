"""End-to-end: a real hl7d process, real sockets, Debian's python3-hl7 client.

Covers: ACK codes over MLLP for CR, CRLF, LF and alternative-delimiter
messages sent by `mllp_send` (a peer we did not write); pipelined frames
answered in order; duplicates acknowledged again but stored once; nothing of
the payload in clear in the data directory; SIGTERM drains and exits 0;
refusal to start on a non-loopback address without TLS; `hl7d inspect`.
"""
import os
import socket
import subprocess
import unittest

import harness as h


class IntakeE2ETest(unittest.TestCase):

    def setUp(self):
        self.work = h.tmpdir()
        self.d = h.Hl7d(self.work).start()

    def tearDown(self):
        if self.d.proc is not None:
            self.d.kill()

    def test_mllp_send_interop_cr_crlf_lf_and_alt_delimiters(self):
        cases = [
            ("oru_r01_v251_chemistry.hl7", False, "CA"),   # CR, enhanced mode
            ("oru_r01_v23_hematology.hl7", True, "AA"),    # LF line ends
            ("oru_r01_v24_crlf.hl7", True, "AA"),          # CRLF line ends
            ("adt_a01_v25.hl7", False, "AA"),
            ("oru_r01_bad_numeric.hl7", False, "AE"),
            ("unsupported_type_mdm.hl7", False, "AR"),
        ]
        for name, loose, code in cases:
            path = os.path.join(h.CORPUS, name)
            if loose:
                out = h.mllp_send(self.d.port, path, loose=True)
            else:
                framed = os.path.join(self.work, name + ".mllp")
                with open(path, "rb") as src, open(framed, "wb") as f:
                    f.write(h.frame(src.read()))
                out = h.mllp_send(self.d.port, framed)
            self.assertEqual(h.msa(out)[0], code, name)
        # Alternative delimiters: the ACK uses them too.
        with open(os.path.join(h.CORPUS, "oru_r01_alt_delims.hl7"), "rb") as f:
            alt = f.read()
        ack = h.send_one(self.d.port, alt)
        self.assertTrue(ack.startswith(b"MSH#$*@%#"), ack)
        self.assertIn(b"MSA#AA#POCT-5", ack)
        summary, rows = self.d.inspect()
        self.assertEqual(summary["messages"], 7)
        # The accepted ones are queued; the mapping stage may have moved them on.
        self.assertEqual(
            sum(summary.get("state " + s, 0)
                for s in ("PENDING", "MAPPED", "HELD", "RETRYING", "DELIVERED")), 5)

    def test_pipelined_frames_are_answered_in_order(self):
        ids = ["PIPE-%03d" % i for i in range(50)]
        with socket.create_connection(("127.0.0.1", self.d.port)) as s:
            s.sendall(b"".join(h.frame(h.message(i)) for i in ids))
            reader = h.FrameReader(s)
            got = [h.msa(reader.read())[1] for _ in ids]
        self.assertEqual(got, ids)

    def test_duplicates_are_acknowledged_again_and_stored_once(self):
        payload = h.message("DUP-1")
        for _ in range(3):
            self.assertEqual(h.msa(h.send_one(self.d.port, payload)), ("AA", "DUP-1"))
        summary, rows = self.d.inspect()
        self.assertEqual(summary["messages"], 1)
        self.assertEqual(summary["pipeline entries"], 1)
        self.assertEqual(summary["counter duplicates"], 2)
        self.assertEqual(rows[0]["duplicates"], 2)

    def test_no_phi_in_clear_on_disk_and_restart_keeps_everything(self):
        marker = "ZYXSYNTHETICNAME^QWERTY"
        self.assertEqual(h.msa(h.send_one(self.d.port, h.message("PHI-1", patient=marker)))[0], "AA")
        self.assertEqual(self.d.stop(), 0)  # SIGTERM drains and exits 0.
        blob = b""
        for root, _, files in os.walk(self.d.data_dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    blob += f.read()
        self.assertTrue(blob)
        self.assertNotIn(b"ZYXSYNTHETICNAME", blob)
        self.assertIn(b"PHI-1", blob)  # Control ids are not PHI.
        self.d.start()
        self.assertEqual(h.msa(h.send_one(self.d.port, h.message("PHI-1", patient=marker)))[0], "AA")
        summary, _ = self.d.inspect()
        self.assertEqual(summary["messages"], 1)  # Recognised as a repeat.

    def test_accepted_messages_are_mapped_and_delivered_by_the_running_appliance(self):
        import glob
        import time
        self.assertEqual(h.msa(h.send_one(self.d.port, h.message("MAP-1")))[0], "AA")
        deadline = time.time() + 15
        state = None
        while time.time() < deadline:
            _, rows = self.d.inspect()
            state = rows[0]["state"]
            if state not in ("PENDING", "MAPPED"):
                break
            time.sleep(0.1)
        # Without an EHR configured, the Bundle goes to the file sink beside
        # the data directory (the embedded default).
        self.assertEqual(state, "DELIVERED")
        files = glob.glob(self.d.data_dir + ".out/bundles-*.ndjson")
        self.assertEqual(len(files), 1)
        with open(files[0]) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 1)
        self.assertIn('"resourceType":"Bundle"', lines[0])
        self.assertIn("MRN-MAP-1", lines[0])

    def test_garbage_gets_a_well_formed_ar(self):
        ack = h.send_one(self.d.port, b"this is not HL7")
        self.assertEqual(h.msa(ack)[0], "AR")
        self.assertIn(b"ERR|", ack)


class StartupTest(unittest.TestCase):

    def run_hl7d(self, *args):
        work = h.tmpdir()
        return subprocess.run([h.HL7D, "--data_dir=" + os.path.join(work, "d"),
                               "--mllp_port=0"] + list(args),
                              capture_output=True, text=True, timeout=30)

    def test_non_loopback_without_tls_is_refused(self):
        r = self.run_hl7d("--bind=0.0.0.0")
        self.assertEqual(r.returncode, 78)
        self.assertIn("without TLS", r.stderr)

    def test_unknown_flag_is_a_usage_error(self):
        r = self.run_hl7d("--frobnicate=1")
        self.assertEqual(r.returncode, 64)
        self.assertIn("unknown flag --frobnicate", r.stderr)

    def test_unusable_data_dir_is_refused(self):
        work = h.tmpdir()
        blocker = os.path.join(work, "file")
        open(blocker, "w").close()
        r = subprocess.run([h.HL7D, "--data_dir=" + blocker, "--mllp_port=0"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 69)
        self.assertIn("cannot open the message store", r.stderr)


if __name__ == "__main__":
    h.main()
