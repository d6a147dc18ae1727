"""The consumer node: it receives, deduplicates, orders, answers, and crashes.

The consumer receives data packets, answers them when the semantics says (an ack after
processing, a nack on a processing failure; at-most-once never answers), discards duplicates
through the ``DedupStore`` under exactly-once, and hands the rest to the ordering strategy,
which passes them to the application behind it (``application.py``: its processing queue, the
account and the order book, and when the dedup key is written).

A crash loses the reorder buffer, the message being processed, the queue before the
application and a memory dedup store. The account, the order book and the reorder buffer's
next expected number are stored with the application and survive.
"""

from __future__ import annotations

from array import array

from . import narrate
from .application import PROCESSED, Application
from .dedup import DedupStore
from .ordering import ordering_for

DELIVERED = 1  # per message id, in ``flags``; the application adds PROCESSED and PAID
_new = object.__new__


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
        self.dedup = DedupStore(cfg.dedup_window, cfg.dedup_store == "durable", cfg.dedup_ttl)
        self.ordering = ordering_for(cfg.ordering)
        self.flags = bytearray(1024)  # per message id: DELIVERED | PROCESSED
        self.first_deliver = array("q", bytes(8 * 1024))
        self.max_delivered = 0
        self.max_processed = 0
        self.gap_timer = GapTimer(self)
        self.app = Application(sim, self)

    @property
    def semantics(self):
        return self.sim.semantics

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
        dseq = sim.build.deliver(sim, pkt, cause, dup, ooo, resend)
        if not dup:
            self.flags[msg] |= DELIVERED
            self.first_deliver[msg] = dseq
            if pkt.seqno > self.max_delivered:
                self.max_delivered = pkt.seqno
        # Delivery(msg, pkt.seqno, pkt.attempt, pkt.copy, pkt.id, dseq), spelled out: a
        # constructor call costs a third of making it, and every arrival makes one
        item = pkt.item = _new(Delivery)
        item.msg = msg
        item.seqno = pkt.seqno
        item.attempt = pkt.attempt
        item.copy = pkt.copy
        item.packet = pkt.id
        item.deliver_seq = dseq
        item.buffer_seq = item.version = item.step = 0
        item.acked = False
        item.live = True
        if sim.semantics.deduplicates and self.dedup.has(msg, sim.now):
            self.discard(item)
            return
        self.ordering.admit(item, self)

    def discard(self, item: Delivery) -> None:
        item.live = False
        msg = item.msg
        processed = self.was_processed(msg)
        seq = self.sim.build.dedup_discard(self.sim, item, processed)
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
        builders = self.sim.build
        build = builders.ack_send if kind == "ack" else builders.nack
        pkt = self.sim.network.put(build, why or "done", kind, item.msg, item.attempt, item.copy,
                                   "consumer", "producer", item.seqno, cause)
        if why in ("skipped", "discarded"):
            pkt.why = "skipped"  # an ack for a message that was never processed

    # --- the application (application.py) ------------------------------------------------------
    def to_app(self, item: Delivery) -> None:
        self.app.to_app(item)

    def requeue_after(self, seqno: int) -> list[Delivery]:
        return self.app.requeue_after(seqno)

    def offer_transition(self, item: Delivery, process_seq: int) -> None:
        self.app.offer_transition(item, process_seq)

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
            self.app.machine_used = True

    # --- crash and restart ------------------------------------------------------------------
    def crash(self) -> tuple[list[str], list[str]]:
        """Lose what lives in memory; return what was lost and what that means, in words."""
        self.up = False
        lost = []
        notes = []
        busy = self.app.busy
        gone = self.app.lose_memory()
        if busy is not None:
            lost.append(f"message {busy.msg} in processing")
            if busy.step:  # inside the window between the dedup key and the effect
                notes.append(narrate.crash_in_window(busy.msg, self.sim.config.dedup_record,
                                                     self.dedup.durable))
        queued = len(gone) - (busy is not None)
        if queued:
            lost.append(f"{narrate.count(queued, 'message')} queued for the application")
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
        ids = self.app.holds()
        ids.extend(self.ordering.view()["held"])  # message ids equal sequence numbers
        return ids

    def in_app(self, msg: int) -> bool:
        return self.app.in_app(msg)

    def was_processed(self, msg: int) -> bool:
        return msg < len(self.flags) and bool(self.flags[msg] & PROCESSED)

    def restart(self) -> None:
        self.up = True

    on_packet = on_data  # the node's part (protocol.NodeBehaviour)

    def after_crash(self, crash_seq: int) -> None:
        pass

    def view(self) -> dict:
        book = self.app.book
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
