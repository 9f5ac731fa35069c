#!/usr/bin/python3
"""t1100-sandbox-lifecycle: up, use, down, up again, down again.

The sandbox must start clean each time and leave no process behind:
PID 1 here reaps nothing, so a forgotten child would stay for good.
While it is up, its clients find the CA through the usual variables,
the previous server is old and serves its six vhosts over HTTPS, and
nothing it started listens outside 127.0.0.0/8.
This script runs its own sandbox in a temporary run directory, on
its own ssh port and addresses (127.0.0.30..39), so it cannot clash
with a developer's sandbox or another test, and always brings it
down at the end, even when a test fails.
"""

import http.client
import ipaddress
import json
import os
import pwd
import ssl
import subprocess
import sys
import time
import unittest

TOP = os.environ.get("MKP_TOP") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "sandbox"))
sys.dont_write_bytecode = True

import taptest  # noqa: E402
from boxtest import (CTL, Box, alive, become_subreaper,  # noqa: E402
                     curl, https_json, port_open, reap, ssh_argv)

CONFIG = {"ssh_port": 2322, "first_host": 30, "last_host": 39,
          "vpn_host": 29}
FAKES = ("hetzner", "cloudflare", "infisical")
VHOSTS = ("secrets", "git", "media", "cdn", "notes", "docs")


def read_json(path):
    """A JSON file of the run directory."""
    with open(path) as f:
        return json.load(f)


