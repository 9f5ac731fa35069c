#!/usr/bin/python3
"""supervisor.py: the one process that owns a running sandbox.

usage: supervisor.py --rundir DIR

`sandboxctl up` prepares DIR (config.json, secrets.json, tls/, keys/)
and starts this in the background.  It runs the Hetzner, Cloudflare
and Infisical fakes in-process on 127.0.0.1, checks that each answers
GET /__sandbox/whoami over HTTPS with the sandbox CA, seeds them with
the previous production server, its DNS records and its secrets, and
then writes DIR/ready.

Every process the sandbox starts (an sshd per host, PostgreSQL,
service stand-ins, short helper commands) is a child of this process
and is reaped here: PID 1 on these machines reaps nothing, so a
process whose parent forgets it stays a zombie forever.  The process
is also a child subreaper, so what a child leaves behind comes back
here to be reaped and stopped too.  Every pid is recorded in
DIR/pids.json, which `sandboxctl down` reads to prove that nothing
survived.

Stand-ins (the docker command on a host) start and stop processes
through DIR/control.sock; see ControlHandler for the protocol.

SIGTERM or SIGINT stops every child (SIGTERM, then SIGKILL after the
grace period), waits for all of them, stops the fakes, removes
DIR/ready and DIR/supervisor.pid and exits 0.  Exit status 1: the
sandbox could not be started (the reason is the "error:" log line).

Files it writes in DIR: supervisor.pid, ready (JSON: pid, time,
seconds), ports.json (per fake: port, url, base_url; the fakes also
write ports/NAME.port), pids.json (every child ever: host, name,
pid, argv, start_ticks, state, exit_code; kept after exit for
`sandboxctl down` to check), known_hosts (the previous server's
pinned host key), control.sock, hosts/NAME/ (see hosts.py) and
logs/ (this log, the fakes' request logs).
"""

