"""hetzner.py: a fake Hetzner Cloud API under /v1.

It follows FACTS.md section 1 and the official OpenAPI excerpt:
bearer tokens, the {"error": {code, message, details}} envelope and
the official status/code table, RateLimit-* headers on every reply,
meta.pagination plus a Link header on lists, label selectors, and
servers that boot through actions that take real (configurable)
time.  Server objects carry no "datacenter": Hetzner removed it on
2026-07-01.

Config keys (all optional):
  token                  the project's API token
  readonly_tokens        tokens that may only GET (401 token_readonly)
  action_seconds         how long an action runs before success (2)
  boot_seconds           starting -> running after creation (3)
  rate_limit             requests per hour (3600), refilling gradually
  project_keys           SSH keys already in the project:
                         [{"name", "public_key", "labels"}]
  unavailable_locations  names that answer 412 resource_unavailable
  action_errors          {command: {"code", "message"}}: actions of
                         that command end in status "error"

A created server asks hooks.server_created() for its IPv4 address,
calls hooks.server_running() once its status first reaches
"running" (the create action's action_seconds plus boot_seconds
later; never for a server created with start_after_create false),
and a deleted one calls hooks.server_deleted() once its action is
done.  Hooks run under the state lock: they must not wait for other
threads that call this fake.
"""

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
import string
import struct
import sys
import threading
import time
import traceback
import urllib.parse

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    __package__ = "fakes"

from . import common
from . import hetzner_catalog as catalog
from . import hetzner_labels as labels
from .common import ApiError, Reply, route, rfc3339

# The code and text a fault answers with when it names only a status.
# Each code is one that FACTS 1.3's official table gives that status,
# the first where it gives several, except for 409 and 422: there the
# code of a failure on Hetzner's side (conflict, service_error) is
# taken rather than one that blames the request (uniqueness_error,
# invalid_input), since an injected fault stands for the API failing.
# 502 bad_gateway is not in the table: hcloud-go knows the code and
# retries it (FACTS 1.3 notes).  The texts paraphrase the table's
# meaning column.
STATUS_CODES = {
    400: ("json_error", "invalid JSON input in your request"),
    401: ("unauthorized", "unable to authenticate"),
    403: ("forbidden", "insufficient permissions for this request"),
    404: ("not_found", "entity not found"),
    405: ("method_not_allowed", "the request method is not allowed"),
    409: ("conflict", "the resource has changed during the request, "
          "please retry"),
    410: ("deprecated_api_endpoint", "API functionality was removed"),
    412: ("resource_unavailable", "the requested resource is currently "
          "unavailable"),
    422: ("service_error", "error within a service"),
    423: ("locked", "the item you are trying to access is locked"),
    429: ("rate_limit_exceeded", "too many requests"),
    500: ("server_error", "error within the API backend"),
    502: ("bad_gateway", "request could not be answered by the API "
          "backend, please retry"),
    503: ("unavailable", "service is currently not available"),
    504: ("timeout", "the request could not be answered in time, "
          "please retry"),
}

USER_DATA_MAX = 32 * 1024
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_SERVER_STATUSES = ("running", "initializing", "starting", "stopping",
                    "off", "deleting", "migrating", "rebuilding",
                    "unknown")


class HostHooks:
    """What the fake asks its owner when servers come and go.

    This default hands out 127.0.0.10, .11, ... and does nothing
    else; the sandbox supervisor replaces it with one that starts a
    host (sshd, cloud-init stand-in) at that address.
    """

    def __init__(self, first=10):
        self._next = first
        self._lock = threading.Lock()

    def server_created(self, server_id, name, public_keys, user_data):
        """Return the IPv4 address for public_net.ipv4.ip."""
        with self._lock:
            if self._next > 254:
                raise ValueError("no loopback addresses left")
            ip = "127.0.0.%d" % self._next
            self._next += 1
        return ip

    def server_running(self, server_id, since):
        """The server has been running since the UNIX time since: its
        host may boot (answer SSH) from now on."""

    def server_deleted(self, server_id):
        """The server is gone; its host may be stopped."""


def invalid_input(problems):
    """422 invalid_input for [(field, message), ...], as the spec shows.

    The message names the first field; details.fields names them all.
    """
    fields = {}
    for field, message in problems:
        fields.setdefault(field, []).append(message)
    first, msgs = next(iter(fields.items()))
    return ApiError(422, "invalid_input",
                    "invalid input in field '%s': %s" % (first, msgs[0]),
                    {"fields": [{"name": f, "messages": m}
                                for f, m in fields.items()]})


