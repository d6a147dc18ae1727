"""The MQTT preset: a publisher, a broker and a subscriber, QoS 0, 1 and 2 packet by packet.

Two hops, each one TCP connection with fates of its own: the publisher's to the broker (hop 1)
and the subscriber's (hop 2). The publish flows follow the OASIS MQTT 3.1.1 and 5.0 standards
(``flows.py``); the connections, sessions, crashes and the subscriber's application are in
``nodes.py``; what the page draws in ``manifest.py``. Its options (``OPTIONS``) are its own
knobs: the publish and subscription QoS, the version, the QoS 2 receiver's method, clean or
persistent sessions, an old 3.1.1 client's resends inside a connection, the broker's
persistence, each hop's loss, the latency and the reconnect delay. The run's semantics and
ordering settings mean nothing here: QoS says it all, and only for one hop at a time.

Faults name packets by kind and hop: ``drop:PUBREC:1:hop=1`` loses the first PUBREC on hop 1,
``drop:PUBLISH:msg=3:hop=2`` message 3's first PUBLISH to the subscriber, ``crash:broker@3000``
the broker.
"""

from __future__ import annotations

from ... import events as E
from ...config import ConfigError, Field
from ...narrate import count as _count
from .. import register, tcp
from ..brokered import Brokered, hop_options
from . import manifest
from . import nodes as N
from . import words as W
from .flows import CONNACK, CONNECT, FLOW_KINDS, KINDS, PUBACK, PUBLISH, PUBREC, PUBREL

VERSIONS = ("5.0", "3.1.1")
METHODS = ("A", "B")

OPTIONS: tuple[Field, ...] = (
    Field("qos", "int", 1, "Publish QoS",
          "0: at most once, 1: at least once, 2: exactly once, each on one hop.", 0, 2),
    Field("sub_qos", "int", 2, "Subscription QoS",
          "The most the subscriber asked for: a message reaches it at the lower of the two.",
          0, 2),
    Field("mqtt_version", "choice", "5.0", "MQTT version",
          "5.0 resends only on reconnect; 3.1.1 allowed old clients to resend on a live "
          "connection too.", choices=VERSIONS),
    Field("receiver_method", "choice", "A", "QoS 2 receiver",
          "A: keep the message and pass it on at PUBREL (as mosquitto does). B: keep only the "
          "packet id and pass it on at PUBLISH.", choices=METHODS,
          choice_labels=(("A", "Method A: keep the message"), ("B", "Method B: keep the id"))),
    Field("clean_session", "bool", False, "Clean session",
          "Both clients start a new session at every connect: what was in flight is "
          "discarded, not resent."),
    Field("retry_in_connection", "bool", False, "Resend on a live connection (old 3.1.1)",
          "The publisher resends after the timeout without a reconnect (3.1.1 only; 5.0 "
          "forbids it).", advanced=True),
    Field("resend_without_session", "bool", False, "Client resends without a session",
          "The publisher's client library resends its unfinished messages even when the "
          "broker has no session for it (clean session, or a broker that lost it), as "
          "paho-mqtt does by its own account. The standard says to discard them "
          "[MQTT-3.1.2-6]: this turns a lost PUBACK or PUBCOMP into a duplicate, even at "
          "QoS 2.", advanced=True),
    Field("broker_persistence", "bool", False, "Broker persistence",
          "The broker keeps sessions and queued messages across a restart."),
    Field("receive_maximum", "int", 10, "Receive Maximum",
          "QoS 1 and 2 messages a sender keeps open at once (Receive Maximum in 5.0); more "
          "wait their turn.", 1, 1000, advanced=True),
    *hop_options("publisher", "subscriber", "packet", 0.03),
)


class State:
    """What a run of this protocol keeps beside its nodes."""

    def __init__(self):
        self.hops = {1: tcp.Hop(1, "publisher", "broker"), 2: tcp.Hop(2, "subscriber", "broker")}
        self.sends: dict[tuple, int] = {}  # (node, kind, msg) -> packets sent: the attempt
        self.sessions: dict[str, bool] = {}  # client -> whether the broker keeps its session
        self.disconnects = 0
        self.started = False


