"""Several processes behind nginx: many sessions, or one room's students, on 1 app process, then 2.

    python -m bench.cluster --direct    # the sessions scenario's full run (a few minutes)
    python -m bench.cluster             # the same without the app.py-alone row
    python -m bench.cluster --clients 100 --seconds 10    # a quick check (a minute or two)
    python -m bench.cluster --processes 1 2 3 --json test-artifacts/bench-cluster.json
    python -m bench.cluster --scenario room    # the room's full run: 1,000 students, 1 then 2
    python -m bench.cluster --scenario room --clients 100 --seconds 10    # a quick check
    python -m bench.cluster --scenario both    # the sessions, then the room

Scenarios (``--scenario``, default ``sessions``):

- ``sessions``: ``--clients`` independent sessions, each tab playing its own run;
- ``room``: one presenter and ``--clients`` students in one room, every student following the
  presenter's run;
- ``both``: the sessions, then the room, in one run.

Defaults: 1,000 clients, 30 s measured per scenario, scenarios of 1 then 2 app processes.
Each scenario starts afresh with ``deploy.cluster.Cluster`` (a redis-server of its own, the app
processes, each ``app.py`` under eventlet unless ``--async-mode gevent``, and nginx in front, all
on free loopback ports; their logs in ``--log-dir``, default test-artifacts/, under
bench-cluster-PROCESSES-PORT/ or bench-cluster-room-PROCESSES-PORT/): first one app process
behind nginx (the baseline: the same path as the others, nginx, Redis and the session records
included), then two (``--processes 1 2``). ``--direct`` adds, first, one ``app.py`` alone on its
own port (``bench.fanout.start_server``: no nginx, no Redis; its log
bench-cluster-direct-PORT.log), which is what ``python -m bench.fanout`` measures.

**Sessions.** ``--clients`` clients (default 1,000) connect to nginx, each with a key of its own
in the query (``?lb=...``, as a browser tab sends it), so nginx's consistent hash spreads them
over the processes. Each is its own session and plays its own run at 1x (``bench/fanout.py``'s
run: ``start {config: {messages: 0}}``, a message every 400 ms that never stops; ``--interval
MS`` for another interval). All clients connect from 127.0.0.1, and every app process sees that
address (nginx's ``X-Forwarded-For``, trusted from 127.0.0.1): the app processes run with the
per-address cap raised (``MAX_SESSIONS_PER_CLIENT``, and ``MAX_SESSIONS`` and
``MAX_CONNECTIONS`` sized for the clients) through the cluster's ``env``.

**One room.** A presenter (a client process of its own) connects through nginx with an ``lb``
key of its own, opens a room (``room_open``) and starts the same run as the sessions scenario
(``start {config: {messages: 0}}``, never ending), played at 1x (``--room-speed`` for another
speed: ``bench/rooms.py`` plays at 10x). Then ``--clients`` students (default 1,000) connect
through nginx, each with its own ``lb`` key and ``auth={"room": CODE, "view": "student"}``, as
``bench/rooms.py``'s students do, and each waits for its ``session`` and first ``snapshot``. nginx
spreads the students over the processes: a student whose websocket reaches the presenter's
process is one of its followers there; one that reaches another process is relayed
(``server/relay.py``): that process forwards the student's controls to the presenter's over
Redis, and the presenter's process sends the room's frames and news back, to be written to the
student's websocket. With 2 processes about half the class is relayed. The students count
neither against the per-address session cap nor against the sessions; what is raised through the
cluster's ``env`` is the room's student cap, ``MAX_ROOM_STUDENTS`` (400 by default; here the
students plus 10), besides the sessions scenario's settings above (``MAX_CONNECTIONS`` 10,000
is well above 1,000 students). The join rate limit (``JOIN_RATE``, ``JOIN_BURST``) charges only
wrong codes, so it is left as it is.

The clients are ``bench.rooms.Peer``: raw websockets (asyncio streams and ``wsproto``) speaking
the Engine.IO/Socket.IO text protocol, reading of each frame only its first and last few dozen
characters (stream position, simulated time, speed, ``sent_at``), spread over ``--workers``
processes (default 2), ``--connect-concurrency`` of them joining at once per process. After every
client is streaming, and ``--settle-s`` more, the frames are measured for ``--seconds``:

- **gap**: wall time between two frames reaching one client (p50 / p99 / max over all clients).
  A run at 1x makes about 10 frames a second with quiet stretches of its own, so this gap is a
  few hundred ms at p99 even on an idle server (``bench/README.md``, "Fan-out");
- **lag**: how far behind the paced schedule a frame arrives (as in ``bench/rooms.py``): a frame
  showing simulated time ``now`` is due at ``anchor + now / speed``, the anchor being the
  client's most punctual frame in the window; lag is receive time minus that. It grows when a
  process is out of CPU and its ticks stretch past ``MAX_TICK_S``, and, for a relayed student,
  with the time the frame spends going through Redis and the student's process;
- **latency**: receive time minus the frame's ``sent_at`` (one machine, one clock);
- **run fell behind**: simulated time a client's run lost over the window (the worst client);
- **frames/s per client**: median and lowest;
- **skipped frames**: ``stream_seq`` jumps (the server skipped a connection whose send queue was
  full; the client resyncs as the page does);
- **spread**: each app process's ``/healthz`` (``sessions`` / ``connections``) in the middle of
  the window, and the ``lb`` keys of the websocket handshakes each process answered (nginx's
  access log, read after the clients close). In the room, the presenter's process counts one
  session and a connection for the presenter and for every student, local or relayed; the other
  process counts none (a relayed student's websocket is there, but its session is the
  presenter's), so nginx's log is what shows where the websockets are;
- **where** (the room): the same figures for the students whose websocket is on the presenter's
  process and for those relayed from another one (each student's upstream from nginx's log);
- **CPU**, as a share of one core over the window: each app process, nginx (master and worker),
  Redis, the client processes (the presenter's included); and the cores other jobs on the machine
  kept busy (the machine's busy time less this bench's own process tree).

The app processes' (and nginx's) logs are searched for tracebacks, errors and warnings at the
end of each scenario, before the programs stop.
Everything shares one machine: on 2 cores the client processes take CPU the app processes would
otherwise have, which the clients' CPU column shows. Before each scenario the bench waits until
other jobs keep fewer than ``--quiet-below`` cores busy (0: do not wait).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import re
import secrets
import statistics
import time
import traceback
import urllib.request
from pathlib import Path

from deploy.cluster import Cluster

from .fanout import HOST, cpu_seconds, free_port, start_server
from .rooms import (
    LoopMonitor,
    Peer,
    machine,
    machine_busy,
    merge,
    pct,
    pool,
    stream_stats,
    wait_quiet,
)
from .sweep_server import tree_cpu

ROOT = Path(__file__).resolve().parent.parent
SPEED = 1.0  # the sessions' runs
ACCESS_LINE = re.compile(r'^\S+ \[[^\]]*\] "GET (?P<path>\S+) [^"]*" (?P<status>\d+) '
                         r'(?P<upstream>\S+) lb=(?P<lb>\S*)$')
LOG_TROUBLE = re.compile(r"Traceback|ERROR|WARNING|CRITICAL")
LOCAL, RELAYED = "on the presenter's process", "relayed from the other process"
PIPE_TIMEOUT_S = 600.0


# --- one client ----------------------------------------------------------------------------------
class Tab(Peer):
    """``bench.rooms.Peer`` connecting as a browser tab behind nginx: with its own ``lb`` key."""

    def __init__(self, port: int, lb: str, auth: dict | None = None):
        super().__init__(port, auth or {})
        self.lb = lb
        self.query = f"&lb={lb}"


async def _quietly(coro) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        await coro


async def _connected(tab: Tab, timeout: float, snapshot: bool = False) -> Tab:
    """``tab`` connecting; once it has its session (and, with ``snapshot``, its first
    snapshot): ``RuntimeError`` if it is refused, closed or too slow."""
    tab.task = asyncio.ensure_future(_quietly(tab.run()))

    def there() -> bool:
        ready = tab.session is not None and (not snapshot or tab.snapshot_at > 0)
        return ready or bool(tab.errors) or tab.closed

    waiter = asyncio.ensure_future(tab.wait(there, timeout))
    await asyncio.wait({waiter, tab.task}, timeout=timeout,
                       return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if tab.session is None or tab.errors or (snapshot and not tab.snapshot_at):
        tab.abort()
        raise RuntimeError(f"not joined: {tab.errors or 'connection closed or timed out'}")
    return tab


async def open_tab(port: int, lb: str, run: dict, timeout: float = 60) -> Tab:
    """A connected tab with its session, playing its own run."""
    tab = await _connected(Tab(port, lb), timeout)
    _, answer = await tab.call("start", run, timeout)
    if "epoch" not in answer:
        tab.abort()
        raise RuntimeError(f"start refused: {answer}")
    return tab


async def join_room(port: int, lb: str, code: str, timeout: float = 60) -> Tab:
    """A student of room ``code``, with its session and the snapshot of the room's run."""
    return await _connected(Tab(port, lb, {"room": code, "view": "student"}), timeout,
                            snapshot=True)


