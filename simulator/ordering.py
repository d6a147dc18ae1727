"""Ordering strategies: what the consumer does between receiving a message and processing it.

- ``NoOrdering``: the application processes in arrival order.
- ``SequenceOrdering``: a ``ReorderBuffer`` releases contiguous sequence numbers, drops stale and
  repeated ones, and skips a gap after the gap timeout.
- ``StateMachineOrdering``: messages are lifecycle events of orders; the application applies the
  allowed ones, parks early ones and rejects impossible ones (see ``machine.py``). Only an
  applied transition pays into the account, so a duplicate rejected by the machine does no harm.

A strategy talks to its host (the consumer) through a few calls: ``to_app``, ``answer``,
``arm_gap_timer``, ``requeue_after``, ``offer_transition``, ``was_processed`` and ``in_app``;
its events are made by the builders of ``events.py``.
"""

from __future__ import annotations


class OrderingStrategy:
    name = ""
    # Whether the application pays when a message's lifecycle transition applies (state-machine
    # ordering) rather than on every processing.
    pays_on_transition = False

    def admit(self, item, host) -> None:
        """A delivered message (not discarded as a duplicate) asks to be processed."""
        host.to_app(item)

    def on_processed(self, item, process_seq: int, host) -> None:
        """The application processed ``item`` successfully."""

    def on_failed(self, item, host) -> None:
        """The application failed ``item``; the producer may send it again."""

    def on_gap_timer(self, token: int, host) -> bool:
        """The gap timer fired; return False if it was stale."""
        return False

    def gap_token(self) -> int | None:
        return None

    def crash(self, lost: list[int], host) -> int | None:
        """The consumer crashed, losing the messages numbered ``lost`` on their way to the
        application: forget what is held in memory. Returns the number now expected next if
        the strategy went back to wait for a lost one, else None."""
        return None

    def flush(self, host) -> None:
        """This strategy is being replaced: pass on whatever it holds."""

    def held_item(self, msg: int):
        """The copy of ``msg`` the strategy holds back, if any."""
        return None

    def view(self) -> dict:
        return {"expected": None, "held": []}


class NoOrdering(OrderingStrategy):
    name = "none"


class ReorderBuffer:
    """Messages held back until the sequence numbers before them are released or skipped."""

    def __init__(self, expected: int = 1):
        self.expected = expected
        self.held: dict[int, object] = {}

    def held_list(self) -> list[int]:
        return sorted(self.held)


class SequenceOrdering(OrderingStrategy):
    name = "sequence"

    def __init__(self, expected: int = 1):
        self.buffer = ReorderBuffer(expected)
        self._token: int | None = None

    def gap_token(self) -> int | None:
        return self._token

    def admit(self, item, host) -> None:
        buf = self.buffer
        s = item.seqno
        if s in buf.held:  # the held copy will be answered
            item.live = False
            host.sim.build.stale_drop(host.sim, item, "held", False, "repeated")
            return
        if s < buf.expected:
            # Answer only for a number whose story is over: processed (ack again) or skipped
            # (ack, so the producer stops resending what will never be processed). A copy
            # released earlier and still waiting for the application gets that copy's answer:
            # an ack now would tell the producer it succeeded before the work was done.
            state = ("processed" if host.was_processed(item.msg)
                     else "waiting" if host.in_app(item.msg) else "skipped")
            item.live = False
            answers = state != "waiting" and not item.acked and host.semantics.acks
            seq = host.sim.build.stale_drop(host.sim, item, state, answers, "stale")
            if answers:
                host.answer(item, seq, why=state)
            if state == "skipped":
                host.sim.hindsight.copy_lost(item.msg, "skipped")
            return
        if s == buf.expected:
            buf.expected += 1
            host.sim.build.release(host.sim, item, item.deliver_seq, buf.held_list(), False)
            host.to_app(item)
            self._release_contiguous(host)
            return
        buf.held[s] = item
        sim = host.sim
        item.buffer_seq = sim.build.buffer(sim, item, buf.expected, host.semantics.retries,
                                           buf.held_list())
        if self._token is None:
            self._token = host.arm_gap_timer()

    def _release_contiguous(self, host) -> None:
        buf = self.buffer
        while buf.expected in buf.held:
            item = buf.held.pop(buf.expected)
            buf.expected += 1
            sim = host.sim
            sim.build.release(sim, item, item.buffer_seq or item.deliver_seq, buf.held_list(),
                              True)
            host.to_app(item)
        # Wait afresh for the next missing number, if anything is still held behind it.
        self._token = host.arm_gap_timer() if buf.held else None

    def on_gap_timer(self, token: int, host) -> bool:
        if token != self._token:
            return False
        buf = self.buffer
        first = min(buf.held)
        skipped = list(range(buf.expected, first))
        buf.expected = first
        host.sim.build.gap_skip(host.sim, skipped, buf.held_list(), first, host.semantics.retries)
        self._release_contiguous(host)
        return True

    def on_failed(self, item, host) -> None:
        # The failed number must be processed before anything after it: hold back what was
        # already released behind it, and wait for the producer to send it again.
        if not host.semantics.retries or item.seqno >= self.buffer.expected:
            return
        buf = self.buffer
        buf.expected = item.seqno
        for back in host.requeue_after(item.seqno):
            buf.held[back.seqno] = back
            sim = host.sim
            back.buffer_seq = sim.build.buffer(sim, back, buf.expected, True, buf.held_list())
        if buf.held and self._token is None:
            self._token = host.arm_gap_timer()

    def crash(self, lost: list[int], host) -> int | None:
        self.buffer.held.clear()
        self._token = None
        # Numbers released but not processed yet were lost with the consumer's memory; under a
        # semantics that resends, wait for them again instead of dropping their resends as stale.
        if host.semantics.retries and lost and min(lost) < self.buffer.expected:
            self.buffer.expected = min(lost)
            return self.buffer.expected
        return None

    def flush(self, host) -> None:
        buf = self.buffer
        for s in sorted(buf.held):
            item = buf.held.pop(s)
            buf.expected = s + 1
            sim = host.sim
            sim.build.release(sim, item, item.buffer_seq or item.deliver_seq, buf.held_list(),
                              True, "ordering_changed")
            host.to_app(item)
        self._token = None

    def held_item(self, msg: int):
        return self.buffer.held.get(msg)  # message ids equal sequence numbers

    def view(self) -> dict:
        return {"expected": self.buffer.expected, "held": self.buffer.held_list()}


class StateMachineOrdering(OrderingStrategy):
    name = "state-machine"
    pays_on_transition = True

    def on_processed(self, item, process_seq: int, host) -> None:
        host.offer_transition(item, process_seq)


def ordering_for(name: str, expected: int = 1) -> OrderingStrategy:
    if name == "sequence":
        return SequenceOrdering(expected)
    if name == "state-machine":
        return StateMachineOrdering()
    return NoOrdering()
