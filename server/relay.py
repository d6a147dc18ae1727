"""Connections served by another process (several processes joined by Redis).

A run is paced by one process, the holder of its lease (``moving.py``). A room's presenter and
its class may reach different processes through nginx; a student's connection on process B
then follows a run held by process A. B keeps the connection (the websocket is B's) and *relays*
it to A: B checks every control (rate, size, shape) and forwards it to A, whose answer B sends
back as the acknowledgement; A treats the connection as one of its own followers and sends what
it would send it (frames, the room's news, a move to a fork) to B, which hands it on.

Each process listens on one Redis channel of its own, named by its holder name; the messages are
JSON objects with an ``op``:

- ``connect`` / ``control`` (B -> A, answered by an ``answer`` with the same ``id``): attach a
  connection of B's, run a control of it.
- ``detach`` (B -> A): the connection is gone.
- ``emit`` (A -> B): send an event to B's connections named in ``to`` (connections, or
  Socket.IO rooms B keeps for them); ``enter`` / ``leave``: put one of B's connections in or out
  of such a room; ``disconnect``: close some.

What one process publishes on a channel arrives in the order it was published, so a connection
is in its rooms before the first frame for them, and the answer to a ``connect`` comes after what
A sent the connection while attaching it. A process whose channel has no subscriber is gone
(Redis closes a dead process's connection); ``listening`` asks Redis which are.

Pure plumbing: redis-py only; the socket layer (``sockets.py``) says what each message does.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

PREFIX = "delivery-lab:to:"
CALL_TIMEOUT_S = 5.0  # a connect (then this process takes the run over, or says busy)
CONTROL_TIMEOUT_S = 10.0  # a control (a step back of a long run takes a while)


class RelayTimeout(Exception):
    """The other process did not answer in time (stopped, paused, or gone)."""


class Relay:
    def __init__(self, url: str, holder: str, make_event: Callable, spawn: Callable,
                 client=None):
        import redis

        self.redis = client or redis.Redis.from_url(url, socket_connect_timeout=5,
                                                    socket_timeout=5)
        self.holder = holder
        self.channel = PREFIX + holder
        self.make_event = make_event
        self.spawn = spawn
        self.handle: Callable[[dict], None] = lambda message: None  # set by the socket layer
        self.serve: Callable[[dict], dict] = lambda message: {}  # answers a connect / control
        # this process's channel was lost for a while: what was sent meanwhile is gone
        self.on_lost: Callable[[], None] = lambda: None
        self._ids = itertools.count(1)
        self._waiting: dict[int, list] = {}
        self._pubsub = None
        # one message at a time: what one task sends after another arrives after it
        self._send_lock = threading.Lock()

    # --- listening ------------------------------------------------------------------------------
    def start(self) -> None:
        """Subscribe (confirmed before this returns: nothing sent to this process afterwards is
        missed), then listen in the background."""
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=False)
        self._pubsub.subscribe(self.channel)
        for _ in range(50):
            message = self._pubsub.get_message(timeout=0.1)
            if message is not None and message["type"] == "subscribe":
                break
        else:
            raise RuntimeError("could not subscribe to this process's channel in Redis")
        self.spawn(self._listen)

    def _listen(self) -> None:
        while True:
            try:
                message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except Exception as exc:  # Redis went away for a moment: listen again
                log.warning("relay: lost Redis (%s); listening again", exc)
                self._pubsub = None
                self._resubscribe()
                self.on_lost()
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                self._dispatch(json.loads(message["data"]))
            except Exception:  # one bad message must not stop the others
                log.exception("relay: a message could not be handled")

    def _resubscribe(self) -> None:
        import time

        while self._pubsub is None:
            try:
                pubsub = self.redis.pubsub()
                pubsub.subscribe(self.channel)
                self._pubsub = pubsub
            except Exception:
                time.sleep(0.5)

    def _dispatch(self, message: dict) -> None:
        op = message.get("op")
        if op == "answer":
            waiting = self._waiting.get(message.get("id"))
            if waiting is not None:
                waiting[1] = message.get("answer")
                waiting[0].set()
        elif op in ("connect", "control"):
            # answered in a task of its own (it may wait: a replay, a lock), in order per
            # connection all the same: the other process waits for each answer
            self.spawn(self._answer, message)
        else:  # emits, rooms, detach: at once, in the order they were sent
            self.handle(message)

    def _answer(self, message: dict) -> None:
        try:
            answer = self.serve(message)
        except Exception:
            log.exception("relay: %s failed", message.get("op"))
            answer = {"ok": False, "error": {"code": "internal_error", "field": None,
                                              "message": "the server could not do that"}}
        self.send(message["from"], {"op": "answer", "id": message["id"], "answer": answer})

    # --- sending --------------------------------------------------------------------------------
    def send(self, holder: str, message: dict) -> bool:
        """Publish ``message`` to process ``holder``; whether it is listening."""
        data = json.dumps(message, separators=(",", ":"))
        with self._send_lock:
            return self.redis.publish(PREFIX + holder, data) > 0

    def call(self, holder: str, message: dict, timeout_s: float = CALL_TIMEOUT_S) -> dict:
        """Send a ``connect`` or ``control`` to ``holder`` and wait for its answer;
        ``RelayTimeout`` if it is not listening or does not answer in time."""
        call_id = next(self._ids)
        waiting = [self.make_event(), None]
        self._waiting[call_id] = waiting
        try:
            if not self.send(holder, {**message, "id": call_id, "from": self.holder}):
                raise RelayTimeout(holder)
            if not waiting[0].wait(timeout_s):
                raise RelayTimeout(holder)
            return waiting[1]
        finally:
            self._waiting.pop(call_id, None)

    def listening(self, holders) -> set[str]:
        """Which of ``holders`` are listening (alive): one round trip."""
        holders = list(holders)
        if not holders:
            return set()
        counts = self.redis.pubsub_numsub(*(PREFIX + h for h in holders))
        return {name.decode().removeprefix(PREFIX) if isinstance(name, bytes)
                else name.removeprefix(PREFIX) for name, n in counts if n > 0}