# --- a client process ----------------------------------------------------------------------------
async def _clients(port: int, keys: list[str], job: tuple, concurrency: int, conn) -> None:
    """Open a tab per key (``job``: ``("sessions", run)`` or ``("room", code)``), report, and
    after the window: close every tab, learn where each one was (``lb`` key -> nginx's upstream)
    and send the figures of each place."""
    loop = asyncio.get_running_loop()
    monitor = LoopMonitor()
    monitor_task = asyncio.ensure_future(monitor.run())
    gate = asyncio.Semaphore(concurrency)

    async def one(lb: str) -> Tab:
        async with gate:
            if job[0] == "room":
                return await join_room(port, lb, job[1])
            return await open_tab(port, lb, job[1])

    t0 = time.time()
    opened = await asyncio.gather(*(one(k) for k in keys), return_exceptions=True)
    tabs = [t for t in opened if isinstance(t, Tab)]
    failed = [repr(t)[:300] for t in opened if not isinstance(t, Tab)]
    conn.send(("ready", len(tabs), failed[:5], len(failed), time.time() - t0))
    start, stop, speed = await loop.run_in_executor(None, conn.recv)
    await asyncio.sleep(max(0.0, stop - time.time()) + 0.5)  # the window's last frames arrive
    try:
        each = {t.lb: stream_stats(t, start, stop, speed) for t in tabs}
        extra = {"loop": monitor.window(start, stop),
                 "errors": [e for t in tabs for e in t.errors][:20],
                 "closed": sum(t.closed for t in tabs), "resync_kinds": {}}
        for t in tabs:
            for kind, count in t.resync_kinds.items():
                extra["resync_kinds"][kind] = extra["resync_kinds"].get(kind, 0) + count
    except Exception:  # noqa: BLE001 - reported to the parent, which stops
        each, extra = None, traceback.format_exc()[-1500:]
    for t in tabs:  # nginx writes a websocket's line in its log when it closes
        t.abort()
    monitor_task.cancel()
    conn.send(("closed",))
    where = await loop.run_in_executor(None, conn.recv)
    if each is None:
        conn.send(("error", extra))
        return
    places: dict[str, list] = {}
    for lb, stats in each.items():
        places.setdefault(where.get(lb, where.get("*", "unknown")), []).append(stats)
    conn.send(("stats", {"places": {p: pool(s) for p, s in places.items()}, **extra}))


