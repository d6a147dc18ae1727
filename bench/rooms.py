"""Rooms benchmark: one server process, one presenter, a class of students following, voting,
exploring forks and being called back.

    python -m bench.rooms [--students 300] [--follow-s 20] [--explore-s 30] [--async-mode gevent]
    python -m bench.rooms --students 30 --follow-s 5 --explore-s 5      # a quicker run

Every scenario starts ``app.py`` afresh as a subprocess on a free loopback port (eventlet unless
``--async-mode gevent``), first with one student (the baseline), then with ``--students``. The
presenter is one connection of the orchestrating process; the students are light clients (raw
websockets speaking the Engine.IO/Socket.IO text protocol: ``bench.fanout.LightClient``) spread
over ``--workers`` processes of their own, so the clients read fast enough that the server, not
the load generator, is measured (each worker also records how late its own event loop wakes up).

Phases, with the numbers each reports (``README.md`` in this folder explains them):

1. **follow**: the presenter plays a long run (``start {config: {messages: 3000}}``, then
   ``set_speed 10``); every student joins as a follower; after ``--settle-s`` the students'
   frames are measured for ``--follow-s``.
2. **vote**: the presenter asks a question; each student votes as soon as it sees it (the time
   until every vote is acknowledged, and until the presenter's ``room_tally`` counts each one
   exactly once); ``--reconnect`` students then drop their connection, come back with their
   member token (``auth={"room", "member"}``), find their vote kept and change it: still counted
   once each, in the live tally and in ``room_reveal``'s results.
3. **explore**: ``room_release``; each student sends ``room_explore {}`` when it sees the room
   released, then ``set_speed`` and ``resume`` on its own fork; the presenter plays its run on
   too; frames are measured for ``--explore-s``. Then ``room_call_back``: the time until every
   student got ``watch {watching: "room"}`` and the snapshot of the room's run.

Frames are measured as in ``bench/fanout.py`` (the gap: wall time between two frames reaching one
client; emit-to-receive latency: receive time minus the frame's ``sent_at``) plus the **lag behind
the paced schedule**: at speed ``s`` a run's simulated time should advance ``s`` ms per wall ms,
so a frame showing simulated time ``now`` is due at wall time ``anchor + now / s``, where the
anchor (``min(sent_at - now / s)`` over the stream's frames in the window) is the stream's most
punctual moment. A frame's lag is its receive time minus that: emit-to-receive latency plus the
simulated time the server lost (ticks stalled past ``MAX_TICK_S``, the events budget of a frame).
Frames a student never got (``stream_seq`` jumps: the server skips a connection whose send queue
is full) are counted, and the student resyncs as the page does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import multiprocessing as mp
import os
import platform
import re
import signal
import subprocess
import time
import traceback
from array import array
from pathlib import Path

from .fanout import CLK_TCK, LightClient, cpu_seconds, free_port, start_server

ROOT = Path(__file__).resolve().parent.parent
CHOICES = ["it is lost", "it arrives twice", "it arrives once", "it arrives late"]

_HEAD = re.compile(r'\{"epoch":(\d+),"stream_seq":(\d+)')
_TAIL = re.compile(r'"now":([^,]+),"playing":(true|false),"speed":([^,]+),"done":(?:true|false),'
                   r'"seq":\d+,"sent_at":([0-9.]+)')
REC = 7  # a recorded frame: receive ms, sent_at ms, now, speed, epoch, stream_seq, playing


# --- the server ----------------------------------------------------------------------------------
def launch(port: int, async_mode: str, log: Path, profile: Path | None = None,
           extra: dict | None = None) -> subprocess.Popen:
    """``app.py`` on ``port`` as ``bench.fanout`` starts it (many clients from one address), its
    output kept in ``log`` and, with ``profile``, under cProfile. Ready when it returns."""
    return start_server(port, async_mode, extra=extra, log=log, profile=profile, wait_s=30)


def stop(proc: subprocess.Popen, profiled: bool) -> None:
    proc.send_signal(signal.SIGINT if profiled else signal.SIGTERM)
    try:
        proc.wait(30 if profiled else 10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- one connection ------------------------------------------------------------------------------
class Peer(LightClient):
    """A presenter or student connection: ``LightClient``'s websocket loop with the room protocol.

    Frames are read from their first and last few dozen characters only (epoch, stream_seq, now,
    playing, speed, sent_at) and recorded; other messages are small and parsed whole, except a
    snapshot, of which only the stream position is read."""

    def __init__(self, port: int, auth: dict):
        super().__init__(port, None, False)
        self.auth = auth
        self.ws = self.writer = None
        self.rec = array("d")
        self.gap_log = array("d")  # (time ms, frames missed) per jump in stream_seq
        self.resync_log = array("d")  # time ms each resync was sent
        self.resync_kinds: dict[str, int] = {}
        self.ids = itertools.count(1)
        self.acks: dict[int, asyncio.Future] = {}
        self.waiters: list[tuple] = []
        self.session: dict | None = None
        self.room: dict | None = None
        self.tally: dict | None = None
        self.errors: list[dict] = []
        self.epoch = self.last_seq = None
        self.resyncing = False
        self.snapshot_at = 0.0  # time.time() of the last snapshot
        self.watch_at = 0.0  # of the last ``watch``
        self.watch: dict | None = None
        self.closed = False

    # reading
    def _on_text(self, text: str, ws, writer) -> None:
        self.ws, self.writer = ws, writer
        if text.startswith('42["frame"'):
            self._frame(text)
        elif text == "2":
            self._send(ws, writer, "3")
        elif text.startswith("43"):
            at = text.index("[")
            future = self.acks.pop(int(text[2:at]), None)
            if future is not None and not future.done():
                future.set_result((time.time(), json.loads(text[at:])[0]))
        elif text.startswith('42["snapshot"'):
            head = _HEAD.match(text, 14)
            if head:
                self.epoch, self.last_seq = int(head[1]), int(head[2])
            self.snapshot_at = time.time()
        elif text.startswith("42"):
            self._event(*json.loads(text[2:]))
        elif text.startswith("0{"):
            self._send(ws, writer, "40" + json.dumps(self.auth))
        elif text.startswith("44"):
            self.errors.append({"connect_error": text[2:200]})
        elif text.startswith("41") or text == "1":
            self.closed = True
        if self.waiters:
            self._check()

    def _frame(self, text: str) -> None:
        r = time.time() * 1000
        head = _HEAD.match(text, 11)
        tail = _TAIL.match(text, text.rfind('"now":'))
        if head and tail:
            epoch, seq = int(head[1]), int(head[2])
            now, playing, speed, sent_at = (float(tail[1]), tail[2] == "true", float(tail[3]),
                                            float(tail[4]))
        else:  # an unexpected layout: read it all
            f = json.loads(text[2:])[1]
            epoch, seq, now, playing, speed, sent_at = (f["epoch"], f["stream_seq"], f["now"],
                                                        f["playing"], f["speed"], f["sent_at"])
        self.rec.extend((r, sent_at, now, speed, epoch, seq, 1.0 if playing else 0.0))
        self._position(epoch, seq, r)

    def _position(self, epoch: int, seq: int, r: float) -> None:
        """Follow the stream position; a jump is frames the server skipped: resync."""
        if epoch == self.epoch and self.last_seq is not None:
            if seq > self.last_seq + 1:
                self.gap_log.extend((r, seq - self.last_seq - 1))
                if not self.resyncing:
                    self._resync(epoch, self.last_seq)
            self.last_seq = max(self.last_seq, seq)
        else:
            self.epoch, self.last_seq = epoch, seq

    def _resync(self, epoch: int, since: int) -> None:
        self.resyncing = True
        self.resync_log.append(time.time() * 1000)
        future = self._emit("resync", {"epoch": epoch, "since": since})

        def done(f):
            self.resyncing = False
            if not f.cancelled():
                answer = f.result()[1]
                kind = next((k for k in ("frames", "catch_up", "snapshot") if k in answer),
                            "refused")
                self.resync_kinds[kind] = self.resync_kinds.get(kind, 0) + 1
        future.add_done_callback(done)

    def _event(self, name: str, data=None) -> None:
        if name == "session":
            self.session = data
            self.room = data.get("room")
        elif name == "room":
            self.room = {**(self.room or {}), **data}
        elif name == "room_tally":
            self.tally = data
        elif name == "watch":
            self.watch, self.watch_at = data, time.time()
            if data.get("then") == "continue":  # a fork goes on from the frames held
                self.epoch, self.last_seq = data["epoch"], data["stream_seq"]
        elif name == "heartbeat":
            self._position(data["epoch"], data["stream_seq"], time.time() * 1000)
        elif name == "error":
            self.errors.append(data)

    # writing
    def _emit(self, name: str, payload) -> asyncio.Future:
        ident = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.acks[ident] = future
        self._send(self.ws, self.writer, f"42{ident}" + json.dumps([name, payload]))
        return future

    async def call(self, name: str, payload=None, timeout: float = 30) -> tuple[float, dict]:
        """Send a control; (ack time, answer)."""
        return await asyncio.wait_for(self._emit(name, payload or {}), timeout)

    # waiting
    def _check(self) -> None:
        now = time.time()
        keep = []
        for predicate, future in self.waiters:
            if future.done():
                continue
            if predicate():
                future.set_result(now)
            else:
                keep.append((predicate, future))
        self.waiters = keep

    async def wait(self, predicate, timeout: float) -> float:
        """The time ``predicate`` came true (checked after every message)."""
        if predicate():
            return time.time()
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((predicate, future))
        return await asyncio.wait_for(future, timeout)

    def newest(self) -> tuple | None:
        return tuple(self.rec[-REC:]) if self.rec else None

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()


async def _quietly(coro) -> None:
    """A connection's reading loop; a dropped connection just ends it."""
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        await coro


