"""Plain-language sentences for the event log, one small function per kind of event.

Kept cheap (f-strings only): a sentence is built for every event of every run.
"""

from __future__ import annotations

from .application import PAYMENT

_WHAT = {"data": "Message", "ack": "Ack for message", "nack": "Nack for message"}
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


def _lower(kind: str, msg: int) -> str:
    what = _what(kind, msg)
    return f"{what[0].lower()}{what[1:]}"


def net_duplicate(pkt) -> str:
    return (f"The network made an extra copy of {_lower(pkt.kind, pkt.msg)} "
            f"(attempt {pkt.attempt}): the {pkt.dst} may get it twice")


# What the loss of a packet means to the producer (``Producer.outlook``), by packet kind.
_THEN = {
    "resend": {"data": "the producer will time out and send it again",
               "ack": "the producer cannot know the message got through: it will time out and "
                      "send it again",
               "nack": "the producer will time out instead of hearing of the failure, then "
                       "send it again"},
    "give_up": {"data": "the producer will time out and give up: no retries left",
                "ack": "the producer cannot know the message got through, and has no retries "
                       "left: it will time out and give up",
                "nack": "the producer will time out and give up: no retries left"},
    "no_retry": {"data": "at-most-once will not send it again",
                 "ack": "the producer will never learn it arrived",
                 "nack": "the producer will time out and give up"},
    "newer": "a later attempt is already on its way",
    "settled": "the producer no longer waits for it",
}


def drop(pkt, reason: str, outlook: str) -> str:
    """``outlook`` is what the loss means to the producer: resend, give_up, no_retry (it will
    time out; then what), newer (a later attempt is on its way), settled (it waits no more)."""
    what = f"An extra copy of {_lower(pkt.kind, pkt.msg)}" if pkt.copy else \
        _what(pkt.kind, pkt.msg)
    if reason == "node_down":
        head = f"{what} reached a crashed {pkt.dst} and was lost"
    else:
        head = f"{what} {_HOW.get(reason, 'lost')}"
    if pkt.copy:
        return f"{head}; it was only a copy, the original is not affected"
    then = _THEN.get(outlook, "")
    if isinstance(then, dict):
        then = then.get(pkt.kind, then["data"])
    return f"{head}; {then}" if then else head


def deliver(msg: int, duplicate: bool, out_of_order: bool) -> str:
    if duplicate:
        return f"Message {msg} arrives at the consumer again (a duplicate)"
    if out_of_order:
        return f"Message {msg} arrives at the consumer, after a later message (out of order)"
    return f"Message {msg} arrives at the consumer"


def timeout(msg: int, attempt: int, wait: float) -> str:
    return (f"No answer for message {msg} (attempt {attempt}) within {wait:g} ms; the producer "
            f"cannot tell whether it was processed")


def ack_send(msg: int, why: str) -> str:
    """``why``: receipt (at-most-once), done (after processing), processed (a copy of a message
    processed before), skipped (dropped by the reorder buffer without processing)."""
    if why == "receipt":
        return (f"Consumer acks message {msg} on receipt, before processing it: if the "
                f"processing fails now, the producer will never know")
    if why == "processed":
        return f"Consumer acks message {msg} again: it was processed before"
    if why == "skipped":
        return (f"Consumer acks message {msg} without processing it, so the producer stops "
                f"resending: the message is lost")
    return f"Consumer acks message {msg} after processing it"


def nack(msg: int) -> str:
    return (f"Consumer answers message {msg} with a nack: processing failed, and the producer "
            f"will know it for certain")


def ack_deliver(kind: str, msg: int, outcome: str, on_receipt: bool = False) -> str:
    what = _what(kind, msg)
    if outcome == "done":
        if on_receipt:
            return (f"{what} reaches the producer, which counts message {msg} as delivered: "
                    f"the ack says it arrived, not that it was processed")
        return f"{what} reaches the producer; message {msg} is done"
    if outcome == "retry":
        return f"{what} reaches the producer: a definite failure, so it resends at once"
    if outcome == "give_up":
        return f"{what} reaches the producer: a definite failure, and no retries are left"
    if outcome == "older":
        return (f"{what} reaches the producer, which already sent it again and now waits for "
                f"the answer to that later attempt")
    return f"{what} reaches the producer, which no longer waits for it"


