"""Rooms: one presenter drives a run, a class follows it live, votes, explores forks, comes back.

A room belongs to a session: the presenter's run is the room's run, and the session's token is
the presenter's credential (any connection that attaches with it, after a reload or a network
loss, is the presenter again). Students join with the room's code and get a member token of
their own, which keeps their vote and their forks across reconnects. Followers are connections
of the room's run that may only read it (``resync``, ``get_snapshot``) and vote; every other
control is refused with ``read_only``.

"Release" freezes the room's run once; each student who then explores gets a fork of it made
from those bytes: a session of its own that continues the same stream (same epoch, same
``stream_seq``), so a student's page goes on from the frame it holds, with nothing to fetch.
"Call back" moves every member back to the room's run; each keeps the forks of the last two
releases to return to when the class is released again.

Everything here is plain state; the socket layer (``sockets.py``) moves connections between
Socket.IO rooms and sends what these methods return. Forks and followers count against the
room's limits (students per room, rooms per server), never against a client address: a
classroom behind one NAT address is one room. A wrong code costs the address one token of a
bucket that refills slowly; an empty bucket refuses every join from that address until it
refills, so guessing a code (23^8 of them) is hopeless.
"""

from __future__ import annotations

import pickle
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import errors as E
from .limits import TokenBucket
from .runtime import SessionRuntime
from .settings import Settings

# Letters and digits that cannot be mistaken for one another when read aloud or from a
# projector: no 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B.
ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
CODE_LEN = 8
FORKS_KEPT = 2  # a member keeps the forks of the last two releases
MAX_QUESTION_LEN = 300
MAX_CHOICE_LEN = 160
MAX_CHOICES = 6
SCREENS_PER_ROOM = 8
BROADCAST_EVERY_S = 0.25  # counts (students, votes) reach the room at most this often

_CODE_CHARS = re.compile(r"[\s\-_.]")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LEN))


def normalise_code(raw) -> str | None:
    """The code as stored (``ACDE-FHJK``, ``acde fhjk`` -> ``ACDEFHJK``); None if it cannot be
    one."""
    if not isinstance(raw, str) or len(raw) > 32:
        return None
    code = _CODE_CHARS.sub("", raw).upper()
    if len(code) != CODE_LEN or any(c not in ALPHABET for c in code):
        return None
    return code


def shown(code: str) -> str:
    """The code as people read it: two groups of four."""
    return f"{code[:4]}-{code[4:]}"


@dataclass
class Member:
    token: str
    sids: set[str] = field(default_factory=set)
    watching: int | None = None  # the release whose fork it watches; None: the room's run
    forks: dict[int, SessionRuntime] = field(default_factory=dict)  # release -> fork

    def watch_name(self) -> str:
        return "room" if self.watching is None else f"fork:{self.watching}"


@dataclass
class Frozen:
    """The room's run at a release, from which each student's fork is made."""
    sim: bytes
    base_config: object
    protocol: str
    epoch: int
    stream_seq: int
    epoch_seq: int
    window: object
    checkpoints: object
    speed: float


