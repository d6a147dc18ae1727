"""Run CPU-heavy work (replaying a long run) outside the event loop, so other clients go on.

Under eventlet and gevent the work goes to a native thread pool while the event loop keeps
serving; under ``threading`` every handler already has a thread of its own.
"""

from __future__ import annotations

from collections.abc import Callable


def offloader(async_mode: str) -> Callable:
    if async_mode == "eventlet":
        from eventlet import tpool

        return tpool.execute
    if async_mode == "gevent":
        import gevent

        def in_pool(fn, *args):
            return gevent.get_hub().threadpool.apply(fn, args)

        return in_pool

    def direct(fn, *args):
        return fn(*args)

    return direct