def give_up(msg: int, reason: str, attempts: int = 1, after_nack: bool = False) -> str:
    if reason == "producer_crash":
        return f"The crashed producer forgot message {msg}; it will never be resent"
    if reason == "no_retry":
        if after_nack:
            return f"The semantics no longer resends: the producer gives up on message {msg}"
        return (f"At-most-once does not resend: the producer gives up on message {msg}, not "
                f"knowing whether it was processed")
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    if after_nack:
        return (f"Producer gives up on message {msg} after {tries}: the last one was "
                f"answered with a nack")
    return (f"Producer gives up on message {msg} after {tries} without an answer; it cannot "
            f"tell whether the message was processed")


def process(msg: int, duplicate: bool, balance: int, operation: str = "add") -> str:
    if not duplicate:
        return f"Application processes message {msg}; balance {balance}"
    if operation == "idempotent":
        return (f"Application processes message {msg} again (a duplicate); payment #{msg} was "
                f"already applied, so the balance stays {balance}")
    return (f"Application processes message {msg} AGAIN (a duplicate): paid twice, balance "
            f"{balance}")


def process_fail(msg: int, acked: bool, nacks: bool) -> str:
    if acked:
        return (f"Application failed to process message {msg}, which was already acked on "
                f"receipt: the producer believes it succeeded, so nobody will send it again")
    if nacks:
        return f"Application failed to process message {msg}; the consumer will answer with a nack"
    return (f"Application failed to process message {msg}; no answer goes back, so the "
            f"producer will time out")


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
        return (f"Reorder buffer stops waiting for #{skipped[0]} and skips it; if it comes "
                f"later it will be dropped")
    return (f"Reorder buffer stops waiting for #{skipped[0]}..#{skipped[-1]} and skips them; "
            f"if they come later they will be dropped")


def stale_drop(msg: int, seqno: int, state: str, answers: bool) -> str:
    """``state``: held (a copy waits in the buffer), processed, waiting (released, not yet
    processed), skipped (the buffer moved past it without processing it)."""
    if state == "held":
        return f"Message {msg} (#{seqno}) is already waiting in the buffer; this copy is dropped"
    if state == "processed":
        tail = ", and acked again" if answers else ""
        return f"Message {msg} (#{seqno}) was already processed: this late copy is dropped{tail}"
    if state == "waiting":
        return (f"Message {msg} (#{seqno}) was already released and waits for the "
                f"application: this copy is dropped without an answer, the first one will get it")
    tail = "; acked so the producer stops resending it" if answers else ""
    return (f"Message {msg} (#{seqno}) comes after the buffer skipped #{seqno}: dropped, never "
            f"processed{tail}")


def process_transition(msg: int, duplicate: bool, order: int, name: str) -> str:
    """State-machine ordering: processing hands the message's lifecycle event to the order
    book; the balance moves only if the transition applies."""
    if not duplicate:
        return f"Application takes up message {msg} (order {order}: {name})"
    return (f"Application takes up message {msg} again, a duplicate (order {order}: {name}): "
            f"the state machine decides whether it has any effect")


def transition_applied(order: int, name: str, msg: int, balance: int, credited: bool,
                       was_parked: bool) -> str:
    how = f"parked message {msg} applies at last" if was_parked else \
        f"the transition of message {msg} applies"
    if credited:
        return f"Order {order} is now {name}: {how} and pays {PAYMENT}; balance {balance}"
    return (f"Order {order} is now {name}: {how}; payment #{msg} was already applied, so the "
            f"balance stays {balance}")