import argparse
import ctypes
import http.client
import json
import os
import pwd
import shlex
import shutil
import signal
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("MKP_TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import hosts as hostsmod  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
STOPPING = False


class SandboxError(Exception):
    """A failure with a one-line message that names its subject."""


def log(msg):
    """One timestamped line in supervisor.log (our stdout)."""
    now = time.time()
    stamp = time.strftime("%H:%M:%S", time.localtime(now))
    print("%s.%03d supervisor: %s" % (stamp, int(now * 1000) % 1000, msg),
          flush=True)


def write_json(path, data, mode=0o644):
    """Write through a temporary file so a reader never sees half."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode),
              "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def proc_stat(pid):
    """(state letter, ppid, start time in ticks) of a pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    rest = text.rpartition(")")[2].split()
    return rest[0], int(rest[1]), int(rest[19])


def parent_map():
    """ppid -> [pid] for every process, to find a child's descendants."""
    kids = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                kids.setdefault(st[1], []).append(int(entry))
    return kids


def descendants(pid, kids=None):
    """Every live descendant of pid: what a stop must not leave behind."""
    kids = parent_map() if kids is None else kids
    out, todo = [], list(kids.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def signal_quietly(pid, sig, group=False):
    """Send a signal to a pid (or its group) that may be gone already."""
    try:
        (os.killpg if group else os.kill)(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def exit_code_of(status):
    """Shell-style code: the exit status, or 128 + the signal."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


class Proc:
    """One child: what it runs, for which host, and how it ended."""

    def __init__(self, host, name, argv, popen, kind, log_path):
        self.host, self.name, self.argv = host, name, list(argv)
        self.popen, self.pid, self.kind = popen, popen.pid, kind
        self.log = log_path
        self.started = time.time()
        st = proc_stat(self.pid)
        self.ticks = st[2] if st else None
        self.finished = None
        self.exit_code = None

    @property
    def state(self):
        """running until reaped, then exited."""
        return "running" if self.exit_code is None else "exited"

    def public(self):
        """The record the control API's list op returns."""
        return {"name": self.name, "pid": self.pid, "state": self.state,
                "exit_code": self.exit_code, "started": self.started,
                "finished": self.finished}

    def record(self):
        """The pids.json entry: enough for down to recognise the pid."""
        rec = self.public()
        rec.update(host=self.host, argv=self.argv, kind=self.kind,
                   start_ticks=self.ticks)
        return rec


class Children:
    """Every process the supervisor starts, reaped by one thread.

    All children are started here and reaped only by the reaper
    thread (waitpid(-1)), never by subprocess's own wait, so that no
    exit status is lost to a race between two waiters.  A child is
    registered under the lock it is started with, and the reaper takes
    that lock before it looks a pid up, so it always finds it.
    """

    def __init__(self, rundir, grace):
        self.rundir, self.grace = rundir, grace
        self.cond = threading.Condition()
        self.procs = {}        # (host, name) -> latest Proc
        self.live = {}         # pid -> Proc still running
        self.history = []      # every Proc ever, for pids.json
        self.closing = False
        self.done = False
        self.serial = 0
        self.reaper = threading.Thread(target=self._reap_loop,
                                       name="reaper", daemon=True)
        self.reaper.start()

    def _reap_loop(self):
        """Reap every child (ours and adopted orphans) as it exits."""
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                with self.cond:
                    if self.done:
                        return
                    self.cond.wait(0.1)
                continue
            self._reaped(pid, exit_code_of(status))

    def _reaped(self, pid, code):
        """Record an exit; a container's other processes die with it."""
        with self.cond:
            proc = self.live.pop(pid, None)
            if proc is None:
                log("reaped adopted orphan pid %d (exit %d)" % (pid, code))
                return
            proc.exit_code, proc.finished = code, time.time()
            proc.popen.returncode = code
            if proc.kind != "run":
                log("%s/%s: pid %d exited %d"
                    % (proc.host, proc.name, pid, code))
            signal_quietly(pid, signal.SIGKILL, group=True)
            self._save()
            self.cond.notify_all()

    def _save(self):
        """Rewrite pids.json; called with the lock held."""
        write_json(os.path.join(self.rundir, "pids.json"),
                   {"supervisor": os.getpid(),
                    "procs": [p.record() for p in self.history]})

    def _user_ids(self, user, env):
        """setuid/setgid arguments for Popen, and the user's env."""
        if user is None:
            return {}
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise SandboxError("%s: no such user" % user)
        if os.getuid() != 0 and pw.pw_uid != os.getuid():
            raise SandboxError("%s: cannot run as this user: the"
                               " supervisor is not root" % user)
        env.update(HOME=pw.pw_dir, USER=user, LOGNAME=user)
        if pw.pw_uid == os.getuid():
            return {}
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    def spawn(self, host, name, argv, env=None, cwd=None, log_path=None,
              user=None, kind="service", stdin=None):
        """Start argv as our child in its own session; returns its Proc.

        The child's stdout and stderr are appended to log_path.  A
        name that is running is refused; one that has exited is
        replaced.
        """
        env = dict(os.environ if env is None else env)
        ids = self._user_ids(user, env)
        if log_path:
            os.makedirs(os.path.dirname(log_path), exist_ok=True)
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            with self.cond:
                return self._start(host, name, argv, env, cwd, out, ids,
                                   kind, log_path, stdin)
        finally:
            if log_path:
                out.close()

    def _start(self, host, name, argv, env, cwd, out, ids, kind, log_path,
               stdin):
        """The locked part of spawn: check, fork, register."""
        old = self.procs.get((host, name))
        if old is not None and old.exit_code is None:
            raise SandboxError("%s/%s: already running (pid %d): kill it"
                               " first" % (host, name, old.pid))
        if self.closing:
            raise SandboxError("%s/%s: the sandbox is stopping"
                               % (host, name))
        try:
            popen = subprocess.Popen(
                argv, stdin=stdin or subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, env=env, cwd=cwd,
                close_fds=True, start_new_session=True, **ids)
        except (OSError, subprocess.SubprocessError) as e:
            raise SandboxError("%s/%s: %s: cannot start: %s"
                               % (host, name, argv[0], e))
        proc = Proc(host, name, argv, popen, kind, log_path)
        self.procs[(host, name)] = proc
        self.live[proc.pid] = proc
        self.history.append(proc)
        self._save()
        return proc

    def wait(self, proc, timeout):
        """Wait until the reaper has seen proc exit; its code or None."""
        with self.cond:
            self.cond.wait_for(lambda: proc.exit_code is not None,
                               timeout)
            return proc.exit_code

    def run(self, argv, stdin_data=None, timeout=30, env=None):
        """Run a short command to completion: (exit code, output).

        The supervisor's own subprocess calls go through here, since
        subprocess.run would wait for a pid the reaper may take first.
        """
        with self.cond:
            self.serial += 1
            name = "run-%d" % self.serial
        with tempfile.TemporaryFile() as out, \
                tempfile.TemporaryFile() as inp:
            inp.write(stdin_data or b"")
            inp.seek(0)
            with self.cond:
                proc = self._start("supervisor", name, argv,
                                   dict(env or os.environ), None, out, {},
                                   "run", None, inp)
            code = self.wait(proc, timeout)
            if code is None:
                self.stop([proc])
                raise SandboxError("%s: no answer after %d s"
                                   % (argv[0], timeout))
            out.seek(0)
            return code, out.read().decode("utf-8", "replace")

    def find(self, host, name):
        """The latest Proc of that name on that host, or None."""
        with self.cond:
            return self.procs.get((host, name))

    def of_host(self, host):
        """Every Proc a host has had, latest per name."""
        with self.cond:
            return [p for (h, _), p in sorted(self.procs.items())
                    if h == host]

    def signal(self, proc, sig, wait, timeout=None):
        """Signal one child; with wait, SIGKILL it after the timeout."""
        signal_quietly(proc.pid, sig)
        if not wait:
            return None
        code = self.wait(proc, self.grace if timeout is None else timeout)
        if code is None:
            self.stop([proc])
            code = proc.exit_code
        return code

    def stop(self, procs):
        """SIGTERM, grace period, SIGKILL: for procs and all below them.

        The descendants are taken before the signal, since a dead
        parent's children move (to us, the subreaper) and could no
        longer be found under it.
        """
        procs = [p for p in procs if p.exit_code is None]
        kids = parent_map()
        tree = {p.pid: descendants(p.pid, kids) for p in procs}
        for p in procs:
            signal_quietly(p.pid, signal.SIGTERM)
        deadline = time.time() + self.grace
        for p in procs:
            self.wait(p, max(0.0, deadline - time.time()))
        for p in procs:
            for pid in [p.pid] + tree[p.pid]:
                signal_quietly(pid, signal.SIGKILL)
            signal_quietly(p.pid, signal.SIGKILL, group=True)
        for p in procs:
            if self.wait(p, 5) is None:
                log("%s/%s: pid %d survived SIGKILL"
                    % (p.host, p.name, p.pid))

    def stop_host(self, host):
        """Stop everything that runs for one host (deleted server)."""
        self.stop(self.of_host(host))

    def stop_all(self):
        """Refuse new children, stop all, then reap adopted orphans."""
        with self.cond:
            self.closing = True
            procs = list(self.live.values())
        self.stop(procs)
        self._stop_orphans()
        with self.cond:
            self._save()
            self.done = True
            self.cond.notify_all()

    def _stop_orphans(self):
        """Kill what was reparented to us and wait until it is reaped."""
        deadline = time.time() + 5
        left = []
        while time.time() < deadline:
            left = parent_map().get(os.getpid(), [])
            if not left:
                return
            for pid in left:
                signal_quietly(pid, signal.SIGKILL)
            time.sleep(0.05)
        log("children still present after SIGKILL: %s" % left)


class ControlServer(socketserver.ThreadingMixIn,
                    socketserver.UnixStreamServer):
    """RUN/control.sock: the stand-ins' way to start and stop processes."""

    daemon_threads = True

    def __init__(self, path, supervisor):
        self.supervisor = supervisor
        if os.path.exists(path):
            os.unlink(path)
        super().__init__(path, ControlHandler)
        os.chmod(path, 0o600)


class ControlHandler(socketserver.StreamRequestHandler):
    """One JSON object per line in, one JSON line out.

    Ops: spawn {host, name, argv, env, cwd, log, user} -> {pid};
    kill {host, name, signal=15, wait=true, timeout} -> {exit_code};
    list {host} -> {procs: [{name, pid, state, exit_code, started,
    finished}]}; host {host} -> the host's facts.  Every answer has
    "ok"; a failure is {"ok": false, "error": "..."}.
    """

    def handle(self):
        """Answer each request line until the client hangs up."""
        for line in self.rfile:
            if not line.strip():
                continue
            try:
                req = json.loads(line)
                if not isinstance(req, dict):
                    raise ValueError("not an object")
                answer = self.server.supervisor.control(req)
            except ValueError as e:
                answer = {"ok": False, "error": "control: bad request: %s"
                          % e}
            except SandboxError as e:
                answer = {"ok": False, "error": str(e)}
            except Exception as e:  # a bug here must not kill the socket
                log("control: %r: %r" % (line[:200], e))
                answer = {"ok": False, "error": "control: internal error:"
                          " %s" % e}
            self.wfile.write((json.dumps(answer) + "\n").encode())
            self.wfile.flush()


class Supervisor:
    """The sandbox: config, children, hosts, fakes and control socket."""

    def __init__(self, rundir):
        self.rundir = rundir
        self.cfg = self._read("config.json")
        self.secrets = self._read("secrets.json")
        self.tls = os.path.join(rundir, "tls")
        self.children = Children(rundir, float(self.cfg["stop_grace"]))
        self.hosts = hostsmod.SandboxHosts(self.cfg, rundir, TOP,
                                           self.children, log)
        self.fakes = {}
        self.control_server = None

    def _read(self, name):
        """A JSON file sandboxctl prepared in the run directory."""
        path = os.path.join(self.rundir, name)
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            raise SandboxError("%s: cannot read: %s: run sandboxctl up"
                               % (path, e))

    # -- the control API ---------------------------------------------------

    def control(self, req):
        """Answer one control request; SandboxError becomes ok:false."""
        op = req.get("op")
        handler = {"spawn": self._op_spawn, "kill": self._op_kill,
                   "list": self._op_list, "host": self._op_host}.get(op)
        if handler is None:
            raise SandboxError("control: %r: unknown op: use spawn, kill,"
                               " list or host" % (op,))
        host = req.get("host")
        facts = self.hosts.facts(host) if isinstance(host, str) else None
        if facts is None:
            raise SandboxError("%s: no such sandbox host" % (host,))
        return handler(req, facts)

    def _op_spawn(self, req, facts):
        """Start a process for a host (a container, a database)."""
        name, argv = req.get("name"), req.get("argv")
        if not isinstance(name, str) or not name.strip():
            raise SandboxError("spawn: name: want a non-empty string")
        if not isinstance(argv, list) or not argv or \
                not all(isinstance(a, str) for a in argv):
            raise SandboxError("%s/%s: argv: want a list of strings"
                               % (facts["name"], name))
        env = req.get("env") or {}
        if not isinstance(env, dict):
            raise SandboxError("%s/%s: env: want an object"
                               % (facts["name"], name))
        log_path = req.get("log") or os.path.join(
            facts["dir"], "logs", name.replace("/", "_") + ".log")
        proc = self.children.spawn(
            facts["name"], name, argv, env=self._host_env(facts, env),
            cwd=req.get("cwd") or facts["root"], log_path=log_path,
            user=req.get("user"))
        log("%s/%s: started pid %d: %s" % (facts["name"], name, proc.pid,
                                          " ".join(argv)[:200]))
        return {"ok": True, "pid": proc.pid}

    def _host_env(self, facts, env):
        """A host process's environment: the host's PATH, then env."""
        base = {"PATH": os.path.join(TOP, "tests", "sandbox", "bin") + ":"
                + hostsmod.SYSTEM_PATH, "HOME": "/root", "LANG": "C.UTF-8",
                "MKP_SANDBOX_HOST": facts["name"],
                "MKP_SANDBOX_RUN": self.rundir,
                "MKP_SANDBOX_ROOT": facts["root"], "MKP_TOP": TOP}
        base.update({str(k): str(v) for k, v in env.items()})
        return base

    def _op_kill(self, req, facts):
        """Signal a process; with wait, its exit code once reaped."""
        proc = self.children.find(facts["name"], req.get("name"))
        if proc is None:
            raise SandboxError("%s/%s: no such process"
                               % (facts["name"], req.get("name")))
        sig = int(req.get("signal", signal.SIGTERM))
        if proc.exit_code is not None:
            return {"ok": True, "exit_code": proc.exit_code}
        timeout = req.get("timeout")
        code = self.children.signal(proc, sig, req.get("wait", True),
                                    None if timeout is None
                                    else float(timeout))
        return {"ok": True, "exit_code": code}

    def _op_list(self, req, facts):
        """Every process the host has had (latest per name)."""
        return {"ok": True, "procs": [p.public() for p in
                                      self.children.of_host(facts["name"])]}

    def _op_host(self, req, facts):
        """host.json's facts and the sshd state."""
        out = dict(facts)
        out["ok"] = True
        return out

    # -- the fakes ---------------------------------------------------------

    def fake_configs(self):
        """Each fake's config: sandbox credentials, then overrides."""
        sec = self.secrets
        keys = [{"name": dev.lower(), "public_key": d["public"],
                 "labels": {"device": dev.lower()}}
                for dev, d in sec["devices"].items()]
        inf = self.cfg.get("infisical", {})
        env, path = inf.get("environment", "prod"), inf.get("path", "/")
        project = {e: {"/": {}} for e in ("dev", "staging")}
        project[env] = {path: dict(sec["infisical_secrets"])}
        conf = {
            "hetzner": {"token": sec["hetzner_token"],
                        "project_keys": keys},
            # Scoped to the sandbox's zone, as a real DNS token is: it
            # can find its zone by name but not list every zone.
            "cloudflare": {"tokens": {sec["cloudflare_token"]:
                                      [self.cfg["domain"].lower()]}},
            "infisical": {"identities": [{
                "clientId": sec["infisical_client_id"],
                "clientSecret": sec["infisical_client_secret"]}],
                "projects": {sec["infisical_project_id"]: project}},
        }
        for name, over in (self.cfg.get("fakes") or {}).items():
            conf.setdefault(name, {}).update(over)
        return conf

    def start_fakes(self):
        """Serve the three fakes on 127.0.0.1 and check each answers."""
        from fakes.cloudflare import CloudflareFake
        from fakes.hetzner import HetznerFake
        from fakes.infisical import InfisicalFake
        conf = self.fake_configs()
        cert, key = (os.path.join(self.tls, f) for f in ("cert.pem",
                                                          "key.pem"))
        ports = {}
        for name, cls, hooks in (("hetzner", HetznerFake, self.hosts),
                                 ("cloudflare", CloudflareFake, None),
                                 ("infisical", InfisicalFake, None)):
            fake = cls(self.rundir, conf.get(name, {}), hooks)
            port = fake.start(cert, key, "127.0.0.1", 0)
            self.fakes[name] = fake
            ports[name] = {"port": port,
                           "url": "https://127.0.0.1:%d" % port,
                           "base_url": fake.base_url}
            self.whoami(name, port)
        write_json(os.path.join(self.rundir, "ports.json"), ports)

    def whoami(self, name, port):
        """GET /__sandbox/whoami over HTTPS, trusting only our CA."""
        ctx = ssl.create_default_context(
            cafile=os.path.join(self.tls, "ca.pem"))
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
                                           timeout=5)
        try:
            conn.request("GET", "/__sandbox/whoami")
            resp = conn.getresponse()
            body = json.loads(resp.read())
        except (OSError, ValueError, http.client.HTTPException) as e:
            raise SandboxError("%s: https://127.0.0.1:%d/__sandbox/whoami:"
                               " %s" % (name, port, e))
        finally:
            conn.close()
        if resp.status != 200 or body.get("fake") != name or \
                body.get("pid") != os.getpid():
            raise SandboxError("%s: port %d answers as %r, not as this"
                               " sandbox's fake" % (name, port, body))
        log("%s: serving %s" % (name, body.get("base_url")))

    # -- the previous production server -------------------------------------

    def seed(self):
        """bruno (or whatever sandbox.json names): server, DNS, services."""
        prev = self.cfg["previous_server"]
        name = prev["name"]
        private, public = self._host_key(name)
        body = {"name": name, "server_type": prev["server_type"],
                "image": prev["image"], "location": prev["location"],
                "ssh_keys": [d.lower() for d in self.secrets["devices"]],
                "labels": prev.get("labels", {}),
                "user_data": cloud_config(private, public),
                "start_after_create": True}
        from fakes.common import ApiError
        try:
            # Long up already: created AGE ago, its actions done then,
            # and its host booted (cloud-init finished) at that time.
            created = self.fakes["hetzner"].create_server(
                body, booted=True, age_seconds=AGE)
        except ApiError as e:
            raise SandboxError("%s: cannot create the server: %s: %s"
                               % (name, e.code, e.message))
        server = created["server"]
        ip = server["public_net"]["ipv4"]["ip"]
        state = self.hosts.wait_booted(name, 15)
        if state != "running":
            host = self.hosts.get(name)
            raise SandboxError("%s: %s:%d: %s" % (
                name, ip, self.cfg["ssh_port"],
                host.error if host and host.error else "sshd " + state))
        self._pin(ip, public)
        self.seed_dns(ip)
        self.seed_services(name, ip)
        log("%s: previous production server on %s, server id %d"
            % (name, ip, server["id"]))

    def _host_key(self, name):
        """A host key made here, so the sandbox can pin it."""
        path = os.path.join(self.rundir, "keys", "%s_host_ed25519" % name)
        code, out = self.children.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
             "root@" + name, "-f", path])
        if code != 0:
            raise SandboxError("%s: ssh-keygen failed: %s"
                               % (path, out.strip()))
        with open(path) as f, open(path + ".pub") as g:
            return f.read(), g.read().strip()

    def _pin(self, ip, public):
        """RUN/known_hosts: the seeded host's key, as a client pins it."""
        line = "[%s]:%d %s\n" % (ip, self.cfg["ssh_port"],
                                 " ".join(public.split()[:2]))
        with open(os.path.join(self.rundir, "known_hosts"), "a") as f:
            f.write(line)

    def seed_dns(self, ip):
        """The zone: six runbook A records, and others to leave alone."""
        cf = self.fakes["cloudflare"]
        domain = self.cfg["domain"]
        zid = cf.add_zone(domain)
        for sub in RUNBOOK_VHOSTS:
            cf.add_record(zid, "A", "%s.%s" % (sub, domain), ip,
                          proxied=(sub != "git"))
        vpn = "127.0.0.%d" % self.cfg.get("vpn_host", 5)
        for rtype, rname, content, proxied in (
                ("A", domain, "127.0.0.4", True),
                ("CNAME", "www." + domain, domain, True),
                ("MX", domain, "mail." + domain, False),
                ("TXT", domain, "v=spf1 mx -all", False),
                ("A", "vpn." + domain, vpn, False),
                ("A", "mail." + domain, "127.0.0.6", False)):
            cf.add_record(zid, rtype, rname, content, proxied=proxied)
        log("cloudflare: zone %s with %d records"
            % (domain, len(RUNBOOK_VHOSTS) + 6))

    def seed_services(self, name, ip):
        """Bring up the previous server's services over the real ssh path.

        The compose file and the Infisical-like database come from
        tests/sandbox/seed/; .env is filled from the seeded secrets.
        Skipped, with a log line, while the docker stand-in is absent.
        """
        seed = os.path.join(HERE, "seed")
        docker = os.path.join(HERE, "bin", "docker")
        missing = [p for p in (docker, os.path.join(seed, SEED_COMPOSE))
                   if not os.path.exists(p)]
        if missing:
            log("%s: services skipped: %s not there yet"
                % (name, ", ".join(os.path.relpath(p, TOP)
                                   for p in missing)))
            return
        rel = self.cfg["previous_server"]["services_dir"].strip("/")
        host = self.hosts.get(name)
        target = os.path.join(host.fs, rel)
        os.makedirs(target, mode=0o755, exist_ok=True)
        shutil.copyfile(os.path.join(seed, SEED_COMPOSE),
                        os.path.join(target, "docker-compose.yml"))
        self._write_dotenv(seed, os.path.join(target, ".env"))
        t0 = time.time()
        self.ssh(ip, 'cd "$MKP_SANDBOX_ROOT/%s" && docker compose up -d'
                 % rel, timeout=120)
        sql = os.path.join(seed, SEED_SQL)
        if os.path.exists(sql):
            self._load_sql(ip, sql)
        log("%s: services up and database loaded in %.2f s"
            % (name, time.time() - t0))

    def _load_sql(self, ip, sql):
        """Load the Infisical-like data as the runbook reads it back.

        The database user and name come from the container's env
        (`docker inspect`), as in the runbook's step 6.1.
        """
        out = self.ssh(ip, "docker inspect %s --format '{{json"
                       " .Config.Env}}'" % SEED_CONTAINER)
        try:
            env = dict(e.partition("=")[::2] for e in json.loads(out))
        except ValueError:
            raise SandboxError("%s: docker inspect %s: not a JSON list:"
                               " %r" % (ip, SEED_CONTAINER, out[:200]))
        user = env.get("POSTGRES_USER") or "postgres"
        db = env.get("POSTGRES_DB") or user
        with open(sql, "rb") as f:
            self.ssh(ip, "docker exec -i %s psql -q -v ON_ERROR_STOP=1"
                     " -U %s -d %s >/dev/null"
                     % (SEED_CONTAINER, shlex.quote(user), shlex.quote(db)),
                     stdin_data=f.read(), timeout=120)

    def _write_dotenv(self, seed, path):
        """.env from the seed's template, or every secret if none."""
        import dockerlib
        values = dict(self.secrets["infisical_secrets"],
                      DOMAIN=self.cfg["domain"])
        tpl = os.path.join(seed, SEED_ENV_TEMPLATE)
        if os.path.exists(tpl):
            with open(tpl) as f:
                text = dockerlib.render_env_template(f.read(), values)
        else:
            text = "".join("%s=%s\n" % (k, dockerlib.dotenv_quote(v))
                           for k, v in sorted(values.items()))
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                          0o600), "w") as f:
            f.write(text)

    def ssh(self, ip, command, stdin_data=None, timeout=60):
        """Run a command on a host as an operator would: real ssh."""
        argv = ["ssh", "-i", self.secrets["operator_key"],
                "-p", str(self.cfg["ssh_port"]),
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=" + os.path.join(self.rundir,
                                                           "known_hosts"),
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "ControlMaster=no", "-o", "IdentitiesOnly=yes",
                "-o", "LogLevel=ERROR",
                "%s@%s" % (hostsmod.ssh_user(), ip), command]
        code, out = self.children.run(argv, stdin_data, timeout)
        if code != 0:
            last = out.strip().splitlines()[-1:] or ["no output"]
            raise SandboxError("%s: ssh %r: exit %d: %s"
                               % (ip, command, code, last[0]))
        return out

    # -- life cycle --------------------------------------------------------

    def start(self):
        """Everything up to rundir/ready, step by step."""
        t0 = time.time()
        for step in (self.start_fakes, self.start_control, self.seed):
            if STOPPING:
                raise SandboxError("stopped by a signal while starting")
            step()
        write_json(os.path.join(self.rundir, "ready"),
                   {"pid": os.getpid(), "time": time.time(),
                    "seconds": round(time.time() - t0, 3)})
        log("ready in %.2f s" % (time.time() - t0))

    def start_control(self):
        """The control socket, served from a thread."""
        path = os.path.join(self.rundir, "control.sock")
        self.control_server = ControlServer(path, self)
        threading.Thread(target=self.control_server.serve_forever,
                         name="control", daemon=True).start()

    def shutdown(self):
        """Stop in the reverse order: no survivor, nothing half done."""
        t0 = time.time()
        remove_quietly(os.path.join(self.rundir, "ready"))
        if self.control_server:
            self.control_server.shutdown()
            self.control_server.server_close()
        self.children.stop_all()
        for name, fake in self.fakes.items():
            fake.stop()
        remove_quietly(os.path.join(self.rundir, "control.sock"))
        log("stopped in %.2f s" % (time.time() - t0))