def _worker(port: int, keys: list[str], job: tuple, concurrency: int, conn) -> None:
    asyncio.run(_clients(port, keys, job, concurrency, conn))


async def _present(port: int, lb: str, run: dict, speed: float, conn) -> None:
    """The room's presenter: open the room, start the run, say the code; after the window its
    own frames' figures."""
    loop = asyncio.get_running_loop()
    try:
        tab = await _connected(Tab(port, lb), 60)
        _, opened = await tab.call("room_open", {}, 60)
        if "room" not in opened:
            raise RuntimeError(f"room_open refused: {opened}")
        _, started = await tab.call("start", run, 60)
        if "epoch" not in started:
            raise RuntimeError(f"start refused: {started}")
        if speed != 1:
            _, answer = await tab.call("set_speed", {"speed": speed}, 60)
            if answer.get("error"):
                raise RuntimeError(f"set_speed refused: {answer}")
    except Exception:  # noqa: BLE001 - reported to the parent, which stops
        conn.send(("error", traceback.format_exc()[-1500:]))
        return
    conn.send(("room", opened["room"]["code"]))
    start, stop, _ = await loop.run_in_executor(None, conn.recv)
    await asyncio.sleep(max(0.0, stop - time.time()) + 0.5)
    stats = pool([stream_stats(tab, start, stop, speed)])
    stats.update(errors=tab.errors[:10], closed=tab.closed)
    tab.abort()
    conn.send(("stats", stats))


