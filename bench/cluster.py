"""Several processes behind nginx: many independent sessions on one app process, then on two.

    python -m bench.cluster --direct    # the full run of bench/README.md (a few minutes)
    python -m bench.cluster             # the same without the app.py-alone row
    python -m bench.cluster --clients 100 --seconds 10    # a quick check (a minute or two)
    python -m bench.cluster --processes 1 2 3 --json test-artifacts/bench-cluster.json

Defaults: 1,000 clients, 30 s measured per scenario, scenarios of 1 then 2 app processes.
Each scenario starts afresh with ``deploy.cluster.Cluster`` (a redis-server of its own, the app
processes, each ``app.py`` under eventlet unless ``--async-mode gevent``, and nginx in front, all
on free loopback ports; their logs in ``--log-dir``, default test-artifacts/, under
bench-cluster-PROCESSES-PORT/): first one app process behind nginx (the baseline: the same path
as the others, nginx, Redis and the session records included), then two (``--processes 1 2``).
``--direct`` adds, first, one ``app.py`` alone on its own port (``bench.fanout.start_server``:
no nginx, no Redis; its log bench-cluster-direct-PORT.log), which is what
``python -m bench.fanout`` measures.

``--clients`` clients (default 1,000) connect to nginx, each with a key of its own in the
query (``?lb=...``, as a browser tab sends it), so nginx's consistent hash spreads them over the
processes. Each is its own session and plays its own run at 1x (``bench/fanout.py``'s run:
``start {config: {messages: 0}}``, a message every 400 ms that never stops; ``--interval MS``
for another interval). All clients connect from 127.0.0.1, and every app process sees that
address (nginx's ``X-Forwarded-For``, trusted from 127.0.0.1): the app processes run with the
per-address cap raised (``MAX_SESSIONS_PER_CLIENT``, and ``MAX_SESSIONS`` and
``MAX_CONNECTIONS`` sized for the clients) through the cluster's ``env``.

The clients are ``bench.rooms.Peer``: raw websockets (asyncio streams and ``wsproto``) speaking
the Engine.IO/Socket.IO text protocol, reading of each frame only its first and last few dozen
characters (stream position, simulated time, speed, ``sent_at``), spread over ``--workers``
processes (default 2), ``--connect-concurrency`` of them joining at once per process. After every
client is streaming, and ``--settle-s`` more, the frames are measured for ``--seconds``:

- **gap**: wall time between two frames reaching one client (p50 / p99 / max over all clients).
  A run at 1x makes about 10 frames a second with quiet stretches of its own, so this gap is a
  few hundred ms at p99 even on an idle server (``bench/README.md``, "Fan-out");
- **lag**: how far behind the paced schedule a frame arrives (as in ``bench/rooms.py``): a frame
  showing simulated time ``now`` is due at ``anchor + now`` (1x), the anchor being the client's
  most punctual frame in the window; lag is receive time minus that. It grows when a process is
  out of CPU and its ticks stretch past ``MAX_TICK_S``;
- **latency**: receive time minus the frame's ``sent_at`` (one machine, one clock);
- **run fell behind**: simulated time a client's run lost over the window (the worst client);
- **frames/s per client**: median and lowest;
- **skipped frames**: ``stream_seq`` jumps (the server skipped a connection whose send queue was
  full; the client resyncs as the page does);
- **spread**: each app process's ``/healthz`` (``sessions`` / ``connections``) in the middle of
  the window, and the ``lb`` keys of the websocket handshakes each process answered (nginx's
  access log, read after the clients close);
- **CPU**, as a share of one core over the window: each app process, nginx (master and worker),
  Redis, the client processes; and the cores other jobs on the machine kept busy (the machine's
  busy time less this bench's own process tree).

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
SPEED = 1.0
ACCESS_LINE = re.compile(r'^\S+ \[[^\]]*\] "GET (?P<path>\S+) [^"]*" (?P<status>\d+) '
                         r'(?P<upstream>\S+) lb=(?P<lb>\S*)$')


# --- one client ----------------------------------------------------------------------------------
class Tab(Peer):
    """``bench.rooms.Peer`` connecting as a browser tab behind nginx: with its own ``lb`` key."""

    def __init__(self, port: int, lb: str):
        super().__init__(port, {})
        self.lb = lb
        self.query = f"&lb={lb}"


async def _quietly(coro) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        await coro


async def open_tab(port: int, lb: str, run: dict, timeout: float = 60) -> Tab:
    """A connected tab with its session, playing its own run."""
    tab = Tab(port, lb)
    tab.task = asyncio.ensure_future(_quietly(tab.run()))
    waiter = asyncio.ensure_future(tab.wait(
        lambda: tab.session is not None or bool(tab.errors) or tab.closed, timeout))
    await asyncio.wait({waiter, tab.task}, timeout=timeout,
                       return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if tab.session is None:
        tab.abort()
        raise RuntimeError(f"no session: {tab.errors or 'connection closed or timed out'}")
    _, answer = await tab.call("start", run, timeout)
    if "epoch" not in answer:
        tab.abort()
        raise RuntimeError(f"start refused: {answer}")
    return tab


# --- a client process ----------------------------------------------------------------------------
async def _clients(port: int, keys: list[str], run: dict, concurrency: int, conn) -> None:
    loop = asyncio.get_running_loop()
    monitor = LoopMonitor()
    monitor_task = asyncio.ensure_future(monitor.run())
    gate = asyncio.Semaphore(concurrency)

    async def one(lb: str) -> Tab:
        async with gate:
            return await open_tab(port, lb, run)

    t0 = time.time()
    opened = await asyncio.gather(*(one(k) for k in keys), return_exceptions=True)
    tabs = [t for t in opened if isinstance(t, Tab)]
    failed = [repr(t)[:300] for t in opened if not isinstance(t, Tab)]
    conn.send(("ready", len(tabs), failed[:5], len(failed), time.time() - t0))
    start, stop = await loop.run_in_executor(None, conn.recv)
    await asyncio.sleep(max(0.0, stop - time.time()) + 0.5)  # the window's last frames arrive
    try:
        stats = pool([stream_stats(t, start, stop, SPEED) for t in tabs])
        stats["loop"] = monitor.window(start, stop)
        stats["errors"] = [e for t in tabs for e in t.errors][:20]
        stats["closed"] = sum(t.closed for t in tabs)
        resyncs: dict[str, int] = {}
        for t in tabs:
            for kind, count in t.resync_kinds.items():
                resyncs[kind] = resyncs.get(kind, 0) + count
        stats["resync_kinds"] = resyncs
        conn.send(("stats", stats))
    except Exception:  # noqa: BLE001 - reported to the parent, which stops
        conn.send(("error", traceback.format_exc()[-1500:]))
    for t in tabs:
        t.abort()
    monitor_task.cancel()
    await asyncio.sleep(0.2)


def _worker(port: int, keys: list[str], run: dict, concurrency: int, conn) -> None:
    asyncio.run(_clients(port, keys, run, concurrency, conn))


# --- measuring one scenario ----------------------------------------------------------------------
def healthz(url: str) -> dict:
    with urllib.request.urlopen(url + "/healthz", timeout=10) as answer:
        return json.load(answer)


def handshakes(access_log: Path, prefix: str) -> dict[str, int]:
    """Distinct ``lb`` keys of this scenario's websocket handshakes, per upstream (nginx's log,
    where a websocket's line is written when it closes)."""
    keys: dict[str, set] = {}
    for line in access_log.read_text(errors="replace").splitlines():
        m = ACCESS_LINE.match(line)
        if m and m["status"] == "101" and m["lb"].startswith(prefix):
            keys.setdefault(m["upstream"], set()).add(m["lb"])
    return {upstream: len(found) for upstream, found in keys.items()}


