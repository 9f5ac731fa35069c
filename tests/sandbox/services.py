#!/usr/bin/python3
"""services.py: the processes that stand in for a sandbox host's
containers (all but PostgreSQL, which runs for real).

usage: services.py MODE CONTAINER_JSON
       services.py fail STATUS MESSAGE

Modes:
  traefik    HTTPS on the host's address and https_port for every
             vhost routed by the running containers' traefik labels,
             with certificates from the sandbox CA; on Docker 29 a
             Traefik older than v3.6.1 (v2.11.31 on the v2 line) logs
             the "client version 1.24 is too old" errors and routes
             nothing, as the real one does.
  infisical  answers GET /api/status with Infisical's body ("Ok")
             while its database can be reached, users or not, as the
             real one does; 503 in Infisical's error envelope while
             the database is down.
  generic    any other image: stays up and answers 200 with a page.
  fail       prints MESSAGE and exits with STATUS (an image whose
             entrypoint refuses to start).

Behind traefik, each service listens on an abstract Unix socket named
in its container record ("socket"), so no ports are needed and nothing
is left on disk.  SIGTERM and SIGINT end a service with status 0.
"""

import http.client
import http.server
import json
import os
import random
import re
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # keep the source tree clean

import dockerlib  # noqa: E402
from fakes.infisical import route_not_found  # noqa: E402

PSQL = "/usr/lib/postgresql/15/bin/psql"


def log(text):
    """One line of container output (the supervisor keeps the log)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def stamp():
    """The UTC time stamp the stand-ins' log lines start with."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def load_json(path):
    """A JSON file's content."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def host_facts():
    """This host's host.json, found through the sandbox environment."""
    return load_json(os.path.join(os.environ["MKP_SANDBOX_RUN"], "hosts",
                                  os.environ["MKP_SANDBOX_HOST"],
                                  "host.json"))


def on_stop(server):
    """Stop serving on SIGTERM/SIGINT, as `docker stop` asks."""
    def handler(signum, frame):
        """Signal handlers must not block: shut down from a thread."""
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# --- Plain HTTP on an abstract Unix socket ----------------------------

class UnixServer(socketserver.ThreadingMixIn,
                 socketserver.UnixStreamServer):
    """A threaded HTTP server on an abstract Unix socket, for
    the services behind traefik.
    """
    daemon_threads = True

    def __init__(self, name, handler, record):
        self.record = record
        super().__init__("\0" + name, handler)


