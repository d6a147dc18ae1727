"""The sentences of an AMQP run, one small function per happening. An event keeps the function
and its arguments; the sentence is written only where the event leaves the simulation."""

from __future__ import annotations


def _msgs(msgs) -> str:
    msgs = list(msgs)
    return ("message " if len(msgs) == 1 else "messages ") + ", ".join(map(str, msgs))


def _tag(tag: int | None) -> str:
    return f"delivery tag {tag}" if tag is not None else ""


def open_(client: str, first: bool, setup: str) -> str:
    again = "" if first else " again"
    return f"The {client} opens a connection to the broker{again}: {setup}"


def open_ok(client: str, tags: str) -> str:
    return f"The broker accepts the {client}'s connection and channel: {tags}"


def publish(msg: int, tag: int | None, again: str, marks: tuple, confirms: bool) -> str:
    notes = list(marks)
    if tag is not None:
        notes.append(f"number {tag} on this channel: its confirm will carry {_tag(tag)}")
    inside = f" ({'; '.join(notes)})" if notes else ""
    tail = f" {again}" if again else ""
    blind = "" if confirms else "; no confirms: it will not know whether the broker got it"
    return f"The publisher publishes message {msg}{inside}{tail}{blind}"


def confirm(msgs: list[int], tag: int, multiple: bool) -> str:
    if multiple:
        return (f"The broker confirms {_msgs(msgs)} at once: basic.ack with {_tag(tag)}, "
                f"multiple=true (every tag up to {tag} not yet confirmed)")
    return f"The broker confirms message {msgs[0]} (basic.ack, {_tag(tag)})"


def nack(msg: int, tag: int, why: str) -> str:
    return f"The broker refuses message {msg} (basic.nack, {_tag(tag)}): {why}"


def return_(msg: int) -> str:
    return (f"The broker returns message {msg} to the publisher (basic.return, 312 NO_ROUTE): "
            f"it was published with mandatory and no queue is bound for it")


def deliver(msg: int, tag: int, redelivered: bool, auto_ack: bool) -> str:
    flag = "redelivered=true" if redelivered else "redelivered=false"
    tail = ("; automatic ack: the broker counts it delivered and forgets it now" if auto_ack
            else "; it stays unacknowledged until the consumer acks it")
    return f"The broker delivers message {msg} to the consumer ({_tag(tag)}, {flag}){tail}"


def consumer_ack(msg: int, tag: int) -> str:
    return (f"The consumer acknowledges {_tag(tag)} (message {msg}): the broker may forget "
            f"the message")


def arrive(kind: str, node: str, msg: int | None, tag: int | None, outcome: str) -> str:
    what = kind if msg is None else f"{kind} for message {msg}"
    if tag is not None:
        what += f" (number {tag} on its channel)" if kind == "basic.publish" else \
            f" ({_tag(tag)})"
    return f"{what} reaches the {node}{outcome}"


def disconnect(client: str, why: str, closes: str) -> str:
    return (f"The connection between the {client} and the broker drops ({why}); both sides see "
            f"it closed, and what was on the wire dies with it{closes}")


def queued(msg: int, why: str) -> str:
    return f"Message {msg} waits at the publisher: {why}"


def route(msg: int, exchange: str, waits: bool, persistent: bool) -> str:
    how = ("the fanout exchange copies it to every bound queue (one here)" if exchange == "fanout"
           else "the direct exchange routes it by its routing key to the bound queue")
    where = ("; it waits there until the consumer can take it" if waits else "")
    disk = "; persistent: it will be written to disk" if persistent else ""
    return f"The broker takes message {msg}: {how}{disk}{where}"


def unroutable(msg: int, exchange: str, returned: bool, confirms: bool) -> str:
    head = f"No queue is bound to the {exchange} exchange for message {msg}: it is unroutable"
    if returned:
        return head + "; mandatory: the broker returns it to the publisher" + (
            ", then confirms it" if confirms else "")
    return head + (" and dropped; the broker confirms it all the same, so the publisher "
                   "thinks it is done" if confirms else " and silently dropped")


def rejected(msg: int, limit: int, confirms: bool) -> str:
    head = (f"The queue holds {limit} ready messages, its limit (overflow reject-publish): "
            f"message {msg} is refused")
    return head + ("; the broker nacks it" if confirms else
                   "; without confirms the publisher is not told")


def disk_write(msgs: list[int], confirms: int) -> str:
    tail = "; now it confirms them" if confirms > 1 else "; now it confirms it" if confirms \
        else ""
    return f"The broker has written {_msgs(msgs)} to disk{tail}"


def requeue(msgs: list[int], why: str) -> str:
    places = "its place" if len(msgs) == 1 else "their places"
    return (f"The broker puts {_msgs(msgs)} back in the queue, in {places}, marked "
            f"redelivered ({why})")


def discarded(msgs: list[int], auto_ack: bool) -> str:
    tail = ("automatic ack: the broker forgot them, so they are lost" if auto_ack else
            "the broker has requeued them and will deliver them again")
    return (f"The consumer's channel closed: its client drops the deliveries its application "
            f"had not started ({_msgs(msgs)}); {tail}")


def cannot_ack(msg: int, tag: int) -> str:
    return (f"The application has processed message {msg}, but the channel of {_tag(tag)} is "
            f"closed: the ack cannot be sent, and the broker has requeued the message")


def process(msg: int, duplicate: bool, redelivered: bool) -> str:
    flag = "it came with redelivered=true" if redelivered else ""
    if duplicate:
        return (f"The application processes message {msg} again (a duplicate"
                + (f"; {flag})" if flag else ")"))
    return f"The application processes message {msg}" + (f" ({flag})" if flag else "")
