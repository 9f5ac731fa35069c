#!/usr/bin/python3
"""t1200-sandbox-docker: the docker stand-in on a real sandbox host.

Starts its own sandbox (run directory in /tmp, ssh port 2422,
addresses 127.0.0.40..49), creates a server through the fake Hetzner
API and drives `docker` on it over real ssh, as mkprov will: compose
up of pinned Traefik, PostgreSQL, an Infisical and a web service; the
real ps/inspect formats; pg_dump from the seeded previous server and
psql restore into the new one (the runbook's phase 6); PostgreSQL's
password over TCP and trust on its local socket; Infisical's status
with and without its database; Traefik's Docker 29 failure below
v3.6.1; stop, start, restart, injected crashes under each restart
policy, the CLI's errors; down.  The sandbox is always brought down.
"""

import json
import os
import subprocess
import sys
import time
import unittest

TOP = os.environ.get("MKP_TOP") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "sandbox"))
sys.dont_write_bytecode = True

import taptest  # noqa: E402
from boxtest import Box, curl, port_open, ssh_argv, wait_for  # noqa: E402

CONFIG = {"ssh_port": 2422, "first_host": 40, "last_host": 49,
          "vpn_host": 39}
PSQL = "/usr/lib/postgresql/15/bin/psql"
SERVER = "t1200-app"
APP = "/srv/app"
PS_KEYS = {"Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes",
           "Mounts", "Names", "Networks", "Platform", "Ports", "RunningFor",
           "Size", "State", "Status"}
DOCKER_29_ERROR = (
    'ERR Failed to retrieve information of the docker client and server '
    'host error="Error response from daemon: client version 1.24 is too '
    'old. Minimum supported API version is 1.44, please upgrade your '
    'client to a newer version" providerName=docker')

COMPOSE = """\
services:
  traefik:
    image: traefik:v3.6.13
    command:
      - --providers.docker=true
      - --providers.docker.exposedbydefault=false
      - --entrypoints.websecure.address=:443
    ports:
      - "443:443"
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock:ro
  postgres:
    image: postgres:15.14
    container_name: postgres
    environment:
      POSTGRES_USER: ${POSTGRES_USER}
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}
      POSTGRES_DB: ${POSTGRES_DB:-main}
    volumes:
      - pgdata:/var/lib/postgresql/data
  infisical:
    image: infisical/infisical:v0.146.0-postgres
    depends_on: [postgres]
    environment:
      DB_CONNECTION_URI: "postgres://${POSTGRES_USER}:\\
        ${POSTGRES_PASSWORD_URL}@postgres:5432/main"
    labels:
      - traefik.enable=true
      - traefik.http.routers.infisical.rule=Host(`secrets.${DOMAIN}`)
  web:
    image: nginx:1.28.0-alpine
    environment:
      TRICKY: ${TRICKY}
      MULTI: ${MULTI}
      UNQUOTED: ${UNQUOTED}
    labels:
      - traefik.enable=true
      - traefik.http.routers.web.rule=Host(`docs.${DOMAIN}`)
volumes:
  pgdata:
"""

DOTENV = """\
# written by t1200
DOMAIN=%s
POSTGRES_USER=kavi
POSTGRES_PASSWORD='pa ss"w$rd'
POSTGRES_PASSWORD_URL='pa%%20ss%%22w%%24rd'
TRICKY="it's \\"quoted\\", costs $$5 and has  spaces\\nsecond line"
MULTI='first line
second line keeps $HOME and \\n'
UNQUOTED=a b c # a comment
"""

EXPECTED_ENV = {
    "TRICKY": 'it\'s "quoted", costs $5 and has  spaces\nsecond line',
    "MULTI": "first line\nsecond line keeps $HOME and \\n",
    "UNQUOTED": "a b c",
}


class Result:
    """What a remote command did."""

    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")

    def __str__(self):
        """The whole outcome, for assertion messages."""
        return "exit %d\nstdout: %s\nstderr: %s" % (self.code, self.out,
                                                    self.err)


