#!/usr/bin/python3
"""t1004: what all three fakes share: whoami, faults, the request log.

The same tests run against each fake (the title says which), then
each module is run standalone as the sandbox would run it.
"""

import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

TOP = os.environ.get("MKP_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SANDBOX = os.path.join(TOP, "tests", "sandbox")
sys.path.insert(0, SANDBOX)
sys.dont_write_bytecode = True  # keep __pycache__ out of the tree

import taptest  # noqa: E402
from fakes import cloudflare, hetzner, infisical, testing  # noqa: E402

PYTHON = "/usr/bin/python3"


class Shared:
    """Tests every fake must pass; shared_case says how to probe one.

    probe is a cheap GET that succeeds; a fault answers with
    fault_code, which the API's error envelope keeps at error_path.
    """

    probe = None
    fault_code = None
    error_path = ()

    def error_code(self, body):
        """The error code in an error envelope of the fake's API."""
        for key in self.error_path:
            body = body[key]
        return body

    def test_whoami(self):
        """whoami names the fake and the port file holds its port"""
        who = self.admin_call("GET", "whoami")
        self.assertEqual((who["fake"], who["pid"]),
                         (self.fake.name, os.getpid()))
        self.assertRegex(who["started"], r"^\d{4}-\d\d-\d\dT[\d:]+Z$")
        self.assertTrue(who["api"])
        self.assertEqual(who["base_url"], self.fake.base_url)
        port_file = os.path.join(self.rundir, "ports",
                                 self.fake.name + ".port")
        with open(port_file) as f:
            self.assertEqual(f.read(), "%d\n" % self.fake.port)

    def test_fail_next(self):
        """fail_next N fails exactly N requests with the API's envelope"""
        self.admin_call("POST", "faults", {"fail_next": 2, "status": 503,
                                           "code": self.fault_code})
        for _ in range(2):
            resp = self.api.get(self.probe)
            self.assertEqual(resp.status, 503)
            self.assertEqual(self.error_code(resp.json()), self.fault_code)
        self.assertOk(self.api.get(self.probe))
        self.assertEqual(self.admin_call("GET", "faults")["faults"], [])

    def test_path_prefix(self):
        """A fault with path_prefix hits only the paths under it"""
        self.admin_call("POST", "faults", {"status": 500,
                                           "path_prefix": "/elsewhere"})
        self.assertOk(self.api.get(self.probe))
        resp = self.api.get("/elsewhere/x")
        self.assertEqual(resp.status, 500)
        self.assertOk(self.api.get(self.probe))

    def test_delay(self):
        """delay_ms holds the answer back and the log shows it"""
        self.admin_call("POST", "faults", {"delay_ms": 300})
        t0 = time.monotonic()
        self.assertOk(self.api.get(self.probe))
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        last = self.log_lines()[-1]
        self.assertGreaterEqual(last["ms"], 300)
        self.assertEqual(last["fault"], "delay")

    def test_truncate(self):
        """truncate sends half the body under the full Content-Length"""
        self.admin_call("POST", "faults", {"truncate": True})
        conn = self.api.connect()
        headers = {}
        if self.api.token:
            headers["Authorization"] = "Bearer " + self.api.token
        conn.request("GET", self.probe, headers=headers)
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        with self.assertRaises(http.client.IncompleteRead) as caught:
            resp.read()
        got = len(caught.exception.partial)
        self.assertEqual(got, int(resp.getheader("Content-Length")) // 2)
        conn.close()

    def test_reset(self):
        """reset drops the connection without an answer"""
        self.admin_call("POST", "faults", {"reset": True})
        with self.assertRaises((ConnectionError, ssl.SSLError,
                                http.client.RemoteDisconnected)):
            self.api.get(self.probe)
        last = self.log_lines()[-1]
        self.assertEqual((last["status"], last["fault"]), (None, "reset"))
        self.assertOk(self.api.get(self.probe))

    def test_request_log(self):
        """The log has method, path, query, status, time and ms only"""
        self.api.get(self.probe + "?x=1&y=%2F")
        self.admin_call("GET", "state")
        last = self.log_lines()[-1]
        self.assertEqual(sorted(last), ["method", "ms", "path", "query",
                                        "status", "time"])
        self.assertEqual((last["method"], last["path"], last["query"]),
                         ("GET", self.probe, "x=1&y=%2F"))
        path = os.path.join(self.rundir, "logs",
                            self.fake.name + ".requests.jsonl")
        with open(path) as f:
            text = f.read()
        self.assertNotIn("__sandbox", text)
        if self.api.token:
            self.assertNotIn(self.api.token, text)

    def test_keep_alive(self):
        """Several requests share one HTTP/1.1 connection"""
        conn = self.api.connect()
        headers = {"Authorization": "Bearer %s" % self.api.token}
        for _ in range(3):
            conn.request("GET", self.probe, headers=headers)
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.version, 11)
        conn.close()

    def test_admin_errors(self):
        """The admin API refuses unknown calls, faults and config keys"""
        resp = self.admin.get("/__sandbox/nothing", token=None)
        self.assertEqual(resp.status, 404)
        resp = self.admin.post("/__sandbox/faults", {"fail_nxt": 1},
                               token=None)
        self.assertEqual(resp.status, 400)
        resp = self.admin.post("/__sandbox/config", {"nope": 1},
                               token=None)
        self.assertEqual(resp.status, 400)
        budget = self.admin_call("GET", "ratelimit")
        self.assertGreater(budget["limit"], 0)


def shared_case(fake_class, probe, fault_code, error_path, token=None):
    """The Shared tests for one fake, as a test class whose titles end
    in the fake's name.  token, if any, is the API token the fake is
    configured with and the client sends."""
    return type(fake_class.name.capitalize(), (Shared, testing.FakeCase), {
        "__module__": __name__, "fake_class": fake_class,
        "token": token, "config": {"token": token} if token else {},
        "tap_suffix": " (%s)" % fake_class.name, "probe": probe,
        "fault_code": fault_code, "error_path": error_path})


Hetzner = shared_case(hetzner.HetznerFake, "/v1/locations", "unavailable",
                      ("error", "code"), token="t1004")
Cloudflare = shared_case(cloudflare.CloudflareFake, "/client/v4/zones",
                         10042, ("errors", 0, "code"), token="t1004")
Infisical = shared_case(infisical.InfisicalFake, "/api/status",
                        "ServiceUnavailable", ("error",))


class Standalone(unittest.TestCase):
    """Each module runs on its own, as the sandbox supervisor may."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mkp-fakes.")
        cls.tls = testing.make_ca(os.path.join(cls.tmp, "ca"))

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("MKP_KEEP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_fake(self, argv, name, config):
        """Start argv, check whoami, stop it with SIGTERM."""
        rundir = tempfile.mkdtemp(dir=self.tmp)
        conf = os.path.join(rundir, "config.json")
        with open(conf, "w") as f:
            json.dump(config, f)
        proc = subprocess.Popen(argv + [
            "--rundir", rundir, "--cert", self.tls["cert"],
            "--key", self.tls["key"], "--config", conf],
            cwd=SANDBOX, stderr=subprocess.PIPE)
        try:
            port_file = os.path.join(rundir, "ports", name + ".port")
            deadline = time.monotonic() + 10
            while not os.path.exists(port_file):
                if proc.poll() is not None:
                    self.fail("%s exited: %s" % (name, proc.stderr.read()))
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.02)
            with open(port_file) as f:
                port = int(f.read())
            client = testing.Client(port, self.tls["ca"])
            who = client.get("/__sandbox/whoami").json()
            self.assertEqual((who["fake"], who["pid"]), (name, proc.pid))
            with open(os.path.join(rundir, "pids", name + ".pid")) as f:
                self.assertEqual(int(f.read()), proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            status = proc.wait(timeout=10)
            proc.stderr.close()
        self.assertEqual(status, 0)
        self.assertFalse(os.path.exists(port_file), "port file left")
        self.assertFalse(os.path.exists(os.path.join(
            rundir, "pids", name + ".pid")), "pid file left")

    def test_modules(self):
        """python3 -m fakes.NAME serves until SIGTERM, then exits 0"""
        for name in ("hetzner", "cloudflare", "infisical"):
            self.run_fake([PYTHON, "-B", "-m", "fakes." + name], name,
                          {"rate_limit": 10})

    def test_script_path(self):
        """A fake also runs as a script, from any directory"""
        script = os.path.join(SANDBOX, "fakes", "cloudflare.py")
        self.run_fake([PYTHON, "-B", script], "cloudflare",
                      {"zones": [{"name": "kua.test", "records": [
                          {"type": "A", "name": "git",
                           "content": "127.0.0.10"}]}]})

    def test_loopback_only(self):
        """A fake refuses to listen on anything but loopback"""
        fake = hetzner.HetznerFake(os.path.join(self.tmp, "lo"), {})
        with self.assertRaises(ValueError):
            fake.start(self.tls["cert"], self.tls["key"], host="0.0.0.0")

    def test_stop(self):
        """stop() ends the fake's threads and closes its port"""
        fake = infisical.InfisicalFake(os.path.join(self.tmp, "st"), {})
        port = fake.start(self.tls["cert"], self.tls["key"])
        client = testing.Client(port, self.tls["ca"])
        conn = client.connect()
        conn.request("GET", "/api/status")
        conn.getresponse().read()
        fake.stop()
        names = [t.name for t in threading.enumerate()]
        self.assertFalse([n for n in names if n.startswith("infisical-")])
        with self.assertRaises(OSError):
            client.get("/api/status")
        conn.close()


if __name__ == "__main__":
    taptest.main()