STOP_DEADLINE = 30  # seconds: longer than any grace period of a child
AGE = 86400 * 97  # how long the previous server has been running
RUNBOOK_VHOSTS = ("secrets", "git", "media", "cdn", "notes", "docs")
SEED_COMPOSE = "docker-compose.yml"
SEED_ENV_TEMPLATE = "env.template"
SEED_SQL = "infisical.sql"
SEED_CONTAINER = "infisical-postgres"


def cloud_config(private, public):
    """user_data that pins a host key, as mkprov itself will send it."""
    body = "".join("    %s\n" % line for line in private.strip().split("\n"))
    return ("#cloud-config\nssh_deletekeys: true\nssh_keys:\n"
            "  ed25519_private: |\n%s  ed25519_public: %s\n"
            % (body, public))


def remove_quietly(path):
    """Remove a file that may already be gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def on_signal(signum, frame):
    """SIGTERM/SIGINT: ask the main loop to stop (nothing else here)."""
    global STOPPING
    STOPPING = True


def become_subreaper():
    """Orphans of our children come to us instead of PID 1."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log("prctl(PR_SET_CHILD_SUBREAPER): errno %d: orphans will not"
            " be reaped" % ctypes.get_errno())


def main(argv):
    """Start, wait for a signal, stop; 0 on a clean stop."""
    p = argparse.ArgumentParser(prog="supervisor.py")
    p.add_argument("--rundir", required=True)
    rundir = os.path.abspath(p.parse_args(argv).rundir)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    pidfile = os.path.join(rundir, "supervisor.pid")
    with open(pidfile, "w") as f:
        f.write("%d\n" % os.getpid())
    become_subreaper()
    log("pid %d, run directory %s" % (os.getpid(), rundir))
    rc, sup = 0, None
    try:
        sup = Supervisor(rundir)
        sup.start()
        while not STOPPING:
            time.sleep(0.1)
        log("stopping on a signal")
    except SandboxError as e:
        log("error: %s" % e)
        rc = 1
    except Exception:
        log("error: %s" % traceback.format_exc().strip())
        rc = 1
    finally:
        # Whatever goes wrong while stopping, the supervisor must not
        # outlive its sandbox: after a generous wait it just exits.
        watchdog = threading.Timer(STOP_DEADLINE, os._exit, (1,))
        watchdog.daemon = True
        watchdog.start()
        if sup:
            sup.shutdown()
        remove_quietly(pidfile)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
