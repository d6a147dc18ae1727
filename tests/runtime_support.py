"""A session runtime on a hand-driven clock, for tests that pace a run without waiting."""

from __future__ import annotations

from server.runtime import SessionRuntime
from server.settings import Settings


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def runtime(**settings) -> tuple[SessionRuntime, Clock]:
    clock = Clock()
    rt = SessionRuntime("token", "127.0.0.1", Settings(**settings), clock=clock)
    rt.attach("sid")
    return rt, clock


def play(rt: SessionRuntime, clock: Clock, seconds: float, tick: float = 1 / 30) -> list[dict]:
    frames = []
    for _ in range(round(seconds / tick)):
        clock.t += tick
        frames += rt.advance()
    return frames
