"""The observer's hindsight on the producer's timeouts.

A timeout tells the producer only that no answer came in time: the message may have been
processed (its answer lost or slow), lost on the way, or still be on its way or waiting in the
consumer. The producer cannot tell; an observer who sees the whole run can, once the truth is
known. Events already sent never change, so the truth arrives as an event of its own,
``timeout_explained``, naming the timeout it explains (its ``cause`` and ``timeout`` fields):

- verdict ``processed``: the message had been processed when the timer fired; its answer was
  lost (``answer_lost``) or still on its way (``answer_slow``). Known at the timeout.
- verdict ``lost``: nothing sent up to the timed-out attempt was ever processed: dropped on the
  way (``dropped``), lost in a crash (``crash``), skipped by the reorder buffer (``skipped``) or
  failed by the application (``failed``). Known when the last such copy is gone.
- verdict ``late``: at the timeout a copy was still travelling (``on_its_way``) or waiting in the
  consumer (``waiting``), and it was processed after. Known when it is processed.

Until then the timeout is "still unknown". The producer never sees these events.
"""

from __future__ import annotations


class Hindsight:
    def __init__(self, sim):
        self.sim = sim
        # msg -> [(timeout seq, attempt, where a copy was at the timeout, the data packets sent
        # up to that attempt)], awaiting the truth
        self.waiting: dict[int, list[tuple[int, int, str, list]]] = {}
        self.loss: dict[int, str] = {}  # msg -> how its last copy was lost, while it matters

    def timed_out(self, msg: int, attempt: int, seq: int, packets: list) -> None:
        """The producer's wait for ``attempt`` of ``msg`` ended without an answer (event
        ``seq``); ``packets`` are the data packets it sent of ``msg`` so far."""
        sim = self.sim
        consumer = sim.consumer
        if consumer.was_processed(msg):
            slow = any(p.msg == msg and p.kind != "data" for p in sim.network.inflight.values())
            self._explain(msg, attempt, seq, "processed", "answer_slow" if slow else "answer_lost")
            return
        packets = list(packets)
        where = self._where(packets)
        if where is None:
            self._explain(msg, attempt, seq, "lost", self.loss.get(msg, "dropped"))
        else:
            self.waiting.setdefault(msg, []).append((seq, attempt, where, packets))

    def copy_lost(self, msg: int, how: str) -> None:
        """A copy of ``msg`` is gone unprocessed: ``dropped``, ``crash``, ``skipped``,
        ``failed`` or ``discarded``."""
        if msg in self.sim.producer.pending or msg in self.waiting:
            self.loss[msg] = how
            if msg in self.waiting:
                self.settle(msg)

    def settle(self, msg: int) -> None:
        """Something happened to ``msg``: explain every waiting timeout whose truth is known."""
        entries = self.waiting.get(msg)
        if not entries:
            return
        processed = self.sim.consumer.was_processed(msg)
        keep = []
        for entry in entries:
            seq, attempt, where, packets = entry
            if processed:
                self._explain(msg, attempt, seq, "late", where)
            elif self._where(packets) is None:
                self._explain(msg, attempt, seq, "lost", self.loss.get(msg, "dropped"))
            else:
                keep.append(entry)
        if keep:
            self.waiting[msg] = keep
        else:
            del self.waiting[msg]
            if msg not in self.sim.producer.pending:
                self.loss.pop(msg, None)

    def forget(self, msg: int) -> None:
        """The producer stopped waiting for ``msg``; keep what a waiting timeout still needs."""
        if msg not in self.waiting:
            self.loss.pop(msg, None)

    def _where(self, packets: list) -> str | None:
        """Where a copy of these packets (or of the network's copies of them) is now: on its
        way, waiting in the consumer, or nowhere (None)."""
        inflight = self.sim.network.inflight
        found = None
        todo = list(packets)
        while todo:
            pkt = todo.pop()
            if pkt.id in inflight:
                return "on_its_way"
            if pkt.item is not None and pkt.item.live:
                found = "waiting"
            if pkt.clones:
                todo.extend(pkt.clones)
        return found

    def _explain(self, msg: int, attempt: int, timeout_seq: int, verdict: str,
                 detail: str) -> None:
        self.sim.build.timeout_explained(self.sim, msg, attempt, timeout_seq, verdict, detail)
