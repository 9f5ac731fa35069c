"""infisical.py: a fake self-hosted Infisical, as machines see it.

It follows FACTS.md section 3: GET /api/status, universal-auth login
with lockout, the v3 (/api/v3/secrets/raw) and v4 (/api/v4/secrets)
secret listings, and the {reqId, statusCode, message, error} error
envelope.  Access tokens look like JWTs (three base64url parts, HMAC
signed with a key made at start-up) and carry the identity and the
expiry, so a forged, garbled or expired one is told apart.

Choices where FACTS is silent, taken from the backend source:
  - an unknown environment or secret path is 404 SecretPathNotFound
    "Folder with path '/x' in environment 'prod' was not found. ..."
    (secret-v2-bridge getSecretsRaw: a missing folder throws);
  - an unknown project is 404 NotFound "Project with ID not found";
  - viewSecretValue=false masks values as "<hidden-by-infisical>";
  - secrets come in the order the config lists them (the server's
    order is the database's; clients must sort, as the CLI does);
  - an unknown route, or a known one with another method, is 404 with
    Fastify's own body, not Infisical's envelope: {"message": "Route
    GET:/x?y not found", "error": "Not Found", "statusCode": 404},
    compact, in that order, the request target as sent (query
    included) and no reqId.  Infisical registers no not-found
    handler (server/app.ts, plugins/error-handler.ts; serve-ui.ts
    sends /api paths to Fastify's with reply.callNotFound()), so
    fastify's fourOhFour.js basic404 answers, as a self-hosted
    instance does in issue Infisical/infisical#5034.  A 404 the API
    raises itself (NotFound, SecretPathNotFound) keeps the envelope.

Config keys (all optional):
  identities      [{"clientId", "clientSecret"}]
  projects        {projectId: {envSlug: {secretPath: {KEY: value}}}}
  imports         {projectId: {envSlug: {secretPath:
                      [{"environment", "secretPath"}]}}}
  token_ttl       expiresIn of new tokens, seconds (2592000; 0: none)
  token_max_ttl   accessTokenMaxTTL (2592000)
  lockout_after   failed logins before the lockout (3)
  lockout_seconds how long a lockout lasts (300)
  lockout_reset   seconds after which failures are forgotten (30)
  rate_limit      requests per minute (600); /api/status is exempt
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import string
import sys
import time
import uuid

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    __package__ = "fakes"

from . import common
from .common import ApiError, Reply, route, rfc3339

HIDDEN = "<hidden-by-infisical>"
NS = uuid.UUID("6a1b8d40-5e2f-4c1d-9a3b-0c4d5e6f7a8b")
MALFORMED = ("The provided access token is malformed. Please use a "
             "valid token or generate a new one and try again.")
LOCKED = ("This identity auth method is temporarily locked, please "
          "try again later")

# Error names and default messages of plugins/error-handler.ts.
ERRORS = {400: ("BadRequest", "Bad request"),
          401: ("UnauthorizedError", "Unauthorized"),
          403: ("PermissionDenied", "Permission denied"),
          404: ("NotFound", "The requested entity is not found"),
          422: ("ValidationFailure", "Validation failure"),
          429: ("RateLimitExceeded", "Rate limit exceeded"),
          500: ("InternalServerError", "Something went wrong"),
          504: ("GatewayTimeoutError", "Timeout error")}


def route_not_found(method, target):
    """The body of Fastify's default 404 (fourOhFour.js basic404), which
    Infisical sends for a route it does not have: compact JSON, keys in
    Fastify's order, the target as the client sent it.  The sandbox's
    Infisical stand-in (services.py) answers with the same bytes."""
    return json.dumps({"message": "Route %s:%s not found"
                       % (method, target),
                       "error": "Not Found", "statusCode": 404},
                      separators=(",", ":"), ensure_ascii=False).encode()


class RouteNotFound(ApiError):
    """No route for this method and path: Fastify answers, not
    Infisical's error handler (see route_not_found)."""

    def __init__(self, req):
        super().__init__(404, "Not Found", "Route %s:%s not found"
                         % (req.method, req.target))
        self.body = route_not_found(req.method, req.target)


