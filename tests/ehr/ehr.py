"""Starts and stops the test EHR (tests/ehr/server.mjs) for end-to-end tests.

Standard library only (runs under /usr/bin/python3). Typical use:

    ehr = TestEhr(workdir).start()        # free loopback port, waits until ready
    ehr.url                               # FHIR base: http://127.0.0.1:PORT/fhir/R4
    ehr.set_faults(fail_next=2, status=503, retry_after="2")
    ehr.counters()["resources"]["Observation"]
    ehr.log()                             # accepted transactions, in arrival order
    ehr.stop()

With bearer_token="..." every FHIR request needs "Authorization: Bearer ...".
With tls={"cert": PEM, "key": PEM, "ca": PEM or None} the EHR serves HTTPS and,
with "ca", requires client certificates signed by it; the helper's own calls
then use tls["client_cert"] / tls["client_key"] and verify the server with
tls["server_ca"] (no verification when absent).

server.mjs is run from the source tree (runfiles symlinks resolved), like
tests/fhir_validate/fhir_validate_test.sh does, so that Node finds the
node_modules installed beside it by tools/install-deps.
"""
import http.client
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.parse

_RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", ""),
                         os.environ.get("TEST_WORKSPACE", "hl7_appliance"))


def server_path():
    """server.mjs in the source tree (from the runfiles, else beside this file)."""
    for candidate in (os.path.join(_RUNFILES, "tests", "ehr", "server.mjs"),
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "server.mjs")):
        if os.path.exists(candidate):
            return os.path.realpath(candidate)
    raise FileNotFoundError("tests/ehr/server.mjs not found")


class Response:
    """One HTTP answer: status, headers (lower-case names), raw body, .json()."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return "Response(%d, %r)" % (self.status, self.body[:200])


class TestEhr:
    """One test EHR process (in-memory FHIR R4 server) on a loopback port."""

    __test__ = False  # Not a test class for test collectors.

    def __init__(self, workdir, node="node", bearer_token=None, tls=None,
                 base="/fhir/R4", port=0, verbose=False):
        self.workdir = workdir
        self.node = node
        self.bearer_token = bearer_token
        self.tls = dict(tls) if tls else None
        self.base = "/" + base.strip("/")
        self.port = None
        self._want_port = port
        self.verbose = verbose
        self.proc = None
        self.log_path = os.path.join(workdir, "ehr.log")
        self._log = None
        os.makedirs(workdir, exist_ok=True)

    # ------------------------------------------------------------ process
    def start(self, timeout=30):
        """Starts server.mjs and waits for its ready file; returns self."""
        script = server_path()
        if not os.path.isdir(os.path.join(os.path.dirname(script), "node_modules", "@medplum",
                                          "fhir-router")):
            raise RuntimeError("@medplum packages missing in tests/ehr; run tools/install-deps")
        ready = os.path.join(self.workdir, "ehr.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        args = [self.node, script, "--port=%d" % (self.port or self._want_port),
                "--bind=127.0.0.1", "--ready_file=" + ready, "--base=" + self.base]
        if self.bearer_token is not None:
            token_file = os.path.join(self.workdir, "ehr.token")
            with open(token_file, "w") as f:
                f.write(self.bearer_token)
            args.append("--bearer_token_file=" + token_file)
        if self.tls:
            args += ["--tls_cert=" + self.tls["cert"], "--tls_key=" + self.tls["key"]]
            if self.tls.get("ca"):
                args.append("--tls_ca=" + self.tls["ca"])
        if self.verbose:
            args.append("--verbose")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(ready):
                with open(ready) as f:
                    self.port = int(f.read().strip().split("=")[1])
                return self
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self._close()
                raise RuntimeError("test EHR exited %d: %s" % (rc, self.log_text()))
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("test EHR not ready after %ss: %s" % (timeout, self.log_text()))

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stops the process (SIGTERM by default); returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._close()
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def restart(self, timeout=30):
        """Stops and starts again on the same port (the store starts empty)."""
        self.stop()
        return self.start(timeout)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _close(self):
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ addresses
    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def origin(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    @property
    def url(self):
        """The FHIR base URL, e.g. http://127.0.0.1:PORT/fhir/R4."""
        return self.origin + self.base

    # ------------------------------------------------------------ HTTP
    def ssl_context(self, client_cert=True):
        """Client TLS context (with the client certificate unless told not to)."""
        ctx = ssl.create_default_context()
        if self.tls.get("server_ca"):
            ctx.load_verify_locations(self.tls["server_ca"])
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if client_cert and self.tls.get("client_cert"):
            ctx.load_cert_chain(self.tls["client_cert"], self.tls.get("client_key"))
        return ctx

    def connection(self, timeout=30, client_cert=True):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_context(client_cert))
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, token=True, timeout=30,
                client_cert=True):
        """One HTTP request; `path` is absolute ("/$test/log") or relative to
        the FHIR base ("Patient/1", "" for the base). Adds the bearer token
        unless token=False. Returns a Response (any status)."""
        if not path.startswith("/"):
            path = self.base + ("/" + path if path else "")
        h = {"Accept": "application/fhir+json"}
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None:
            h["Content-Type"] = "application/fhir+json"
        if token and self.bearer_token is not None:
            h["Authorization"] = "Bearer " + self.bearer_token
        h.update(headers or {})
        conn = self.connection(timeout, client_cert)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def fhir(self, method, path, body=None, **kw):
        """A FHIR request; returns (status, parsed body)."""
        r = self.request(method, path, body, **kw)
        return r.status, r.json()

    def post_bundle(self, bundle, **kw):
        """POSTs a transaction/batch Bundle to the base; returns (status, body)."""
        return self.fhir("POST", "", bundle, **kw)

    def _test(self, method, name, body=None, query=None):
        path = "/$test/" + name + ("?" + urllib.parse.urlencode(query) if query else "")
        r = self.request(method, path, body, token=False)
        if r.status != 200:
            raise RuntimeError("%s %s: %r" % (method, path, r))
        return r.json()

    # ------------------------------------------------------------ test endpoints
    def set_faults(self, **faults):
        """Replaces all faults: fail_next, status, retry_after, outcome_text,
        drop_next, delay_ms, reject_identifier. No arguments clears them."""
        return self._test("POST", "faults", faults)

    def clear_faults(self):
        return self.set_faults()

    def counters(self):
        """{"requests", "transactions", "accepted", "rejected_invalid",
        "faults_injected", "resources": {"Patient": n, ...}}"""
        return self._test("GET", "counters")

    def log(self):
        """Accepted transactions in arrival order: [{"n", "time", "type",
        "entries": ["PUT Observation/...", ...], "patient_identifiers": ["sys|value"]}]"""
        return self._test("GET", "log")

    def dump(self, type=None):  # pylint: disable=redefined-builtin
        """All current resources (of one type when given)."""
        return self._test("GET", "dump", query={"type": type} if type else None)

    def reset(self):
        """Empties the store, counters, log and faults."""
        return self._test("POST", "reset")