def _presenter(port: int, lb: str, run: dict, speed: float, conn) -> None:
    asyncio.run(_present(port, lb, run, speed, conn))


def _recv(pipe, what: str, timeout: float = PIPE_TIMEOUT_S):
    """The next message on ``pipe``; a client process that says nothing for ``timeout`` s, or
    reports a failure, stops the bench."""
    if not pipe.poll(timeout):
        raise RuntimeError(f"{what}: no answer in {timeout:g} s")
    got = pipe.recv()
    if got[0] == "error":
        raise RuntimeError(f"{what} failed:\n{got[1]}")
    return got


# --- measuring one scenario ----------------------------------------------------------------------
def healthz(url: str) -> dict:
    with urllib.request.urlopen(url + "/healthz", timeout=10) as answer:
        return json.load(answer)


def upstreams(access_log: Path, prefix: str) -> dict[str, str]:
    """The upstream (``host:port``) that answered each ``lb`` key's websocket handshake in this
    scenario (nginx's log, where a websocket's line is written when it closes)."""
    where: dict[str, str] = {}
    for line in access_log.read_text(errors="replace").splitlines():
        m = ACCESS_LINE.match(line)
        if m and m["status"] == "101" and m["lb"].startswith(prefix):
            where[m["lb"]] = m["upstream"]
    return where


def handshakes(access_log: Path, prefix: str) -> dict[str, int]:
    """Distinct ``lb`` keys of this scenario's websocket handshakes, per upstream."""
    counts: dict[str, int] = {}
    for upstream in upstreams(access_log, prefix).values():
        counts[upstream] = counts.get(upstream, 0) + 1
    return counts


def log_trouble(folder: Path | None, files: list[Path] | None = None) -> list[str]:
    """Tracebacks, errors and warnings in the app processes' and nginx's logs."""
    found = []
    if files is None:
        files = sorted((folder or Path()).glob("app*.log")) + sorted(
            (folder or Path()).glob("nginx.log"))
    for path in files:
        with contextlib.suppress(OSError):
            for line in path.read_text(errors="replace").splitlines():
                if LOG_TROUBLE.search(line):
                    found.append(f"{path.name}: {line[:300]}")
    return found


def app_env(a, room: bool = False) -> dict:
    """The app processes' settings: ``bench.fanout.start_server``'s (the per-address cap out of
    the way), room for the clients' sessions, and, for the room, for its students."""
    env = {"ASYNC_MODE": a.async_mode, "MAX_SESSIONS_PER_CLIENT": "100000",
           "MAX_CONNECTIONS": "10000", "MAX_SESSIONS": str(max(2000, 2 * a.clients))}
    if room:
        env["MAX_ROOM_STUDENTS"] = str(max(400, a.clients + 10))
    return env


def setup_name(processes: int, direct: bool, room: bool) -> str:
    name = "app.py alone, no nginx" if direct else (
        f"{processes} process{'es' if processes > 1 else ''} behind nginx")
    return f"one room: {name}" if room else name


