"""testing.py: what the fakes' own tests share.

A throwaway CA (tests/lib/mkca.sh), a client that verifies the
fake's certificate against that CA only, a FakeCase base class that
starts one fake per test class in a scratch run directory, and
helpers to read the request log and the shared API reference.
Polling comes from boxtest.py, which the whole-sandbox tests use too.
"""

import atexit
import base64
import http.client
import json
import os
import shutil
import ssl
import struct
import subprocess
import tempfile
import unittest

import boxtest

TOP = os.environ.get("MKP_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# The API reference the fakes follow: a copy of the project's shared
# api-reference kept in the tree, so that a clean checkout tests alone
# (t1005 checks that it still matches the shared one, where that is).
REFERENCE = os.environ.get("MKP_API_REFERENCE") or os.path.join(
    TOP, "tests", "sandbox", "reference")

_ca_cache = {}


def reference(name):
    """The path of a file in the shared API reference; it must exist."""
    path = os.path.join(REFERENCE, name)
    if not os.path.exists(path):
        raise FileNotFoundError("%s: missing: set MKP_API_REFERENCE to "
                                "the api-reference directory" % path)
    return path


def reference_json(name):
    """A JSON file of the shared API reference, parsed."""
    with open(reference(name)) as f:
        return json.load(f)


def make_ca(directory):
    """A CA and a leaf for 127.0.0.1 in directory, made once per run.

    Returns {"ca", "cert", "key"} paths.
    """
    if directory not in _ca_cache:
        script = os.path.join(TOP, "tests", "lib", "mkca.sh")
        subprocess.run(["sh", script, directory], check=True,
                       stdout=subprocess.DEVNULL)
        _ca_cache[directory] = {
            name: os.path.join(directory, name + ".pem")
            for name in ("ca", "cert", "key")}
    return _ca_cache[directory]


class Response:
    """A finished response: status, headers, raw body and JSON."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        """The body parsed as JSON (None for an empty body)."""
        return json.loads(self.body) if self.body else None

    def header(self, name):
        """One header's value, or None."""
        return self.headers.get(name)


class Client:
    """An HTTPS client that trusts only the test CA.

    token is sent as "Authorization: Bearer TOKEN" unless a request
    passes token=None or its own headers.
    """

    def __init__(self, port, cafile, token=None, host="127.0.0.1"):
        self.port = port
        self.host = host
        self.token = token
        self.ctx = ssl.create_default_context(cafile=cafile)

    def connect(self, timeout=10):
        """A new verified connection to the fake."""
        return http.client.HTTPSConnection(self.host, self.port,
                                           context=self.ctx,
                                           timeout=timeout)

    def request(self, method, path, body=None, token="default",
                headers=None):
        """Send one request on a fresh connection; a Response."""
        hdrs = {"Accept": "application/json"}
        token = self.token if token == "default" else token
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        data = body
        if body is not None and not isinstance(body, (bytes, str)):
            data = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        conn = self.connect()
        try:
            conn.request(method, path, data, hdrs)
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)


class FakeCase(unittest.TestCase):
    """One fake per test class, started in a scratch run directory.

    A subclass sets fake_class and config; it gets cls.fake, cls.api
    (a Client with the fake's token) and cls.admin (no token).
    """

    fake_class = None
    config = {}
    token = None
    hooks = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mkp-fakes.")
        base = os.environ.get("TMPDIR", tempfile.gettempdir())
        cls.tls = make_ca(os.path.join(base, "mkp-fakes-ca.%d"
                                       % os.getpid()))
        cls.rundir = os.path.join(cls.tmp, "run")
        cls.fake = cls.fake_class(cls.rundir, json.loads(json.dumps(
            cls.config)), cls.hooks)
        port = cls.fake.start(cls.tls["cert"], cls.tls["key"])
        cls.api = Client(port, cls.tls["ca"], cls.token)
        cls.admin = Client(port, cls.tls["ca"])

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        if os.environ.get("MKP_KEEP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def admin_call(self, method, what, body=None):
        """Call the fake's admin API; the parsed answer (must be 200)."""
        resp = self.admin.request(method, "/__sandbox/" + what, body,
                                  token=None)
        self.assertEqual(resp.status, 200, resp.body)
        return resp.json()

    def log_lines(self):
        """The fake's request log, parsed."""
        path = os.path.join(self.rundir, "logs",
                            "%s.requests.jsonl" % self.fake.name)
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]

    def assertOk(self, resp, status=200):
        """resp has status, else show its body."""
        self.assertEqual(resp.status, status,
                         "HTTP %d: %s" % (resp.status, resp.body[:500]))
        return resp.json()

    def wait_for(self, probe, seconds=5.0, step=0.05):
        """Call probe until it returns a true value; that value."""
        return boxtest.wait_for(probe, seconds, step)


@atexit.register
def cleanup_ca():
    """Remove the CA directories this process made, at exit."""
    for directory in _ca_cache:
        shutil.rmtree(directory, ignore_errors=True)
    _ca_cache.clear()


def ssh_public_key(kind="ssh-ed25519", comment="test@sandbox"):
    """A well-formed OpenSSH public key line with random key bytes.

    Returns (line, blob): Hetzner's fingerprint is the MD5 of blob.
    """
    def field(data):
        return struct.pack(">I", len(data)) + data
    blob = field(kind.encode()) + field(os.urandom(32))
    line = "%s %s %s" % (kind, base64.b64encode(blob).decode(), comment)
    return line, blob
