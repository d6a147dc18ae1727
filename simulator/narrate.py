"""Plain-language sentences for the event log, one small function per kind of event.

Kept cheap (f-strings only). A builder (``events.py``) keeps a sentence's function and its
arguments when it makes the event; the sentence itself is written only where the event leaves
the simulation (``events.tell``), so a run nobody reads writes none.
"""

from __future__ import annotations

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


def retry(msg: int, attempt: int, after: str, waited: float = 0.0) -> str:
    """``after``: "timeout" or "nack" (then ``waited``: the backoff since the nack)."""
    if after == "nack":
        return (f"Producer resends message {msg} after a nack, having backed off {waited:g} ms "
                f"(attempt {attempt})")
    return f"Producer resends message {msg} after a timeout (attempt {attempt})"


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
    "no_retry": {"data": "at-most-once never sends it again: the message is lost",
                 "ack": "the producer no longer waits for answers",
                 "nack": "the producer no longer waits for answers"},
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


def deliver(msg: int, duplicate: bool, out_of_order: bool, resend: bool = False) -> str:
    if resend:
        return (f"Message {msg} arrives at the consumer again: a resend, and no earlier copy of "
                f"it has been processed")
    if duplicate:
        return f"Message {msg} arrives at the consumer again (a duplicate)"
    if out_of_order:
        return f"Message {msg} arrives at the consumer, after a later message (out of order)"
    return f"Message {msg} arrives at the consumer"


def timeout(msg: int, attempt: int, wait: float) -> str:
    return (f"No answer for message {msg} (attempt {attempt}) within {wait:g} ms; the producer "
            f"cannot tell whether it was processed")


_EXPLAINED = {
    ("processed", "answer_lost"): "it had been processed; the answer was lost on the way back",
    ("processed", "answer_slow"): "it had been processed; the answer was still on its way back",
    ("lost", "dropped"): "it was lost on the way and never processed",
    ("lost", "crash"): "it was lost in a crash of the consumer and never processed",
    ("lost", "skipped"): "it came after the reorder buffer had skipped it and was never processed",
    ("lost", "failed"): "it reached the application, which failed to process it",
    ("lost", "discarded"): "its dedup key was recorded but its effect never applied: the copy "
                           "was discarded, never processed",
    ("late", "on_its_way"): "it was still on its way, and was processed after the timeout",
    ("late", "waiting"): "it was waiting in the consumer, and was processed after the timeout",
}


def timeout_explained(msg: int, attempt: int, verdict: str, detail: str) -> str:
    what = _EXPLAINED.get((verdict, detail), verdict)
    return f"Observer's hindsight on the timeout of message {msg} (attempt {attempt}): {what}"


def ack_send(msg: int, why: str) -> str:
    """``why``: done (after processing), processed (a copy of a message processed before),
    skipped (dropped by the reorder buffer without processing), discarded (its dedup key was
    recorded before an effect that never happened)."""
    if why == "done":  # the usual ack first
        return f"Consumer acks message {msg} after processing it"
    if why == "discarded":
        return (f"Consumer acks message {msg} without processing it: its dedup key says it was "
                f"done, but the effect was never applied; the message is lost")
    if why == "processed":
        return f"Consumer acks message {msg} again: it was processed before"
    if why == "skipped":
        return (f"Consumer acks message {msg} without processing it, so the producer stops "
                f"resending: the message is lost")
    return f"Consumer acks message {msg} after processing it"


def nack(msg: int) -> str:
    return (f"Consumer answers message {msg} with a nack: processing failed, and the producer "
            f"will know it for certain")


def ack_deliver(kind: str, msg: int, outcome: str, wait: float = 0.0,
                false_done: bool = False) -> str:
    if kind == "ack" and outcome == "done" and not false_done:  # the usual answer, in one go
        return f"Ack for message {msg} reaches the producer; message {msg} is done"
    what = _what(kind, msg)
    if outcome == "done":
        if false_done:
            return (f"{what} reaches the producer, which records message {msg} as done; the "
                    f"observer knows it was never processed: it is lost")
        return f"{what} reaches the producer; message {msg} is done"
    if outcome == "retry":
        return (f"{what} reaches the producer: a definite failure; it backs off {wait:g} ms, "
                f"then resends")
    if outcome == "dead_letter":
        return f"{what} reaches the producer: a definite failure, and no retries are left"
    if outcome == "older":
        return (f"{what} reaches the producer, which already sent it again and now waits for "
                f"the answer to that later attempt")
    return f"{what} reaches the producer, which no longer waits for it"


def _tries(attempts: int) -> str:
    return "1 attempt" if attempts == 1 else f"{attempts} attempts"


def give_up(msg: int, reason: str, attempts: int = 1) -> str:
    if reason == "producer_crash":
        return f"The crashed producer forgot message {msg}; it will never be resent"
    return (f"Producer gives up on message {msg} after {_tries(attempts)} without an answer; it "
            f"cannot tell whether the message was processed")


def dead_letter(msg: int, attempts: int) -> str:
    return (f"Message {msg} failed every attempt ({_tries(attempts)}, each answered with a nack): "
            f"a poison message, moved to the dead-letter queue for a person to look at")


