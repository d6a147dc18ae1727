"""The consumer node and the application behind it.

The consumer receives data packets, answers them when the semantics says (an ack after
processing, a nack on a processing failure; at-most-once never answers), discards duplicates
through the ``DedupStore`` under exactly-once, and hands the rest to the ordering strategy,
which passes them to the application. The application processes one message at a time
(``process_time``) and may fail (``process_fail``). It pays into the ``Account`` on each
processing; under state-machine ordering a message is a lifecycle event of an order instead,
offered to the ``OrderBook``, and it pays only when that transition applies (a rejected one never
pays, a parked one pays when it applies later).

Under exactly-once the dedup key and the effect are written in one transaction
(``dedup_record`` "atomic"), or as two steps ``record_gap`` apart: key "before" the effect (a
crash between loses the effect: the resend is discarded as a duplicate) or "after" it (a crash
between repeats the effect: the resend is processed again). The message stays in processing
until both are done, and is answered then.

A crash loses the reorder buffer, the message being processed, the queue before the
application and a memory dedup store. The account, the order book and the reorder buffer's
next expected number are stored with the application and survive.
"""

from __future__ import annotations

from array import array
from collections import deque

from . import events as E
from . import narrate
from .application import Account
from .dedup import DedupStore
from .machine import TRANSITIONS, OrderBook, Plan, entity_name
from .ordering import ordering_for
from .rng import PROCESS

DELIVERED = 1
PROCESSED = 2
PAID = 4  # payment #id was credited to the account


class Delivery:
    """A message the consumer received, on its way to the application."""

    __slots__ = ("msg", "seqno", "attempt", "copy", "packet", "deliver_seq", "buffer_seq",
                 "acked", "version", "step", "live")

    def __init__(self, msg, seqno, attempt, copy, packet, deliver_seq):
        self.msg = msg
        self.seqno = seqno
        self.attempt = attempt
        self.copy = copy
        self.packet = packet
        self.deliver_seq = deliver_seq
        self.buffer_seq = 0
        self.acked = False
        self.version = 0  # bumped when a crash loses it in processing
        self.step = 0  # in processing: the steps done (the key written first, or the effect)
        self.live = True  # still on its way to the application (not processed, dropped, lost)


class GapTimer:
    """The reorder buffer's gap timer as the agenda sees it: a timer is live while its number
    is the one the current ordering strategy waits for."""

    __slots__ = ("consumer",)

    def __init__(self, consumer):
        self.consumer = consumer

    @property
    def version(self) -> int | None:
        return self.consumer.ordering.gap_token()


