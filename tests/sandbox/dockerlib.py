"""dockerlib: the "daemon" behind the sandbox's docker stand-in.

A sandbox host has no Docker.  Its `docker` command (tests/sandbox/bin/
docker) reads the host's real compose file and turns each service into
a process owned by the sandbox supervisor, so that what mkprov runs on
a host -- compose up, ps, inspect, exec pg_dump, logs -- behaves and
prints as it would on a Docker 29 server.  This module holds the model:
Compose's dotenv and interpolation rules, the project and its services,
container records and their life cycle.  The command-line surface and
the output formats live in bin/docker.

State, per host (HOSTDIR is $MKP_SANDBOX_RUN/hosts/$MKP_SANDBOX_HOST):
  HOSTDIR/host.json              host facts, written by the supervisor
  HOSTDIR/containers/NAME.json   one record per container (see Record)
  HOSTDIR/containers/NAME.log    the container's output (docker logs)
  HOSTDIR/pg/NAME/               PostgreSQL cluster of a postgres
                                 container; survives down, not down -v
  HOSTDIR/pg/ports.json          the TCP port given to each cluster

Containers run as supervisor children named "container/NAME", spawned
and stopped over the supervisor's control socket.  A record says what
the container should be; the supervisor says whether its process is
alive, so a process that dies on its own shows as exited.  An
injected crash (inject_exit) follows the container's restart policy.
PostgreSQL clusters listen on the host's address with the image's
authentication (password over TCP, trust on a local socket, which
lives in the abstract namespace).  initdb refuses root, so a sandbox
started by root runs its clusters as the postgres account (runuser);
one started by any other user runs them as that user, who owns the
run directory and cannot switch to another account anyway.
"""

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICES_PY = os.path.join(HERE, "services.py")
PYTHON = "/usr/bin/python3"
PG_BIN = "/usr/lib/postgresql/15/bin"
COMPOSE_VERSION = "2.40.3"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
COMPOSE_FILES = ("compose.yaml", "compose.yml",
                 "docker-compose.yml", "docker-compose.yaml")
PROC_PREFIX = "container/"
SIGINT, SIGKILL, SIGTERM = 2, 9, 15


class DockerError(Exception):
    """A failure reported the way the docker CLI reports it.

    The message is printed as is on stderr and the command exits with
    `status`; 1 is what the CLI returns for daemon and compose errors.
    """

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


# --- Images -----------------------------------------------------------
#
# What the real images declare, as far as it shows in ps and inspect:
# entrypoint, default command, environment and exposed ports.  The key
# is the last component of the repository name.

def _pg_image(tag):
    """Image config of postgres:TAG (Debian variant)."""
    major = re.match(r"\d+", tag or "")
    major = major.group(0) if major else "15"
    path = DEFAULT_PATH + ":/usr/lib/postgresql/%s/bin" % major
    version = tag if re.match(r"\d+\.\d+$", tag or "") else major + ".14"
    return {
        "kind": "postgres",
        "entrypoint": ["docker-entrypoint.sh"], "cmd": ["postgres"],
        "env": ["PATH=" + path, "GOSU_VERSION=1.17", "LANG=en_US.utf8",
                "PG_MAJOR=" + major,
                "PG_VERSION=%s-1.pgdg13+1" % version,
                "PGDATA=/var/lib/postgresql/data"],
        "ports": ["5432/tcp"], "stop_signal": SIGINT,
        "volumes": ["/var/lib/postgresql/data"],
    }


IMAGES = {
    "traefik": {"kind": "traefik", "entrypoint": ["/entrypoint.sh"],
                "cmd": ["traefik"], "ports": ["80/tcp"]},
    "infisical": {"kind": "infisical", "entrypoint": [],
                  "cmd": ["./standalone-entrypoint.sh"],
                  "env": ["NODE_ENV=production", "NODE_VERSION=20.19.5",
                          "YARN_VERSION=1.22.22", "HOST=0.0.0.0",
                          "PORT=8080"],
                  "ports": ["8080/tcp"]},
    "redis": {"entrypoint": ["docker-entrypoint.sh"],
              "cmd": ["redis-server"],
              "env": ["GOSU_VERSION=1.17", "REDIS_VERSION=7.4.5"],
              "ports": ["6379/tcp"], "volumes": ["/data"]},
    "gitea": {"entrypoint": ["/usr/bin/entrypoint"],
              "cmd": ["/usr/bin/s6-svscan", "/etc/s6"],
              "env": ["USER=git", "GITEA_CUSTOM=/data/gitea"],
              "ports": ["22/tcp", "3000/tcp"], "volumes": ["/data"]},
    "imgproxy": {"entrypoint": ["entrypoint.sh"], "cmd": ["imgproxy"],
                 "env": ["IMGPROXY_MALLOC=malloc"], "ports": ["8080/tcp"]},
    "nginx": {"entrypoint": ["/docker-entrypoint.sh"],
              "cmd": ["nginx", "-g", "daemon off;"],
              "env": ["NGINX_VERSION=1.28.0"], "ports": ["80/tcp"]},
    "hedgedoc": {"entrypoint": ["/usr/local/bin/docker-entrypoint.sh"],
                 "cmd": ["node", "app.js"],
                 "env": ["NODE_ENV=production"], "ports": ["3000/tcp"]},
}


def split_image(image):
    """Return (repository, tag) of an image reference.

    A digest pin counts as a tag; no tag means `latest`, as Docker
    reads it.  A registry port (host:5000/x) is not taken for a tag.
    """
    ref = image.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        repo, tag = ref[:colon], ref[colon + 1:]
    else:
        repo, tag = ref, "latest"
    if "@" in image and colon <= slash:
        tag = image.split("@", 1)[1]
    return repo, tag


def image_config(image):
    """Entrypoint, command, env, ports and kind of an image.

    Unknown images become "generic": a process that stays up and
    answers its vhost.  Every image's env starts with PATH.
    """
    repo, tag = split_image(image)
    base = repo.rsplit("/", 1)[-1]
    if base in ("postgres", "postgis"):
        conf = _pg_image(tag)
    else:
        conf = dict(IMAGES.get(base, {"entrypoint": ["/entrypoint"],
                                      "cmd": [], "ports": []}))
        conf.setdefault("kind", "generic")
        path = ["PATH=" + DEFAULT_PATH]
        conf["env"] = path + list(conf.get("env", []))
    conf.setdefault("stop_signal", SIGTERM)
    conf.setdefault("volumes", [])
    conf["repo"], conf["tag"] = repo, tag
    return conf