class UnixConnection(http.client.HTTPConnection):
    """HTTP client to a service's abstract socket (used by traefik)."""

    def __init__(self, name, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.socket_name = name

    def connect(self):
        """Connect to the abstract socket instead of TCP."""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect("\0" + self.socket_name)


class Handler(http.server.BaseHTTPRequestHandler):
    """Shared plumbing: HTTP/1.1, no Server header, quiet logs."""

    protocol_version = "HTTP/1.1"

    def address_string(self):
        """Behind traefik the client is in X-Forwarded-For."""
        return self.headers.get("X-Forwarded-For", "127.0.0.1") \
            if self.headers else "127.0.0.1"

    def log_message(self, fmt, *args):
        """Requests are not logged (Traefik's access log is off)."""
        pass

    def send_response(self, code, message=None):
        """Like the base class, without a Server header."""
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def reply(self, code, body, ctype, extra=()):
        """Send a whole response; HEAD gets the headers only."""
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra:
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        """Every method goes to answer()."""
        self.answer()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET


# --- generic ----------------------------------------------------------

class GenericHandler(Handler):
    """Any image without a stand-in of its own."""
    def answer(self):
        """A small page naming the service and its image."""
        rec = self.server.record
        page = ("<!doctype html>\n<title>%s</title>\n<h1>%s</h1>\n<p>"
                "Sandbox stand-in for %s.</p>\n"
                % (rec["service"], rec["service"], rec["image"]))
        self.reply(200, page, "text/html; charset=utf-8")


def serve_unix(record, handler, banner):
    """Run a service on its socket until stopped."""
    server = UnixServer(record["socket"], handler, record)
    on_stop(server)
    for line in banner:
        log(line)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


def run_generic(record):
    """A generic service: a page on its socket until stopped."""
    return serve_unix(record, GenericHandler,
                      ["%s %s: listening (sandbox stand-in for %s)"
                       % (stamp(), record["service"], record["image"])])


# --- infisical --------------------------------------------------------

def database_target(record):
    """(host, port, user, password, dbname) of Infisical's database.

    DB_CONNECTION_URI (or DB_HOST and friends) names a compose service
    or container such as infisical-postgres; it is mapped to that
    container's real cluster on this host.
    """
    env = dict(e.split("=", 1) for e in record["env"] if "=" in e)
    uri = env.get("DB_CONNECTION_URI")
    if uri:
        u = urllib.parse.urlsplit(uri)
        target = [u.hostname, u.port or 5432,
                  urllib.parse.unquote(u.username or ""),
                  urllib.parse.unquote(u.password or ""),
                  u.path.lstrip("/")]
    else:
        target = [env.get("DB_HOST"), int(env.get("DB_PORT") or 5432),
                  env.get("DB_USER", ""), env.get("DB_PASSWORD", ""),
                  env.get("DB_NAME", "")]
    if not target[0]:
        raise LookupError("DB_CONNECTION_URI is not set")
    cluster = find_cluster(record, target[0])
    if cluster:
        target[0], target[1] = cluster["host"], cluster["port"]
    return target


def find_cluster(record, name):
    """The pg facts of the running postgres container `name` (container
    name, or service name in the same project), or None."""
    cdir = os.path.dirname(os.environ["MKP_CONTAINER_JSON"])
    for entry in sorted(os.listdir(cdir)):
        if not entry.endswith(".json"):
            continue
        try:
            other = load_json(os.path.join(cdir, entry))
        except (OSError, ValueError):
            continue
        same = other["name"] == name or (
            other.get("service") == name
            and other.get("project") == record.get("project"))
        if same and other.get("pg"):
            return other["pg"]
    return None


def query(record, sql):
    """Run sql on Infisical's database the way Infisical connects:
    over TCP, as the user and with the password of its connection
    URI.  Returns psql's output; raises RuntimeError with the reason
    when the database cannot be reached."""
    host, port, user, password, dbname = database_target(record)
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="3")
    proc = subprocess.run(
        [PSQL, "-X", "-qAt", "-h", str(host), "-p", str(port), "-U", user,
         "-d", dbname, "-c", sql],
        env=env, capture_output=True, text=True, timeout=10)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1]
                           if proc.stderr.strip() else "psql failed")
    return proc.stdout