async def connect(port: int, auth: dict, timeout: float = 60) -> tuple[Peer, dict]:
    """A connected peer with its session and first snapshot; its task and timings."""
    peer = Peer(port, auth)
    t0 = time.time()
    peer.task = asyncio.ensure_future(_quietly(peer.run()))
    t_session = await peer.wait(lambda: peer.session is not None or peer.errors, timeout)
    if peer.errors:
        raise RuntimeError(f"refused: {peer.errors}")
    t_snapshot = t_session if peer.session.get("resumed") else await peer.wait(
        lambda: peer.snapshot_at > 0, timeout)
    return peer, {"start": t0, "session": t_session, "snapshot": t_snapshot}


# --- measuring -----------------------------------------------------------------------------------
def stream_stats(peer: Peer, t0: float, t1: float, speed: float) -> dict:
    """One client's frames received in [t0, t1] (seconds): gaps, latencies, lags (ms)."""
    rec = peer.rec
    lo, hi = t0 * 1000, t1 * 1000
    rows = [rec[i:i + REC] for i in range(0, len(rec), REC) if lo <= rec[i] <= hi]
    gaps = [b[0] - a[0] for a, b in zip(rows, rows[1:], strict=False)]
    lat = [r[0] - r[1] for r in rows]
    paced = [r for r in rows if r[6] and abs(r[3] - speed) < 1e-6]
    lags, slip = [], 0.0
    if paced:
        offsets = [r[1] - r[2] / speed for r in paced]
        anchor = min(offsets)
        lags = [r[0] - r[2] / speed - anchor for r in paced]
        slip = offsets[-1] - offsets[0]  # simulated time lost in the window, in wall ms
    g = peer.gap_log
    missed = [g[i + 1] for i in range(0, len(g), 2) if lo <= g[i] <= hi]
    resyncs = sum(1 for t in peer.resync_log if lo <= t <= hi)
    return {"frames": len(rows), "gaps": gaps, "lat": lat, "lags": lags, "slip": slip,
            "missed": sum(missed), "jumps": len(missed), "resyncs": resyncs,
            "seconds": t1 - t0}