def version_tuple(text):
    """(major, minor, patch) of "v3.6.13", "3.6" or "29.1.3"; None if
    the text does not start with a number.  Missing parts are 0, which
    is also what the GHCR tag v3.6 pointed at (3.6.0)."""
    m = re.match(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", text or "")
    if not m:
        return None
    return tuple(int(p or 0) for p in m.groups())


# --- Compose's interpolation and dotenv rules ------------------------

_TEMPLATE = re.compile(
    r"\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)|"
    r"{(?P<braced>[_a-z][_a-z0-9]*(?::?[-+?](.*}|[^}]*))?)}|"
    r"(?P<invalid>))")
_OPERATORS = (":?", "?", ":-", "-", ":+", "+")


class MissingRequired(DockerError):
    """${VAR:?msg} or ${VAR?msg} met an unset (or empty) variable."""

    def __init__(self, name, reason):
        text = "required variable %s is missing a value" % name
        super().__init__(text + (": " + reason if reason else ""))


class InvalidTemplate(DockerError):
    """A `$` that starts no valid substitution, such as `${}`."""

    def __init__(self, template):
        super().__init__(template)
        self.template = template


def _closing_brace(text):
    """Index of the brace closing the first ${...}, or -1."""
    depth, i = 0, 0
    while i < len(text):
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        if text.startswith("${", i):
            depth += 1
            i += 1
        i += 1
    return -1


def _apply_operator(op, body, mapping, warn):
    """Evaluate NAME<op>ARG the way compose-go does."""
    name, arg = body.split(op, 1)
    arg = substitute(arg, mapping, warn)
    value = mapping(name)
    if op in (":?", "?"):
        if value is None or (op == ":?" and value == ""):
            raise MissingRequired(name, arg)
        return value
    if op in (":-", "-"):
        missing = value is None or (op == ":-" and value == "")
        return arg if missing else value
    present = value is not None and (op == "+" or value != "")
    return arg if present else (value or "")


def substitute(text, mapping, warn=None):
    """Interpolate $VAR, ${VAR}, ${VAR:-x}, ${VAR:?x}, ${VAR:+x} and $$.

    `mapping(name)` returns a value or None when unset; `warn(name)` is
    told about an unset plain reference, which becomes "".  Follows
    compose-go's template package, quirks included: the operator is
    the first one found in the matched text.
    """
    def one(match):
        whole = match.group(0)
        end = _closing_brace(whole)
        rest = whole[end + 1:] if end > -1 else ""
        part = whole[:end + 1] if end > -1 else whole
        groups = _TEMPLATE.match(part).groupdict()
        if groups["escaped"]:
            return "$"
        name = groups["named"] or groups["braced"]
        if not name:
            raise InvalidTemplate(text)
        if groups["braced"]:
            found = [(whole.find(op), op) for op in _OPERATORS
                     if op in whole]
            op = min(found)[1] if found else None
            if op and op in name:
                value = _apply_operator(op, name, mapping, warn)
                return value + substitute(rest, mapping, warn)
        value = mapping(name)
        if value is None:
            if warn:
                warn(name)
            value = ""
        return value
    return _TEMPLATE.sub(one, text)


# compose-go's escapes in double quotes (dotenv/parser.go, 2025): the
# shell's letters, an octal \0ddd, \" and \\, and \$, which becomes the
# "$$" that interpolation then reads as one "$".
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
            "t": "\t", "v": "\v", '"': '"', "\\": "\\", "$": "$$"}
_ESCAPE_RE = re.compile(r'\\(?:[abfnrtv$"\\]|0[0-7]{0,3})')


def _unescape_double(text):
    r"""Expand the escapes of a double-quoted dotenv value."""
    def one(match):
        seq = match.group(0)[1:]
        if seq[0] == "0":
            return chr(int(seq, 8)) if len(seq) > 1 else "\0"
        return _ESCAPES[seq]
    return _ESCAPE_RE.sub(one, text)


def _dotenv_key(src, pos):
    """Read a key; return (key, pos after = or newline, inherited)."""
    if src.startswith("export", pos):
        pos += len("export")
    while pos < len(src) and src[pos] in " \t\v\f\r\x85\xa0":
        pos += 1
    start = pos
    while pos < len(src):
        ch = src[pos]
        if ch in "=:\n":
            key = src[start:pos].rstrip()
            if " " in key:
                raise DockerError("key cannot contain a space")
            return key, pos + 1, ch == "\n"
        if not (ch in " \t\v\f\r_." or ch.isalnum()):
            raise DockerError(
                "unexpected character %s in variable name near %s"
                % (json.dumps(ch), json.dumps(src[start:start + 40])))
        pos += 1
    return src[start:].rstrip(), pos, True


def _dotenv_value(src, pos, expand):
    """Read a value at pos; return (value, position after it)."""
    while pos < len(src) and src[pos] in " \t\v\f\r\x85\xa0":
        pos += 1
    quote = src[pos] if pos < len(src) and src[pos] in "'\"" else None
    if quote is None:
        end = src.find("\n", pos)
        end = len(src) if end < 0 else end
        value = src[pos:end].split(" #", 1)[0].rstrip()
        return expand(value), end
    # As compose-go reads it: a backslash before the quote keeps the
    # quote and drops the backslash; before anything else both stay.
    i, chars, escaped = pos + 1, [], False
    while i < len(src):
        ch = src[i]
        if escaped:
            escaped = False
            chars.append(ch if ch == quote else "\\" + ch)
        elif ch == "\\":
            escaped = True
        elif ch == quote:
            value = "".join(chars)
            if quote == '"':
                value = expand(_unescape_double(value))
            return value, i + 1
        else:
            chars.append(ch)
        i += 1
    end = src.find("\n", pos)
    raise DockerError("unterminated quoted value %s"
                      % src[pos:end if end >= 0 else None])


def parse_dotenv(text, lookup=lambda name: None, warn=None):
    """Parse a .env file with Compose's rules; return {key: value}.

    Single quotes are literal (no escapes, may span lines); double
    quotes take \\n, \\r and \\X escapes and ${...} interpolation and may
    span lines; unquoted values end at the line end or at " #" and are
    interpolated.  `lookup` (the shell environment) is consulted for
    ${...} first and overrides a value given in the file, as in Compose.
    """
    text = text.lstrip("\ufeff")
    out = {}

    def mapping(name):
        value = lookup(name)
        return out.get(name) if value is None else value

    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        if text[pos] == "#":
            end = text.find("\n", pos)
            if end < 0:
                return out
            pos = end
            continue
        key, pos, inherited = _dotenv_key(text, pos)
        if inherited:
            if key and lookup(key) is not None:
                out[key] = lookup(key)
            continue
        value, pos = _dotenv_value(
            text, pos, lambda v: substitute(v, mapping, warn))
        shell = lookup(key)
        out[key] = value if shell is None else shell


