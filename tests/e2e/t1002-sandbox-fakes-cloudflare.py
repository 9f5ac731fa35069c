#!/usr/bin/python3
"""t1002: the fake Cloudflare API v4 and DoH answer as Cloudflare does.

Record lists are compared with cloudflare-go's fixture pages (key
sets and value types), errors with the codes of FACTS.md 2.5, and
DoH answers with the dns-json shape of FACTS.md 2.7.
"""

import os
import re
import sys

TOP = os.environ.get("MKP_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "sandbox"))
sys.dont_write_bytecode = True  # keep __pycache__ out of the tree

import taptest  # noqa: E402
from fakes import cloudflare, testing  # noqa: E402

TOKEN = "t1002-token"
ZONE = "kua.test"
EDGE = ["104.16.0.1", "104.16.0.2"]
HEX32 = re.compile(r"^[0-9a-f]{32}$")


class CloudflareCase(testing.FakeCase):
    """A fake with one zone and the runbook's six A records."""

    fake_class = cloudflare.CloudflareFake
    token = TOKEN
    config = {"token": TOKEN, "edge_ips": EDGE,
              "tokens": {"scoped-token": ["other.test"],
                         "no-zone-token": []}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.zid = cls.fake.add_zone(ZONE)
        cls.other = cls.fake.add_zone("other.test")
        for name in ("secrets", "git", "media", "cdn", "notes", "docs"):
            cls.fake.add_record(cls.zid, "A", name, "127.0.0.10",
                                proxied=(name != "git"))
        cls.fake.add_record(cls.zid, "TXT", ZONE, "v=spf1 -all", ttl=3600)

    def v4(self, method, path, body=None, status=200, **kw):
        """Call /client/v4 + path and check the envelope."""
        resp = self.api.request(method, "/client/v4" + path, body, **kw)
        data = self.assertOk(resp, status)
        self.assertRegex(resp.header("cf-ray"), r"^[0-9a-f]{16}-[A-Z]+$")
        keys = {"success", "errors", "messages", "result"}
        self.assertLessEqual(keys, set(data))
        self.assertEqual(data["success"], status < 400)
        return data

    def fails(self, method, path, status, code, body=None, **kw):
        """Call and expect a failure whose first error has code."""
        data = self.v4(method, path, body, status, **kw)
        self.assertIsNone(data["result"])
        self.assertEqual(data["errors"][0]["code"], code, data)
        return data["errors"]

    def records(self, query=""):
        """GET the zone's dns_records with query; the envelope."""
        return self.v4("GET", "/zones/%s/dns_records%s" % (self.zid,
                                                           query))

    def doh(self, query, status=200, accept="application/dns-json"):
        """GET /dns-query?query; the parsed answer."""
        resp = self.api.get("/dns-query?" + query, token=None,
                            headers={"Accept": accept})
        data = self.assertOk(resp, status)
        self.assertEqual(resp.header("Content-Type"),
                         "application/dns-json")
        return data


class Api(CloudflareCase):

    def test_auth(self):
        """No token 9106, bad header 6003, unknown 9109, scoped 10000"""
        self.fails("GET", "/zones", 400, 9106, token=None)
        errs = self.fails("GET", "/zones", 400, 6003, token=None,
                          headers={"Authorization": "Token"})
        self.assertEqual(errs[0]["error_chain"][0]["code"], 6111)
        errs = self.fails("GET", "/zones", 403, 9109, token="nope")
        self.assertEqual(errs[0]["message"], "Invalid access token")
        self.fails("GET", "/zones/%s/dns_records" % self.zid, 403, 10000,
                   token="scoped-token")
        self.fails("GET", "/zones/%s" % self.other, 403, 10000,
                   token="no-zone-token")

    def test_scoped_token_cannot_list_zones(self):
        """A zone-scoped token finds its zone by name but cannot list all"""
        errs = self.fails("GET", "/zones", 403, 0, token="scoped-token")
        verify = self.v4("GET", "/user/tokens/verify",
                         token="scoped-token")["result"]["id"]
        self.assertEqual(errs[0]["message"], "Actor 'com.cloudflare.api."
                         "token.%s' requires permission 'com.cloudflare."
                         "api.account.zone.list' to list zones" % verify)
        self.fails("GET", "/zones?status=active", 403, 0,
                   token="scoped-token")
        mine = self.v4("GET", "/zones?name=other.test",
                       token="scoped-token")["result"]
        self.assertEqual([z["id"] for z in mine], [self.other])
        theirs = self.v4("GET", "/zones?name=" + ZONE,
                         token="scoped-token")["result"]
        self.assertEqual(theirs, [])
        every = self.v4("GET", "/zones")["result"]
        self.assertEqual({z["name"] for z in every}, {ZONE, "other.test"})

    def test_verify(self):
        """/user/tokens/verify says the token is valid and active"""
        data = self.v4("GET", "/user/tokens/verify")
        self.assertEqual(data["result"]["status"], "active")
        self.assertRegex(data["result"]["id"], HEX32)
        self.assertEqual(data["messages"][0]["message"],
                         "This API Token is valid and active")
        self.fails("GET", "/user/tokens/verify", 401, 1000, token="bad")

    def test_zones(self):
        """GET /zones?name= finds the zone by name"""
        data = self.v4("GET", "/zones?name=" + ZONE)
        self.assertEqual(len(data["result"]), 1)
        zone = data["result"][0]
        self.assertEqual((zone["id"], zone["name"], zone["status"]),
                         (self.zid, ZONE, "active"))
        for key in ("paused", "type", "name_servers", "account",
                    "created_on", "modified_on", "plan", "permissions"):
            self.assertIn(key, zone)
        self.assertEqual(data["result_info"]["total_count"], 1)
        none = self.v4("GET", "/zones?name=missing.test")
        self.assertEqual((none["result"], none["result_info"]["count"]),
                         ([], 0))

    def test_fixture_shape(self):
        """Record list pages match cloudflare-go's fixture pages"""
        for num in (1, 2):
            want = testing.reference_json(
                "cloudflare-dns-records-list-page%d.example.json" % num)
            got = self.records("?type=A&per_page=3&page=%d" % num)
            self.assertEqual(sorted(got), sorted(want))
            self.assertEqual(got["result_info"], dict(
                want["result_info"], total_count=6, count=3))
            # "data" is only sent for structured types (FACTS 2.3).
            for have, model in zip(got["result"], want["result"]):
                keys = set(model) - {"data"}
                self.assertLessEqual(keys, set(have))
                for key in keys:
                    self.assertIs(type(have[key]), type(model[key]), key)

    def test_filters(self):
        """Records filter by type, name, content and proxied"""
        def names(query):
            return [r["name"] for r in self.records(query)["result"]]
        self.assertEqual(names("?type=TXT"), [ZONE])
        self.assertEqual(names("?type=A&name=git." + ZONE), ["git." + ZONE])
        self.assertEqual(names("?name.exact=cdn." + ZONE), ["cdn." + ZONE])
        self.assertEqual(names("?proxied=false&type=A"), ["git." + ZONE])
        self.assertEqual(len(names("?content=127.0.0.10")), 6)
        self.assertEqual(names("?name=absent." + ZONE), [])

    def test_create_record(self):
        """A created record has FACTS's fields; empty comments are omitted"""
        rec = self.v4("POST", "/zones/%s/dns_records" % self.zid,
                      {"type": "A", "name": "new", "content": "192.0.2.7",
                       "ttl": 120, "proxied": False})["result"]
        self.assertRegex(rec["id"], HEX32)
        self.assertEqual((rec["name"], rec["proxiable"], rec["ttl"]),
                         ("new." + ZONE, True, 120))
        self.assertNotIn("comment", rec)
        for key in ("created_on", "modified_on", "meta", "settings",
                    "tags"):
            self.assertIn(key, rec)
        rec2 = self.v4("POST", "/zones/%s/dns_records" % self.zid,
                       {"type": "A", "name": "new2." + ZONE,
                        "content": "192.0.2.8", "proxied": True,
                        "ttl": 300, "comment": "edge"})["result"]
        self.assertEqual((rec2["ttl"], rec2["comment"]), (1, "edge"))
        got = self.v4("GET", "/zones/%s/dns_records/%s"
                      % (self.zid, rec["id"]))["result"]
        self.assertEqual(got, rec)

    def test_duplicates(self):
        """Identical records get 81058, CNAME clashes 81057"""
        path = "/zones/%s/dns_records" % self.zid
        body = {"type": "A", "name": "git", "content": "127.0.0.10"}
        errs = self.fails("POST", path, 400, 81058, body)
        self.assertEqual(errs[0]["message"],
                         "An identical record already exists.")
        self.fails("POST", path, 400, 81057, {"type": "CNAME",
                                              "name": "git",
                                              "content": "x." + ZONE})
        body["content"] = "127.0.0.11"
        self.v4("POST", path, body)

    def test_validation(self):
        """Bad A content gets 1004 with a 9005 chain; TTLs are checked"""
        path = "/zones/%s/dns_records" % self.zid
        errs = self.fails("POST", path, 400, 1004,
                          {"type": "A", "name": "bad", "content": "1.2.3"})
        self.assertEqual(errs[0]["message"], "DNS Validation Error")
        self.assertEqual(errs[0]["error_chain"][0]["code"], 9005)
        self.fails("POST", path, 400, 1004, {"type": "A", "name": "ttl",
                                             "content": "192.0.2.1",
                                             "ttl": 30})
        self.fails("POST", path, 400, 9004, {"type": "TXT", "name": "t",
                                             "content": "x",
                                             "proxied": True})
        self.fails("POST", path, 400, 6007, "{not json")

    def test_unknown_ids(self):
        """Unknown zones get 7003 then 7000; unknown records 81044"""
        errs = self.fails("GET", "/zones/%s/dns_records" % ("0" * 32),
                          400, 7003)
        self.assertEqual(errs[1], {"code": 7000,
                                   "message": "No route for that URI"})
        self.fails("GET", "/zones/nothex/dns_records", 400, 7003)
        self.fails("GET", "/zones/%s/dns_records/%s" % (self.zid,
                                                        "f" * 32),
                   404, 81044)
        self.fails("GET", "/nowhere", 400, 7000)
        self.fails("PUT", "/zones", 405, 7001)

    def test_update_and_delete(self):
        """PUT overwrites, PATCH changes fields, DELETE returns the id"""
        path = "/zones/%s/dns_records" % self.zid
        rec = self.v4("POST", path, {"type": "A", "name": "mut",
                                     "content": "192.0.2.20"})["result"]
        one = "%s/%s" % (path, rec["id"])
        put = self.v4("PUT", one, {"type": "A", "name": "mut",
                                   "content": "192.0.2.21",
                                   "ttl": 60})["result"]
        self.assertEqual((put["content"], put["ttl"], put["created_on"]),
                         ("192.0.2.21", 60, rec["created_on"]))
        patch = self.v4("PATCH", one, {"proxied": True})["result"]
        self.assertEqual((patch["content"], patch["proxied"],
                          patch["ttl"]), ("192.0.2.21", True, 1))
        gone = self.v4("DELETE", one)["result"]
        self.assertEqual(gone, {"id": rec["id"]})
        self.fails("GET", one, 404, 81044)

    def test_purge(self):
        """purge_cache answers the zone id and is kept in the state"""
        data = self.v4("POST", "/zones/%s/purge_cache" % self.zid,
                       {"purge_everything": True})
        self.assertEqual(data["result"], {"id": self.zid})
        state = self.admin_call("GET", "state")
        self.assertEqual(state["purges"][-1]["zone_id"], self.zid)
        self.assertEqual(state["purges"][-1]["request"],
                         {"purge_everything": True})
        self.fails("POST", "/zones/%s/purge_cache" % self.zid, 400, 1012,
                   {})

    def test_rate_limit(self):
        """An exhausted budget gets 429, code 971 and retry-after"""
        resp = self.api.get("/client/v4/zones")
        self.assertRegex(resp.header("Ratelimit"),
                         r'^"default";r=\d+;t=\d+$')
        self.admin_call("POST", "ratelimit", {"remaining": 0})
        resp = self.api.get("/client/v4/zones")
        self.assertEqual(resp.status, 429)
        self.assertEqual(resp.json()["errors"][0]["code"], 971)
        self.assertTrue(resp.header("retry-after").isdigit())
        self.assertLessEqual(int(resp.header("retry-after")), 300)
        self.doh("name=git.%s&type=A" % ZONE)  # DoH is not counted
        self.admin_call("POST", "ratelimit", {"remaining": 1200})
        self.assertOk(self.api.get("/client/v4/zones"))


class Doh(CloudflareCase):

    def test_dns_only(self):
        """A DNS-only record answers its own content"""
        data = self.doh("name=git.%s&type=A" % ZONE)
        self.assertEqual(data["Status"], 0)
        self.assertEqual(data["Question"], [{"name": "git.%s." % ZONE,
                                             "type": 1}])
        self.assertEqual(data["Answer"], [{"name": "git.%s." % ZONE,
                                           "type": 1, "TTL": 300,
                                           "data": "127.0.0.10"}])
        for key in ("TC", "RD", "RA", "AD", "CD"):
            self.assertIsInstance(data[key], bool)

    def test_proxied(self):
        """A proxied record answers the edge addresses instead"""
        data = self.doh("name=secrets.%s.&type=1" % ZONE)
        self.assertEqual([a["data"] for a in data["Answer"]], EDGE)
        six = self.doh("name=secrets.%s&type=AAAA" % ZONE)
        self.assertEqual(six["Answer"][0]["type"], 28)

    def test_unknown(self):
        """Unknown names get Status 3 with an Authority section"""
        data = self.doh("name=nothing.%s&type=A" % ZONE)
        self.assertEqual(data["Status"], 3)
        self.assertNotIn("Answer", data)
        self.assertEqual(data["Authority"][0]["type"], 6)
        self.assertEqual(data["Authority"][0]["name"], ZONE + ".")
        far = self.doh("name=example.org&type=A")
        self.assertEqual(far["Status"], 3)
        nodata = self.doh("name=git.%s&type=TXT" % ZONE)
        self.assertEqual((nodata["Status"], "Answer" in nodata),
                         (0, False))

    def test_other_types(self):
        """TXT data is quoted and keeps its TTL"""
        data = self.doh("name=%s&type=TXT" % ZONE)
        self.assertEqual(data["Answer"], [{"name": ZONE + ".", "type": 16,
                                           "TTL": 3600,
                                           "data": '"v=spf1 -all"'}])

    def test_follows_changes(self):
        """DoH answers change as soon as a record does"""
        rec = self.fake.add_record(self.zid, "A", "moving", "192.0.2.1")
        self.assertEqual(self.doh("name=moving.%s" % ZONE)["Answer"][0][
            "data"], "192.0.2.1")
        self.v4("PATCH", "/zones/%s/dns_records/%s" % (self.zid,
                                                        rec["id"]),
                {"content": "192.0.2.2"})
        self.assertEqual(self.doh("name=moving.%s" % ZONE)["Answer"][0][
            "data"], "192.0.2.2")

    def test_bad_params(self):
        """Bad DoH parameters get 400 with an error string"""
        data = self.doh("name=git.%s&cd=2" % ZONE, 400)
        self.assertEqual(data["error"], "Invalid CD flag `2`. Expected to "
                         "be empty or one of `0`, `false`, `1`, or "
                         "`true`.")
        self.assertIn("error", self.doh("type=A", 400))
        self.assertIn("error", self.doh("name=x.test&type=BOGUS", 400))
        self.assertIn("error", self.doh("name=x.test", 400,
                                        accept="text/html"))

    def test_logged_without_auth(self):
        """DoH requests are logged like API requests"""
        self.doh("name=docs.%s&type=A" % ZONE)
        last = self.log_lines()[-1]
        self.assertEqual((last["method"], last["path"], last["query"],
                          last["status"]),
                         ("GET", "/dns-query", "name=docs.%s&type=A"
                          % ZONE, 200))


if __name__ == "__main__":
    taptest.main()
