"""common.py: what the three fake APIs share.

A fake is a Fake subclass whose handler methods are marked with
@route.  Fake.start() serves it over HTTPS on a loopback address in
daemon threads and writes RUNDIR/ports/NAME.port.  Every request goes
through one pipeline:

    admin (/__sandbox/...)  ->  fault  ->  rate budget  ->  auth  ->
    route  ->  reply (JSON)  ->  request log

The admin API is never logged, rate limited or faulted, so tests can
steer a fake without disturbing what they measure.  All state lives
behind one lock; a ticker thread calls tick() so that time-driven
state (actions, boots) moves on even when nobody asks.

A subclass fills in the API's own words: how an error looks
(render_error), how the budget is spent and shown (make_budget,
rate_headers, too_many), how a caller proves who it is
(authenticate), and what an unknown path or method gets.
"""

import argparse
import datetime
import hashlib
import http.server
import ipaddress
import json
import math
import os
import re
import secrets
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse

ADMIN_PREFIX = "/__sandbox/"
TICK_SECONDS = 0.05
IDLE_SECONDS = 30


def rfc3339(ts=None, frac=0):
    """The UTC time ts (default now) as RFC 3339 with a Z.

    frac is the number of fraction digits (0, 3 or 6): the three APIs
    differ there and clients must cope with each.
    """
    if ts is None:
        ts = time.time()
    dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += ".%0*d" % (frac, dt.microsecond // 10 ** (6 - frac))
    return text + "Z"


def hex_id(nbytes=16):
    """A random lower-case hex identifier (32 digits by default)."""
    return secrets.token_hex(nbytes)


def stable_hex(*parts):
    """A 32-digit hex id derived from parts, stable across runs."""
    text = "\0".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def write_atomic(path, text):
    """Write text to path through a temporary file and a rename.

    A reader polling for the file never sees it half written.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def paginate(items, page, per_page):
    """The slice of items on page (1-based) and the number of pages.

    An empty list still has one page, as Hetzner reports it; callers
    that count zero pages (Cloudflare) adjust for themselves.
    """
    last = max(1, math.ceil(len(items) / per_page))
    start = (page - 1) * per_page
    return items[start:start + per_page], last


class ApiError(Exception):
    """An API error, rendered by the fake that raised it.

    status is the HTTP status, code and message the API's own; details
    is whatever extra the API puts in its envelope.
    """

    def __init__(self, status, code, message, details=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


class Reply:
    """A response: status, a JSON-able body (or bytes), headers."""

    def __init__(self, status, body=None, headers=None, ctype=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.ctype = ctype
        self.data = b""

    def encode(self, indent, default_ctype):
        """Turn body into bytes now, while the state lock is held."""
        if self.status == 204 or self.body is None:
            self.data = b""
        elif isinstance(self.body, bytes):
            self.data = self.body
        else:
            text = json.dumps(self.body, indent=indent)
            self.data = (text + ("\n" if indent else "")).encode()
        if self.ctype is None:
            self.ctype = default_ctype


class Request:
    """One parsed request: method, path, query, headers and body."""

    def __init__(self, method, target, headers, body):
        url = urllib.parse.urlsplit(target)
        self.method = method
        self.target = target      # as sent: path and query, undecoded
        self.path = urllib.parse.unquote(url.path)
        self.raw_query = url.query
        self.query = urllib.parse.parse_qs(url.query,
                                           keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.params = {}

    def arg(self, name, default=None):
        """The first value of query parameter name, or default."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name):
        """Every value of a repeatable query parameter."""
        return list(self.query.get(name, []))

    def json(self):
        """The body parsed as JSON; None when empty.

        Raises ValueError when the body is not JSON.
        """
        if not self.body.strip():
            return None
        return json.loads(self.body.decode("utf-8"))

    def bearer(self):
        """The bearer token, "" for a bad header, None for no header."""
        value = self.headers.get("Authorization")
        if value is None:
            return None
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return ""
        return token.strip()


def route(method, pattern, auth=True):
    """Mark a Fake method as the handler of method + pattern.

    In pattern, {name} matches one path segment and {name:int} digits
    only; the matches arrive in req.params.  auth=False skips the
    fake's authenticate().
    """
    regex = re.sub(r"\{(\w+)(:int)?\}",
                   lambda m: "(?P<%s>%s)" % (
                       m.group(1), "[0-9]+" if m.group(2) else "[^/]+"),
                   pattern)

    def mark(func):
        marks = getattr(func, "routes", [])
        marks.append((method, re.compile("^%s$" % regex), auth))
        func.routes = marks
        return func
    return mark


class Budget:
    """A request budget of limit requests per period seconds.

    mode "gradual" refills one request every period/limit seconds, as
    Hetzner does; "window" refills everything when a fixed window
    ends, as Cloudflare's and Infisical's limiters do.
    """

    def __init__(self, limit, period, mode):
        self.limit = int(limit)
        self.period = float(period)
        self.mode = mode
        self.level = float(self.limit)
        self.stamp = time.time()

    def _refresh(self, now):
        """Bring level up to date with the time that passed."""
        if self.mode == "gradual":
            rate = self.limit / self.period
            self.level = min(self.limit,
                             self.level + (now - self.stamp) * rate)
            self.stamp = now
        elif now >= self.stamp + self.period:
            self.level = float(self.limit)
            self.stamp = now

    def take(self, now):
        """Spend one request; False when the budget is exhausted."""
        self._refresh(now)
        if self.level < 1:
            return False
        self.level -= 1
        return True

    def remaining(self, now):
        """Whole requests left now."""
        self._refresh(now)
        return int(self.level)

    def full_at(self, now):
        """UNIX time at which the budget is full (window: resets)."""
        self._refresh(now)
        if self.mode == "gradual":
            missing = self.limit - self.level
            return now + missing * self.period / self.limit
        return self.stamp + self.period

    def set(self, now, remaining=None, limit=None):
        """Admin override; a window restarts so a block lasts."""
        self._refresh(now)
        if limit is not None:
            self.limit = int(limit)
            self.level = min(self.level, self.limit)
        if remaining is not None:
            self.level = float(max(0, min(int(remaining), self.limit)))
            if self.mode == "window":
                self.stamp = now

    def view(self, now):
        """The budget as the admin API shows it."""
        return {"limit": self.limit, "remaining": self.remaining(now),
                "full_at": rfc3339(self.full_at(now)),
                "mode": self.mode, "period": self.period}


class Fault:
    """One queued fault rule from POST /__sandbox/faults.

    It hits the next fail_next requests whose path starts with
    path_prefix (and whose method is method, if given).  Each hit may
    wait delay_ms, then reset the connection, or answer status with
    the API's error for code/message, and may truncate the body.
    """

    KEYS = {"fail_next", "status", "code", "message", "path_prefix",
            "method", "delay_ms", "truncate", "reset"}

    def __init__(self, spec):
        unknown = set(spec) - self.KEYS
        if unknown:
            raise ValueError("unknown keys: %s" % ", ".join(sorted(unknown)))
        self.left = int(spec.get("fail_next", 1))
        self.status = spec.get("status")
        if self.status is not None:
            self.status = int(self.status)
        self.code = spec.get("code")
        self.message = spec.get("message")
        self.prefix = str(spec.get("path_prefix") or "")
        self.method = spec.get("method")
        self.delay_ms = float(spec.get("delay_ms") or 0)
        self.truncate = bool(spec.get("truncate"))
        self.reset = bool(spec.get("reset"))
        if self.left < 1:
            raise ValueError("fail_next must be at least 1")

    def matches(self, req):
        """Whether this rule applies to req."""
        if self.method and self.method.upper() != req.method:
            return False
        return req.path.startswith(self.prefix)

    def kind(self):
        """A short word for the request log."""
        for word, on in (("reset", self.reset),
                         ("status", self.status is not None),
                         ("truncate", self.truncate)):
            if on:
                return word
        return "delay"

    def view(self):
        """The rule as the admin API shows it."""
        return {"fail_next": self.left, "status": self.status,
                "code": self.code, "message": self.message,
                "path_prefix": self.prefix, "method": self.method,
                "delay_ms": self.delay_ms, "truncate": self.truncate,
                "reset": self.reset}


class RequestLog:
    """RUNDIR/logs/NAME.requests.jsonl, one JSON object per request.

    Only method, path, query, status and timing are written: never a
    header or a body, which may hold secrets.
    """

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        os.makedirs(os.path.dirname(path), exist_ok=True)

    def write(self, req, status, ms, fault=None):
        """Append one line; status is None when no response was sent."""
        entry = {"time": rfc3339(frac=3), "method": req.method,
                 "path": req.path, "query": req.raw_query,
                 "status": status, "ms": round(ms, 1)}
        if fault:
            entry["fault"] = fault
        line = json.dumps(entry) + "\n"
        with self.lock, open(self.path, "a") as f:
            f.write(line)


class Fake:
    """Base of the fakes; see the module docstring for the pipeline.

    rundir holds ports/ and logs/; config overrides defaults; hooks is
    for the fake's owner (only Hetzner uses it).
    """

    name = "fake"
    api = ""
    prefix = ""
    defaults = {}
    json_indent = None
    content_type = "application/json"

    def __init__(self, rundir, config, hooks=None):
        self.rundir = os.path.abspath(rundir)
        self.config = json.loads(json.dumps(self.defaults))
        self.config.update(config or {})
        self.hooks = hooks
        self.lock = threading.RLock()
        self.faults = []
        self.port = None
        self.host = None
        self.started = None
        self._httpd = None
        self._stopping = threading.Event()
        self._threads = []
        self.routes = self._collect_routes()
        self.budget = self.make_budget()
        self.log = RequestLog(os.path.join(
            self.rundir, "logs", "%s.requests.jsonl" % self.name))

    def _collect_routes(self):
        """Gather the @route marks of this class's methods."""
        found = []
        for attr in dir(type(self)):
            func = getattr(type(self), attr)
            for method, regex, auth in getattr(func, "routes", []):
                found.append((method, regex, auth, getattr(self, attr)))
        return found

    @property
    def base_url(self):
        """Where clients point their base URL."""
        return "https://%s:%d%s" % (self.host, self.port, self.prefix)

    # -- life cycle ---------------------------------------------------

    def start(self, certfile, keyfile, host="127.0.0.1", port=0):
        """Serve HTTPS on host:port (loopback only); return the port."""
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("%s: %s: not a loopback address"
                             % (self.name, host))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(certfile, keyfile)
        self._httpd = _Server((host, port), self, ctx)
        self.host, self.port = host, self._httpd.server_address[1]
        self.started = time.time()
        for target in (self._serve_loop, self._tick_loop):
            thread = threading.Thread(target=target, daemon=True,
                                      name="%s-%s" % (self.name,
                                                      target.__name__))
            thread.start()
            self._threads.append(thread)
        write_atomic(self._port_file(), "%d\n" % self.port)
        return self.port

    def _port_file(self):
        """RUNDIR/ports/NAME.port."""
        return os.path.join(self.rundir, "ports", "%s.port" % self.name)

    def stop(self):
        """Stop serving, close connections, remove the port file.

        The request log stays: it is the evidence of the run.
        """
        self._stopping.set()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.close_all()
            try:
                with open(self._port_file()) as f:
                    mine = f.read().strip() == str(self.port)
                if mine:
                    os.unlink(self._port_file())
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def _serve_loop(self):
        """Accept connections; a short poll makes stop() quick."""
        self._httpd.serve_forever(poll_interval=0.1)

    def _tick_loop(self):
        """Move time-driven state on while the fake runs.

        A failing tick is reported once per distinct error, not 20
        times a second, and the loop goes on.
        """
        said = None
        while not self._stopping.wait(TICK_SECONDS):
            try:
                with self.lock:
                    self.tick(time.time())
            except Exception as e:
                if repr(e) != said:
                    said = repr(e)
                    print("%s: tick: %s" % (self.name, said),
                          file=sys.stderr)

    # -- the pipeline -------------------------------------------------

    def take_fault(self, req):
        """The first queued fault that applies to req, spent by one."""
        with self.lock:
            for fault in self.faults:
                if fault.matches(req):
                    fault.left -= 1
                    if fault.left <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def handle(self, req, fault):
        """Answer one API request; the body is encoded under the lock."""
        with self.lock:
            now = time.time()
            self.tick(now)
            try:
                reply = self._answer(req, fault, now)
            except ApiError as err:
                reply = self._error_reply(err, req)
            except Exception:  # a fake's bug: answer 500, show why
                traceback.print_exc()
                err = self.fault_error(Fault({"status": 500}))
                reply = self._error_reply(err, req)
            if self.budget and not self.rate_exempt(req):
                reply.headers.update(self.rate_headers(now))
            reply.headers.update(self.extra_headers(req))
            reply.encode(self.json_indent, self.content_type)
            return reply

    def _error_reply(self, err, req):
        """The API's envelope for err, with err's own headers."""
        reply = self.render_error(err, req)
        reply.headers.update(err.headers)
        return reply

    def _answer(self, req, fault, now):
        """Budget, injected failure, route and auth, in that order."""
        if self.budget and not self.rate_exempt(req):
            if not self.budget.take(now):
                raise self.too_many(now)
        if fault and fault.status is not None:
            raise self.fault_error(fault)
        handler, auth = self._find_route(req)
        if auth:
            self.authenticate(req)
        return handler(req)

    def _find_route(self, req):
        """The handler for req; raises the API's 404 or 405."""
        allowed = []
        for method, regex, auth, handler in self.routes:
            match = regex.match(req.path)
            if not match:
                continue
            if method == req.method:
                req.params = match.groupdict()
                return handler, auth
            allowed.append(method)
        if allowed:
            raise self.wrong_method(req, sorted(set(allowed)))
        raise self.no_route(req)

    def body_json(self, req):
        """The request body as JSON, or the API's bad-JSON error."""
        try:
            return req.json()
        except (ValueError, UnicodeDecodeError):
            raise self.bad_json(req)

    # -- what a subclass says in its own words -------------------------

    def make_budget(self):
        """The rate budget, or None for none."""
        return None

    def rate_exempt(self, req):
        """Whether req is outside the rate budget."""
        return False

    def rate_headers(self, now):
        """Headers that show the budget on every response."""
        return {}

    def too_many(self, now):
        """The error for an exhausted budget."""
        return ApiError(429, "rate_limited", "too many requests")

    def fault_error(self, fault):
        """The error an injected fault answers with."""
        return ApiError(fault.status, fault.code or "fault",
                        fault.message or "injected fault")

    def authenticate(self, req):
        """Raise ApiError unless req carries valid credentials."""

    def no_route(self, req):
        """The error for a path that no route matches."""
        return ApiError(404, "not_found", "not found")

    def wrong_method(self, req, allowed):
        """The error for a known path with another method."""
        return ApiError(405, "method_not_allowed", "method not allowed")

    def bad_json(self, req):
        """The error for a body that is not JSON."""
        return ApiError(400, "bad_json", "invalid JSON")

    def render_error(self, err, req):
        """Turn an ApiError into the API's error envelope."""
        return Reply(err.status, {"error": err.message})

    def extra_headers(self, req):
        """Headers added to every API response (request ids...)."""
        return {}

    def tick(self, now):
        """Advance time-driven state; called under the lock."""

    def dump_state(self):
        """The fake's data for GET /__sandbox/state."""
        return {}

    def config_changed(self, keys):
        """React to POST /__sandbox/config having set keys."""
        if "rate_limit" in keys and self.budget:
            self.budget.set(time.time(), limit=self.config["rate_limit"],
                            remaining=self.config["rate_limit"])

    # -- the admin API ------------------------------------------------

    def admin(self, req):
        """Answer /__sandbox/...: no auth, no log, no budget."""
        what = req.path[len(ADMIN_PREFIX):].strip("/")
        table = {("GET", "whoami"): self._admin_whoami,
                 ("GET", "faults"): self._admin_faults,
                 ("POST", "faults"): self._admin_add_fault,
                 ("DELETE", "faults"): self._admin_clear_faults,
                 ("GET", "ratelimit"): self._admin_budget,
                 ("POST", "ratelimit"): self._admin_set_budget,
                 ("GET", "state"): self._admin_state,
                 ("GET", "config"): self._admin_config,
                 ("POST", "config"): self._admin_set_config}
        handler = table.get((req.method, what))
        if handler is None:
            known = any(w == what for _, w in table)
            return Reply(405 if known else 404,
                         {"error": "%s %s: no such admin call"
                          % (req.method, req.path)})
        try:
            with self.lock:
                self.tick(time.time())
                reply = handler(req)
                reply.encode(2, "application/json")
                return reply
        except (ValueError, TypeError, KeyError) as e:
            reply = Reply(400, {"error": "%s: %s" % (req.path, e)})
            reply.encode(2, "application/json")
            return reply

    def whoami(self):
        """What GET /__sandbox/whoami says: a client checks it first."""
        return {"fake": self.name, "pid": os.getpid(),
                "started": rfc3339(self.started), "api": self.api,
                "base_url": self.base_url}

    # Each _admin_* method answers one row of the table in admin().

    def _admin_whoami(self, req):
        return Reply(200, self.whoami())

    def _admin_faults(self, req):
        return Reply(200, {"faults": [f.view() for f in self.faults]})

    def _admin_add_fault(self, req):
        spec = req.json()
        if not isinstance(spec, dict):
            raise ValueError("a JSON object is needed")
        self.faults.append(Fault(spec))
        return self._admin_faults(req)

    def _admin_clear_faults(self, req):
        self.faults = []
        return self._admin_faults(req)

    def _admin_budget(self, req):
        if not self.budget:
            return Reply(404, {"error": "%s has no rate budget" % self.name})
        return Reply(200, self.budget.view(time.time()))

    def _admin_set_budget(self, req):
        spec = req.json() or {}
        if self.budget:
            self.budget.set(time.time(), spec.get("remaining"),
                            spec.get("limit"))
        return self._admin_budget(req)

    def _admin_state(self, req):
        return Reply(200, self.dump_state())

    def _admin_config(self, req):
        return Reply(200, self.config)

    def _admin_set_config(self, req):
        spec = req.json()
        if not isinstance(spec, dict):
            raise ValueError("a JSON object is needed")
        unknown = set(spec) - set(self.defaults)
        if unknown:
            raise ValueError("unknown keys: %s"
                             % ", ".join(sorted(unknown)))
        self.config.update(spec)
        self.config_changed(set(spec))
        return self._admin_config(req)


class _Server(http.server.ThreadingHTTPServer):
    """A threading HTTP server that does TLS in the worker thread.

    The handshake happens per connection, off the accept loop, so a
    client that stalls in it cannot block everyone else.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, fake, ctx):
        self.fake = fake
        self.ctx = ctx
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address):
        """Wrap the socket in TLS, then let the handler serve it.

        TCP_NODELAY: headers and body go out as separate TLS records,
        which Nagle plus delayed ACKs would hold back 40 ms each.
        """
        request.settimeout(IDLE_SECONDS)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        with self.conns_lock:
            self.conns.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.conns_lock:
                self.conns.discard(conn)
            conn.close()

    def close_all(self):
        """Shut down every open connection (kept-alive ones too)."""
        with self.conns_lock:
            conns = list(self.conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with Content-Length: reads a request, runs the pipeline."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS

    def version_string(self):
        return "mkprov-sandbox-%s" % self.server.fake.name

    def log_message(self, fmt, *args):
        """Quiet: the fake keeps its own request log."""

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _serve(self):
        """Run one request through admin or the API pipeline."""
        fake = self.server.fake
        t0 = time.monotonic()
        try:
            body = self._read_body()
        except ValueError as e:
            self.close_connection = True
            self._send(Reply(400, {"error": str(e)}), encode=True)
            return
        req = Request(self.command, self.path, self.headers, body)
        if req.path.startswith(ADMIN_PREFIX):
            self._send(fake.admin(req))
            return
        fault = fake.take_fault(req)
        kind = fault.kind() if fault else None
        if fault and fault.delay_ms:
            time.sleep(fault.delay_ms / 1000.0)
        if fault and fault.reset:
            fake.log.write(req, None, _ms(t0), kind)
            self._reset()
            return
        reply = fake.handle(req, fault)
        # Logged before it is sent: a client holding the answer can
        # rely on finding its line.
        fake.log.write(req, reply.status, _ms(t0), kind)
        self._send(reply, truncate=bool(fault and fault.truncate))

    def _read_body(self):
        """The request body, by Content-Length or chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        if not length.isdigit():
            raise ValueError("bad Content-Length")
        return self.rfile.read(int(length))

    def _read_chunked(self):
        """A chunked body, trailers skipped."""
        parts = []
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise ValueError("bad chunk size")
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _send(self, reply, truncate=False, encode=False):
        """Write reply; truncate sends half the body, then hangs up."""
        if encode:
            reply.encode(2, "application/json")
        self.send_response(reply.status)
        if reply.status != 204:
            self.send_header("Content-Type", reply.ctype)
            self.send_header("Content-Length", str(len(reply.data)))
        for key, value in reply.headers.items():
            self.send_header(key, str(value))
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        data = reply.data
        if self.command == "HEAD":
            data = b""
        if truncate:
            data = data[:len(data) // 2]
            self.close_connection = True
        self.wfile.write(data)
        if truncate:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def _reset(self):
        """Close the TCP connection with a RST and no response."""
        self.close_connection = True
        linger = struct.pack("ii", 1, 0)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   linger)
        self.connection.close()


def _ms(t0):
    """Milliseconds since monotonic time t0."""
    return (time.monotonic() - t0) * 1000.0


def _options(name, argv):
    """The standalone command line, parsed (exit 2 when it is bad)."""
    parser = argparse.ArgumentParser(prog="fakes.%s" % name)
    parser.add_argument("--rundir", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--config")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    return parser.parse_args(argv)


def _start(fake_class, opts, pid_file):
    """Make and start the fake from opts, pid file first; the fake."""
    config = {}
    if opts.config:
        with open(opts.config) as f:
            config = json.load(f)
    fake = fake_class(opts.rundir, config)
    write_atomic(pid_file, "%d\n" % os.getpid())
    fake.start(opts.cert, opts.key, opts.host, opts.port)
    return fake


def main(fake_class, argv=None):
    """Run fake_class standalone until SIGTERM or SIGINT.

    Usage: python3 -m fakes.NAME --rundir DIR --cert C --key K
    [--config FILE.json] [--host 127.0.0.N] [--port N].  Writes
    RUNDIR/pids/NAME.pid, then RUNDIR/ports/NAME.port once it serves,
    and removes both when it stops.  Exit status 0 when stopped by a
    signal, 1 when it could not start, 2 on usage errors.
    """
    prog = "fakes.%s" % fake_class.name
    opts = _options(fake_class.name, argv)
    pid_file = os.path.join(opts.rundir, "pids",
                            "%s.pid" % fake_class.name)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    try:
        fake = _start(fake_class, opts, pid_file)
    except (OSError, ValueError, ssl.SSLError) as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 1
    print("%s: serving %s" % (prog, fake.base_url), file=sys.stderr)
    while not done.wait(3600):
        pass
    fake.stop()
    try:
        os.unlink(pid_file)
    except OSError:
        pass
    return 0
