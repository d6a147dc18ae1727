"""Checkpoints: copies of a run taken as it goes, so an earlier point is rebuilt by replaying
only from the nearest copy before it, not from t = 0.

A copy is taken every ``every`` events (at the first quiet moment after), and at most ``keep``
are kept: when more would be, every other one is dropped and the spacing doubles, so a run of any
length keeps a bounded number spread over its whole length. Copies hold no history of events,
only the state of the run (what is in flight, the producer's and consumer's state, the counters),
so each is usually small; each is kept as bytes (``Simulation.frozen``), not as objects, so the
garbage collector never walks them (a run's objects by the thousand, kept for every session,
would lengthen every full collection, a pause every stream feels). A copy costs time in
proportion to that state, so a run whose state is large (a retry storm with thousands of
messages waiting) is copied less often: at least ``SPACING`` events per unit of
``Simulation.weight()`` between two copies, which keeps copying to a small share of the run's
own work.
"""

from __future__ import annotations

import pickle
from bisect import bisect_right

SPACING = 20  # events between two copies, at least, per unit of the run's weight


class Checkpoints:
    def __init__(self, every: int = 2000, keep: int = 16, spacing: int = SPACING):
        self.every = every
        self.keep = keep
        self.spacing = spacing
        self._seqs: list[int] = []
        self._copies: list = []

    def __len__(self) -> int:
        return len(self._seqs)

    def offer(self, sim) -> bool:
        """Take a copy of ``sim`` if one is due; whether one was taken."""
        last = self._seqs[-1] if self._seqs else 0
        made = sim.seq - last
        if made < self.every or sim._backlog or made < self.spacing * sim.weight():
            return False
        self._seqs.append(sim.seq)
        self._copies.append(sim.frozen())
        if len(self._seqs) > self.keep:
            self._seqs = self._seqs[1::2]
            self._copies = self._copies[1::2]
            self.every *= 2
        return True

    def copy(self) -> Checkpoints:
        """An independent set holding the same copies (bytes are shared, never changed)."""
        other = Checkpoints(self.every, self.keep, self.spacing)
        other._seqs = list(self._seqs)
        other._copies = list(self._copies)
        return other

    def before(self, seq: int):
        """A fresh copy of the latest checkpoint at or before ``seq`` (None if there is none);
        the kept one stays untouched, to serve again."""
        i = bisect_right(self._seqs, seq)
        return pickle.loads(self._copies[i - 1]) if i else None

    def frozen_before(self, seq: int) -> bytes | None:
        """The latest checkpoint at or before ``seq`` as it is kept (bytes: ``pickle.loads``
        gives a fresh copy), to hand to another process; None if there is none."""
        i = bisect_right(self._seqs, seq)
        return self._copies[i - 1] if i else None

    def drop_after(self, seq: int) -> None:
        """The run was rebuilt at ``seq`` (a step back): later copies belong to a future that
        will not happen now."""
        i = bisect_right(self._seqs, seq)
        del self._seqs[i:]
        del self._copies[i:]
