"""The AMQP 0-9-1 preset (RabbitMQ): a publisher, a broker and a consumer, method by method.

Two hops, each one TCP connection with fates of its own: the publisher's to the broker (hop 1)
and the consumer's (hop 2). The broker's exchange routes to one queue; the rules of publisher
confirms, ``mandatory``, acknowledgements, prefetch, requeueing and durability are in
``nodes.py``; what the page draws in ``manifest.py``. Its options (``OPTIONS``) are its own
knobs; the run's semantics and ordering settings mean nothing here: confirms and the ack mode say
what each hop guarantees.

Faults name frames by AMQP method and hop: ``drop:basic.ack:1:hop=1`` loses the first publisher
confirm, ``drop:basic.ack:1:hop=2`` the consumer's first acknowledgement,
``drop:basic.deliver:msg=3:hop=2`` message 3's first delivery; ``crash:broker@3000`` the broker.
"""

from __future__ import annotations

from ... import events as E
from ...config import Field
from .. import register, tcp
from ..brokered import Brokered, hop_options
from . import manifest
from . import nodes as N
from . import words as W
from .nodes import ACK, DELIVER, FLOW_KINDS, KINDS, OPEN, PUBLISH

EXCHANGES = ("direct", "fanout")

OPTIONS: tuple[Field, ...] = (
    Field("confirms", "bool", True, "Publisher confirms",
          "confirm.select: the broker answers every message with basic.ack or basic.nack; the "
          "publisher publishes again what was not confirmed when its connection dropped."),
    Field("max_unconfirmed", "int", 10, "Unconfirmed limit",
          "The most messages the publisher keeps unconfirmed at once; more wait their turn "
          "(0 = no limit; with confirms only).", 0, 1000, advanced=True),
    Field("auto_ack", "bool", False, "Automatic ack",
          "The broker forgets a message as it delivers it (at most once on hop 2); off: the "
          "consumer acks after processing, and unacked deliveries are requeued (at least once)."),
    Field("prefetch", "int", 10, "Prefetch",
          "basic.qos: the most unacknowledged deliveries on the consumer's channel (0 = no "
          "limit; manual ack only).", 0, 1000),
    Field("durable", "bool", False, "Durable queue, persistent messages",
          "Messages are written to disk and survive a broker crash; off: a transient queue, "
          "in memory only."),
    Field("mandatory", "bool", False, "Mandatory",
          "An unroutable message comes back to the publisher with basic.return; off: it is "
          "dropped (and still confirmed)."),
    Field("exchange", "choice", "direct", "Exchange",
          "direct: routes by routing key to the queue bound with it; fanout: to every bound "
          "queue (one here).", choices=EXCHANGES),
    Field("bound", "bool", True, "Queue bound",
          "The queue is bound to the exchange (for direct, with the messages' routing key); "
          "off: every message is unroutable."),
    Field("max_length", "int", 0, "Queue length limit",
          "x-max-length with overflow reject-publish: while the queue holds this many ready "
          "messages, new ones are refused (basic.nack with confirms). 0 = no limit.", 0, 10_000,
          advanced=True),
    *hop_options("publisher", "consumer", "frame", 0.06),
)


class State:
    """What a run of this protocol keeps beside its nodes."""

    def __init__(self):
        self.hops = {1: tcp.Hop(1, "publisher", "broker"), 2: tcp.Hop(2, "consumer", "broker")}
        self.sends: dict[tuple, int] = {}  # (node, to, kind, msg) -> frames sent: the attempt
        self.disconnects = 0
        self.started = False


