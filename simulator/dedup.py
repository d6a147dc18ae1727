"""The consumer's DedupStore: the message ids it has processed, to discard duplicates.

The window bounds how many ids are remembered (0 = all), so old duplicates slip through a finite
window. A memory store forgets everything when the consumer crashes; a durable one survives.
An id is recorded only after the message was processed successfully.
"""

from __future__ import annotations

from collections import deque

RECENT = 10


class DedupStore:
    def __init__(self, window: int = 0, durable: bool = True):
        self.window = window
        self.durable = durable
        self._ids: set[int] = set()
        self._order: deque[int] = deque()  # insertion order, for a finite window

    def __contains__(self, msg: int) -> bool:
        return msg in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def record(self, msg: int) -> None:
        if msg in self._ids:
            return
        self._ids.add(msg)
        if self.window:
            self._order.append(msg)
            while len(self._order) > self.window:
                self._ids.discard(self._order.popleft())
        else:  # unbounded: the order is kept only for the most recent few
            self._order.append(msg)
            if len(self._order) > RECENT:
                self._order.popleft()

    def resize(self, window: int) -> None:
        """Change the window; a smaller one forgets the oldest ids."""
        if window == self.window:
            return
        if window == 0:
            self.window = 0
            while len(self._order) > RECENT:
                self._order.popleft()
            return
        if self.window == 0:
            # The unbounded store kept no full order: keep the highest ids (the newest).
            keep = sorted(self._ids)[-window:]
            self._ids = set(keep)
            self._order = deque(keep)
        self.window = window
        while len(self._order) > window:
            self._ids.discard(self._order.popleft())

    def crash(self) -> bool:
        """The consumer crashed: a memory store forgets. Returns whether ids were lost."""
        if self.durable or not self._ids:
            return False
        self._ids.clear()
        self._order.clear()
        return True

    def recent(self) -> list[int]:
        return list(self._order)[-RECENT:]