def ssh(box, ip, command, stdin=b"", pinned=False):
    """Run a command on a sandbox host over real ssh, with the host
    key pinned or, for a new host whose key is not the subject here,
    not checked."""
    known = box.env["MKP_SSH_KNOWN_HOSTS"] if pinned else None
    argv = ssh_argv(box.env["MKP_SSH_KEY"], box.env["MKP_SSH_PORT"], known,
                    box.target(ip), command, "LogLevel=ERROR")
    return Result(subprocess.run(argv, input=stdin, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=90))


def https(box, ip, vhost, path="/"):
    """GET https://VHOST.DOMAIN:PORT/path resolved to ip: (status, body),
    trusting only the sandbox CA."""
    name = "%s.%s" % (vhost, box.env["MKP_SANDBOX_DOMAIN"])
    port = box.env["MKP_SANDBOX_HTTPS_PORT"]
    return curl(box.env["MKP_CAFILE"], "https://%s:%s%s" % (name, port, path),
                "--resolve", "%s:%s:%s" % (name, port, ip))


class SandboxDocker(unittest.TestCase):
    """Steps on one sandbox and one new host, in order."""

    @classmethod
    def setUpClass(cls):
        """One sandbox for every step."""
        cls.t0 = time.time()
        cls.box = Box("t1200", CONFIG)
        cls.box.up()
        cls.bruno = "127.0.0.%d" % CONFIG["first_host"]

    @classmethod
    def tearDownClass(cls):
        """Always bring the sandbox down."""
        cls.box.close()
        print("# t1200 took %.1f s" % (time.time() - cls.t0))

    def run_on(self, command, stdin=b"", ok=True):
        """Run in the app directory of the new host; assert success."""
        r = ssh(self.box, self.ip, 'cd "$MKP_SANDBOX_ROOT%s" && %s'
                % (APP, command), stdin)
        if ok:
            self.assertEqual(r.code, 0, "%s: %s" % (command, r))
        return r

    def ps(self, all_=True):
        """docker ps rows of the new host as dicts, by name."""
        r = self.run_on("docker ps %s--format '{{json .}}'"
                        % ("-a " if all_ else ""))
        rows = [json.loads(line) for line in r.out.splitlines()]
        return {row["Names"]: row for row in rows}

    def test_a_new_server_answers_ssh(self):
        """a server created through the fake API is a host with docker"""
        status, body = self.box.create_server(SERVER, "macmini")
        self.assertEqual(status, 201, body)
        type(self).ip = body["server"]["public_net"]["ipv4"]["ip"]
        r = wait_for(lambda: ssh(self.box, self.ip, "command -v docker")
                     .code == 0, 15, 0.2)
        self.assertTrue(r, "no ssh on %s" % self.ip)
        r = ssh(self.box, self.ip, 'mkdir -p "$MKP_SANDBOX_ROOT%s" && '
                'cat > "$MKP_SANDBOX_ROOT%s/docker-compose.yml"'
                % (APP, APP), COMPOSE.encode())
        self.assertEqual(r.code, 0, str(r))
        env = DOTENV % self.box.env["MKP_SANDBOX_DOMAIN"]
        self.run_on("cat > .env", env.encode())

    def test_docker_version_is_29(self):
        """docker version shows Docker 29 with API 1.52, minimum 1.44"""
        r = self.run_on("docker version --format '{{.Server.Version}}'")
        self.assertEqual(r.out, "29.1.3\n")
        r = self.run_on("docker version")
        self.assertRegex(r.out, r"(?m)^Server: Docker Engine - Community\n"
                         r" Engine:\n  Version: +29\.1\.3\n"
                         r"  API version: +1\.52 \(minimum version 1\.44\)$")
        r = self.run_on("docker compose version")
        self.assertEqual(r.out, "Docker Compose version v2.40.3\n")

    def test_compose_up_starts_everything(self):
        """compose up -d creates and starts every service"""
        r = self.run_on("docker compose up -d")
        for name in ("app-traefik-1", "postgres", "app-infisical-1",
                     "app-web-1"):
            self.assertIn("Container %s Started" % name, r.err)
        self.assertIn("Network app_default Created", r.err)
        r = self.run_on("docker compose up -d")
        self.assertIn("Container app-web-1 Running", r.err)

    def test_ps_json_has_the_cli_keys(self):
        """ps --format json rows have Docker 29.1's 15 keys, all Up"""
        rows = self.ps(all_=False)
        self.assertEqual(len(rows), 4, rows)
        for row in rows.values():
            self.assertEqual(set(row), PS_KEYS)
            self.assertEqual(row["State"], "running")
            self.assertRegex(row["Status"], r"^Up (Less than a second|\d+ "
                             r"seconds?)$")
            self.assertRegex(row["CreatedAt"],
                             r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \w+$")
        self.assertEqual(rows["postgres"]["Ports"], "5432/tcp")
        self.assertEqual(rows["postgres"]["LocalVolumes"], "1")
        self.assertIn("0.0.0.0:443->443/tcp",
                      rows["app-traefik-1"]["Ports"])
        r = self.run_on("docker compose ps --format json")
        for line in r.out.splitlines():
            self.assertEqual(json.loads(line)["Project"], "app")

    def test_compose_file_by_server_path(self):
        """compose -f /srv/app/... works from anywhere on the host"""
        r = ssh(self.box, self.ip, "docker compose -f %s/docker-compose.yml"
                " config --services" % APP)
        self.assertEqual((r.code, r.out),
                         (0, "infisical\npostgres\ntraefik\nweb\n"), str(r))

    def test_dotenv_values_reach_the_container(self):
        """quotes, $, blanks and newlines from .env arrive unchanged"""
        r = self.run_on("docker inspect app-web-1 --format "
                        "'{{json .Config.Env}}'")
        env = dict(e.split("=", 1) for e in json.loads(r.out))
        for key, value in EXPECTED_ENV.items():
            self.assertEqual(env[key], value, key)
        self.assertTrue(env["PATH"].startswith("/usr/local/sbin"))
        r = self.run_on("docker exec app-web-1 printenv TRICKY")
        self.assertEqual(r.out, EXPECTED_ENV["TRICKY"] + "\n")

    def test_inspect_env_in_go_form(self):
        """inspect '{{.Config.Env}}' prints Go's [a b c] form"""
        r = self.run_on("docker inspect postgres --format "
                        "'{{.Config.Env}}' | tr ' ' '\\n' | grep POSTGRES")
        self.assertIn("POSTGRES_USER=kavi\n", r.out)
        self.assertIn("[POSTGRES_DB=main\n", r.out)
        r = self.run_on("docker inspect -f '{{.State.Status}} "
                        "{{.Config.Image}}' postgres")
        self.assertEqual(r.out, "running postgres:15.14\n")

    def test_infisical_ok_before_users(self):
        """Infisical's /api/status says Ok while its database is empty"""
        status, body = https(self.box, self.ip, "secrets", "/api/status")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["message"], "Ok")
        r = self.run_on("docker exec postgres psql -U kavi main -Atc "
                        "\"select to_regclass('users') is null\"")
        self.assertEqual(r.out, "t\n")

    def test_postgres_wants_the_password_over_tcp(self):
        """PostgreSQL wants the password over TCP, trusts its socket"""
        pg = json.loads(ssh(self.box, self.ip, 'cat "$MKP_SANDBOX_RUN/'
                            'hosts/%s/containers/postgres.json"'
                            % SERVER).out)["pg"]
        with open(os.path.join(pg["datadir"], "pg_hba.conf")) as f:
            rules = [l.split() for l in f if not l.startswith("#")]
        self.assertIn(["local", "all", "all", "trust"], rules)
        self.assertIn(["host", "all", "all", "127.0.0.0/8",
                       "scram-sha-256"], rules)

        def psql(password):
            env = dict(os.environ, PGCONNECT_TIMEOUT="5")
            env.pop("PGPASSWORD", None)
            if password is not None:
                env["PGPASSWORD"] = password
            return subprocess.run(
                [PSQL, "-X", "-w", "-h", pg["host"], "-p", str(pg["port"]),
                 "-U", "kavi", "-d", "main", "-Atc", "select 42"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                timeout=30)
        r = psql(None)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"password", r.stderr)
        r = psql("wrong")
        self.assertIn(b"password authentication failed", r.stderr)
        r = psql('pa ss"w$rd')
        self.assertEqual((r.returncode, r.stdout), (0, b"42\n"), r.stderr)
        r = self.run_on("docker exec postgres psql -U kavi main -Atc "
                        "'select 43'")
        self.assertEqual(r.out, "43\n")

    def test_dump_and_restore_like_the_runbook(self):
        """pg_dump on the previous server restores with psql here"""
        src = ssh(self.box, self.bruno, "docker exec infisical-postgres "
                  "pg_dump -U infisical infisical", pinned=True)
        self.assertEqual(src.code, 0, str(src))
        self.assertIn("COPY public.audit_logs", src.out)
        r = self.run_on("docker exec -i postgres psql -U kavi main "
                        ">/dev/null", src.out.encode())
        # The dump names its owner, a role this server does not have.
        errors = [l for l in r.err.splitlines() if "ERROR" in l]
        self.assertTrue(errors)
        for line in errors:
            self.assertIn('role "infisical" does not exist', line)
        query = ("select count(*), string_agg(last_name, '|' order by "
                 "email) from users")
        here = self.run_on("docker exec postgres psql -U kavi main -Atc "
                           "\"%s\"" % query)
        there = ssh(self.box, self.bruno, "docker exec infisical-postgres "
                    "psql -U infisical infisical -Atc \"%s\"" % query,
                    pinned=True)
        self.assertEqual(here.out, there.out)
        self.assertTrue(here.out.startswith("4|"), here.out)

    def test_previous_server_clusters_have_own_ports(self):
        """the previous server's two clusters listen on their own ports"""
        ports = []
        for name in ("infisical-postgres", "postgres"):
            r = ssh(self.box, self.bruno, 'cat "$MKP_SANDBOX_RUN/hosts/'
                    'bruno/containers/%s.json"' % name, pinned=True)
            pg = json.loads(r.out)["pg"]
            self.assertEqual(pg["host"], self.bruno)
            ports.append(pg["port"])
        self.assertEqual(len(set(ports)), 2, ports)

    def test_infisical_answers_ok_after_restore(self):
        """Infisical's /api/status still answers Ok once users exist"""
        status, body = https(self.box, self.ip, "secrets", "/api/status")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["message"], "Ok")

    def test_infisical_503_while_its_database_is_down(self):
        """Infisical's /api/status is 503 while its database is down"""
        self.run_on("docker compose stop postgres")
        try:
            status, body = https(self.box, self.ip, "secrets",
                                 "/api/status")
            self.assertEqual(status, 503, body)
            data = json.loads(body)
            self.assertEqual(sorted(data), ["error", "message", "reqId",
                                            "statusCode"])
            self.assertEqual(data["statusCode"], 503)
        finally:
            self.run_on("docker compose start postgres")
        status, body = https(self.box, self.ip, "secrets", "/api/status")
        self.assertEqual(status, 200, body)

    def test_traefik_v3_6_routes(self):
        """Traefik v3.6.13 on Docker 29 routes and logs no API error"""
        status, body = https(self.box, self.ip, "docs")
        self.assertEqual(status, 200, body)
        self.assertIn("nginx:1.28.0-alpine", body)
        r = self.run_on("docker logs app-traefik-1")
        self.assertNotIn("too old", r.out)

    def test_traefik_v3_5_fails_on_docker_29(self):
        """Traefik v3.5.0 on Docker 29 logs 1.24 too old, routes nothing"""
        self.run_on("sed -i 's/traefik:v3.6.13/traefik:v3.5.0/' "
                    "docker-compose.yml")
        r = self.run_on("docker compose up -d")
        self.assertIn("Container app-traefik-1 Recreate", r.err)
        logs = wait_for(lambda: self.run_on(
            "docker logs app-traefik-1").out.count(DOCKER_29_ERROR) >= 1,
            8, 0.2)
        self.assertTrue(logs, self.run_on("docker logs app-traefik-1"))
        log = self.run_on("docker logs app-traefik-1").out
        self.assertRegex(log, r"ERR Provider error, retrying in [0-9.]+s "
                         r"error=\"Error response from daemon: client "
                         r"version 1\.24 is too old\.")
        for vhost in ("docs", "secrets"):
            self.assertEqual(https(self.box, self.ip, vhost),
                             (404, "404 page not found\n"))

    def test_traefik_pinned_again_routes(self):
        """pinning v3.6.13 again brings the routes back"""
        self.run_on("sed -i 's/traefik:v3.5.0/traefik:v3.6.13/' "
                    "docker-compose.yml && docker compose up -d")
        status = wait_for(lambda: https(self.box, self.ip, "docs")[0]
                          == 200, 8, 0.2)
        self.assertTrue(status)

    def test_stop_start_restart(self):
        """stop, start and restart show in ps"""
        r = self.run_on("docker compose stop web")
        self.assertIn("Container app-web-1 Stopped", r.err)
        row = self.ps()["app-web-1"]
        self.assertEqual(row["State"], "exited")
        self.assertRegex(row["Status"], r"^Exited \(0\) ")
        self.assertNotIn("app-web-1", self.ps(all_=False))
        self.assertEqual(https(self.box, self.ip, "docs")[0], 404)
        self.run_on("docker compose start web")
        self.assertEqual(self.ps()["app-web-1"]["State"], "running")
        fmt = "docker inspect -f '{{.State.StartedAt}}' app-web-1"
        before = self.run_on(fmt).out
        r = self.run_on("docker restart app-web-1")
        self.assertEqual(r.out, "app-web-1\n")
        self.assertNotEqual(self.run_on(fmt).out, before)
        self.assertEqual(https(self.box, self.ip, "docs")[0], 200)

    def test_injected_exit(self):
        """an injected exit shows as Exited (3); up starts it again"""
        self.run_on("docker __sandbox-exit app-web-1 3")
        self.assertRegex(self.ps()["app-web-1"]["Status"],
                         r"^Exited \(3\) ")
        r = self.run_on("docker compose up -d")
        self.assertIn("Container app-web-1 Started", r.err)
        self.assertEqual(self.ps()["app-web-1"]["State"], "running")

    def test_sandboxctl_fault_docker(self):
        """sandboxctl fault docker crashes a container; "no" stays Exited"""
        code, out = self.box.ctl("fault", "docker", SERVER, "app-web-1",
                                 "4")
        self.assertEqual(code, 0, out)
        self.assertIn("app-web-1 exited 4, now exited", out)
        row = self.ps()["app-web-1"]
        self.assertEqual(row["State"], "exited")
        self.assertRegex(row["Status"], r"^Exited \(4\) ")
        r = self.run_on("docker inspect -f '{{.HostConfig.RestartPolicy."
                        "Name}} {{.State.Restarting}} {{.RestartCount}}' "
                        "app-web-1")
        self.assertEqual(r.out, "no false 0\n")
        for words, want in (((SERVER, "app-web-1", "4"), 1),
                            (("nosuch", "app-web-1", "4"), 1),
                            ((SERVER, "nosuch", "4"), 1),
                            ((SERVER, "app-web-1", "x"), 3),
                            ((SERVER, "app-web-1"), 3)):
            code, out = self.box.ctl("fault", "docker", *words)
            self.assertEqual(code, want, "%s: %s" % (words, out))
        self.run_on("docker compose up -d")
        self.assertEqual(self.ps()["app-web-1"]["State"], "running")

    def test_seeded_services_restart_unless_stopped(self):
        """inspect shows the compose restart policy of bruno's services"""
        r = ssh(self.box, self.bruno, "docker inspect -f '{{.Name}} "
                "{{json .HostConfig.RestartPolicy}}' docs postgres",
                pinned=True)
        self.assertEqual(r.out, '/docs {"MaximumRetryCount":0,"Name":'
                         '"unless-stopped"}\n/postgres {"MaximumRetryCount"'
                         ':0,"Name":"unless-stopped"}\n', str(r))

    def test_crash_under_unless_stopped_restarts(self):
        """a crash under unless-stopped shows Restarting (1), not routed"""
        code, out = self.box.ctl("fault", "docker", "bruno", "docs", "1")
        self.assertEqual(code, 0, out)

        def on_bruno(command):
            return ssh(self.box, self.bruno, command, pinned=True)
        try:
            row = json.loads(on_bruno("docker ps --format '{{json .}}' "
                                      "--filter name=docs").out)
            self.assertEqual(row["State"], "restarting")
            self.assertRegex(row["Status"], r"^Restarting \(1\) (Less "
                             r"than a second|\d+ seconds?) ago$")
            fmt = ("docker inspect -f '{{.State.Status}} {{.State.Running}}"
                   " {{.State.Restarting}} {{.State.Pid}} {{.RestartCount}}'"
                   " docs")
            seen = []

            def restarted_thrice():
                seen.append(on_bruno(fmt).out.split())
                return len(seen[-1]) == 5 and int(seen[-1][4]) >= 3
            self.assertTrue(wait_for(restarted_thrice, 5, 0.3), seen)
            self.assertEqual(seen[-1][:4],
                             ["restarting", "true", "true", "0"])
            r = on_bruno("docker exec docs true")
            self.assertEqual(r.code, 1)
            self.assertIn("is restarting, wait until the container is "
                          "running", r.err)
            self.assertEqual(https(self.box, self.bruno, "docs")[0], 404)
        finally:
            r = on_bruno("docker restart docs")
        self.assertEqual(r.code, 0, str(r))
        self.assertRegex(on_bruno("docker ps --format '{{.Status}}' "
                                  "--filter name=docs").out, r"^Up ")
        self.assertEqual(https(self.box, self.bruno, "docs")[0], 200)

    def test_restart_policies_decide_after_a_crash(self):
        """always restarts, on-failure:2 gives up, "no" and a 0 stay"""
        where = 'cd "$MKP_SANDBOX_ROOT/srv/pol" && '
        services = "".join("  %s:\n    image: nginx:1.28.0-alpine\n"
                           "    restart: %s\n" % (name, policy)
                           for name, policy in (
                               ("always", "always"),
                               ("twice", "on-failure:2"),
                               ("zero", "on-failure"),
                               ("never", '"no"')))
        r = ssh(self.box, self.ip, 'mkdir -p "$MKP_SANDBOX_ROOT/srv/pol"'
                ' && %s cat > compose.yaml && docker compose up -d'
                % where, ("services:\n" + services).encode())
        self.assertEqual(r.code, 0, str(r))
        for name, code in (("always", 5), ("twice", 5), ("zero", 0),
                           ("never", 5)):
            r = ssh(self.box, self.ip, "docker __sandbox-exit pol-%s-1 %d"
                    % (name, code))
            self.assertEqual(r.code, 0, str(r))
        time.sleep(0.5)  # past two restarts (100 ms, then 200 ms)
        r = ssh(self.box, self.ip, "docker ps -a --filter name=pol- "
                "--format '{{.Names}} {{.State}} {{.Status}}'")
        rows = {l.split()[0]: l.split(None, 1)[1]
                for l in r.out.splitlines()}
        self.assertRegex(rows["pol-always-1"],
                         r"^restarting Restarting \(5\) ")
        self.assertRegex(rows["pol-twice-1"], r"^exited Exited \(5\) ")
        self.assertRegex(rows["pol-zero-1"], r"^exited Exited \(0\) ")
        self.assertRegex(rows["pol-never-1"], r"^exited Exited \(5\) ")
        r = ssh(self.box, self.ip, "docker inspect -f '{{.RestartCount}}' "
                "pol-twice-1 pol-zero-1")
        self.assertEqual(r.out, "2\n0\n")
        r = ssh(self.box, self.ip, where + "docker compose down")
        self.assertEqual(r.code, 0, str(r))
        self.assertNotIn("pol-", self.run_on("docker ps -a").out)
        r = ssh(self.box, self.ip, where + "sed -i 's/\"no\"/sometimes/'"
                " compose.yaml && docker compose up -d")
        self.assertEqual(r.code, 1, str(r))
        self.assertIn("invalid restart policy: unknown policy "
                      "'sometimes'", r.err)
        ssh(self.box, self.ip, where + "docker compose down")

    def test_cli_errors(self):
        """errors read and exit like the real CLI's"""
        cases = [
            ('cd "$MKP_SANDBOX_ROOT/root" && docker compose ps', 1,
             "no configuration file provided: not found\n"),
            ("POSTGRES_PASSWORD= docker compose config", 1,
             "error while interpolating services.postgres.environment."
             "POSTGRES_PASSWORD: required variable POSTGRES_PASSWORD is "
             "missing a value: POSTGRES_PASSWORD must be set\n"),
            ("docker inspect nosuch", 1, "Error: No such object: nosuch\n"),
            ("docker exec nosuch true", 1, "Error response from daemon: "
             "No such container: nosuch\n"),
            ("docker frobnicate", 1, "docker: unknown command: docker "
             "frobnicate\n\nRun 'docker --help' for more information\n"),
            ("docker ps --bogus", 125, "unknown flag: --bogus\n"
             "See 'docker ps --help'.\n"),
        ]
        for command, code, err in cases:
            with self.subTest(command=command):
                r = self.run_on(command, ok=False)
                self.assertEqual((r.code, r.err), (code, err))

    def test_down_removes_everything(self):
        """compose down stops and removes the containers and network"""
        port = json.loads(ssh(self.box, self.ip, 'cat "$MKP_SANDBOX_RUN/'
                              'hosts/%s/host.json"' % SERVER).out)["pg_port"]
        r = self.run_on("docker compose down")
        self.assertIn("Container postgres Removed", r.err)
        self.assertIn("Network app_default Removed", r.err)
        self.assertEqual(self.ps(), {})
        self.assertFalse(port_open(self.ip, port))

    def test_postgres_without_password_exits_1(self):
        """postgres without a password exits 1 with the image's words"""
        where = 'cd "$MKP_SANDBOX_ROOT/srv/nopw" && '
        r = ssh(self.box, self.ip, 'mkdir -p "$MKP_SANDBOX_ROOT/srv/nopw"'
                ' && %s cat > compose.yaml && docker compose up -d' % where,
                b"services:\n  db:\n    image: postgres:16.4\n")
        self.assertEqual(r.code, 0, str(r))
        status = wait_for(lambda: ssh(
            self.box, self.ip, "docker ps -a --format '{{.Status}}' "
            "--filter name=nopw-db-1").out.startswith("Exited (1) "), 8, 0.2)
        self.assertTrue(status)
        r = ssh(self.box, self.ip, where + "docker compose logs && "
                "docker compose down")
        self.assertIn("Database is uninitialized and superuser password "
                      "is not specified.", r.out)

if __name__ == "__main__":
    taptest.main()