class Amqp(Brokered):
    name = "amqp"
    title = "AMQP 0-9-1 (RabbitMQ): publisher, broker, consumer"
    short = "AMQP"
    packet_kinds = KINDS
    options = OPTIONS
    sender, sender_label = "publisher", "Publisher"
    receiver, receiver_label = "consumer", "Consumer"
    lossy_kinds = FLOW_KINDS
    connect_kinds = (OPEN,)
    unnumbered_kinds = (OPEN, N.OPEN_OK)
    unit = "frame"
    event_types = N.PACKET_TYPES + (
        N.ARRIVE, E.DROP, N.DISCONNECT, N.QUEUED, N.ROUTE, N.UNROUTABLE, N.REJECTED,
        N.DISK_WRITE, N.REQUEUE, N.DISCARDED, N.CANNOT_ACK, N.PROCESS, E.CRASH, E.RESTART,
        E.CONFIG_CHANGE, E.FAULT_INJECTED)
    link_lanes = manifest.LINK_LANES
    lanes = manifest.LANES
    marks = manifest.MARKS
    event_meta = manifest.EVENT_TYPES
    page = manifest.PAGE

    # --- shape --------------------------------------------------------------------------------
    def message_packet(self, role: str, options: dict) -> tuple[str, int] | None:
        """A delivery is basic.deliver on hop 2; its answer the consumer's basic.ack (none
        with automatic ack)."""
        if role == "delivery":
            return (DELIVER, 2)
        return (ACK, 2) if role == "answer" and not options["auto_ack"] else None

    def build_nodes(self, sim) -> dict:
        sim.amqp = State()
        return {"publisher": N.Publisher(sim), "broker": N.Broker(sim),
                "consumer": N.Consumer(sim)}

    # --- connections --------------------------------------------------------------------------
    def accept(self, sim, pkt) -> None:
        """The broker takes a ``connection.open``: a new channel, its tags from 1."""
        client = pkt.src
        hop = self.hop_between(sim, client, "broker")
        broker = sim.nodes["broker"]
        if hop.n == 1:
            broker.pub_channel += 1
            broker.pub_seq = 0
            broker.to_confirm = {}
            tags = ("in confirm mode, it numbers the messages published on it from 1"
                    if sim.options["confirms"] else "no confirms")
        else:
            broker.consumer_channel += 1
            broker.next_dtag = 1
            tags = "its delivery tags start at 1"
        seq = broker.arrived(pkt)
        hop.server_up = True
        broker.send(N.OPEN_OK, client, None, seq, (W.open_ok, client, tags))
        if hop.n == 2:
            broker.dispatch(seq)

    def drop_connection(self, sim, hop: tcp.Hop, cause: int | None, why: str) -> None:
        """The hop's connection is gone: both sides see it closed now; what was on the wire
        dies with it; the broker requeues the consumer's unacknowledged deliveries; the client
        connects again later."""
        was_up = hop.client_up or hop.server_up
        on_wire = tcp.close(sim, hop)
        client = sim.nodes[hop.client]
        if not client.up:
            hop.connecting = False
        if not was_up:  # a connect on its way fails: the client tries again
            tcp.drop_all(sim, on_wire, cause)
            if on_wire and client.up:
                self.reconnect_later(sim, hop, sim.options["reconnect"])
            return
        broker = sim.nodes["broker"]
        sim.amqp.disconnects += 1
        closes = ""
        if hop.n == 2 and broker.up and broker.unacked and not sim.options["auto_ack"]:
            closes = "; its channel's unacknowledged deliveries go back to the queue"
        elif hop.n == 1 and broker.up and broker.to_confirm:
            closes = "; what the broker had not yet confirmed on it will never be confirmed"
        seq = sim.emit(N.DISCONNECT, hop.client, (W.disconnect, hop.client, why, closes), None,
                       None, None, cause, {"node": hop.client, "hop": hop.n})
        tcp.drop_all(sim, on_wire, seq)
        if broker.up:
            broker.channel_closed(hop.n, seq)
        if hop.n == 2 and client.up:
            client.channel_closed(seq)
        if client.up:
            self.reconnect_later(sim, hop, sim.options["reconnect"])

    # --- the network's questions --------------------------------------------------------------
    # --- reading the run ----------------------------------------------------------------------
    def _in_play_ids(self, sim) -> set[int]:
        pub, broker, con = sim.nodes["publisher"], sim.nodes["broker"], sim.nodes["consumer"]
        ids = set(pub.holding())
        ids.update(broker.holding())
        ids.update(con.holding())
        ids.update(p.msg for p in sim.network.inflight.values() if p.kind in (PUBLISH, DELIVER))
        return ids

    def in_play(self, sim) -> int:
        processed = sim.nodes["consumer"].processed
        return sum(1 for m in self._in_play_ids(sim) if m not in processed)

    def outcomes(self, sim) -> dict[str, int]:
        """What the application saw of the messages published: lost, once, duplicated (and
        those still on their way)."""
        con = sim.nodes["consumer"]
        published = sim.nodes["publisher"].published
        waiting = sum(1 for m in self._in_play_ids(sim) if m not in con.processed)
        once = sum(1 for n in con.processed.values() if n == 1)
        dup = sum(1 for n in con.processed.values() if n > 1)
        return {"published": published, "once": once, "duplicated": dup,
                "lost": published - once - dup - waiting, "in_play": waiting}

    def view(self, sim) -> dict:
        pub, broker, con = sim.nodes["publisher"], sim.nodes["broker"], sim.nodes["consumer"]
        hops = sim.amqp.hops
        ready = len(broker.queue)
        return {
            "panels": panels(sim, pub, broker, con),
            "badges": {"broker": f"queue {ready}" if ready else "queue empty"},
            "now": sim.now,
            "in_flight": [p.view() for p in sim.network.inflight.values()],
            "nodes": {nid: {"crashed": not node.up} for nid, node in sim.nodes.items()},
            "connections": {str(n): {"client": h.client, "up": h.up,
                                     "connecting": h.connecting}
                            for n, h in hops.items()},
            "publisher": {"channel": pub.channel, "next_tag": pub.next_tag,
                          "unconfirmed": [{"tag": t, "msg": m}
                                          for t, m in pub.unconfirmed.items()],
                          "waiting": list(pub.waiting), "nacked_waiting": list(pub.backoff)},
            "broker": {"queue": [{"msg": e.msg, "redelivered": e.redelivered,
                                  "on_disk": e.on_disk} for e in broker.queue],
                       "unacked": [{"tag": t, "msg": e.msg, "redelivered": e.redelivered}
                                   for t, e in broker.unacked.items()],
                       "to_confirm": [{"tag": t, "msg": m}
                                      for t, m in broker.to_confirm.items()]},
            "consumer": {"channel": con.channel,
                         "unacked": [{"tag": t, "msg": m} for t, m in con.unacked.items()],
                         "application": con.holding()},
            "outcomes": self.outcomes(sim),
            "options": dict(sim.options),
        }

    def summary(self, sim) -> dict:
        out = dict(self.outcomes(sim))
        pub, broker = sim.nodes["publisher"], sim.nodes["broker"]
        out["returned"] = len(pub.returned)
        out["nacked"] = pub.nacked
        out["redelivered"] = broker.redelivered
        out["disconnects"] = sim.amqp.disconnects
        out["packets"] = {k: sim.network.wire_counts.get(k, 0) for k in KINDS
                          if sim.network.wire_counts.get(k)}
        out["events"] = sim.seq
        return out

    def weight(self, sim) -> int:
        return len(self._in_play_ids(sim)) + len(sim.amqp.sends) // 20


