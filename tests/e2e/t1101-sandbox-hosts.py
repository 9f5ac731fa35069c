#!/usr/bin/python3
"""t1101-sandbox-hosts: a server made through the fake is a real host.

POST /servers with a cloud-config that carries an ed25519 host key
and a device key must give a host whose sshd answers only once the
server is running, presents exactly that host key and accepts
exactly that device key, whose cloud-init stand-in answers like
cloud-init 24.4, whose processes the control socket manages, and
which stops when the server is deleted.  Real ssh is used
throughout, pinned to known host keys.

The sandbox here has its own run directory, ssh port and addresses
(127.0.0.50..59) and is always brought down at the end.
"""

import json
import os
import socket
import subprocess
import sys
import unittest

TOP = os.environ.get("MKP_TOP") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "sandbox"))
sys.dont_write_bytecode = True

import taptest  # noqa: E402
from boxtest import (Box, alive, become_subreaper,  # noqa: E402
                     port_open, ssh_argv, wait_for)

PORT = 2522
CONFIG = {"ssh_port": PORT, "first_host": 50, "last_host": 59,
          "vpn_host": 49, "cloud_init_seconds": 4,
          "fakes": {"hetzner": {"action_seconds": 0.5}}}
from fakes.testing import reference_json  # noqa: E402


def keygen(path, comment):
    """An ed25519 key pair; returns the public key line."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                    comment, "-f", path], check=True)
    with open(path + ".pub") as f:
        return f.read().strip()


class HostsBox(Box):
    """The test's sandbox, and the supervisor's control socket, through
    which a test drives the processes of a host as its stand-ins do."""

    def control(self, req):
        """One request on the supervisor's control socket."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(30)
            s.connect(os.path.join(self.run, "control.sock"))
            s.sendall((json.dumps(req) + "\n").encode())
            with s.makefile("rb") as reply:
                return json.loads(reply.readline())