class Consumer:
    node = "consumer"

    def __init__(self, sim):
        self.sim = sim
        cfg = sim.config
        self.up = True
        self.queue: deque[Delivery] = deque()
        self.busy: Delivery | None = None
        self.dedup = DedupStore(cfg.dedup_window, cfg.dedup_store == "durable", cfg.dedup_ttl)
        self.account = Account(cfg.operation)
        self.book = OrderBook()
        self.plan = Plan(sim.fate)
        self.book.strict = cfg.transitions == "from-to"
        self.machine_used = cfg.ordering == "state-machine"
        self.ordering = ordering_for(cfg.ordering)
        self.flags = bytearray(1024)  # per message id: DELIVERED | PROCESSED
        self.first_deliver = array("q", bytes(8 * 1024))
        self.max_delivered = 0
        self.max_processed = 0
        self.gap_timer = GapTimer(self)
        self._on_process_done = self.on_process_done
        self._on_record_after = self.on_record_after

    @property
    def semantics(self):
        return self.sim.semantics

    def emit(self, type_, lane, text, item, cause, extra=None) -> int:
        if item is None:
            return self.sim.emit(type_, lane, text, None, None, None, cause, extra)
        return self.sim.emit(type_, lane, text, item.msg, item.packet, item.attempt, cause, extra)

    def _grow(self, msg: int) -> None:
        n = len(self.flags)
        while n <= msg:
            n *= 2
        self.flags.extend(bytes(n - len(self.flags)))
        self.first_deliver.extend(array("q", bytes(8 * (n - len(self.first_deliver)))))

    # --- receiving ------------------------------------------------------------------------
    def on_data(self, pkt) -> None:
        sim = self.sim
        msg = pkt.msg
        if msg >= len(self.flags):
            self._grow(msg)
        dup = bool(self.flags[msg] & DELIVERED)
        ooo = not dup and pkt.seqno < self.max_delivered
        cause = self.first_deliver[msg] if dup else pkt.send_seq
        resend = dup and pkt.copy == 0 and pkt.attempt > 1 and \
            not self.flags[msg] & PROCESSED
        dseq = sim.record({"seq": 0, "t": sim.now, "type": E.DELIVER, "msg": msg,
                           "packet": pkt.id, "attempt": pkt.attempt, "lane": "consumer",
                           "cause": cause, "text": narrate.deliver(msg, dup, ooo, resend),
                           "kind": pkt.kind, "from": pkt.src, "to": pkt.dst, "node": "consumer",
                           "seqno": pkt.seqno, "duplicate": dup, "out_of_order": ooo})
        if ooo:
            sim.tally.arrived_out_of_order()
        if not dup:
            self.flags[msg] |= DELIVERED
            self.first_deliver[msg] = dseq
            if pkt.seqno > self.max_delivered:
                self.max_delivered = pkt.seqno
        item = pkt.item = Delivery(msg, pkt.seqno, pkt.attempt, pkt.copy, pkt.id, dseq)
        if sim.semantics.deduplicates and self.dedup.has(msg, sim.now):
            self._discard(item)
            return
        self.ordering.admit(item, self)

    def _discard(self, item: Delivery) -> None:
        item.live = False
        msg = item.msg
        processed = self.was_processed(msg)
        seq = self.emit(E.DEDUP_DISCARD, "consumer", narrate.dedup_discard(msg, processed), item,
                        item.deliver_seq, {"node": "consumer", "seqno": item.seqno})
        if processed:
            self.answer(item, seq, why="processed")
        else:  # the key was written before an effect that never happened
            self.answer(item, seq, why="discarded")
            self.sim.hindsight.copy_lost(msg, "discarded")

    def answer(self, item: Delivery, cause: int, kind: str = "ack", why: str = "") -> None:
        """Send the one answer a delivery gets (an ack, or a nack on processing failure), if the
        semantics answers at all (at-most-once does not).

        ``why`` words an ack: "" (after processing), "processed" (a copy of a message processed
        before), "skipped" (dropped unprocessed by the reorder buffer), "discarded" (its key was
        recorded, its effect never applied).
        """
        if item.acked or not self.sim.semantics.acks:
            return
        item.acked = True
        if kind == "ack":
            type_, text = E.ACK_SEND, narrate.ack_send(item.msg, why or "done")
        else:
            type_, text = E.NACK, narrate.nack(item.msg)
        pkt = self.sim.network.transmit(type_, "consumer", text, kind, item.msg, item.attempt,
                                        item.copy, "consumer", "producer", item.seqno, cause)
        if why in ("skipped", "discarded"):
            pkt.why = "skipped"  # an ack for a message that was never processed

    # --- the application --------------------------------------------------------------------
    def to_app(self, item: Delivery) -> None:
        self.queue.append(item)
        if self.busy is None:
            self._start_next()

    def _start_next(self) -> None:
        sim = self.sim
        while self.queue and self.busy is None:
            item = self.queue.popleft()
            if sim.semantics.deduplicates and self.dedup.has(item.msg, sim.now):
                self._discard(item)
                continue
            self.busy = item
            item.step = 0
            sim.schedule(sim.now + sim.config.process_time, 2, self._on_process_done, item,
                         item.version)

    def _record_mode(self) -> str | None:
        """When the dedup key is written: None (no dedup), "atomic", "before" or "after"."""
        return self.sim.config.dedup_record if self.sim.semantics.deduplicates else None

    def _record_key(self, item: Delivery, when: str, cause: int) -> int:
        sim = self.sim
        self.dedup.record(item.msg, sim.now)
        return self.emit(E.DEDUP_RECORD, "consumer",
                         narrate.dedup_record(item.msg, when, self.dedup.durable), item, cause,
                         {"node": "consumer", "seqno": item.seqno, "when": when})

    def on_process_done(self, item: Delivery, _version: int) -> None:
        sim = self.sim
        msg = item.msg
        mode = self._record_mode()
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
            seq = self.emit(E.PROCESS_FAIL, "app", narrate.process_fail(msg, nacks), item,
                            item.deliver_seq,
                            {"node": "consumer", "seqno": item.seqno,
                             "reason": "application_error"})
            if nacks:
                self.answer(item, seq, "nack")
            self.ordering.on_failed(item, self)
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
            self.dedup.record(msg, sim.now)
        self._finish(item, seq)

    def on_record_after(self, item: Delivery, _version: int) -> None:
        self._finish(item, self._record_key(item, "after", item.buffer_seq))

    def _finish(self, item: Delivery, seq: int) -> None:
        self.busy = None
        self.answer(item, seq)
        self._start_next()

    def _effect(self, item: Delivery, mode: str | None) -> int:
        """The application's effect: a payment, or the offer of a lifecycle transition."""
        sim = self.sim
        msg = item.msg
        flags = self.flags
        dup = bool(flags[msg] & PROCESSED)
        ooo = not dup and item.seqno < self.max_processed
        item.live = False
        forgot = dup and mode is not None  # deduplicating, yet the store no longer knew it
        if self.ordering.pays_on_transition:
            # The lifecycle transition pays, if it applies (offer_transition below).
            balance = self.account.balance
            order, event = self.plan.of(msg)
            text = narrate.process_transition(msg, dup, order, TRANSITIONS[event])
        else:
            balance = self.account.pay(msg, bool(flags[msg] & PAID))
            flags[msg] |= PAID
            text = narrate.process(msg, dup, balance, self.account.operation,
                                   sim.semantics.name, forgot)
        flags[msg] |= PROCESSED
        if item.seqno > self.max_processed:
            self.max_processed = item.seqno
        ev = {"seq": 0, "t": sim.now, "type": E.PROCESS, "msg": msg, "packet": item.packet,
              "attempt": item.attempt, "lane": "app", "cause": item.deliver_seq, "text": text,
              "node": "consumer", "seqno": item.seqno, "duplicate": dup, "out_of_order": ooo,
              "balance": balance}
        if mode == "atomic":
            ev["recorded"] = True
        seq = sim.record(ev)
        sim.tally.processed(dup, ooo, balance)
        self.ordering.on_processed(item, seq, self)
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
        flags = self.flags
        order, event = self.plan.of(item.msg)
        for verdict, msg, order_, ev, state, cause, why in book.offer(
                item.msg, order, event, self.plan.from_state(item.msg), process_seq):
            name = TRANSITIONS[ev]
            extra = {"node": "consumer", "entity": entity_name(order_), "transition": name,
                     "state": state}
            if verdict == "applied":
                paid_before = bool(flags[msg] & PAID)
                before = self.account.balance
                balance = self.account.pay(msg, paid_before)
                flags[msg] |= PAID
                extra["balance"] = balance
                sim.tally.paid(balance)
                text = narrate.transition_applied(order_, name, msg, balance, balance > before,
                                                  msg != item.msg)
                type_ = E.TRANSITION_APPLIED
            elif verdict == "parked":
                text = narrate.transition_parked(order_, name, state)
                type_ = E.TRANSITION_PARKED
            else:
                copy_of = "parked" if any(p[0] == msg for p in book.parked.get(order_, ())) \
                    else "applied" if book.applied(msg) else "rejected"
                text = narrate.transition_rejected(order_, name, state, why, copy_of)
                type_ = E.TRANSITION_REJECTED
                if why == "impossible":
                    extra["lost_effect"] = True  # a real transition: its payment is lost
                sim.tally.bump("rejected_duplicates" if why == "duplicate"
                               else "rejected_impossible")
            if why:
                extra["reason"] = why
            sim.emit(type_, "app", text, msg, item.packet if msg == item.msg else None,
                     item.attempt if msg == item.msg else None, cause, extra)

    # --- ordering timers and switches --------------------------------------------------------
    def arm_gap_timer(self) -> int:
        return self.sim.arm_timer(self.sim.config.gap_timeout, self.on_gap_timer, self.gap_timer)

    def on_gap_timer(self, _timer: GapTimer, token: int) -> None:
        self.ordering.on_gap_timer(token, self)

    def first_unprocessed(self) -> int:
        limit = min(self.sim.producer.next_msg, len(self.flags))
        for msg in range(1, limit):
            if not self.flags[msg] & PROCESSED:
                return msg
        return max(1, limit)

    def switch_ordering(self, name: str) -> None:
        self.ordering.flush(self)
        expected = self.first_unprocessed() if name == "sequence" else 1
        self.ordering = ordering_for(name, expected)
        if name == "state-machine":
            self.machine_used = True

    # --- crash and restart ------------------------------------------------------------------
    def crash(self) -> tuple[list[str], list[str]]:
        """Lose what lives in memory; return what was lost and what that means, in words."""
        self.up = False
        lost = []
        notes = []
        gone = list(self.queue)
        busy = self.busy
        if busy is not None:
            gone.insert(0, busy)
            lost.append(f"message {busy.msg} in processing")
            if busy.step:  # inside the window between the dedup key and the effect
                notes.append(narrate.crash_in_window(busy.msg, self.sim.config.dedup_record,
                                                     self.dedup.durable))
            busy.version += 1  # its processing never finishes
            self.busy = None
        if self.queue:
            lost.append(f"{narrate.count(len(self.queue), 'message')} queued for the "
                        "application")
            self.queue.clear()
        held = self.ordering.view()["held"]
        for item in gone:
            item.live = False
        for msg in held:
            self.ordering.held_item(msg).live = False
        back_to = self.ordering.crash([item.seqno for item in gone], self)
        if held:
            lost.append(f"{narrate.count(len(held), 'message')} held in the reorder buffer")
        if self.dedup.crash():
            lost.append("its in-memory dedup store")
        if back_to is not None:
            notes.append(narrate.reorder_back_to(back_to))
        hindsight = self.sim.hindsight
        for msg in [item.msg for item in gone] + held:  # message ids equal sequence numbers
            hindsight.copy_lost(msg, "crash")
        return lost, notes

    def holding(self) -> list[int]:
        """Ids of the messages the consumer holds now: reorder buffer, queue, in processing."""
        ids = [item.msg for item in self.queue]
        if self.busy is not None:
            ids.append(self.busy.msg)
        ids.extend(self.ordering.view()["held"])  # message ids equal sequence numbers
        return ids

    def in_app(self, msg: int) -> bool:
        """Whether a copy of ``msg`` waits for the application or is being processed."""
        if self.busy is not None and self.busy.msg == msg:
            return True
        return any(item.msg == msg for item in self.queue)

    def was_processed(self, msg: int) -> bool:
        return msg < len(self.flags) and bool(self.flags[msg] & PROCESSED)

    def restart(self) -> None:
        self.up = True

    def view(self) -> dict:
        book = self.book
        dedup = self.dedup
        if dedup.ttl:
            dedup.expire(self.sim.now)
        return {
            "crashed": not self.up,
            "reorder": self.ordering.view(),
            "dedup": {"size": len(dedup), "window": dedup.window, "ttl": dedup.ttl,
                      "store": "durable" if dedup.durable else "memory",
                      "record": self.sim.config.dedup_record, "forgotten": dedup.forgotten,
                      "recent": dedup.recent()},
            "machine": book.view(),
        }