def app_env(a) -> dict:
    """The app processes' settings: ``bench.fanout.start_server``'s (the per-address cap out of
    the way), and room for the clients' sessions."""
    return {"ASYNC_MODE": a.async_mode, "MAX_SESSIONS_PER_CLIENT": "100000",
            "MAX_CONNECTIONS": "10000", "MAX_SESSIONS": str(max(2000, 2 * a.clients))}


def scenario(processes: int, direct: bool, a) -> dict:
    """``processes`` app processes behind nginx (``direct``: one ``app.py`` alone), measured."""
    name = "app.py alone, no nginx" if direct else (
        f"{processes} process{'es' if processes > 1 else ''} behind nginx")
    prefix = secrets.token_hex(4)
    run = {"config": {"messages": 0, **({"interval": a.interval} if a.interval else {})}}
    cluster = server = None
    a.log_dir.mkdir(parents=True, exist_ok=True)
    if direct:
        port = free_port()
        log = a.log_dir / f"bench-cluster-direct-{port}.log"
        server = start_server(port, a.async_mode, log=log, wait_s=30,
                              extra={"MAX_SESSIONS": app_env(a)["MAX_SESSIONS"]})
        apps, app_urls, where = [server], [f"http://{HOST}:{port}"], str(log)
    else:
        cluster = Cluster(processes, env=app_env(a))
        cluster.log_dir = a.log_dir / f"bench-cluster-{processes}-{cluster.port}"
        cluster.start()
        port, apps, app_urls, where = cluster.port, cluster.apps, cluster.app_urls, str(
            cluster.log_dir)
    print(f"{name}: {', '.join(app_urls)}; logs in {where}", flush=True)
    out: dict = {"setup": name, "processes": processes, "direct": direct,
                 "clients": a.clients, "seconds": a.seconds}
    ctx = mp.get_context("fork")
    workers, pipes = [], []
    try:
        keys = [f"{prefix}-{i}" for i in range(a.clients)]
        shares = [keys[i::a.workers] for i in range(min(a.workers, a.clients))]
        for share in shares:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, daemon=True,
                               args=(port, share, run, a.connect_concurrency, child))
            proc.start()
            workers.append(proc)
            pipes.append(parent)
        connected, failures, failed, connect_s = 0, [], 0, 0.0
        for pipe in pipes:
            _, ok, some, count, took = pipe.recv()
            connected += ok
            failures += some
            failed += count
            connect_s = max(connect_s, took)
        out.update(connected=connected, failed=failed, failures=failures[:5],
                   connect_s=connect_s)
        print(f"  {connected} clients streaming after {connect_s:.1f} s"
              + (f"; {failed} failed, e.g. {failures[:2]}" if failed else ""), flush=True)
        start = time.time() + a.settle_s
        stop = start + a.seconds
        for pipe in pipes:
            pipe.send((start, stop))
        time.sleep(max(0.0, start - time.time()))
        pids = {"apps": [p.pid for p in apps], "clients": [w.pid for w in workers]}
        mark0 = _cpu_mark(pids, cluster)
        time.sleep(max(0.0, start + a.seconds / 2 - time.time()))
        out["healthz"] = [healthz(url) for url in app_urls]
        time.sleep(max(0.0, stop - time.time()))
        mark1 = _cpu_mark(pids, cluster)
        out["cpu"] = _cpu_window(mark0, mark1)
        pools = []
        for pipe in pipes:
            kind, got = pipe.recv()
            if kind != "stats":
                raise RuntimeError(f"a client process failed:\n{got}")
            pools.append(got)
        for proc in workers:
            proc.join(10)
        merged = merge(pools)
        merged["loop"] = [x for p in pools for x in p["loop"]]
        out["errors"] = [e for p in pools for e in p["errors"]][:10]
        out["closed"] = sum(p["closed"] for p in pools)
        out["resync_kinds"] = {}
        for p in pools:
            for kind, count in p["resync_kinds"].items():
                out["resync_kinds"][kind] = out["resync_kinds"].get(kind, 0) + count
        out.update(summary(merged))
        if cluster is not None:
            time.sleep(1.0)  # nginx writes a websocket's line when it closes
            by_upstream = handshakes(cluster.access_log, prefix)
            out["nginx"] = [by_upstream.get(f"{HOST}:{p}", 0) for p in cluster.app_ports]
    finally:
        for proc in workers:
            if proc.is_alive():
                proc.kill()
        if cluster is not None:
            cluster.stop()
        if server is not None:
            server.terminate()
            server.wait(10)
    return out


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
            "skipped": sum(p["missed"]), "loop_p99": pct(p["loop"], 99)}


