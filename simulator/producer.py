"""The producer node: sends new messages every interval, waits for answers, resends, gives up.

Messages awaiting an answer are ``pending``: msg -> ``Pending`` (its attempt and the seq of its
last transmission; its ``version`` keeps its timeout alive until it is answered or given up).
With ``max_in_flight`` the producer holds back a new message until a slot frees. Every send and
resend goes through the network; the semantics decides whether a timeout or nack is retried.
"""

from __future__ import annotations

from . import events as E
from . import narrate
from .agenda import Timer
from .semantics import timeout_for


class Pending:
    """A message awaiting an answer; its timeout is live while ``version`` is its attempt."""

    __slots__ = ("msg", "attempt", "send_seq", "version", "wait")

    def __init__(self, msg: int, attempt: int, send_seq: int, wait: float):
        self.msg = msg
        self.attempt = attempt
        self.send_seq = send_seq
        self.version = attempt
        self.wait = wait  # how long this attempt waits for an answer


class Producer:
    node = "producer"

    def __init__(self, sim):
        self.sim = sim
        self.up = True
        self.pending: dict[int, Pending] = {}
        self.next_msg = 1
        self.next_due = 0.0
        self.timer = Timer()  # the new-message timer; its version is bumped to cancel it
        self._on_timeout = self.on_timeout
        self._on_new_message = self.on_new_message

    # --- sending new messages -------------------------------------------------------------
    def more(self) -> bool:
        limit = self.sim.config.messages
        return limit == 0 or self.next_msg <= limit

    def room(self) -> bool:
        cap = self.sim.config.max_in_flight
        return cap == 0 or len(self.pending) < cap

    def arm(self, at: float) -> None:
        self.timer.version += 1
        self.next_due = at
        self.sim.schedule(at, 5, self._on_new_message, self.timer, self.timer.version)

    def retime(self, old_interval: float) -> None:
        """The interval changed: the next new message, if one is waiting for its time, is due
        the new interval after the last one (or now, if that has passed)."""
        sim = self.sim
        if self.up and self.more() and self.next_due > sim.now:
            last = self.next_due - old_interval
            self.arm(max(sim.now, last + sim.config.interval))

    def on_new_message(self, _timer, _version) -> None:
        if self.room():
            self.send_new()
        # else: held back; a freed slot sends it (see slot_freed)

    def send_new(self) -> None:
        sim = self.sim
        msg = self.next_msg
        self.next_msg += 1
        pkt = sim.network.transmit(E.SEND, "producer", narrate.send(msg), "data", msg, 1, 0,
                                   "producer", "consumer", msg, None)
        wait = sim.config.timeout
        p = self.pending[msg] = Pending(msg, 1, pkt.send_seq, wait)
        sim.schedule(sim.now + wait, 4, self._on_timeout, p, 1)
        self.timer.version += 1  # whatever timer was armed is replaced
        if self.more():
            self.arm(sim.now + sim.config.interval)

    def slot_freed(self) -> None:
        # the cheapest test first: usually the next message is not due yet
        if self.sim.now >= self.next_due and self.up and self.more() and self.room():
            self.send_new()

    # --- answers, timeouts, retries -------------------------------------------------------
    def _forget(self, msg: int) -> Pending:
        p = self.pending.pop(msg)
        p.version = 0  # its timeout dies
        return p

    def on_timeout(self, p: Pending, attempt: int) -> None:
        sim = self.sim
        msg = p.msg
        seq = sim.record({"seq": 0, "t": sim.now, "type": E.TIMEOUT, "msg": msg, "packet": None,
                          "attempt": attempt, "lane": "producer", "cause": p.send_seq,
                          "text": narrate.timeout(msg, attempt, p.wait), "node": "producer",
                          "seqno": msg})
        self._retry_or_give_up(msg, p, seq, after_nack=False)

    def _retry_or_give_up(self, msg: int, p: Pending, cause: int, after_nack: bool) -> None:
        sim = self.sim
        sem = sim.semantics
        attempt = p.attempt
        if sem.may_retry(attempt, sim.config.max_retries):
            attempt += 1
            pkt = sim.network.transmit(E.RETRY, "producer", narrate.retry(msg, attempt, after_nack),
                                       "data", msg, attempt, 0, "producer", "consumer", msg, cause)
            p.attempt = p.version = attempt
            p.send_seq = pkt.send_seq
            p.wait = wait = timeout_for(attempt, sim.config.timeout, sim.config.backoff)
            sim.schedule(sim.now + wait, 4, self._on_timeout, p, attempt)
        else:
            self.give_up(msg, cause, "retries_exhausted" if sem.retries else "no_retry",
                         after_nack)

    def give_up(self, msg: int, cause: int, reason: str, after_nack: bool = False) -> None:
        p = self._forget(msg)
        self.sim.emit(E.GIVE_UP, "producer", narrate.give_up(msg, reason, p.attempt, after_nack),
                      msg, None, p.attempt, cause,
                      {"node": "producer", "reason": reason, "seqno": msg})
        if reason != "producer_crash":
            self.slot_freed()

    def on_answer(self, pkt) -> None:
        sim = self.sim
        msg = pkt.msg
        p = self.pending.get(msg)
        if p is None:
            outcome = "late"
        elif pkt.kind == "nack":
            if p.attempt != pkt.attempt:
                outcome = "older"  # an older attempt failed; a newer one is on its way
            elif sim.semantics.may_retry(p.attempt, sim.config.max_retries):
                outcome = "retry"
            else:
                outcome = "give_up"
        else:
            outcome = "done"
        seq = sim.record({"seq": 0, "t": sim.now, "type": E.ACK_DELIVER, "msg": msg,
                          "packet": pkt.id, "attempt": pkt.attempt, "lane": "producer",
                          "cause": pkt.send_seq,
                          "text": narrate.ack_deliver(pkt.kind, msg, outcome,
                                                      sim.semantics.ack_on_receipt),
                          "kind": pkt.kind,
                          "from": pkt.src, "to": pkt.dst, "node": "producer", "seqno": msg})
        if outcome == "done":
            self._forget(msg)
            self.slot_freed()
        elif outcome in ("retry", "give_up"):
            self._retry_or_give_up(msg, p, seq, after_nack=True)

    def outlook(self, pkt) -> str:
        """What the loss of ``pkt`` (data, or an answer to it) means to the producer:
        "resend" or "give_up" at its timeout, "no_retry" (it will time out and not resend),
        "newer" (a later attempt is on its way) or "settled" (it waits for nothing more)."""
        p = self.pending.get(pkt.msg)
        if p is None:
            return "settled"
        if pkt.attempt < p.attempt:
            return "newer"
        sem = self.sim.semantics
        if sem.may_retry(p.attempt, self.sim.config.max_retries):
            return "resend"
        return "give_up" if sem.retries else "no_retry"

    # --- crash and restart ----------------------------------------------------------------
    def crash(self, cause: int) -> None:
        self.up = False
        self.timer.version += 1
        for msg in sorted(self.pending):
            self.give_up(msg, cause, "producer_crash")

    def restart(self) -> None:
        self.up = True
        if self.more():
            self.arm(self.sim.now)

    def view(self) -> dict:
        return {"crashed": not self.up, "pending": sorted(self.pending),
                "next_msg": self.next_msg}
