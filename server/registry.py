"""The sessions of one server process: lookup by token and by connection, limits, reaping.

A session outlives its connections: when the last one goes, it waits ``session_ttl_s`` to be
resumed with its token, then is reaped. Each client address owns at most
``max_sessions_per_client`` sessions, and the server at most ``max_sessions``; a new one beyond
either first evicts the longest waiting detached session (the client's own, or any), and is
refused only if every one of them is attached.

Rooms (``rooms.py``) add followers: connections that watch a room's run (or, once released, their
own fork of it) without a session of their own. They and the forks count against the room's
limits, never against an address or the server's session count. A session that backs a room, and
the forks a live room keeps, are not reaped while the room lives.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator

from . import errors as E
from .limits import TokenBucket
from .rooms import SCREENS_PER_ROOM, Member, Room, RoomRegistry, normalise_code
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
        self.rooms = RoomRegistry(settings, clock)
        # follower connection -> (room, its member; None for a projector screen)
        self.followers: dict[str, tuple[Room, Member | None]] = {}
        # several processes (moving.py): sessions named in Redis, taken over by whichever
        # process their tab reaches; None: this process alone
        self.mover = None
        self._taking: set[str] = set()  # tokens being taken over here right now

    def attach(self, sid: str, token, client: str) -> tuple[SessionRuntime, bool]:
        """Attach connection ``sid`` to the session ``token`` names, or to a new one."""
        runtime = self.sessions.get(token) if _plausible(token) else None
        if runtime is None and self.mover is not None and _plausible(token):
            runtime = self._take_over(token, client)
        resumed = runtime is not None
        if runtime is None:
            if self.mover is None:
                self._make_room_for(client)
            runtime = SessionRuntime(secrets.token_urlsafe(18), client, self.settings,
                                     offload=self.offload, clock=self.clock)
            if self.mover is not None:
                self._count_shared(runtime)
                self.mover.claim(runtime)
            self.sessions[runtime.token] = runtime
        with runtime.lock:
            runtime.attach(sid)
        self.by_sid[sid] = runtime
        self.limit(sid)
        return runtime, resumed

    def limit(self, sid: str) -> None:
        """Connection ``sid``'s controls count against the control rate (``allow``)."""
        self.buckets[sid] = TokenBucket(self.settings.control_rate, self.settings.control_burst,
                                        self.clock)

    def _take_over(self, token: str, client: str) -> SessionRuntime | None:
        """The session ``token`` names, started by another process (moving.py): taken over
        here, rebuilt by replay; None if no process ever started it."""
        while token in self._taking:  # another connection of it is taking it over: wait
            self.mover.sleep(0.05)
        if token in self.sessions:
            return self.sessions[token]
        record = self.mover.known(token)
        if record is None:
            return None
        self._taking.add(token)
        try:
            # (a room's run taken over for a student counts against its presenter's address)
            runtime = SessionRuntime(token, record.get("client", client), self.settings,
                                     offload=self.offload, clock=self.clock)
            self._count_shared(runtime)  # (counted already, as a rule: by its former holder)
            record = self.mover.take_over(runtime, record)
            self.sessions[token] = runtime
            room = record.get("room")
            if room is not None:  # it presents a room: the room comes with it
                self.rooms.adopt(runtime, room)
            return runtime
        finally:
            self._taking.discard(token)

    def _count_shared(self, runtime: SessionRuntime) -> None:
        """(Several processes) count a session against the limits of every process together
        (kept in Redis): a full address, or a full site, first gives up this process's
        longest-waiting detached session of it (or any), as one process alone does, and is
        refused if this process has none to give up."""
        s = self.settings
        for _ in range(3):  # count; give up a detached one; count again (the site may be full)
            got = self.mover.store.count(runtime.client, runtime.token,
                                         s.max_sessions_per_client, s.max_sessions)
            if got == 1:
                return
            if got == -1:
                self._evict([r for r in self.sessions.values() if r.client == runtime.client],
                            f"this address already has {s.max_sessions_per_client} open "
                            "sessions; close a tab and retry")
            else:
                self._evict([r for r in self.sessions.values() if r.fork_of is None],
                            "the server is full; try again in a few minutes")
        raise E.ProtocolError(E.TOO_MANY_SESSIONS, "too many open sessions; close a tab and "
                              "retry")

    def drop(self, runtime: SessionRuntime) -> list[str]:
        """Forget a session another process took over (and the room it presents, which went
        with it); its connections and the room's (to disconnect)."""
        if self.sessions.get(runtime.token) is runtime:
            del self.sessions[runtime.token]
        sids = set(runtime.sids)
        room = self.rooms.by_token.get(runtime.token)
        if room is not None:
            self.rooms.let_go(room)
            sids |= room.screens.union(*(m.sids for m in room.members.values()))
        return list(sids)

    def room_state(self, token: str) -> dict | None:
        """The state of the room the session ``token`` presents (None: it presents none)."""
        room = self.rooms.by_token.get(token)
        return None if room is None else room.state()

    def follow(self, sid: str, code, member_token, screen: bool,
               client: str) -> tuple[Room, Member | None, SessionRuntime, bool]:
        """Attach connection ``sid`` to the room ``code`` names as a student (``member_token``
        resumes one) or a projector screen: (room, member, the run it watches, resumed)."""
        if self.mover is not None:  # a room whose process is gone: its presenter's run, here
            wanted = normalise_code(code)
            if wanted is not None and wanted not in self.rooms.by_code:
                presenter = self.mover.store.room_presenter(wanted)
                if presenter is not None and presenter not in self.sessions:
                    self._take_over(presenter, client)
        room = self.rooms.find(code, client)
        member, resumed = None, False
        if screen:
            if len(room.screens) >= SCREENS_PER_ROOM:
                raise E.ProtocolError(E.ROOM_FULL, f"this room already has {SCREENS_PER_ROOM} "
                                      "screens")
            room.screens.add(sid)
            runtime = room.runtime
        else:
            member, resumed = self.rooms.member(room, member_token)
            member.sids.add(sid)
            fork = member.forks.get(member.watching) if member.watching is not None else None
            runtime = fork or room.runtime
        with runtime.lock:
            runtime.attach(sid)
        self.by_sid[sid] = runtime
        self.followers[sid] = (room, member)
        self.limit(sid)
        room.note_presence()
        return room, member, runtime, resumed

    def follower(self, sid: str) -> tuple[Room, Member | None] | None:
        return self.followers.get(sid)

    def room_of_presenter(self, sid: str) -> Room | None:
        """The room whose presenter connection ``sid`` is (None if it is not one)."""
        if sid in self.followers:
            return None
        runtime = self.by_sid.get(sid)
        return self.rooms.of_presenter(runtime.token) if runtime is not None else None

    def move(self, sid: str, to: SessionRuntime) -> SessionRuntime | None:
        """Make connection ``sid`` watch ``to`` instead; the runtime it watched before."""
        old = self.by_sid.get(sid)
        if old is to:
            return old
        if old is not None:
            with old.lock:
                old.detach(sid)
        with to.lock:
            to.attach(sid)
        self.by_sid[sid] = to
        return old

    def fork_maker(self, room: Room):
        """Make a fork session of ``room``'s run (registered, counted against the room)."""
        def make(token: str) -> SessionRuntime:
            runtime = SessionRuntime(token, f"room:{room.code}", self.settings,
                                     offload=self.offload, clock=self.clock)
            runtime.fork_of = room.code
            self.sessions[token] = runtime
            return runtime
        return make

    def detach(self, sid: str) -> None:
        runtime = self.by_sid.pop(sid, None)
        self.buckets.pop(sid, None)
        if runtime is not None:
            with runtime.lock:
                runtime.detach(sid)
        followed = self.followers.pop(sid, None)
        if followed is not None:
            room, member = followed
            if member is None:
                room.screens.discard(sid)
            else:
                member.sids.discard(sid)
            room.note_presence()
        elif runtime is not None:
            room = self.rooms.of_presenter(runtime.token)
            if room is not None:
                room.note_presence()

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
        mover = self.mover
        for runtime in list(self.sessions.values()):
            if mover is not None and not mover.holds(runtime):
                continue  # its lease is not renewed yet: another process may hold it by now
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
        """Forget sessions nobody resumed in time, rooms nobody came back to, and forks of rooms
        that are gone; how many sessions went."""
        for room in self.rooms.expired():
            self.rooms.close(room)
        self.rooms.prune_buckets()
        cutoff = self.clock() - self.settings.session_ttl_s
        rooms = self.rooms
        gone = [t for t, r in self.sessions.items()
                if (r.fork_of is not None and t not in rooms.fork_tokens)
                or (r.detached_since is not None and r.detached_since < cutoff
                    and r.fork_of is None and rooms.of_presenter(t) is None)]
        for token in gone:
            runtime = self.sessions.pop(token)
            if self.mover is not None:
                self.mover.forget(token, runtime.client)
        return len(gone)

    def _make_room_for(self, client: str) -> None:
        mine = [r for r in self.sessions.values() if r.client == client]
        if len(mine) >= self.settings.max_sessions_per_client:
            self._evict(mine, f"this address already has {len(mine)} open sessions; close a "
                              "tab and retry")
        own = [r for r in self.sessions.values() if r.fork_of is None]
        if len(own) >= self.settings.max_sessions:
            self._evict(own, "the server is full; try again in a few minutes")

    def _evict(self, among: list[SessionRuntime], refusal: str) -> None:
        """End the longest detached session of ``among``; refuse if all are attached."""
        waiting = [r for r in among if r.detached_since is not None
                   and self.rooms.of_presenter(r.token) is None]
        if not waiting:
            raise E.ProtocolError(E.TOO_MANY_SESSIONS, refusal)
        oldest = min(waiting, key=lambda r: r.detached_since)
        del self.sessions[oldest.token]
        if self.mover is not None:
            self.mover.forget(oldest.token, oldest.client)


def _plausible(token) -> bool:
    return isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LEN