# --- reporting -----------------------------------------------------------------------------------
HEADER = ("| setup | clients | sessions / connections per process (`/healthz`) | handshakes per "
          "process (nginx log) | frames/s per client, median (lowest) | gap p50 / p99 / max ms "
          "| lag p50 / p99 / max ms | latency p99 ms | run fell behind ms (worst) | skipped "
          "frames | CPU per app process | nginx CPU | Redis CPU | clients CPU | client loop p99 "
          "ms | other jobs (cores) |\n"
          "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: "
          "| ---: | ---: | ---: | ---: |")


def _n(value: float, digits: int = 0) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"  # NaN: no value


def row(r: dict) -> str:
    cpu = r["cpu"]
    spread = " + ".join(f"{h['sessions']} / {h['connections']}" for h in r["healthz"])
    nginx = " + ".join(str(n) for n in r["nginx"]) if "nginx" in r else "(no nginx)"
    clients = f"{r['connected']}" + (f" ({r['failed']} failed)" if r["failed"] else "")
    return (f"| {r['setup']} | {clients} | {spread} | {nginx} | "
            f"{_n(r['fps_median'], 1)} ({_n(r['fps_min'], 1)}) | "
            f"{_n(r['gap_p50'])} / {_n(r['gap_p99'])} / {_n(r['gap_max'])} | "
            f"{_n(r['lag_p50'])} / {_n(r['lag_p99'])} / {_n(r['lag_max'])} | "
            f"{_n(r['lat_p99'], 1)} | {_n(r['slip_max'])} | {r['skipped']:.0f} | "
            f"{' + '.join(f'{c:.0%}' for c in cpu['apps'])} | {cpu['nginx']:.0%} | "
            f"{cpu['redis']:.0%} | {cpu['clients']:.0%} | {_n(r['loop_p99'], 1)} | "
            f"{cpu['others']:.2f} |")


