#!/usr/bin/python3
"""t1003: the fake Infisical answers as FACTS.md section 3 describes.

Status, universal-auth login and lockout, both secret listings with
every required key and type, and the error envelope with its names.
"""

import base64
import http.client
import http.server
import json
import os
import re
import sys
import threading
import time
import unittest

TOP = os.environ.get("MKP_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "sandbox"))
sys.dont_write_bytecode = True  # keep __pycache__ out of the tree

import taptest  # noqa: E402
from fakes import infisical, testing  # noqa: E402

PROJECT = "4b1c2d3e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
MACHINE = {"clientId": "machine-1", "clientSecret": "s3cr3t-1"}
VICTIM = {"clientId": "machine-2", "clientSecret": "s3cr3t-2"}
PROD = {"/": {"POSTGRES_PASSWORD": "it's \"quoted\" $HOME",
              "AUTH_SECRET": "a b c",
              "STORAGE_BOX_SSH_PRIVATE_KEY": "-----BEGIN-----\nx\n-----END"
                                             "-----\n"},
        "/shared": {"S3_REGION": "eu-central"},
        "/shared/deep": {"DEEP": "1"}}

# FACTS 3.3: the keys a secret must have, and their JSON types.
REQUIRED = {"id": str, "_id": str, "workspace": str, "environment": str,
            "version": int, "type": str, "secretKey": str,
            "secretValue": str, "secretComment": str, "createdAt": str,
            "updatedAt": str, "secretValueHidden": bool}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# Requests no Infisical route takes, with or without a token, even a
# garbage one: Fastify answers them before any auth hook runs.
UNKNOWN_ROUTES = (("GET", "/api/v9/nothing", None),
                  ("GET", "/api/v9/nothing?x=1&y=a%20b", "garbage"),
                  ("DELETE", "/api/status", None),
                  ("POST", "/api/v1/auth/universal-auth/nothing", None),
                  ("PUT", "/", None))


def fastify_404(method, target):
    """What a real Infisical sends for a route it does not have:
    Fastify's default not-found body, byte for byte (fourOhFour.js
    basic404; a self-hosted instance's answer quoted in issue
    Infisical/infisical#5034), with no reqId: Infisical sets no
    not-found handler, so its error envelope is not used."""
    return ('{"message":"Route %s:%s not found","error":"Not Found",'
            '"statusCode":404}' % (method, target)).encode()


class InfisicalCase(testing.FakeCase):
    """A fake with two identities and one project."""

    fake_class = infisical.InfisicalFake
    config = {"identities": [MACHINE, VICTIM],
              "projects": {PROJECT: {"prod": PROD, "dev": {}}},
              "imports": {PROJECT: {"prod": {"/": [
                  {"environment": "prod", "secretPath": "/shared"}]}}},
              "lockout_seconds": 0.5}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        resp = cls.admin.post("/api/v1/auth/universal-auth/login",
                              MACHINE, token=None)
        cls.token = resp.json()["accessToken"]

    def call(self, method, path, body=None, status=200, token="mine"):
        """Call the fake with this class's token; the parsed body."""
        token = self.token if token == "mine" else token
        resp = self.admin.request(method, path, body, token=token)
        data = self.assertOk(resp, status)
        if status >= 400:
            self.assertEqual(sorted(data), ["error", "message", "reqId",
                                            "statusCode"])
            self.assertRegex(data["reqId"], r"^req-[A-Za-z0-9]+$")
            self.assertEqual(data["statusCode"], status)
        return data

    def secrets(self, query, status=200, version=3, token="mine"):
        """List secrets with query through the v3 or v4 endpoint."""
        path = {3: "/api/v3/secrets/raw?", 4: "/api/v4/secrets?"}
        return self.call("GET", path[version] + query, status=status,
                         token=token)

    def login(self, who, status=200):
        """Log in as who; the parsed answer."""
        return self.call("POST", "/api/v1/auth/universal-auth/login",
                         who, status, token=None)


class Auth(InfisicalCase):

    def test_status(self):
        """/api/status says "Ok" with a date"""
        data = self.call("GET", "/api/status", token=None)
        self.assertEqual(data["message"], "Ok")
        self.assertRegex(data["date"], ISO_MS)
        self.assertIsInstance(data["emailConfigured"], bool)

    def test_login(self):
        """Login gives a JWT-like token, expiresIn and tokenType Bearer"""
        data = self.login(MACHINE)
        self.assertEqual(sorted(data), ["accessToken", "accessTokenMaxTTL",
                                        "expiresIn", "tokenType"])
        self.assertEqual((data["expiresIn"], data["tokenType"]),
                         (2592000, "Bearer"))
        parts = data["accessToken"].split(".")
        self.assertEqual(len(parts), 3)
        for part in parts:
            self.assertRegex(part, r"^[A-Za-z0-9_-]+$")
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=="))
        self.assertGreater(claims["exp"], time.time() + 2591000)

    def test_bad_credentials(self):
        """A wrong secret or unknown client gets 401 Invalid credentials"""
        data = self.login({"clientId": "nobody", "clientSecret": "x"}, 401)
        self.assertEqual((data["error"], data["message"]),
                         ("UnauthorizedError", "Invalid credentials"))
        data = self.login({"clientId": "x"}, 422)
        self.assertEqual(data["error"], "ValidationFailure")
        self.assertEqual(data["message"][0]["path"], ["clientSecret"])

    def test_lockout(self):
        """Three failures lock the identity, even for the right secret"""
        wrong = dict(VICTIM, clientSecret="wrong")
        for _ in range(3):
            self.assertEqual(self.login(wrong, 401)["message"],
                             "Invalid credentials")
        data = self.login(VICTIM, 401)
        self.assertEqual(data["message"], "This identity auth method is "
                         "temporarily locked, please try again later")
        time.sleep(0.6)
        self.login(VICTIM)

    def test_tokens(self):
        """No token gets 401; a bad or forged one 403 TokenError"""
        data = self.secrets("workspaceId=%s&environment=prod" % PROJECT,
                            401, token=None)
        self.assertEqual((data["error"], data["message"]),
                         ("UnauthorizedError", "Token missing"))
        data = self.secrets("workspaceId=%s&environment=prod" % PROJECT,
                            403, token="garbage")
        self.assertEqual(data["error"], "TokenError")
        self.assertIn("malformed", data["message"])
        head, body, sig = self.token.split(".")
        forged = json.loads(base64.urlsafe_b64decode(body + "=="))
        forged["exp"] += 1
        body = base64.urlsafe_b64encode(json.dumps(forged).encode())
        self.secrets("projectId=%s&environment=prod" % PROJECT, 403, 4,
                     token="%s.%s.%s" % (head, body.decode().rstrip("="),
                                         sig))

    def test_expiry(self):
        """An expired token gets 403 "Your token has expired" """
        self.admin_call("POST", "config", {"token_ttl": 1})
        try:
            token = self.login(MACHINE)["accessToken"]
        finally:
            self.admin_call("POST", "config", {"token_ttl": 2592000})
        time.sleep(1.05)
        data = self.secrets("projectId=%s&environment=prod" % PROJECT,
                            403, 4, token=token)
        self.assertEqual((data["error"], data["message"]),
                         ("TokenError", "Your token has expired. Please "
                          "re-authenticate."))

    def test_rate_limit(self):
        """An exhausted budget gets 429 RateLimitExceeded; status is free"""
        self.admin_call("POST", "ratelimit", {"remaining": 0})
        try:
            resp = self.admin.post("/api/v1/auth/universal-auth/login",
                                   MACHINE, token=None)
            self.assertEqual(resp.status, 429)
            self.assertEqual(resp.json()["error"], "RateLimitExceeded")
            self.assertTrue(resp.header("retry-after").isdigit())
            self.call("GET", "/api/status", token=None)
        finally:
            self.admin_call("POST", "ratelimit", {"remaining": 600})

    def test_unknown_route(self):
        """Unknown routes and methods get Fastify's 404, not the envelope"""
        for method, target, token in UNKNOWN_ROUTES:
            resp = self.admin.request(method, target, token=token)
            self.assertEqual(resp.status, 404, resp.body)
            self.assertEqual(resp.header("Content-Type"),
                             "application/json; charset=utf-8")
            self.assertEqual(resp.body, fastify_404(method, target))


class Secrets(InfisicalCase):

    def test_shapes(self):
        """Both listings give every required key with the right types"""
        for version, key in ((3, "workspaceId"), (4, "projectId")):
            data = self.secrets("%s=%s&environment=prod&secretPath=/"
                                % (key, PROJECT), version=version)
            self.assertEqual(sorted(data), ["imports", "secrets"])
            for item in data["secrets"]:
                for name, kind in REQUIRED.items():
                    self.assertIsInstance(item[name], kind, name)
                self.assertRegex(item["createdAt"], ISO_MS)
                self.assertEqual((item["workspace"], item["environment"],
                                  item["type"], item["secretPath"],
                                  item["skipMultilineEncoding"]),
                                 (PROJECT, "prod", "shared", "/", False))
                self.assertEqual(item["id"], item["_id"])

    def test_values(self):
        """Values with quotes, $, spaces and newlines come back as stored"""
        data = self.secrets("workspaceId=%s&environment=prod" % PROJECT)
        got = {s["secretKey"]: s["secretValue"] for s in data["secrets"]}
        self.assertEqual(got, PROD["/"])
        self.assertEqual([s["secretKey"] for s in data["secrets"]],
                         list(PROD["/"]), "config order is kept")

    def test_errors(self):
        """Missing ids get 400; unknown project, env or path 404"""
        data = self.secrets("environment=prod", 400)
        self.assertEqual((data["error"], data["message"]),
                         ("BadRequest", "Missing project id or "
                          "environment"))
        self.secrets("projectId=%s" % PROJECT, 400, 4)
        data = self.secrets("projectId=nope&environment=prod", 404, 4)
        self.assertEqual(data["error"], "NotFound")
        for query in ("environment=staging", "environment=prod"
                      "&secretPath=/missing"):
            data = self.secrets("workspaceId=%s&%s" % (PROJECT, query),
                                404)
            self.assertEqual(data["error"], "SecretPathNotFound")
            self.assertRegex(data["message"], r"^Folder with path '/")
        empty = self.secrets("workspaceId=%s&environment=dev" % PROJECT)
        self.assertEqual(empty["secrets"], [])

    def test_hidden(self):
        """viewSecretValue=false hides the values"""
        data = self.secrets("workspaceId=%s&environment=prod"
                            "&viewSecretValue=false" % PROJECT)
        for item in data["secrets"]:
            self.assertEqual((item["secretValue"],
                              item["secretValueHidden"]),
                             ("<hidden-by-infisical>", True))

    def test_imports(self):
        """include_imports and includeImports add the imports, v3 and v4"""
        for version, key in ((3, "workspaceId"), (4, "projectId")):
            base = "%s=%s&environment=prod" % (key, PROJECT)
            self.assertEqual(self.secrets(base, version=version)[
                "imports"], [])
            for flag in ("include_imports", "includeImports"):
                where = "v%d %s" % (version, flag)
                data = self.secrets("%s&%s=true" % (base, flag),
                                    version=version)
                self.assertEqual(len(data["imports"]), 1, where)
                imp = data["imports"][0]
                self.assertEqual((imp["secretPath"], imp["environment"]),
                                 ("/shared", "prod"), where)
                self.assertEqual([s["secretKey"] for s in imp["secrets"]],
                                 ["S3_REGION"], where)
                off = self.secrets("%s&%s=false" % (base, flag),
                                   version=version)
                self.assertEqual(off["imports"], [], where)

    def test_paths(self):
        """secretPath selects a folder and recursive adds those below"""
        base = "projectId=%s&environment=prod" % PROJECT
        one = self.secrets(base + "&secretPath=/shared/", version=4)
        self.assertEqual([s["secretKey"] for s in one["secrets"]],
                         ["S3_REGION"])
        deep = self.secrets(base + "&secretPath=/shared&recursive=true",
                            version=4)
        self.assertEqual({(s["secretPath"], s["secretKey"])
                          for s in deep["secrets"]},
                         {("/shared", "S3_REGION"),
                          ("/shared/deep", "DEEP")})


class StandIn(unittest.TestCase):
    """The Infisical stand-in of the sandbox hosts (services.py), served
    here in-process over plain HTTP, as Traefik reaches it."""

    @classmethod
    def setUpClass(cls):
        import services
        cls.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), services.InfisicalHandler)
        cls.server.record = {}
        cls.thread = threading.Thread(target=cls.server.serve_forever,
                                      daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def request(self, method, target):
        """(status, content type, body) of one request."""
        conn = http.client.HTTPConnection(*self.server.server_address,
                                          timeout=10)
        try:
            conn.request(method, target)
            resp = conn.getresponse()
            return (resp.status, resp.getheader("Content-Type"),
                    resp.read())
        finally:
            conn.close()

    def test_unknown_route(self):
        """The stand-in answers unknown routes with the fake's 404 bytes"""
        for method, target, _ in UNKNOWN_ROUTES:
            self.assertEqual(self.request(method, target),
                             (404, "application/json; charset=utf-8",
                              fastify_404(method, target)), target)

    def test_ui_page(self):
        """The stand-in serves the web UI's page for GET outside /api"""
        status, ctype, body = self.request("GET", "/login")
        self.assertEqual((status, ctype), (200, "text/html; charset=utf-8"))
        self.assertIn(b"Infisical", body)


if __name__ == "__main__":
    taptest.main()
