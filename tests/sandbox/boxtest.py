"""boxtest.py: what the end-to-end tests of a whole sandbox share.

Each such test (t11xx, t12xx) runs a sandbox of its own through
sandboxctl: a Box is its run directory and config override, so two
tests, or a test and a developer's sandbox, never meet.  The rest
are the probes those tests make of it: whether a process or a port
is still there, polling for a state, and requests to the fakes and
the hosts with curl and ssh, which trust only what the sandbox pins.

The fakes' own tests (t100x) start a fake in-process and share
fakes/testing.py instead; polling is the one thing both kinds need,
so wait_for lives here and testing.py uses it.

Standard library only: the tests run with /usr/bin/python3.
"""

import ctypes
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

CTL = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "sandboxctl")
PR_SET_CHILD_SUBREAPER = 36


def alive(pid):
    """True unless pid is gone or a zombie: here PID 1 reaps nothing,
    so a dead process can linger as a zombie, which is not alive."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0] not in "ZX"
    except OSError:
        return False


def port_open(addr, port):
    """True if something accepts connections on addr:port."""
    try:
        socket.create_connection((addr, port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_for(predicate, timeout, step=0.05):
    """Poll predicate() until it is true or timeout seconds pass, since
    the sandbox changes state in the background; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def become_subreaper():
    """Adopt our orphans: the supervisor outlives sandboxctl, and PID 1
    here would leave it a zombie; as ours, reap() can collect it."""
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap(pid):
    """Reap pid if it became our child; ignore it otherwise."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def curl(ca, url, *options):
    """One HTTPS request with curl, trusting only the CA file ca and no
    proxy, as mkprov's helpers do: (status, body text); status is 0
    when no answer came."""
    r = subprocess.run(["curl", "-sS", "--noproxy", "*", "--cacert", ca,
                        "-o", "-", "-w", "\n%{http_code}"] + list(options)
                       + [url], stdout=subprocess.PIPE, timeout=30)
    text, _, status = r.stdout.decode().rpartition("\n")
    return int(status or 0), text


def https_json(ca, url, token=None, method="GET", body=None):
    """A JSON API call with curl (see curl): (status, parsed body, or
    None when the body is empty)."""
    options = ["-X", method]
    if token:
        options += ["-H", "Authorization: Bearer " + token]
    if body is not None:
        options += ["-H", "Content-Type: application/json",
                    "--data-binary", json.dumps(body)]
    status, text = curl(ca, url, *options)
    return status, json.loads(text) if text.strip() else None


def ssh_argv(key, port, known_hosts, target, command, *options):
    """The argv of a real ssh as mkprov runs it: no prompts, only key,
    a connection of its own, and the host checked against known_hosts
    alone (not checked at all when known_hosts is None, for hosts
    whose key a test does not care about).  options: more -o values.
    """
    if known_hosts:
        checks = ["UserKnownHostsFile=" + known_hosts,
                  "StrictHostKeyChecking=yes"]
    else:
        checks = ["UserKnownHostsFile=/dev/null",
                  "StrictHostKeyChecking=no"]
    argv = ["ssh", "-i", key, "-p", str(port)]
    for option in ["BatchMode=yes", "IdentitiesOnly=yes",
                   "ControlMaster=no", "GlobalKnownHostsFile=/dev/null"
                   ] + checks + list(options):
        argv += ["-o", option]
    return argv + [target, command]


class Box:
    """A test's own sandbox: a run directory and a config override.

    name tags the temporary directory (mkp-NAME.*); config holds the
    test's own ssh port and address range, so that it cannot clash
    with another sandbox.  The directory is searchable by others
    (0711): when the tests run as root, PostgreSQL clusters run as
    the postgres user inside it.  env holds the exports of
    `sandboxctl env` once read; its MKP_SSH_USER is the user the
    hosts let in (root, or the user running the tests).
    """

    def __init__(self, name, config):
        self.tmp = tempfile.mkdtemp(prefix="mkp-%s." % name)
        os.chmod(self.tmp, 0o711)
        self.run = os.path.join(self.tmp, "run")
        self.config = os.path.join(self.tmp, "config.json")
        with open(self.config, "w") as f:
            json.dump(config, f)
        self.env = {}

    def target(self, ip):
        """USER@IP for ssh to a host of this sandbox (read_env first)."""
        return "%s@%s" % (self.env["MKP_SSH_USER"], ip)

    def ctl(self, *words):
        """Run sandboxctl on this sandbox: (status, stdout+stderr)."""
        r = subprocess.run([CTL, "--rundir", self.run, "--config",
                            self.config] + list(words),
                           stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        return r.returncode, r.stdout.decode()

    def read_env(self):
        """Read the exports of `sandboxctl env` into env; returns env.
        Read again after an up: a new sandbox has a new CA."""
        code, out = self.ctl("env")
        if code != 0:
            raise AssertionError("sandboxctl env: " + out)
        self.env = dict(re.findall(r"^export (\w+)='(.*)'$", out, re.M))
        return self.env

    def up(self):
        """Start the sandbox and read its exports, for a test whose
        subject is not the start itself."""
        code, out = self.ctl("up")
        if code != 0:
            raise RuntimeError("sandboxctl up: " + out)
        self.read_env()

    def supervisor_pid(self):
        """The running supervisor's pid, or None."""
        try:
            with open(os.path.join(self.run, "supervisor.pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def api(self, method, path, body=None):
        """One call to the fake Hetzner API: (status, JSON body)."""
        return https_json(self.env["MKP_CAFILE"],
                          self.env["MKP_HETZNER_URL"] + path,
                          self.env["HCLOUD_TOKEN"], method, body)

    def create_server(self, name, key, **more):
        """POST /servers for a server as the runbook orders it (cpx32,
        Ubuntu 24.04, nbg1) with one device key and more fields:
        (status, JSON body)."""
        body = dict(name=name, server_type="cpx32", image="ubuntu-24.04",
                    location="nbg1", ssh_keys=[key], **more)
        return self.api("POST", "/servers", body)

    def close(self):
        """Down, whatever state the sandbox is in; reap the supervisor
        if it is ours; remove the files unless MKP_KEEP=1.  Returns
        what down returned, (status, output)."""
        pid = self.supervisor_pid()
        code, out = self.ctl("down")
        if pid:
            reap(pid)
        if os.environ.get("MKP_KEEP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)
        return code, out
