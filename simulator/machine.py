"""State-machine ordering's model: orders with a lifecycle, and the plan that maps messages to it.

Each order goes created -> paid -> shipped -> delivered, or is cancelled after created or paid.
``Plan`` turns message ids into lifecycle events of about N/4 orders, interleaved
deterministically from the seed. ``OrderBook`` applies a lifecycle event when it is allowed,
parks one that could still become allowed, and rejects one that never can (a duplicate, or an
event after the order was cancelled or delivered).

Two designs of transition are offered. A "to-state" transition names only the state it leads
to, so ``cancelled`` applies straight from ``created`` even when it was issued after the payment:
the late ``paid`` is then rejected as impossible and its payment is lost, though the final state
is consistent. A "from-to" transition (``strict``) also names the state it leaves, so a
``cancelled`` issued after payment parks until ``paid`` has applied, and every effect is kept.
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
        self._from = array("b", [0])  # the event the message's event follows (-1: none)
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
        self._from.append(slot[1][slot[2] - 1] if slot[2] else -1)
        slot[2] += 1
        if slot[2] == len(slot[1]):
            self._active.remove(slot)


    def from_state(self, msg: int) -> str | None:
        """The state the message's event leaves, as its issuer saw it (None: a new order)."""
        self.of(msg)
        prev = self._from[msg]
        return None if prev < 0 else TRANSITIONS[prev]


EDGES = (("created", "paid"), ("paid", "shipped"), ("shipped", "delivered"),
         ("created", "cancelled"), ("paid", "cancelled"))


def entity_name(order: int) -> str:
    return f"order-{order}"


class OrderBook:
    """Current state of every order, the parked events and the counts of rejected ones."""

    def __init__(self, strict: bool = False):
        self.strict = strict  # "from-to" transitions: an event needs the state it names
        self.states: dict[int, str] = {}
        # order -> [(msg, event, cause, the state the event leaves)]
        self.parked: dict[int, list[tuple[int, int, int, str | None]]] = {}
        self.rejected_duplicates = 0
        self.rejected_impossible = 0  # legitimate transitions whose effect was lost
        self._applied: set[int] = set()  # message ids whose event applied
        self._lost: set[int] = set()  # message ids whose event was rejected as impossible

    @property
    def rejected(self) -> int:
        return self.rejected_duplicates + self.rejected_impossible

    def applied(self, msg: int) -> bool:
        return msg in self._applied

    def _needs(self, event: int, frm: str | None) -> tuple:
        return (frm,) if self.strict else NEEDS[event]

    def _may_apply_later(self, state: str | None, needs: tuple) -> bool:
        return any(s in LATER[state] for s in needs if s is not None)

    def offer(self, msg: int, order: int, event: int, frm: str | None,
              cause: int) -> list[tuple]:
        """Offer one event (``frm``: the state it leaves); return outcomes
        ``(verdict, msg, order, event, state, cause, why)``.

        The first outcome is this event's; further ones are parked events it unblocked (or
        made impossible).
        """
        state = self.states.get(order)
        waiting = self.parked.get(order, ())
        if msg in self._applied or msg in self._lost or any(p[0] == msg for p in waiting):
            self.rejected_duplicates += 1
            return [("rejected", msg, order, event, state, cause, "duplicate")]
        needs = self._needs(event, frm)
        if state in needs:
            out = [self._apply(msg, order, event, cause)]
            out.extend(self._recheck(order))
            return out
        if self._may_apply_later(state, needs):
            self.parked.setdefault(order, []).append((msg, event, cause, frm))
            return [("parked", msg, order, event, state, cause, "early")]
        self.rejected_impossible += 1
        self._lost.add(msg)
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
                msg, event, cause, frm = item
                state = self.states.get(order)
                needs = self._needs(event, frm)
                if state in needs:
                    self.parked[order].remove(item)
                    out.append(self._apply(msg, order, event, cause))
                    progress = True
                elif not self._may_apply_later(state, needs):
                    self.parked[order].remove(item)
                    self.rejected_impossible += 1
                    self._lost.add(msg)
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

    def view(self) -> dict:
        parked = [{"entity": entity_name(order), "transition": TRANSITIONS[ev], "msg": msg,
                   "waits_for": frm}
                  for order, items in self.parked.items() for msg, ev, _, frm in items]
        return {"states": {entity_name(o): s for o, s in self.states.items()},
                "parked": parked, "rejected": self.rejected,
                "rejected_duplicates": self.rejected_duplicates,
                "rejected_impossible": self.rejected_impossible,
                "transitions": "from-to" if self.strict else "to-state",
                "diagram": {"states": list(TRANSITIONS), "edges": [list(e) for e in EDGES]},
                "counts": self.final_state()}
