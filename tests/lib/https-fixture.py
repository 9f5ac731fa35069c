#!/usr/bin/python3
"""https-fixture.py: a scripted HTTPS server for testing http.c.

usage: https-fixture.py --cert PEM --key PEM --port-file FILE
                        [--addr 127.0.0.N] [--pid-file FILE]
                        [--lifeline] [--quiet]

It binds a loopback address (127.0.0.1 unless --addr names another
one in 127.0.0.0/8 or ::1) on a port the kernel picks, writes that
port to FILE (a temporary file renamed into place, so a reader never
sees half a number) and serves until it is killed.  Only the standard
library is used, so it runs wherever python3 does.  With --lifeline
it also exits when its standard input reaches end of file: a test
harness that keeps the other end of a pipe open cannot leave it
behind, even when the harness is killed.

Every endpoint that takes key=K counts its requests per K; with n=N
it misbehaves for the first N requests of that key and then answers
200, so a test can script "fails twice, then works".

  /whoami                     who this is: {"name", "pid"}
  /ok                         200 {"ok": true}, header X-Fixture: yes
  /status/CODE                CODE for the first n (default: always);
      retry_after=S             with Retry-After: S (seconds)
      retry_after_date=S        with Retry-After: an HTTP-date S s ahead
      reset=S                   with RateLimit-Remaining: 0 and
                                RateLimit-Reset: S (delta seconds)
      reset_unix=S              the same, as a UNIX time S s ahead
  /slow?ms=M                  200 after M milliseconds
  /big?bytes=B[&nolength=1]   200 with B bytes, with or without a
                              Content-Length
  /echo                       any method: the method, path, headers
                              (names in lower case) and body as JSON
  /reset                      the connection is reset, no response
  /redirect                   302 to /ok
  /count?key=K                how many requests K has seen

A few answers shaped as the Hetzner Cloud API's, for hcloud.c; a
test points its API base at /hcloud/PLAN:

  /hcloud/PLAN/actions/ID     {"action": ...} in the state of PLAN's
                              next step, counted per PLAN and ID: PLAN
                              is steps joined by "-", each running,
                              success, error (with an error object) or
                              odd (a status the API does not have);
                              the last step repeats
  /hcloud/PLAN/error/CODE     CODE with the API's error envelope, its
                              code and message from the query (without
                              a code, a body that is not one)
  /hcloud/PLAN/text           200 with a body that is not JSON

Exit status: 0 when stopped by SIGTERM or SIGINT, 1 on a start-up
failure, 2 on usage errors.
"""

import argparse
import email.utils
import ipaddress
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PROG = "https-fixture.py"