def pool(stats: list[dict]) -> dict:
    """Many clients' ``stream_stats`` of one window pooled."""
    out = {"clients": len(stats), "gaps": [], "lat": [], "lags": [],
           "fps": [s["frames"] / s["seconds"] for s in stats],
           "missed": [s["missed"] for s in stats], "jumps": [s["jumps"] for s in stats],
           "resyncs": [s["resyncs"] for s in stats], "slip": [s["slip"] for s in stats]}
    for s in stats:
        out["gaps"] += s["gaps"]
        out["lat"] += s["lat"]
        out["lags"] += s["lags"]
    return out


def merge(pools: list[dict]) -> dict:
    out = {"clients": sum(p["clients"] for p in pools)}
    for key in ("gaps", "lat", "lags", "fps", "missed", "jumps", "resyncs", "slip"):
        out[key] = [x for p in pools for x in p[key]]
    return out


def pct(values, p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))]


class LoopMonitor:
    """How late a client process's event loop wakes from a 5 ms sleep: if this stays small, the
    clients read as fast as the server sends."""

    def __init__(self):
        self.log = array("d")

    async def run(self) -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.005)
            self.log.extend((time.time(), (time.monotonic() - t - 0.005) * 1000))

    def window(self, t0: float, t1: float) -> list[float]:
        g = self.log
        return [g[i + 1] for i in range(0, len(g), 2) if t0 <= g[i] <= t1]


# --- a worker process of students ----------------------------------------------------------------
async def _vote(peer: Peer, index: int, arg: dict) -> dict:
    after = arg["after"]

    def asked():
        q = (peer.room or {}).get("question")
        return q is not None and q["id"] > after
    seen = await peer.wait(asked, arg["timeout"])
    qid = peer.room["question"]["id"]
    choice = (index + arg["shift"]) % arg["choices"]
    sent = time.time()
    acked, answer = await peer.call("room_vote", {"question": qid, "choice": choice})
    return {"index": index, "seen": seen, "sent": sent, "ack": acked, "ok": answer.get("ok"),
            "choice": choice, "counted": (answer.get("you") or {}).get("vote"),
            "error": answer.get("error")}


async def _explore(peer: Peer, index: int, arg: dict) -> dict:
    after, speed = arg["after"], arg["speed"]
    seen = await peer.wait(lambda: (peer.room or {}).get("mode") == "released"
                           and peer.room.get("release", 0) > after, arg["timeout"])
    explored, answer = await peer.call("room_explore", {})
    if not answer.get("ok"):
        return {"index": index, "seen": seen, "ok": False, "error": answer.get("error")}
    await peer.call("set_speed", {"speed": speed})
    resumed, answer2 = await peer.call("resume", {})

    def playing():
        last = peer.newest()
        return last is not None and last[0] > resumed * 1000 and last[6] and last[3] == speed
    first = await peer.wait(playing, arg["timeout"])
    return {"index": index, "seen": seen, "explored": explored, "resumed": resumed,
            "first_frame": first, "ok": bool(answer2.get("ok")), "then": answer["watch"]["then"],
            "error": answer2.get("error")}


async def _called_back(peer: Peer, index: int, arg: dict) -> dict:
    armed = arg["armed"]
    watch = await peer.wait(lambda: peer.watch_at > armed
                            and peer.watch.get("watching") == "room", arg["timeout"])
    snap = await peer.wait(lambda: peer.snapshot_at >= watch, arg["timeout"])
    frame = await peer.wait(lambda: peer.rec and peer.rec[-REC] / 1000 > snap, arg["timeout"])
    return {"index": index, "watch": watch, "snapshot": snap, "frame": frame}