def transition_parked(order: int, name: str, state: str | None) -> str:
    if state is None:
        return (f"Order {order}: {name} arrived before the order exists; parked, nothing is "
                f"paid until it can apply")
    return (f"Order {order}: {name} arrived early (the order is only {state}); parked, nothing "
            f"is paid until it can apply")


def transition_rejected(order: int, name: str, state: str | None, why: str | None,
                        waiting: bool) -> str:
    """``why``: duplicate (``waiting``: the same event is parked) or impossible."""
    if why == "duplicate":
        if waiting:
            return (f"Order {order}: {name} is already parked, waiting to apply: this copy is "
                    f"rejected, no second payment")
        return f"Order {order}: {name} was already applied: rejected, no second payment"
    return (f"Order {order}: {name} can never apply to an order that is {state}: rejected, "
            f"nothing paid")


def count(n: int, thing: str) -> str:
    """``count(1, "packet")`` -> "1 packet", ``count(2, "packet")`` -> "2 packets"."""
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def crash(node: str, lost: list[str], notes: list[str] = ()) -> str:
    tail = f": lost {', '.join(lost)}" if lost else ""
    more = "".join(f"; {note}" for note in notes)
    return f"The {node} crashed{tail}{more}"


def acked_unprocessed(msgs: list[int]) -> str:
    if len(msgs) == 1:
        return (f"message {msgs[0]} was acked on receipt but never processed: the producer "
                f"believes it succeeded")
    ids = ", ".join(str(m) for m in msgs)
    return (f"messages {ids} were acked on receipt but never processed: the producer believes "
            f"they succeeded")


def reorder_back_to(seqno: int) -> str:
    return f"the reorder buffer goes back to #{seqno} to take the resends in order"


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


_SUFFIX = {1: "st", 2: "nd", 3: "rd"}


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else _SUFFIX.get(n % 10, "th")
    return f"{n}{suffix}"


def _kind_noun(kind: str) -> str:
    return {"data": "data packet", "ack": "ack", "nack": "nack"}.get(kind, f"{kind} packet")


def _packet(pkt) -> str:
    return f"packet {pkt.id}, {_lower(pkt.kind, pkt.msg)}"


def fault_scheduled(spec: str, pkt) -> str:
    """A scheduled packet fault (``ACTION:KIND:N[:+T]``, already validated) hits ``pkt``."""
    parts = spec.split(":")
    action = parts[0]
    which = f"the {_ordinal(int(parts[2]))} {_kind_noun(parts[1])} ({_packet(pkt)})"
    if action == "drop":
        return f"Scheduled fault: the network loses {which}"
    if action == "duplicate":
        return f"Scheduled fault: the network delivers {which} twice"
    return f"Scheduled fault: {which} is held back {parts[3].lstrip('+')} ms longer"


def fault_live(action: str, pkt, by: float = 0.0) -> str:
    """A live action on the packet in flight ``pkt``."""
    what = _lower(pkt.kind, pkt.msg)
    if action == "drop":
        return f"You dropped packet {pkt.id} in flight ({what})"
    if action == "delay":
        return f"You held packet {pkt.id} ({what}) back {by:g} ms longer"
    return f"You had the network make an extra copy of packet {pkt.id} ({what})"


_NODE_VERB = {"crash": ("crashes", "crashed", "crash", "down"),
              "restart": ("restarts", "restarted", "restart", "up")}


def fault_node(action: str, node: str, effective: bool, by_hand: bool) -> str:
    """A crash or restart of ``node``: scheduled, or done by hand (``by_hand``); not
    ``effective`` when the node is already in that state."""
    does, did, do, state = _NODE_VERB[action]
    if by_hand:
        if effective:
            return f"You {did} the {node}"
        return f"You {did} the {node}, but it was already {state}: nothing changes"
    if effective:
        return f"Scheduled fault: the {node} {does} now"
    return (f"Scheduled fault: the {node} should {do} now, but it is already {state}: nothing "
            f"changes")
