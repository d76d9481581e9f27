"""hl7d with its gRPC control plane and principals, driven through hl7ctl.

For end-to-end tests (standard library only; /usr/bin/python3):

    pki = ctl.Principals(workdir)              # one token per role, in files
    d = harness.Hl7d(workdir, "--config=" + pki.write_config(extra_text)).start()
    c = ctl.Hl7ctl(d.grpc_port, pki)
    rc, out, err = c.run("queue", "list", role="viewer")
    doc = c.json("stats", role="admin")        # --json, parsed; asserts rc 0
"""
import hashlib
import json
import os
import secrets
import subprocess

import harness

HL7CTL = os.path.join(harness.RUNFILES, "tools", "hl7ctl", "hl7ctl")
ROLES = ("admin", "operator", "auditor", "viewer")


class Principals:
    """One bearer token per role; only their SHA-256 goes into the config."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.tokens = {role: secrets.token_hex(32) for role in ROLES}
        self.token_files = {}
        for role, token in self.tokens.items():
            path = os.path.join(workdir, role + ".token")
            with open(path, "w") as f:
                f.write(token + "\n")
            os.chmod(path, 0o600)
            self.token_files[role] = path

    def control_text(self):
        lines = ["control {"]
        for role, token in self.tokens.items():
            lines.append('  principals { name: "%s" role: ROLE_%s token_sha256: "%s" }' % (
                role, role.upper(), hashlib.sha256(token.encode()).hexdigest()))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def write_config(self, extra=""):
        """Writes hl7d.textproto (the principals plus `extra`); returns its path."""
        path = os.path.join(self.workdir, "hl7d.textproto")
        with open(path, "w") as f:
            f.write(extra + "\n" + self.control_text())
        return path


class Hl7ctl:
    """Runs the built hl7ctl against one hl7d."""

    def __init__(self, port, principals=None):
        self.server = "127.0.0.1:%d" % port
        self.principals = principals

    def run(self, *args, role=None, env=None, stdin=None, server=True, timeout=60,
            binary=False):
        """Returns (exit code, stdout, stderr). The token goes in by file
        (--token_file) for `role`; the server through HL7CTL_SERVER. Output as
        bytes with binary=True, else text."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("HL7CTL_")}
        if server:
            e["HL7CTL_SERVER"] = self.server
        e.update(env or {})
        argv = [HL7CTL] + list(args)
        if role is not None:
            argv.append("--token_file=" + self.principals.token_files[role])
        r = subprocess.run(argv, capture_output=True, text=not binary, env=e, input=stdin,
                           timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def ok(self, *args, **kw):
        """run() that must exit 0; returns stdout."""
        rc, out, err = self.run(*args, **kw)
        if rc != 0:
            raise AssertionError("hl7ctl %s: exit %d\n%s%s" % (" ".join(args), rc, out, err))
        return out

    def json(self, *args, **kw):
        """The parsed --json output of a command that must exit 0."""
        return json.loads(self.ok(*(list(args) + ["--json"]), **kw))
