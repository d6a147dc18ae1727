"""The application behind the consumer: its processing, and the account each message pays into.

``Application`` processes one message at a time (``process_time``) and may fail it
(``process_fail``). Each processing pays 10 into the ``Account``: with the "add" operation every
payment credits it, so a duplicate over-credits; with "idempotent" payment #id is applied once.
Under state-machine ordering a message is a lifecycle event of an order instead, offered to the
``OrderBook``, and it pays only when that transition applies (a rejected one never pays, a parked
one pays when it applies later). Under exactly-once the dedup key and the effect are written in
one transaction (``dedup_record`` "atomic"), or as two steps ``record_gap`` apart: key "before"
the effect (a crash between loses the effect: the resend is discarded as a duplicate) or "after"
it (a crash between repeats the effect: the resend is processed again). The message stays in
processing until both are done, and is answered then. The account and the order book are a
database: they survive a consumer crash.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .machine import TRANSITIONS, OrderBook, Plan, entity_name
from .rng import PROCESS

if TYPE_CHECKING:
    from .consumer import Delivery

PAYMENT = 10
# Per message id, in the consumer's flags (DELIVERED is the consumer's own bit).
PROCESSED = 2
PAID = 4  # payment #id was credited to the account


class Account:
    def __init__(self, operation: str = "add"):
        self.operation = operation
        self.balance = 0

    def pay(self, msg: int, paid_before: bool) -> int:
        """Apply the payment carried by message ``msg``; return the balance after it.

        ``paid_before`` says whether payment #msg was processed before (the application keeps
        that record with the account).
        """
        if self.operation == "add" or not paid_before:
            self.balance += PAYMENT
        return self.balance


def expected_balance(distinct_sent: int) -> int:
    return PAYMENT * distinct_sent


class Application:
    """The application behind the consumer: it takes delivered messages one at a time from its
    queue, spends ``process_time`` on each, may fail it, applies its effect (a payment into the
    ``Account``, or, under state-machine ordering, the offer of a lifecycle transition to the
    ``OrderBook``), writes the dedup key with the effect or as a step of its own, and has the
    consumer answer. Its account and order book are its database: they survive a crash; its
    queue and the message in hand do not (``lose_memory``)."""

    def __init__(self, sim, host):
        cfg = sim.config
        self.sim = sim
        self.host = host  # the consumer: flags, dedup store, answers, ordering strategy
        self.queue: deque = deque()
        self.busy = None
        self.account = Account(cfg.operation)
        self.book = OrderBook(strict=cfg.transitions == "from-to")
        self.plan = Plan(sim.fate)
        self.machine_used = cfg.ordering == "state-machine"
        self._on_process_done = self.on_process_done
        self._on_record_after = self.on_record_after

    def to_app(self, item: Delivery) -> None:
        self.queue.append(item)
        if self.busy is None:
            self._start_next()

    def _start_next(self) -> None:
        sim = self.sim
        while self.queue and self.busy is None:
            item = self.queue.popleft()
            if sim.semantics.deduplicates and self.host.dedup.has(item.msg, sim.now):
                self.host.discard(item)
                continue
            self.busy = item
            item.step = 0
            sim.schedule(sim.now + sim.config.process_time, 2, self._on_process_done, item,
                         item.version)

    def _record_key(self, item: Delivery, when: str, cause: int) -> int:
        sim = self.sim
        self.host.dedup.record(item.msg, sim.now)
        return sim.build.dedup_record(sim, item, when, cause, self.host.dedup.durable)

    def on_process_done(self, item: Delivery, _version: int) -> None:
        sim = self.sim
        msg = item.msg
        # When the dedup key is written: None (no dedup), "atomic", "before" or "after".
        mode = sim.config.dedup_record if sim.semantics.deduplicates else None
        if mode == "before" and item.step == 0:
            # Step one of two: the key is written; the effect follows record_gap later.
            item.step = 1
            item.buffer_seq = self._record_key(item, "before", item.deliver_seq)
            sim.schedule(sim.now + sim.config.record_gap, 2, self._on_process_done, item,
                         item.version)
            return
        p_fail = sim.config.process_fail
        if p_fail > 0 and sim.fate.uniform(msg, item.attempt, item.copy,
                                           purpose=PROCESS) < p_fail:
            self.busy = None
            item.live = False
            nacks = sim.semantics.nacks
            seq = sim.build.process_fail(sim, item, nacks)
            if nacks:
                self.host.answer(item, seq, "nack")
            self.host.ordering.on_failed(item, self.host)
            sim.hindsight.copy_lost(msg, "failed")
            self._start_next()
            return
        seq = self._effect(item, mode)
        if mode == "after":
            # Step one of two: the effect is applied; the key follows record_gap later.
            item.step = 1
            item.buffer_seq = seq
            sim.schedule(sim.now + sim.config.record_gap, 2, self._on_record_after, item,
                         item.version)
            return
        if mode == "atomic":
            self.host.dedup.record(msg, sim.now)
        self._finish(item, seq)

    def on_record_after(self, item: Delivery, _version: int) -> None:
        self._finish(item, self._record_key(item, "after", item.buffer_seq))

    def _finish(self, item: Delivery, seq: int) -> None:
        self.busy = None
        self.host.answer(item, seq)
        self._start_next()

    def _effect(self, item: Delivery, mode: str | None) -> int:
        """The application's effect: a payment, or the offer of a lifecycle transition."""
        sim = self.sim
        msg = item.msg
        flags = self.host.flags
        dup = bool(flags[msg] & PROCESSED)
        ooo = not dup and item.seqno < self.host.max_processed
        item.live = False
        forgot = dup and mode is not None  # deduplicating, yet the store no longer knew it
        transition = None
        if self.host.ordering.pays_on_transition:
            # The lifecycle transition pays, if it applies (offer_transition below).
            balance = self.account.balance
            order, event = self.plan.of(msg)
            transition = (order, TRANSITIONS[event])
        else:
            balance = self.account.pay(msg, bool(flags[msg] & PAID))
            flags[msg] |= PAID
        flags[msg] |= PROCESSED
        if item.seqno > self.host.max_processed:
            self.host.max_processed = item.seqno
        seq = sim.build.process(sim, item, dup, ooo, balance, mode == "atomic",
                                self.account.operation, sim.semantics.name, forgot, transition)
        self.host.ordering.on_processed(item, seq, self.host)
        if sim.hindsight.waiting:
            sim.hindsight.settle(msg)
        return seq

    def requeue_after(self, seqno: int) -> list[Delivery]:
        """Take back from the application's queue the messages numbered after ``seqno``."""
        back = [it for it in self.queue if it.seqno > seqno]
        if back:
            self.queue = deque(it for it in self.queue if it.seqno <= seqno)
        return back

    def offer_transition(self, item: Delivery, process_seq: int) -> None:
        """Offer the processed message's lifecycle event; an applied transition pays (a parked
        one it unblocked pays as it applies), a rejected or parked one pays nothing."""
        self.machine_used = True
        sim = self.sim
        book = self.book
        flags = self.host.flags
        order, event = self.plan.of(item.msg)
        for verdict, msg, order_, ev, state, cause, why in book.offer(
                item.msg, order, event, self.plan.from_state(item.msg), process_seq):
            name = TRANSITIONS[ev]
            entity = entity_name(order_)
            if verdict == "applied":
                paid_before = bool(flags[msg] & PAID)
                before = self.account.balance
                balance = self.account.pay(msg, paid_before)
                flags[msg] |= PAID
                sim.build.transition_applied(sim, msg, item, cause, order_, entity, name, state,
                                             balance, balance > before)
            elif verdict == "parked":
                sim.build.transition_parked(sim, msg, item, cause, order_, entity, name, state, why)
            else:
                copy_of = "parked" if any(p[0] == msg for p in book.parked.get(order_, ())) \
                    else "applied" if book.applied(msg) else "rejected"
                # an impossible one was a real transition: its payment is lost
                sim.build.transition_rejected(sim, msg, item, cause, order_, entity, name, state,
                                              why, copy_of)

    def lose_memory(self) -> list:
        """A crash: the message in hand and the queue are gone (in that order); return them."""
        gone = list(self.queue)
        busy = self.busy
        if busy is not None:
            gone.insert(0, busy)
            busy.version += 1  # its processing never finishes
            self.busy = None
        self.queue.clear()
        return gone

    def holds(self) -> list[int]:
        ids = [item.msg for item in self.queue]
        if self.busy is not None:
            ids.append(self.busy.msg)
        return ids

    def in_app(self, msg: int) -> bool:
        """Whether a copy of ``msg`` waits for the application or is being processed."""
        if self.busy is not None and self.busy.msg == msg:
            return True
        return any(item.msg == msg for item in self.queue)
