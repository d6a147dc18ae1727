"""The producer node: sends new messages every interval, waits for answers, resends, gives up.

Messages awaiting an answer are ``pending``: msg -> ``Pending`` (its attempt and the seq of its
last transmission; its ``version`` keeps its timeout alive until it is answered or given up, or,
negated, its resend after a nack). With ``max_in_flight`` the producer holds back a new message
until a slot frees. Every send and resend goes through the network; the semantics decides
whether the producer waits for an answer at all (at-most-once sends and forgets) and whether a
timeout or nack is retried. A resend waits the backoff (``semantics.backoff_wait``): after a
timeout the timeout itself was that wait; after a nack the producer waits it before resending.
A message whose last allowed attempt is answered with a nack failed every time: a poison
message, moved to the dead-letter queue (``dead_letter``) for a person to look at.
"""

from __future__ import annotations

from .agenda import Timer
from .narrate import count
from .semantics import backoff_wait


class Pending:
    """A message awaiting an answer; its timeout is live while ``version`` is its attempt."""

    __slots__ = ("msg", "attempt", "send_seq", "version", "wait", "packets")

    def __init__(self, msg: int, attempt: int, pkt, wait: float):
        self.msg = msg
        self.attempt = attempt
        self.send_seq = pkt.send_seq
        self.version = attempt
        self.wait = wait  # how long this attempt waits for an answer
        self.packets = [pkt]  # the data packet of every attempt so far


