"""Sessions that move between server processes (several processes joined by Redis).

With ``SOCKETIO_MESSAGE_QUEUE`` set, every session this process starts is named in Redis by its
record (``runstore.py``) under a lease this process holds and renews. What changes the run is
written there before it is acknowledged: a live change, a new run, a step back, the speed, play
and pause (``persist``, called by each control's handler); where the stream stands is written a
few times a second (``tick``). When a tab reconnects to a process that does not know its session
(the one that held it stopped or died, and nginx sent the tab elsewhere), that process waits for
the lease to be free, takes it with the next fencing number, and rebuilds the run from its record
by replay (``take_over``); the tab's first resync then brings the run on to exactly what the tab
had seen (``SessionRuntime._rejoin``). A process that finds its lease gone (renewal refused, or a
write fenced out) drops the session and disconnects its tabs, which reconnect to the new holder.
A process that has not renewed in time stops streaming the session before the lease can have
passed on. A process that stops gracefully writes every record, hands every lease back and tells
its tabs to reconnect at once (``hand_over``).

A room moves with its presenter's run: its state (members, question, votes, lesson step,
release) is written in that run's record, before each change to it is acknowledged, and the
process that takes the run over takes the room over with it. Students' forks stay with the
process that made them (a student whose fork's process died follows the room's run again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from . import errors as E
from .runstore import Fenced, Lease, RunStore
from .runtime import SessionRuntime

log = logging.getLogger(__name__)

TICK_S = 0.5  # how often leases are renewed and stream positions written
MOVED = ("this run moved to another server process; reconnecting to it")


class Mover:
    def __init__(self, store: RunStore, sleep: Callable[[float], None]):
        self.store = store
        self.sleep = sleep
        self.leases: dict[str, Lease] = {}
        self.written: dict[str, tuple] = {}  # token -> the position last written
        # the state of the room a session presents, written with its record (None: none)
        self.extra: Callable[[str], dict | None] = lambda token: None

    # --- starting and taking over ----------------------------------------------------------------
    def claim(self, runtime: SessionRuntime) -> None:
        """A new session here: its lease (the first fencing number) and its first record."""
        lease = self.store.acquire(runtime.token)
        if lease is None:  # a token is fresh randomness: nobody else can hold it
            raise E.ProtocolError(E.INTERNAL, "could not start a session")
        self.leases[runtime.token] = lease
        self._write(runtime, lease)

    def known(self, token: str) -> dict | None:
        """The record of a session some process started (None: no such session anywhere)."""
        return self.store.read(token)

    def take_over(self, runtime: SessionRuntime, record: dict) -> dict:
        """Make the session ``runtime`` (new here, of the record's token) the run ``record``
        names: wait for its lease (its former holder's runs out if it died), rebuild by replay;
        the record it was rebuilt from (the latest)."""
        wait_s = self.store.lease_ms / 1000.0 + 1.0
        lease = self.store.wait_acquire(runtime.token, wait_s, sleep=self.sleep)
        if lease is None:
            raise E.ProtocolError(E.BUSY, "another server process still holds this run; "
                                  "reconnecting")
        record = self.store.read(runtime.token) or record  # the latest, now that it is ours
        try:
            runtime.adopt(record)
        except Exception:
            self.store.release(lease)
            raise
        self.leases[runtime.token] = lease
        self._write(runtime, lease)
        log.info("took over session %s (fence %d)", runtime.token[:6], lease.fence)
        return record

    # --- keeping it ------------------------------------------------------------------------------
    def holds(self, runtime: SessionRuntime) -> bool:
        """Whether this process may stream ``runtime`` now: its lease renewed recently enough
        (sessions this process does not track, such as a room's, always)."""
        lease = self.leases.get(runtime.token)
        return lease is None or self.store.valid(lease)

    def persist(self, runtime: SessionRuntime) -> None:
        """Write ``runtime``'s record now (before a control that changed it is acknowledged);
        ``ProtocolError`` (moved) if another process took the run over meanwhile."""
        lease = self.leases.get(runtime.token)
        if lease is None:
            return
        try:
            self._write(runtime, lease)
        except Fenced:
            self.leases.pop(runtime.token, None)
            raise E.ProtocolError(E.MOVED, MOVED) from None

    def _record(self, runtime: SessionRuntime) -> dict:
        record = runtime.record()
        record["client"] = runtime.client  # whose limits it counts against, wherever it goes
        room = self.extra(runtime.token)
        if room is not None:
            record["room"] = room
        return record

    def _write(self, runtime: SessionRuntime, lease: Lease) -> None:
        record = self._record(runtime)
        self.store.write(lease, record)
        self.written[runtime.token] = _position(record)

    def tick(self, sessions: dict[str, SessionRuntime]) -> list[SessionRuntime]:
        """Renew every lease, writing the records whose stream moved on with it, in one round
        trip to Redis; the sessions whose lease went to another process (the caller drops them
        and disconnects their tabs)."""
        held = []
        for token, lease in list(self.leases.items()):
            runtime = sessions.get(token)
            if runtime is None:  # gone meanwhile (reaped: forgotten there)
                self.forget(token)
                continue
            record = None
            if self.written.get(token) != _now(runtime):
                with runtime.lock:
                    record = self._record(runtime)
            held.append((runtime, lease, record))
        kept = self.store.keep([(lease, record) for _, lease, record in held],
                               clients=[runtime.client for runtime, _, _ in held])
        lost = []
        for (runtime, _, record), ok in zip(held, kept, strict=True):
            if not ok:
                lost.append(runtime)
            elif record is not None:
                self.written[runtime.token] = _position(record)
        for runtime in lost:
            self.leases.pop(runtime.token, None)
            self.written.pop(runtime.token, None)
            log.warning("session %s went to another process", runtime.token[:6])
        return lost

    def forget(self, token: str, client: str | None = None) -> None:
        """A session reaped or given up here: its record and lease go too, and it no longer
        counts against ``client``'s limits."""
        lease = self.leases.pop(token, None)
        self.written.pop(token, None)
        if lease is not None:
            self.store.forget(lease)
            if client is not None:
                self.store.uncount(client, token)

    def hand_over(self, sessions: dict[str, SessionRuntime]) -> int:
        """This process stops: write every record, hand every lease back; how many."""
        n = 0
        for token, lease in list(self.leases.items()):
            runtime = sessions.get(token)
            try:
                if runtime is not None:
                    with runtime.lock:
                        self.store.write(lease, self._record(runtime))
                self.store.release(lease)
                n += 1
            except Fenced:
                pass
            self.leases.pop(token, None)
        return n


def _position(record: dict) -> tuple:
    return (record["epoch"], record["stream_seq"], record["playing"], record["speed"])


def _now(runtime: SessionRuntime) -> tuple:
    return (runtime.epoch, runtime.stream_seq, runtime.playing, runtime.speed)
