"""hosts.py: sandbox hosts, the machines behind the fake's servers.

Every server created through the Hetzner fake becomes a host: a fresh
127.0.0.N address (never reused while the sandbox runs), a directory
RUN/hosts/NAME with host.json, cloud-init.json and fs/ (the host's own
filesystem root: /srv, /root, /etc/ssh live there), and a real sshd
on ADDR:ssh_port that accepts exactly the server's ssh_keys and
presents the host keys given in the cloud-config user_data, so host
key pinning works as on a real server.  The sshd is a child of the
supervisor; deleting the server stops it and everything else the
host runs.

The Hetzner fake calls the hooks under its state lock, so only quick
work happens in them.  server_created() lays the host out while the
server is "initializing"; nothing answers on its address yet.  The
host boots when the fake says the server is "running" (its create
action plus the boot time, server_running()): then, in a thread, its
sshd starts and its cloud-init run begins, as on a real server, where
SSH answers only once the machine is up.  A server created with
start_after_create false stays "off" and never boots.
"""

import json
import os
import socket
import threading
import time

from fakes.hetzner import HostHooks

SSHD = "/usr/sbin/sshd"
SFTP = "/usr/lib/openssh/sftp-server"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
KEY_TYPES = ("ed25519", "ecdsa", "rsa")


class HostError(Exception):
    """A host could not be made; the message names host and reason."""