def _need_object(body):
    """422 unless the request body is a JSON object."""
    if not isinstance(body, dict):
        raise invalid_input([("body", "must be a JSON object")])


def not_found(kind):
    """404 not_found for a missing kind ("server", "action"...)."""
    return ApiError(404, "not_found", "%s not found" % kind)


def fingerprint(public_key):
    """The MD5 colon-hex fingerprint Hetzner gives an OpenSSH key.

    It is the MD5 of the decoded key blob, whose first field must
    name the same key type as the text.  ValueError if malformed.
    """
    parts = public_key.split() if isinstance(public_key, str) else []
    if len(parts) < 2:
        raise ValueError("invalid public key")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        size = struct.unpack(">I", blob[:4])[0]
        kind = blob[4:4 + size].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        raise ValueError("invalid public key")
    if kind != parts[0] or size + 4 >= len(blob):
        raise ValueError("invalid public key")
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def _password():
    """A root password like the ones Hetzner mails: 20 characters."""
    chars = string.ascii_letters + string.digits
    return "".join(secrets.choice(chars) for _ in range(20))


class HetznerFake(common.Fake):
    """The fake Hetzner Cloud API; see the module docstring."""

    name = "hetzner"
    api = "Hetzner Cloud API v1 (mkprov sandbox fake)"
    prefix = "/v1"
    json_indent = 2
    defaults = {"token": "sandbox-hetzner-token", "readonly_tokens": [],
                "action_seconds": 2.0, "boot_seconds": 3.0,
                "rate_limit": 3600, "project_keys": [],
                "unavailable_locations": [], "action_errors": {}}

    def __init__(self, rundir, config, hooks=None):
        super().__init__(rundir, config, hooks or HostHooks())
        self.servers = {}
        self.server_meta = {}
        self.actions = {}
        self.running = {}
        self.ssh_keys = {}
        self.next_id = {"server": 42000001, "action": 310000001,
                        "ssh_key": 21000001, "primary_ip": 80000001}
        self.ordinal = 0
        for key in self.config["project_keys"]:
            self._create_ssh_key(key)

    def _new_id(self, kind):
        """The next id of kind: ids are ints, never reused."""
        value = self.next_id[kind]
        self.next_id[kind] += 1
        return value

    # -- the API's words ----------------------------------------------

    def make_budget(self):
        return common.Budget(self.config["rate_limit"], 3600, "gradual")

    def rate_headers(self, now):
        return {"RateLimit-Limit": self.budget.limit,
                "RateLimit-Remaining": self.budget.remaining(now),
                "RateLimit-Reset": int(-(-self.budget.full_at(now) // 1))}

    def too_many(self, now):
        return ApiError(429, "rate_limit_exceeded",
                        "limit of %d requests per hour reached"
                        % self.budget.limit)

    def fault_error(self, fault):
        code, message = STATUS_CODES.get(fault.status,
                                         ("unknown_error", "fault"))
        return ApiError(fault.status, fault.code or code,
                        fault.message or message)

    def authenticate(self, req):
        token = req.bearer()
        readonly = self.config["readonly_tokens"]
        if not token or token not in [self.config["token"]] + readonly:
            raise ApiError(401, "unauthorized", "unable to authenticate")
        if token in readonly and req.method != "GET":
            raise ApiError(401, "token_readonly",
                           "the token is only allowed to perform GET "
                           "requests")

    def no_route(self, req):
        return ApiError(404, "not_found", "not found")

    def wrong_method(self, req, allowed):
        return ApiError(405, "method_not_allowed",
                        "the request method is not allowed",
                        headers={"Allow": ", ".join(allowed)})

    def bad_json(self, req):
        return ApiError(400, "json_error", "invalid JSON input")

    def render_error(self, err, req):
        return Reply(err.status, {"error": {"code": err.code,
                                            "message": err.message,
                                            "details": err.details}})

    def extra_headers(self, req):
        return {"X-Correlation-Id": common.hex_id(8)}

    def dump_state(self):
        return {"servers": list(self.servers.values()),
                "actions": [a["obj"] for a in self.actions.values()],
                "ssh_keys": list(self.ssh_keys.values()),
                "budget": self.budget.view(time.time())}

    # -- time ---------------------------------------------------------

    def tick(self, now):
        """Finish due actions, move progress and server status on."""
        for aid in list(self.running):
            act = self.actions[aid]
            elapsed = now - act["start"]
            if elapsed >= act["duration"]:
                self._finish(act)
            else:
                act["obj"]["progress"] = int(100 * elapsed
                                             / act["duration"])
        for sid, meta in self.server_meta.items():
            status = self._status(meta, now)
            self.servers[sid]["status"] = status
            if status == "running" and not meta["announced"]:
                meta["announced"] = True
                self._tell("server_running", sid, meta["running"])

    def _tell(self, hook, *args):
        """Call a host hook; its failure is printed, never raised, so
        that the API's state moves on whatever the owner does."""
        try:
            getattr(self.hooks, hook)(*args)
        except Exception:
            traceback.print_exc()

    def _status(self, meta, now):
        """A server's status at time now, from its timeline."""
        if meta["deleting"]:
            return "deleting"
        if now < meta["ready"]:
            return "initializing"
        if not meta["start"]:
            return "off"
        return "starting" if now < meta["running"] else "running"

    def _new_action(self, command, resources, duration, then=None):
        """Start an action; then(action) runs once it succeeds.

        Whether it will fail (config action_errors) is fixed now.
        """
        aid = self._new_id("action")
        now = time.time()
        obj = {"id": aid, "command": command, "status": "running",
               "progress": 0, "started": rfc3339(now), "finished": None,
               "resources": resources, "error": None}
        failure = self.config["action_errors"].get(command)
        self.actions[aid] = {"obj": obj, "start": now,
                             "duration": max(0.0, float(duration)),
                             "then": then, "failure": failure}
        self.running[aid] = True
        return obj

    def _finish(self, act):
        """End a running action: success, or the configured error."""
        obj = act["obj"]
        del self.running[obj["id"]]
        obj["finished"] = rfc3339(act["start"] + act["duration"])
        failure = act["failure"]
        if failure:
            obj["status"] = "error"
            obj["error"] = {"code": failure.get("code", "action_failed"),
                            "message": failure.get("message",
                                                   "Action failed")}
            return
        obj["status"], obj["progress"] = "success", 100
        if act["then"]:
            act["then"](obj)

    # -- lists --------------------------------------------------------

    def _int_arg(self, req, name, default):
        """A positive integer query parameter, or 422."""
        text = req.arg(name)
        if text is None or text == "":
            return default
        if not text.isdigit() or int(text) < 1:
            raise invalid_input([(name, "must be a positive integer")])
        return int(text)

    def _selector(self, req):
        """The parsed label_selector, or 422 invalid_input."""
        try:
            return labels.parse_selector(req.arg("label_selector", ""))
        except ValueError as e:
            raise invalid_input([("label_selector", str(e))])

    def _sort(self, req, items, allowed):
        """items sorted by the repeatable sort=field[:asc|:desc]."""
        keys = req.args("sort")
        for spec in keys:
            field, _, way = spec.partition(":")
            if field not in allowed or way not in ("", "asc", "desc"):
                raise invalid_input([("sort", "invalid sort '%s'"
                                      % spec)])
        for spec in reversed(keys):
            field, _, way = spec.partition(":")
            items = sorted(items, key=lambda o: o[field],
                           reverse=(way == "desc"))
        return items

    def _link(self, req, page, per_page):
        """One Link header URL: this request at another page."""
        query = [(k, v) for k, vs in req.query.items()
                 for v in vs if k not in ("page", "per_page")]
        query += [("page", page), ("per_page", per_page)]
        return "<https://%s:%d%s?%s>" % (
            self.host, self.port, req.path,
            urllib.parse.urlencode(query))

    def _listing(self, req, key, items):
        """A paginated list reply: meta.pagination and Link header."""
        page = self._int_arg(req, "page", 1)
        per_page = min(50, self._int_arg(req, "per_page", 25))
        chunk, last = common.paginate(items, page, per_page)
        prev_page = page - 1 if page > 1 else None
        next_page = page + 1 if page < last else None
        links = []
        for rel, num in (("prev", prev_page), ("next", next_page),
                         ("last", last)):
            if num:
                links.append('%s; rel="%s"'
                             % (self._link(req, num, per_page), rel))
        meta = {"pagination": {"page": page, "per_page": per_page,
                               "previous_page": prev_page,
                               "next_page": next_page, "last_page": last,
                               "total_entries": len(items)}}
        return Reply(200, {key: chunk, "meta": meta},
                     {"Link": ", ".join(links)})

    # -- servers ------------------------------------------------------

    @route("GET", "/v1/servers")
    def list_servers(self, req):
        """GET /servers: name, label_selector, status, sort, paging."""
        terms = self._selector(req)
        wanted = req.args("status")
        for status in wanted:
            if status not in _SERVER_STATUSES:
                raise invalid_input([("status", "invalid status '%s'"
                                      % status)])
        name = req.arg("name")
        found = [s for s in self.servers.values()
                 if (name is None or s["name"] == name)
                 and (not wanted or s["status"] in wanted)
                 and labels.selector_matches(terms, s["labels"])]
        found = self._sort(req, found, ("id", "name", "created"))
        return self._listing(req, "servers", found)

    @route("POST", "/v1/servers")
    def post_server(self, req):
        """POST /servers: 201 with server, action and next_actions."""
        return Reply(201, self._create_server(self.body_json(req)))

    def create_server(self, body, booted=False, age_seconds=0.0):
        """Create a server as POST /servers would; the 201 body.

        For seeding (the previous production server).  booted=True
        skips the boot: the server is running, its actions are done,
        and it was created age_seconds ago.  Raises ApiError with the
        API's status and code when body is refused.
        """
        with self.lock:
            now = time.time()
            self.tick(now)
            created = self._create_server(body)
            if booted:
                self._age(created["server"]["id"], now, age_seconds)
            reply = Reply(201, created)
            reply.encode(None, self.content_type)
        return json.loads(reply.data)

    def _age(self, sid, now, age):
        """Move a new server's whole timeline back by age seconds (at
        least far enough for it to run now): its creation, its actions
        and its boot keep their order and durations, so "created" is
        its create action's "started" and each action's "finished"
        its start plus its duration, as for a server made back then."""
        meta = self.server_meta[sid]
        shift = max(float(age), meta["running"] - now)
        meta["ready"] -= shift
        meta["running"] -= shift
        for aid in list(self.running):
            act = self.actions[aid]
            if sid in [r["id"] for r in act["obj"]["resources"]]:
                act["start"] -= shift
                act["obj"]["started"] = rfc3339(act["start"])
                if act["obj"]["command"] == "create_server":
                    self.servers[sid]["created"] = act["obj"]["started"]
        self.tick(now)

    def _create_server(self, body):
        """Validate, place and create a server; the 201 body."""
        req = self._check_create(body)
        if req["location"]["name"] in self.config["unavailable_locations"]:
            raise ApiError(412, "resource_unavailable",
                           "server location disabled", {})
        if any(s["name"] == req["name"] for s in self.servers.values()):
            raise ApiError(409, "uniqueness_error",
                           "server name is already used",
                           {"fields": [{"name": "name"}]})
        sid = self._new_id("server")
        try:
            ip = self.hooks.server_created(
                sid, req["name"], [k["public_key"] for k in req["keys"]],
                req["user_data"])
        except Exception:
            traceback.print_exc()
            raise ApiError(500, "server_error",
                           "error within the API backend")
        server = self._server_object(sid, req, ip)
        return self._boot(server, req)

    def _boot(self, server, req):
        """Record server and start its create (and start) actions."""
        sid = server["id"]
        now = time.time()
        ready = now + float(self.config["action_seconds"])
        running = ready + float(self.config["boot_seconds"])
        self.servers[sid] = server
        self.server_meta[sid] = {"ready": ready, "running": running,
                                 "start": req["start"],
                                 "deleting": False, "announced": False}
        res = [{"id": sid, "type": "server"}]
        action = self._new_action("create_server", res, ready - now)
        nexts = []
        if req["start"]:
            nexts.append(self._new_action("start_server", res,
                                          running - now))
        password = None if req["keys"] else _password()
        return {"server": server, "action": action,
                "next_actions": nexts, "root_password": password}

    def _check_create(self, body):
        """The create request, checked and resolved; 422 otherwise."""
        _need_object(body)
        problems = []
        out = {"name": body.get("name")}
        if not isinstance(out["name"], str) or not _HOSTNAME.match(
                out["name"]):
            problems.append(("name", "must be a valid hostname "
                             "(RFC 1123)"))
        if "datacenter" in body:
            problems.append(("datacenter", "was removed, use location"))
        for kind in ("server_type", "image"):
            out[kind] = self._lookup(kind, body.get(kind), problems)
        out["location"] = self._place(body.get("location"),
                                      out["server_type"], problems)
        out["keys"] = self._resolve_keys(body.get("ssh_keys", []),
                                         problems)
        out["user_data"] = self._check_user_data(body.get("user_data"),
                                                 problems)
        out["labels"] = body.get("labels", {})
        for why in labels.label_problems(out["labels"]):
            problems.append(("labels", why))
        out["start"] = body.get("start_after_create", True)
        if not isinstance(out["start"], bool):
            problems.append(("start_after_create", "must be a boolean"))
        out["net"] = self._check_public_net(body.get("public_net"),
                                            problems)
        if problems:
            raise invalid_input(problems)
        return out

    def _lookup(self, kind, ref, problems):
        """A catalog entry by id or name; notes a problem if unknown."""
        if ref is None:
            problems.append((kind, "is required"))
            return None
        found = catalog.find(kind, ref)
        if found is None:
            problems.append((kind, "%s '%s' not found"
                             % (kind.replace("_", " "), ref)))
        return found

    def _place(self, ref, stype, problems):
        """The location: as asked, or the first where stype is sold."""
        if ref is None:
            if stype is None:
                return None
            names = [loc["name"] for loc in stype["locations"]
                     if loc["available"] and loc["name"]
                     not in self.config["unavailable_locations"]]
            names = names or [stype["locations"][0]["name"]]
            return catalog.location(names[0])
        loc = self._lookup("location", ref, problems)
        if loc and stype and loc["name"] not in [
                x["name"] for x in stype["locations"] if x["available"]]:
            problems.append(("location",
                             "unsupported location for server type"))
        return loc

    def _resolve_keys(self, refs, problems):
        """SSH keys by id (int or digits) or name; notes unknown ones."""
        if not isinstance(refs, list):
            problems.append(("ssh_keys", "must be an array"))
            return []
        keys = []
        for ref in refs:
            key = None
            for k in self.ssh_keys.values():
                if ref == k["name"] or str(ref) == str(k["id"]):
                    key = k
            if key is None or isinstance(ref, bool):
                problems.append(("ssh_keys", "ssh key '%s' not found"
                                 % ref))
            elif key not in keys:
                keys.append(key)
        return keys

    def _check_user_data(self, data, problems):
        """user_data: a string of at most 32 KiB, or None."""
        if data is None:
            return None
        if not isinstance(data, str):
            problems.append(("user_data", "must be a string"))
        elif len(data.encode("utf-8")) > USER_DATA_MAX:
            problems.append(("user_data", "is too long (maximum is "
                             "32768 bytes)"))
        return data

    def _check_public_net(self, net, problems):
        """public_net with its defaults; primary IPs are not faked."""
        out = {"enable_ipv4": True, "enable_ipv6": True}
        if net is None:
            return out
        if not isinstance(net, dict):
            problems.append(("public_net", "must be an object"))
            return out
        for key in ("enable_ipv4", "enable_ipv6"):
            out[key] = net.get(key, True)
            if not isinstance(out[key], bool):
                problems.append(("public_net.%s" % key,
                                 "must be a boolean"))
        for key in ("ipv4", "ipv6"):
            if net.get(key) is not None:
                problems.append(("public_net.%s" % key,
                                 "primary IP %s not found" % net[key]))
        return out

    def _server_object(self, sid, req, ip):
        """A Server object with every key the spec requires."""
        self.ordinal += 1
        stype, loc = req["server_type"], req["location"]
        traffic = [p["included_traffic"] for p in stype["prices"]
                   if p["location"] == loc["name"]]
        ipv4 = ipv6 = None
        if req["net"]["enable_ipv4"]:
            rev = ".".join(reversed(ip.split(".")))
            ipv4 = {"id": self._new_id("primary_ip"), "ip": ip,
                    "blocked": False,
                    "dns_ptr": "static.%s.clients.your-server.de" % rev}
        if req["net"]["enable_ipv6"]:
            ipv6 = {"id": self._new_id("primary_ip"),
                    "ip": "2001:db8:%x::/64" % self.ordinal,
                    "blocked": False, "dns_ptr": []}
        return {"id": sid, "name": req["name"], "status": "initializing",
                "created": rfc3339(),
                "public_net": {"ipv4": ipv4, "ipv6": ipv6,
                               "floating_ips": [], "firewalls": []},
                "private_net": [], "server_type": stype,
                "location": loc, "image": req["image"], "iso": None,
                "rescue_enabled": False, "locked": False,
                "backup_window": None, "outgoing_traffic": 0,
                "ingoing_traffic": 0,
                "included_traffic": traffic[0] if traffic else None,
                "protection": {"delete": False, "rebuild": False},
                "labels": dict(req["labels"]), "volumes": [],
                "load_balancers": [], "primary_disk_size": stype["disk"],
                "placement_group": None}

    def _server(self, req):
        """The server named by the {id} in the path, or 404."""
        server = self.servers.get(int(req.params["id"]))
        if server is None:
            raise not_found("server")
        return server

    @route("GET", "/v1/servers/{id:int}")
    def get_server(self, req):
        """GET /servers/{id}."""
        return Reply(200, {"server": self._server(req)})

    @route("PUT", "/v1/servers/{id:int}")
    def put_server(self, req):
        """PUT /servers/{id}: a new name and/or labels."""
        server = self._server(req)
        self._update(server, self.body_json(req), self.servers,
                     "server name is already used", _HOSTNAME)
        return Reply(200, {"server": server})

    def _update(self, obj, body, table, taken, name_rule):
        """Apply an update body {name, labels} to obj, checked."""
        _need_object(body)
        problems = []
        name = body.get("name", obj["name"])
        if not isinstance(name, str) or not name_rule.match(name):
            problems.append(("name", "is invalid"))
        new_labels = body.get("labels", obj["labels"])
        problems += [("labels", why)
                     for why in labels.label_problems(new_labels)]
        if problems:
            raise invalid_input(problems)
        if any(o["name"] == name and o["id"] != obj["id"]
               for o in table.values()):
            raise ApiError(409, "uniqueness_error", taken,
                           {"fields": [{"name": "name"}]})
        obj["name"], obj["labels"] = name, dict(new_labels)

    @route("DELETE", "/v1/servers/{id:int}")
    def delete_server(self, req):
        """DELETE /servers/{id}: an action; the server goes when done."""
        server = self._server(req)
        sid = server["id"]
        if server["protection"]["delete"]:
            raise ApiError(423, "protected",
                           "server deletion is protected")
        if self.server_meta[sid]["deleting"]:
            raise ApiError(423, "locked", "server is being deleted")
        self.server_meta[sid]["deleting"] = True
        server["status"] = "deleting"
        action = self._new_action(
            "delete_server", [{"id": sid, "type": "server"}],
            self.config["action_seconds"],
            then=lambda act: self._forget_server(sid))
        return Reply(200, {"action": action})

    def _forget_server(self, sid):
        """The delete action is done: drop the server, tell the hooks."""
        self.servers.pop(sid, None)
        self.server_meta.pop(sid, None)
        self._tell("server_deleted", sid)

    @route("POST", "/v1/servers/{id:int}/actions/change_protection")
    def change_protection(self, req):
        """POST .../change_protection {delete, rebuild}: 201 action."""
        server = self._server(req)
        body = self.body_json(req)
        _need_object(body)
        given = {k: body[k] for k in ("delete", "rebuild") if k in body}
        bad = [(k, "must be a boolean") for k, v in given.items()
               if not isinstance(v, bool)]
        if bad or not given:
            raise invalid_input(bad or [("delete", "is required")])
        server["protection"].update(given)
        action = self._new_action(
            "change_protection", [{"id": server["id"], "type": "server"}],
            self.config["action_seconds"])
        return Reply(201, {"action": action})

    @route("GET", "/v1/servers/{id:int}/actions/{action_id:int}")
    def get_server_action(self, req):
        """GET /servers/{id}/actions/{action_id}: only its own."""
        act = self.actions.get(int(req.params["action_id"]))
        sid = int(req.params["id"])
        if act is None or sid not in [r["id"] for r in
                                      act["obj"]["resources"]]:
            raise not_found("action")
        return Reply(200, {"action": act["obj"]})

    # -- actions ------------------------------------------------------

    @route("GET", "/v1/actions/{id:int}")
    def get_action(self, req):
        """GET /actions/{id}."""
        act = self.actions.get(int(req.params["id"]))
        if act is None:
            raise not_found("action")
        return Reply(200, {"action": act["obj"]})

    @route("GET", "/v1/actions")
    def list_actions(self, req):
        """GET /actions?id=..: listing all was removed in 2025."""
        ids = req.args("id")
        if not ids:
            raise invalid_input([("id", "is required")])
        if not all(i.isdigit() for i in ids):
            raise invalid_input([("id", "must be an integer")])
        found = [self.actions[int(i)]["obj"] for i in ids
                 if int(i) in self.actions]
        return Reply(200, {"actions": found})

    # -- SSH keys -----------------------------------------------------

    @route("GET", "/v1/ssh_keys")
    def list_ssh_keys(self, req):
        """GET /ssh_keys: name, fingerprint, label_selector, sort."""
        terms = self._selector(req)
        name, fpr = req.arg("name"), req.arg("fingerprint")
        found = [k for k in self.ssh_keys.values()
                 if (name is None or k["name"] == name)
                 and (fpr is None or k["fingerprint"] == fpr)
                 and labels.selector_matches(terms, k["labels"])]
        found = self._sort(req, found, ("id", "name"))
        return self._listing(req, "ssh_keys", found)

    @route("POST", "/v1/ssh_keys")
    def post_ssh_key(self, req):
        """POST /ssh_keys {name, public_key, labels}: 201."""
        return Reply(201, {"ssh_key": self._create_ssh_key(
            self.body_json(req))})

    def _create_ssh_key(self, body):
        """Check and store an SSH key; 409 on a taken name or key."""
        _need_object(body)
        problems, fpr = [], None
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(("name", "is required"))
        try:
            fpr = fingerprint(body.get("public_key"))
        except ValueError as e:
            problems.append(("public_key", str(e)))
        key_labels = body.get("labels", {})
        problems += [("labels", why)
                     for why in labels.label_problems(key_labels)]
        if problems:
            raise invalid_input(problems)
        for key in self.ssh_keys.values():
            if key["fingerprint"] == fpr:
                raise ApiError(409, "uniqueness_error",
                               "SSH key with the same fingerprint "
                               "already exists",
                               {"fields": [{"name": "public_key"}]})
            if key["name"] == name:
                raise ApiError(409, "uniqueness_error",
                               "SSH key name is already used",
                               {"fields": [{"name": "name"}]})
        kid = self._new_id("ssh_key")
        self.ssh_keys[kid] = {"id": kid, "name": name, "fingerprint": fpr,
                              "public_key": body["public_key"].strip(),
                              "labels": dict(key_labels),
                              "created": rfc3339()}
        return self.ssh_keys[kid]

    def _ssh_key(self, req):
        """The SSH key named by {id} in the path, or 404."""
        key = self.ssh_keys.get(int(req.params["id"]))
        if key is None:
            raise not_found("SSH key")
        return key

    @route("GET", "/v1/ssh_keys/{id:int}")
    def get_ssh_key(self, req):
        """GET /ssh_keys/{id}."""
        return Reply(200, {"ssh_key": self._ssh_key(req)})

    @route("PUT", "/v1/ssh_keys/{id:int}")
    def put_ssh_key(self, req):
        """PUT /ssh_keys/{id}: a new name and/or labels."""
        key = self._ssh_key(req)
        self._update(key, self.body_json(req), self.ssh_keys,
                     "SSH key name is already used", re.compile(r"\S"))
        return Reply(200, {"ssh_key": key})

    @route("DELETE", "/v1/ssh_keys/{id:int}")
    def delete_ssh_key(self, req):
        """DELETE /ssh_keys/{id}: 204, no body."""
        del self.ssh_keys[self._ssh_key(req)["id"]]
        return Reply(204)

    # -- catalog ------------------------------------------------------

    @route("GET", "/v1/server_types")
    def list_server_types(self, req):
        """GET /server_types: name filter, paging."""
        name = req.arg("name")
        found = [t for t in catalog.server_types()
                 if name is None or t["name"] == name]
        return self._listing(req, "server_types", found)

    @route("GET", "/v1/locations")
    def list_locations(self, req):
        """GET /locations: name filter, sort, paging."""
        name = req.arg("name")
        found = [loc for loc in catalog.locations()
                 if name is None or loc["name"] == name]
        found = self._sort(req, found, ("id", "name"))
        return self._listing(req, "locations", found)


if __name__ == "__main__":
    sys.exit(common.main(HetznerFake))