def infisical_error(code, message, error):
    """Infisical's error envelope (plugins/error-handler.ts)."""
    req = "req-" + "".join(random.choice("abcdefghijklmnopqrstuvwxyz"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789") for _ in range(14))
    return json.dumps({"reqId": req, "statusCode": code,
                       "message": message, "error": error},
                      separators=(",", ":"))


class InfisicalHandler(Handler):
    """Infisical's GET /api/status, its web UI's page for other GET
    paths, and Fastify's 404 for everything else.
    """
    def answer(self):
        """/api/status; the UI's page for GET outside /api (serve-ui's
        GET /* route, HEAD included as Fastify adds it); otherwise
        Fastify's default 404, the same bytes as the fake's
        (fakes/infisical.py route_not_found)."""
        path = self.path.split("?", 1)[0]
        get = self.command in ("GET", "HEAD")
        if get and path.rstrip("/") == "/api/status":
            return self.status()
        if get and not path.startswith("/api"):
            return self.reply(200, "<!doctype html>\n<title>Infisical"
                              "</title>\n", "text/html; charset=utf-8")
        self.reply(404, route_not_found(self.command, self.path),
                   "application/json; charset=utf-8")

    def status(self):
        """Infisical's status body, 200, whenever its database answers
        (users or not: an instance without data says Ok too and then
        fails every login).  503 only while the database is down; the
        error name is ours, FACTS lists no 503."""
        try:
            query(self.server.record, "SELECT 1")
        except (RuntimeError, LookupError, subprocess.SubprocessError,
                OSError) as err:
            return self.reply(503, infisical_error(
                503, "database not reachable: %s" % err,
                "ServiceUnavailable"), "application/json; charset=utf-8")
        body = {"date": time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                      time.gmtime()),
                "message": "Ok", "emailConfigured": False,
                "inviteOnlySignup": False, "redisConfigured": True,
                "secretScanningConfigured": False,
                "auditLogStorageDisabled": False}
        self.reply(200, json.dumps(body, separators=(",", ":")),
                   "application/json; charset=utf-8")


def run_infisical(record):
    """The Infisical stand-in until stopped."""
    banner = ["%s Infisical (sandbox stand-in for %s)" % (stamp(),
                                                          record["image"]),
              "%s Server listening at http://0.0.0.0:8080" % stamp()]
    return serve_unix(record, InfisicalHandler, banner)


# --- traefik ----------------------------------------------------------

DOCKER_ERROR = ('Error response from daemon: client version 1.24 is too '
                'old. Minimum supported API version is 1.44, please '
                'upgrade your client to a newer version')


def docker_provider_broken(image, docker_version):
    """Whether this Traefik's Docker provider fails on this daemon.

    Docker 29 refuses API versions below 1.44; Traefik pinned its
    client to 1.24 until v3.6.1 (v2.11.31 on the v2 line).  A tag that
    is not a version (latest) is taken as a fixed release.
    """
    version = dockerlib.version_tuple(dockerlib.split_image(image)[1])
    daemon = dockerlib.version_tuple(docker_version) or (29, 0, 0)
    if version is None or daemon[0] < 29:
        return False
    fixed = (2, 11, 31) if version[0] == 2 else (3, 6, 1)
    return version < fixed


def traefik_options(record):
    """--providers.docker.exposedbydefault from traefik's command."""
    off = "--providers.docker.exposedbydefault=false"
    return {"exposed_by_default": not any(
        arg.lower() == off for arg in record.get("cmd", []))}


_RULE_ARG = r"""\(\s*((?:[`"][^`"]*[`"]\s*,?\s*)+)\)"""


def parse_rule(rule):
    """Host(`a`) || Host(`b`) && PathPrefix(`/x`) → (hosts, prefixes).

    Enough of Traefik's rule language for routing by name: the hosts
    and path prefixes a rule mentions.
    """
    def args(func):
        """The quoted arguments of every call of func in the rule."""
        out = []
        for m in re.finditer(func + _RULE_ARG, rule):
            out += re.findall(r"[`\"]([^`\"]*)[`\"]", m.group(1))
        return out
    return ([h.lower() for h in args(r"\bHost")], args(r"\bPathPrefix"))


def alive(pid):
    """Whether pid is a running (not zombie) process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError, ValueError):
        return False


def routers(self_name, options):
    """Routers from the running containers' labels, as Traefik's
    Docker provider builds them: (priority, hosts, prefixes, socket,
    container)."""
    cdir = os.path.dirname(os.environ["MKP_CONTAINER_JSON"])
    out = []
    for entry in sorted(os.listdir(cdir)):
        if not entry.endswith(".json"):
            continue
        try:
            rec = load_json(os.path.join(cdir, entry))
        except (OSError, ValueError):
            continue
        labels = rec.get("labels", {})
        enable = labels.get("traefik.enable", "").lower()
        if rec["name"] == self_name or rec.get("state") != "running" \
                or not alive(rec.get("pid") or 0) or enable == "false" \
                or (not options["exposed_by_default"] and enable != "true"):
            continue
        for key, rule in labels.items():
            if re.match(r"traefik\.http\.routers\.[^.]+\.rule$", key):
                hosts, prefixes = parse_rule(rule)
                out.append((len(rule), hosts, prefixes, rec.get("socket"),
                            rec["name"]))
    out.sort(key=lambda r: -r[0])
    return out


class Certificates:
    """Server certificates from the sandbox CA (RUN/tls), standing in
    for Let's Encrypt.  A name in the sandbox domain gets the sandbox
    leaf, whose SAN has *.DOMAIN; any other name gets a leaf made on
    first use (SNI) with openssl, kept for the process's life."""

    def __init__(self, workdir, ip):
        run = os.environ["MKP_SANDBOX_RUN"]
        self.dir = workdir
        self.ca = os.path.join(run, "tls")
        if not os.path.exists(os.path.join(self.ca, "ca.key")):
            self.ca = os.path.join(run, "ca")
        try:
            self.domain = load_json(os.path.join(run, "config.json"))[
                "domain"].lower()
        except (OSError, ValueError, KeyError):
            self.domain = None
        self.lock = threading.Lock()
        self.contexts = {}
        os.makedirs(workdir, mode=0o700, exist_ok=True)
        self.default = self.context(ip)

    def context(self, name):
        """The TLS context for a server name, made once."""
        with self.lock:
            if name not in self.contexts:
                self.contexts[name] = self._make(name)
            return self.contexts[name]

    def _make(self, name):
        """A context with the sandbox leaf, or a new leaf."""
        leaf = os.path.join(self.ca, "cert.pem")
        covered = self.domain and (name == self.domain or (
            name.endswith("." + self.domain)
            and "." not in name[:-len(self.domain) - 1]))
        if covered and os.path.exists(leaf):
            return self._context(leaf, os.path.join(self.ca, "key.pem"))
        return self._context(*self._issue(name))

    def _context(self, cert, key):
        """A server context for one certificate, with SNI."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.sni_callback = self.sni
        return ctx

    def _issue(self, name):
        """A new leaf for `name` signed by the CA: (cert, key) paths."""
        safe = re.sub(r"[^A-Za-z0-9.-]", "_", name)
        key = os.path.join(self.dir, safe + ".key")
        cert = os.path.join(self.dir, safe + ".pem")
        ext = os.path.join(self.dir, safe + ".ext")
        san = "IP:" + name if re.match(r"^[\d.]+$", name) else \
            "DNS:" + name
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=%s\n" % san)
        csr = subprocess.run(
            ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
             "-subj", "/CN=" + name[:64]], capture_output=True, check=True)
        subprocess.run(
            ["openssl", "x509", "-req", "-CA",
             os.path.join(self.ca, "ca.pem"), "-CAkey",
             os.path.join(self.ca, "ca.key"), "-set_serial",
             "0x%032x" % random.getrandbits(127), "-days", "30",
             "-extfile", ext, "-out", cert], input=csr.stdout,
            capture_output=True, check=True)
        return cert, key

    def sni(self, sslobj, name, ctx):
        """Switch to the certificate of the name the client asked
        for.
        """
        if name:
            try:
                sslobj.context = self.context(name.lower())
            except (subprocess.CalledProcessError, ssl.SSLError):
                return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None


class TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """HTTPS server whose handshakes happen in the request threads."""

    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        """Handshake in the request's own thread, so one slow
        client cannot stall the others.
        """
        try:
            request.settimeout(30)
            conn = self.certs.default.wrap_socket(request,
                                                  server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass


HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te",
               "upgrade", "proxy-authorization", "trailer"}


class TraefikHandler(Handler):
    """Route by Host header to the running containers'
    routers, like Traefik's Docker provider.
    """
    def address_string(self):
        """The client's address as Traefik logs it."""
        return self.client_address[0]

    def answer(self):
        """Forward to the first router matching host and path;
        Traefik's 404 when none does (or none exist).
        """
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        path = self.path.split("?", 1)[0]
        routes = [] if self.server.broken else routers(
            self.server.record["name"], self.server.options)
        for _, hosts, prefixes, sock, _ in routes:
            if host in hosts and (not prefixes or any(
                    path.startswith(p) for p in prefixes)):
                return self.forward(sock, host)
        self.reply(404, "404 page not found\n",
                   "text/plain; charset=utf-8",
                   [("X-Content-Type-Options", "nosniff")])

    def forward(self, sock, host):
        """Pass the request to the service and its answer back."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in HOP_HEADERS}
        headers.update({"X-Forwarded-For": self.client_address[0],
                        "X-Forwarded-Host": host,
                        "X-Forwarded-Proto": "https",
                        "X-Real-Ip": self.client_address[0]})
        try:
            conn = UnixConnection(sock)
            conn.request(self.command, self.path, body, headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
        except OSError:
            return self.reply(502, "Bad Gateway", "text/plain; "
                                                  "charset=utf-8")
        extra = [(k, v) for k, v in resp.getheaders()
                 if k.lower() not in HOP_HEADERS | {"content-length",
                                                    "content-type",
                                                    "date"}]
        self.reply(resp.status, data,
                   resp.getheader("Content-Type", "text/plain"), extra)


def provider_errors(stop):
    """Log what Traefik's Docker provider logs while the daemon
    refuses it, backing off between tries like its retry loop."""
    delay = random.uniform(0.8, 1.6)
    while not stop.is_set():
        log('%s ERR Failed to retrieve information of the docker client '
            'and server host error="%s" providerName=docker'
            % (stamp(), DOCKER_ERROR))
        log('%s ERR Provider error, retrying in %.9fs error="%s" '
            'providerName=docker' % (stamp(), delay, DOCKER_ERROR))
        stop.wait(delay)
        delay = min(delay * random.uniform(1.4, 1.7), 8.0)


def run_traefik(record):
    """Traefik on the host's HTTPS port until stopped."""
    facts = host_facts()
    version = dockerlib.split_image(record["image"])[1].lstrip("v")
    ip, port = facts["ipv4"], int(facts["https_port"])
    server = TLSServer((ip, port), TraefikHandler)
    server.record = record
    server.options = traefik_options(record)
    server.broken = docker_provider_broken(
        record["image"], str(facts.get("docker_version", "29.1.3")))
    server.certs = Certificates(os.path.join(
        os.path.dirname(os.environ["MKP_CONTAINER_JSON"]),
        record["name"] + ".tls"), ip)
    on_stop(server)
    log("%s INF Traefik version %s built on 2025-12-09T10:12:44Z "
        "version=%s" % (stamp(), version, version))
    for provider in ("aggregator *aggregator.ProviderAggregator",
                     "*traefik.Provider", "*docker.Provider"):
        log("%s INF Starting provider %s" % (stamp(), provider))
    stop = threading.Event()
    if server.broken:
        threading.Thread(target=provider_errors, args=(stop,),
                         daemon=True).start()
    server.serve_forever(poll_interval=0.2)
    stop.set()
    server.server_close()
    return 0


# --- main -------------------------------------------------------------

MODES = {"traefik": run_traefik, "infisical": run_infisical,
         "generic": run_generic}


def main(argv):
    """Dispatch on the mode; the process's exit status."""
    if len(argv) == 4 and argv[1] == "fail":
        sys.stderr.write(argv[3])
        return int(argv[2])
    if len(argv) != 3 or argv[1] not in MODES:
        sys.stderr.write("usage: services.py traefik|infisical|generic "
                         "CONTAINER_JSON\n")
        return 2
    return MODES[argv[1]](load_json(argv[2]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