BEHAVIOURS = {"vote": _vote, "explore": _explore, "call_back": _called_back}


def _ramp(port: int, auth: dict, count: int, concurrency: int, every_s: float) -> list:
    """``count`` connections, at most ``concurrency`` of them joining at once, each starting
    ``every_s`` after the one before."""
    gate = asyncio.Semaphore(concurrency)

    async def join(k):
        await asyncio.sleep(k * every_s)
        async with gate:
            return await connect(port, auth)
    return [join(k) for k in range(count)]


async def _students(port: int, first: int, count: int, conn) -> None:
    loop = asyncio.get_running_loop()
    monitor = LoopMonitor()
    monitor_task = asyncio.ensure_future(monitor.run())
    peers: list[Peer] = []  # the current connection of each student of this worker
    everyone: list[Peer] = []  # every connection made (a reconnect replaces one)
    pending: list[asyncio.Task] = []
    while True:
        cmd, arg = await loop.run_in_executor(None, conn.recv)
        if cmd == "join":
            auth = {"room": arg["code"], "view": "student"}
            joined = await asyncio.gather(*_ramp(port, auth, count, arg["concurrency"],
                                                 arg["every_s"]),
                                          return_exceptions=True)
            times = []
            for item in joined:
                if isinstance(item, BaseException):
                    times.append({"error": repr(item)})
                else:
                    peers.append(item[0])
                    times.append(item[1])
            everyone.extend(peers)
            conn.send(times)
        elif cmd == "arm":
            kind, params = arg
            params = {**params, "armed": time.time()}
            pending = [asyncio.ensure_future(BEHAVIOURS[kind](p, first + i, params))
                       for i, p in enumerate(peers)]
            conn.send("armed")
        elif cmd == "collect":
            results = await asyncio.gather(*pending, return_exceptions=True)
            conn.send([r if isinstance(r, dict) else {"error": "".join(
                traceback.format_exception(r))[-600:]} for r in results])
        elif cmd == "reconnect":
            out = []
            for i in range(min(arg["count"], len(peers))):
                old = peers[i]
                member = old.session["room"]["you"]["member"]
                before = (first + i + arg["old_shift"]) % arg["choices"]
                old.abort()
                t0 = time.time()
                try:
                    new, times = await connect(port, {"room": arg["code"], "member": member,
                                                      "view": "student"})
                except Exception as exc:  # noqa: BLE001 - reported, not raised
                    out.append({"index": first + i, "error": repr(exc)})
                    continue
                peers[i] = new
                everyone.append(new)
                you = new.session["room"].get("you") or {}
                choice = (first + i + arg["new_shift"]) % arg["choices"]
                acked, answer = await new.call("room_vote", {
                    "question": new.room["question"]["id"], "choice": choice})
                out.append({"index": first + i, "resumed": new.session.get("resumed"),
                            "same_member": you.get("member") == member,
                            "vote_kept": you.get("vote") == before, "choice": choice,
                            "rejoin_s": times["session"] - t0, "vote_s": acked - times["session"],
                            "ok": answer.get("ok"), "counted": (answer.get("you") or {}).get(
                                "vote")})
            conn.send(out)
        elif cmd == "stats":
            result = {}
            for name, t0, t1, speed in arg:
                live = [p for p in everyone if any(t0 * 1000 <= p.rec[j] <= t1 * 1000
                                                   for j in range(0, len(p.rec), REC))]
                result[name] = pool([stream_stats(p, t0, t1, speed) for p in live])
                result[name]["loop"] = monitor.window(t0, t1)
            result["errors"] = [e for p in everyone for e in p.errors]
            result["resync_kinds"] = {}
            for p in everyone:
                for k, v in p.resync_kinds.items():
                    result["resync_kinds"][k] = result["resync_kinds"].get(k, 0) + v
            conn.send(result)
        elif cmd == "quit":
            for p in everyone:
                p.abort()
            monitor_task.cancel()
            conn.send("bye")
            return


def _worker(port: int, first: int, count: int, conn) -> None:
    asyncio.run(_students(port, first, count, conn))


# --- one scenario --------------------------------------------------------------------------------
class Workers:
    def __init__(self, port: int, students: int, processes: int):
        ctx = mp.get_context("fork")
        processes = max(1, min(processes, students))
        counts = [students // processes + (1 if i < students % processes else 0)
                  for i in range(processes)]
        self.counts = counts
        self.pipes, self.procs = [], []
        first = 0
        for count in counts:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(port, first, count, child), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
            first += count

    async def ask(self, cmd: str, arg=None, each=None) -> list:
        """Send ``cmd`` to every worker (``each(i)`` gives each its own argument); answers."""
        loop = asyncio.get_running_loop()
        for i, pipe in enumerate(self.pipes):
            pipe.send((cmd, each(i) if each else arg))
        return await asyncio.gather(*(loop.run_in_executor(None, p.recv) for p in self.pipes))

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def close(self) -> None:
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / CLK_TCK


