#!/usr/bin/python3
"""t1200-sandbox-docker: the docker stand-in on a real sandbox host.

Starts its own sandbox (run directory in /tmp, ssh port 2422,
addresses 127.0.0.40..49), creates a server through the fake Hetzner
API and drives `docker` on it over real ssh, as mkprov will: compose
up of pinned Traefik, PostgreSQL, an Infisical and a web service; the
real ps/inspect formats; pg_dump from the seeded previous server and
psql restore into the new one (the runbook's phase 6); Traefik's
Docker 29 failure below v3.6.1; stop, start, restart, an injected
exit, the CLI's errors; down.  The sandbox is always brought down.
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
      DB_CONNECTION_URI: postgres://${POSTGRES_USER}@postgres:5432/main
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
                    "root@" + ip, command, "LogLevel=ERROR")
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

    def test_infisical_waits_for_users(self):
        """Infisical's /api/status is 503 while its database is empty"""
        status, body = https(self.box, self.ip, "secrets", "/api/status")
        self.assertEqual(status, 503, body)
        self.assertEqual(json.loads(body)["statusCode"], 503)

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
        """Infisical's /api/status answers Ok once users exist"""
        status, body = https(self.box, self.ip, "secrets", "/api/status")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["message"], "Ok")

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