def dotenv_quote(value):
    """Write `value` so that Compose (and parse_dotenv) reads it back
    unchanged: double quotes, with \\, ", newlines and $ escaped, the
    same form mkprov's secrets phase writes.  (Single quotes cannot
    hold a quote, nor end in a backslash.)"""
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r")
    return '"' + out.replace("$", "$$") + '"'


def render_env_template(template, values):
    """Fill a .env template: each @@NAME@@ becomes dotenv_quote(value),
    and @@NAME:-default@@ falls back to the default text.

    Used to write the seeded server's .env from the fake Infisical's
    secrets.  Comment lines are left alone.  Raises KeyError naming a
    placeholder without a value.
    """
    def one(match):
        name, default = match.group(1), match.group(2)
        if name not in values and default is not None:
            return dotenv_quote(default)
        return dotenv_quote(values[name])
    pattern = re.compile(r"@@([A-Za-z_][A-Za-z0-9_]*)(?::-([^@]*))?@@")
    return "".join(line if line.lstrip().startswith("#")
                   else pattern.sub(one, line)
                   for line in template.splitlines(True))


# --- Compose warnings -------------------------------------------------

def warn(message):
    """Print a Compose warning the way logrus does on this stderr."""
    if sys.stderr.isatty():
        sys.stderr.write("WARN[0000] %s\n" % message)
    else:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        sys.stderr.write('time="%s" level=warning msg=%s\n'
                         % (stamp, json.dumps(message)))


def _warn_unset(name):
    """Compose's warning for a plain ${VAR} that is unset."""
    warn('The "%s" variable is not set. Defaulting to a blank string.'
         % name)


# --- Compose project --------------------------------------------------

class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: `yes`, `no`, `on` and `off` stay strings, as
    in compose-go, so FOO: yes reaches a container as "yes"."""


_Loader.yaml_implicit_resolvers = {
    key: [r for r in rules if r[0] != "tag:yaml.org,2002:bool"]
    for key, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def find_compose_file(start):
    """The compose file Compose would pick, searching up from `start`."""
    here = os.path.abspath(start)
    while True:
        found = [n for n in COMPOSE_FILES
                 if os.path.isfile(os.path.join(here, n))]
        if found:
            if len(found) > 1:
                warn("Found multiple config files with supported names: "
                     + ", ".join(os.path.join(here, n) for n in found)
                     + "\nUsing " + os.path.join(here, found[0]))
            return os.path.join(here, found[0])
        parent = os.path.dirname(here)
        if parent == here:
            raise DockerError("no configuration file provided: not found")
        here = parent


def _interpolate_tree(node, mapping, path):
    """Interpolate every string value (never keys) of a YAML tree."""
    if isinstance(node, str):
        try:
            return substitute(node, mapping, _warn_unset)
        except InvalidTemplate as err:
            raise DockerError(
                "invalid interpolation format for %s.\nYou may need to "
                "escape any $ with another $.\n%s" % (path, err.template))
        except DockerError as err:
            raise DockerError("error while interpolating %s: %s"
                              % (path, err))
    if isinstance(node, dict):
        return {k: _interpolate_tree(v, mapping, "%s.%s" % (path, k))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate_tree(v, mapping, path + ".[]")
                for v in node]
    return node


def _scalar(value):
    """A YAML scalar as the string Compose puts in an environment."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _normalize_name(name):
    """Compose's project name rules: lower case, [a-z0-9_-] only."""
    name = re.sub(r"[^a-z0-9_-]", "", name.lower())
    return name.lstrip("_-")


class Project:
    """A loaded compose project: its name, files and services.

    Built from command-line options the way `docker compose` resolves
    them: -f files (or the file found from the working directory),
    --project-directory, --env-file, -p.  `env` is what interpolation
    saw: the .env file overridden by the shell environment.
    """

    def __init__(self, files=(), project_dir=None, env_files=(),
                 name=None, cwd=None, profiles=()):
        cwd = cwd or os.getcwd()
        if files:
            self.files = [os.path.abspath(os.path.join(cwd, f))
                          for f in files]
        else:
            self.files = [find_compose_file(project_dir or cwd)]
        self.dir = os.path.abspath(
            project_dir or os.path.dirname(self.files[0]))
        self.env = self._load_env(env_files)
        model = self._load_model()
        self.name = _normalize_name(
            name or self.env.get("COMPOSE_PROJECT_NAME")
            or model.get("name") or os.path.basename(self.dir))
        self.model = model
        active = set(profiles) | set(
            filter(None, self.env.get("COMPOSE_PROFILES", "").split(",")))
        self.services = {
            k: v for k, v in (model.get("services") or {}).items()
            if not v.get("profiles") or active & set(v["profiles"])}
        self.networks = model.get("networks") or {}
        self.volumes = model.get("volumes") or {}

    def _load_env(self, env_files):
        """The interpolation environment: .env, then the shell wins."""
        paths = env_files or [os.path.join(self.dir, ".env")]
        env = {}
        for path in paths:
            if not os.path.exists(path):
                if env_files:
                    raise DockerError("couldn't find env file: "
                                      + os.path.abspath(path))
                continue
            with open(path, encoding="utf-8") as f:
                try:
                    env.update(parse_dotenv(f.read(), os.environ.get))
                except DockerError as err:
                    raise DockerError("failed to read %s: %s"
                                      % (os.path.abspath(path), err))
        env.update(os.environ)
        return env

    def _load_model(self):
        """Read, merge (later files win per key) and interpolate."""
        model = {}
        for path in self.files:
            try:
                with open(path, encoding="utf-8") as f:
                    data = yaml.load(f, Loader=_Loader) or {}
            except FileNotFoundError:
                raise DockerError("open %s: no such file or directory"
                                  % path)
            except yaml.YAMLError as err:
                raise DockerError("yaml: %s" % err)
            if "version" in data:
                warn("%s: the attribute `version` is obsolete, it will "
                     "be ignored, please remove it to avoid potential "
                     "confusion" % path)
            _merge(model, data)
        services = model.get("services") or {}
        for name, svc in services.items():
            if not isinstance(svc, dict) or not svc.get("image"):
                raise DockerError(
                    "service %s has neither an image nor a build context"
                    " specified: invalid compose project" % name)
        return {k: _interpolate_tree(v, self.env.get, k)
                for k, v in model.items()}

    def service_names(self):
        """Service names sorted, as `config --services` prints them."""
        return sorted(self.services)

    def check_services(self, names):
        """Fail like compose on a service the project does not have."""
        for name in names:
            if name not in self.services:
                raise DockerError("no such service: %s" % name)

    def order(self, names=None):
        """Services in start order: dependencies first, then file order.

        Naming services also brings in what they depend on, as
        `compose up SVC` does.
        """
        done, out = set(), []

        def visit(name, trail):
            if name in done:
                return
            if name in trail:
                raise DockerError("dependency cycle detected: "
                                  + " -> ".join(trail + [name]))
            for dep in _depends_on(self.services[name]):
                self.check_services([dep])
                visit(dep, trail + [name])
            done.add(name)
            out.append(name)

        for name in names or list(self.services):
            visit(name, [])
        return out

    def container_name_of(self, svc):
        """container_name of a service mapping, or its default."""
        for name, other in self.services.items():
            if other is svc:
                return self.container_name(name)
        return svc.get("container_name", "")

    def container_name(self, service):
        """container_name, or <project>-<service>-1."""
        svc = self.services[service]
        return svc.get("container_name") or "%s-%s-1" % (self.name,
                                                         service)

    def env_for(self, service):
        """The environment Compose gives a service: its env_file(s),
        then `environment` on top; a bare NAME takes the project's
        value or stays unset."""
        svc = self.services[service]
        env = {}
        for path, required in _env_files(svc.get("env_file")):
            full = os.path.join(self.dir, path)
            if not os.path.exists(full):
                if required:
                    raise DockerError(
                        "env file %s not found: stat %s: no such file or"
                        " directory" % (full, full))
                continue
            with open(full, encoding="utf-8") as f:
                env.update(parse_dotenv(f.read(), self.env.get))
        for key, value in _pairs(svc.get("environment")):
            if value is None:
                if key in self.env:
                    env[key] = self.env[key]
            else:
                env[key] = _scalar(value)
        return env