def scenario(processes: int, direct: bool, a, room: bool = False) -> dict:
    """``processes`` app processes behind nginx (``direct``: one ``app.py`` alone), measured:
    ``--clients`` sessions, or (``room``) a presenter and ``--clients`` students of its room."""
    name = setup_name(processes, direct, room)
    prefix = secrets.token_hex(4)
    speed = a.room_speed if room else SPEED
    run = {"config": {"messages": 0, **({"interval": a.interval} if a.interval else {})}}
    env = app_env(a, room)
    cluster = server = None
    log_files: list[Path] | None = None
    a.log_dir.mkdir(parents=True, exist_ok=True)
    if direct:
        port = free_port()
        log = a.log_dir / f"bench-cluster-{'room-' if room else ''}direct-{port}.log"
        server = start_server(port, a.async_mode, log=log, wait_s=30, extra={
            k: v for k, v in env.items() if k in ("MAX_SESSIONS", "MAX_ROOM_STUDENTS")})
        apps, app_urls, where_logs, log_files = [server], [f"http://{HOST}:{port}"], str(log), [
            log]
    else:
        cluster = Cluster(processes, env=env)
        cluster.log_dir = a.log_dir / (f"bench-cluster-{'room-' if room else ''}{processes}-"
                                       f"{cluster.port}")
        cluster.start()
        port, apps, app_urls, where_logs = cluster.port, cluster.apps, cluster.app_urls, str(
            cluster.log_dir)
    print(f"{name}: {', '.join(app_urls)}; logs in {where_logs}", flush=True)
    out: dict = {"setup": name, "processes": processes, "direct": direct, "room": room,
                 "clients": a.clients, "seconds": a.seconds, "speed": speed}
    ctx = mp.get_context("fork")
    workers, pipes = [], []
    presenter = presenter_pipe = None
    try:
        job: tuple = ("sessions", run)
        if room:
            presenter_pipe, child = ctx.Pipe()
            presenter = ctx.Process(target=_presenter, daemon=True,
                                    args=(port, f"{prefix}-presenter", run, speed, child))
            presenter.start()
            _, code = _recv(presenter_pipe, "the presenter", 120)
            out["code"] = code
            job = ("room", code)
            print(f"  room {code} open, its run playing at {speed:g}x", flush=True)
        keys = [f"{prefix}-{i}" for i in range(a.clients)]
        shares = [keys[i::a.workers] for i in range(min(a.workers, a.clients))]
        for share in shares:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, daemon=True,
                               args=(port, share, job, a.connect_concurrency, child))
            proc.start()
            workers.append(proc)
            pipes.append(parent)
        connected, failures, failed, connect_s = 0, [], 0, 0.0
        for pipe in pipes:
            _, ok, some, count, took = _recv(pipe, "a client process")
            connected += ok
            failures += some
            failed += count
            connect_s = max(connect_s, took)
        out.update(connected=connected, failed=failed, failures=failures[:5],
                   connect_s=connect_s)
        print(f"  {connected} {'students' if room else 'clients'} streaming after "
              f"{connect_s:.1f} s" + (f"; {failed} failed, e.g. {failures[:2]}" if failed
                                      else ""), flush=True)
        start = time.time() + a.settle_s
        stop = start + a.seconds
        for pipe in pipes + ([presenter_pipe] if presenter_pipe else []):
            pipe.send((start, stop, speed))
        time.sleep(max(0.0, start - time.time()))
        pids = {"apps": [p.pid for p in apps],
                "clients": [w.pid for w in workers] + ([presenter.pid] if presenter else [])}
        mark0 = _cpu_mark(pids, cluster)
        time.sleep(max(0.0, start + a.seconds / 2 - time.time()))
        out["healthz"] = [healthz(url) for url in app_urls]
        time.sleep(max(0.0, stop - time.time()))
        mark1 = _cpu_mark(pids, cluster)
        out["cpu"] = _cpu_window(mark0, mark1)
        for pipe in pipes:
            _recv(pipe, "a client process", 120 + a.seconds)
        if presenter_pipe is not None:
            _, got = _recv(presenter_pipe, "the presenter", 120)
            out["presenter"] = summary(got)
            out["presenter"].update(errors=got["errors"], closed=got["closed"])
        where: dict[str, str] = {"*": LOCAL if room else "app1"}  # one app.py: all there
        if cluster is not None:
            time.sleep(1.0)  # nginx writes a websocket's line when it closes
            found = upstreams(cluster.access_log, prefix)
            counts = handshakes(cluster.access_log, prefix)
            out["nginx"] = [counts.get(f"{HOST}:{p}", 0) for p in cluster.app_ports]
            where = {lb: _place(up, found.get(f"{prefix}-presenter"), cluster, room)
                     for lb, up in found.items()}  # a key missing from the log: "unknown"
        for pipe in pipes:
            pipe.send(where)
        pools = [_recv(pipe, "a client process", 120)[1] for pipe in pipes]
        for proc in workers + ([presenter] if presenter else []):
            proc.join(10)
        merged = merge([place for p in pools for place in p["places"].values()])
        merged["loop"] = [x for p in pools for x in p["loop"]]
        out["errors"] = [e for p in pools for e in p["errors"]][:10]
        out["closed"] = sum(p["closed"] for p in pools)
        out["resync_kinds"] = {}
        for p in pools:
            for kind, count in p["resync_kinds"].items():
                out["resync_kinds"][kind] = out["resync_kinds"].get(kind, 0) + count
        out.update(summary(merged))
        places: dict[str, list] = {}
        for p in pools:
            for place, got in p["places"].items():
                places.setdefault(place, []).append(got)
        out["places"] = {place: {"clients": sum(g["clients"] for g in got),
                                 **summary({**merge(got), "loop": []})}
                         for place, got in sorted(places.items())}
        # (before the programs stop: stopping makes noise of its own, Redis going first)
        out["log_trouble"] = log_trouble(cluster.log_dir if cluster else None, log_files)
    finally:
        for proc in workers + ([presenter] if presenter else []):
            if proc.is_alive():
                proc.kill()
        if cluster is not None:
            cluster.stop()
        if server is not None:
            server.terminate()
            server.wait(10)
    return out