class Counter:
    """Requests seen per key, shared by all handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}

    def hit(self, key):
        """Counts one request for key and returns its number (1, 2...)."""
        with self.lock:
            self.seen[key] = self.seen.get(key, 0) + 1
            return self.seen[key]

    def get(self, key):
        with self.lock:
            return self.seen.get(key, 0)


class Handler(BaseHTTPRequestHandler):
    """Answers the endpoints listed in the module's docstring."""

    protocol_version = "HTTP/1.1"   # keep-alive, as real APIs do
    server_version = "https-fixture/1"

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("%s: %s: %s\n" %
                             (PROG, self.address_string(), fmt % args))

    def send_json(self, code, obj, headers=()):
        body = (json.dumps(obj, sort_keys=True) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def scripted(self, query):
        """Is this request one of the first n of its key to misbehave?"""
        key = query.get("key", "")
        count = self.server.counter.hit(key) if key else 1
        n = query.get("n")
        return n is None or count <= int(n)

    def dispatch(self):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = self.read_body()
        parts = url.path.strip("/").split("/")
        handler = getattr(self, "ep_" + parts[0], None)
        if handler is None:
            self.send_json(404, {"error": "no such endpoint"})
            return
        handler(parts[1:], query, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = dispatch

    def ep_whoami(self, args, query, body):
        self.send_json(200, {"name": "https-fixture", "pid": os.getpid()})

    def ep_ok(self, args, query, body):
        self.send_json(200, {"ok": True}, [("X-Fixture", "yes")])

    def ep_status(self, args, query, body):
        if not self.scripted(query):
            self.ep_ok(args, query, body)
            return
        headers = []
        if "retry_after" in query:
            headers.append(("Retry-After", query["retry_after"]))
        if "retry_after_date" in query:
            when = time.time() + float(query["retry_after_date"])
            headers.append(("Retry-After",
                            email.utils.formatdate(when, usegmt=True)))
        if "reset" in query:
            headers.append(("RateLimit-Reset", query["reset"]))
        if "reset_unix" in query:
            when = int(time.time() + float(query["reset_unix"]))
            headers.append(("RateLimit-Reset", str(when)))
        if "reset" in query or "reset_unix" in query:
            headers += [("RateLimit-Limit", "3600"),
                        ("RateLimit-Remaining", "0")]
        code = int(args[0]) if args else 503
        self.send_json(code, {"status": code}, headers)

    def ep_slow(self, args, query, body):
        time.sleep(int(query.get("ms", "1000")) / 1000)
        self.send_json(200, {"slow": True})

    def ep_big(self, args, query, body):
        size = int(query.get("bytes", "0"))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if query.get("nolength"):
            # Without a length the body ends when the connection does,
            # so the client cannot refuse it before reading it.
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b"x" * 65536
        while size > 0:
            self.wfile.write(chunk[:size])
            size -= len(chunk)

    def ep_echo(self, args, query, body):
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.send_json(200, {"method": self.command, "path": self.path,
                             "headers": headers,
                             "body": body.decode("utf-8", "replace")})

    def ep_reset(self, args, query, body):
        if not self.scripted(query):
            self.ep_ok(args, query, body)
            return
        # A zero linger time makes close() send a RST, as a crashed
        # load balancer would, instead of an orderly FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def ep_redirect(self, args, query, body):
        self.send_json(302, {"moved": "/ok"}, [("Location", "/ok")])

    def ep_hcloud(self, args, query, body):
        if len(args) == 3 and args[1] == "actions":
            self.hcloud_action(args[0], args[2])
        elif len(args) == 3 and args[1] == "error":
            if "code" in query:
                self.send_json(int(args[2]), {"error": {
                    "code": query["code"],
                    "message": query.get("message", ""),
                    "details": {}}})
            else:
                self.send_json(int(args[2]), {"status": int(args[2])})
        elif len(args) == 2 and args[1] == "text":
            body = b"<html>not json</html>\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_json(404, {"error": {"code": "not_found",
                                           "message": "no such path"}})

    def hcloud_action(self, plan, ident):
        steps = plan.split("-")
        count = self.server.counter.hit("hcloud/%s/%s" % (plan, ident))
        step = steps[min(count, len(steps)) - 1]
        status = {"odd": "paused"}.get(step, step)
        error = None
        if step == "error":
            error = {"code": "action_failed",
                     "message": "disk \x1b[31mfailed\nbadly"}
        self.send_json(200, {"action": {
            "id": int(ident), "command": "create_server",
            "status": status, "progress": 50 if step == "running" else 100,
            "started": "2026-12-03T20:04:09+00:00",
            "finished": None if step == "running" else
            "2026-12-03T20:04:19+00:00",
            "resources": [{"id": 42, "type": "server"}],
            "error": error}})

    def ep_count(self, args, query, body):
        key = query.get("key", "")
        self.send_json(200, {"key": key,
                             "count": self.server.counter.get(key)})


class Server(ThreadingHTTPServer):
    """A threading server that does each TLS handshake in its thread."""

    # Room for a burst of connections (the default backlog is 5).
    request_queue_size = 64

    daemon_threads = True

    def __init__(self, addr, context, quiet):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, Handler)
        self.context = context
        self.quiet = quiet
        self.counter = Counter()

    def finish_request(self, request, client_address):
        # In the request's own thread: a client that stalls or fails
        # its handshake (a test with the wrong CA) holds up no other.
        # No Nagle delay: a kept-alive request would wait 40 ms.
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            if not self.quiet:
                sys.stderr.write("%s: %s: tls handshake failed: %s\n" %
                                 (PROG, client_address[0], e))
            return
        try:
            super().finish_request(request, client_address)
        finally:
            request.close()

    def handle_error(self, request, client_address):
        # A client going away mid-answer is routine here: one line.
        if not self.quiet:
            sys.stderr.write("%s: %s: request failed: %s\n" %
                             (PROG, client_address[0], sys.exc_info()[1]))


def watch_lifeline():
    """Exits the whole process once stdin is closed by the other end."""
    def watch():
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def write_atomic(path, text):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def parse_args():
    p = argparse.ArgumentParser(prog=PROG)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--pid-file")
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--lifeline", action="store_true")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    try:
        loopback = ipaddress.ip_address(args.addr).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        p.error("%s: not a loopback address: this fake must never be "
                "reachable from outside" % args.addr)
    return args


def main():
    args = parse_args()
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server = Server((args.addr, 0), context, args.quiet)
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("%s: %s: cannot start: %s\n" % (PROG, args.addr, e))
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        # os._exit: sys.exit would wait on the lifeline thread, which
        # holds stdin's lock, and end in a fatal error instead of 0.
        signal.signal(sig, lambda *_: os._exit(0))
    if args.lifeline:
        watch_lifeline()
    if args.pid_file:
        write_atomic(args.pid_file, "%d\n" % os.getpid())
    write_atomic(args.port_file, "%d\n" % server.server_address[1])
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