def verdicts(results: list[dict], target_ms: float) -> list[str]:
    """Each scenario against ``target_ms``: the p99 gap, and the p99 emit-to-receive latency
    (``bench/fanout.py``'s goal for 1,000 sessions)."""
    lines = []
    for r in results:
        gap = "met" if r["gap_p99"] <= target_ms else "NOT met"
        latency = "met" if r["lat_p99"] <= target_ms else "NOT met"
        lines.append(f"{r['setup']}, {r['connected']} clients: p99 gap {_n(r['gap_p99'])} ms "
                     f"(<= {target_ms:g} ms: {gap}), p99 latency {_n(r['lat_p99'], 1)} ms "
                     f"(<= {target_ms:g} ms: {latency}), p99 lag {_n(r['lag_p99'])} ms, "
                     f"{_n(r['fps_median'], 1)} frames/s per client, app processes at "
                     f"{', '.join(f'{c:.0%}' for c in r['cpu']['apps'])} of a core")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=1000, help="independent sessions (1,000)")
    ap.add_argument("--seconds", type=float, default=30.0, help="the measuring window (30 s)")
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2],
                    help="app processes behind nginx, one scenario each (default: 1 2)")
    ap.add_argument("--direct", action="store_true",
                    help="first measure one app.py alone, without nginx and Redis")
    ap.add_argument("--interval", type=float, default=None,
                    help="each run's send interval in ms (default: the run's own, 400)")
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

    print(f"cluster bench: {machine()}; {a.async_mode}; {a.clients} clients in {a.workers} "
          f"client processes; {a.seconds:g} s measured per scenario", flush=True)
    scenarios = ([(1, True)] if a.direct else []) + [(n, False) for n in a.processes]
    results = []
    for processes, direct in scenarios:
        if a.quiet_below:
            busy = wait_quiet(a.quiet_below, a.quiet_patience_s)
            print(f"machine busy before the scenario: {busy:.2f} cores", flush=True)
        results.append(scenario(processes, direct, a))
        print("  " + row(results[-1]), flush=True)
    print()
    print(HEADER)
    for r in results:
        print(row(r))
    print()
    for line in verdicts(results, a.target_ms):
        print("- " + line)
    for r in results:
        if r["errors"] or r["closed"] or r["resync_kinds"]:
            print(f"{r['setup']}: {len(r['errors'])} error events {r['errors'][:3]}, "
                  f"{r['closed']} connections closed by the server, resyncs {r['resync_kinds']}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"machine": machine(), "args": {
            k: str(v) for k, v in vars(a).items()}, "results": results}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