def ticks(pid):
    """A pid's start time, to tell a reused pid from ours."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rpartition(")")[2].split()[19])
    except (OSError, ValueError):
        return None


def survivors(run):
    """Processes of pids.json still alive, and any with our rundir."""
    left = []
    for rec in read_json(os.path.join(run, "pids.json"))["procs"]:
        if alive(rec["pid"]) and ticks(rec["pid"]) == rec["start_ticks"]:
            left.append("%d %s" % (rec["pid"], " ".join(rec["argv"])))
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or not alive(int(entry)):
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if run + "/" in cmd or cmd.rstrip().endswith(run):
            left.append("%s %s" % (entry, cmd))
    return left


def family(pid):
    """pid and every process below it, from /proc."""
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def socket_owners(pids):
    """{socket inode: pid} for the open sockets of pids."""
    owners = {}
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                owners[target[len("socket:["):-1]] = pid
    return owners


def proc_address(text):
    """An address of /proc/net/tcp{,6} ("0100007F:1F90") as (ip, port):
    the address is in host (little-endian) order, 32 bits at a time."""
    addr, _, port = text.partition(":")
    raw = bytes.fromhex(addr)
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(raw), int(port, 16)


def listening(pid):
    """(owner pid, ip, port) of each TCP socket in LISTEN held by pid or
    a process below it, read from its own network namespace."""
    owners = socket_owners(family(pid))
    found = []
    for table in ("tcp", "tcp6"):
        with open("/proc/%d/net/%s" % (pid, table)) as f:
            for line in list(f)[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in owners:
                    ip, port = proc_address(fields[1])
                    found.append((owners[fields[9]], ip, port))
    return found


def on_bruno(env, command, timeout):
    """Run command on the previous server over real ssh with the
    operator's key, its host key pinned: the finished process, its
    stdout and stderr together."""
    argv = ssh_argv(env["MKP_SSH_KEY"], env["MKP_SSH_PORT"],
                    env["MKP_SSH_KNOWN_HOSTS"],
                    env["MKP_SSH_USER"] + "@127.0.0.30", command)
    return subprocess.run(argv, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout)


class SandboxLifecycle(unittest.TestCase):
    """Each test is one step; they run in order on one sandbox."""

    @classmethod
    def setUpClass(cls):
        become_subreaper()
        cls.box = Box("t1100", CONFIG)

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def test_up_starts_and_reports_its_time(self):
        """sandboxctl up starts the sandbox and says how long it took"""
        t0 = time.time()
        code, out = self.box.ctl("up")
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"sandbox up in [0-9.]+ s")
        print("# up took %.2f s" % (time.time() - t0))
        self.assertTrue(os.path.exists(os.path.join(self.box.run,
                                                    "ready")))
        self.__class__.first_ca = open(os.path.join(
            self.box.run, "tls", "ca.pem")).read()

    def test_second_up_refuses(self):
        """a second up refuses while a supervisor owns the run dir"""
        code, out = self.box.ctl("up")
        self.assertEqual(code, 1, out)
        self.assertIn("already running (pid %d)"
                      % self.box.supervisor_pid(), out)

    def test_whoami(self):
        """each fake answers whoami over HTTPS with the sandbox CA"""
        ports = read_json(os.path.join(self.box.run, "ports.json"))
        ctx = ssl.create_default_context(
            cafile=os.path.join(self.box.run, "tls", "ca.pem"))
        for name in FAKES:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", ports[name]["port"], context=ctx, timeout=5)
            conn.request("GET", "/__sandbox/whoami")
            body = json.loads(conn.getresponse().read())
            conn.close()
            self.assertEqual(body["fake"], name)
            self.assertEqual(body["pid"], self.box.supervisor_pid())

    def test_env_and_curl(self):
        """eval of sandboxctl env lets curl reach each fake"""
        script = """
            eval "$("$1" --rundir "$2" env)" || exit 1
            c() { curl -fsS --noproxy '*' --cacert "$MKP_CAFILE" "$@"; }
            c -H "Authorization: Bearer $HCLOUD_TOKEN" \
                "$HCLOUD_ENDPOINT/servers?name=bruno" >/dev/null &&
            c -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" \
                "$MKP_CLOUDFLARE_URL/zones?name=$MKP_SANDBOX_DOMAIN" \
                >/dev/null &&
            c -H 'accept: application/dns-json' \
                "$MKP_DOH_URL?name=git.$MKP_SANDBOX_DOMAIN&type=A" \
                >/dev/null &&
            c -H 'Content-Type: application/json' --data-binary \
                "{\\"clientId\\":\\"$INFISICAL_CLIENT_ID\\",
                  \\"clientSecret\\":\\"$INFISICAL_CLIENT_SECRET\\"}" \
                "$INFISICAL_API_URL/v1/auth/universal-auth/login" \
                >/dev/null &&
            test -r "$MKP_SSH_KEY" && test "$MKP_SSH_PORT" = 2322 &&
            if [ "$(id -u)" = 0 ]; then u=root; else u=$(id -un); fi &&
            test "$MKP_SSH_USER" = "$u" &&
            echo all-reached
        """
        r = subprocess.run(["sh", "-c", script, "sh", CTL, self.box.run],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        self.assertIn("all-reached", r.stdout.decode(), r.stdout.decode())
        mode = os.stat(os.path.join(self.box.run, "env")).st_mode
        self.assertEqual(mode & 0o777, 0o600)

    def test_env_gives_every_client_the_ca(self):
        """env names the sandbox CA for curl, OpenSSL/Go, requests, Node"""
        env = self.box.read_env()
        ca = os.path.join(self.box.run, "tls", "ca.pem")
        for name in ("MKP_CAFILE", "CURL_CA_BUNDLE", "SSL_CERT_FILE",
                     "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
            self.assertEqual(env.get(name), ca, name)
        # OpenSSL's default trust follows SSL_CERT_FILE alone.
        probe = ("import json, urllib.request; print(json.load("
                 "urllib.request.urlopen(%r))['fake'])"
                 % (env["MKP_INFISICAL_URL"] + "/__sandbox/whoami"))
        r = subprocess.run(["/usr/bin/python3", "-c", probe],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30, env={"PATH": os.environ["PATH"],
                                            "SSL_CERT_FILE": ca,
                                            "no_proxy": "*"})
        self.assertEqual(r.stdout.decode(), "infisical\n")

    def test_ca_is_required(self):
        """a client that does not trust the sandbox CA is refused"""
        env = self.box.read_env()
        r = subprocess.run(["curl", "-sS", "--noproxy", "*", "--cacert",
                            "/etc/ssl/certs/ca-certificates.crt",
                            env["MKP_HETZNER_URL"] + "/servers"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, CURL_CA_BUNDLE=""))
        self.assertEqual(r.returncode, 60, r.stderr.decode())

    def test_status_up(self):
        """status exits 0 and names every fake and the previous server"""
        code, out = self.box.ctl("status")
        self.assertEqual(code, 0, out)
        for name in FAKES:
            self.assertRegex(out, r"fake %s +https://127\.0\.0\.1:\d+"
                             % name)
        self.assertRegex(out, r"host bruno +127\.0\.0\.30:2322 sshd"
                         r" running \(pid \d+\)")

    def test_previous_server_and_dns(self):
        """bruno exists once, with the six runbook records on its IP"""
        env = self.box.read_env()
        ca = env["MKP_CAFILE"]
        status, body = https_json(ca, env["MKP_HETZNER_URL"] + "/servers",
                                  env["HCLOUD_TOKEN"])
        self.assertEqual(status, 200)
        names = [s["name"] for s in body["servers"]]
        self.assertEqual(names, ["bruno"])
        ip = body["servers"][0]["public_net"]["ipv4"]["ip"]
        self.assertEqual(body["servers"][0]["labels"]["role"],
                         "production")
        cf, tok = env["MKP_CLOUDFLARE_URL"], env["CLOUDFLARE_API_TOKEN"]
        _, zones = https_json(ca, cf + "/zones?name=mkprov.test", tok)
        zid = zones["result"][0]["id"]
        # The seeded token is scoped to its zone, as a real one is.
        status, every = https_json(ca, cf + "/zones", tok)
        self.assertEqual((status, every["errors"][0]["code"]), (403, 0))
        self.assertIn("com.cloudflare.api.account.zone.list",
                      every["errors"][0]["message"])
        _, recs = https_json(ca, cf + "/zones/%s/dns_records?per_page=100"
                             % zid, tok)
        a = {r["name"]: r for r in recs["result"] if r["type"] == "A"}
        for sub in VHOSTS:
            rec = a["%s.mkprov.test" % sub]
            self.assertEqual(rec["content"], ip)
            self.assertEqual(rec["proxied"], sub != "git")
        self.assertGreater(len(recs["result"]), len(VHOSTS) + 3)

    def test_infisical_secrets(self):
        """the machine identity reads every secret the runbook requires"""
        env = self.box.read_env()
        ca, url = env["MKP_CAFILE"], env["INFISICAL_API_URL"]
        _, login = https_json(ca, url + "/v1/auth/universal-auth/login",
                              method="POST", body={
                                  "clientId": env["INFISICAL_CLIENT_ID"],
                                  "clientSecret":
                                      env["INFISICAL_CLIENT_SECRET"]})
        status, body = https_json(
            ca, url + "/v3/secrets/raw?workspaceId=%s&environment=prod"
            "&secretPath=/" % env["MKP_INFISICAL_PROJECT_ID"],
            login["accessToken"])
        self.assertEqual(status, 200, body)
        got = {s["secretKey"]: s["secretValue"] for s in body["secrets"]}
        want = ["SSH_KEYS_ACTIVE_DEVICES", "HETZNER_API_TOKEN",
                "CLOUDFLARE_API_TOKEN", "S3_ACCESS_KEY", "S3_SECRET_KEY",
                "S3_ENDPOINT", "S3_REGION", "S3_BUCKET",
                "STORAGE_BOX_SSH_PRIVATE_KEY", "ENCRYPTION_KEY",
                "AUTH_SECRET", "POSTGRES_USER", "POSTGRES_PASSWORD",
                "POSTGRES_DB", "REDIS_PASSWORD", "IMGPROXY_KEY",
                "IMGPROXY_SALT"]
        for dev in ("MACMINI", "MACBOOKPRO"):
            want += ["SSH_KEY_%s_PUBLIC" % dev, "SSH_KEY_%s_STATUS" % dev]
        self.assertEqual(sorted(set(want) - set(got)), [])
        self.assertEqual(got["SSH_KEYS_ACTIVE_DEVICES"],
                         "MACMINI,MACBOOKPRO")
        self.assertEqual(got["HETZNER_API_TOKEN"], env["HCLOUD_TOKEN"])
        values = "".join(got.values())
        for awkward in ("'", '"', "$", " ", "\n"):
            self.assertIn(awkward, values)

    def test_ssh_to_previous_server(self):
        """the operator's key reaches bruno with its pinned host key"""
        env = self.box.read_env()
        r = on_bruno(env, "cloud-init status", 30)
        self.assertEqual(r.returncode, 0, r.stdout.decode())
        self.assertEqual(r.stdout.decode(), "status: done\n")

    def test_previous_server_services(self):
        """bruno runs its services; its Infisical database has users"""
        log = open(os.path.join(self.box.run, "logs",
                                "supervisor.log")).read()
        if "services skipped" in log:
            self.skipTest("the docker stand-in or the seed is missing")
        env = self.box.read_env()
        r = on_bruno(env, "docker ps --format '{{.Names}}' | sort |"
                     " tr '\\n' ' ' && docker exec infisical-postgres"
                     " psql -U infisical -d infisical"
                     " -tAc 'select count(*) > 0 from users'", 60)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out)
        for name in ("traefik", "infisical", "infisical-postgres",
                     "postgres", "redis"):
            self.assertIn(" %s " % name, " " + out, out)
        self.assertTrue(out.endswith("t\n"), out)

    def test_clusters_run_as_their_owner(self):
        """bruno's clusters run as postgres under root, else as the user
        who started the sandbox, each in a 0700 data directory it owns"""
        log = open(os.path.join(self.box.run, "logs",
                                "supervisor.log")).read()
        if "services skipped" in log:
            self.skipTest("the docker stand-in or the seed is missing")
        want = pwd.getpwnam("postgres").pw_uid if os.getuid() == 0 \
            else os.getuid()
        procs = [r for r in read_json(os.path.join(self.box.run,
                                                   "pids.json"))["procs"]
                 if r["host"] == "bruno" and r["state"] == "running"
                 and r["argv"][0].endswith("/postgres")]
        self.assertEqual(len(procs), 2, procs)
        for rec in procs:
            with open("/proc/%d/status" % rec["pid"]) as f:
                uids = [line.split()[1:] for line in f
                        if line.startswith("Uid:")][0]
            self.assertEqual(set(map(int, uids)), {want}, rec["argv"])
            st = os.stat(rec["argv"][rec["argv"].index("-D") + 1])
            self.assertEqual((st.st_uid, st.st_mode & 0o7777),
                             (want, 0o700), rec["argv"])

    def test_previous_server_is_old(self):
        """bruno was created 97 days ago, its actions done back then"""
        env = self.box.read_env()
        _, body = https_json(env["MKP_CAFILE"], env["MKP_HETZNER_URL"]
                             + "/servers?name=bruno", env["HCLOUD_TOKEN"])
        server = body["servers"][0]
        self.assertEqual(server["status"], "running")
        ports = read_json(os.path.join(self.box.run, "ports.json"))
        _, state = https_json(env["MKP_CAFILE"], ports["hetzner"]["url"]
                              + "/__sandbox/state")
        acts = {a["command"]: a for a in state["actions"]
                if a["resources"] == [{"id": server["id"],
                                       "type": "server"}]}
        self.assertEqual(sorted(acts), ["create_server", "start_server"])
        self.assertEqual(acts["create_server"]["started"],
                         server["created"])
        old = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                            time.gmtime(time.time() - 96 * 86400))
        for act in acts.values():
            self.assertEqual(act["status"], "success")
            self.assertLessEqual(server["created"], act["finished"])
            self.assertLess(act["finished"], old)

    def test_bruno_vhosts_answer_over_https(self):
        """bruno's six vhosts answer over HTTPS with the sandbox CA"""
        env = self.box.read_env()
        port = env["MKP_SANDBOX_HTTPS_PORT"]
        for sub in VHOSTS:
            name = "%s.%s" % (sub, env["MKP_SANDBOX_DOMAIN"])
            status, body = curl(env["MKP_CAFILE"], "https://%s:%s/"
                                % (name, port), "--resolve",
                                "%s:%s:127.0.0.30" % (name, port))
            self.assertEqual(status, 200, "%s: %s" % (name, body))

    def test_nothing_listens_outside_loopback(self):
        """nothing the sandbox started listens outside 127.0.0.0/8"""
        loop = ipaddress.ip_network("127.0.0.0/8")
        found = listening(self.box.supervisor_pid())
        # The three fakes, bruno's sshd, traefik and two clusters.
        self.assertGreaterEqual(len(found), 7, found)
        for pid, ip, port in found:
            ip = getattr(ip, "ipv4_mapped", None) or ip
            self.assertIn(ip, loop, "pid %d listens on %s port %d"
                          % (pid, ip, port))

    def test_down_leaves_nothing(self):
        """down stops every process, closes every port, removes ready"""
        run = self.box.run
        pid = self.box.supervisor_pid()
        ports = [p["port"] for p in
                 read_json(os.path.join(run, "ports.json")).values()]
        code, out = self.box.ctl("down")
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"sandbox down in [0-9.]+ s")
        reap(pid)
        self.assertFalse(alive(pid))
        self.assertEqual(survivors(run), [])
        for port in ports:
            self.assertFalse(port_open("127.0.0.1", port), port)
        self.assertFalse(port_open("127.0.0.30", 2322))
        for name in ("ready", "supervisor.pid", "control.sock"):
            self.assertFalse(os.path.exists(os.path.join(run, name)),
                             name)

    def test_down_again_is_a_no_op(self):
        """down with nothing running says so and succeeds"""
        code, out = self.box.ctl("down")
        self.assertEqual(code, 0, out)
        self.assertIn("no sandbox is running", out)
        code, out = self.box.ctl("status")
        self.assertEqual(code, 1, out)

    def test_up_again_starts_clean(self):
        """up again makes a new CA and bruno exists exactly once"""
        code, out = self.box.ctl("up")
        self.assertEqual(code, 0, out)
        ca = open(os.path.join(self.box.run, "tls", "ca.pem")).read()
        self.assertNotEqual(ca, self.first_ca)
        env = self.box.read_env()
        _, body = https_json(env["MKP_CAFILE"], env["MKP_HETZNER_URL"]
                             + "/servers?name=bruno", env["HCLOUD_TOKEN"])
        self.assertEqual(len(body["servers"]), 1)
        self.assertEqual(body["servers"][0]["public_net"]["ipv4"]["ip"],
                         "127.0.0.30")

    def test_second_down_leaves_nothing(self):
        """down after the second up leaves nothing either"""
        pid = self.box.supervisor_pid()
        code, out = self.box.ctl("down")
        self.assertEqual(code, 0, out)
        reap(pid)
        self.assertEqual(survivors(self.box.run), [])
        self.assertFalse(port_open("127.0.0.30", 2322))


if __name__ == "__main__":
    taptest.main()
