"""The consumer's DedupStore: the message ids it has processed, to discard duplicates.

Real stores bound what they remember in two ways, and both are offered: the window bounds how
many ids are kept (0 = all), and the age bounds how long one is kept (``ttl`` in simulated
milliseconds, 0 = forever). A duplicate that comes after its id was forgotten slips through. A
memory store forgets everything when the consumer crashes; a durable one survives. When an id
is recorded (with the effect, before it or after it) is the consumer's business (see
``consumer.py``).
"""

from __future__ import annotations

from collections import deque

RECENT = 10


class DedupStore:
    def __init__(self, window: int = 0, durable: bool = True, ttl: float = 0.0):
        self.window = window
        self.ttl = ttl
        self.durable = durable
        self.forgotten = 0  # ids dropped by the window or by age
        self._ids: dict[int, float] = {}  # id -> when it was recorded
        self._order: deque[int] = deque()  # record order; only the last few when unbounded

    @property
    def _bounded(self) -> bool:
        return bool(self.window or self.ttl)

    def has(self, msg: int, now: float) -> bool:
        if self.ttl:
            self.expire(now)
        return msg in self._ids

    def __contains__(self, msg: int) -> bool:
        return msg in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def record(self, msg: int, now: float) -> None:
        if self.ttl:
            self.expire(now)
        if msg in self._ids:
            return
        self._ids[msg] = now
        self._order.append(msg)
        if self.window:
            while len(self._order) > self.window:
                self._ids.pop(self._order.popleft(), None)
                self.forgotten += 1
        elif not self.ttl and len(self._order) > RECENT:
            self._order.popleft()  # unbounded: the order is kept only for the most recent few

    def expire(self, now: float) -> None:
        """Forget the ids recorded ``ttl`` ms or more before ``now``."""
        order, ids, ttl = self._order, self._ids, self.ttl
        while order and now - ids[order[0]] >= ttl:
            del ids[order.popleft()]
            self.forgotten += 1

    def resize(self, window: int, ttl: float | None = None) -> None:
        """Change the window (and the age limit); a smaller one forgets the oldest ids."""
        was_bounded = self._bounded
        if ttl is not None:
            self.ttl = ttl
        self.window = window
        if not self._bounded:
            while len(self._order) > RECENT:
                self._order.popleft()
            return
        if not was_bounded:
            # The unbounded store kept no full order: rebuild it by record time.
            self._order = deque(sorted(self._ids, key=lambda m: (self._ids[m], m)))
        if window:
            while len(self._order) > window:
                self._ids.pop(self._order.popleft(), None)
                self.forgotten += 1

    def crash(self) -> bool:
        """The consumer crashed: a memory store forgets. Returns whether ids were lost."""
        if self.durable or not self._ids:
            return False
        self._ids.clear()
        self._order.clear()
        return True

    def recent(self) -> list[int]:
        return list(self._order)[-RECENT:]
