"""Fan-out benchmark: one server process streaming to N concurrent light clients at speed 1.

    python -m bench.fanout [--clients 100 300 1000] [--seconds 10] [--mode sessions|watchers]

Starts ``app.py`` (eventlet unless ASYNC_MODE says otherwise) on a free loopback port, then
spreads N clients over a few worker processes. A light client is a raw websocket (asyncio streams
plus ``wsproto``) speaking the Engine.IO/Socket.IO text protocol: it answers pings, starts a run,
and for each ``frame`` reads only the server's ``sent_at`` stamp, so the load generator spends
little per message. Latency is receive wall time minus ``sent_at`` (one machine, one clock).
Server CPU is read from /proc/<pid>/stat over the measuring window.

Modes: ``sessions`` (default): every client its own session and run, the heavy case;
``watchers``: every client attached to one session (one simulation, N sockets).
Besides latency it reports the p99 wall-clock gap between two frames reaching one client: when
the server runs out of CPU its ticks stretch, frames get fewer and larger, and this gap (not the
emit-to-receive latency) shows how stale the picture gets. Prints a Markdown table row per N;
``--out FILE`` appends it to a file as well.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
RUN = {"config": {"messages": 0}}  # keep sending: a steady stream for the whole window
CLK_TCK = os.sysconf("SC_CLK_TCK")


class LightClient:
    """One Socket.IO connection over a raw websocket; records frame latencies in a window."""

    def __init__(self, port: int, token: str | None, play: bool):
        self.port, self.token, self.play = port, token, play
        self.latencies: list[float] = []
        self.gaps: list[float] = []  # wall time between two frames of this client
        self.last_frame: float | None = None
        self.recording = False
        self.session_token: str | None = None
        self.ready = asyncio.Event()
        self.query = ""  # more of the Socket.IO URL's query (a tab's ``&lb=`` key behind nginx)
        self.closed = False  # the server closed the websocket

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection(HOST, self.port)
        ws = WSConnection(ConnectionType.CLIENT)
        writer.write(ws.send(Request(
            host=f"{HOST}:{self.port}",
            target=f"/socket.io/?EIO=4&transport=websocket{self.query}")))
        parts: list[str] = []
        while True:
            data = await reader.read(65536)
            if not data:
                return
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, TextMessage):
                    parts.append(event.data)
                    if event.message_finished:
                        self._on_text("".join(parts), ws, writer)
                        parts = []
                elif isinstance(event, Ping):
                    writer.write(ws.send(event.response()))
                elif isinstance(event, (CloseConnection, RejectConnection)):
                    self.closed = True
                    return
                elif isinstance(event, AcceptConnection):
                    pass

    def _send(self, ws, writer, text: str) -> None:
        writer.write(ws.send(TextMessage(data=text)))

    def _on_text(self, text: str, ws, writer) -> None:
        if text.startswith('42["frame"'):
            if self.recording:
                now = time.time() * 1000
                at = text.rfind('"sent_at":') + 10
                end = at
                while text[end] not in ",}":
                    end += 1
                self.latencies.append(now - float(text[at:end]))
                if self.last_frame is not None:
                    self.gaps.append(now - self.last_frame)
                self.last_frame = now
        elif text == "2":
            self._send(ws, writer, "3")  # Engine.IO pong
        elif text.startswith("0{"):
            auth = {"token": self.token} if self.token else {}
            self._send(ws, writer, "40" + json.dumps(auth))
        elif text.startswith('42["session"'):
            self.session_token = json.loads(text[2:])[1]["token"]
            if self.play:
                self._send(ws, writer, "42" + json.dumps(["start", RUN]))
            self.ready.set()


async def _worker_main(port, count, token, play_first_only, conn):
    clients = []
    tasks = []
    for i in range(count):
        play = not play_first_only or (token is None and i == 0)
        client = LightClient(port, token, play)
        clients.append(client)
        tasks.append(asyncio.ensure_future(client.run()))
        await asyncio.wait_for(client.ready.wait(), 30)
        if token is None and play_first_only:
            token = client.session_token  # watchers: the rest attach to the first one's session
    conn.send(("ready", token))
    loop = asyncio.get_running_loop()
    start, stop = await loop.run_in_executor(None, conn.recv)
    await asyncio.sleep(max(0.0, start - time.time()))
    for client in clients:
        client.recording = True
    await asyncio.sleep(max(0.0, stop - time.time()))
    for client in clients:
        client.recording = False
    cpu = time.process_time()
    conn.send(("done", [x for c in clients for x in c.latencies],
               [x for c in clients for x in c.gaps], cpu))
    for task in tasks:
        task.cancel()


def _worker(port, count, token, play_first_only, conn):
    asyncio.run(_worker_main(port, count, token, play_first_only, conn))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int, async_mode: str, frame_rate: float | None = None,
                 extra: dict | None = None, log: Path | None = None,
                 profile: Path | None = None, wait_s: float = 20) -> subprocess.Popen:
    """``app.py`` on ``port``, sized for many clients from one address; ready when it returns.
    ``log`` keeps its output (else it is discarded); ``profile`` runs it under cProfile (stop it
    with SIGINT so the profile is written)."""
    env = dict(os.environ, ASYNC_MODE=async_mode, MAX_SESSIONS_PER_CLIENT="100000",
               MAX_CONNECTIONS="10000", PYTHONUNBUFFERED="1", **(extra or {}))
    if frame_rate is not None:
        env["FRAME_RATE"] = str(frame_rate)
    cmd = [sys.executable]
    if profile is not None:
        cmd += ["-m", "cProfile", "-o", str(profile)]
    cmd += [str(ROOT / "app.py"), "--host", HOST, "--port", str(port)]
    if log is None:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited early" + (f":\n{log.read_text()}" if log else ""))
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1) as r:
                if json.load(r)["status"] == "ok":
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def measure(n: int, seconds: float, mode: str, async_mode: str, workers: int,
            frame_rate: float) -> dict:
    port = free_port()
    server = start_server(port, async_mode, frame_rate)
    try:
        watchers = mode == "watchers"
        token = None
        pipes, procs = [], []
        counts = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
        for i, count in enumerate(counts):
            parent, child = mp.Pipe()
            proc = mp.Process(target=_worker, args=(port, count, token, watchers, child))
            proc.start()
            tag, got = parent.recv()  # connect worker by worker: a gentle ramp
            if watchers and i == 0:
                token = got
            pipes.append(parent)
            procs.append(proc)
        start = time.time() + 3.0  # let every session settle into its stream
        stop = start + seconds
        for pipe in pipes:
            pipe.send((start, stop))
        time.sleep(max(0.0, start - time.time()))
        cpu0 = cpu_seconds(server.pid)
        time.sleep(max(0.0, stop - time.time()))
        cpu1 = cpu_seconds(server.pid)
        latencies, gaps, client_cpu = [], [], 0.0
        for pipe in pipes:
            _, values, between, cpu = pipe.recv()
            latencies += values
            gaps += between
            client_cpu += cpu
        for proc in procs:
            proc.join(10)
    finally:
        server.terminate()
        server.wait(10)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    g = statistics.quantiles(gaps, n=100) if len(gaps) > 1 else [float("nan")] * 99
    return {"clients": n, "mode": mode, "async_mode": async_mode, "frames": len(latencies),
            "frames_per_s": len(latencies) / seconds, "p50": q[49], "p99": q[98],
            "max": latencies[-1] if latencies else float("nan"),
            "server_cpu": (cpu1 - cpu0) / seconds * 100, "workers": workers,
            "gap_p99": g[98], "frame_rate": frame_rate,
            "client_cpu_s": client_cpu}


def row(r: dict) -> str:
    return (f"| {r['clients']} | {r['mode']} | {r['async_mode']} | {r['frame_rate']:g} | "
            f"{r['frames_per_s']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | "
            f"{r['gap_p99']:.0f} | {r['server_cpu']:.0f}% |")


HEADER = ("| clients | mode | server | FRAME_RATE | frames/s received | p50 ms | p99 ms | max ms "
          "| p99 gap ms | server CPU |\n"
          "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mode", choices=("sessions", "watchers"), default="sessions")
    parser.add_argument("--async-mode", default=os.environ.get("ASYNC_MODE", "eventlet"))
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--frame-rate", type=float, default=30.0, help="the server's FRAME_RATE")
    parser.add_argument("--out", type=Path, help="append the table rows to this file")
    args = parser.parse_args(argv)
    print(HEADER, flush=True)
    for n in args.clients:
        result = measure(n, args.seconds, args.mode, args.async_mode, args.workers,
                         args.frame_rate)
        print(row(result), flush=True)
        if args.out:
            with args.out.open("a") as out:
                out.write(row(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