class Mqtt(Brokered):
    name = "mqtt"
    title = "MQTT: publisher, broker, subscriber"
    short = "MQTT"
    packet_kinds = KINDS
    options = OPTIONS
    sender, sender_label = "publisher", "Publisher"
    receiver, receiver_label = "subscriber", "Subscriber"
    lossy_kinds = FLOW_KINDS
    connect_kinds = (CONNECT,)
    unnumbered_kinds = (CONNECT, CONNACK)
    event_types = (N.PACKET_TYPES[k] for k in KINDS)
    event_types = tuple(event_types) + (
        N.ARRIVE, E.DROP, N.DISCONNECT, N.SESSION_LOST, N.QUEUED, N.NOT_SENT, N.ROUTE, N.DISCARD,
        N.APP_RECEIVE, N.PROCESS, N.TIMEOUT, E.CRASH, E.RESTART, E.CONFIG_CHANGE,
        E.FAULT_INJECTED)
    link_lanes = manifest.LINK_LANES
    lanes = manifest.LANES
    marks = manifest.MARKS
    event_meta = manifest.EVENT_TYPES
    page = manifest.PAGE

    def check_options(self, options: dict) -> None:
        if options["retry_in_connection"] and options["mqtt_version"] == "5.0":
            raise ConfigError("options.retry_in_connection",
                              "MQTT 5.0 forbids resending inside a live connection "
                              "[MQTT-4.4.0-1]: choose mqtt_version 3.1.1")

    # --- shape --------------------------------------------------------------------------------
    def message_packet(self, role: str, options: dict) -> tuple[str, int] | None:
        """A delivery is the broker's PUBLISH on hop 2; its answer is PUBACK or PUBREC by the
        QoS of the delivery (the lower of the publish and the subscription QoS), none at 0."""
        if role == "delivery":
            return (PUBLISH, 2)
        qos = min(options["qos"], options["sub_qos"])
        return {1: (PUBACK, 2), 2: (PUBREC, 2)}.get(qos) if role == "answer" else None

    def build_nodes(self, sim) -> dict:
        sim.mqtt = State()
        return {"publisher": N.Publisher(sim), "broker": N.Broker(sim),
                "subscriber": N.Subscriber(sim)}

    # --- connections --------------------------------------------------------------------------
    def drop_connection(self, sim, hop: tcp.Hop, cause: int | None, why: str) -> None:
        """The hop's connection is gone: both sides see it closed now; what was on the wire
        dies with it; a clean session ends on both sides; the client connects again later."""
        was_up = hop.client_up or hop.server_up
        on_wire = tcp.close(sim, hop)
        client = sim.nodes[hop.client]
        if not was_up:  # a connect that failed on its way: the client tries again
            tcp.drop_all(sim, on_wire, cause)
            if client.up:
                self.reconnect_later(sim, hop, sim.options["reconnect"])
            return
        sim.mqtt.disconnects += 1
        seq = sim.emit(N.DISCONNECT, hop.client, (W.disconnect, hop.client, hop.server, why),
                       None, None, None, cause, {"node": hop.client, "hop": hop.n})
        tcp.drop_all(sim, on_wire, seq)
        if sim.options["clean_session"]:
            self._end_sessions(sim, hop, seq, "a clean session ends with its connection")
        if client.up:
            self.reconnect_later(sim, hop, sim.options["reconnect"])

    def _end_sessions(self, sim, hop: tcp.Hop, cause: int, why: str) -> None:
        broker = sim.nodes["broker"]
        client = sim.nodes[hop.client]
        sim.mqtt.sessions[hop.client] = False
        if hop.n == 1:
            server_lost = broker.inbound.messages()
            broker.inbound = type(broker.inbound)(sim.options["receiver_method"])
            keeps = sim.options["resend_without_session"]
            client_lost = client.forget(waiting_too=False) if client.up and not keeps else []
        else:
            server_lost = broker.forget()
            broker.subscribed = False
            client_lost = client.inbound.messages() if client.up else []
            client.inbound = type(client.inbound)(sim.options["receiver_method"])
        for node, other, lost in (("broker", hop.client, server_lost),
                                  (hop.client, "broker", client_lost)):
            if lost:
                sim.emit(N.SESSION_LOST, node, (W.session_lost, node, other, lost, why), None,
                         None, None, cause, {"node": node, "hop": hop.n, "lost": lost})

    def accept(self, sim, pkt) -> None:
        """The broker takes a CONNECT: session present if the client asked to keep its session
        and the broker still has it; else any old state of that client is gone."""
        client = pkt.src
        hop = self.hop_between(sim, client, "broker")
        broker = sim.nodes["broker"]
        persistent = not sim.options["clean_session"]
        present = persistent and sim.mqtt.sessions.get(client, False)
        if not present:
            if hop.n == 1:
                broker.inbound = type(broker.inbound)(sim.options["receiver_method"])
            else:
                broker.forget()
        if hop.n == 2:
            broker.subscribed = True  # the client subscribes again as part of connecting
        sim.mqtt.sessions[client] = persistent
        seq = sim.nodes["broker"].arrived(pkt, ": " + ("its session is still here"
                                                        if present else "a new session"))
        hop.server_up = True
        why = ("session present: both sides resend what was in flight" if present else
               "no session present: nothing of before is resent")
        broker.send(CONNACK, client, None, seq, why=why, session_present=present)
        if hop.n == 2:
            broker.resume(seq, present)

    def connected(self, sim, hop: tcp.Hop, pkt) -> None:
        """A client has its CONNACK."""
        client = sim.nodes[hop.client]
        present = bool((pkt.item or {}).get("session_present"))
        seq = client.arrived(pkt, ": connected, session present" if present else ": connected")
        hop.client_up = True
        hop.connecting = False
        resend = present
        if not present and hop.n == 1 and sim.options["resend_without_session"]:
            for flight in client.out.flights.values():  # back to the start: PUBLISH again
                flight.stage = PUBLISH
            resend = bool(client.out.flights)
        elif not present:
            lost = (client.forget(waiting_too=False) if hop.n == 1
                    else client.inbound.messages())
            if hop.n == 2:
                client.inbound = type(client.inbound)(sim.options["receiver_method"])
            if lost:
                sim.emit(N.SESSION_LOST, hop.client,
                         (W.session_lost, hop.client, "broker", lost,
                          "the broker has no session for it"),
                         None, None, None, seq, {"node": hop.client, "hop": hop.n, "lost": lost})
        if hop.n == 1:
            client.resume(seq, resend)
            if not sim.mqtt.started:
                sim.mqtt.started = True
                if client.more():
                    client.arm(sim.now)

    # --- reading the run ----------------------------------------------------------------------
    def _in_play_ids(self, sim) -> set[int]:
        pub, broker, sub = sim.nodes["publisher"], sim.nodes["broker"], sim.nodes["subscriber"]
        ids = set(pub.out.messages())
        ids.update(broker.inbound.messages())
        ids.update(broker.out.messages())
        ids.update(sub.holding())
        ids.update(p.msg for p in sim.network.inflight.values() if p.kind in (PUBLISH, PUBREL))
        return ids

    def in_play(self, sim) -> int:
        processed = sim.nodes["subscriber"].processed
        return sum(1 for m in self._in_play_ids(sim) if m not in processed)

    def outcomes(self, sim) -> dict[str, int]:
        """What the application saw of the messages published: lost, once, duplicated (and
        those still on their way)."""
        sub = sim.nodes["subscriber"]
        published = sim.nodes["publisher"].published
        playing = self._in_play_ids(sim)
        once = sum(1 for n in sub.processed.values() if n == 1)
        dup = sum(1 for n in sub.processed.values() if n > 1)
        waiting = sum(1 for m in playing if m not in sub.processed)
        return {"published": published, "once": once, "duplicated": dup,
                "lost": published - once - dup - waiting, "in_play": waiting}

    def view(self, sim) -> dict:
        pub, broker, sub = sim.nodes["publisher"], sim.nodes["broker"], sim.nodes["subscriber"]
        hops = sim.mqtt.hops
        return {
            "panels": panels(sim, pub, broker, sub),
            # everything the broker holds for the subscriber, waiting or sent and not complete
            "badges": {"broker": f"queue {len(broker.out.messages())}"},
            "now": sim.now,
            "in_flight": [p.view() for p in sim.network.inflight.values()],
            "nodes": {nid: {"crashed": not node.up} for nid, node in sim.nodes.items()},
            "connections": {str(n): {"client": h.client, "up": h.client_up and h.server_up,
                                     "connecting": h.connecting}
                            for n, h in hops.items()},
            "publisher": pub.out.view(),
            "broker": {"from_publisher": broker.inbound.view(),
                       "to_subscriber": broker.out.view(), "subscribed": broker.subscribed},
            "subscriber": {**sub.inbound.view(),
                           "application": [m for m, _ in sub.app]
                           + ([sub.working[0]] if sub.working else [])},
            "outcomes": self.outcomes(sim),
            "options": dict(sim.options),
        }

    def summary(self, sim) -> dict:
        out = dict(self.outcomes(sim))
        out["disconnects"] = sim.mqtt.disconnects
        out["packets"] = {k: sim.network.wire_counts.get(k, 0) for k in KINDS
                          if sim.network.wire_counts.get(k)}
        out["events"] = sim.seq
        return out

    def weight(self, sim) -> int:
        return len(self._in_play_ids(sim)) + len(sim.mqtt.sends) // 20


