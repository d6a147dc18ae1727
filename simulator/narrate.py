"""Plain-language sentences for the event log, one small function per kind of event.

Kept cheap (f-strings only): a sentence is built for every event of every run.
"""

from __future__ import annotations

_WHAT = {"data": "Message", "ack": "Ack for message", "nack": "Nack for message"}
_WHAT_LOWER = {kind: what[0].lower() + what[1:] for kind, what in _WHAT.items()}
_HOW = {"loss": "lost in the network", "injected": "dropped by hand",
        "scheduled": "dropped by a scheduled fault"}


def _what(kind: str, msg: int) -> str:
    what = _WHAT.get(kind)
    if what is None:
        return f"{kind} for message {msg}"
    return f"{what} {msg}"


def send(msg: int) -> str:
    return f"Producer sends message {msg}"


def retry(msg: int, attempt: int, after_nack: bool) -> str:
    why = "after a nack" if after_nack else "after a timeout"
    return f"Producer sends message {msg} again {why} (attempt {attempt})"


def net_duplicate(pkt) -> str:
    what = _WHAT_LOWER.get(pkt.kind)
    if what is None:
        what = _what(pkt.kind, pkt.msg)
        what = f"{what[0].lower()}{what[1:]}"
    else:
        what = f"{what} {pkt.msg}"
    return f"The network made an extra copy of {what} (attempt {pkt.attempt})"


def drop(pkt, reason: str, retries: bool) -> str:
    what = _what(pkt.kind, pkt.msg)
    if reason == "node_down":
        return f"{what} reached a crashed {pkt.dst} and was lost"
    how = _HOW.get(reason, "lost")
    if pkt.kind == "data":
        then = ("the producer will time out and send it again" if retries
                else "at-most-once will not send it again")
    elif pkt.kind == "ack":
        then = ("the producer will time out and send it again" if retries
                else "the producer will never learn it arrived")
    else:
        then = "the producer will time out"
    return f"{what} {how}; {then}"


def deliver(msg: int, duplicate: bool, out_of_order: bool) -> str:
    if duplicate:
        return f"Message {msg} arrives at the consumer again (a duplicate)"
    if out_of_order:
        return f"Message {msg} arrives at the consumer, after a later message (out of order)"
    return f"Message {msg} arrives at the consumer"


def timeout(msg: int, attempt: int, wait: float) -> str:
    return (f"No answer for message {msg} (attempt {attempt}) within {wait:g} ms; the producer "
            f"cannot tell whether it was processed")


def ack_send(msg: int, before_processing: bool) -> str:
    if before_processing:
        return f"Consumer acks message {msg} on receipt, before processing it"
    return f"Consumer acks message {msg}"


def nack(msg: int) -> str:
    return f"Consumer answers message {msg} with a nack: processing failed"


def ack_deliver(kind: str, msg: int, outcome: str) -> str:
    what = _what(kind, msg)
    if outcome == "done":
        return f"{what} reaches the producer; message {msg} is done"
    if outcome == "retry":
        return f"{what} reaches the producer: a definite failure, so it resends at once"
    if outcome == "give_up":
        return f"{what} reaches the producer: a definite failure"
    return f"{what} reaches the producer, which no longer waits for it"


def give_up(msg: int, reason: str) -> str:
    if reason == "producer_crash":
        return f"The crashed producer forgot message {msg}; it will never be resent"
    if reason == "no_retry":
        return f"At-most-once never resends: message {msg} may be lost"
    return f"Producer gives up on message {msg}: retries exhausted"


def process(msg: int, duplicate: bool, balance: int) -> str:
    if duplicate:
        return f"Application processes message {msg} AGAIN (a duplicate); balance {balance}"
    return f"Application processes message {msg}; balance {balance}"


def process_fail(msg: int) -> str:
    return f"Application failed to process message {msg}"


def dedup_discard(msg: int) -> str:
    return f"Message {msg} was already processed: discarded by its id, acked again"


def buffer(msg: int, seqno: int, expected: int) -> str:
    return f"Message {msg} (#{seqno}) waits in the reorder buffer for #{expected}"


def release(msg: int, seqno: int, held: bool) -> str:
    if held:
        return f"Reorder buffer releases message {msg} (#{seqno}): its turn has come"
    return f"Message {msg} (#{seqno}) is next in order and passes straight on"


def release_flush(msg: int, seqno: int) -> str:
    return f"Ordering changed: the reorder buffer lets message {msg} (#{seqno}) go"


def gap_skip(skipped: list[int]) -> str:
    if len(skipped) == 1:
        return f"Reorder buffer stops waiting for #{skipped[0]} and skips it"
    return f"Reorder buffer stops waiting for #{skipped[0]}..#{skipped[-1]} and skips them"


def stale_drop(msg: int, seqno: int, stale: bool) -> str:
    if stale:
        return f"Message {msg} (#{seqno}) is stale: that number was already passed; dropped"
    return f"Message {msg} (#{seqno}) is already waiting in the buffer; this copy is dropped"


def transition(verdict: str, entity: str, name: str, state: str | None, why: str | None) -> str:
    if verdict == "applied":
        return f"{entity}: {name} applied, now {state}"
    if verdict == "parked":
        return f"{entity}: {name} arrived early (order is {state or 'unknown'}); parked"
    if why == "duplicate":
        return f"{entity}: {name} rejected, it was seen before"
    return f"{entity}: {name} rejected, impossible after {state}"


def crash(node: str, lost: list[str]) -> str:
    tail = f": lost {', '.join(lost)}" if lost else ""
    return f"The {node} crashed{tail}"


def restart(node: str) -> str:
    return f"The {node} is back"


def config_change(changes: dict, notes: list[str]) -> str:
    if not changes:
        return "No setting changed"
    parts = [f"{k} {_v(old)} -> {_v(new)}" for k, (old, new) in changes.items()]
    text = "Settings changed: " + ", ".join(parts)
    if notes:
        text += "; " + "; ".join(notes)
    return text


def _v(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def fault_packet(spec: str, pkt) -> str:
    return f"Fault {spec} hits packet {pkt.id} ({_what(pkt.kind, pkt.msg).lower()})"


def fault_node(spec: str, effective: bool) -> str:
    if effective:
        return f"Fault {spec} takes effect"
    return f"Fault {spec}: nothing to do, the node is already in that state"
