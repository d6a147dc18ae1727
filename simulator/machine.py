"""State-machine ordering's model: orders with a lifecycle, and the plan that maps messages to it.

Each order goes created -> paid -> shipped -> delivered, or is cancelled after created or paid.
``Plan`` turns message ids into lifecycle events of about N/4 orders, interleaved
deterministically from the seed. ``OrderBook`` applies a lifecycle event when it is allowed,
parks one that could still become allowed, and rejects one that never can (a duplicate, or an
event after the order was cancelled or delivered).
"""

from __future__ import annotations

from array import array

from .rng import LIFECYCLE, PLAN, Fate

TRANSITIONS = ("created", "paid", "shipped", "delivered", "cancelled")
FULL = (0, 1, 2, 3)
CANCEL_AFTER_PAY = (0, 1, 4)
CANCEL_AT_ONCE = (0, 4)

# The state an event needs before it applies (None: the order does not exist yet).
NEEDS = {0: (None,), 1: ("created",), 2: ("paid",), 3: ("shipped",), 4: ("created", "paid")}
# States reachable later from a state.
LATER = {
    None: {"created", "paid", "shipped", "delivered", "cancelled"},
    "created": {"paid", "shipped", "delivered", "cancelled"},
    "paid": {"shipped", "delivered", "cancelled"},
    "shipped": {"delivered"},
    "delivered": set(),
    "cancelled": set(),
}
ACTIVE = 4  # orders in progress at once: their events interleave


class Plan:
    """Message id -> (order number, event code); computed lazily and cached compactly."""

    def __init__(self, fate: Fate):
        self._fate = fate
        self._entity = array("l", [0])  # index 0 unused: message ids start at 1
        self._event = array("b", [0])
        self._active: list[list] = []  # [order number, lifecycle, next index]
        self._orders = 0

    def of(self, msg: int) -> tuple[int, int]:
        while len(self._entity) <= msg:
            self._extend()
        return self._entity[msg], self._event[msg]

    def _extend(self) -> None:
        msg = len(self._entity)
        pick, _, _, _ = self._fate.draws(msg, purpose=PLAN)
        if len(self._active) < ACTIVE:
            self._orders += 1
            r = self._fate.uniform(self._orders, purpose=LIFECYCLE)
            life = FULL if r < 0.7 else CANCEL_AFTER_PAY if r < 0.85 else CANCEL_AT_ONCE
            self._active.append([self._orders, life, 0])
            slot = self._active[-1]
        else:
            slot = self._active[int(pick * len(self._active))]
        self._entity.append(slot[0])
        self._event.append(slot[1][slot[2]])
        slot[2] += 1
        if slot[2] == len(slot[1]):
            self._active.remove(slot)


def entity_name(order: int) -> str:
    return f"order-{order}"


class OrderBook:
    """Current state of every order, the parked events and the count of rejected ones."""

    def __init__(self):
        self.states: dict[int, str] = {}
        self.parked: dict[int, list[tuple[int, int, int]]] = {}  # order -> [(msg, event, cause)]
        self.rejected = 0
        self._applied: set[int] = set()  # message ids whose event applied

    def offer(self, msg: int, order: int, event: int, cause: int) -> list[tuple]:
        """Offer one event; return outcomes ``(verdict, msg, order, event, state, cause, why)``.

        The first outcome is this event's; further ones are parked events it unblocked (or
        made impossible).
        """
        state = self.states.get(order)
        waiting = self.parked.get(order, ())
        if msg in self._applied or any(m == msg for m, _, _ in waiting):
            self.rejected += 1
            return [("rejected", msg, order, event, state, cause, "duplicate")]
        if state in NEEDS[event]:
            out = [self._apply(msg, order, event, cause)]
            out.extend(self._recheck(order))
            return out
        if any(s in LATER[state] for s in NEEDS[event] if s is not None):
            self.parked.setdefault(order, []).append((msg, event, cause))
            return [("parked", msg, order, event, state, cause, "early")]
        self.rejected += 1
        return [("rejected", msg, order, event, state, cause, "impossible")]

    def _apply(self, msg: int, order: int, event: int, cause: int) -> tuple:
        state = TRANSITIONS[event]
        self.states[order] = state
        self._applied.add(msg)
        return ("applied", msg, order, event, state, cause, None)

    def _recheck(self, order: int) -> list[tuple]:
        out = []
        progress = True
        while progress and self.parked.get(order):
            progress = False
            for item in list(self.parked[order]):
                msg, event, cause = item
                state = self.states.get(order)
                if state in NEEDS[event]:
                    self.parked[order].remove(item)
                    out.append(self._apply(msg, order, event, cause))
                    progress = True
                elif not any(s in LATER[state] for s in NEEDS[event] if s is not None):
                    self.parked[order].remove(item)
                    self.rejected += 1
                    out.append(("rejected", msg, order, event, state, cause, "impossible"))
        if order in self.parked and not self.parked[order]:
            del self.parked[order]
        return out

    def parked_count(self) -> int:
        return sum(len(v) for v in self.parked.values())

    def final_state(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for state in self.states.values():
            out[state] = out.get(state, 0) + 1
        return out
