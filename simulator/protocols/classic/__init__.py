"""The classic model, the first protocol: a producer and a consumer joined by one network link.

The producer sends data packets and, under at-least-once and exactly-once, waits for an answer
(an ack, or a nack on a processing failure), resends on a timeout, and gives up after its
retries. The consumer deduplicates (exactly-once), restores order (sequence numbers or a state
machine) and hands messages to its application. The behaviours live in ``simulator/producer.py``,
``consumer.py``, ``application.py``, ``ordering.py``, ``machine.py``, ``dedup.py`` and
``hindsight.py``; this module tells the engine how they fit: the topology, the node behaviours,
live reconfiguration, the view, the counters and what the page draws (``manifest.py``).

Its one link keeps fate key 0 in both directions (data one way, answers the other), so every
seeded run gives the same events as before links existed.
"""

from __future__ import annotations

from ... import events as E
from ... import narrate
from ...advice import advice, retry_horizon
from ...config import Config
from ...consumer import Consumer
from ...hindsight import Hindsight
from ...live import apply_config, data_sent
from ...producer import Producer
from ...protocol import Protocol
from ...semantics import semantics_for
from ...topology import Link, Node, Topology
from .. import register
from . import manifest

ANSWER_KINDS = ("ack", "nack")


class Classic(Protocol):
    name = "classic"
    title = "Producer, network, consumer"
    short = "Plain model"
    packet_kinds = ("data", "ack", "nack")
    event_types = E.EVENT_TYPES
    drop_types = {"ack": E.ACK_DROP, "nack": E.ACK_DROP}
    lanes = manifest.LANES
    marks = manifest.MARKS
    event_meta = manifest.EVENT_TYPES
    page = getattr(manifest, "PAGE", {})

    def topology(self, config: Config) -> Topology:
        loss = {"data": config.loss, "ack": config.ack_loss, "nack": config.ack_loss}
        lat = (config.latency_min, config.latency_max)
        return Topology(
            [Node("producer", "producer", "Producer", "sender"),
             Node("consumer", "consumer", "Consumer", "receiver")],
            [Link("producer", "consumer", *lat, loss=loss, duplicate=config.duplicate, key=0),
             Link("consumer", "producer", *lat, loss=loss, duplicate=config.duplicate, key=0)])

    def message_packet(self, role: str, options: dict) -> tuple[str, None] | None:
        return {"delivery": ("data", None), "answer": ("ack", None)}.get(role)

    def build_nodes(self, sim) -> dict:
        sim.semantics = semantics_for(sim.config.semantics)
        sim.producer = Producer(sim)
        sim.consumer = Consumer(sim)
        sim.hindsight = Hindsight(sim)
        return {"producer": sim.producer, "consumer": sim.consumer}

    def start(self, sim) -> None:
        if sim.producer.more():
            sim.producer.arm(0.0)

    def apply_config(self, sim, new: Config, changes: dict) -> None:
        apply_config(sim, new, changes)

    def already_sent(self, sim, kind: str, msg: int, attempt: int, hop=None) -> bool:
        return kind == "data" and data_sent(sim, msg, attempt)

    def drop_text(self, sim, pkt, reason: str) -> str:
        return narrate.drop(pkt, reason, sim.producer.outlook(pkt))

    def drop_words(self, sim, pkt, reason: str) -> tuple:
        # What the loss means to the producer is known now, not when the event is told.
        return (narrate.drop, pkt, reason, sim.producer.outlook(pkt))

    def packet_lost(self, sim, pkt, reason: str) -> None:
        if pkt.kind == "data":
            sim.hindsight.copy_lost(pkt.msg, "crash" if reason == "node_down" else "dropped")

    def in_play(self, sim) -> int:
        """Messages sent but not processed whose story is not over yet.

        A message is in play while the producer awaits an answer for it, a data packet of it is
        on the wire, or the consumer holds it. Counting these apart keeps ``lost`` honest
        mid-run: a message on its way is not lost yet. At the end of a run none is in play.
        """
        ids = set(sim.producer.pending)
        ids.update(p.msg for p in sim.network.inflight.values() if p.kind == "data")
        ids.update(sim.consumer.holding())
        processed = sim.consumer.was_processed
        return sum(1 for m in ids if not processed(m))

    def view(self, sim) -> dict:
        c = sim.consumer.view()
        return {
            "now": sim.now,
            "in_flight": [p.view() for p in sim.network.inflight.values()],
            "nodes": {"producer": {"crashed": not sim.producer.up},
                      "consumer": {"crashed": not sim.consumer.up}},
            "producer": sim.producer.view(),
            "consumer": {"crashed": c["crashed"]},
            "reorder": c["reorder"],
            "dedup": c["dedup"],
            "machine": c["machine"],
            "balance": sim.consumer.app.account.balance,
            "expected_balance": sim.tally.expected_balance(),
            **_advice(sim),
        }

    def summary(self, sim) -> dict:
        return sim.tally.summary(sim)

    def weight(self, sim) -> int:
        consumer = sim.consumer
        return (len(sim.producer.pending) + len(consumer.app.queue) + len(consumer.dedup)
                + len(sim.hindsight.waiting) + len(consumer.flags) // 50)


def _advice(sim) -> dict:
    """The retry horizon and the settings' advice: worked out again only when the settings
    change, not for every view (a frame asks for one at every tick)."""
    cached = sim.__dict__.get("_advised")
    if cached is None or cached[0] is not sim.config:
        cfg = sim.config
        cached = sim._advised = (cfg, {"horizon": {"retry_ms": retry_horizon(cfg),
                                                   "gap_timeout": cfg.gap_timeout},
                                       "advice": advice(cfg)})
    return cached[1]


CLASSIC = register(Classic())
