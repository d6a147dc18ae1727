"""The run's counters, kept in step with the events handed out (so they agree with the stream).

The simulation counts each event's type as it makes it, and the consumer notes what a
``deliver``, ``process`` or ``transition_applied`` event says (``arrived_out_of_order``,
``processed``, ``paid``). Events a replay holds back are taken back (``remove``) and counted again
(``add``) when they are handed out.
"""

from __future__ import annotations

from . import events as E
from .application import PAYMENT

# The events that carry the account balance (after them).
BALANCE_EVENTS = (E.PROCESS, E.TRANSITION_APPLIED)

# Counters that depend on an event's fields, not only its type.
DERIVED = ("timeouts_processed", "timeouts_lost", "timeouts_late", "false_done",
           "rejected_duplicates", "rejected_impossible", "network_copies_data",
           "network_copies_ack")


def derived_key(ev: dict) -> str | None:
    """The field-dependent counter an event adds to, if any."""
    t = ev["type"]
    if t == E.TIMEOUT_EXPLAINED:
        return "timeouts_" + ev["verdict"]
    if t == E.NET_DUPLICATE:
        return "network_copies_data" if ev["kind"] == "data" else "network_copies_ack"
    if t == E.TRANSITION_REJECTED:
        return "rejected_duplicates" if ev.get("reason") == "duplicate" else \
            "rejected_impossible"
    if t == E.ACK_DELIVER and ev.get("false_done"):
        return "false_done"
    return None


class Tally:
    def __init__(self, event_types: tuple[str, ...] = E.EVENT_TYPES):
        self.counts: dict[str, int] = dict.fromkeys(event_types, 0)
        self.processed_unique = 0
        self.ooo_arrivals = 0
        self.ooo_processed = 0
        self.balance = 0  # the balance of the last process or transition_applied
        self.derived: dict[str, int] = dict.fromkeys(DERIVED, 0)
        self._marked = 0

    def note(self, ev: dict) -> None:
        """Count a field-dependent event as it is made (see ``derived_key``)."""
        key = derived_key(ev)
        if key is not None:
            self.derived[key] += 1

    def bump(self, key: str) -> None:
        self.derived[key] += 1

    def arrived_out_of_order(self) -> None:
        """A ``deliver`` event with ``out_of_order`` was made."""
        self.ooo_arrivals += 1

    def processed(self, duplicate: bool, out_of_order: bool, balance: int) -> None:
        """A ``process`` event was made (its type is counted by the simulation)."""
        if not duplicate:
            self.processed_unique += 1
        if out_of_order:
            self.ooo_processed += 1
        self.balance = balance

    def paid(self, balance: int) -> None:
        """A ``transition_applied`` event was made (state-machine ordering pays there)."""
        self.balance = balance

    def mark(self) -> None:
        """A batch of events that may be held back in part is about to be made."""
        self._marked = self.balance

    def add(self, events: list[dict]) -> None:
        counts = self.counts
        for ev in events:
            t = ev["type"]
            counts[t] = counts.get(t, 0) + 1
            self.note(ev)
            # (another protocol's event of the same name may lack these fields)
            if t == "process":
                if not ev.get("duplicate"):
                    self.processed_unique += 1
                if ev.get("out_of_order"):
                    self.ooo_processed += 1
                self.balance = ev.get("balance", self.balance)
            elif t == E.TRANSITION_APPLIED:
                self.balance = ev.get("balance", self.balance)
            elif t == "deliver" and ev.get("out_of_order"):
                self.ooo_arrivals += 1

    def remove(self, kept: list[dict], events: list[dict]) -> None:
        """Take back ``events``, the tail of the batch made since ``mark`` (a replay that stops
        inside a happening); ``kept`` are that batch's events handed out before them."""
        for ev in events:
            t = ev["type"]
            self.counts[t] -= 1
            key = derived_key(ev)
            if key is not None:
                self.derived[key] -= 1
            if t == "process":
                if not ev.get("duplicate"):
                    self.processed_unique -= 1
                if ev.get("out_of_order"):
                    self.ooo_processed -= 1
            elif t == "deliver" and ev.get("out_of_order"):
                self.ooo_arrivals -= 1
        balance = self._marked
        for ev in kept:
            if ev["type"] in BALANCE_EVENTS:
                balance = ev.get("balance", balance)
        self.balance = balance

    def expected_balance(self) -> int:
        return PAYMENT * self.counts[E.SEND]

    def summary(self, sim) -> dict:
        c = self.counts
        d = self.derived
        sent = c[E.SEND]
        processed = c[E.PROCESS]
        in_play = sim.in_play()
        out = {
            "sent": sent,
            "transmissions": sent + c[E.RETRY],
            "retries": c[E.RETRY],
            "timeouts": c[E.TIMEOUT],
            "timeouts_processed": d["timeouts_processed"],
            "timeouts_lost": d["timeouts_lost"],
            "timeouts_late": d["timeouts_late"],
            "timeouts_unknown": c[E.TIMEOUT] - c[E.TIMEOUT_EXPLAINED],
            "dropped": c[E.DROP],
            "acks_sent": c[E.ACK_SEND],
            "acks_dropped": c[E.ACK_DROP],
            "network_duplicates": c[E.NET_DUPLICATE],
            "network_copies_data": d["network_copies_data"],
            "network_copies_ack": d["network_copies_ack"],
            "delivered": c[E.DELIVER],
            "processed": processed,
            "processed_unique": self.processed_unique,
            "nacks": c[E.NACK],
            "lost": sent - self.processed_unique - in_play,
            "in_play": in_play,
            "duplicates": processed - self.processed_unique,
            "discarded_duplicates": c[E.DEDUP_DISCARD],
            "out_of_order_arrivals": self.ooo_arrivals,
            "out_of_order_processed": self.ooo_processed,
            "events": sim.seq,
            "expected_balance": self.expected_balance(),
            "balance": self.balance,
            "gave_up": c[E.GIVE_UP],
            "dead_lettered": c[E.DEAD_LETTER],
            "false_done": d["false_done"],
            "dedup_records": c[E.DEDUP_RECORD],
            "process_failures": c[E.PROCESS_FAIL],
            "stale_drops": c[E.STALE_DROP],
            "gap_skips": c[E.GAP_SKIP],
        }
        consumer = sim.consumer
        if consumer.app.machine_used:
            out["final_state"] = consumer.app.book.final_state()
            out["parked"] = consumer.app.book.parked_count()
            out["applied"] = c[E.TRANSITION_APPLIED]
            out["rejected"] = c[E.TRANSITION_REJECTED]
            out["rejected_duplicates"] = d["rejected_duplicates"]
            out["rejected_impossible"] = d["rejected_impossible"]
            out["effects_lost"] = PAYMENT * d["rejected_impossible"]
        return out
