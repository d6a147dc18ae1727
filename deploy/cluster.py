"""Run Delivery Lab as several processes behind nginx, joined by Redis, on this machine.

    python -m deploy.cluster [run] [--processes 2] [--port 8080]
    python -m deploy.cluster config --listen 80 --server-name lab.example.org \\
        --app 127.0.0.1:5001 --app 127.0.0.1:5002 [--static /srv/delivery-lab/static]

``run`` starts a redis-server (its own, on a free loopback port, nothing saved to disk), N app
processes (``app.py`` on free loopback ports, with ``SOCKETIO_MESSAGE_QUEUE`` pointing at that
Redis and ``TRUSTED_PROXIES=127.0.0.1``) and nginx in front of them on ``127.0.0.1:PORT``, all in
a temporary folder; it waits until every one answers, and stops them all on Ctrl-C or SIGTERM,
or as soon as one of them stops. ``config`` prints the nginx configuration for a deployment of
your own (README.md, "Deploying several processes"). Debian's ``redis-server`` and ``nginx``
packages provide the programs (``scripts/system-deps.sh cluster`` installs them).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_TEMPLATE = Path(__file__).with_name("nginx-site.conf.template")
ACCESS_LOG_FORMAT = '$remote_addr [$time_local] "$request" $status $upstream_addr lb=$arg_lb'
START_TIMEOUT_S = 30.0


def render_site(listen: str, apps: list[str], server_name: str = "_",
                static_root: Path | str = ROOT / "static") -> str:
    """The nginx site (the part inside ``http {}``) for app processes at ``apps``
    (``host:port`` each), with the security headers the app itself sends on its files."""
    from server.pages import SECURITY_HEADERS

    if not apps:
        raise ValueError("at least one app process (host:port) is needed")
    for value, what, spaces in ((listen, "listen", True), (server_name, "server name", True),
                                (str(static_root), "static folder", False),
                                *((a, "app", False) for a in apps)):
        if (not value.strip() or any(c in value for c in ';{}"\'#$\\') or not value.isprintable()
                or (not spaces and any(c.isspace() for c in value))):
            raise ValueError(f"{what} {value!r} cannot go into an nginx configuration")
    headers = "\n".join(f'        add_header {name} "{value}" always;'
                        for name, value in SECURITY_HEADERS.items())
    servers = "\n".join(f"    server {app} max_fails=0;" for app in apps)
    text = SITE_TEMPLATE.read_text()
    for name, value in (("LISTEN", listen), ("SERVER_NAME", server_name),
                        ("STATIC_ROOT", str(Path(static_root)).rstrip("/")),
                        ("UPSTREAM_SERVERS", servers), ("SECURITY_HEADERS", headers)):
        text = text.replace("{{" + name + "}}", value)
    return text


def render_main(workdir: Path, site: Path) -> str:
    """A whole nginx.conf for a foreground nginx whose files all live in ``workdir``."""
    user = ""
    if os.geteuid() == 0:  # the workers then run as nobody, who can read the static files
        nobody = pwd.getpwnam("nobody")
        user = f"user nobody {grp.getgrgid(nobody.pw_gid).gr_name};\n"
    temp = "\n".join(f"    {kind}_temp_path {workdir / 'tmp' / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""# Written by python -m deploy.cluster: nginx in the foreground, its files here.
{user}daemon off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid {workdir / 'nginx.pid'};
error_log stderr warn;

events {{
    worker_connections 4096;
}}

http {{
    log_format delivery_lab '{ACCESS_LOG_FORMAT}';
    access_log {workdir / 'access.log'} delivery_lab;
{temp}
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 65;
    include {site};
}}
"""


_GIVEN: set[int] = set()  # ports this process handed out: never twice (the kernel may repeat one)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, and not one this process handed out before."""
    while True:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


