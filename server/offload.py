"""Run CPU-heavy work (replaying a long run) outside the event loop, so other clients go on.

Every offloader is called as ``offload(fn, *args)`` and returns ``fn``'s result and the seconds
``fn`` worked (not the time it waited for its turn), which the session is charged.

By default replays go to worker processes (``replays.py``). With ``REPLAY_WORKERS=0`` they run
in the server's process: under eventlet and gevent in a native thread pool while the event loop
keeps serving; under ``threading`` every handler already has a thread of its own. One replay
runs at a time there: each native thread competes with the event loop for the interpreter, so
ten replays at once would leave the loop a tenth of it; queued ones wait in their own green
thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def timed(fn, *args):
    started = time.perf_counter()
    return fn(*args), time.perf_counter() - started


def semaphore_for(async_mode: str) -> Callable[[int], object]:
    """A semaphore that blocks only the waiting (green) thread under ``async_mode``."""
    if async_mode == "eventlet":
        from eventlet.semaphore import BoundedSemaphore

        return BoundedSemaphore
    if async_mode == "gevent":
        from gevent.lock import BoundedSemaphore

        return BoundedSemaphore
    return threading.BoundedSemaphore


def offloader(async_mode: str) -> Callable:
    gate = semaphore_for(async_mode)(1)
    if async_mode == "eventlet":
        from eventlet import tpool

        def in_tpool(fn, *args):
            with gate:
                return tpool.execute(timed, fn, *args)

        return in_tpool
    if async_mode == "gevent":
        import gevent

        def in_pool(fn, *args):
            with gate:
                return gevent.get_hub().threadpool.apply(timed, (fn, *args))

        return in_pool

    return timed
