"""A toy protocol for the tests: a relay between the producer and the consumer.

It proves the seam: a protocol added as a package of its own runs through the engine, the
server and the page without a change to their code. The producer sends each message once to
the relay, the relay forwards what reaches it to the consumer, the consumer takes it. Two
links, two hops, each drawing its own fate. Nothing is acknowledged or retried.

Load it with ``PROTOCOL_MODULES=tests.toy_relay PROTOCOL=relay`` (server) or
``--protocol-module tests.toy_relay --protocol relay`` (CLI).
"""

from __future__ import annotations

from simulator import events as E
from simulator.agenda import Timer
from simulator.config import Config
from simulator.protocol import NodeBehaviour, Protocol
from simulator.protocols import register
from simulator.topology import Link, Node, Topology

FORWARD = "forward"
ARRIVE = "arrive"


class Sender(NodeBehaviour):
    def __init__(self, sim):
        self.sim = sim
        self.up = True
        self.next_msg = 1
        self.timer = Timer()

    def more(self) -> bool:
        limit = self.sim.config.messages
        return limit == 0 or self.next_msg <= limit

    def arm(self, at: float) -> None:
        self.timer.version += 1
        self.sim.schedule(at, 5, self.on_due, self.timer, self.timer.version)

    def on_due(self, _timer, _version) -> None:
        sim = self.sim
        msg = self.next_msg
        self.next_msg += 1
        sim.network.transmit(E.SEND, "producer", f"The producer sends message {msg} to the relay.",
                             "data", msg, 1, 0, "producer", "relay", msg, None)
        if self.more():
            self.arm(sim.now + sim.config.interval)

    def on_packet(self, pkt) -> None:  # nothing comes back in this toy
        pass

    def after_crash(self, crash_seq: int) -> None:
        self.timer.version += 1

    def restart(self) -> None:
        self.up = True
        if self.more():
            self.arm(self.sim.now)


class Relay(NodeBehaviour):
    def __init__(self, sim):
        self.sim = sim
        self.up = True

    def on_packet(self, pkt) -> None:
        arrived = self.sim.emit(ARRIVE, "relay", f"Message {pkt.msg} reaches the relay.",
                                pkt.msg, pkt.id, pkt.attempt, pkt.send_seq,
                                {"kind": pkt.kind, "from": pkt.src, "to": pkt.dst,
                                 "node": "relay"})
        self.sim.network.transmit(FORWARD, "relay",
                                  f"The relay forwards message {pkt.msg} to the consumer.",
                                  "data", pkt.msg, pkt.attempt, pkt.copy, "relay", "consumer",
                                  pkt.seqno, arrived)


class Sink(NodeBehaviour):
    def __init__(self, sim):
        self.sim = sim
        self.up = True
        self.received: list[int] = []

    def on_packet(self, pkt) -> None:
        self.received.append(pkt.msg)
        self.sim.emit(E.DELIVER, "consumer", f"Message {pkt.msg} reaches the consumer.",
                      pkt.msg, pkt.id, pkt.attempt, pkt.send_seq,
                      {"kind": pkt.kind, "from": pkt.src, "to": pkt.dst, "node": "consumer"})


class ToyRelay(Protocol):
    name = "relay"
    title = "Producer, relay, consumer (a toy)"
    packet_kinds = ("data",)
    event_types = (E.SEND, ARRIVE, FORWARD, E.NET_DUPLICATE, E.DROP, E.DELIVER, E.CRASH, E.RESTART,
                   E.CONFIG_CHANGE, E.FAULT_INJECTED)
    fields = ("seed", "messages", "interval", "latency_min", "latency_max", "loss", "duplicate",
              "faults")
    lanes = ({"id": "producer", "label": "Producer"}, {"id": "network", "label": "Network"},
             {"id": "relay", "label": "Relay"}, {"id": "consumer", "label": "Consumer"})
    marks = {
        "send": {"shape": "circle", "fill": "solid", "color": "blue", "arrow": "solid",
                 "label": "Send", "help": "the producer sends a message to the relay"},
        "arrive": {"shape": "arrowhead", "fill": "open", "color": "blue",
                   "label": "At the relay", "help": "the message reached the relay"},
        "forward": {"shape": "diamond", "fill": "solid", "color": "orange", "arrow": "dashed",
                    "label": "Forward", "help": "the relay passes the message on"},
        "drop": {"shape": "cross", "fill": "open", "color": "vermillion", "cuts": "send",
                 "label": "Drop", "help": "a hop lost the packet"},
        "deliver": {"shape": "arrowhead", "fill": "solid", "color": "blue",
                    "label": "Delivered", "help": "the message reached the consumer"},
        "net_duplicate": {"shape": "rings", "fill": "open", "color": "violet",
                          "arrow": "dotted", "label": "Network duplicate",
                          "help": "a hop made an extra copy"},
        "crash": {"shape": "bolt", "fill": "solid", "color": "vermillion", "label": "Crash",
                  "help": "a node went down"},
        "restart": {"shape": "circular_arrow", "fill": "open", "color": "green",
                    "label": "Restart", "help": "the node is back"},
        "fault": {"shape": "asterisk", "fill": "open", "color": "white",
                  "label": "Injected fault", "help": "a fault you or the schedule caused"},
    }
    event_meta = {
        E.SEND: {"mark": "send", "name": "Send", "packet": "start"},
        ARRIVE: {"mark": "arrive", "name": "At the relay", "packet": "end"},
        FORWARD: {"mark": "forward", "name": "Forward", "packet": "start"},
        E.NET_DUPLICATE: {"mark": "net_duplicate", "name": "Network duplicate",
                          "packet": "start"},
        E.DROP: {"mark": "drop", "name": "Drop", "packet": "end", "lost": True},
        E.DELIVER: {"mark": "deliver", "name": "Delivered", "packet": "end"},
        E.CRASH: {"mark": "crash", "name": "Crash", "downtime": "start"},
        E.RESTART: {"mark": "restart", "name": "Restart", "downtime": "end"},
        E.CONFIG_CHANGE: {"mark": None, "name": "Setting changed", "line": "config"},
        E.FAULT_INJECTED: {"mark": "fault", "name": "Injected fault"},
    }

    def topology(self, config: Config) -> Topology:
        lat = (config.latency_min, config.latency_max)
        hop = {"loss": {"data": config.loss}, "duplicate": config.duplicate}
        return Topology(
            [Node("producer", "producer", "Producer", "sender"),
             Node("relay", "relay", "Relay", "relay"),
             Node("consumer", "consumer", "Consumer", "receiver")],
            [Link("producer", "relay", *lat, **hop), Link("relay", "consumer", *lat, **hop)])

    def build_nodes(self, sim) -> dict:
        return {"producer": Sender(sim), "relay": Relay(sim), "consumer": Sink(sim)}

    def start(self, sim) -> None:
        if sim.nodes["producer"].more():
            sim.nodes["producer"].arm(0.0)

    def in_play(self, sim) -> int:
        return len({p.msg for p in sim.network.inflight.values()})


RELAY = register(ToyRelay())
