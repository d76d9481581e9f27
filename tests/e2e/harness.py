"""Helpers for end-to-end tests: run hl7d as a real process, talk MLLP to it.

Used by the tests in this folder (run by Bazel with /usr/bin/python3).
"""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", ""),
                        os.environ.get("TEST_WORKSPACE", "hl7_appliance"))
HL7D = os.path.join(RUNFILES, "appliance", "hl7d")
CORPUS = os.path.join(RUNFILES, "tests", "data", "hl7")
MLLP_SEND = "/usr/bin/mllp_send"

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"


def tmpdir():
    return tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))


def json_documents(path):
    """The JSON documents of a file holding one or more of them in a row."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    decoder, pos, out = json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        doc, pos = decoder.raw_decode(text, pos)
        out.append(doc)


class Hl7d:
    """One hl7d process on a free loopback port with its own data directory."""

    def __init__(self, workdir, *extra):
        self.workdir = workdir
        self.data_dir = os.path.join(workdir, "data")
        self.extra = list(extra)
        self.proc = None
        self.port = None
        self.http_port = None
        self.grpc_port = None
        self.log_path = os.path.join(workdir, "hl7d.log")

    def start(self, timeout=20):
        ready = os.path.join(self.workdir, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [HL7D, "--data_dir=" + self.data_dir, "--mllp_port=0",
             "--http_port=0", "--grpc_port=0", "--ready_file=" + ready] + self.extra,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(ready):
                with open(ready) as f:
                    ports = dict(line.split("=", 1) for line in f.read().split())
                self.port = int(ports["mllp_port"])
                self.http_port = int(ports["http_port"]) if "http_port" in ports else None
                self.grpc_port = int(ports["grpc_port"]) if "grpc_port" in ports else None
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("hl7d exited %d: %s" % (self.proc.returncode, self.log_text()))
            time.sleep(0.02)
        raise RuntimeError("hl7d not ready: " + self.log_text())

    def log_text(self):
        try:
            return open(self.log_path, "rb").read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.proc = None
        self.log.close()
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def inspect(self, limit=1000000):
        out = subprocess.run([HL7D, "inspect", "--data_dir=" + self.data_dir,
                              "--limit=%d" % limit],
                             capture_output=True, text=True, check=True).stdout
        summary, rows = {}, []
        lines = out.splitlines()
        header = lines.index("seq\treceived_utc\ttype\tcontrol_id\tack\tstate\tduplicates")
        for line in lines[:header]:
            key, _, value = line.rpartition(": ")
            summary[key] = int(value)
        for line in lines[header + 1:]:
            seq, when, mtype, cid, ack, state, dups = line.split("\t")
            rows.append({"seq": int(seq), "type": mtype, "control_id": cid,
                         "ack": ack, "state": state, "duplicates": int(dups)})
        return summary, rows


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_pki(d, cas, leaves):
    """Throwaway EC P-256 PKI in directory `d`: a self-signed CA per name in
    `cas` (<ca>.pem/.key) and a certificate per (name, ca, san) in `leaves`
    (<name>.pem/.key, CN=<name>; with san, valid for 127.0.0.1 and localhost)."""
    for ca in cas:
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", ca + ".key", "-out", ca + ".pem", "-days", "2",
                "-subj", "/CN=Test " + ca + " CA", cwd=d)
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ca, san in leaves:
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name, cwd=d)
        args = ["x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2"]
        if san:
            args += ["-extfile", "san.ext"]
        openssl(*args, cwd=d)


def frame(payload):
    return SB + payload + EB + CR


class FrameReader:
    """Reads MLLP frames from a socket, keeping bytes past the current frame."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def read(self, timeout=10):
        self.sock.settimeout(timeout)
        while True:
            end = self.buf.find(EB + CR)
            if end >= 0:
                start = self.buf.find(SB)
                payload = self.buf[start + 1:end]
                self.buf = self.buf[end + 2:]
                return payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before a full frame: %r" % self.buf)
            self.buf += chunk


def read_frame(sock, timeout=10):
    """Reads one frame from a socket that carries only one answer."""
    return FrameReader(sock).read(timeout)


def msa(ack):
    """(MSA-1, MSA-2) of an ACK payload."""
    for seg in re.split(rb"\r\n|\r|\n", ack):
        if seg.startswith(b"MSA"):
            fields = seg.split(seg[3:4])
            return fields[1].decode(), fields[2].decode() if len(fields) > 2 else ""
    return None, None


def message(control_id, patient="TESTPATIENT^SYNTH", obx_value="5.4"):
    """A small valid ORU^R01 with the given control id."""
    return ("MSH|^~\\&|E2E|LAB|HL7APPLIANCE|GENHOSP|20261102081530||ORU^R01^ORU_R01|%s|P|2.5.1\r"
            "PID|1||MRN-%s^^^GENHOSP^MR||%s||19700101|F\r"
            "OBR|1||FIL-%s|2345-7^Glucose^LN|||20261102073000\r"
            "OBX|1|NM|2345-7^Glucose^LN||%s|mmol/L|3.9-6.1|N|||F\r"
            % (control_id, control_id, patient, control_id, obx_value)).encode()


def send_one(port, payload, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(frame(payload))
        return read_frame(s, timeout)


def mllp_send(port, path, loose=False):
    """Sends a file with Debian's python3-hl7 `mllp_send`; returns its stdout."""
    args = [MLLP_SEND, "--port", str(port), "-f", path]
    if loose:
        args.insert(1, "--loose")
    return subprocess.run(args + ["127.0.0.1"], capture_output=True, check=True,
                          timeout=60).stdout


def main():
    """Runs the calling module's unittest cases; writes JUnit XML for Bazel.

    Bazel reads $XML_OUTPUT_FILE when a test writes it, so each Python test
    case counts on its own in tools/test.sh's summary.
    """
    import sys
    import unittest
    import xml.etree.ElementTree as ET

    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules["__main__"])
    tests = list(_all_tests(suite))  # The runner empties the suite.
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    out = os.environ.get("XML_OUTPUT_FILE")
    if out:
        failed = {t.id(): tb for t, tb in result.failures + result.errors}
        skipped = {t.id() for t, _ in result.skipped}
        root = ET.Element("testsuites")
        ts = ET.SubElement(root, "testsuite", name=sys.argv[0],
                           tests=str(result.testsRun),
                           failures=str(len(failed)))
        for test in tests:
            case = ET.SubElement(ts, "testcase", name=test.id())
            if test.id() in failed:
                ET.SubElement(case, "failure").text = failed[test.id()]
            elif test.id() in skipped:
                ET.SubElement(case, "skipped")
        ET.ElementTree(root).write(out)
    sys.exit(0 if result.wasSuccessful() else 1)


def _all_tests(suite):
    for t in suite:
        if hasattr(t, "__iter__"):
            yield from _all_tests(t)
        else:
            yield t