def _ids(out) -> str:
    flights = out.flights.values()
    return "; ".join(f"{f.pid} → message {f.msg} (waits for "
                     f"{'PUBACK' if f.qos == 1 else 'PUBREC' if f.stage == PUBLISH else 'PUBCOMP'})"
                     for f in flights) or "none"


def _msgs(msgs) -> str:
    return ", ".join(map(str, msgs)) or "none"


def panels(sim, pub, broker, sub) -> list[dict]:
    """What the page's protocol panel shows, in words: each party's session state."""
    opts = sim.options
    hops = sim.mqtt.hops

    def conn(n):
        hop = hops[n]
        return "up" if hop.up else ("connecting" if hop.connecting else "down")

    def stored(inbound):
        if inbound.method == "A":
            return "; ".join(f"{pid} → message {m} (kept until PUBREL)"
                             for pid, m in inbound.held.items()) or "none"
        return "; ".join(f"{pid} (message {m} passed on; id kept until PUBREL)"
                         for pid, m in inbound.seen.items()) or "none"

    session = "clean (new at every connect)" if opts["clean_session"] else "persistent"
    repeats = sum(n - 1 for n in sub.processed.values())
    return [
        {"id": "publisher", "title": "Publisher",
         "rows": [["Connection (hop 1)", conn(1)], ["Session", session],
                  ["Packet ids in use", _ids(pub.out)],
                  ["Waiting to be sent", _msgs(m for m, _, _ in pub.out.queue)]]},
        {"id": "broker", "title": "Broker",
         "rows": [["QoS 2 state from the publisher", stored(broker.inbound)],
                  ["Queue for the subscriber", _msgs(m for m, _, _ in broker.out.queue)],
                  ["Packet ids in use to the subscriber", _ids(broker.out)],
                  ["Subscription", f"QoS {opts['sub_qos']}" if broker.subscribed else "none"],
                  ["Persistence", "on" if opts["broker_persistence"] else "off"]]},
        {"id": "subscriber", "title": "Subscriber",
         "rows": [["Connection (hop 2)", conn(2)],
                  ["QoS 2 state (Method " + opts["receiver_method"] + ")", stored(sub.inbound)],
                  ["Application's queue", _msgs(m for m, _ in sub.app)],
                  ["Processed", f"{_count(len(sub.processed), 'message')}, "
                                f"{_count(repeats, 'repeat')}"]]},
    ]


MQTT = register(Mqtt())