def _place(upstream: str, presenter: str | None, cluster: Cluster, room: bool) -> str:
    """Where a websocket was: in the room, on the presenter's process or relayed from another;
    in the sessions scenario, which app process."""
    if room:
        if presenter is None:
            return "unknown"
        return LOCAL if upstream == presenter else RELAYED
    ports = [f"{HOST}:{p}" for p in cluster.app_ports]
    return f"app{ports.index(upstream) + 1}" if upstream in ports else upstream


def _cpu_mark(pids: dict, cluster: Cluster | None) -> dict:
    def cpu(pid: int) -> float:
        with contextlib.suppress(OSError):
            return cpu_seconds(pid)
        return 0.0

    return {"t": time.time(), "apps": [cpu(p) for p in pids["apps"]],
            "clients": sum(cpu(p) for p in pids["clients"]),
            "nginx": tree_cpu(cluster.nginx.pid) if cluster else 0.0,
            "redis": cpu(cluster.redis.pid) if cluster else 0.0,
            "ours": tree_cpu(os.getpid()), "machine": machine_busy()}


def _cpu_window(a: dict, b: dict) -> dict:
    span = b["t"] - a["t"]
    return {"apps": [(y - x) / span for x, y in zip(a["apps"], b["apps"], strict=True)],
            **{k: (b[k] - a[k]) / span for k in ("clients", "nginx", "redis")},
            "machine": (b["machine"] - a["machine"]) / span,
            "others": max(0.0, (b["machine"] - a["machine"]) - (b["ours"] - a["ours"])) / span}


def summary(p: dict) -> dict:
    return {"frames": len(p["lat"]), "fps_median": statistics.median(p["fps"]) if p["fps"]
            else float("nan"), "fps_min": min(p["fps"], default=float("nan")),
            "gap_p50": pct(p["gaps"], 50), "gap_p99": pct(p["gaps"], 99),
            "gap_max": max(p["gaps"], default=float("nan")),
            "lag_p50": pct(p["lags"], 50), "lag_p99": pct(p["lags"], 99),
            "lag_max": max(p["lags"], default=float("nan")),
            "lat_p99": pct(p["lat"], 99), "slip_max": max(p["slip"], default=float("nan")),
            "skipped": sum(p["missed"]), "loop_p99": pct(p.get("loop", []), 99)}


# --- reporting -----------------------------------------------------------------------------------
HEADER = ("| setup | clients | sessions / connections per process (`/healthz`) | handshakes per "
          "process (nginx log) | frames/s per client, median (lowest) | gap p50 / p99 / max ms "
          "| lag p50 / p99 / max ms | latency p99 ms | run fell behind ms (worst) | skipped "
          "frames | CPU per app process | nginx CPU | Redis CPU | clients CPU | client loop p99 "
          "ms | other jobs (cores) |\n"
          "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: "
          "| ---: | ---: | ---: | ---: |")