def _list(msgs) -> str:
    return ", ".join(map(str, msgs)) or "none"


def _tags(pairs) -> str:
    return "; ".join(f"tag {t} → message {m}" for t, m in pairs) or "none"


def panels(sim, pub, broker, con) -> list[dict]:
    """What the page's protocol panel shows, in words: each party's channel state."""
    opts = sim.options
    hops = sim.amqp.hops

    def conn(n):
        hop = hops[n]
        return "up" if hop.up else ("connecting" if hop.connecting else "down")

    def channel(n):
        return f"of connection {n}" if n else "none yet"

    if opts["confirms"]:
        confirms = [["Confirms pending", _tags(pub.unconfirmed.items())],
                    ["Next delivery tag", str(pub.next_tag)]]
    else:
        confirms = [["Confirms", "off: nothing is numbered, nothing is published again"]]
    routing = (f"{opts['exchange']} exchange → queue" if opts["bound"]
               else f"{opts['exchange']} exchange, no queue bound: unroutable"
               + (" (mandatory: returned)" if opts["mandatory"] else " (dropped)"))
    ready = "; ".join(f"message {e.msg}" + (" (redelivered)" if e.redelivered else "")
                      for e in broker.queue) or "empty"
    if opts["auto_ack"]:
        unacked = "none: automatic ack forgets a message as it is delivered"
    else:
        unacked = "; ".join(f"tag {t} → message {e.msg}" + (" (redelivered)" if e.redelivered
                                                            else "")
                            for t, e in broker.unacked.items()) or "none"
    if opts["durable"]:
        waiting = [e.msg for _, _, e in broker.batch]
        storage = ("durable queue, persistent messages" + (
            f"; waiting to be written: {_list(waiting)}" if waiting else ""))
    else:
        storage = "transient: in memory only"
    limit = (f"{opts['max_length']} ready messages, overflow reject-publish"
             if opts["max_length"] else "none")
    mode = ("automatic" if opts["auto_ack"] else
            f"manual, prefetch {opts['prefetch'] or 'unlimited'}")
    repeats = sum(n - 1 for n in con.processed.values())
    return [
        {"id": "publisher", "title": "Publisher",
         "rows": [["Connection (hop 1)", conn(1)], ["Channel", channel(pub.channel)],
                  *confirms,
                  ["Waiting to be published", _list(pub.waiting)],
                  ["To publish again after a nack", _list(pub.backoff)],
                  ["Returned to it", _list(sorted(pub.returned))]]},
        {"id": "broker", "title": "Broker",
         "rows": [["Routing", routing], ["Queue (ready)", ready],
                  ["Unacked deliveries", unacked],
                  ["Storage", storage], ["Length limit", limit]]},
        {"id": "consumer", "title": "Consumer",
         "rows": [["Connection (hop 2)", conn(2)], ["Channel", channel(con.channel)],
                  ["Acknowledgement", mode],
                  ["Unacked tags on its channel", _list(con.unacked)],
                  ["Application's queue", _list(con.holding())],
                  ["Processed", f"{len(con.processed)} messages, {repeats} repeats"]]},
    ]


AMQP = register(Amqp())