def wait_quiet(cores: float, patience_s: float) -> float:
    """Wait (at most ``patience_s``) until the rest of the machine keeps fewer than ``cores``
    cores busy over 3 s (other jobs would be measured too); the busy cores last seen."""
    deadline = time.monotonic() + patience_s
    while True:
        b0 = machine_busy()
        time.sleep(3)
        busy = (machine_busy() - b0) / 3
        if busy < cores or time.monotonic() > deadline:
            return busy


def flat(lists: list[list]) -> list:
    return [x for part in lists for x in part]


class Clock:
    """CPU time of the server and the client processes over named windows."""

    def __init__(self, server_pid: int, workers: Workers):
        self.server_pid, self.workers = server_pid, workers
        self.marks: dict[str, tuple] = {}

    def mark(self) -> tuple:
        return (time.time(), cpu_seconds(self.server_pid), self.workers.cpu(),
                time.process_time(), machine_busy())

    def window(self, name: str, a: tuple, b: tuple) -> None:
        span = b[0] - a[0]
        self.marks[name] = {"t0": a[0], "t1": b[0], "server_cpu": (b[1] - a[1]) / span,
                            "workers_cpu": (b[2] - a[2]) / span,
                            "orchestrator_cpu": (b[3] - a[3]) / span,
                            # everything else on the machine (other jobs), in cores
                            "other_cpu": ((b[4] - a[4]) - (b[1] - a[1]) - (b[2] - a[2])
                                          - (b[3] - a[3])) / span}