def _merge(base, extra):
    """Merge compose file `extra` into `base`, mapping by mapping."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _pairs(value):
    """(key, value) pairs of a list-or-mapping attribute such as
    environment or labels; a list item without = has value None."""
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    out = []
    for item in value or []:
        key, sep, val = str(item).partition("=")
        out.append((key, val if sep else None))
    return out


def _env_files(value):
    """(path, required) of each env_file entry."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            out.append((item["path"], item.get("required", True)))
        else:
            out.append((item, True))
    return out


def _depends_on(svc):
    """Names a service depends on (list or long syntax)."""
    deps = svc.get("depends_on") or []
    return list(deps) if isinstance(deps, (list, dict)) else []


def labels_of(svc):
    """A service's labels as a dict of strings."""
    return {k: _scalar(v) for k, v in _pairs(svc.get("labels"))}


def command_of(value):
    """A compose command/entrypoint (string or list) as a list."""
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value)
    return [_scalar(v) for v in value]


# --- The host ---------------------------------------------------------

class Host:
    """The sandbox host this docker command runs on.

    Its name and run directory come from the environment sshd sets:
    MKP_SANDBOX_HOST and MKP_SANDBOX_RUN.  Without them there is no
    daemon to talk to, and the CLI says so like the real one.
    """

    def __init__(self, env=None):
        env = os.environ if env is None else env
        self.name = env.get("MKP_SANDBOX_HOST")
        self.run = env.get("MKP_SANDBOX_RUN")
        if not self.name or not self.run:
            raise DockerError(
                "Cannot connect to the Docker daemon at "
                "unix:///var/run/docker.sock. Is the docker daemon "
                "running?")
        self.dir = os.path.join(self.run, "hosts", self.name)
        self.root = env.get("MKP_SANDBOX_ROOT") or os.path.join(
            self.dir, "fs")
        self.cdir = os.path.join(self.dir, "containers")
        self.pgdir = os.path.join(self.dir, "pg")
        os.makedirs(self.cdir, exist_ok=True)
        self._facts = None

    @property
    def facts(self):
        """host.json: ipv4, docker_version, https_port, pg_port, ..."""
        if self._facts is None:
            path = os.path.join(self.dir, "host.json")
            try:
                with open(path, encoding="utf-8") as f:
                    self._facts = json.load(f)
            except (OSError, ValueError) as err:
                raise DockerError("sandbox: %s: %s" % (path, err))
        return self._facts

    def visible(self, path):
        """A path as the host itself sees it: under its root, not the
        run directory (labels and mounts show /srv/..., as on a
        server)."""
        root = os.path.abspath(self.root)
        path = os.path.abspath(path)
        if path == root:
            return "/"
        if path.startswith(root + "/"):
            return path[len(root):]
        return path

    @property
    def docker_version(self):
        """The Docker version this host pretends to run."""
        return str(self.facts.get("docker_version") or "29.1.3")

    def lock(self):
        """Serialize changes to this host's containers (an open file;
        closing it releases the lock)."""
        f = open(os.path.join(self.cdir, ".lock"), "a")
        fcntl.flock(f, fcntl.LOCK_EX)
        return f

    def control(self, request):
        """One request to the supervisor's control socket."""
        request = dict(request, host=self.name)
        path = os.path.join(self.run, "control.sock")
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(120)
                s.connect(path)
                s.sendall(json.dumps(request).encode() + b"\n")
                data = b""
                while not data.endswith(b"\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except OSError as err:
            raise DockerError(
                "Cannot connect to the Docker daemon at unix://%s. Is the"
                " docker daemon running? (%s)" % (path, err.strerror))
        try:
            reply = json.loads(data)
        except ValueError:
            raise DockerError("sandbox: %s: bad reply %r" % (path, data))
        if not reply.get("ok"):
            raise DockerError("Error response from daemon: %s"
                              % reply.get("error", "unknown error"))
        return reply

    def procs(self):
        """Supervisor processes of this host by name."""
        reply = self.control({"op": "list"})
        return {p["name"]: p for p in reply.get("procs", [])}


# --- Container records ------------------------------------------------

def _now():
    """The time records keep: epoch seconds."""
    return time.time()


def _epoch(value):
    """A supervisor time (epoch number or ISO 8601 text) as epoch."""
    if value is None or isinstance(value, (int, float)):
        return value
    text = re.sub(r"(\.\d{6})\d+", r"\1", str(value)).replace("Z",
                                                              "+00:00")
    from datetime import datetime
    return datetime.fromisoformat(text).timestamp()


def exit_status(code):
    """A wait status as Docker shows it: a signal N is 128+N."""
    if code is None:
        return 255
    return 128 - code if code < 0 else code


# --- Restart policies ---------------------------------------------------
#
# Docker's restart manager restarts an exited container 100 ms after
# the exit, then waits twice as long before each next restart, at most
# a minute (a container that ran 10 s starts over at 100 ms).

RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")
RESTART_FIRST = 0.1
RESTART_LIMIT = 60.0


def restart_policy(value):
    """A compose `restart` value (no, always, on-failure[:N],
    unless-stopped; none is "no") as inspect's RestartPolicy; the
    daemon's error for anything else."""
    text = "no" if value in (None, "") else _scalar(value)
    name, colon, count = text.partition(":")
    why = None
    if name not in RESTART_POLICIES:
        why = ("unknown policy '%s'; use one of 'no', 'always', "
               "'on-failure', or 'unless-stopped'" % name)
    elif colon and name != "on-failure":
        why = "maximum retry count can only be used with 'on-failure'"
    elif colon and not count.isdigit():
        why = "maximum retry count must be a positive integer"
    if why:
        raise DockerError("Error response from daemon: invalid restart "
                          "policy: " + why)
    return {"Name": name, "MaximumRetryCount": int(count or 0)}


def crash_loop(policy, code, since, now):
    """Where a container that exited with `code` at `since`, and exits
    again at once after every restart, stands at `now` under `policy`:
    (restarting, restarts so far, time of the last exit).

    "no", and "on-failure" after a 0 or its retries, leave it exited.
    """
    name, most = policy["Name"], policy["MaximumRetryCount"]
    if name == "no" or (name == "on-failure" and code == 0):
        return False, 0, since
    count, last, wait = 0, since, RESTART_FIRST
    while last + wait <= now and not (name == "on-failure" and most
                                      and count >= most):
        count, last = count + 1, last + wait
        wait = min(wait * 2, RESTART_LIMIT)
    gave_up = name == "on-failure" and bool(most) and count >= most
    return not gave_up, count, last


class Record(dict):
    """One container, stored as HOSTDIR/containers/NAME.json.

    Keys: name, id, image, kind, service, project, project_dir,
    config_files, created, started_at, finished_at, state (created,
    running, restarting, exited), exit_code, pid, env (list of
    KEY=value, user env first then the image's), labels, entrypoint,
    cmd, ports, mounts, networks, config_hash, log, proc, socket (http
    kinds), pg (postgres: datadir, host, port, socket, user), restart
    (inspect's RestartPolicy), fault (an injected crash: exit_code,
    at), restart_count.
    """

    @classmethod
    def load(cls, host, name):
        """The stored record of container `name`, or None."""
        path = os.path.join(host.cdir, name + ".json")
        try:
            with open(path, encoding="utf-8") as f:
                return cls(json.load(f))
        except FileNotFoundError:
            return None

    def save(self, host):
        """Store the record through a rename, so readers (ps, traefik)
        never see half of it.
        """
        path = os.path.join(host.cdir, self["name"] + ".json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self, f, indent=1, sort_keys=True)
        os.rename(tmp, path)

    def remove(self, host):
        """Forget the container: its record, its log, its TLS files."""
        for ext in (".json", ".log"):
            try:
                os.unlink(os.path.join(host.cdir, self["name"] + ext))
            except FileNotFoundError:
                pass
        shutil.rmtree(os.path.join(host.cdir, self["name"] + ".tls"),
                      ignore_errors=True)

    def env_dict(self):
        """The container's environment as a dict."""
        return dict(e.split("=", 1) if "=" in e else (e, "")
                    for e in self["env"])

    def policy(self):
        """The restart policy, as inspect's HostConfig shows it."""
        return self.get("restart") or {"Name": "no",
                                       "MaximumRetryCount": 0}

    def refresh(self, procs, now=None):
        """Bring state up to date with the supervisor: a process that
        has exited on its own makes the container exited; an injected
        crash is where its restart policy has taken it by now."""
        if self["state"] == "running":
            proc = procs.get(self["proc"])
            if not proc or proc.get("state") != "running":
                self._exited(proc)
        return self._crash_loop(_now() if now is None else now)

    def _exited(self, proc):
        """The process is gone: the container has exited."""
        self["state"] = "exited"
        self["pid"] = 0
        code = proc.get("exit_code") if proc else None
        self["exit_code"] = exit_status(code)
        finished = _epoch(proc.get("finished")) if proc else None
        self["finished_at"] = finished or _now()

    def _crash_loop(self, now):
        """State, restart count and last exit of a container whose
        injected crash recurs after every restart (see inject_exit)."""
        fault = self.get("fault")
        if not fault or self["state"] not in ("exited", "restarting"):
            return self
        again, count, last = crash_loop(self.policy(), fault["exit_code"],
                                        fault["at"], now)
        self.update(state="restarting" if again else "exited", pid=0,
                    exit_code=fault["exit_code"], restart_count=count,
                    finished_at=last)
        return self


def all_records(host, refresh=True):
    """Every container on the host, state refreshed, newest first."""
    procs = host.procs() if refresh else {}
    out = []
    for entry in sorted(os.listdir(host.cdir)):
        if entry.endswith(".json"):
            rec = Record.load(host, entry[:-5])
            if rec is not None:
                out.append(rec.refresh(procs) if refresh else rec)
    out.sort(key=lambda r: r["created"], reverse=True)
    return out


def find_record(host, ref):
    """A container by name, full id or unique id prefix; None if none."""
    rec = Record.load(host, ref) if "/" not in ref else None
    if rec is None and re.match(r"^[0-9a-f]{1,64}$", ref):
        hits = [r for r in all_records(host, refresh=False)
                if r["id"].startswith(ref)]
        rec = hits[0] if len(hits) == 1 else None
    if rec is not None:
        rec.refresh(host.procs())
    return rec


def require_record(host, ref):
    """find_record, or the daemon's "No such container" error."""
    rec = find_record(host, ref)
    if rec is None:
        raise DockerError("Error response from daemon: No such "
                          "container: %s" % ref)
    return rec


def _ports(svc):
    """Published ports as (host_ip, published, target, protocol)."""
    out = []
    for item in svc.get("ports") or []:
        if isinstance(item, dict):
            out.append((item.get("host_ip", ""),
                        str(item.get("published", "")),
                        str(item["target"]),
                        item.get("protocol", "tcp")))
            continue
        spec, _, proto = str(item).partition("/")
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            ip, pub, target = parts
        elif len(parts) == 2:
            ip, (pub, target) = "", parts
        else:
            ip, pub, target = "", "", parts[0]
        out.append((ip, pub, target, proto or "tcp"))
    return out


def _mounts(host, project, svc, image_volumes):
    """Mounts as (name, is_named_volume, target): a named volume by
    its full name (<project>_<volume> unless it has a name), a bind
    mount by its source path as the host sees it, and an anonymous
    volume (64 hex digits) for each VOLUME of the image left unmounted.
    """
    out = []
    for item in svc.get("volumes") or []:
        if isinstance(item, dict):
            source, target = item.get("source", ""), item.get("target", "")
        else:
            source, _, rest = str(item).partition(":")
            target = rest.split(":", 1)[0]
        if not source or not target:
            continue
        if source.startswith((".", "/", "~")):
            path = os.path.join(project.dir, os.path.expanduser(source))
            out.append((host.visible(path), False, target))
            continue
        vol = project.volumes.get(source) or {}
        name = vol.get("name") if isinstance(vol, dict) else None
        out.append((name or "%s_%s" % (project.name, source), True,
                    target))
    taken = {m[2].rstrip("/") for m in out}
    for target in image_volumes:
        if target not in taken:
            out.append((sha("anon", host.dir, project.name,
                            project.container_name_of(svc), target),
                         True, target))
    return out


def _pg_volume(mounts):
    """The named volume a postgres container keeps its data in, or
    None (then the data goes with the container's name)."""
    for name, named, target in mounts:
        if named and target.rstrip("/") in ("/var/lib/postgresql/data",
                                            "/var/lib/postgresql"):
            return name
    return None


def networks_of(project, svc):
    """Network names the container joins."""
    nets = svc.get("networks") or ["default"]
    out = []
    for net in nets:
        conf = project.networks.get(net) or {}
        if isinstance(conf, dict) and conf.get("name"):
            out.append(conf["name"])
        else:
            out.append("%s_%s" % (project.name, net))
    return out


def compose_labels(host, project, service, config_hash, image_id):
    """The com.docker.compose.* labels Compose puts on a container."""
    deps = ",".join("%s:service_started:false" % d
                    for d in _depends_on(project.services[service]))
    return {
        "com.docker.compose.config-hash": config_hash,
        "com.docker.compose.container-number": "1",
        "com.docker.compose.depends_on": deps,
        "com.docker.compose.image": image_id,
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.project": project.name,
        "com.docker.compose.project.config_files": ",".join(
            host.visible(f) for f in project.files),
        "com.docker.compose.project.working_dir": host.visible(project.dir),
        "com.docker.compose.service": service,
        "com.docker.compose.version": COMPOSE_VERSION,
    }


def sha(*parts):
    """A stable hex digest of the parts (ids, hashes, names)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def desired_record(host, project, service):
    """The container a service asks for, before it exists."""
    svc = project.services[service]
    image = str(svc["image"])
    conf = image_config(image)
    env = project.env_for(service)
    user_env = ["%s=%s" % kv for kv in sorted(env.items())]
    image_env = [e for e in conf["env"] if e.split("=", 1)[0] not in env]
    entrypoint = command_of(svc.get("entrypoint"))
    cmd = command_of(svc.get("command"))
    if entrypoint is None:
        entrypoint = conf["entrypoint"]
        cmd = conf["cmd"] if cmd is None else cmd
    cmd = cmd or []
    labels = labels_of(svc)
    mounts = _mounts(host, project, svc, conf["volumes"])
    restart = restart_policy(svc.get("restart"))
    config = {"image": image, "env": user_env, "labels": labels,
              "entrypoint": entrypoint, "cmd": cmd,
              "ports": _ports(svc), "volumes": svc.get("volumes"),
              "restart": restart}
    config_hash = sha(json.dumps(config, sort_keys=True))
    image_id = "sha256:" + sha("image", image)
    labels = dict(labels, **compose_labels(host, project, service,
                                           config_hash, image_id))
    name = project.container_name(service)
    return Record({
        "name": name, "image": image, "image_id": image_id,
        "kind": conf["kind"], "service": service, "project": project.name,
        "project_dir": project.dir, "config_files": project.files,
        "state": "created", "exit_code": 0, "pid": 0,
        "started_at": None, "finished_at": None,
        "env": user_env + image_env, "labels": labels,
        "entrypoint": entrypoint, "cmd": cmd,
        "exposed": conf["ports"], "ports": _ports(svc),
        "mounts": [m[:2] for m in mounts], "pg_volume": _pg_volume(mounts),
        "networks": networks_of(project, svc),
        "config_hash": config_hash, "stop_signal": conf["stop_signal"],
        "log": os.path.join(host.cdir, name + ".log"),
        "proc": PROC_PREFIX + name, "restart": restart, "fault": None,
        "restart_count": 0,
    })


def create(host, rec):
    """Give a desired record its identity and store it."""
    rec["created"] = _now()
    rec["id"] = sha(host.name, rec["name"], repr(rec["created"]))
    rec["socket"] = "mkp-sandbox-" + sha(host.dir, rec["name"])[:20]
    rec.save(host)
    return rec


# --- Starting and stopping --------------------------------------------

def _spawn(host, rec, argv, env, user=None):
    """Start the container's process under the supervisor."""
    request = {"op": "spawn", "name": rec["proc"], "argv": argv,
               "env": env, "cwd": host.root if os.path.isdir(host.root)
               else host.dir, "log": rec["log"]}
    if user:
        request["user"] = user
    return host.control(request)["pid"]


def _process_env(host, rec):
    """Environment of a container's process: the container's env plus
    what the stand-ins need to find their host."""
    env = rec.env_dict()
    env.update(MKP_SANDBOX_HOST=host.name, MKP_SANDBOX_RUN=host.run,
               MKP_SANDBOX_ROOT=host.root,
               MKP_CONTAINER_JSON=os.path.join(host.cdir,
                                               rec["name"] + ".json"))
    return env


def _log_line(rec, text):
    """Append text to the container's log, as its process would."""
    with open(rec["log"], "a", encoding="utf-8") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def _check_ports(host, rec):
    """Refuse a published port another running container holds, with
    the daemon's words (compose up then fails the same way)."""
    mine = {(ip or "0.0.0.0", pub, proto)
            for ip, pub, _, proto in rec["ports"] if pub}
    for other in all_records(host):
        if other["name"] == rec["name"] or other["state"] != "running":
            continue
        for ip, pub, _, proto in other["ports"]:
            if (ip or "0.0.0.0", pub, proto) in mine:
                raise DockerError(
                    "Error response from daemon: failed to set up container"
                    " networking: driver failed programming external "
                    "connectivity on endpoint %s (%s): Bind for %s:%s "
                    "failed: port is already allocated"
                    % (rec["name"], rec["id"], ip or "0.0.0.0", pub))


def start(host, rec):
    """Start a created or exited container; no-op when running, and
    when restarting, as the daemon counts that as running too."""
    if rec["state"] in ("running", "restarting"):
        return rec
    _check_ports(host, rec)
    rec.update(fault=None, restart_count=0)
    if rec["kind"] == "postgres":
        argv, user = _postgres_argv(host, rec)
    else:
        argv, user = [PYTHON, SERVICES_PY, rec["kind"],
                      os.path.join(host.cdir, rec["name"] + ".json")], None
    rec.save(host)
    rec["pid"] = _spawn(host, rec, argv, _process_env(host, rec), user)
    rec.update(state="running", started_at=_now(), finished_at=None,
               exit_code=0)
    rec.save(host)
    if rec["kind"] == "postgres" and argv[0].endswith("/postgres"):
        _wait_postgres(host, rec)
    return rec


def stop(host, rec, signal=None):
    """Stop a running container the way `docker stop` does: its stop
    signal (SIGINT for postgres, as the image declares), then SIGKILL
    if the supervisor reports it could not wait."""
    if rec["state"] == "restarting":
        # Nothing runs between restarts: stopping ends the loop, and
        # the last exit stands.
        rec.update(state="exited", fault=None)
        rec.save(host)
        return rec
    if rec["state"] != "running":
        return rec
    sig = signal or rec.get("stop_signal", SIGTERM)
    try:
        reply = host.control({"op": "kill", "name": rec["proc"],
                              "signal": sig, "wait": True})
    except DockerError:
        reply = host.control({"op": "kill", "name": rec["proc"],
                              "signal": SIGKILL, "wait": True})
    code = reply.get("exit_code")
    rec.update(state="exited", pid=0, finished_at=_now(),
               exit_code=exit_status(code) if code is not None else 0)
    rec.save(host)
    return rec


def restart(host, rec):
    """`docker restart`: stop, then start the same container."""
    stop(host, rec)
    return start(host, rec)


def inject_exit(host, rec, code):
    """Fault injection: make a running container exit with `code`.

    The process is stopped for real (so traefik stops routing to it
    and clients see it gone); the record keeps `code` as the exit code
    Docker would report, and the log says it was injected.

    The fault is taken as a crash that comes back after every restart
    (a broken configuration, a missing dependency), so the container's
    restart policy decides what ps shows: with "no", or "on-failure"
    and code 0, "Exited (code) ..."; with always, unless-stopped or
    on-failure, "Restarting (code) ..." and state "restarting", the
    restart count growing on Docker's back-off, until on-failure runs
    out of retries.  Nothing is started for the restarts themselves.
    Stopping, restarting or recreating the container ends the fault.
    """
    if rec["state"] != "running":
        raise DockerError("Error response from daemon: container %s is "
                          "not running" % rec["id"])
    stop(host, rec, SIGKILL)
    rec.update(exit_code=code, fault={"exit_code": code, "at": _now()})
    rec.refresh({})
    rec.save(host)
    _log_line(rec, "sandbox: fault injected: process exited with "
                   "status %d" % code)
    return rec


# --- PostgreSQL containers --------------------------------------------

_NO_PASSWORD = """\
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.

       See PostgreSQL documentation about "trust":
       https://www.postgresql.org/docs/current/auth-trust.html
"""


def _pg_user():
    """The account clusters run as: postgres when the sandbox runs as
    root (initdb refuses root), else the sandbox's own user."""
    import pwd
    if os.getuid() == 0:
        try:
            return pwd.getpwnam("postgres")
        except KeyError:
            raise DockerError("sandbox: no user postgres: PostgreSQL "
                              "clusters cannot run as root: install "
                              "the postgresql package (make deps)")
    return pwd.getpwuid(os.getuid())


def _searchable(host, path):
    """Make the directories from the run directory down to `path`
    searchable by others, so the postgres user can reach its cluster;
    fail naming the first directory above the run dir it cannot pass.
    Nothing to do when the sandbox is not root's: its clusters run as
    the user who owns the run directory."""
    if os.getuid() != 0:
        return
    run = os.path.abspath(host.run)
    here = os.path.dirname(run)
    while here != "/":
        if not os.stat(here).st_mode & 0o001:
            raise DockerError("sandbox: %s: not searchable by user "
                              "postgres: the run directory must be "
                              "reachable (chmod o+x)" % here)
        here = os.path.dirname(here)
    here = run
    for part in os.path.relpath(path, run).split(os.sep):
        if not os.stat(here).st_mode & 0o001:
            os.chmod(here, os.stat(here).st_mode | 0o001)
        here = os.path.join(here, part)


def _pg_port(host, name):
    """The cluster's TCP port: host.json pg_port for the first postgres
    container on the host, the next free numbers for later ones; kept
    in pg/ports.json so a container keeps its port."""
    path = os.path.join(host.pgdir, "ports.json")
    try:
        with open(path, encoding="utf-8") as f:
            ports = json.load(f)
    except FileNotFoundError:
        ports = {}
    if name not in ports:
        taken = set(ports.values()) | {host.facts.get("ssh_port"),
                                       host.facts.get("https_port")}
        port = int(host.facts.get("pg_port") or 5432)
        while port in taken:
            port += 1
        ports[name] = port
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(ports, f)
        os.rename(path + ".tmp", path)
    return ports[name]


def _as_pg_user(argv, stdin=None):
    """Run a PostgreSQL tool as the clusters' account (_pg_user):
    through runuser as root, directly otherwise; return its output."""
    prefix = ["runuser", "-u", _pg_user().pw_name, "--"] \
        if os.getuid() == 0 else []
    proc = subprocess.run(prefix + argv,
                          input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DockerError("sandbox: %s: %s" % (
            os.path.basename(argv[0]),
            (proc.stderr or proc.stdout).strip()))
    return proc.stdout + proc.stderr


def _ident(name):
    """A PostgreSQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _initdb(host, rec, datadir):
    """Create the cluster like the official image's entrypoint does:
    superuser POSTGRES_USER with POSTGRES_PASSWORD, then POSTGRES_DB.

    Authentication is the image's too: trust on the local socket (the
    one `docker exec ... psql` and pg_dump use) and, over TCP, the
    method of POSTGRES_HOST_AUTH_METHOD, scram-sha-256 by default, so
    a client needs the password set here.  The image also trusts
    127.0.0.1, but that is the container's own loopback; in the
    sandbox every TCP client (other containers, the host) arrives from
    127.0.0.1, so the whole of 127.0.0.0/8 gets the password rule that
    other containers meet in Docker.
    """
    env = rec.env_dict()
    user = env.get("POSTGRES_USER") or "postgres"
    database = env.get("POSTGRES_DB") or user
    password = env.get("POSTGRES_PASSWORD", "")
    method = env.get("POSTGRES_HOST_AUTH_METHOD") or "scram-sha-256"
    pw = _pg_user()
    # PostgreSQL wants its data directory owned by the account it runs
    # as, mode 0700 (initdb keeps it so); as root, that is postgres.
    os.makedirs(datadir, mode=0o700, exist_ok=True)
    os.chmod(datadir, 0o700)
    pwfile = os.path.join(host.pgdir, ".pw-" + rec["name"])
    with open(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                      0o600), "w", encoding="utf-8") as f:
        f.write(password + "\n")
    if os.getuid() == 0:
        os.chown(datadir, pw.pw_uid, pw.pw_gid)
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    auth = ["--auth-local=trust", "--auth-host=" + method]
    if password:
        auth.append("--pwfile=" + pwfile)
    try:
        out = _as_pg_user(
            [PG_BIN + "/initdb", "-D", datadir, "-U", user, "-E", "UTF8",
             "--locale=C.UTF-8", "--no-sync", "--no-instructions"]
            + auth + shlex.split(env.get("POSTGRES_INITDB_ARGS", "")))
    finally:
        os.unlink(pwfile)
    with open(os.path.join(datadir, "pg_hba.conf"), "w") as f:
        f.write("# TYPE DATABASE USER ADDRESS METHOD\n"
                "local all all trust\n"
                "host all all 127.0.0.0/8 %s\n"
                "host all all ::1/128 %s\n" % (method, method))
    if database != "postgres":
        out += _as_pg_user([PG_BIN + "/postgres", "--single", "-D",
                            datadir, "-c", "fsync=off", "postgres"],
                           "CREATE DATABASE %s;\n" % _ident(database))
    _log_line(rec, out + "\nPostgreSQL init process complete; ready for "
                         "start up.\n")


def _postgres_argv(host, rec):
    """Prepare the container's cluster; return (argv, user) to run.

    A cluster that cannot be initialised without a password gets the
    image's error message and exit status 1, through a real process.
    """
    datadir = pg_datadir(host, rec)
    env = rec.env_dict()
    fresh = not os.path.exists(os.path.join(datadir, "PG_VERSION"))
    if fresh and not env.get("POSTGRES_PASSWORD") and \
            env.get("POSTGRES_HOST_AUTH_METHOD") != "trust":
        return [PYTHON, SERVICES_PY, "fail", "1", _NO_PASSWORD], None
    os.makedirs(host.pgdir, exist_ok=True)
    _searchable(host, host.pgdir)
    port = _pg_port(host, rec["name"])
    ip = host.facts["ipv4"]
    # The local socket lives in the abstract namespace (PostgreSQL 14
    # and later): no file to leave behind, no path length limit.
    sock = "@mkp-pg-" + sha(datadir)[:20]
    rec["pg"] = {"datadir": datadir, "host": ip, "port": port,
                 "socket": sock,
                 "user": env.get("POSTGRES_USER") or "postgres"}
    if fresh:
        _initdb(host, rec, datadir)
    else:
        _log_line(rec, "\nPostgreSQL Database directory appears to "
                       "contain a database; Skipping initialization\n")
    argv = [PG_BIN + "/postgres", "-D", datadir, "-h", ip, "-p", str(port),
            "-c", "unix_socket_directories=" + sock, "-c", "fsync=off",
            "-c", "full_page_writes=off", "-c", "synchronous_commit=off"]
    return argv, _pg_user().pw_name


def _wait_postgres(host, rec, timeout=15.0):
    """Return once the cluster accepts connections, or the process
    has died (ps will then show it exited)."""
    pg = rec["pg"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [PG_BIN + "/pg_isready", "-q", "-h", pg["host"], "-p",
             str(pg["port"]), "-U", pg["user"], "-d", "postgres"],
            capture_output=True).returncode == 0
        if ready:
            return True
        proc = host.procs().get(rec["proc"])
        if not proc or proc.get("state") != "running":
            return False
        time.sleep(0.05)
    return False


def exec_env(rec):
    """Environment for `docker exec` in this container.  For postgres
    containers PGHOST and PGPORT point at the real cluster's local
    socket, so psql and pg_dump inside "the container" reach it as in
    the image, trusted, without a password; PGUSER stays unset, so a
    missing -U fails as root does in the real image."""
    env = rec.env_dict()
    if rec["kind"] == "postgres" and rec.get("pg"):
        env["PGHOST"] = rec["pg"].get("socket") or rec["pg"]["host"]
        env["PGPORT"] = str(rec["pg"]["port"])
        env["PATH"] = PG_BIN + ":" + env.get("PATH", DEFAULT_PATH)
    env.setdefault("PATH", DEFAULT_PATH)
    env.setdefault("HOSTNAME", rec["id"][:12])
    env.setdefault("HOME", "/root")
    return env


def pg_datadir(host, rec):
    """Where a postgres container's cluster lives: named after the
    volume mounted at its data directory, so it survives down and
    recreation as the volume would, else after the container."""
    return os.path.join(host.pgdir, rec.get("pg_volume") or rec["name"])


def remove_pg_data(host, rec):
    """Delete a postgres container's cluster (down -v)."""
    shutil.rmtree(pg_datadir(host, rec), ignore_errors=True)


def fault_exit(run, host_name, container, code):
    """Fault injection for sandboxctl (and `docker __sandbox-exit`):
    make `container` on `host_name` exit with status `code`."""
    host = Host({"MKP_SANDBOX_RUN": run, "MKP_SANDBOX_HOST": host_name})
    with host.lock():
        return inject_exit(host, require_record(host, container), code)
