"""The sentences of a Kafka run, one small function per happening. An event keeps the function
and its arguments; the sentence is written only where the event leaves the simulation."""

from __future__ import annotations

ERRORS = {
    "NOT_ENOUGH_REPLICAS": "too few replicas are in sync for acks=all, so nothing is written; "
                           "a retriable error",
    "OUT_OF_ORDER_SEQUENCE_NUMBER": "the sequence number is not the next one the partition "
                                    "expects from this producer, so nothing is written",
    "INVALID_PRODUCER_EPOCH": "the batch carries an epoch older than the producer's latest",
}


def _header(pid: int | None, epoch: int | None, seq: int | None) -> str:
    if pid is None:
        return "no producer id: idempotence is off"
    return f"PID {pid}, epoch {epoch}, sequence {seq}"


def _records(records: list) -> str:
    if len(records) == 1:
        offset, msg = records[0]
        return f"record {msg} (offset {offset})"
    first, last = records[0][0], records[-1][0]
    msgs = ", ".join(str(m) for _, m in records)
    return f"records {msgs} (offsets {first} to {last})"


def produce(msg: int, pid: int | None, epoch: int | None, seq: int | None, retry: bool,
            why: str) -> str:
    again = " again" if retry else ""
    tail = f": {why}" if why else ""
    return (f"The producer sends record {msg}{again} in a Produce request "
            f"({_header(pid, epoch, seq)}, acks=all){tail}")


def produce_response(msg: int, error: str | None, offset: int | None, duplicate: bool,
                     expected: int | None) -> str:
    if error is None and duplicate:
        return (f"The broker answers record {msg}'s Produce with the offset it was written at "
                f"before, {offset}: a retry of a batch it already has, written nothing")
    if error is None:
        return f"The broker answers record {msg}'s Produce: written at offset {offset}"
    why = ERRORS.get(error, "")
    if error == "OUT_OF_ORDER_SEQUENCE_NUMBER" and expected is not None:
        why = f"it expects sequence {expected} next from this producer, so nothing is written"
    return f"The broker answers record {msg}'s Produce with {error}: {why}"


def init_producer_id() -> str:
    return "The producer asks the broker for a producer id (InitProducerId)"


def init_producer_id_response(pid: int, epoch: int) -> str:
    return f"The broker answers with a new producer id: PID {pid}, epoch {epoch}"


def fetch(offset: int) -> str:
    return f"The consumer fetches from offset {offset}"


def fetch_response(records: list) -> str:
    return f"The broker sends {_records(records)} to the consumer"


def offset_commit(offset: int, msg: int | None, commit: str) -> str:
    when = ("before processing it" if commit == "before" else "after processing it")
    about = f", for record {msg}, {when}" if msg else ""
    return (f"The consumer commits offset {offset} (the next offset to read) for its "
            f"group{about}")


def offset_commit_response(offset: int) -> str:
    return f"The broker has stored offset {offset} as the group's committed offset"


def offset_fetch() -> str:
    return "The consumer asks the broker for its group's committed offset (OffsetFetch)"


def offset_fetch_response(offset: int | None) -> str:
    if offset is None:
        return ("The broker answers: no offset committed for the group (with "
                "auto.offset.reset=earliest the consumer starts at offset 0)")
    return f"The broker answers: the group's committed offset is {offset}"


PACKETS = {
    "Produce": produce,
    "ProduceResponse": produce_response,
    "InitProducerId": init_producer_id,
    "InitProducerIdResponse": init_producer_id_response,
    "Fetch": fetch,
    "FetchResponse": fetch_response,
    "OffsetCommit": offset_commit,
    "OffsetCommitResponse": offset_commit_response,
    "OffsetFetch": offset_fetch,
    "OffsetFetchResponse": offset_fetch_response,
}


def packet(kind: str, *args) -> str:
    return PACKETS[kind](*args)


def arrive(kind: str, node: str, msg: int | None, outcome: str) -> str:
    what = f"{kind} for record {msg}" if msg else kind
    return f"{what} reaches the {node}{outcome}"


def connect(client: str, first: bool) -> str:
    again = "" if first else " again"
    return f"The {client} connects to the broker{again}"


def disconnect(client: str, why: str) -> str:
    return (f"The connection between the {client} and the broker drops ({why}); both sides see "
            f"it closed, and what was on the wire dies with it")


def append(msg: int, offset: int, pid: int | None, epoch: int | None, seq: int | None,
           copies: int) -> str:
    head = f"The broker writes record {msg} at offset {offset} ({_header(pid, epoch, seq)})"
    if copies > 1:
        return head + f": the log now holds record {msg} {copies} times, a duplicate"
    return head


def dedup(msg: int, pid: int, epoch: int, seq: int, offset: int) -> str:
    return (f"Record {msg}'s batch (PID {pid}, epoch {epoch}, sequence {seq}) matches one of the "
            f"last 5 batches the partition keeps for this producer: it was written at offset "
            f"{offset} already, so the broker writes nothing and answers with that offset")


def reject(msg: int, error: str, seq: int | None, expected: int | None) -> str:
    if error == "OUT_OF_ORDER_SEQUENCE_NUMBER":
        return (f"The broker refuses record {msg}'s batch: sequence {seq} is not the {expected} "
                f"it expects next from this producer (OUT_OF_ORDER_SEQUENCE_NUMBER); nothing "
                f"is written")
    return f"The broker refuses record {msg}'s batch with {error}: {ERRORS.get(error, '')}"


def drain(why: str, waiting: int) -> str:
    wait = (f"it waits for the answers to its {waiting} request{'s' if waiting != 1 else ''} "
            f"in flight" if waiting else "nothing is in flight")
    return f"The producer stops sending ({why}): {wait}, then goes on in order"


def epoch_bump(pid: int, epoch: int, again: list[int]) -> str:
    listed = ", ".join(map(str, again))
    return (f"Every request is answered: the producer bumps its own epoch to {epoch} (PID {pid} "
            f"stays; the broker learns the epoch from the next batch) and numbers the "
            f"record{'s' if len(again) != 1 else ''} not yet acknowledged ({listed}) again from "
            f"sequence 0")


def request_timeout(msg: int, waited: float) -> str:
    return (f"No answer to record {msg}'s Produce after {waited:g} ms: the producer closes the "
            f"connection, and will resend what was in flight")


def fatal(msg: int, seq: int) -> str:
    return (f"OUT_OF_ORDER_SEQUENCE_NUMBER for record {msg} (sequence {seq}), the oldest batch "
            f"not yet acknowledged: the producer and the broker disagree on the sequence, a "
            f"fatal error; the application closes this producer and sends what was not "
            f"acknowledged with a new one (a new PID)")


def implied(msgs: list[int]) -> str:
    listed = ", ".join(map(str, msgs))
    one = len(msgs) == 1
    return (f"; it takes record{'' if one else 's'} {listed}, produced before and waiting to be "
            f"sent again, as written too (an acknowledgement of a later sequence implies the "
            f"earlier ones, as librdkafka reads it) and reports {'it' if one else 'them'} "
            f"delivered")


def queued(msg: int, why: str) -> str:
    return f"The application produces record {msg}; it waits in the producer: {why}"


def app_receive(msg: int, offset: int, duplicate: bool) -> str:
    again = " again: a duplicate" if duplicate else ""
    return f"The consumer hands record {msg} (offset {offset}) to its application{again}"


def process(msg: int, duplicate: bool) -> str:
    if duplicate:
        return f"The application processes record {msg} a second time (a duplicate)"
    return f"The application processes record {msg}"