def write_file(path, text, mode):
    """Write a whole file with its final mode, through a rename."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with open(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_json(path, data, mode=0o644):
    """JSON files here are read by stand-ins at any moment."""
    write_file(path, json.dumps(data, indent=2, sort_keys=True) + "\n",
               mode)


def cloud_config_keys(user_data):
    """(the cloud-config `ssh_keys` mapping, a warning or None).

    Only `#cloud-config` user data is parsed, as cloud-init does; a
    script or anything else carries no host keys.  Bad YAML does not
    stop a real server from booting: cloud-init warns and ends
    degraded, so the warning is returned for the host's boot record.
    """
    if not user_data or not user_data.lstrip().startswith("#cloud-config"):
        return {}, None
    try:
        import yaml
    except ImportError:
        raise HostError("user_data: cannot parse cloud-config: install"
                        " python3-yaml")
    try:
        doc = yaml.safe_load(user_data)
    except yaml.YAMLError as e:
        return {}, ("Failed loading yaml blob. %s"
                    % " ".join(str(e).split()))
    keys = doc.get("ssh_keys") if isinstance(doc, dict) else None
    return (keys if isinstance(keys, dict) else {}), None


def last_line(path):
    """The last non-empty line of a log, for a one-line error."""
    try:
        with open(path, errors="replace") as f:
            lines = [l.strip() for l in f if l.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "empty log"


def ssh_user():
    """sshd serves root when run as root, else only the current user
    (sandboxctl exports it as MKP_SSH_USER)."""
    if os.getuid() == 0:
        return "root"
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


class Host:
    """One sandbox host: its facts and where its files are."""

    def __init__(self, name, server_id, ipv4, hostdir, facts):
        self.name, self.server_id, self.ipv4 = name, server_id, ipv4
        self.dir = hostdir
        self.fs = os.path.join(hostdir, "fs")
        self.facts = facts
        self.sshd = "starting"
        self.deleted = False
        self.hostkeys = []
        self.error = None


class SandboxHosts(HostHooks):
    """The host side of the Hetzner fake: hooks on server create/delete.

    children is the supervisor's process registry (spawn, run,
    stop_host); cfg the sandbox config; log a one-line logger.
    """

    def __init__(self, cfg, rundir, top, children, log):
        self.cfg, self.rundir, self.top = cfg, rundir, top
        self.children, self.log = children, log
        self.lock = threading.Lock()
        self.hosts = {}            # name -> Host
        self.by_id = {}            # server_id -> Host
        # Hosts get net.N: tests give each sandbox its own 127.X.Y
        # network so that several can run at once without clashing.
        self.net = cfg.get("net", "127.0.0")
        self.next_n = int(cfg.get("first_host", 10))
        self.last_n = int(cfg.get("last_host", 250))
        self.port = int(cfg.get("ssh_port", 2222))
        self.halting = {}          # name -> thread stopping a namesake
        os.makedirs(os.path.join(rundir, "hosts"), mode=0o711,
                    exist_ok=True)

    # -- the HostHooks interface ---------------------------------------

    def server_created(self, server_id, name, public_keys, user_data):
        """Make the host for a new server; returns its IPv4 address.

        Raises HostError when no address is left, which the fake
        turns into a server error.
        """
        host_keys, warning = cloud_config_keys(user_data)
        with self.lock:
            ipv4 = self._allocate(name)
            host = self._make_host(server_id, name, ipv4)
            self.hosts[name] = host
            self.by_id[server_id] = host
        if warning:
            self.set_cloud_init(host.dir, outcome="degraded",
                                recoverable_errors={"WARNING": [warning]})
        self._write_keys(host, public_keys, host_keys)
        self.log("%s: server %s created on %s" % (name, server_id, ipv4))
        return ipv4

    def server_running(self, server_id, since):
        """The server is up: boot its host (sshd, cloud-init) in a
        thread, its boot dated from since."""
        with self.lock:
            host = self.by_id.get(server_id)
        if host is None or host.deleted:
            return
        threading.Thread(target=self._boot, args=(host, since),
                         name="boot-" + host.name, daemon=True).start()

    def server_deleted(self, server_id):
        """Stop everything the host runs; its address is not reused.

        The fake calls this under its state lock, so only the quick
        part happens here: the host is forgotten (a new server may
        take its name at once) and its processes are listed; stopping
        them, which may wait out a grace period, happens in a thread.
        """
        with self.lock:
            host = self.by_id.pop(server_id, None)
            if host is None:
                return
            host.deleted = True
            if self.hosts.get(host.name) is host:
                del self.hosts[host.name]
        procs = self.children.of_host(host.name)
        host.facts["deleted"] = time.time()
        write_json(os.path.join(host.dir, "host.json"), host.facts)
        t = threading.Thread(target=self._halt, args=(host, procs),
                             name="halt-" + host.name, daemon=True)
        self.halting[host.name] = t
        t.start()

    def _halt(self, host, procs):
        """Stop a deleted server's processes (thread)."""
        self.children.stop(procs)
        host.sshd = "stopped"
        self.log("%s: server %s deleted, host stopped"
                 % (host.name, host.server_id))

    # -- making a host -------------------------------------------------

    def _allocate(self, name):
        """The next unused net.N; addresses are never handed twice."""
        if self.next_n > self.last_n:
            raise HostError("%s: no sandbox address left (last_host %d"
                            " reached): restart the sandbox"
                            % (name, self.last_n))
        n = self.next_n
        self.next_n += 1
        return "%s.%d" % (self.net, n)

    def _make_host(self, server_id, name, ipv4):
        """Lay out RUN/hosts/NAME; a deleted namesake is moved aside."""
        hostdir = os.path.join(self.rundir, "hosts", name)
        if os.path.exists(hostdir):
            old = os.path.join(self.rundir, "hosts", ".deleted",
                               "%s-%d" % (name, time.time_ns()))
            os.makedirs(os.path.dirname(old), mode=0o711, exist_ok=True)
            os.rename(hostdir, old)
        for sub in ("", "fs", "fs/srv", "fs/root", "fs/etc/ssh", "logs"):
            os.makedirs(os.path.join(hostdir, sub), mode=0o711,
                        exist_ok=True)
            os.chmod(os.path.join(hostdir, sub), 0o711)
        facts = {
            "name": name, "server_id": server_id, "ipv4": ipv4,
            "ssh_port": self.port, "ssh_user": ssh_user(),
            "created": time.time(),
            "docker_version": self.cfg.get("docker_version", "29.1.3"),
            "https_port": int(self.cfg.get("https_port", 8443)),
            "pg_port": int(self.cfg.get("pg_port", 5432)),
            "dir": hostdir, "root": os.path.join(hostdir, "fs"),
        }
        write_json(os.path.join(hostdir, "host.json"), facts)
        self.set_cloud_init(hostdir, started=time.time())
        return Host(name, server_id, ipv4, hostdir, facts)

    def set_cloud_init(self, hostdir, **changes):
        """Create or change cloud-init.json, read by the stand-in."""
        path = os.path.join(hostdir, "cloud-init.json")
        try:
            with open(path) as f:
                state = json.load(f)
        except OSError:
            state = {"started": time.time(),
                     "seconds": float(self.cfg.get("cloud_init_seconds",
                                                   3)),
                     "outcome": "done", "errors": [],
                     "recoverable_errors": {}}
        state.update(changes)
        write_json(path, state)

    def _write_keys(self, host, public_keys, host_keys):
        """authorized_keys and host keys, as cloud-init would write them.

        Only the supplied host key types are used when the cloud-config
        has ssh_keys (cc_ssh generates no others); without it an
        ed25519 key is generated, as on a fresh image.
        """
        auth = os.path.join(host.fs, "root", ".ssh", "authorized_keys")
        write_file(auth, "".join(k.strip() + "\n" for k in public_keys),
                   0o600)
        etc = os.path.join(host.fs, "etc", "ssh")
        paths = []
        for t in KEY_TYPES:
            priv = host_keys.get(t + "_private")
            if not isinstance(priv, str):
                continue
            path = os.path.join(etc, "ssh_host_%s_key" % t)
            write_file(path, priv.strip() + "\n", 0o600)
            pub = host_keys.get(t + "_public")
            if isinstance(pub, str):
                write_file(path + ".pub", pub.strip() + "\n", 0o644)
            paths.append(path)
        host.hostkeys = paths

    def _generate_hostkey(self, host):
        """A fresh ed25519 host key for a server given none."""
        path = os.path.join(host.fs, "etc", "ssh", "ssh_host_ed25519_key")
        code, out = self.children.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
             "root@" + host.name, "-f", path])
        if code != 0:
            raise HostError("%s: ssh-keygen failed: %s"
                            % (path, out.strip()))
        host.hostkeys = [path]

    def _sshd_config(self, host):
        """The host's own sshd_config: one address, its keys, its PATH."""
        path = ":".join([os.path.join(self.top, "tests", "sandbox", "bin"),
                         SYSTEM_PATH])
        env = ["PATH=" + path, "MKP_SANDBOX_HOST=" + host.name,
               "MKP_SANDBOX_RUN=" + self.rundir,
               "MKP_SANDBOX_ROOT=" + host.fs,
               # mkprov prefixes every server path with MKP_ROOT, which
               # is unset on real servers: here it is the host's own.
               "MKP_ROOT=" + host.fs]
        lines = ["# sshd for sandbox host %s (made by hosts.py)" % host.name,
                 "ListenAddress %s:%d" % (host.ipv4, self.port)]
        lines += ["HostKey " + k for k in host.hostkeys]
        lines += [
            "PidFile " + os.path.join(host.dir, "sshd.pid"),
            "AuthorizedKeysFile " + os.path.join(host.fs, "root", ".ssh",
                                                 "authorized_keys"),
            "UsePAM no", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
            "StrictModes no", "PermitRootLogin prohibit-password",
            "PrintMotd no", "PrintLastLog no", "UseDNS no",
            "Subsystem sftp " + SFTP,
            "SetEnv " + " ".join('"%s"' % e for e in env),
            "LogLevel INFO",
        ]
        conf = os.path.join(host.dir, "sshd_config")
        write_file(conf, "\n".join(lines) + "\n", 0o644)
        return conf

    # -- starting the host -------------------------------------------

    def _boot(self, host, since):
        """Start the host's sshd and wait until it accepts (thread).

        cloud-init's run starts with the boot, at since: a server
        that has long been running (seeded) finished it long ago.
        """
        try:
            self.set_cloud_init(host.dir, started=since)
            halt = self.halting.get(host.name)
            if halt is not None:  # a deleted namesake still stopping
                halt.join()
            if not host.hostkeys:
                self._generate_hostkey(host)
            conf = self._sshd_config(host)
            if os.getuid() == 0 and not os.path.isdir("/run/sshd"):
                os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
            if host.deleted:
                return
            proc = self.children.spawn(
                host.name, "sshd", [SSHD, "-D", "-e", "-f", conf],
                cwd=host.dir, log_path=os.path.join(host.dir, "logs",
                                                    "sshd.log"),
                kind="sshd")
            host.sshd = "running" if self._wait_sshd(host, proc) \
                else "failed"
        except Exception as e:  # reported, never raised in a thread
            host.sshd, host.error = "failed", str(e)
        self.log("%s: sshd on %s:%d %s%s"
                 % (host.name, host.ipv4, self.port, host.sshd,
                    ": " + host.error if host.error else ""))

    def _wait_sshd(self, host, proc, timeout=10.0):
        """True once the sshd answers with an SSH banner."""
        deadline = time.time() + timeout
        while time.time() < deadline and proc.exit_code is None:
            try:
                with socket.create_connection((host.ipv4, self.port),
                                              timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-2.0-"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        host.error = "sshd exited %s: %s" % (proc.exit_code,
                                             last_line(proc.log))
        if proc.exit_code is None:
            host.error = "sshd not answering after %g s" % timeout
        return False

    # -- queries ---------------------------------------------------------

    def wait_booted(self, name, timeout):
        """Wait until a host's sshd is up (or failed); its state."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            host = self.get(name)
            if host is None or host.sshd != "starting":
                break
            time.sleep(0.02)
        host = self.get(name)
        return host.sshd if host else "absent"

    def get(self, name):
        """The live Host of that name, or None."""
        with self.lock:
            return self.hosts.get(name)

    def facts(self, name):
        """host.json plus the sshd state, for the control API."""
        host = self.get(name)
        if host is None:
            return None
        out = dict(host.facts)
        out["sshd"] = host.sshd
        return out

    def all(self):
        """Every live host, in creation order."""
        with self.lock:
            return sorted(self.hosts.values(),
                          key=lambda h: h.facts["created"])
