"""Run CPU-heavy work (replaying a long run) outside the event loop, so other clients go on.

Under eventlet and gevent the work goes to a native thread pool while the event loop keeps
serving; under ``threading`` every handler already has a thread of its own. One replay runs at a
time: each native thread competes with the event loop for the interpreter, so ten replays at once
would leave the loop a tenth of it; queued ones wait in their own green thread.
"""

from __future__ import annotations

from collections.abc import Callable


def offloader(async_mode: str) -> Callable:
    if async_mode == "eventlet":
        from eventlet import tpool
        from eventlet.semaphore import Semaphore

        gate = Semaphore(1)

        def in_tpool(fn, *args):
            with gate:
                return tpool.execute(fn, *args)

        return in_tpool
    if async_mode == "gevent":
        import gevent
        from gevent.lock import Semaphore

        gate = Semaphore(1)

        def in_pool(fn, *args):
            with gate:
                return gevent.get_hub().threadpool.apply(fn, args)

        return in_pool

    def direct(fn, *args):
        return fn(*args)

    return direct
