"""A read-only data directory: hl7d refuses to start with a clear message
(so no AA is ever sent for a message it could not store).

Root ignores permissions, so hl7d runs as nobody (setpriv) from a copy that
user can execute. Needs real user switching: the target is tagged
no-sandbox (Bazel's sandbox maps no other uid).
"""
import os
import subprocess
import unittest

import harness as h


class ReadOnlyTest(unittest.TestCase):

    def test_read_only_data_dir_is_refused_with_a_clear_message(self):
        # Root ignores permissions, so run hl7d as nobody (setpriv) from a copy
        # that user can execute.
        if not os.path.exists("/usr/bin/setpriv"):
            self.skipTest("setpriv not installed")
        import shutil
        import tempfile
        work = tempfile.mkdtemp(dir="/tmp")
        os.chmod(work, 0o755)
        binary = os.path.join(work, "hl7d")
        shutil.copy(h.HL7D, binary)
        os.chmod(binary, 0o755)
        ro = os.path.join(work, "ro")
        os.mkdir(ro)
        os.chmod(ro, 0o555)
        try:
            r = subprocess.run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                "--clear-groups", binary, "--data_dir=" + os.path.join(ro, "data"),
                                "--mllp_port=0"], capture_output=True, text=True, timeout=30)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.assertEqual(r.returncode, 69, r.stderr)
        self.assertIn("Permission denied", r.stderr)
        self.assertIn("check the owner and permissions", r.stderr)



if __name__ == "__main__":
    h.main()
