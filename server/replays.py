"""Replay in worker processes, so a replay never takes the interpreter from the event loop.

Stepping back and catching up rebuild a run by replaying it: CPU work, up to a second for a long
run. Done in the server's process, even in a native thread, it competes with the event loop for
Python's interpreter lock, and every other client's frames and controls wait behind it. So
replays run in ``REPLAY_WORKERS`` worker processes (``python -m server.replays``), each joined to
the server by a socket pair: the server sends a job (a function of ``regenerate.JOBS`` and its
plain arguments: settings, log, a checkpoint as bytes), the worker sends back the result and the
seconds it worked. Waiting for the answer is a socket read, which under eventlet or gevent lets
the event loop serve everyone else meanwhile.

A worker that dies or answers nonsense is replaced, and its job is replayed in the server's own
process instead (``fallback``), so a client never sees the difference. Workers exit when the
server does (their socket closes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .offload import timed
from .regenerate import JOBS

ROOT = Path(__file__).resolve().parent.parent
_LEN = struct.Struct("!Q")
MAX_MESSAGE = 1 << 31
log = logging.getLogger(__name__)


class WorkerError(RuntimeError):
    """A worker died or broke the protocol; its job is run in the server's process instead."""


def _send(sock: socket.socket, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LEN.pack(len(data)) + data)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    parts = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError("the other end closed")
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _recv(sock: socket.socket):
    (n,) = _LEN.unpack(_recv_exactly(sock, _LEN.size))
    if n > MAX_MESSAGE:
        raise EOFError("message too long")
    return pickle.loads(_recv_exactly(sock, n))  # the peer is our own worker or server


class Worker:
    """One worker process and the server's end of its socket."""

    def __init__(self, modules: tuple[str, ...], nice: int = 0):
        """``nice``: how much lower the worker's CPU priority is than the server's (sweep
        workers yield the cores to the event loop and to replays)."""
        ours, theirs = socket.socketpair()
        self.sock = ours
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.replays", str(theirs.fileno()), ",".join(modules),
             str(nice)],
            cwd=ROOT, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()

    def run(self, name: str, args: tuple):
        try:
            _send(self.sock, (name, args))
            ok, value, seconds = _recv(self.sock)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as exc:
            raise WorkerError(f"replay worker {self.proc.pid}: {exc}") from None
        if not ok:
            raise WorkerError(f"replay worker {self.proc.pid}: {value}")
        return value, seconds

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)


class ReplayWorkers:
    """``REPLAY_WORKERS`` worker processes, started when first needed; one job each at a time.

    Called as ``workers(job, *args)`` (``job`` one of ``regenerate.JOBS``), it returns the job's
    result and the seconds the job worked (not the time it waited for a free worker).
    """

    def __init__(self, size: int, modules: tuple[str, ...] = (),
                 semaphore: Callable[[int], object] = threading.BoundedSemaphore,
                 fallback: Callable | None = None):
        self.size = size
        self.modules = modules
        self.free: list[Worker] = []
        self.started = 0
        self.slots = semaphore(size)
        self.fallback = fallback
        self.replaced = 0

    def __call__(self, fn: Callable, *args):
        name = fn.__name__
        if JOBS.get(name) is not fn:
            raise ValueError(f"{name} is not a replay job")
        with self.slots:
            worker = self.free.pop() if self.free else self._start()
            try:
                value, seconds = worker.run(name, args)
            except WorkerError as exc:
                log.warning("%s; replaying in the server's process", exc)
                worker.close()
                self.started -= 1
                self.replaced += 1
                return self.here(fn, *args)
            self.free.append(worker)
            return value, seconds

    def _start(self) -> Worker:
        self.started += 1
        return Worker(self.modules)

    def here(self, fn: Callable, *args):
        """Run a job in the server's process instead (``fallback``, else right here)."""
        if self.fallback is not None:
            return self.fallback(fn, *args)
        return timed(fn, *args)

    def close(self) -> None:
        while self.free:
            self.free.pop().close()


def serve(fd: int, modules: str, nice: int = 0) -> None:
    """The worker's loop: read a job, run it, answer; exit when the server's end closes."""
    from simulator import protocols

    if nice:
        os.nice(nice)

    for module in filter(None, modules.split(",")):
        protocols.load(module)
    sock = socket.socket(fileno=fd)
    sock.setblocking(True)  # the server's green socket left the shared descriptor non-blocking
    while True:
        try:
            name, args = _recv(sock)
        except (EOFError, OSError):
            return
        started = time.perf_counter()
        try:
            answer = (True, JOBS[name](*args), time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - told to the server, which replays itself
            answer = (False, f"{type(exc).__name__}: {exc}", time.perf_counter() - started)
        try:
            _send(sock, answer)
        except OSError:  # the server went (or ended this worker) while it worked
            return


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "",
          int(sys.argv[3]) if len(sys.argv) > 3 else 0)
