"""The producer node: sends new messages every interval, waits for answers, resends, gives up.

Messages awaiting an answer are ``pending``: msg -> [attempt, seq of its last transmission].
With ``max_in_flight`` the producer holds back a new message until a slot frees. Every send and
resend goes through the network; the semantics decides whether a timeout or nack is retried.
"""

from __future__ import annotations

from . import events as E
from . import narrate
from .semantics import timeout_for

TIMEOUT = 3
NEW_MESSAGE = 4


class Producer:
    node = "producer"

    def __init__(self, sim):
        self.sim = sim
        self.up = True
        self.pending: dict[int, list[int]] = {}
        self.next_msg = 1
        self.next_due = 0.0
        self.token = 0  # the live new-message timer; bumped to cancel it

    # --- sending new messages -------------------------------------------------------------
    def more(self) -> bool:
        limit = self.sim.config.messages
        return limit == 0 or self.next_msg <= limit

    def room(self) -> bool:
        cap = self.sim.config.max_in_flight
        return cap == 0 or len(self.pending) < cap

    def arm(self, at: float) -> None:
        self.token += 1
        self.next_due = at
        self.sim.schedule(at, 5, NEW_MESSAGE, self.token, 0)

    def on_new_message(self, token: int, _=None) -> None:
        if self.room():
            self.send_new()
        # else: held back; a freed slot sends it (see slot_freed)

    def send_new(self) -> None:
        sim = self.sim
        msg = self.next_msg
        self.next_msg += 1
        pkt = sim.network.transmit(E.SEND, "producer", narrate.send(msg), "data", msg, 1, 0,
                                   "producer", "consumer", msg, None)
        self.pending[msg] = [1, pkt.send_seq]
        sim.schedule(sim.now + sim.config.timeout, 4, TIMEOUT, msg, 1)
        self.token += 1  # whatever timer was armed is replaced
        if self.more():
            self.arm(sim.now + sim.config.interval)

    def slot_freed(self) -> None:
        if self.up and self.more() and self.room() and self.sim.now >= self.next_due:
            self.send_new()

    # --- answers, timeouts, retries -------------------------------------------------------
    def timeout_alive(self, msg: int, attempt: int) -> bool:
        p = self.pending.get(msg)
        return p is not None and p[0] == attempt

    def on_timeout(self, msg: int, attempt: int) -> None:
        sim = self.sim
        p = self.pending[msg]
        wait = timeout_for(attempt, sim.config.timeout, sim.config.backoff)
        seq = sim.emit(E.TIMEOUT, "producer", narrate.timeout(msg, attempt, wait), msg, None,
                       attempt, p[1], {"node": "producer", "seqno": msg})
        self._retry_or_give_up(msg, p, seq, after_nack=False)

    def _retry_or_give_up(self, msg: int, p: list[int], cause: int, after_nack: bool) -> None:
        sim = self.sim
        sem = sim.semantics
        attempt = p[0]
        if sem.may_retry(attempt, sim.config.max_retries):
            attempt += 1
            pkt = sim.network.transmit(E.RETRY, "producer", narrate.retry(msg, attempt, after_nack),
                                       "data", msg, attempt, 0, "producer", "consumer", msg, cause)
            p[0] = attempt
            p[1] = pkt.send_seq
            wait = timeout_for(attempt, sim.config.timeout, sim.config.backoff)
            sim.schedule(sim.now + wait, 4, TIMEOUT, msg, attempt)
        else:
            self.give_up(msg, cause, "retries_exhausted" if sem.retries else "no_retry")

    def give_up(self, msg: int, cause: int, reason: str) -> None:
        p = self.pending.pop(msg)
        self.sim.emit(E.GIVE_UP, "producer", narrate.give_up(msg, reason), msg, None, p[0], cause,
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
            if p[0] != pkt.attempt:
                outcome = "late"  # an older attempt failed; a newer one is on its way
            elif sim.semantics.may_retry(p[0], sim.config.max_retries):
                outcome = "retry"
            else:
                outcome = "give_up"
        else:
            outcome = "done"
        seq = sim.emit(E.ACK_DELIVER, "producer", narrate.ack_deliver(pkt.kind, msg, outcome), msg,
                       pkt.id, pkt.attempt, pkt.send_seq,
                       {"kind": pkt.kind, "from": pkt.src, "to": pkt.dst, "node": "producer",
                        "seqno": msg})
        if outcome == "done":
            del self.pending[msg]
            self.slot_freed()
        elif outcome in ("retry", "give_up"):
            self._retry_or_give_up(msg, p, seq, after_nack=True)

    # --- crash and restart ----------------------------------------------------------------
    def crash(self, cause: int) -> None:
        self.up = False
        self.token += 1
        for msg in sorted(self.pending):
            self.give_up(msg, cause, "producer_crash")

    def restart(self) -> None:
        self.up = True
        if self.more():
            self.arm(self.sim.now)

    def view(self) -> dict:
        return {"crashed": not self.up, "pending": sorted(self.pending),
                "next_msg": self.next_msg}
