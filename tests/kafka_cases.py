"""The Kafka fault cases, as one table for the model's tests and for librdkafka's mock cluster.

Each case produces a few records (``messages``, numbered from 1) from one producer to one
partition, which one consumer reads and whose application processes each record. ``fault``
names what goes wrong, in words both sides can act on:

- ``lose:Produce@1``: the first Produce request is lost on hop 1 (producer <-> broker): the
  broker never gets it. Over TCP a lost packet is a dead connection; the client connects again
  and the producer sends what was in flight again.
- ``lose:ProduceResponse@1``: the broker writes the record; its answer is lost.
- ``lose:FetchResponse@2``: the first FetchResponse (with record 1) is lost on hop 2.
- ``restart-producer:unacknowledged``: the producer dies after the broker wrote record 1 and
  before the answer reached it; the application starts a new producer, which gets a new
  producer id (PID), and sends record 1 again.
- ``refuse:Produce@2``: record 1 is acknowledged; the broker refuses record 2's first Produce
  request with NOT_ENOUGH_REPLICAS (a retriable error, nothing written) while record 3's request
  is already on its way.
- ``refuse:Produce@1``: the same for the producer's very first batch to the partition (record
  1), while record 2's request is on its way: the partition holds nothing yet for this PID.
- ``crash-consumer:after-commit``: commit before processing; the consumer dies after the broker
  confirmed its commit of record 1, before its application processed it. A new consumer reads on
  from the group's committed offset.
- ``crash-consumer:after-process``: commit after processing; the consumer dies after its
  application processed record 1, before its commit reached the broker.

``log`` is what the partition's log holds at the end (record numbers in offset order),
``processed`` what the consumer's application processed, in order; ``expect`` says it in one
word: ``once`` (each record once, in order), ``duplicate``, ``lost`` or ``reordered``.
``requests`` is how many Produce requests the producer sent and ``producer_ids`` how many
InitProducerId requests (every new producer asks for one; without idempotence none).
``cite`` names the documentation the case follows.
"""

from __future__ import annotations

from dataclasses import dataclass

KIP98 = ("KIP-98 (Exactly Once Delivery and Transactional Messaging): the idempotent producer, "
         "producer id and per-partition sequence numbers")
SEMANTICS = "Kafka documentation, Design 4.6: Message Delivery Semantics"
LIBRDKAFKA = ("librdkafka INTRODUCTION.md, Idempotent Producer: error handling of "
              "OUT_OF_ORDER_SEQUENCE_NUMBER (drain, bump the epoch, retry); the idempotent "
              "producer bumps its own epoch (rdkafka_idempotence.c)")
NO_STATE = ("Kafka's ProducerAppendInfo.checkSequence: a producer id the partition holds no "
            "state for may start at any sequence")
IMPLICIT_ACK = ("librdkafka rd_kafka_handle_idempotent_Produce_success: an acknowledgement of a "
                "later sequence acknowledges the records before it (rd_kafka_dr_implicit_ack)")
PRODUCER_CONFIGS = ("Kafka documentation, Producer Configs: enable.idempotence, acks, "
                    "max.in.flight.requests.per.connection")


@dataclass(frozen=True)
class Case:
    name: str
    fault: str | None
    messages: int
    expect: str  # "once", "duplicate", "lost" or "reordered"
    log: tuple[int, ...]  # the partition's log: record numbers in offset order
    processed: tuple[int, ...]  # what the consumer's application processed, in order
    requests: int  # Produce requests the producer sent
    producer_ids: int  # InitProducerId requests
    cite: str
    idempotent: bool = True
    commit: str = "after"

    @property
    def id(self) -> str:
        return self.name


CASES = [
    Case("nothing-lost", None, 3, "once", (1, 2, 3), (1, 2, 3), 3, 1, KIP98),
    Case("produce-lost-idempotent", "lose:Produce@1", 1, "once", (1,), (1,), 2, 1,
         f"{SEMANTICS}: the producer resends what it has no answer for"),
    Case("produce-lost-not-idempotent", "lose:Produce@1", 1, "once", (1,), (1,), 2, 0,
         f"{SEMANTICS}: a resend of a record the broker never got writes it once",
         idempotent=False),
    Case("response-lost-idempotent", "lose:ProduceResponse@1", 1, "once", (1,), (1,), 2, 1,
         f"{KIP98}: the broker takes a retried batch with a sequence it has as a duplicate and "
         f"writes nothing; {SEMANTICS}"),
    Case("response-lost-not-idempotent", "lose:ProduceResponse@1", 1, "duplicate", (1, 1),
         (1, 1), 2, 0,
         f"{SEMANTICS}: without idempotence a resend after a lost answer writes the record "
         f"twice", idempotent=False),
    Case("producer-restart-idempotent", "restart-producer:unacknowledged", 1, "duplicate",
         (1, 1), (1, 1), 2, 2,
         f"{KIP98}: idempotence holds within one producer session; a new producer gets a new "
         f"PID, and the broker does not take its records as repeats of the old one's"),
    Case("producer-restart-not-idempotent", "restart-producer:unacknowledged", 1, "duplicate",
         (1, 1), (1, 1), 2, 0, SEMANTICS, idempotent=False),
    Case("sequence-gap-idempotent", "refuse:Produce@2", 3, "once", (1, 2, 3), (1, 2, 3), 5, 1,
         f"{KIP98}: a sequence that skips ahead is refused with OUT_OF_ORDER_SEQUENCE_NUMBER; "
         f"{LIBRDKAFKA}; {PRODUCER_CONFIGS}"),
    Case("sequence-gap-not-idempotent", "refuse:Produce@2", 3, "reordered", (1, 3, 2),
         (1, 3, 2), 4, 0,
         f"{PRODUCER_CONFIGS}: with more than one request in flight and retries, a failed "
         f"batch sent again lands behind the next one", idempotent=False),
    Case("first-batch-refused-idempotent", "refuse:Produce@1", 2, "lost", (2,), (2,), 2, 1,
         f"{NO_STATE}; {IMPLICIT_ACK}"),
    Case("fetch-response-lost", "lose:FetchResponse@2", 1, "once", (1,), (1,), 1, 1,
         f"{SEMANTICS}: the consumer fetches again from its position"),
    Case("consumer-crash-commit-before", "crash-consumer:after-commit", 1, "lost", (1,), (),
         1, 1,
         f"{SEMANTICS}: read, save the position, then process: at most once", commit="before"),
    Case("consumer-crash-commit-after", "crash-consumer:after-process", 1, "duplicate", (1,),
         (1, 1), 1, 1,
         f"{SEMANTICS}: read, process, then save the position: at least once", commit="after"),
]


def outcome(processed: tuple[int, ...], messages: int) -> str:
    """``processed`` in one word, for records 1..messages."""
    counts = [processed.count(m) for m in range(1, messages + 1)]
    if any(n == 0 for n in counts):
        return "lost"
    if any(n > 1 for n in counts):
        return "duplicate"
    return "once" if list(processed) == sorted(processed) else "reordered"


@dataclass
class Observed:
    """What one run of a case showed, the same whether the mock cluster or the model ran it."""

    log: tuple[int, ...]
    processed: tuple[int, ...]
    requests: int
    producer_ids: int

    def outcome(self, messages: int) -> str:
        return outcome(self.processed, messages)