async def scenario(port: int, server_pid: int, n: int, a) -> dict:
    out: dict = {"students": n}
    presenter, _ = await connect(port, {})
    workers = Workers(port, n, a.workers)
    clock = Clock(server_pid, workers)
    try:
        _, opened = await presenter.call("room_open")
        code = opened["room"]["code"]
        await presenter.call("start", {"config": {"messages": a.messages}})
        await presenter.call("set_speed", {"speed": a.speed})
        await asyncio.sleep(1)

        # 1. join, settle, follow
        m0 = clock.mark()
        joined = flat(await workers.ask("join", {
            "code": code, "concurrency": a.join_concurrency,
            "every_s": a.join_every_ms / 1000 * len(workers.counts)}))
        m1 = clock.mark()
        clock.window("join", m0, m1)
        bad = [j for j in joined if "error" in j]
        ok = [j for j in joined if "error" not in j]
        out["join"] = {"students": len(ok), "refused": bad[:5], "seconds": m1[0] - m0[0],
                       "session_p50": pct([j["session"] - j["start"] for j in ok], 50),
                       "session_max": pct([j["session"] - j["start"] for j in ok], 100),
                       "snapshot_max": pct([j["snapshot"] - j["start"] for j in ok], 100)}
        print(f"  {len(ok)} students joined in {m1[0] - m0[0]:.1f} s", flush=True)
        await asyncio.sleep(a.settle_s)
        m0 = clock.mark()
        await asyncio.sleep(a.follow_s)
        m1 = clock.mark()
        clock.window("follow", m0, m1)

        # 2. votes
        m0 = clock.mark()
        await workers.ask("arm", ("vote", {"after": 0, "choices": len(CHOICES), "shift": 0,
                                           "timeout": a.vote_timeout_s}))
        t_ask = time.time()
        _, asked = await presenter.call("room_ask", {"text": "A message whose ack is lost: "
                                                     "what happens under at-least-once?",
                                                     "choices": CHOICES, "correct": 1})
        qid = asked["question"]["id"]
        votes = flat(await workers.ask("collect"))
        cast = [v for v in votes if "ack" in v]
        t_all = max((v["ack"] for v in cast), default=float("nan"))
        m1 = clock.mark()
        clock.window("vote", m0, m1)
        expected = [0] * len(CHOICES)
        for v in cast:
            if v["ok"]:
                expected[v["choice"]] += 1

        async def tally_is(counts):
            try:
                return await presenter.wait(
                    lambda: presenter.tally is not None and presenter.tally["question"] == qid
                    and presenter.tally["counts"] == counts, a.vote_timeout_s)
            except TimeoutError:
                return None
        t_tally = await tally_is(expected)
        out["vote"] = {
            "cast": len(cast), "ok": sum(1 for v in cast if v["ok"]),
            "failures": [v for v in votes if not v.get("ok")][:5],
            "seen_max": max((v["seen"] for v in cast), default=float("nan")) - t_ask,
            "ack_p50": pct([v["ack"] - t_ask for v in cast], 50),
            "ack_max": t_all - t_ask,
            "tally_s": (t_tally - t_ask) if t_tally else None,
            "expected": expected, "tally": presenter.tally,
            "exact": t_tally is not None and sum(presenter.tally["counts"]) == n
            and presenter.tally["total"] == n,
        }
        print(f"  votes: {len(cast)} in {t_all - t_ask:.2f} s, tally "
              f"{presenter.tally and presenter.tally['counts']} (expected {expected})",
              flush=True)

        # ... some students reconnect with their member token and change their vote
        k = min(a.reconnect, n)
        share = [k // len(workers.counts) + (1 if i < k % len(workers.counts) else 0)
                 for i in range(len(workers.counts))]
        t_rc = time.time()
        again = flat(await workers.ask("reconnect", each=lambda i: {
            "count": share[i], "code": code, "choices": len(CHOICES), "old_shift": 0,
            "new_shift": 1}))
        for r in again:
            if r.get("ok"):
                expected[(r["choice"] - 1) % len(CHOICES)] -= 1
                expected[r["choice"]] += 1
        t_tally2 = await tally_is(expected)
        _, revealed = await presenter.call("room_reveal")
        results = revealed.get("results") or {}
        out["revote"] = {
            "reconnected": sum(1 for r in again if r.get("resumed")),
            "asked": k, "same_member": sum(1 for r in again if r.get("same_member")),
            "vote_kept": sum(1 for r in again if r.get("vote_kept")),
            "changed": sum(1 for r in again if r.get("ok")),
            "failures": [r for r in again if not r.get("ok")][:5],
            "rejoin_max": max((r["rejoin_s"] for r in again if "rejoin_s" in r), default=None),
            "tally_s": (t_tally2 - t_rc) if t_tally2 else None,
            "expected": expected, "tally": presenter.tally, "results": results,
            "exact": t_tally2 is not None and results.get("counts") == expected
            and results.get("total") == n,
        }
        print(f"  re-votes: {out['revote']['changed']}/{k}, reveal {results.get('counts')} "
              f"(expected {expected})", flush=True)

        # 3. release, explore forks, call back
        release0 = (presenter.room or {}).get("release", 0)
        await workers.ask("arm", ("explore", {"after": release0, "speed": a.fork_speed,
                                              "timeout": a.explore_timeout_s}))
        t_rel = time.time()
        await presenter.call("room_release")
        if a.presenter_plays:
            await presenter.call("resume")
        explored = flat(await workers.ask("collect"))
        good = [e for e in explored if e.get("ok")]
        out["explore"] = {
            "forks": len(good), "failures": [e for e in explored if not e.get("ok")][:5],
            "seen_max": max((e["seen"] for e in good), default=t_rel) - t_rel,
            "explore_p50": pct([e["explored"] - e["seen"] for e in good], 50),
            "explore_max": pct([e["explored"] - e["seen"] for e in good], 100),
            "all_playing_s": max((e["first_frame"] for e in good), default=t_rel) - t_rel,
        }
        print(f"  {len(good)} forks playing {out['explore']['all_playing_s']:.2f} s after the "
              "release", flush=True)
        await asyncio.sleep(a.settle_s)
        m0 = clock.mark()
        await asyncio.sleep(a.explore_s)
        m1 = clock.mark()
        clock.window("explore", m0, m1)

        await workers.ask("arm", ("call_back", {"timeout": a.callback_timeout_s}))
        t_cb = time.time()
        _, back = await presenter.call("room_call_back")
        called = flat(await workers.ask("collect"))
        fine = [c for c in called if "snapshot" in c]
        out["call_back"] = {
            "moved": back.get("moved"), "back": len(fine),
            "failures": [c for c in called if "snapshot" not in c][:5],
            "watch_p50": pct([c["watch"] - t_cb for c in fine], 50),
            "watch_max": pct([c["watch"] - t_cb for c in fine], 100),
            "snapshot_p50": pct([c["snapshot"] - t_cb for c in fine], 50),
            "snapshot_max": pct([c["snapshot"] - t_cb for c in fine], 100),
            "frame_max": pct([c["frame"] - t_cb for c in fine], 100),
        }
        print(f"  called back: {len(fine)} students had watch + snapshot within "
              f"{out['call_back']['snapshot_max']:.2f} s", flush=True)
        m0 = clock.mark()
        await asyncio.sleep(a.after_s)
        m1 = clock.mark()
        clock.window("after", m0, m1)

        # the numbers
        windows = [("join", clock.marks["join"]["t0"], clock.marks["join"]["t1"], a.speed),
                   ("follow", clock.marks["follow"]["t0"], clock.marks["follow"]["t1"], a.speed),
                   ("vote", clock.marks["vote"]["t0"], clock.marks["vote"]["t1"], a.speed),
                   ("explore", clock.marks["explore"]["t0"], clock.marks["explore"]["t1"],
                    a.fork_speed),
                   ("after", clock.marks["after"]["t0"], clock.marks["after"]["t1"], a.speed)]
        parts = await workers.ask("stats", windows)
        out["windows"] = {}
        for name, t0, t1, _ in windows:
            students = merge([p[name] for p in parts])
            students["loop"] = flat([p[name]["loop"] for p in parts])
            pres = pool([stream_stats(presenter, t0, t1, a.speed)])
            out["windows"][name] = {"students": summary(students), "presenter": summary(pres),
                                    **clock.marks[name]}
        out["errors"] = flat([p["errors"] for p in parts])[:10] + presenter.errors[:10]
        out["error_count"] = sum(len(p["errors"]) for p in parts) + len(presenter.errors)
        kinds: dict[str, int] = {}
        for p in parts:
            for key, v in p["resync_kinds"].items():
                kinds[key] = kinds.get(key, 0) + v
        out["resync_kinds"] = kinds
        await workers.ask("quit")
    finally:
        presenter.abort()
        workers.close()
    return out


