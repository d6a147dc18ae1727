"""The sessions of one server process: lookup by token and by connection, limits, reaping.

A session outlives its connections: when the last one goes, it waits ``session_ttl_s`` to be
resumed with its token, then is reaped. Each client address owns at most
``max_sessions_per_client`` sessions, and the server at most ``max_sessions``; a new one beyond
either first evicts the longest waiting detached session (the client's own, or any), and is
refused only if every one of them is attached.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator

from . import errors as E
from .limits import TokenBucket
from .runtime import SessionRuntime, direct
from .settings import Settings

MAX_TOKEN_LEN = 64
log = logging.getLogger(__name__)


class SessionRegistry:
    def __init__(self, settings: Settings, offload: Callable = direct,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.offload = offload
        self.clock = clock
        self.sessions: dict[str, SessionRuntime] = {}
        self.by_sid: dict[str, SessionRuntime] = {}
        self.buckets: dict[str, TokenBucket] = {}

    def attach(self, sid: str, token, client: str) -> tuple[SessionRuntime, bool]:
        """Attach connection ``sid`` to the session ``token`` names, or to a new one."""
        runtime = self.sessions.get(token) if _plausible(token) else None
        resumed = runtime is not None
        if runtime is None:
            self._make_room_for(client)
            runtime = SessionRuntime(secrets.token_urlsafe(18), client, self.settings,
                                     offload=self.offload, clock=self.clock)
            self.sessions[runtime.token] = runtime
        with runtime.lock:
            runtime.attach(sid)
        self.by_sid[sid] = runtime
        self.buckets[sid] = TokenBucket(self.settings.control_rate, self.settings.control_burst,
                                        self.clock)
        return runtime, resumed

    def detach(self, sid: str) -> None:
        runtime = self.by_sid.pop(sid, None)
        self.buckets.pop(sid, None)
        if runtime is not None:
            with runtime.lock:
                runtime.detach(sid)

    def runtime_of(self, sid: str) -> SessionRuntime:
        runtime = self.by_sid.get(sid)
        if runtime is None:
            raise E.ProtocolError(E.INVALID_STATE, "no session on this connection")
        return runtime

    def allow(self, sid: str) -> None:
        """Count one control from ``sid`` against its rate limit."""
        bucket = self.buckets.get(sid)
        if bucket is not None and not bucket.take():
            raise E.ProtocolError(
                E.RATE_LIMITED, f"more than {self.settings.control_rate:g} controls a second; "
                "this one was ignored")

    def tick(self) -> Iterator[tuple[SessionRuntime, list[dict]]]:
        """Advance every watched session; yield (runtime, frames) for those with news."""
        for runtime in list(self.sessions.values()):
            if not runtime.sids or not runtime.lock.acquire(blocking=False):
                continue  # nobody watching, or busy with a control (e.g. a step back)
            try:
                frames = runtime.advance()
            except Exception:  # a bug in one run must not stop every other stream
                log.exception("session %s failed; paused", runtime.token[:6])
                runtime.playing = False
                frames = []
            finally:
                runtime.lock.release()
            if frames:
                runtime.last_sent = self.clock()
                yield runtime, frames

    def quiet(self, after_s: float) -> Iterator[tuple[SessionRuntime, dict]]:
        """The watched sessions that sent nothing for ``after_s``, with their stream position."""
        now = self.clock()
        for runtime in list(self.sessions.values()):
            if runtime.sids and now - runtime.last_sent >= after_s:
                runtime.last_sent = now
                yield runtime, {"epoch": runtime.epoch, "stream_seq": runtime.emitted_seq}

    def reap(self) -> int:
        """Forget sessions nobody resumed in time; how many went."""
        cutoff = self.clock() - self.settings.session_ttl_s
        gone = [t for t, r in self.sessions.items()
                if r.detached_since is not None and r.detached_since < cutoff]
        for token in gone:
            del self.sessions[token]
        return len(gone)

    def _make_room_for(self, client: str) -> None:
        mine = [r for r in self.sessions.values() if r.client == client]
        if len(mine) >= self.settings.max_sessions_per_client:
            self._evict(mine, f"this address already has {len(mine)} open sessions; close a "
                              "tab and retry")
        if len(self.sessions) >= self.settings.max_sessions:
            self._evict(list(self.sessions.values()),
                        "the server is full; try again in a few minutes")

    def _evict(self, among: list[SessionRuntime], refusal: str) -> None:
        """End the longest detached session of ``among``; refuse if all are attached."""
        waiting = [r for r in among if r.detached_since is not None]
        if not waiting:
            raise E.ProtocolError(E.TOO_MANY_SESSIONS, refusal)
        oldest = min(waiting, key=lambda r: r.detached_since)
        del self.sessions[oldest.token]


def _plausible(token) -> bool:
    return isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LEN
