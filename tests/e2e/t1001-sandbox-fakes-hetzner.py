#!/usr/bin/python3
"""t1001: the fake Hetzner Cloud API answers as the official spec says.

Every JSON response is checked against the schema the OpenAPI excerpt
gives for that path, method and status (with "datacenter" treated as
removed, as Hetzner did on 2026-07-01), and the create response
against the official example's key set.
"""

import hashlib
import os
import re
import sys
import threading
import time
from urllib.parse import quote

TOP = os.environ.get("MKP_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "sandbox"))
sys.dont_write_bytecode = True  # keep __pycache__ out of the tree

import taptest  # noqa: E402
from fakes import hetzner, schema, testing  # noqa: E402

TOKEN = "t1001-token"
SPEC = schema.load_spec(testing.reference(
    "hetzner-cloud-openapi-subset.json"))
REMOVED = ("datacenter",)


def official_codes():
    """{status: [codes]} from the official table quoted in FACTS 1.3."""
    with open(testing.reference("FACTS.md")) as f:
        text = f.read()
    section = text[text.index("### 1.3"):text.index("### 1.4")]
    table = {}
    for status, code in re.findall(r"(?m)^\| (\d{3}) \| `(\w+)` \|",
                                   section):
        table.setdefault(int(status), []).append(code)
    return table


class RecordingHooks(hetzner.HostHooks):
    """Host hooks that remember what the fake told them."""

    def __init__(self):
        super().__init__(first=100)
        self.created = []
        self.running = []
        self.deleted = []

    def server_created(self, server_id, name, public_keys, user_data):
        ip = super().server_created(server_id, name, public_keys,
                                    user_data)
        self.created.append((server_id, name, public_keys, user_data, ip))
        return ip

    def server_running(self, server_id, since):
        self.running.append((server_id, since))

    def server_deleted(self, server_id):
        self.deleted.append(server_id)

    def ran(self, server_id):
        """The since of each server_running call for server_id."""
        return [t for sid, t in self.running if sid == server_id]


class HetznerCase(testing.FakeCase):
    """Shared set-up: a fast fake (0.2 s actions) and spec checks."""

    fake_class = hetzner.HetznerFake
    token = TOKEN
    config = {"token": TOKEN, "action_seconds": 0.2, "boot_seconds": 0.2,
              "unavailable_locations": ["hel1"]}
    hooks = RecordingHooks()

    def call(self, method, path, body=None, status=200, **kw):
        """Call /v1 + path; check status and the spec's schema."""
        resp = self.api.request(method, "/v1" + path, body, **kw)
        data = self.assertOk(resp, status)
        self.assertIsNotNone(resp.header("X-Correlation-Id"))
        for name in ("RateLimit-Limit", "RateLimit-Remaining",
                     "RateLimit-Reset"):
            self.assertTrue(resp.header(name).isdigit(), name)
        if data is not None:
            sch = self._schema(path, method, status)
            self.assertEqual(schema.check(sch, data, removed=REMOVED), [])
        return data

    def error(self, method, path, status, code, body=None, **kw):
        """Call and expect the error envelope with status and code."""
        data = self.call(method, path, body, status, **kw)
        self.assertEqual(sorted(data["error"]),
                         ["code", "details", "message"])
        self.assertEqual(data["error"]["code"], code, data)
        return data["error"]

    @staticmethod
    def _schema(path, method, status):
        """The excerpt's schema for a concrete request.

        Paths outside the excerpt borrow one: errors the generic
        envelope, server actions the Action body of /actions/{id}.
        """
        parts = path.split("?")[0].strip("/").split("/")
        if len(parts) > 1 and parts[1].isdigit():
            parts[1] = "{id}"
        if len(parts) > 3 and parts[3].isdigit():
            parts[3] = "{action_id}"
        where = "/" + "/".join(parts)
        if where not in SPEC["paths"] or method.lower() not in SPEC[
                "paths"][where]:
            where, method = "/servers", "get"
            if status < 300:
                where, status = "/actions/{id}", 200
        return schema.response_schema(SPEC, where, method, status)

    def new_server(self, name, **extra):
        """Create a server; the 201 body."""
        body = {"name": name, "server_type": "cpx22",
                "image": "ubuntu-24.04", "location": "nbg1"}
        body.update(extra)
        return self.call("POST", "/servers", body, 201)

    def wait_action(self, action_id):
        """Poll GET /actions/{id} until it is no longer running."""
        def done():
            act = self.call("GET", "/actions/%d" % action_id)["action"]
            return act if act["status"] != "running" else None
        return self.wait_for(done, 5.0, 0.05)


class Catalog(HetznerCase):

    def test_tokens(self):
        """A missing or wrong token gets 401 unauthorized"""
        self.error("GET", "/servers", 401, "unauthorized", token=None)
        err = self.error("GET", "/servers", 401, "unauthorized",
                         token="nope")
        self.assertEqual(err["message"], "unable to authenticate")

    def test_server_types(self):
        """Server types include cx23, cpx22 and cpx32 with string prices"""
        data = self.call("GET", "/server_types")
        names = [t["name"] for t in data["server_types"]]
        for name in ("cx23", "cpx22", "cpx32"):
            self.assertIn(name, names)
        cpx32 = data["server_types"][names.index("cpx32")]
        self.assertEqual((cpx32["cores"], cpx32["memory"], cpx32["disk"]),
                         (4, 8, 160))
        price = cpx32["prices"][0]["price_monthly"]
        self.assertRegex(price["net"], r"^\d+\.\d{10}$")
        self.assertRegex(price["gross"], r"^\d+\.\d+$")
        one = self.call("GET", "/server_types?name=cx23")["server_types"]
        self.assertEqual([t["name"] for t in one], ["cx23"])
        self.assertEqual({loc["name"] for loc in one[0]["locations"]},
                         {"fsn1", "nbg1", "hel1"})

    def test_locations(self):
        """Locations are fsn1, nbg1, hel1, ash, hil and sin"""
        data = self.call("GET", "/locations")
        self.assertEqual([loc["name"] for loc in data["locations"]],
                         ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"])
        by_name = self.call("GET", "/locations?sort=name:desc")
        self.assertEqual(by_name["locations"][0]["name"], "sin")

    def test_pagination(self):
        """Lists carry meta.pagination and a Link header, per_page <= 50"""
        resp = self.api.get("/v1/locations?per_page=2&page=1")
        page = self.assertOk(resp)["meta"]["pagination"]
        self.assertEqual(page, {"page": 1, "per_page": 2,
                                "previous_page": None, "next_page": 2,
                                "last_page": 3, "total_entries": 6})
        link = resp.header("Link")
        self.assertIn("page=2&per_page=2>; rel=\"next\"", link)
        self.assertIn("page=3&per_page=2>; rel=\"last\"", link)
        self.assertNotIn("rel=\"prev\"", link)
        last = self.call("GET", "/locations?per_page=2&page=3")
        self.assertEqual(last["meta"]["pagination"]["previous_page"], 2)
        self.assertIsNone(last["meta"]["pagination"]["next_page"])
        big = self.call("GET", "/locations?per_page=500")
        self.assertEqual(big["meta"]["pagination"]["per_page"], 50)
        empty = self.call("GET", "/servers?name=no-such-server")
        self.assertEqual(empty["servers"], [])
        self.assertEqual(empty["meta"]["pagination"]["total_entries"], 0)
        self.error("GET", "/locations?page=0", 422, "invalid_input")

    def test_routes(self):
        """Unknown routes get 404 not_found, wrong methods 405"""
        self.error("GET", "/volumes", 404, "not_found")
        self.error("PATCH", "/servers", 405, "method_not_allowed")
        self.error("GET", "/servers/999999", 404, "not_found")

    def test_fault_codes_are_official(self):
        """A fault naming only a status answers a code FACTS 1.3 gives it"""
        table = official_codes()
        self.assertEqual(table[409], ["uniqueness_error", "conflict"])
        for status, (code, _) in hetzner.STATUS_CODES.items():
            if status == 502:  # in the notes, without a status
                self.assertEqual(code, "bad_gateway")
                continue
            self.assertIn(code, table.get(status, []), status)
        for status, code in ((409, "conflict"), (422, "service_error")):
            self.admin_call("POST", "faults", {"status": status,
                                               "path_prefix":
                                                   "/v1/locations"})
            self.error("GET", "/locations", status, code)

    def test_bad_json(self):
        """A body that is not JSON gets 400 json_error"""
        self.error("POST", "/ssh_keys", 400, "json_error", body="{nope")


class SshKeys(HetznerCase):

    def test_create_ssh_key(self):
        """An SSH key gets Hetzner's MD5 fingerprint and 201"""
        line, blob = testing.ssh_public_key()
        key = self.call("POST", "/ssh_keys", {"name": "deploy",
                                              "public_key": line,
                                              "labels": {"a": "b"}},
                        201)["ssh_key"]
        md5 = hashlib.md5(blob).hexdigest()
        self.assertEqual(key["fingerprint"].replace(":", ""), md5)
        self.assertRegex(key["fingerprint"],
                         r"^([0-9a-f]{2}:){15}[0-9a-f]{2}$")
        self.assertEqual(key["public_key"], line)
        got = self.call("GET", "/ssh_keys/%d" % key["id"])["ssh_key"]
        self.assertEqual(got, key)

    def test_duplicate_ssh_keys(self):
        """A taken name or fingerprint gets 409 uniqueness_error"""
        line, _ = testing.ssh_public_key()
        self.call("POST", "/ssh_keys", {"name": "dup", "public_key": line},
                  201)
        err = self.error("POST", "/ssh_keys", 409, "uniqueness_error",
                         {"name": "other", "public_key": line})
        self.assertEqual(err["message"], "SSH key with the same "
                         "fingerprint already exists")
        self.assertEqual(err["details"], {"fields": [{"name":
                                                      "public_key"}]})
        other, _ = testing.ssh_public_key()
        err = self.error("POST", "/ssh_keys", 409, "uniqueness_error",
                         {"name": "dup", "public_key": other})
        self.assertEqual(err["message"], "SSH key name is already used")
        self.error("POST", "/ssh_keys", 422, "invalid_input",
                   {"name": "bad", "public_key": "ssh-ed25519 AAAA"})

    def test_ssh_key_filters(self):
        """SSH keys filter by name, fingerprint and label selector"""
        line, blob = testing.ssh_public_key()
        key = self.call("POST", "/ssh_keys",
                        {"name": "filtered", "public_key": line,
                         "labels": {"team": "ops"}}, 201)["ssh_key"]
        for query in ("name=filtered",
                      "fingerprint=" + key["fingerprint"],
                      "label_selector=team%3D%3Dops"):
            found = self.call("GET", "/ssh_keys?" + query)["ssh_keys"]
            self.assertEqual([k["id"] for k in found], [key["id"]], query)
        self.call("DELETE", "/ssh_keys/%d" % key["id"], status=204)
        self.error("GET", "/ssh_keys/%d" % key["id"], 404, "not_found")


class Servers(HetznerCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key_line, _ = testing.ssh_public_key()
        cls.api.post("/v1/ssh_keys", {"name": "admin",
                                      "public_key": cls.key_line})

    def test_create_matches_spec(self):
        """POST /servers gives 201 shaped like the official example"""
        data = self.new_server("app-1", ssh_keys=["admin"],
                               labels={"role": "web"},
                               user_data="#cloud-config\n")
        example = testing.reference_json(
            "hetzner-create-server-response.example.json")
        self.assertEqual(sorted(data), sorted(example))
        want = set(example["server"]) - set(REMOVED)
        self.assertEqual(set(data["server"]) - {"placement_group"}, want)
        self.assertNotIn("datacenter", data["server"])
        server, action = data["server"], data["action"]
        self.assertEqual(server["status"], "initializing")
        self.assertEqual((action["command"], action["status"],
                          action["progress"], action["error"],
                          action["finished"]),
                         ("create_server", "running", 0, None, None))
        self.assertEqual([a["command"] for a in data["next_actions"]],
                         ["start_server"])
        self.assertIsNone(data["root_password"])
        self.assertEqual(server["location"]["name"], "nbg1")
        self.assertEqual(server["image"]["name"], "ubuntu-24.04")
        self.assertRegex(server["public_net"]["ipv4"]["ip"],
                         r"^127\.0\.0\.\d+$")
        self.assertRegex(server["public_net"]["ipv6"]["ip"],
                         r"^2001:db8:[0-9a-f]+::/64$")

    def test_hooks(self):
        """The host hook gets the keys and user data and gives the IP"""
        data = self.new_server("hooked", ssh_keys=["admin"],
                               user_data="#cloud-config\nruncmd: []\n")
        sid = data["server"]["id"]
        ip = data["server"]["public_net"]["ipv4"]["ip"]
        record = [c for c in self.hooks.created if c[0] == sid]
        self.assertEqual(record, [(sid, "hooked", [self.key_line],
                                   "#cloud-config\nruncmd: []\n", ip)])

    def test_boot(self):
        """Actions reach success and the server goes running"""
        data = self.new_server("booting")
        self.assertIsInstance(data["root_password"], str)
        self.assertGreaterEqual(len(data["root_password"]), 12)
        sid = data["server"]["id"]
        seen = set()

        def running():
            told = self.hooks.ran(sid)
            server = self.call("GET", "/servers/%d" % sid)["server"]
            seen.add(server["status"])
            if server["status"] != "running":
                self.assertEqual(told, [], "host told before running")
            return server["status"] == "running"
        self.assertTrue(self.wait_for(running, 5.0, 0.02))
        self.assertLessEqual({"initializing", "running"}, seen)
        self.assertEqual(len(self.hooks.ran(sid)), 1)
        for act in [data["action"]] + data["next_actions"]:
            done = self.wait_action(act["id"])
            self.assertEqual((done["status"], done["progress"]),
                             ("success", 100))
            self.assertIsNotNone(done["finished"])
            self.assertIsNone(done["error"])
        one = self.call("GET", "/servers/%d/actions/%d"
                        % (sid, data["action"]["id"]))
        example = testing.reference_json(
            "hetzner-get-server-action-response.example.json")
        self.assertEqual(sorted(one["action"]), sorted(example["action"]))
        both = self.call("GET", "/actions?id=%d&id=%d" % (
            data["action"]["id"], data["next_actions"][0]["id"]))
        self.assertEqual(len(both["actions"]), 2)
        self.error("GET", "/servers/1/actions/%d" % data["action"]["id"],
                   404, "not_found")

    def test_ssh_keys_by_id(self):
        """ssh_keys may be integer ids, as hcloud-go sends them"""
        key = self.call("GET", "/ssh_keys?name=admin")["ssh_keys"][0]
        data = self.new_server("by-id", ssh_keys=[key["id"]])
        self.assertIsNone(data["root_password"])
        record = [c for c in self.hooks.created
                  if c[0] == data["server"]["id"]]
        self.assertEqual(record[0][2], [self.key_line])
        self.error("POST", "/servers", 422, "invalid_input",
                   {"name": "by-bad-id", "server_type": "cpx22",
                    "image": "ubuntu-24.04", "ssh_keys": [999999]})

    def test_without_ipv4(self):
        """public_net.enable_ipv4 false gives a server whose ipv4 is null"""
        data = self.new_server("v6-only", public_net={
            "enable_ipv4": False, "enable_ipv6": True})
        net = data["server"]["public_net"]
        self.assertIsNone(net["ipv4"])
        self.assertRegex(net["ipv6"]["ip"], r"^2001:db8:[0-9a-f]+::/64$")
        got = self.call("GET", "/servers/%d" % data["server"]["id"])
        self.assertIsNone(got["server"]["public_net"]["ipv4"])

    def test_not_started(self):
        """start_after_create false: no start_server, the server is off"""
        data = self.new_server("cold", start_after_create=False)
        sid = data["server"]["id"]
        self.assertEqual(data["next_actions"], [])
        self.assertEqual(self.wait_action(data["action"]["id"])["status"],
                         "success")

        def status():
            return self.call("GET", "/servers/%d" % sid)["server"][
                "status"]
        self.assertEqual(self.wait_for(lambda: status() == "off" and
                                       "off", 5.0), "off")
        time.sleep(0.5)  # past when a started server would run
        self.assertEqual(status(), "off")
        self.assertEqual(self.hooks.ran(sid), [])

    def test_taken_name(self):
        """A taken server name gets 409 uniqueness_error"""
        self.new_server("twice")
        body = {"name": "twice", "server_type": "cpx22",
                "image": "ubuntu-24.04"}
        err = self.error("POST", "/servers", 409, "uniqueness_error", body)
        self.assertEqual(err["message"], "server name is already used")

    def test_invalid_input(self):
        """Unknown type, image, location or SSH key get 422 with fields"""
        body = {"name": "bad-refs", "server_type": "cpx99",
                "image": "windows-95", "location": "xx9",
                "ssh_keys": ["nobody"]}
        err = self.error("POST", "/servers", 422, "invalid_input", body)
        fields = [f["name"] for f in err["details"]["fields"]]
        self.assertEqual(sorted(fields), ["image", "location",
                                          "server_type", "ssh_keys"])
        self.assertEqual(err["message"], "invalid input in field "
                         "'server_type': server type 'cpx99' not found")
        err = self.error("POST", "/servers", 422, "invalid_input",
                         {"name": "x", "server_type": "cx23",
                          "image": "ubuntu-24.04", "location": "ash"})
        self.assertIn("unsupported location", err["message"])

    def test_validation(self):
        """Bad names, labels and oversized user data get 422"""
        body = {"name": "-not_a_host", "server_type": "cpx22",
                "image": "ubuntu-24.04",
                "labels": {"hetzner.cloud/x": "y", "ok": "-bad"},
                "user_data": "x" * (32 * 1024 + 1)}
        err = self.error("POST", "/servers", 422, "invalid_input", body)
        fields = {f["name"] for f in err["details"]["fields"]}
        self.assertEqual(fields, {"name", "labels", "user_data"})
        body.update(name="ok-name", labels={"example.com/my": "label",
                                            "just-a-key": ""},
                    user_data="x" * (32 * 1024))
        self.call("POST", "/servers", body, 201)

    def test_location_disabled(self):
        """A disabled location gets 412 resource_unavailable"""
        body = {"name": "in-hel", "server_type": "cpx22",
                "image": "ubuntu-24.04", "location": "hel1"}
        err = self.error("POST", "/servers", 412, "resource_unavailable",
                         body)
        self.assertEqual(err["message"], "server location disabled")

    def test_label_selectors(self):
        """Label selectors filter with ==, =, !=, !k, k, in and notin"""
        for name, lab in (("sel-a", {"env": "prod", "role": "web"}),
                          ("sel-b", {"env": "staging"}),
                          ("sel-c", {"role": "db"})):
            self.new_server(name, labels=dict(lab, sel="yes"))
        cases = {"env==prod": ["sel-a"], "env=prod": ["sel-a"],
                 "env!=prod": ["sel-b", "sel-c"], "env": ["sel-a",
                                                          "sel-b"],
                 "!env": ["sel-c"], "env in (prod,staging)": ["sel-a",
                                                              "sel-b"],
                 "env notin (prod)": ["sel-b", "sel-c"],
                 "env=prod,role=web": ["sel-a"], "env=prod,!role": []}
        for selector, want in cases.items():
            query = "/servers?label_selector=" + quote(
                "sel=yes," + selector)
            got = [s["name"] for s in self.call("GET", query)["servers"]]
            self.assertEqual(got, want, selector)
        self.error("GET", "/servers?label_selector=" + quote(
            "env in (a"), 422, "invalid_input")

    def test_filters(self):
        """Servers filter by name and status and sort"""
        self.new_server("filter-me")
        got = self.call("GET", "/servers?name=filter-me")["servers"]
        self.assertEqual([s["name"] for s in got], ["filter-me"])
        inits = self.call("GET", "/servers?status=initializing"
                          "&status=starting&name=filter-me")
        self.assertEqual(len(inits["servers"]), 1)
        names = [s["name"] for s in self.call(
            "GET", "/servers?sort=name:desc&per_page=50")["servers"]]
        self.assertEqual(names, sorted(names, reverse=True))
        self.error("GET", "/servers?status=sleeping", 422,
                   "invalid_input")

    def test_protection_and_delete(self):
        """Delete protection gives 423; deletion removes the server"""
        sid = self.new_server("doomed")["server"]["id"]
        act = self.call("POST", "/servers/%d/actions/change_protection"
                        % sid, {"delete": True, "rebuild": True}, 201)
        self.assertEqual(act["action"]["command"], "change_protection")
        self.error("DELETE", "/servers/%d" % sid, 423, "protected")
        self.call("POST", "/servers/%d/actions/change_protection" % sid,
                  {"delete": False}, 201)
        server = self.call("GET", "/servers/%d" % sid)["server"]
        self.assertEqual(server["protection"],
                         {"delete": False, "rebuild": True})
        act = self.call("DELETE", "/servers/%d" % sid)["action"]
        self.assertEqual((act["command"], act["status"]),
                         ("delete_server", "running"))
        self.assertEqual(self.wait_action(act["id"])["status"], "success")
        self.error("GET", "/servers/%d" % sid, 404, "not_found")
        self.assertTrue(self.wait_for(lambda: sid in self.hooks.deleted))

    def test_python_create(self):
        """create_server() seeds a server as POST /servers would"""
        body = self.fake.create_server({"name": "seeded",
                                        "server_type": "cpx32",
                                        "image": "ubuntu-24.04",
                                        "location": "fsn1"})
        sch = schema.response_schema(SPEC, "/servers", "post", 201)
        self.assertEqual(schema.check(sch, body, removed=REMOVED), [])
        got = self.call("GET", "/servers?name=seeded")["servers"]
        self.assertEqual([s["id"] for s in got], [body["server"]["id"]])
        with self.assertRaises(hetzner.ApiError) as caught:
            self.fake.create_server({"name": "seeded",
                                     "server_type": "cpx32",
                                     "image": "ubuntu-24.04"})
        self.assertEqual((caught.exception.status, caught.exception.code),
                         (409, "uniqueness_error"))

    def test_python_create_booted(self):
        """create_server(booted=True) gives a running, aged server"""
        body = self.fake.create_server({"name": "old-timer",
                                        "server_type": "cpx32",
                                        "image": "ubuntu-24.04"},
                                       booted=True, age_seconds=86400)
        self.assertEqual(body["server"]["status"], "running")
        self.assertEqual(body["action"]["status"], "success")
        self.assertTrue(body["server"]["created"].startswith(
            time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))))
        sid = body["server"]["id"]
        got = self.call("GET", "/servers/%d" % sid)
        self.assertEqual(got["server"]["status"], "running")
        act = body["action"]
        self.assertEqual(act["started"], body["server"]["created"])
        for done in [act] + body["next_actions"]:
            self.assertEqual(done["status"], "success")
            self.assertGreaterEqual(done["finished"], done["started"])
            self.assertLess(done["finished"], time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86000)))
        since = self.hooks.ran(sid)
        self.assertEqual(len(since), 1)
        self.assertLess(abs(since[0] - (time.time() - 86400)), 60)

    def test_parallel_creates(self):
        """Concurrent creates get distinct ids and addresses"""
        results = []

        def create(i):
            results.append(self.api.post("/v1/servers", {
                "name": "par-%d" % i, "server_type": "cpx22",
                "image": "ubuntu-24.04"}).json())
        threads = [threading.Thread(target=create, args=(i,))
                   for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ids = {r["server"]["id"] for r in results}
        ips = {r["server"]["public_net"]["ipv4"]["ip"] for r in results}
        self.assertEqual((len(ids), len(ips)), (8, 8))


class Knobs(HetznerCase):

    config = dict(HetznerCase.config, readonly_tokens=["reader"])

    def test_readonly_token(self):
        """A read-only token may GET but gets 401 token_readonly else"""
        self.call("GET", "/servers", token="reader")
        self.error("POST", "/servers", 401, "token_readonly",
                   {"name": "ro"}, token="reader")

    def test_action_errors(self):
        """action_errors makes an action end in status error"""
        failure = {"code": "action_failed", "message": "Action failed"}
        self.admin_call("POST", "config",
                        {"action_errors": {"create_server": failure}})
        try:
            data = self.new_server("fails-to-create")
        finally:
            self.admin_call("POST", "config", {"action_errors": {}})
        done = self.wait_action(data["action"]["id"])
        self.assertEqual((done["status"], done["error"]),
                         ("error", failure))
        self.assertIsNotNone(done["finished"])


class RateLimit(HetznerCase):

    config = dict(HetznerCase.config, rate_limit=100)

    def test_headers(self):
        """RateLimit headers count down and Reset is when it is full"""
        first = self.api.get("/v1/locations")
        second = self.api.get("/v1/locations")
        self.assertEqual(first.header("RateLimit-Limit"), "100")
        left = int(second.header("RateLimit-Remaining"))
        self.assertEqual(int(first.header("RateLimit-Remaining")) - 1, left)
        reset = int(second.header("RateLimit-Reset"))
        want = time.time() + (100 - left) * 36
        self.assertLess(abs(reset - want), 3)

    def test_exhausted(self):
        """An exhausted budget gets 429 rate_limit_exceeded"""
        self.admin_call("POST", "ratelimit", {"remaining": 0})
        resp = self.api.get("/v1/servers")
        self.assertEqual(resp.status, 429)
        self.assertEqual(resp.json()["error"]["code"],
                         "rate_limit_exceeded")
        self.assertEqual(resp.header("RateLimit-Remaining"), "0")
        resp = self.api.get("/v1/servers", token=None)
        self.assertEqual(resp.status, 429, "unauthenticated calls count")
        self.admin_call("POST", "ratelimit", {"remaining": 100})
        self.assertOk(self.api.get("/v1/servers"))


if __name__ == "__main__":
    taptest.main()