def program(name: str, *fallbacks: str) -> str:
    found = shutil.which(name) or next((p for p in fallbacks if os.access(p, os.X_OK)), None)
    if found is None:
        raise RuntimeError(f"{name} is not installed: run scripts/system-deps.sh cluster "
                           f"(Debian's redis-server and nginx packages)")
    return found


_LIBC = None
with contextlib.suppress(OSError, AttributeError):
    _LIBC = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """Linux: the child gets SIGTERM if this process dies, so nothing is left running."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Cluster:
    """Redis, ``processes`` app processes and nginx on loopback. ``log_dir``: each program's
    output goes to a file of its own there (else to this process's stdout and stderr).
    ``env``: settings for the app processes, over the ones the cluster sets."""

    def __init__(self, processes: int = 2, port: int = 0, env: dict | None = None,
                 log_dir: Path | None = None, python: str = sys.executable):
        if not 1 <= processes <= 64:
            raise ValueError("processes must be between 1 and 64")
        self.processes = processes
        self.port = port or free_port()
        self.env = dict(env or {})
        self.log_dir = log_dir
        self.python = python
        self.host = "127.0.0.1"
        self.url = f"http://{self.host}:{self.port}"
        self.workdir: Path | None = None
        self.redis_port = 0
        self.app_ports: list[int] = []
        self.redis: subprocess.Popen | None = None
        self.apps: list[subprocess.Popen] = []
        self.nginx: subprocess.Popen | None = None
        self._logs: list = []
        self._secret = secrets.token_hex(32)  # one secret key for every process

    # --- where things are ---------------------------------------------------------------------
    @property
    def redis_url(self) -> str:
        return f"redis://{self.host}:{self.redis_port}/0"

    @property
    def app_urls(self) -> list[str]:
        return [f"http://{self.host}:{p}" for p in self.app_ports]

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def app_env(self, index: int) -> dict:
        """The environment of app process ``index`` (0-based)."""
        env = dict(os.environ)
        env.update({
            "SOCKETIO_MESSAGE_QUEUE": self.redis_url,
            "TRUSTED_PROXIES": "127.0.0.1",
            "PUBLIC_ORIGINS": f"http://127.0.0.1:{self.port},http://localhost:{self.port}",
            "SECRET_KEY": env.get("SECRET_KEY") or self._secret,
            "INSTANCE": f"app{index + 1}",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.env)
        return env

    # --- starting and stopping ----------------------------------------------------------------
    def start(self) -> Cluster:
        self.workdir = Path(tempfile.mkdtemp(prefix="delivery-lab-cluster-"))
        self.workdir.chmod(0o755)  # nginx's workers (another user under root) use tmp/
        (self.workdir / "tmp").mkdir()
        try:
            self._start_redis()
            self.app_ports = [free_port() for _ in range(self.processes)]
            self.apps = [self._start_app(i) for i in range(self.processes)]
            for i, url in enumerate(self.app_urls):
                self._wait_http(url, self.apps[i], f"app{i + 1}")
            self._start_nginx()
            self._wait_http(self.url, self.nginx, "nginx")
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
            self._logs.append(out)
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT if out else None,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=_die_with_parent)

    def _start_redis(self) -> None:
        import redis

        self.redis_port = free_port()
        self.redis = self._spawn("redis", [
            program("redis-server", "/usr/bin/redis-server"),
            "--port", str(self.redis_port), "--bind", self.host, "--protected-mode", "yes",
            "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
            "--daemonize", "no", "--loglevel", "warning", "--logfile", ""])
        client = redis.Redis(host=self.host, port=self.redis_port, socket_timeout=1,
                             socket_connect_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while True:
                self._check_alive(self.redis, "redis-server")
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not answer")
                time.sleep(0.05)
        finally:
            client.close()

    def start_app(self, index: int) -> subprocess.Popen:
        """(Re)start app process ``index`` on its port and wait until it answers."""
        proc = self._start_app(index)
        self.apps[index] = proc
        self._wait_http(self.app_urls[index], proc, f"app{index + 1}")
        return proc

    def _start_app(self, index: int) -> subprocess.Popen:
        return self._spawn(f"app{index + 1}", [
            self.python, str(ROOT / "app.py"), "--host", self.host,
            "--port", str(self.app_ports[index])], env=self.app_env(index))

    def _start_nginx(self) -> None:
        site = self.workdir / "delivery-lab.conf"
        site.write_text(render_site(f"{self.host}:{self.port}",
                                    [f"{self.host}:{p}" for p in self.app_ports]))
        conf = self.workdir / "nginx.conf"
        conf.write_text(render_main(self.workdir, site))
        self.nginx = self._spawn("nginx", [
            program("nginx", "/usr/sbin/nginx"), "-p", str(self.workdir), "-c", str(conf)])

    def _check_alive(self, proc: subprocess.Popen, name: str) -> None:
        if proc.poll() is not None:
            where = f" (see {self.log_dir / (name + '.log')})" if self.log_dir else ""
            raise RuntimeError(f"{name} stopped at start, status {proc.returncode}{where}")

    def _wait_http(self, url: str, proc: subprocess.Popen, name: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            self._check_alive(proc, name)
            with contextlib.suppress(OSError, ValueError), \
                    urllib.request.urlopen(url + "/healthz", timeout=1) as answer:
                if json.load(answer).get("status") == "ok":
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer {url}/healthz")
            time.sleep(0.1)

    def stopped(self) -> str | None:
        """The name of a program that has stopped, if any."""
        named = [("nginx", self.nginx), ("redis-server", self.redis),
                 *((f"app{i + 1}", p) for i, p in enumerate(self.apps))]
        return next((name for name, p in named if p is not None and p.poll() is not None), None)

    def stop(self) -> None:
        """Stop nginx, then the app processes, then Redis; remove the temporary folder."""
        for proc in (self.nginx, *self.apps, self.redis):
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in (self.nginx, *self.apps, self.redis):
            if proc is None:
                continue
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for out in self._logs:
            out.close()
        self._logs = []
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- the command line -----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["run", *argv]
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=(
        "Delivery Lab as several processes behind nginx, joined by Redis."))
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start Redis, N app processes and nginx on loopback "
                              "(the default)")
    run.add_argument("--processes", type=int, default=2, help="app processes (default 2)")
    run.add_argument("--port", type=int, default=8080,
                     help="nginx's port on 127.0.0.1 (default 8080)")
    config = commands.add_parser("config", help="print the nginx site configuration")
    config.add_argument("--listen", default="80", help="nginx's listen (default 80)")
    config.add_argument("--server-name", default="_", help="the site's name (default _)")
    config.add_argument("--app", action="append", required=True, metavar="HOST:PORT",
                        help="an app process; repeat for each")
    config.add_argument("--static", default=str(ROOT / "static"),
                        help="the static/ folder nginx serves (default: this checkout's)")
    args = parser.parse_args(argv)
    if args.command == "config":
        try:
            sys.stdout.write(render_site(args.listen, args.app, args.server_name, args.static))
        except ValueError as exc:
            parser.error(str(exc))
        return 0
    if not 1 <= args.processes <= 64:
        parser.error("--processes must be between 1 and 64")
    if not 0 < args.port < 65536:
        parser.error("--port must be between 1 and 65535")
    return run_cluster(args.processes, args.port)


def run_cluster(processes: int, port: int) -> int:
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    cluster = Cluster(processes, port)
    try:
        cluster.start()
    except RuntimeError as exc:
        print(f"deploy.cluster: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"Delivery Lab on {cluster.url}/ : nginx in front of {processes} processes "
              f"({', '.join(cluster.app_urls)}), joined through Redis at {cluster.redis_url}. "
              "Ctrl-C stops them all.", flush=True)
        while not stopping:
            gone = cluster.stopped()
            if gone is not None:
                print(f"deploy.cluster: {gone} stopped; stopping the others", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