def process(msg: int, duplicate: bool, balance: int, operation: str = "add",
            semantics: str = "", forgot: bool = False) -> str:
    if not duplicate:
        return f"Application processes message {msg}; balance {balance}"
    why = ""
    if semantics == "at-most-once":
        why = (" at-most-once names what the sender does (one send); the network made a copy, "
               "and this receiver does not deduplicate;")
    elif forgot:
        why = " the dedup store no longer remembered its id;"
    if operation == "idempotent":
        return (f"Application processes message {msg} again (a duplicate):{why} payment #{msg} "
                f"was already applied, so the balance stays {balance}")
    return (f"Application processes message {msg} AGAIN (a duplicate):{why} paid twice, balance "
            f"{balance}")


def process_fail(msg: int, nacks: bool) -> str:
    if nacks:
        return f"Application failed to process message {msg}; the consumer will answer with a nack"
    return (f"Application failed to process message {msg}; no answer goes back, so the "
            f"producer will time out")


def dedup_discard(msg: int, processed: bool = True) -> str:
    if not processed:
        return (f"Message {msg} is discarded by its id: the key was recorded before the effect, "
                f"and the effect never happened. The message is lost")
    return f"Message {msg} was already processed: discarded by its id, acked again"


def dedup_record(msg: int, when: str, durable: bool) -> str:
    if when == "before":
        return (f"Consumer records the dedup key of message {msg} before applying its effect: a "
                f"crash now would lose the effect (a resend would be discarded)")
    return (f"Consumer records the dedup key of message {msg} after applying its effect; until "
            f"now a crash would have repeated the effect")


def crash_in_window(msg: int, record: str, durable: bool) -> str:
    if record == "before":
        if durable:
            return (f"message {msg}'s dedup key was recorded but its effect never applied: a "
                    f"resend will be discarded, and the effect is lost")
        return (f"message {msg}'s dedup key was recorded before its effect, but the memory store "
                f"forgets it in the crash: a resend will be processed")
    return (f"message {msg}'s effect was applied but its dedup key not yet recorded: a resend "
            f"will be processed again")


def buffer(msg: int, seqno: int, expected: int, resends: bool = True) -> str:
    if not resends:
        return (f"Message {msg} (#{seqno}) waits in the reorder buffer for #{expected}; under "
                f"at-most-once a lost #{expected} will never come, so it waits until the gap "
                f"timeout")
    return f"Message {msg} (#{seqno}) waits in the reorder buffer for #{expected}"


def release(msg: int, seqno: int, held: bool) -> str:
    if held:
        return f"Reorder buffer releases message {msg} (#{seqno}): its turn has come"
    return f"Message {msg} (#{seqno}) is next in order and passes straight on"


def release_flush(msg: int, seqno: int) -> str:
    return f"Ordering changed: the reorder buffer lets message {msg} (#{seqno}) go"


def gap_skip(skipped: list[int], resends: bool = True) -> str:
    if len(skipped) == 1:
        head = f"Reorder buffer stops waiting for #{skipped[0]} and skips it"
        late = "if it comes later it will be dropped"
        never = "under at-most-once it was never coming"
    else:
        head = f"Reorder buffer stops waiting for #{skipped[0]}..#{skipped[-1]} and skips them"
        late = "if they come later they will be dropped"
        never = "under at-most-once they were never coming"
    return f"{head}; {late if resends else never}"


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
    from .application import PAYMENT

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
                        copy_of: str = "applied") -> str:
    """``why``: duplicate (a copy of a transition that was ``copy_of``: applied, parked or
    rejected before) or impossible."""
    if why == "duplicate":
        if copy_of == "parked":
            return (f"Order {order}: {name} is already parked, waiting to apply: this copy is "
                    f"rejected, no second payment")
        if copy_of == "rejected":
            return f"Order {order}: {name} was already rejected: this copy is rejected too"
        return f"Order {order}: {name} was already applied: rejected, no second payment"
    return (f"Order {order}: {name} can never apply to an order that is {state}: rejected. It "
            f"was a real transition, not a duplicate: the application loses its payment")


def count(n: int, thing: str) -> str:
    """``count(1, "packet")`` -> "1 packet", ``count(2, "packet")`` -> "2 packets"."""
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def crash(node: str, lost: list[str], notes: list[str] = ()) -> str:
    tail = f": lost {', '.join(lost)}" if lost else ""
    more = "".join(f"; {note}" for note in notes)
    return f"The {node} crashed{tail}{more}"


def reorder_back_to(seqno: int) -> str:
    return f"the reorder buffer goes back to #{seqno} to take the resends in order"


def restart(node: str) -> str:
    return f"The {node} is back"


def config_change(changes: dict, notes: list[str], labels: dict | None = None) -> str:
    """``labels``: field name -> the label the page shows."""
    if not changes:
        return "No setting changed"
    labels = labels or {}
    parts = [f"{labels.get(k, k)} {_v(old)} -> {_v(new)}" for k, (old, new) in changes.items()]
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
    if parts[2].startswith("msg="):
        which = f"the {_kind_noun(parts[1])} of message {pkt.msg}, attempt {pkt.attempt} " \
                f"(packet {pkt.id})"
    else:
        which = f"the {_ordinal(int(parts[2]))} {_kind_noun(parts[1])} ({_packet(pkt)})"
    if action == "drop":
        return f"Scheduled fault: the network loses {which}"
    if action == "duplicate":
        return f"Scheduled fault: the network delivers {which} twice"
    return f"Scheduled fault: {which} is held back {parts[-1].lstrip('+')} ms longer"


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
