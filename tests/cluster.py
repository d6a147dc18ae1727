"""The test harness for several server processes: a real redis-server, real app processes
(``app.py``, eventlet) and a real nginx in front, on free loopback ports (``deploy.cluster``),
and a Socket.IO client that can connect through nginx from any loopback address.

Linux routes all of 127.0.0.0/8 to the loopback interface, so a client socket bound to
127.0.0.2, 127.0.0.3, ... reaches nginx on 127.0.0.1 as a different student of the same hall.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator

import socketio
from conftest import ARTIFACTS
from live_client import LabClient

from deploy.cluster import Cluster

ACCESS_LINE = re.compile(r'^(?P<client>\S+) \[[^\]]*\] "(?P<method>\S+) (?P<path>\S+) [^"]*" '
                         r'(?P<status>\d+) (?P<upstream>\S+) lb=(?P<lb>\S*)$')


@contextlib.contextmanager
def running_cluster(processes: int = 2, env: dict | None = None) -> Iterator[Cluster]:
    """Redis, ``processes`` app processes and nginx, started and (afterwards) stopped; each
    program's output in test-artifacts/cluster-PORT/."""
    cluster = Cluster(processes, env=env)
    cluster.log_dir = ARTIFACTS / f"cluster-{cluster.port}"
    with cluster:
        yield cluster


def connected_from(source: str, url: str) -> socket.socket:
    """A TCP connection to ``url``'s host and port from the loopback address ``source``."""
    parts = urllib.parse.urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect((parts.hostname, parts.port))
    return sock


class ClusterClient(LabClient):
    """``LabClient`` (a real python-socketio client, recording what it gets) with what a tab
    behind nginx has: the tab's key (``?lb=``), a source address of its own (websocket only),
    and, for tests of forged headers, an ``X-Forwarded-For`` of its choosing; ``origin`` stands
    in for the page it comes from (default: ``url``'s own)."""

    def __init__(self, url: str, lb: str | None = None, source: str | None = None,
                 forwarded_for: str | None = None, token: str | None = None,
                 transports=("websocket",), origin: str | None = None,
                 auth: dict | None = None):
        self.url = url
        self.received: list[tuple[str, object]] = []
        self._cond = threading.Condition()
        extra = {"skip_utf8_validation": True, **({"origin": origin} if origin else {})}
        if source is not None:
            assert tuple(transports) == ("websocket",), "a source address needs a websocket"
            extra["socket"] = connected_from(source, url)
        self.sio = socketio.Client(reconnection=False, websocket_extra_options=extra)
        self.sio.on("*", self._record)
        self.sio.on("disconnect", lambda reason=None: self._record("disconnect", reason))
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        query = f"/?lb={urllib.parse.quote(lb)}" if lb else ""
        auth = auth if auth is not None else {"token": token} if token else {}
        self.sio.connect(url + query, auth=auth, headers=headers,
                         transports=list(transports), wait_timeout=5)


def healthz(url: str) -> dict:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as answer:
        return json.load(answer)


def access_log(cluster: Cluster) -> list[dict]:
    """nginx's access log so far: one dict per request (client, method, path, status,
    upstream: the app process that answered, lb: the tab's key)."""
    lines = cluster.access_log.read_text().splitlines()
    return [m.groupdict() for m in map(ACCESS_LINE.match, lines) if m]


def app_address(cluster: Cluster, index: int) -> str:
    return f"{cluster.host}:{cluster.app_ports[index]}"