def summary(p: dict) -> dict:
    out = {"clients": p["clients"],
           "fps_mean": sum(p["fps"]) / len(p["fps"]) if p["fps"] else float("nan"),
           "fps_min": min(p["fps"], default=float("nan")),
           "slip_max": max(p["slip"], default=float("nan")),
           "missed": sum(p["missed"]), "jumps": sum(p["jumps"]),
           "clients_skipped": sum(1 for m in p["missed"] if m), "resyncs": sum(p["resyncs"])}
    for key, values in (("gap", p["gaps"]), ("lag", p["lags"]), ("lat", p["lat"]),
                        ("loop", p.get("loop", []))):
        for q in (50, 99, 100):
            out[f"{key}_{'max' if q == 100 else f'p{q}'}"] = pct(values, q)
    return out


# --- reporting -----------------------------------------------------------------------------------
PHASES = {"join": "students joining (presenter at {speed:g}x)",
          "follow": "following at {speed:g}x",
          "vote": "following at {speed:g}x, during the vote",
          "explore": "own fork at {fork:g}x (presenter plays on at {speed:g}x)",
          "after": "following again after call back"}
ROWS = (("join", "presenter"), ("follow", "students"),
        ("follow", "presenter"), ("vote", "students"), ("explore", "students"),
        ("explore", "presenter"), ("after", "students"))


def table(results: list[dict], a) -> str:
    lines = ["| students | phase | who | frames/s each (min) | gap p50 / p99 / max ms "
             "| lag p50 / p99 / max ms | latency p99 ms | run fell behind ms | skipped frames "
             "(students) | resyncs | server CPU | clients CPU | other jobs CPU "
             "| client loop p99 ms |",
             "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: | ---: |"]
    for r in results:
        for name, who in ROWS:
            w = r["windows"][name]
            s = w[who]
            if not s["clients"] or math.isnan(s["gap_p50"]):
                continue  # no two frames in the window (a phase over in an instant)
            phase = PHASES[name].format(speed=a.speed, fork=a.fork_speed)
            mine = who == "students"
            fps = f"{s['fps_mean']:.1f} ({s['fps_min']:.1f})" if mine else f"{s['fps_mean']:.1f}"
            skipped = f"{s['missed']:.0f} ({s['clients_skipped']})" if mine else \
                f"{s['missed']:.0f}"
            machine_cells = " | | | "
            if mine:
                machine_cells = (f"{w['server_cpu']:.0%} | "
                                 f"{w['workers_cpu'] + w['orchestrator_cpu']:.0%} | "
                                 f"{max(0.0, w['other_cpu']):.0%} | {s['loop_p99']:.1f}")
            lines.append(
                f"| {r['students']} | {phase} | {who} | {fps}"
                f" | {s['gap_p50']:.0f} / {s['gap_p99']:.0f} / {s['gap_max']:.0f}"
                f" | {s['lag_p50']:.0f} / {s['lag_p99']:.0f} / {s['lag_max']:.0f}"
                f" | {s['lat_p99']:.0f} | {max(0.0, s['slip_max']):.0f} | {skipped}"
                f" | {s['resyncs']}"
                f" | {machine_cells} |")
    return "\n".join(lines)


def _s(value, digits: int = 2) -> str:
    return "never" if value is None else f"{value:.{digits}f}"