class Room:
    def __init__(self, code: str, runtime: SessionRuntime, clock: Callable[[], float]):
        self.code = code
        self.runtime = runtime  # the presenter's session: the room's run
        self.clock = clock
        self.members: dict[str, Member] = {}
        self.screens: set[str] = set()
        self.mode = "following"
        self.release = 0
        self.frozen: Frozen | None = None
        self.question: dict | None = None
        self.votes: dict[str, int] = {}  # member token -> choice, for the open question
        self.revealed = False
        self.lesson: dict | None = None
        self.focus: dict | None = None
        self.empty_since: float | None = None
        self.dirty = True  # counts changed since the last broadcast
        self.tally_dirty = False
        self.last_broadcast = 0.0
        self.questions = 0

    # --- who is here ----------------------------------------------------------------------------
    @property
    def presenter_sids(self) -> set[str]:
        followers = self.screens.union(*(m.sids for m in self.members.values()))
        return self.runtime.sids - followers

    def connected(self) -> int:
        return len(self.runtime.sids) + sum(len(f.sids) for m in self.members.values()
                                            for f in m.forks.values())

    def students_online(self) -> int:
        return sum(1 for m in self.members.values() if m.sids)

    def note_presence(self) -> None:
        self.dirty = True
        self.empty_since = None if self.connected() else self.clock()

    # --- what everybody sees ------------------------------------------------------------------
    def public(self) -> dict:
        q = self.question
        return {
            "code": self.code, "shown": shown(self.code), "mode": self.mode,
            "release": self.release, "students": self.students_online(),
            "members": len(self.members), "presenter": bool(self.presenter_sids),
            "question": None if q is None else {k: q[k] for k in ("id", "text", "choices",
                                                                   "source")},
            "voted": len(self.votes), "revealed": self.revealed,
            "results": self.results() if self.revealed else None,
            "lesson": self.lesson, "focus": self.focus,
        }

    def results(self) -> dict | None:
        """The distribution of votes (and the right answer, when the question has one)."""
        q = self.question
        if q is None:
            return None
        counts = [0] * len(q["choices"])
        for choice in self.votes.values():
            counts[choice] += 1
        return {"question": q["id"], "counts": counts, "total": len(self.votes),
                "correct": q.get("correct")}

    def state(self) -> dict:
        """What another process needs to go on with this room (several processes): written in
        its presenter's run's record (``moving.py``). Forks stay with their process."""
        return {"code": self.code, "mode": self.mode, "release": self.release,
                "question": self.question, "votes": self.votes, "revealed": self.revealed,
                "lesson": self.lesson, "focus": self.focus, "questions": self.questions,
                "members": list(self.members)}

    def you(self, member: Member) -> dict:
        vote = self.votes.get(member.token) if self.question else None
        return {"member": member.token, "watching": member.watch_name(),
                "forks": sorted(member.forks), "vote": vote}


