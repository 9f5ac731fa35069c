"""cloudflare.py: a fake Cloudflare API v4 and DNS-over-HTTPS JSON.

The API lives under /client/v4 and follows FACTS.md section 2: the
{success, errors, messages, result[, result_info]} envelope, zones
looked up by name, DNS records with Cloudflare's fields and error
codes, cache purges (recorded in the state dump), token checks and a
1200-per-5-minutes budget.  /dns-query on the same server answers
DoH JSON from the fake's own zones: DNS-only records give their
content, proxied ones the edge addresses, as the real proxy does.

Authentication (FACTS 2.5 and public captures of the live API):
  no Authorization header        400, 9106 "Missing X-Auth-Key,
                                 X-Auth-Email or Authorization headers"
  not "Bearer <token>"           400, 6003 with error_chain 6111
  unknown token                  403, 9109 "Invalid access token"
                                 (on /user/tokens/verify: 401, 1000)
  token not scoped to the zone   403, 10000 "Authentication error"
  zone-scoped token, GET /zones  403 (status guessed), 0 "Actor
  without name=                  'com.cloudflare.api.token.<id>'
                                 requires permission
                                 'com.cloudflare.api.account.zone.list'
                                 to list zones" (FACTS 2.2)

A real API token is usually scoped to the zones it edits, so that is
how the sandbox seeds its own; an account-wide token (config "token")
exists only when a test asks for one.

Config keys (all optional):
  token        an account-wide API token: every zone, and may list
               them all (none by default)
  tokens       {token: [zone names]}: tokens scoped to those zones
  rate_limit   requests per 5 minutes (1200); past it, 429 code 971
  edge_ips     what proxied names resolve to for A (["104.16.0.1"])
  edge_ips6    ... and for AAAA (["2606:4700::6810:1"])
  zones        [{"name", "records": [{type, name, content, ...}]}]
  account      {"id", "name"} owning the zones
"""

import ipaddress
import os
import re
import sys
import time

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    __package__ = "fakes"

from . import common
from .common import ApiError, Reply, route, rfc3339

WINDOW = 300
ID_RE = re.compile(r"^[0-9a-f]{32}$")
RECORD_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15,
                "TXT": 16, "AAAA": 28, "CAA": 257, "ANY": 255}
PROXIABLE = ("A", "AAAA", "CNAME")
AUTO_TTL = 300
_HOST = re.compile(r"^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}"
                   r"[A-Za-z0-9])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}"
                   r"[A-Za-z0-9])?$")
ROOT_SOA = {"name": ".", "type": 6, "TTL": 86400,
            "data": "a.root-servers.net. nstld.verisign-grs.com. "
                    "2026010100 1800 900 604800 86400"}


def dns_error(code=None, message=None):
    """400 1004 "DNS Validation Error", with a chain entry if given."""
    chain = [{"code": code, "message": message}] if code else []
    return ApiError(400, 1004, "DNS Validation Error",
                    {"error_chain": chain})


def route_error(path):
    """7003 + 7000: an identifier that routes nowhere (FACTS 2.5)."""
    return ApiError(400, 7003, "Could not route to %s, perhaps your "
                    "object identifier is invalid?" % path,
                    {"more": [{"code": 7000,
                               "message": "No route for that URI"}]})


def _flag(value, what):
    """A DoH cd/do flag; the 400 text is the one FACTS 2.7 quotes."""
    if value in (None, "", "0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise ApiError(400, 0, "Invalid %s flag `%s`. Expected to be empty "
                   "or one of `0`, `false`, `1`, or `true`."
                   % (what, value), {"doh": True})