def events_table(results: list[dict]) -> str:
    lines = ["| students | join: all in (s) | votes: all acknowledged (s) | presenter's tally "
             "exact at (s) | re-votes after reconnect: kept / changed / tally exact "
             "| release: all forks playing (s) | room_explore p50 / max (s) "
             "| call back: all watch / snapshot (s) |",
             "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    for r in results:
        v, rv, e, c = r["vote"], r["revote"], r["explore"], r["call_back"]
        lines.append(
            f"| {r['students']} | {r['join']['seconds']:.1f} | {v['ack_max']:.2f} "
            f"| {_s(v['tally_s'])}{'' if v['exact'] else ' (NOT exact)'} "
            f"| {rv['vote_kept']}/{rv['asked']} / {rv['changed']}/{rv['asked']} / "
            f"{'yes' if rv['exact'] else 'NO'} "
            f"| {e['all_playing_s']:.2f} | {e['explore_p50']:.3f} / {e['explore_max']:.3f} "
            f"| {c['watch_max']:.2f} / {c['snapshot_max']:.2f} |")
    return "\n".join(lines)


def verdicts(results: list[dict], a) -> list[str]:
    out = []
    for r in results:
        n = f"{r['students']} student" + ("s" if r["students"] != 1 else "")
        for name in ("follow", "explore"):
            s = r["windows"][name]["students"]
            worst = max(s["gap_p99"], s["lag_p99"])
            other = r["windows"][name]["other_cpu"]
            out.append(f"{n}, {name}: p99 gap {s['gap_p99']:.0f} ms, p99 lag "
                       f"{s['lag_p99']:.0f} ms: {'met' if worst <= a.target_ms else 'NOT met'} "
                       f"(<= {a.target_ms:g} ms)" + (
                           f" - DISTURBED: other jobs kept {other:.1f} cores busy"
                           if other > 0.3 else ""))
        v = r["vote"]
        met = v["ok"] == r["students"] and v["ack_max"] <= a.vote_target_s and v["exact"]
        out.append(f"{n}, votes: {v['ok']}/{r['students']} in {v['ack_max']:.2f} s, tally "
                   f"{'exact' if v['exact'] else 'NOT exact'}: {'met' if met else 'NOT met'} "
                   f"(<= {a.vote_target_s:g} s)")
        rv = r["revote"]
        out.append(f"{n}, reconnect and re-vote: {rv['changed']}/{rv['asked']}, votes "
                   f"kept {rv['vote_kept']}/{rv['asked']}, results "
                   f"{'exact' if rv['exact'] else 'NOT exact'}")
        c = r["call_back"]
        met = c["back"] == r["students"] and c["snapshot_max"] <= a.callback_target_s
        out.append(f"{n}, call back: {c['back']}/{r['students']}, every watch + snapshot within "
                   f"{c['snapshot_max']:.2f} s: {'met' if met else 'NOT met'} "
                   f"(<= {a.callback_target_s:g} s)")
    return out


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{os.cpu_count()} CPUs ({model}){mem}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=300)
    ap.add_argument("--baseline", type=int, default=1, help="students of the baseline "
                    "scenario run first (0: none)")
    ap.add_argument("--follow-s", type=float, default=20.0)
    ap.add_argument("--explore-s", type=float, default=30.0)
    ap.add_argument("--settle-s", type=float, default=3.0)
    ap.add_argument("--after-s", type=float, default=5.0, help="measured after the call back")
    ap.add_argument("--speed", type=float, default=10.0, help="the presenter's speed")
    ap.add_argument("--fork-speed", type=float, default=10.0, help="each student's fork speed")
    ap.add_argument("--messages", type=int, default=3000, help="the presenter's run")
    ap.add_argument("--reconnect", type=int, default=30, help="students that reconnect and vote "
                    "again")
    ap.add_argument("--no-presenter-play", dest="presenter_plays", action="store_false",
                    help="leave the room's run paused while the class explores")
    ap.add_argument("--workers", type=int, default=2, help="student client processes")
    ap.add_argument("--join-concurrency", type=int, default=20)
    ap.add_argument("--join-every-ms", type=float, default=0.0, help="pace the joins: one "
                    "student every this many ms (0: as fast as the server lets them in)")
    ap.add_argument("--async-mode", default=os.environ.get("ASYNC_MODE", "eventlet"),
                    choices=("eventlet", "gevent"))
    ap.add_argument("--target-ms", type=float, default=150.0)
    ap.add_argument("--vote-target-s", type=float, default=5.0)
    ap.add_argument("--callback-target-s", type=float, default=2.0)
    ap.add_argument("--vote-timeout-s", type=float, default=30.0)
    ap.add_argument("--explore-timeout-s", type=float, default=60.0)
    ap.add_argument("--callback-timeout-s", type=float, default=30.0)
    ap.add_argument("--log-dir", type=Path, default=ROOT / "test-artifacts",
                    help="server logs go here")
    ap.add_argument("--profile", type=Path, help="run the full-size server under cProfile and "
                    "write its stats to this file")
    ap.add_argument("--quiet-below", type=float, default=0.5, help="before each scenario, "
                    "wait until other jobs keep fewer than this many cores busy (0: do not)")
    ap.add_argument("--quiet-patience-s", type=float, default=600.0)
    ap.add_argument("--json", type=Path, help="write every number to this file")
    a = ap.parse_args(argv)

    print(f"rooms bench: {machine()}; server {a.async_mode}; {a.workers} client processes",
          flush=True)
    results = []
    sizes = ([a.baseline] if a.baseline else []) + [a.students]
    for n in sizes:
        if a.quiet_below:
            busy = wait_quiet(a.quiet_below, a.quiet_patience_s)
            print(f"machine busy before the scenario: {busy:.2f} cores", flush=True)
        port = free_port()
        log = a.log_dir / f"bench-rooms-{a.async_mode}-{n}-{port}.log"
        profile = a.profile if a.profile and n == a.students else None
        extra = {"MAX_ROOM_STUDENTS": str(max(400, n + 10))}
        server = launch(port, a.async_mode, log, profile, extra)
        print(f"{n} student(s): server pid {server.pid}, log {log}", flush=True)
        try:
            results.append(asyncio.run(scenario(port, server.pid, n, a)))
        finally:
            stop(server, profile is not None)
        tail = [line for line in log.read_text(errors="replace").splitlines()
                if "Traceback" in line or "ERROR" in line or "WARNING" in line]
        results[-1]["server_log_warnings"] = tail[:20]
    print()
    print(table(results, a))
    print()
    print(events_table(results))
    print()
    for line in verdicts(results, a):
        print("- " + line)
    for r in results:
        if r["error_count"] or r["server_log_warnings"]:
            print(f"\n{r['students']} students: {r['error_count']} error events, e.g. "
                  f"{r['errors'][:3]}; server log: {r['server_log_warnings'][:5]}")
        if r["resync_kinds"]:
            print(f"{r['students']} students: resync answers {r['resync_kinds']}")
    if a.json:
        a.json.write_text(json.dumps({"machine": machine(), "args": {
            k: str(v) for k, v in vars(a).items()}, "results": results}, indent=1,
            default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