class RoomRegistry:
    """The rooms of one server process, by code and by presenter session."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.clock = clock
        self.by_code: dict[str, Room] = {}
        self.by_token: dict[str, Room] = {}  # presenter session token -> room
        self.join_buckets: dict[str, TokenBucket] = {}
        self.fork_tokens: dict[str, Room] = {}  # fork session token -> its room
        # codes of rooms that ended (-> when): a class reconnecting to one is told so, and it
        # costs nobody a join token
        self.ended: dict[str, float] = {}
        # several processes: the rooms' directory, count, ended codes and join buckets in Redis
        # (runstore.py), shared by every process; None: this process alone
        self.shared = None

    # --- presenter ------------------------------------------------------------------------------
    def open(self, runtime: SessionRuntime) -> Room:
        """The room of ``runtime``'s session, made if it has none."""
        room = self.by_token.get(runtime.token)
        if room is not None:
            return room
        full = E.ProtocolError(E.TOO_MANY_ROOMS, f"this server already holds "
                               f"{self.settings.max_rooms} rooms; try again later")
        if len(self.by_code) >= self.settings.max_rooms:
            raise full
        code = new_code()
        while code in self.by_code:
            code = new_code()
        while self.shared is not None:  # named in Redis, counted with every process's rooms
            got = self.shared.open_room(code, runtime.token, self.settings.max_rooms)
            if got == 1:
                break
            if got == -1:
                raise full
            code = new_code()
        room = Room(code, runtime, self.clock)
        runtime.shared = True  # many clients ask for the same history: keep it
        self.by_code[code] = room
        self.by_token[runtime.token] = room
        return room

    def of_presenter(self, token: str) -> Room | None:
        return self.by_token.get(token)

    def close(self, room: Room) -> None:
        """End ``room``; its forks are forgotten with it (the registry's reaping drops their
        sessions)."""
        self.let_go(room)
        self.ended[room.code] = self.clock()
        if self.shared is not None:
            self.shared.end_room(room.code, self.settings.room_ttl_s)

    def let_go(self, room: Room) -> None:
        """Forget ``room`` here (it ended, or another process took its presenter's run over)."""
        self.by_code.pop(room.code, None)
        self.by_token.pop(room.runtime.token, None)
        room.runtime.shared = False
        for member in room.members.values():
            for fork in member.forks.values():
                self.fork_tokens.pop(fork.token, None)

    def adopt(self, runtime: SessionRuntime, state: dict) -> Room:
        """(Several processes) go on with the room ``state`` names (``Room.state``), whose
        presenter's run ``runtime`` this process took over: members, question, votes, lesson
        step as they were; every member follows the room's run (forks stayed behind); a room
        that was released is released again from the run as it stands."""
        room = Room(state["code"], runtime, self.clock)
        room.mode = state["mode"]
        room.release = int(state["release"])
        room.question = state["question"]
        room.votes = {str(k): int(v) for k, v in state["votes"].items()}
        room.revealed = bool(state["revealed"])
        room.lesson, room.focus = state["lesson"], state["focus"]
        room.questions = int(state["questions"])
        room.members = {token: Member(token) for token in state["members"]}
        room.tally_dirty = room.question is not None
        runtime.shared = True
        self.by_code[room.code] = room
        self.by_token[runtime.token] = room
        room.note_presence()  # (released: frozen again at the first fork, see fork_for)
        return room

    def keep(self) -> None:
        """(Several processes) the rooms held here go on counting in Redis."""
        if self.shared is not None and self.by_code:
            self.shared.keep_rooms(list(self.by_code))

    # --- students -------------------------------------------------------------------------------
    def find(self, raw_code, client: str) -> Room:
        """The room a join names; a wrong code costs ``client`` a token of its join bucket."""
        shared = self.shared
        s = self.settings
        if shared is not None:
            left = shared.join_tokens(client, s.join_rate, s.join_burst, take=False)
        else:
            bucket = self.join_buckets.get(client)
            if bucket is None:
                bucket = self.join_buckets[client] = TokenBucket(
                    s.join_rate, s.join_burst, self.clock)
            left = bucket.peek()
        if left < 1:
            raise E.ProtocolError(E.RATE_LIMITED, "too many wrong room codes from this address; "
                                  "wait a minute and check the code", "room")
        code = normalise_code(raw_code)
        room = self.by_code.get(code) if code else None
        if room is None and code is not None and (
                code in self.ended or (shared is not None and shared.room_ended(code))):
            raise E.ProtocolError(E.ROOM_ENDED, "this room has ended", "room")
        if room is None:
            if shared is not None:
                shared.join_tokens(client, s.join_rate, s.join_burst, take=True)
            else:
                bucket.take()
            raise E.ProtocolError(E.ROOM_NOT_FOUND, "no room has that code: check it with "
                                  "your presenter (codes look like ACDE-FHJK)", "room")
        return room

    def member(self, room: Room, token) -> tuple[Member, bool]:
        """The member ``token`` names in ``room`` (resumed), or a new one if there is space."""
        if isinstance(token, str) and token in room.members:
            return room.members[token], True
        if len(room.members) >= self.settings.max_room_students:
            # a member nobody has seen for a while gives up its place
            idle = [m for m in room.members.values() if not m.sids and not any(
                f.sids for f in m.forks.values())]
            if not idle:
                raise E.ProtocolError(E.ROOM_FULL, f"this room is full "
                                      f"({self.settings.max_room_students} students)")
            self.forget(room, idle[0])
        member = Member(secrets.token_urlsafe(18))
        room.members[member.token] = member
        return member, False

    def forget(self, room: Room, member: Member) -> None:
        room.members.pop(member.token, None)
        room.votes.pop(member.token, None)
        for fork in member.forks.values():
            self.fork_tokens.pop(fork.token, None)

    # --- release, explore, call back ---------------------------------------------------------
    def release(self, room: Room) -> None:
        """Let the class explore from the room's run as it stands now (the run is paused)."""
        room.runtime.pause()
        room.release += 1
        self._freeze(room)
        room.mode = "released"
        room.dirty = True

    def _freeze(self, room: Room) -> None:
        rt = room.runtime
        rt._flush()
        room.frozen = Frozen(
            sim=pickle.dumps(rt.sim, protocol=pickle.HIGHEST_PROTOCOL),
            base_config=rt.base_config, protocol=rt.protocol, epoch=rt.epoch,
            stream_seq=rt.stream_seq, epoch_seq=rt.epoch_seq, window=rt.window.copy(),
            checkpoints=rt.checkpoints.copy(), speed=rt.speed)

    def fork_for(self, room: Room, member: Member, make: Callable[[str], SessionRuntime],
                 release: int | None = None) -> tuple[SessionRuntime, bool]:
        """The fork ``member`` explores in (of ``release``, by default the latest), made from the
        frozen run if it has none; whether it was made now."""
        if room.mode != "released":
            raise E.ProtocolError(E.INVALID_STATE, "the presenter has not released the class")
        if room.frozen is None:  # a room taken over from another process while released
            self._freeze(room)
        release = room.release if release is None else release
        fork = member.forks.get(release)
        made = False
        if fork is None:
            if release != room.release:
                raise E.ProtocolError(E.INVALID_VALUE, f"you have no run from release {release}",
                                      "release")
            fork = make(secrets.token_urlsafe(18))
            fork.thaw_fork(room.frozen)
            member.forks[release] = fork
            self.fork_tokens[fork.token] = room
            made = True
            while len(member.forks) > FORKS_KEPT:
                oldest = min(member.forks)
                old = member.forks.pop(oldest)
                self.fork_tokens.pop(old.token, None)
        member.watching = release
        return fork, made

    def call_back(self, room: Room) -> list[Member]:
        """Everybody follows the room's run again; the members that were watching a fork."""
        room.mode = "following"
        room.dirty = True
        moved = [m for m in room.members.values() if m.watching is not None]
        for member in moved:
            member.watching = None
        return moved

    # --- votes ----------------------------------------------------------------------------------
    def ask(self, room: Room, text: str, choices: list[str], correct: int | None,
            source: dict | None) -> dict:
        room.questions += 1
        room.question = {"id": room.questions, "text": text, "choices": choices,
                         "correct": correct, "source": source}
        room.votes = {}
        room.revealed = False
        room.dirty = room.tally_dirty = True
        return room.question

    def vote(self, room: Room, member: Member, question: int, choice: int) -> None:
        q = room.question
        if q is None or q["id"] != question:
            raise E.ProtocolError(E.INVALID_STATE, "that question is no longer open", "question")
        if room.revealed:
            raise E.ProtocolError(E.INVALID_STATE, "the votes are already revealed", "question")
        if not 0 <= choice < len(q["choices"]):
            raise E.ProtocolError(E.INVALID_VALUE, f"choice must be between 0 and "
                                  f"{len(q['choices']) - 1}", "choice")
        room.votes[member.token] = choice  # one vote per member: a second one replaces it
        room.dirty = room.tally_dirty = True

    def reveal(self, room: Room) -> dict:
        if room.question is None:
            raise E.ProtocolError(E.INVALID_STATE, "there is no question to reveal")
        room.revealed = True
        room.dirty = True
        return room.results()

    # --- upkeep ---------------------------------------------------------------------------------
    def expired(self) -> list[Room]:
        """Rooms nobody has been connected to for ``room_ttl_s``."""
        cutoff = self.clock() - self.settings.room_ttl_s
        return [r for r in self.by_code.values()
                if r.empty_since is not None and r.empty_since < cutoff]

    def prune_buckets(self) -> None:
        """Forget the join buckets that are full again (nothing to remember), and rooms that
        ended longer ago than a room lives."""
        cutoff = self.clock() - self.settings.room_ttl_s
        for code in [c for c, t in self.ended.items() if t < cutoff]:
            del self.ended[code]
        for client in [c for c, b in self.join_buckets.items() if b.peek() >= b.burst]:
            del self.join_buckets[client]