class CloudflareFake(common.Fake):
    """The fake Cloudflare API v4 + DoH; see the module docstring."""

    name = "cloudflare"
    api = "Cloudflare API v4 and DNS-over-HTTPS (mkprov sandbox fake)"
    prefix = "/client/v4"
    defaults = {"token": None, "tokens": {},
                "rate_limit": 1200, "edge_ips": ["104.16.0.1"],
                "edge_ips6": ["2606:4700::6810:1"], "zones": [],
                "account": {"id": "5a1d0b0c1e2f3a4b5c6d7e8f9a0b1c2d",
                            "name": "Sandbox account"}}

    def __init__(self, rundir, config, hooks=None):
        super().__init__(rundir, config, hooks)
        self.zones = {}
        self.records = {}
        self.purges = []
        for zone in self.config["zones"]:
            zid = self.add_zone(zone["name"])
            for rec in zone.get("records", []):
                self.add_record(zid, rec["type"], rec["name"],
                                rec["content"], rec.get("proxied", False),
                                rec.get("ttl", 1), rec.get("comment"))

    # -- seeding ------------------------------------------------------

    def add_zone(self, name):
        """Add an active zone called name; its 32-hex id."""
        with self.lock:
            zid = common.stable_hex("zone", name)
            now = rfc3339(frac=6)
            self.zones[zid] = {
                "id": zid, "name": name.lower(), "status": "active",
                "paused": False, "type": "full", "development_mode": 0,
                "name_servers": ["ada.ns.cloudflare.com",
                                 "bob.ns.cloudflare.com"],
                "original_name_servers": None,
                "original_registrar": None, "original_dnshost": None,
                "created_on": now, "modified_on": now,
                "activated_on": now,
                "meta": {"step": 2, "custom_certificate_quota": 0,
                         "page_rule_quota": 3, "phishing_detected": False},
                "owner": {"id": None, "type": "user", "email": None},
                "account": dict(self.config["account"]),
                "permissions": ["#dns_records:edit", "#dns_records:read",
                                "#cache_purge:edit", "#zone:read"],
                "plan": {"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
                         "name": "Free Website", "price": 0,
                         "currency": "USD", "frequency": "",
                         "is_subscribed": False, "can_subscribe": False,
                         "legacy_id": "free", "legacy_discount": False,
                         "externally_managed": False}}
            self.records.setdefault(zid, {})
            return zid

    def add_record(self, zone_id, type, name, content, proxied=False,
                   ttl=1, comment=None):
        """Add a record as POST .../dns_records would; the record.

        Raises ApiError when the API would refuse it.
        """
        body = {"type": type, "name": name, "content": content,
                "proxied": proxied, "ttl": ttl}
        if comment:
            body["comment"] = comment
        with self.lock:
            rec = self._store(self._zone(zone_id), body, None)
            return dict(rec)

    # -- the API's words ----------------------------------------------

    def make_budget(self):
        return common.Budget(self.config["rate_limit"], WINDOW, "window")

    def rate_exempt(self, req):
        return not req.path.startswith(self.prefix)

    def rate_headers(self, now):
        left = max(0, int(self.budget.full_at(now) - now))
        return {"Ratelimit": '"default";r=%d;t=%d'
                % (self.budget.remaining(now), left),
                "Ratelimit-Policy": '"default";q=%d;w=%d'
                % (self.budget.limit, WINDOW)}

    def too_many(self, now):
        wait = max(1, int(-(-(self.budget.full_at(now) - now) // 1)))
        return ApiError(429, 971, "Please wait and consider throttling "
                        "your request speed",
                        headers={"retry-after": str(wait)})

    def fault_error(self, fault):
        code = fault.code if fault.code is not None else fault.status
        try:
            code = int(code)
        except ValueError:
            pass
        return ApiError(fault.status, code,
                        fault.message or "Injected fault")

    def authenticate(self, req):
        value = req.headers.get("Authorization")
        if value is None:
            raise ApiError(400, 9106, "Missing X-Auth-Key, X-Auth-Email "
                           "or Authorization headers")
        parts = value.split()
        if len(parts) != 2:
            raise ApiError(400, 6003, "Invalid request headers",
                           {"error_chain": [
                               {"code": 6111, "message": "Invalid format "
                                "for Authorization header"}]})
        if parts[0] != "Bearer":
            # FACTS 2.4: a lower-case "bearer" was answered with 10000.
            raise ApiError(403, 10000, "Authentication error")
        req.token = parts[1]
        if self._token_zones(req.token) is False:
            if req.path == self.prefix + "/user/tokens/verify":
                raise ApiError(401, 1000, "Invalid API Token")
            raise ApiError(403, 9109, "Invalid access token")

    def _token_zones(self, token):
        """None for every zone, a list of zone names, False: unknown."""
        if self.config["token"] and token == self.config["token"]:
            return None
        return self.config["tokens"].get(token, False)

    def _token_id(self, token):
        """The id the API gives a token (verify, error messages)."""
        return common.stable_hex("token", token)

    def no_route(self, req):
        if not req.path.startswith(self.prefix):
            return ApiError(404, 0, "Not Found", {"doh": True})
        return ApiError(400, 7000, "No route for that URI")

    def wrong_method(self, req, allowed):
        return ApiError(405, 7001, "Method %s not available for that URI."
                        % req.method)

    def bad_json(self, req):
        return ApiError(400, 6007, "Malformed JSON in request body")

    def render_error(self, err, req):
        details = err.details or {}
        if details.get("doh"):
            return Reply(err.status, {"error": err.message},
                         ctype="application/dns-json")
        entry = {"code": err.code, "message": err.message}
        if details.get("error_chain"):
            entry["error_chain"] = details["error_chain"]
        return Reply(err.status, {"success": False,
                                  "errors": [entry] + details.get("more",
                                                                  []),
                                  "messages": [], "result": None})

    def extra_headers(self, req):
        return {"cf-ray": "%s-FRA" % common.hex_id(8)}

    def dump_state(self):
        return {"zones": list(self.zones.values()),
                "records": {z: list(r.values())
                            for z, r in self.records.items()},
                "purges": self.purges,
                "budget": self.budget.view(time.time())}

    # -- envelope and lookups -----------------------------------------

    def _ok(self, result, info=None):
        """A success envelope."""
        body = {"success": True, "errors": [], "messages": [],
                "result": result}
        if info is not None:
            body["result_info"] = info
        return Reply(200, body)

    def _page(self, req, items, default, maximum):
        """One page of items with its result_info."""
        nums = []
        for key, fallback in (("page", 1), ("per_page", default)):
            text = req.arg(key, str(fallback))
            if not text.isdigit() or int(text) < 1:
                raise ApiError(400, 1001, "Invalid %s: must be a "
                               "positive integer" % key)
            nums.append(int(text))
        page, per_page = nums[0], min(nums[1], maximum)
        chunk, last = common.paginate(items, page, per_page)
        return self._ok(chunk, {"page": page, "per_page": per_page,
                                "count": len(chunk),
                                "total_count": len(items),
                                "total_pages": last if items else 0})

    def _zone(self, zid, req=None):
        """The zone with id zid, checked against req's token if any."""
        zone = self.zones.get(zid)
        if zone is None:
            raise route_error("/client/v4/zones/%s" % zid)
        if req is not None:
            allowed = self._token_zones(req.token)
            if allowed is not None and zone["name"] not in allowed:
                raise ApiError(403, 10000, "Authentication error")
        return zone

    def _record(self, req):
        """The zone and the record named in the path."""
        zone = self._zone(req.params["zone"], req)
        rid = req.params["rid"]
        if not ID_RE.match(rid):
            raise route_error(req.path)
        rec = self.records[zone["id"]].get(rid)
        if rec is None:
            raise ApiError(404, 81044, "Record does not exist.")
        return zone, rec

    # -- zones and tokens ---------------------------------------------

    @route("GET", "/client/v4/zones")
    def list_zones(self, req):
        """GET /zones?name=: a token sees only its own zones.

        A zone-scoped token must name the zone (FACTS 2.2).  FACTS
        gives code 0 and the message but no HTTP status: 403 is a
        guess, the status Cloudflare gives other permission errors.
        """
        allowed = self._token_zones(req.token)
        name, status = req.arg("name"), req.arg("status")
        if allowed is not None and not name:
            raise ApiError(403, 0, "Actor 'com.cloudflare.api.token.%s' "
                           "requires permission 'com.cloudflare.api."
                           "account.zone.list' to list zones"
                           % self._token_id(req.token))
        found = [z for z in self.zones.values()
                 if (name is None or z["name"] == name.lower())
                 and (status is None or z["status"] == status)
                 and (allowed is None or z["name"] in allowed)]
        return self._page(req, found, 20, 50)

    @route("GET", "/client/v4/zones/{zone}")
    def get_zone(self, req):
        """GET /zones/{id}."""
        return self._ok(self._zone(req.params["zone"], req))

    @route("GET", "/client/v4/user/tokens/verify")
    def verify_token(self, req):
        """GET /user/tokens/verify: the token is valid and active."""
        reply = self._ok({"id": self._token_id(req.token),
                          "status": "active"})
        reply.body["messages"] = [{"code": 10000, "message": "This API "
                                   "Token is valid and active",
                                   "type": None}]
        return reply

    @route("POST", "/client/v4/zones/{zone}/purge_cache")
    def purge_cache(self, req):
        """POST /zones/{id}/purge_cache: recorded in the state dump."""
        zone = self._zone(req.params["zone"], req)
        body = self.body_json(req)
        kinds = ("files", "tags", "hosts", "prefixes")
        if not isinstance(body, dict) or not (
                body.get("purge_everything") is True
                or any(isinstance(body.get(k), list) for k in kinds)):
            raise ApiError(400, 1012, "Request must contain one of "
                           "\"purge_everything\", \"files\", \"tags\", "
                           "\"hosts\" or \"prefixes\"")
        self.purges.append({"zone_id": zone["id"], "time": rfc3339(),
                            "request": body})
        return self._ok({"id": zone["id"]})

    # -- DNS records --------------------------------------------------

    @route("GET", "/client/v4/zones/{zone}/dns_records")
    def list_records(self, req):
        """GET .../dns_records: type, name, content, proxied filters."""
        zone = self._zone(req.params["zone"], req)
        found = [r for r in self.records[zone["id"]].values()
                 if self._wanted(req, r)]
        return self._page(req, found, 100, 5000000)

    def _wanted(self, req, rec):
        """Whether rec passes the list filters of req."""
        checks = []
        if req.arg("type"):
            checks.append(rec["type"] == req.arg("type").upper())
        if req.arg("proxied") in ("true", "false"):
            checks.append(rec["proxied"] == (req.arg("proxied") == "true"))
        for field in ("name", "content"):
            for op in ("", ".exact", ".contains", ".startswith",
                       ".endswith"):
                want = req.arg(field + op)
                if want is not None:
                    checks.append(_match(op, rec[field], want, field))
        if req.arg("match") == "any":
            return not checks or any(checks)
        return all(checks)

    @route("POST", "/client/v4/zones/{zone}/dns_records")
    def post_record(self, req):
        """POST .../dns_records: 200 with the new record."""
        zone = self._zone(req.params["zone"], req)
        return self._ok(self._store(zone, self.body_json(req), None))

    @route("GET", "/client/v4/zones/{zone}/dns_records/{rid}")
    def get_record(self, req):
        """GET .../dns_records/{id}."""
        return self._ok(self._record(req)[1])

    @route("PUT", "/client/v4/zones/{zone}/dns_records/{rid}")
    def put_record(self, req):
        """PUT .../dns_records/{id}: overwrite the whole record."""
        zone, rec = self._record(req)
        return self._ok(self._store(zone, self.body_json(req), rec))

    @route("PATCH", "/client/v4/zones/{zone}/dns_records/{rid}")
    def patch_record(self, req):
        """PATCH .../dns_records/{id}: change the fields given."""
        zone, rec = self._record(req)
        body = self.body_json(req)
        if not isinstance(body, dict):
            raise dns_error()
        merged = {k: rec[k] for k in ("type", "name", "content",
                                      "proxied", "ttl", "tags")}
        merged["comment"] = rec.get("comment")
        merged.update(body)
        return self._ok(self._store(zone, merged, rec))

    @route("DELETE", "/client/v4/zones/{zone}/dns_records/{rid}")
    def delete_record(self, req):
        """DELETE .../dns_records/{id}: result is {"id": ...}."""
        zone, rec = self._record(req)
        del self.records[zone["id"]][rec["id"]]
        return self._ok({"id": rec["id"]})

    def _store(self, zone, body, old):
        """Check body, then create (old None) or replace old."""
        new = self._check_record(zone, body)
        self._check_unique(zone, new, old)
        now = rfc3339(frac=6)
        rid = old["id"] if old else common.hex_id()
        rec = {"id": rid, "name": new["name"], "type": new["type"],
               "content": new["content"],
               "proxiable": new["type"] in PROXIABLE,
               "proxied": new["proxied"], "ttl": new["ttl"],
               "settings": ({"ipv4_only": False, "ipv6_only": False}
                            if new["type"] in ("A", "AAAA") else {}),
               "meta": {"auto_added": False, "source": "primary"},
               "tags": new["tags"],
               "created_on": old["created_on"] if old else now,
               "modified_on": now}
        if new["comment"]:
            rec["comment"] = new["comment"]
            rec["comment_modified_on"] = now
        if new["tags"]:
            rec["tags_modified_on"] = now
        self.records[zone["id"]][rid] = rec
        return rec

    def _check_record(self, zone, body):
        """A record body, checked and normalised, or the API's 400."""
        if not isinstance(body, dict):
            raise dns_error()
        rtype = str(body.get("type") or "").upper()
        if rtype not in RECORD_TYPES or rtype in ("SOA", "ANY"):
            raise dns_error()
        name = self._full_name(zone, body.get("name"))
        content = _check_content(rtype, body.get("content"))
        proxied = body.get("proxied", False)
        if not isinstance(proxied, bool):
            raise dns_error()
        if proxied and rtype not in PROXIABLE:
            # Code and text as seen from the live API; not in FACTS.
            raise ApiError(400, 9004, "This record type cannot be "
                           "proxied.")
        ttl = _check_ttl(1 if body.get("ttl") is None else body["ttl"])
        tags = body.get("tags") or []
        comment = body.get("comment") or None
        if not isinstance(tags, list) or not isinstance(
                comment or "", str):
            raise dns_error()
        return {"type": rtype, "name": name, "content": content,
                "proxied": proxied, "ttl": 1 if proxied else ttl,
                "tags": list(tags), "comment": comment}

    def _full_name(self, zone, name):
        """name made absolute in zone ("@" is the apex), lower case."""
        if not isinstance(name, str) or not name.strip():
            raise dns_error(9007, "DNS record name is required")
        name = name.strip().rstrip(".").lower()
        if name == "@":
            return zone["name"]
        if name != zone["name"] and not name.endswith("." + zone["name"]):
            name = "%s.%s" % (name, zone["name"])
        if len(name) > 253 or not _HOST.match(name):
            raise dns_error(9007, "DNS record name is invalid")
        return name

    def _check_unique(self, zone, new, old):
        """81058 for an identical record, 81057 for a CNAME clash."""
        for rec in self.records[zone["id"]].values():
            if old is not None and rec["id"] == old["id"]:
                continue
            if rec["name"] != new["name"]:
                continue
            if rec["type"] == new["type"] and rec["content"] == (
                    new["content"]):
                raise ApiError(400, 81058, "An identical record already "
                               "exists.")
            if "CNAME" in (rec["type"], new["type"]):
                raise ApiError(400, 81057, "Record already exists.")

    # -- DNS over HTTPS -----------------------------------------------

    @route("GET", "/dns-query", auth=False)
    def dns_query(self, req):
        """GET /dns-query?name=&type=: DoH JSON, like 1.1.1.1's."""
        accept = req.headers.get("Accept", "")
        if "application/dns-json" not in accept and req.arg(
                "ct") != "application/dns-json":
            raise ApiError(400, 0, "Unsupported media type: use accept: "
                           "application/dns-json", {"doh": True})
        qname, qtype = _question(req)
        cd = _flag(req.arg("cd"), "CD")
        _flag(req.arg("do"), "DO")
        status, answer, authority = self._resolve(qname, qtype)
        body = {"Status": status, "TC": False, "RD": True, "RA": True,
                "AD": False, "CD": cd,
                "Question": [{"name": qname + ".", "type": qtype}]}
        if answer:
            body["Answer"] = answer
        if authority:
            body["Authority"] = authority
        return Reply(200, body, ctype="application/dns-json")

    def _zone_of(self, name):
        """The fake's zone that holds name (longest suffix), or None."""
        best = None
        for zone in self.zones.values():
            zname = zone["name"]
            if name == zname or name.endswith("." + zname):
                if best is None or len(zname) > len(best["name"]):
                    best = zone
        return best

    def _resolve(self, qname, qtype, depth=0):
        """(Status, Answer, Authority) for a question, CNAMEs chased."""
        zone = self._zone_of(qname)
        if zone is None:
            return 3, [], [ROOT_SOA]
        soa = [_soa(zone)]
        here = [r for r in self.records[zone["id"]].values()
                if r["name"] == qname]
        if not here and qname != zone["name"]:
            return 3, [], soa
        edge = self._edge_answer(qname, qtype, here)
        if edge is not None:
            return 0, edge, [] if edge else soa
        cname = [r for r in here if r["type"] == "CNAME"]
        if cname and qtype != 5 and depth < 8:
            target = cname[0]["content"].rstrip(".").lower()
            status, more, auth = self._resolve(target, qtype, depth + 1)
            return status, [_rr(cname[0], qtype=5)] + more, auth
        answer = [_rr(r) for r in here
                  if RECORD_TYPES[r["type"]] == qtype or qtype == 255]
        return 0, answer, [] if answer else soa

    def _edge_answer(self, qname, qtype, here):
        """Edge addresses for a proxied name; None if not proxied."""
        if not any(r["proxied"] for r in here) or qtype not in (1, 28):
            return None
        ips = self.config["edge_ips" if qtype == 1 else "edge_ips6"]
        return [{"name": qname + ".", "type": qtype, "TTL": AUTO_TTL,
                 "data": ip} for ip in ips]


def _match(op, have, want, field):
    """One name/content filter; names compare without case."""
    if field == "name":
        have, want = have.lower(), want.lower().rstrip(".")
    return {"": have == want, ".exact": have == want,
            ".contains": want in have, ".startswith": have.startswith(want),
            ".endswith": have.endswith(want)}[op]


def _check_content(rtype, content):
    """Record content for rtype, normalised; 1004 chains if bad.

    9005 and 9006 are FACTS 2.5's; 9000 for the other types is ours.
    """
    content = content.strip() if isinstance(content, str) else ""
    checks = {"A": (ipaddress.IPv4Address, 9005, "IPv4"),
              "AAAA": (ipaddress.IPv6Address, 9006, "IPv6")}
    if rtype in checks:
        parse, code, what = checks[rtype]
        try:
            return str(parse(content))
        except ValueError:
            raise dns_error(code, "Content for %s record is invalid. "
                            "Must be a valid %s address" % (rtype, what))
    host = rtype in ("CNAME", "NS", "MX")
    if not content or (host and not _HOST.match(content.rstrip("."))):
        raise dns_error(9000, "Content for %s record is invalid."
                        % rtype)
    return content.rstrip(".").lower() if host else content


def _check_ttl(ttl):
    """1 (automatic) or 60..86400 seconds (FACTS 2.3)."""
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not (
            ttl == 1 or 60 <= ttl <= 86400):
        # The code is UNCONFIRMED; the text is the SDK's description.
        raise dns_error(9021, "Invalid TTL. Must be between 60 and 86400 "
                        "seconds, or 1 for Automatic.")
    return ttl


def _question(req):
    """The DoH question as (name without dot, numeric type)."""
    name = (req.arg("name") or "").strip().rstrip(".").lower()
    if not name or len(name) > 253 or not _HOST.match(name):
        raise ApiError(400, 0, "Invalid name `%s`." % req.arg("name", ""),
                       {"doh": True})
    text = (req.arg("type") or "A").upper()
    if text.isdigit() and 1 <= int(text) <= 65535:
        return name, int(text)
    if text not in RECORD_TYPES:
        raise ApiError(400, 0, "Invalid type `%s`." % text, {"doh": True})
    return name, RECORD_TYPES[text]


def _soa(zone):
    """The zone's SOA as a DoH Authority entry."""
    return {"name": zone["name"] + ".", "type": 6, "TTL": 1800,
            "data": "%s. dns.cloudflare.com. 2351234567 10000 2400 "
                    "604800 1800" % zone["name_servers"][0]}


def _rr(rec, qtype=None):
    """A DNS-only record as a DoH Answer entry."""
    rtype = RECORD_TYPES[rec["type"]]
    data = rec["content"]
    if rec["type"] in ("CNAME", "NS", "MX"):
        data += "."
    if rec["type"] == "MX":
        data = "10 " + data
    if rec["type"] == "TXT" and not data.startswith('"'):
        data = '"%s"' % data
    ttl = AUTO_TTL if rec["ttl"] == 1 else rec["ttl"]
    return {"name": rec["name"] + ".", "type": qtype or rtype,
            "TTL": ttl, "data": data}


if __name__ == "__main__":
    sys.exit(common.main(CloudflareFake))