class Producer:
    node = "producer"

    def __init__(self, sim):
        self.sim = sim
        self.up = True
        self.pending: dict[int, Pending] = {}
        self.next_msg = 1
        self.next_due = 0.0
        self.timer = Timer()  # the new-message timer; its version is bumped to cancel it
        self.dead_letter: list[int] = []  # poison messages, in the order they were parked
        self._on_timeout = self.on_timeout
        self._on_resend = self.on_resend
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
        pkt = sim.network.put(sim.build.send, None, "data", msg, 1, 0, "producer", "consumer",
                              msg, None)
        config = sim.config
        if sim.semantics.retries:  # at-most-once sends and forgets: nothing to wait for
            wait = backoff_wait(config, sim.fate, msg, 1)
            p = self.pending[msg] = Pending(msg, 1, pkt, wait)
            sim.schedule(sim.now + wait, 4, self._on_timeout, p, 1)
        timer = self.timer
        limit = config.messages
        if limit == 0 or msg < limit:  # more to send: arm the next message's timer
            timer.version += 2  # whatever timer was armed is replaced
            self.next_due = due = sim.now + config.interval
            sim.schedule(due, 5, self._on_new_message, timer, timer.version)
        else:
            timer.version += 1  # whatever timer was armed is replaced

    def slot_freed(self) -> None:
        # the cheapest test first: usually the next message is not due yet
        if self.sim.now >= self.next_due and self.up and self.more() and self.room():
            self.send_new()

    # --- answers, timeouts, retries -------------------------------------------------------
    def _forget(self, msg: int) -> Pending:
        p = self.pending.pop(msg)
        p.version = 0  # its timeout dies
        self.sim.hindsight.forget(msg)
        return p

    def on_timeout(self, p: Pending, attempt: int) -> None:
        sim = self.sim
        msg = p.msg
        seq = sim.build.timeout(sim, msg, attempt, p.send_seq, p.wait)
        sim.hindsight.timed_out(msg, attempt, seq, p.packets)
        if sim.semantics.may_retry(attempt, sim.config.max_retries):
            self._resend(p, seq, "timeout", 0.0)
        else:
            self.give_up(msg, seq, "retries_exhausted")

    def _resend(self, p: Pending, cause: int, after: str, waited: float) -> None:
        sim = self.sim
        msg = p.msg
        attempt = p.attempt + 1
        pkt = sim.network.put(sim.build.retry, (after, waited), "data", msg, attempt, 0, "producer",
                              "consumer", msg, cause)
        p.attempt = p.version = attempt
        p.send_seq = pkt.send_seq
        p.packets.append(pkt)
        p.wait = wait = backoff_wait(sim.config, sim.fate, msg, attempt)
        sim.schedule(sim.now + wait, 4, self._on_timeout, p, attempt)

    def on_resend(self, p: Pending, _version: int) -> None:
        """The backoff after a nack is over: send the next attempt."""
        self._resend(p, p.send_seq, "nack", p.wait)

    def _back_off(self, p: Pending, cause: int) -> float:
        """A nack answered the current attempt: wait the backoff, then resend."""
        p.version = -p.attempt  # the attempt's timeout dies; its resend lives
        p.send_seq = cause  # the resend's cause: the nack that asked for it
        p.wait = wait = backoff_wait(self.sim.config, self.sim.fate, p.msg, p.attempt)
        self.sim.schedule(self.sim.now + wait, 4, self._on_resend, p, -p.attempt)
        return wait

    def give_up(self, msg: int, cause: int, reason: str) -> None:
        p = self._forget(msg)
        self.sim.build.give_up(self.sim, msg, p.attempt, cause, reason)
        if reason != "producer_crash":
            self.slot_freed()

    def to_dead_letter(self, msg: int, cause: int) -> None:
        """The last allowed attempt failed too: park the poison message for a person."""
        p = self._forget(msg)
        self.dead_letter.append(msg)
        self.sim.build.dead_letter(self.sim, msg, p.attempt, cause)
        self.slot_freed()

    def stop_waiting(self) -> int:
        """The semantics no longer waits for answers: forget every pending message."""
        n = len(self.pending)
        for msg in list(self.pending):
            self._forget(msg)
        return n

    def on_answer(self, pkt) -> None:
        sim = self.sim
        msg = pkt.msg
        p = self.pending.get(msg)
        wait = 0.0
        if p is None:
            outcome = "late"
        elif pkt.kind == "nack":
            if p.attempt != pkt.attempt or p.version < 0:
                outcome = "older"  # an older attempt failed, or a resend is already due
            elif sim.semantics.may_retry(p.attempt, sim.config.max_retries):
                outcome = "retry"
                wait = backoff_wait(sim.config, sim.fate, msg, p.attempt)
            else:
                outcome = "dead_letter"
        else:
            outcome = "done"
        # The observer knows what the producer cannot: an ack for a message that was skipped,
        # never processed, makes the producer record a false "done".
        false_done = outcome == "done" and pkt.why == "skipped" and \
            not sim.consumer.was_processed(msg)
        seq = sim.build.ack_deliver(sim, pkt, outcome, wait, false_done)
        if outcome == "done":
            self._forget(msg)
            if sim.now >= self.next_due:  # slot_freed, its cheapest test first
                self.slot_freed()
        elif outcome == "retry":
            self._back_off(p, seq)
        elif outcome == "dead_letter":
            self.to_dead_letter(msg, seq)

    def outlook(self, pkt) -> str:
        """What the loss of ``pkt`` (data, or an answer to it) means to the producer:
        "resend" or "give_up" at its timeout, "no_retry" (it will time out and not resend),
        "newer" (a later attempt is on its way) or "settled" (it waits for nothing more)."""
        p = self.pending.get(pkt.msg)
        if p is None:
            return "settled" if self.sim.semantics.retries else "no_retry"
        if pkt.attempt < p.attempt:
            return "newer"
        if self.sim.semantics.may_retry(p.attempt, self.sim.config.max_retries):
            return "resend"
        return "give_up"

    # --- the node's part (protocol.NodeBehaviour) ------------------------------------------
    on_packet = on_answer  # a packet reaching the producer is an answer

    def crash(self) -> tuple[list[str], list[str]]:
        """The producer goes down; what it loses is given up once the crash is told."""
        self.up = False
        lost = [f"{count(len(self.pending), 'message')} awaiting an answer"] \
            if self.pending else []
        return lost, []

    def after_crash(self, cause: int) -> None:
        self.timer.version += 1
        for msg in sorted(self.pending):
            self.give_up(msg, cause, "producer_crash")

    def restart(self) -> None:
        self.up = True
        if self.more():
            self.arm(self.sim.now)

    def view(self) -> dict:
        return {"crashed": not self.up, "pending": sorted(self.pending),
                "next_msg": self.next_msg, "dead_letter": list(self.dead_letter)}
