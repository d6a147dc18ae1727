"""The one event schema (docs/events.md): event types, lanes and the event builder.

An event is a flat dict. ``make`` fills every always-present field so no producer of events can
forget one; optional fields go in ``extra``.
"""

from __future__ import annotations

SEND = "send"
RETRY = "retry"
NET_DUPLICATE = "net_duplicate"
DROP = "drop"
DELIVER = "deliver"
TIMEOUT = "timeout"
ACK_SEND = "ack_send"
NACK = "nack"
ACK_DELIVER = "ack_deliver"
ACK_DROP = "ack_drop"
GIVE_UP = "give_up"
PROCESS = "process"
PROCESS_FAIL = "process_fail"
DEDUP_DISCARD = "dedup_discard"
BUFFER = "buffer"
RELEASE = "release"
GAP_SKIP = "gap_skip"
STALE_DROP = "stale_drop"
TRANSITION_APPLIED = "transition_applied"
TRANSITION_PARKED = "transition_parked"
TRANSITION_REJECTED = "transition_rejected"
CRASH = "crash"
RESTART = "restart"
CONFIG_CHANGE = "config_change"
FAULT_INJECTED = "fault_injected"
TIMEOUT_EXPLAINED = "timeout_explained"
DEAD_LETTER = "dead_letter"
DEDUP_RECORD = "dedup_record"

EVENT_TYPES = (
    SEND, RETRY, NET_DUPLICATE, DROP, DELIVER, TIMEOUT, ACK_SEND, NACK, ACK_DELIVER, ACK_DROP,
    GIVE_UP, PROCESS, PROCESS_FAIL, DEDUP_DISCARD, BUFFER, RELEASE, GAP_SKIP, STALE_DROP,
    TRANSITION_APPLIED, TRANSITION_PARKED, TRANSITION_REJECTED, CRASH, RESTART, CONFIG_CHANGE,
    FAULT_INJECTED, TIMEOUT_EXPLAINED, DEAD_LETTER, DEDUP_RECORD,
)

ALWAYS = ("seq", "t", "type", "msg", "packet", "attempt", "lane", "cause", "text")
LANES = ("producer", "network", "broker", "consumer", "app", "all")

__all__ = [name.upper() for name in EVENT_TYPES] + ["EVENT_TYPES", "LANES", "ALWAYS", "make"]


def make(seq: int, t: float, type_: str, lane: str, text: str, msg: int | None = None,
         packet: int | None = None, attempt: int | None = None, cause: int | None = None,
         extra: dict | None = None) -> dict:
    """Build one event with every always-present field."""
    ev = {"seq": seq, "t": t, "type": type_, "msg": msg, "packet": packet, "attempt": attempt,
          "lane": lane, "cause": cause, "text": text}
    if extra:
        ev.update(extra)
    return ev