def _b64(data):
    """base64url without padding, as JWTs write it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text):
    """The inverse of _b64; ValueError when it is not base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("bad base64url")


def _uuid(*parts):
    """A UUID stable across runs, for ids derived from names."""
    return str(uuid.uuid5(NS, "\0".join(str(p) for p in parts)))


def _norm_path(path):
    """A secret path with one leading slash and no trailing one."""
    return "/" + path.strip().strip("/")


def _true(value, default):
    """A boolean query flag as zod coerces it."""
    if value is None or value == "":
        return default
    return value.lower() in ("true", "1")


def _zod_type(body, field):
    """What Zod says it received for body[field]."""
    if field not in body:
        return "undefined"
    value = body[field]
    for kind, word in ((bool, "boolean"), ((int, float), "number"),
                       (list, "array"), (dict, "object")):
        if isinstance(value, kind):
            return word
    return "null" if value is None else "string"


def validation_failure(field, received):
    """422 with Zod's array of issues as the message (FACTS 3.4)."""
    return ApiError(422, "ValidationFailure", [{
        "code": "invalid_type", "expected": "string",
        "received": received, "path": [field], "message": "Required"}])


class InfisicalFake(common.Fake):
    """The fake Infisical; see the module docstring."""

    name = "infisical"
    api = "Infisical (self-hosted) API (mkprov sandbox fake)"
    prefix = ""
    content_type = "application/json; charset=utf-8"
    defaults = {"identities": [], "projects": {}, "imports": {},
                "token_ttl": 2592000, "token_max_ttl": 2592000,
                "lockout_after": 3, "lockout_seconds": 300,
                "lockout_reset": 30, "rate_limit": 600}

    def __init__(self, rundir, config, hooks=None):
        super().__init__(rundir, config, hooks)
        self.key = secrets.token_bytes(32)
        self.failures = {}
        self.locked_until = {}
        self.logins = []
        self.born = time.time()

    # -- the API's words ----------------------------------------------

    def make_budget(self):
        return common.Budget(self.config["rate_limit"], 60, "window")

    def rate_exempt(self, req):
        return req.path in ("/api/status", "/healthcheck")

    def rate_headers(self, now):
        return {"x-ratelimit-limit": self.budget.limit,
                "x-ratelimit-remaining": self.budget.remaining(now),
                "x-ratelimit-reset": max(0, int(self.budget.full_at(now)
                                                - now))}

    def too_many(self, now):
        wait = max(1, int(-(-(self.budget.full_at(now) - now) // 1)))
        return ApiError(429, "RateLimitExceeded", "Rate limit exceeded. "
                        "Please try again in %d seconds" % wait,
                        headers={"retry-after": str(wait)})

    def fault_error(self, fault):
        name, message = ERRORS.get(fault.status, ("Error", "Injected"))
        return ApiError(fault.status, fault.code or name,
                        fault.message or message)

    def no_route(self, req):
        return RouteNotFound(req)

    def wrong_method(self, req, allowed):
        return self.no_route(req)

    def bad_json(self, req):
        return ApiError(400, "BadRequest", "Body is not valid JSON")

    def render_error(self, err, req):
        if isinstance(err, RouteNotFound):
            return Reply(err.status, err.body)
        return Reply(err.status, {
            "reqId": "req-" + "".join(
                secrets.choice(string.ascii_letters + string.digits)
                for _ in range(14)),
            "statusCode": err.status, "message": err.message,
            "error": err.code})

    def dump_state(self):
        return {"logins": self.logins,
                "failures": self.failures,
                "locked_until": {k: rfc3339(v) for k, v
                                 in self.locked_until.items()},
                "projects": self.config["projects"],
                "budget": self.budget.view(time.time())}

    # -- tokens -------------------------------------------------------

    def _identity(self, client_id):
        """The configured identity with client_id, or None."""
        for ident in self.config["identities"]:
            if ident.get("clientId") == client_id:
                return ident
        return None

    def _issue(self, ident, now):
        """A signed JWT-like access token for ident."""
        claims = {"identityId": _uuid("identity", ident["clientId"]),
                  "clientId": ident["clientId"],
                  "identityAccessTokenId": str(uuid.uuid4()),
                  "authTokenType": "identityAccessToken",
                  "iat": int(now)}
        if self.config["token_ttl"]:
            claims["exp"] = int(now) + int(self.config["token_ttl"])
        head = _b64(b'{"alg":"HS256","typ":"JWT"}')
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return "%s.%s.%s" % (head, body, self._sign(head, body))

    def _sign(self, head, body):
        """The HMAC-SHA256 signature part of a token."""
        mac = hmac.new(self.key, ("%s.%s" % (head, body)).encode(),
                       hashlib.sha256)
        return _b64(mac.digest())

    def authenticate(self, req):
        """401 without a token, 403 TokenError for a bad or old one."""
        token = req.bearer()
        if not token:
            raise ApiError(401, "UnauthorizedError", "Token missing")
        try:
            head, body, sig = token.split(".")
            if not hmac.compare_digest(sig, self._sign(head, body)):
                raise ValueError("bad signature")
            claims = json.loads(_unb64(body))
            if not isinstance(claims, dict):
                raise ValueError("claims are not an object")
        except ValueError:
            raise ApiError(403, "TokenError", MALFORMED)
        if self._identity(claims.get("clientId")) is None:
            raise ApiError(403, "TokenError", MALFORMED)
        if "exp" in claims and claims["exp"] <= time.time():
            raise ApiError(403, "TokenError", "Your token has expired. "
                           "Please re-authenticate.")
        req.identity = claims

    # -- routes -------------------------------------------------------

    @route("GET", "/api/status", auth=False)
    def status(self, req):
        """GET /api/status: "date" and message "Ok" (FACTS 3.1)."""
        return Reply(200, {"date": rfc3339(frac=3), "message": "Ok",
                           "emailConfigured": False,
                           "inviteOnlySignup": False,
                           "redisConfigured": True,
                           "secretScanningConfigured": False,
                           "auditLogStorageDisabled": False})

    @route("POST", "/api/v1/auth/universal-auth/login", auth=False)
    def login(self, req):
        """Universal-auth login: a token, or 401 and a lockout."""
        body = self.body_json(req)
        body = body if isinstance(body, dict) else {}
        for field in ("clientId", "clientSecret"):
            if not isinstance(body.get(field), str):
                raise validation_failure(field, _zod_type(body, field))
        now = time.time()
        ident = self._identity(body["clientId"].strip())
        if ident is None:
            raise ApiError(401, "UnauthorizedError", "Invalid credentials")
        cid = ident["clientId"]
        if self.locked_until.get(cid, 0) > now:
            raise ApiError(401, "UnauthorizedError", LOCKED)
        if not hmac.compare_digest(body["clientSecret"].strip(),
                                   ident["clientSecret"]):
            self._failed(cid, now)
            raise ApiError(401, "UnauthorizedError", "Invalid credentials")
        self.failures.pop(cid, None)
        self.logins.append({"clientId": cid, "time": rfc3339(now)})
        return Reply(200, {"accessToken": self._issue(ident, now),
                           "expiresIn": int(self.config["token_ttl"]),
                           "accessTokenMaxTTL":
                               int(self.config["token_max_ttl"]),
                           "tokenType": "Bearer"})

    def _failed(self, cid, now):
        """Count a failed login; lock the identity at the threshold."""
        count, last = self.failures.get(cid, (0, now))
        if now - last > self.config["lockout_reset"]:
            count = 0
        count += 1
        self.failures[cid] = (count, now)
        if count >= int(self.config["lockout_after"]):
            self.locked_until[cid] = now + self.config["lockout_seconds"]
            self.failures.pop(cid, None)

    @route("GET", "/api/v3/secrets/raw")
    def secrets_v3(self, req):
        """GET /api/v3/secrets/raw?workspaceId=&environment=..."""
        return self._list_secrets(req, req.arg("workspaceId"))

    @route("GET", "/api/v4/secrets")
    def secrets_v4(self, req):
        """GET /api/v4/secrets?projectId=&environment=..."""
        return self._list_secrets(req, req.arg("projectId"))

    def _list_secrets(self, req, pid):
        """Both listings: {"secrets": [...], "imports": [...]}."""
        env = req.arg("environment")
        if not pid or not env:
            raise ApiError(400, "BadRequest",
                           "Missing project id or environment")
        if pid not in self.config["projects"]:
            raise ApiError(404, "NotFound",
                           "Project with ID '%s' not found" % pid)
        path = _norm_path(req.arg("secretPath", "/"))
        show = _true(req.arg("viewSecretValue"), True)
        folders = self._folders(pid, env, path,
                                _true(req.arg("recursive"), False))
        out = {"secrets": [s for f in folders
                           for s in self._secrets(pid, env, f, show)]}
        wants = req.arg("include_imports", req.arg("includeImports"))
        out["imports"] = []
        if _true(wants, False):
            out["imports"] = self._imports(pid, env, folders, show)
        return Reply(200, out)

    def _folders(self, pid, env, path, recursive):
        """The folder paths listed: path, and below it if recursive.

        A folder exists when a configured path is it or lies under it.
        """
        paths = self.config["projects"][pid].get(env)
        below = [p for p in (paths or {})
                 if _norm_path(p) == path
                 or _norm_path(p).startswith(path.rstrip("/") + "/")]
        if paths is None or (not below and path != "/"):
            raise ApiError(404, "SecretPathNotFound",
                           "Folder with path '%s' in environment '%s' "
                           "was not found. Please ensure the environment "
                           "slug and secret path is correct." % (path, env))
        if not recursive:
            return [path]
        return sorted({path} | {_norm_path(p) for p in below})

    def _secrets(self, pid, env, path, show, dated=True):
        """The secret objects of one folder (FACTS 3.3's keys)."""
        folder = {}
        for p, values in self.config["projects"][pid][env].items():
            if _norm_path(p) == path:
                folder = values
        out = []
        for key, value in folder.items():
            sid = _uuid("secret", pid, env, path, key)
            item = {"id": sid, "_id": sid, "workspace": pid,
                    "environment": env, "version": 1, "type": "shared",
                    "secretKey": key,
                    "secretValue": value if show else HIDDEN,
                    "secretComment": "", "secretReminderNote": None,
                    "secretReminderRepeatDays": None,
                    "skipMultilineEncoding": False, "actor": None,
                    "isRotatedSecret": False, "rotationId": None,
                    "secretPath": path, "secretValueHidden": not show,
                    "secretMetadata": [], "tags": []}
            if dated:
                item["createdAt"] = rfc3339(self.born, frac=3)
                item["updatedAt"] = rfc3339(self.born, frac=3)
            out.append(item)
        return out

    def _imports(self, pid, env, folders, show):
        """The imports of the listed folders, with their secrets."""
        table = self.config["imports"].get(pid, {}).get(env, {})
        out = []
        for folder in folders:
            for spec in table.get(folder, []):
                ienv = spec["environment"]
                ipath = _norm_path(spec["secretPath"])
                try:
                    self._folders(pid, ienv, ipath, False)
                except ApiError:
                    continue
                out.append({"secretPath": ipath, "environment": ienv,
                            "folderId": _uuid("folder", pid, ienv, ipath),
                            "secrets": self._secrets(pid, ienv, ipath,
                                                     show, dated=False)})
        return out


if __name__ == "__main__":
    sys.exit(common.main(InfisicalFake))
