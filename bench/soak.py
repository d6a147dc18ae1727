"""Soak: many sessions at full speed for a long time; the server's memory must stay flat.

    python -m bench.soak [--sessions 50] [--minutes 10] [--async-mode eventlet] [--starvation]

Starts ``app.py`` on a free loopback port and attaches ``--sessions`` python-socketio clients,
each its own session, playing a run that keeps sending at the top speed (50x) and starting a new
one whenever a run limit ends it. The server's resident memory (RSS, from /proc) is sampled once a
minute. After a warm-up of two minutes the samples must stay within ``--tolerance`` (default 15%)
of the first one after it; the script prints a Markdown table and exits 1 if they do not.

``--starvation`` then measures how ten clients stepping back over long runs at their allowed rate
affect a quiet client: the p50/p99 round trip of its controls and the frames it receives per
second, against the same quiet client alone measured first (the baseline, in the same run); once
with runs whose consumer keeps up, once with runs whose consumer is swamped (``RUNS``).
Every loop here is bounded in time and only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import socket
import statistics
import threading
import time

import socketio

from .fanout import start_server

HOST = "127.0.0.1"
WARMUP_MIN = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Player:
    """One session playing for ever at 50x: a new run whenever one ends."""

    def __init__(self, url: str, config: dict):
        self.config = config
        self.frames = 0
        self.runs = 0
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("frame", self._frame)
        self.sio.connect(url, transports=["websocket"], wait_timeout=10)
        self.sio.call("set_speed", {"speed": 50}, timeout=10)
        self._start()

    def _start(self) -> None:
        self.runs += 1
        self.sio.emit("start", {"config": self.config})

    def _frame(self, frame) -> None:
        self.frames += 1
        if frame.get("done"):
            self._start()

    def close(self) -> None:
        self.sio.disconnect()


def soak(url: str, pid: int, sessions: int, minutes: float, tolerance: float) -> bool:
    players = [Player(url, {"messages": 0}) for _ in range(sessions)]
    samples = []
    try:
        for minute in range(int(minutes) + 1):
            if minute:
                time.sleep(60)
            samples.append((minute, rss_mb(pid), sum(p.frames for p in players),
                            sum(p.runs for p in players)))
    finally:
        for p in players:
            p.close()
    print("\n| minute | server RSS (MB) | frames received | runs started |")
    print("| --- | --- | --- | --- |")
    for minute, rss, frames, runs in samples:
        print(f"| {minute} | {rss:.0f} | {frames} | {runs} |")
    after = [rss for minute, rss, _, _ in samples if minute >= WARMUP_MIN]
    if len(after) < 2:
        print("too short to judge: run at least three minutes")
        return True
    flat = max(after) <= after[0] * (1 + tolerance)
    print(f"\nafter warm-up: {after[0]:.0f} -> max {max(after):.0f} MB "
          f"({'flat' if flat else 'GROWING'}, tolerance {tolerance:.0%})")
    return flat


def quiet_client(url: str, seconds: float) -> tuple[float, float, float]:
    """A quiet client's control round trips (p50, p99, ms) and frames per second."""
    sio = socketio.Client(reconnection=False)
    frames = []
    sio.on("frame", lambda f: frames.append(time.monotonic()))
    sio.connect(url, transports=["websocket"], wait_timeout=10)
    sio.call("start", {"config": {"messages": 0}}, timeout=10)
    trips = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        t0 = time.monotonic()
        sio.call("get_snapshot", {}, timeout=30)
        trips.append((time.monotonic() - t0) * 1000)
        time.sleep(0.1)
    n = len([t for t in frames if t >= started])
    sio.disconnect()
    trips.sort()
    return statistics.median(trips), trips[int(len(trips) * 0.99) - 1], n / seconds


RUNS = {
    # a long run whose consumer keeps up (a message every 100 ms, 50 ms to process each):
    # 22,902 events, a checkpoint every 2,000 or so
    "typical": {"messages": 3_000, "interval": 100},
    # a long run whose consumer is swamped (a message every 5 ms): thousands of messages wait
    # in its queue, a large state to rebuild
    "swamped": {"messages": 3_000, "interval": 5},
}


def _abuser(url: str, k: int, run: dict, ready, building, stop, counts) -> None:
    """Builds a long run once, then steps back into it at the allowed control rate."""
    sio = socketio.Client(reconnection=False)
    done = threading.Event()
    sio.on("frame", lambda f: done.set() if f.get("done") else None)
    sio.connect(url, transports=["websocket"], wait_timeout=10)
    with building:  # one at a time: a client keeps up with one dense stream, not ten
        sio.call("set_speed", {"speed": 50}, timeout=10)
        sio.call("start", {"config": run}, timeout=10)
        done.wait(120)
    rng = random.Random(k)
    last = sio.call("get_snapshot", {}, timeout=30)["snapshot"]["seq"]
    ready.release()
    while not stop.is_set():
        answer = sio.call("step_back", {"to_seq": rng.randint(1, last)}, timeout=60)
        with counts.get_lock():
            counts[0] += 1
            counts[1] += not (isinstance(answer, dict) and answer.get("ok"))
        time.sleep(1 / 20)  # the control rate a connection is allowed
    sio.disconnect()


def _abusers(url: str, run: dict, ready, stop, counts) -> None:
    """Ten abusers in a process of their own, so they do not slow the quiet client's process."""
    building = threading.Lock()
    threads = [threading.Thread(target=_abuser,
                                args=(url, k, run, ready, building, stop, counts))
               for k in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def starvation(url: str, seconds: float = 20) -> None:
    alone = quiet_client(url, seconds)
    rows = [("alone (baseline)", alone)]
    notes = []
    ctx = mp.get_context("fork")
    for name, run in RUNS.items():
        ready, stop, counts = ctx.Semaphore(0), ctx.Event(), ctx.Array("i", 2)
        group = ctx.Process(target=_abusers, args=(url, run, ready, stop, counts))
        group.start()
        for _ in range(10):  # every long run built before the quiet client measures
            ready.acquire(timeout=300)
        rows.append((f"beside 10 stepping back, {name} runs", quiet_client(url, seconds)))
        stop.set()
        group.join(120)
        notes.append(f"{name} runs ({run}): {counts[0]} step backs asked, {counts[1]} refused "
                     "by the replay budget")
    print("\n| quiet client | control p50 (ms) | control p99 (ms) | frames/s |")
    print("| --- | --- | --- | --- |")
    for name, (p50, p99, fps) in rows:
        print(f"| {name} | {p50:.1f} | {p99:.1f} | {fps:.1f} |")
    print("\n" + "\n".join(notes))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--tolerance", type=float, default=0.15)
    ap.add_argument("--async-mode", default=os.environ.get("ASYNC_MODE", "eventlet"),
                    choices=("eventlet", "gevent"))
    ap.add_argument("--starvation", action="store_true")
    a = ap.parse_args(argv)
    port = free_port()
    proc = start_server(port, a.async_mode, extra={"CONTROL_RATE": "1000",
                                                   "CONTROL_BURST": "1000"})
    url = f"http://{HOST}:{port}"
    try:
        print(f"soak: {a.sessions} sessions at 50x for {a.minutes:g} min ({a.async_mode})")
        ok = soak(url, proc.pid, a.sessions, a.minutes, a.tolerance)
        if a.starvation:
            starvation(url)
    finally:
        proc.terminate()
        proc.wait(10)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