ROOM_HEADER = (HEADER.replace("| clients |", "| students |", 1)
               .replace("per client", "per student").replace("clients CPU", "clients CPU "
                                                              "(presenter included)"))
PLACES_HEADER = ("| setup | students' websockets | students | frames/s per student, median "
                 "(lowest) | gap p50 / p99 / max ms | lag p50 / p99 / max ms | latency p99 ms "
                 "| run fell behind ms (worst) | skipped frames |\n"
                 "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def _n(value: float, digits: int = 0) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"  # NaN: no value


def _slip(value: float) -> str:
    """Simulated time lost (a run a little ahead of its most punctual frame lost none)."""
    return _n(value if value != value else max(0.0, value))


def _spread(r: dict) -> str:
    cells = []
    for h in r["healthz"]:
        cell = f"{h['sessions']} / {h['connections']}"
        if r["room"] and h.get("rooms"):
            cell += " (the room's)"
        cells.append(cell)
    return " + ".join(cells)


def row(r: dict) -> str:
    cpu = r["cpu"]
    nginx = " + ".join(str(n) for n in r["nginx"]) if "nginx" in r else "(no nginx)"
    clients = f"{r['connected']}" + (f" ({r['failed']} failed)" if r["failed"] else "")
    return (f"| {r['setup']} | {clients} | {_spread(r)} | {nginx} | "
            f"{_n(r['fps_median'], 1)} ({_n(r['fps_min'], 1)}) | "
            f"{_n(r['gap_p50'])} / {_n(r['gap_p99'])} / {_n(r['gap_max'])} | "
            f"{_n(r['lag_p50'])} / {_n(r['lag_p99'])} / {_n(r['lag_max'])} | "
            f"{_n(r['lat_p99'], 1)} | {_slip(r['slip_max'])} | {r['skipped']:.0f} | "
            f"{' + '.join(f'{c:.0%}' for c in cpu['apps'])} | {cpu['nginx']:.0%} | "
            f"{cpu['redis']:.0%} | {cpu['clients']:.0%} | {_n(r['loop_p99'], 1)} | "
            f"{cpu['others']:.2f} |")


def place_rows(r: dict) -> list[str]:
    lines = []
    for place, s in r.get("places", {}).items():
        lines.append(f"| {r['setup']} | {place} | {s['clients']} | "
                     f"{_n(s['fps_median'], 1)} ({_n(s['fps_min'], 1)}) | "
                     f"{_n(s['gap_p50'])} / {_n(s['gap_p99'])} / {_n(s['gap_max'])} | "
                     f"{_n(s['lag_p50'])} / {_n(s['lag_p99'])} / {_n(s['lag_max'])} | "
                     f"{_n(s['lat_p99'], 1)} | {_slip(s['slip_max'])} | {s['skipped']:.0f} |")
    return lines


def verdicts(results: list[dict], target_ms: float) -> list[str]:
    """Each scenario against ``target_ms``: the p99 gap, and the p99 emit-to-receive latency
    (``bench/fanout.py``'s goal for 1,000 sessions)."""
    lines = []
    for r in results:
        gap = "met" if r["gap_p99"] <= target_ms else "NOT met"
        latency = "met" if r["lat_p99"] <= target_ms else "NOT met"
        who = "students" if r["room"] else "clients"
        line = (f"{r['setup']}, {r['connected']} {who}: p99 gap {_n(r['gap_p99'])} ms "
                f"(<= {target_ms:g} ms: {gap}), p99 latency {_n(r['lat_p99'], 1)} ms "
                f"(<= {target_ms:g} ms: {latency}), p99 lag {_n(r['lag_p99'])} ms, "
                f"{_n(r['fps_median'], 1)} frames/s per client, app processes at "
                f"{', '.join(f'{c:.0%}' for c in r['cpu']['apps'])} of a core")
        if r["room"]:
            line += "".join(f"; {place} ({s['clients']}): p99 gap {_n(s['gap_p99'])} ms, p99 "
                            f"lag {_n(s['lag_p99'])} ms" for place, s in r["places"].items())
            p = r.get("presenter")
            if p:
                line += (f"; the presenter: p99 gap {_n(p['gap_p99'])} ms, p99 lag "
                         f"{_n(p['lag_p99'])} ms, {_n(p['fps_median'], 1)} frames/s")
        lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", choices=("sessions", "room", "both"), default="sessions",
                    help="independent sessions, one room of students, or both (default: "
                    "sessions)")
    ap.add_argument("--clients", type=int, default=1000,
                    help="independent sessions, or students in the room (1,000)")
    ap.add_argument("--seconds", type=float, default=30.0, help="the measuring window (30 s)")
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2],
                    help="app processes behind nginx, one scenario each (default: 1 2)")
    ap.add_argument("--direct", action="store_true",
                    help="first measure one app.py alone, without nginx and Redis")
    ap.add_argument("--interval", type=float, default=None,
                    help="each run's send interval in ms (default: the run's own, 400)")
    ap.add_argument("--room-speed", type=float, default=1.0,
                    help="the speed the room's run plays at (default 1; bench.rooms uses 10)")
    ap.add_argument("--settle-s", type=float, default=3.0,
                    help="after every client streams, wait this long before measuring")
    ap.add_argument("--workers", type=int, default=2, help="client processes")
    ap.add_argument("--connect-concurrency", type=int, default=20,
                    help="clients of one client process joining at once")
    ap.add_argument("--async-mode", default=os.environ.get("ASYNC_MODE", "eventlet"),
                    choices=("eventlet", "gevent"))
    ap.add_argument("--target-ms", type=float, default=250.0,
                    help="the p99 gap and latency target (250 ms)")
    ap.add_argument("--quiet-below", type=float, default=0.5, help="before each scenario, wait "
                    "until other jobs keep fewer than this many cores busy (0: do not wait)")
    ap.add_argument("--quiet-patience-s", type=float, default=600.0)
    ap.add_argument("--log-dir", type=Path, default=ROOT / "test-artifacts",
                    help="the programs' logs go under here")
    ap.add_argument("--json", type=Path, help="write every number to this file")
    a = ap.parse_args(argv)
    if a.clients < 1 or a.seconds <= 0 or a.workers < 1 or a.connect_concurrency < 1:
        ap.error("--clients, --seconds, --workers and --connect-concurrency must be positive")
    if any(not 1 <= n <= 64 for n in a.processes):
        ap.error("--processes: each between 1 and 64")
    if not 0.1 <= a.room_speed <= 50:
        ap.error("--room-speed must be between 0.1 and 50")

    kinds = {"sessions": [False], "room": [True], "both": [False, True]}[a.scenario]
    print(f"cluster bench: {machine()}; {a.async_mode}; {a.clients} clients in {a.workers} "
          f"client processes; {a.seconds:g} s measured per scenario", flush=True)
    scenarios = [(n, direct, room) for room in kinds
                 for n, direct in ([(1, True)] if a.direct else []) + [
                     (n, False) for n in a.processes]]
    results = []
    for processes, direct, room in scenarios:
        if a.quiet_below:
            busy = wait_quiet(a.quiet_below, a.quiet_patience_s)
            print(f"machine busy before the scenario: {busy:.2f} cores", flush=True)
        results.append(scenario(processes, direct, a, room))
        print("  " + row(results[-1]), flush=True)
    print()
    for room in kinds:
        print(ROOM_HEADER if room else HEADER)
        for r in results:
            if r["room"] == room:
                print(row(r))
        print()
    if any(r["room"] for r in results):
        print(PLACES_HEADER)
        for r in results:
            if r["room"]:
                print("\n".join(place_rows(r)))
        print()
    for line in verdicts(results, a.target_ms):
        print("- " + line)
    for r in results:
        if r["errors"] or r["closed"] or r["resync_kinds"]:
            print(f"{r['setup']}: {len(r['errors'])} error events {r['errors'][:3]}, "
                  f"{r['closed']} connections closed by the server, resyncs {r['resync_kinds']}")
        if r["log_trouble"]:
            print(f"{r['setup']}: {len(r['log_trouble'])} lines of trouble in the app "
                  f"processes' logs, e.g. {r['log_trouble'][:3]}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"machine": machine(), "args": {
            k: str(v) for k, v in vars(a).items()}, "results": results}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