def ssh(box, ip, key, known_hosts, command):
    """Real ssh, non-interactive, pinned, as the user the sandbox's
    hosts let in: (status, stdout, stderr)."""
    r = subprocess.run(
        ssh_argv(key, PORT, known_hosts, box.target(ip), command,
                 "ConnectTimeout=10"),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def cloud_config(private, public):
    """user_data with a pre-seeded ed25519 host key (FACTS 5.2)."""
    body = "".join("    %s\n" % line for line in private.strip().split("\n"))
    return ("#cloud-config\nssh_keys:\n  ed25519_private: |\n%s"
            "  ed25519_public: %s\n" % (body, public))


class SandboxHosts(unittest.TestCase):
    """The steps of one server's life, in order."""

    @classmethod
    def setUpClass(cls):
        become_subreaper()
        cls.box = HostsBox("t1101", CONFIG)
        keys = os.path.join(cls.box.tmp, "keys")
        os.mkdir(keys, 0o700)
        cls.hostkey = os.path.join(keys, "host")
        cls.hostpub = keygen(cls.hostkey, "root@app-1")
        cls.stranger = os.path.join(keys, "stranger")
        keygen(cls.stranger, "stranger@nowhere")
        cls.box.up()
        run = cls.box.run
        cls.device = os.path.join(run, "keys", "macbookpro")
        cls.other_device = os.path.join(run, "keys", "macmini")
        cls.ip = None

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def pinned(self, public, ip=None, name="known_hosts"):
        """A known_hosts file that pins public (a host's public key
        line) for ip, by default the new host's."""
        path = os.path.join(self.box.tmp, name)
        with open(path, "w") as f:
            f.write("[%s]:%d %s\n" % (ip or self.ip, PORT,
                                      " ".join(public.split()[:2])))
        return path

    def on_host(self, command):
        """Run command on the new host with the requested device key
        and the seeded host key pinned: (status, stdout, stderr)."""
        return ssh(self.box, self.ip, self.device,
                   self.pinned(self.hostpub), command)

    def test_create_server(self):
        """POST /servers gives 201, initializing, a fresh 127.0.0.N"""
        status, body = self.box.create_server(
            "app-1", "macbookpro", labels={"role": "production"},
            user_data=cloud_config(open(self.hostkey).read(),
                                   self.hostpub))
        self.assertEqual(status, 201, body)
        self.assertEqual(body["server"]["status"], "initializing")
        self.assertIsNone(body["root_password"])
        cls = self.__class__
        cls.server_id = body["server"]["id"]
        cls.ip = body["server"]["public_net"]["ipv4"]["ip"]
        self.assertEqual(cls.ip, "127.0.0.51")

    def test_ssh_only_once_running(self):
        """the host's SSH port accepts only once the server is running"""
        seen = []

        def booted():
            # The port first, then the status: a port that was open
            # must belong to a server that was running already.
            open_ = port_open(self.ip, PORT)
            status, body = self.box.api("GET", "/servers/%d"
                                        % self.server_id)
            self.assertEqual(status, 200, body)
            seen.append((open_, body["server"]["status"]))
            if open_:
                self.assertEqual(body["server"]["status"], "running",
                                 seen)
            return open_
        self.assertTrue(wait_for(booted, 10, 0.1), seen)
        self.assertIn((False, "initializing"), seen)

    def test_cloud_init_wait(self):
        """cloud-init status --wait prints dots, then status: done"""
        code, out, err = self.on_host("cloud-init status --wait")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"^\.+status: done\n$")

    def test_host_key_is_the_seeded_one(self):
        """the sshd presents exactly the host key from user_data"""
        r = subprocess.run(["ssh-keyscan", "-p", str(PORT), self.ip],
                           stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=30)
        offered = sorted(" ".join(line.split()[1:3]) for line in
                         r.stdout.decode().splitlines() if line.strip())
        self.assertEqual(offered, [" ".join(self.hostpub.split()[:2])])

    def test_only_the_requested_key_logs_in(self):
        """the requested device key logs in; any other key is refused"""
        pins = self.pinned(self.hostpub)
        code, out, err = ssh(self.box, self.ip, self.device, pins,
                             "echo in as $(id -un) on $MKP_SANDBOX_HOST")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "in as %s on app-1\n"
                         % self.box.env["MKP_SSH_USER"])
        for key in (self.other_device, self.stranger):
            code, out, err = ssh(self.box, self.ip, key, pins, "true")
            self.assertEqual(code, 255, key)
            self.assertIn("Permission denied", err)

    def test_wrong_pin_is_refused(self):
        """ssh refuses the host when another host key is pinned"""
        pins = self.pinned(open(self.stranger + ".pub").read())
        code, out, err = ssh(self.box, self.ip, self.device, pins, "true")
        self.assertEqual(code, 255)
        self.assertIn("Host key verification failed", err)

    def test_cloud_init_json(self):
        """--format json has the keys of the official example"""
        example = reference_json(
            "cloud-init-status-format-json.example.json")
        code, out, err = self.on_host("cloud-init status --format json")
        self.assertEqual(code, 0, err)
        got = json.loads(out)
        self.assertEqual(sorted(got), sorted(example))
        for stage in ("init-local", "init", "modules-config",
                      "modules-final"):
            self.assertEqual(sorted(got[stage]), sorted(example[stage]))
        self.assertEqual(out, json.dumps(got, indent=2, sort_keys=True)
                         + "\n")
        self.assertEqual((got["status"], got["stage"]), ("done", None))

    def test_cloud_init_long(self):
        """--long prints the fields of cloud-init 24.4 in its order"""
        code, out, err = self.on_host("cloud-init status --long")
        self.assertEqual(code, 0, err)
        fields = [line.split(":")[0] for line in out.splitlines()]
        self.assertEqual(fields, ["status", "extended_status",
                                  "boot_status_code", "last_update",
                                  "detail", "errors",
                                  "recoverable_errors"])

    def test_cloud_init_faults(self):
        """degraded exits 2 with status: done; error exits 1"""
        for outcome, want, line, ext in (
                ("degraded", 2, "status: done", "degraded done"),
                ("error", 1, "status: error", "error - done"),
                ("done", 0, "status: done", "done")):
            code, out = self.box.ctl("fault", "cloud-init", "app-1",
                                     outcome)
            self.assertEqual(code, 0, out)
            code, out, err = self.on_host("cloud-init status --long")
            self.assertEqual(code, want, out + err)
            self.assertEqual(out.splitlines()[0], line)
            self.assertIn("extended_status: %s\n" % ext, out)

    def test_cloud_init_version(self):
        """cloud-init --version answers like Ubuntu 24.04's 24.4.1"""
        code, out, err = self.on_host("cloud-init --version")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"^/usr/bin/cloud-init 24\.4\.1-\S+\n$")

    def test_control_socket(self):
        """the control socket spawns, lists, refuses twins and kills"""
        box = self.box
        spawn = {"op": "spawn", "host": "app-1", "name": "container/web",
                 "argv": ["sleep", "60"], "env": {}, "cwd": "/",
                 "log": os.path.join(box.tmp, "web.log")}
        first = box.control(spawn)
        self.assertTrue(first["ok"], first)
        again = box.control(spawn)
        self.assertFalse(again["ok"])
        self.assertIn("already running", again["error"])
        procs = box.control({"op": "list", "host": "app-1"})["procs"]
        web = [p for p in procs if p["name"] == "container/web"][0]
        self.assertEqual((web["pid"], web["state"]),
                         (first["pid"], "running"))
        killed = box.control({"op": "kill", "host": "app-1",
                              "name": "container/web", "signal": 15,
                              "wait": True})
        self.assertEqual(killed, {"ok": True, "exit_code": 143})
        self.assertFalse(alive(first["pid"]))
        facts = box.control({"op": "host", "host": "app-1"})
        self.assertEqual((facts["ok"], facts["ipv4"], facts["ssh_port"]),
                         (True, self.ip, PORT))
        self.assertEqual(box.control({"op": "list", "host": "nope"})["ok"],
                         False)
        again = box.control(spawn)
        self.assertTrue(again["ok"], again)

    def test_delete_stops_the_host(self):
        """DELETE /servers/{id} stops the host's sshd and processes"""
        procs = self.box.control({"op": "list", "host": "app-1"})["procs"]
        pids = [p["pid"] for p in procs if p["state"] == "running"]
        self.assertEqual(len(pids), 2)  # sshd and container/web
        status, body = self.box.api("DELETE", "/servers/%d"
                                    % self.server_id)
        self.assertEqual(status, 200, body)
        self.assertTrue(wait_for(
            lambda: not port_open(self.ip, PORT), 10))
        self.assertTrue(wait_for(
            lambda: not any(alive(p) for p in pids), 10))

    def test_address_not_reused(self):
        """the next server gets a new address, not the deleted one's"""
        status, body = self.box.create_server("app-1", "macbookpro")
        self.assertEqual(status, 201, body)
        ip = body["server"]["public_net"]["ipv4"]["ip"]
        self.assertEqual(ip, "127.0.0.52")
        self.assertTrue(wait_for(lambda: port_open(ip, PORT), 10))

    def test_bad_cloud_config(self):
        """bad cloud-config YAML boots anyway; cloud-init ends degraded"""
        status, body = self.box.create_server(
            "app-2", "macbookpro",
            user_data="#cloud-config\nssh_keys: [unclosed\n")
        self.assertEqual(status, 201, body)
        ip = body["server"]["public_net"]["ipv4"]["ip"]
        pub = os.path.join(self.box.run, "hosts", "app-2", "fs", "etc",
                           "ssh", "ssh_host_ed25519_key.pub")
        self.assertTrue(wait_for(lambda: port_open(ip, PORT), 10))
        with open(pub) as f:
            known = self.pinned(f.read(), ip, "known_hosts_app2")
        code, out, err = ssh(self.box, ip, self.device, known,
                             "cloud-init status --wait --long")
        self.assertEqual(code, 2, out + err)
        self.assertRegex(out, r"^\.+status: done\n")
        self.assertIn("Failed loading yaml blob", out)

    def test_down_leaves_nothing(self):
        """down stops both hosts and the fakes; nothing is left"""
        code, out = self.box.close()
        self.assertEqual(code, 0, out)
        for ip in ("127.0.0.50", "127.0.0.52", "127.0.0.53"):
            self.assertFalse(port_open(ip, PORT), ip)


if __name__ == "__main__":
    taptest.main()
