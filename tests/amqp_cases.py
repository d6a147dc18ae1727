"""The AMQP 0-9-1 (RabbitMQ) fault cases, as one table for the model's tests and the broker's.

Each case publishes one message from a publisher through a broker (a direct exchange bound to
one queue) to one consumer. ``fault`` names what goes wrong, in words both sides can act on:

- ``lose:FRAME@H``: the first frame of that method on hop H is lost (hop 1: publisher <->
  broker, hop 2: broker <-> consumer); over TCP a lost frame is a dead connection, and the
  client connects again. ``basic.ack@1`` is the broker's publisher confirm, ``basic.ack@2`` the
  consumer's acknowledgement.
- ``crash-consumer:before-process``: the consumer process dies after the delivery reached it,
  before its application processed it; ``crash-consumer:after-process``: after processing,
  before it acknowledged. A new consumer starts after it.
- ``crash-broker:while-queued``: the message waits in the queue (no consumer yet) while the
  broker crashes (killed, not stopped) and starts again; the consumer starts after. A broker
  that crashed cannot tell which recovered messages it had delivered: it marks them all
  redelivered.

The publisher republishes what was not confirmed when its connection comes back (with publisher
confirms on); without confirms it cannot know, and republishes nothing. ``expect`` is what the
consumer's application processes: ``lost`` (never), ``once``, ``duplicate`` (twice), or
``returned`` (never, and the publisher was told by basic.return). ``redelivered`` is the flag of
each delivery the consumer got, in order. ``cite`` names the documentation it follows.
"""

from __future__ import annotations

from dataclasses import dataclass

CONFIRMS = "RabbitMQ docs, Consumer Acknowledgements and Publisher Confirms (confirms)"
RELIABILITY = "RabbitMQ docs, Reliability Guide (reliability)"
QUEUES = "RabbitMQ docs, Queues: durability (queues)"
SPEC = "AMQP 0-9-1, basic.publish mandatory / basic.return"


@dataclass(frozen=True)
class Case:
    name: str
    fault: str | None
    expect: str  # "lost", "once", "duplicate" or "returned"
    redelivered: tuple[bool, ...]  # the flag on each delivery the consumer got
    cite: str
    confirms: bool = True
    auto_ack: bool = False
    mandatory: bool = False
    routable: bool = True
    durable: bool = False  # a durable queue and a persistent message

    @property
    def id(self) -> str:
        return self.name


CASES = [
    Case("nothing-lost", None, "once", (False,), CONFIRMS),
    Case("publish-lost-no-confirms", "lose:basic.publish@1", "lost", (), CONFIRMS,
         confirms=False),
    Case("publish-lost-confirms", "lose:basic.publish@1", "once", (False,), CONFIRMS),
    Case("confirm-lost", "lose:basic.ack@1", "duplicate", (False, False), CONFIRMS),
    Case("deliver-lost-manual-ack", "lose:basic.deliver@2", "once", (True,), CONFIRMS),
    Case("deliver-lost-auto-ack", "lose:basic.deliver@2", "lost", (), CONFIRMS, auto_ack=True),
    Case("consumer-ack-lost", "lose:basic.ack@2", "duplicate", (False, True), CONFIRMS),
    Case("consumer-crash-before-process-auto-ack", "crash-consumer:before-process", "lost",
         (False,), CONFIRMS, auto_ack=True),
    Case("consumer-crash-before-process-manual-ack", "crash-consumer:before-process", "once",
         (False, True), CONFIRMS),
    Case("consumer-crash-after-process-manual-ack", "crash-consumer:after-process",
         "duplicate", (False, True), CONFIRMS),
    Case("unroutable-mandatory", None, "returned", (), SPEC, mandatory=True, routable=False),
    Case("unroutable-not-mandatory", None, "lost", (), SPEC, routable=False),
    Case("broker-crash-durable", "crash-broker:while-queued", "once", (True,), QUEUES,
         durable=True),
    Case("broker-crash-transient", "crash-broker:while-queued", "lost", (), QUEUES),
]


@dataclass
class Observed:
    """What one run of a case showed, the same whether a real broker or the model ran it."""

    processed: int  # times the consumer's application processed the message
    redelivered: tuple[bool, ...]  # the redelivered flag of each basic.deliver the consumer got
    returned: bool  # the publisher got basic.return for it
    wire: dict  # hop -> [(method, lost)] of basic.publish, basic.ack, basic.nack, basic.return,
    #             basic.deliver, in the order they went on the wire (lost: the one the fault lost)

    @property
    def outcome(self) -> str:
        if self.returned and self.processed == 0:
            return "returned"
        return {0: "lost", 1: "once"}.get(self.processed, "duplicate")
