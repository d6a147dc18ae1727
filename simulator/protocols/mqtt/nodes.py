"""The publisher, the broker and the subscriber of an MQTT run, and the connections between them.

Each client holds one TCP connection to the broker: hop 1 (publisher) and hop 2 (subscriber).
TCP delivers in order or not at all, so a packet lost on a hop is a dead connection
(``simulator/protocols/tcp.py``): both sides see it closed a round trip after the lost packet
was sent (a real stack notices later, by keep-alive or retransmission timeouts; the reconnect
delay stands for the rest), what else was on the wire dies with it, and the client connects
again after the reconnect delay (CONNECT, CONNACK: the network's random losses never take
them, a scheduled fault may). With a
persistent session the broker answers "session present" and both sides resend what was in
flight, in the original order; with a clean session both sides discard it.
"""

from __future__ import annotations

from ...agenda import Timer
from ..brokered import Party, Publishing, WorkQueue
from ..tcp import Hop
from . import words as W
from .flows import (
    CONNACK,
    CONNECT,
    PUBACK,
    PUBCOMP,
    PUBLISH,
    PUBREC,
    PUBREL,
    Inbound,
    Outbound,
)

# event types
ARRIVE = "arrive"
DISCONNECT = "disconnect"
SESSION_LOST = "session_lost"
QUEUED = "queued"
NOT_SENT = "not_sent"
ROUTE = "route"
DISCARD = "discard"
APP_RECEIVE = "app_receive"
PROCESS = "process"
TIMEOUT = "timeout"
PACKET_TYPES = {k: k.lower() for k in (PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, CONNECT,
                                       CONNACK)}


class Node(Party):
    def send(self, kind: str, dst: str, msg: int | None, cause: int | None, pid: int | None = None,
             qos: int | None = None, dup: bool = False, why: str = "", **extra):
        """Put an MQTT packet on the wire to ``dst`` (``Party.transmit``)."""
        info = {"packet_id": pid, "qos": qos, "dup": dup, **extra}
        text = (W.packet, kind, self.name, dst, msg, pid, qos, dup, why)
        return self.transmit(PACKET_TYPES[kind], kind, dst, msg, cause, text, info)

    def connect_now(self, timer, _version) -> None:
        """Send CONNECT on the hop ``timer`` belongs to (a client's connect attempt)."""
        hop = timer.payload
        if not self.up:
            hop.connecting = False
            return
        first = hop.connects == 0
        hop.connects += 1
        clean = bool(self.opts["clean_session"])
        why = ("first connection" if first else "after the connection dropped") + (
            ", clean session" if clean else ", asking to keep its session")
        self.send(CONNECT, "broker", None, None, why=why, clean=clean)

    def arrived(self, pkt, outcome: str = "", **extra) -> int:
        info = pkt.item or {}
        msg = info.get("msg", pkt.msg)
        fields = {"kind": pkt.kind, "from": pkt.src, "to": pkt.dst, "node": self.name,
                  "hop": info.get("hop"), "packet_id": info.get("packet_id"),
                  "qos": info.get("qos"), "dup": info.get("dup", False), **extra}
        return self.sim.emit(ARRIVE, self.name, (W.arrive, pkt.kind, self.name, msg,
                                                 info.get("packet_id"), outcome),
                             msg, pkt.id, pkt.attempt, pkt.send_seq, fields)


# --- the sender's half, shared by the publisher (hop 1) and the broker (hop 2) ----------------
class Sender(Node):
    """A node that publishes over one hop: its ``out`` session half and the hop it sends on."""

    out: Outbound
    hop: Hop
    peer: str
    retries_in_connection = False

    def can_send(self) -> bool:
        raise NotImplementedError

    def offer(self, msg: int, qos: int, cause: int | None) -> None:
        """A message to send at ``qos``: at once if connected, else kept (QoS 1 and 2) for
        the connection to come back, or not sent at all (QoS 0)."""
        if qos == 0:
            if self.can_send():
                self.send(PUBLISH, self.peer, msg, cause, qos=0)
            else:
                self.not_sent(msg, cause)
            return
        full = len(self.out.flights) >= self.opts["receive_maximum"]
        if full or self.out.queue or not self.can_send():
            self.out.queue.append((msg, qos, cause))
            why = (f"{len(self.out.flights)} messages are in flight already, the most it keeps "
                   f"open" if full and self.can_send() else "no connection to send on")
            self.sim.emit(QUEUED, self.name, (W.queued, self.name, msg, qos, why),
                          msg, None, None, cause, {"node": self.name, "qos": qos})
            return
        flight = self.out.open(msg, qos, cause)
        self._publish(flight, cause, dup=False)

    def not_sent(self, msg: int, cause: int | None) -> None:
        raise NotImplementedError

    def _publish(self, flight, cause, dup: bool, why: str = "") -> None:
        self.send(PUBLISH, self.peer, flight.msg, cause, pid=flight.pid, qos=flight.qos, dup=dup,
                  why=why)
        self._arm(flight)

    def _release(self, flight, cause, why: str = "") -> None:
        self.send(PUBREL, self.peer, flight.msg, cause, pid=flight.pid, why=why)
        self._arm(flight)

    def _arm(self, flight) -> None:
        """A 3.1.1 client of old resends after a wait inside a live connection."""
        if not self.retries_in_connection:
            return
        if flight.timer is None:
            flight.timer = Timer(flight)
        flight.timer.version += 1
        self.sim.schedule(self.sim.now + self.sim.config.timeout, 3, self._on_wait, flight.timer,
                          flight.timer.version)

    def _on_wait(self, timer, _version) -> None:
        flight = timer.payload
        if self.out.flights.get(flight.pid) is not flight or not self.can_send():
            return
        kind = PUBLISH if flight.stage == PUBLISH else PUBREL
        seq = self.sim.emit(TIMEOUT, self.name, (W.timeout, self.name, flight.msg, kind,
                                                 self.sim.config.timeout),
                            flight.msg, None, None, flight.cause,
                            {"node": self.name, "packet_id": flight.pid})
        if kind == PUBLISH:
            self._publish(flight, seq, dup=True, why="after a wait")
        else:
            self._release(flight, seq, why=" again after a wait")

    def on_answer(self, pkt) -> None:
        """PUBACK, PUBREC or PUBCOMP for one of this sender's flights."""
        info = pkt.item or {}
        pid = info.get("packet_id")
        flight = self.out.flights.get(pid)
        kind = pkt.kind
        if kind == PUBACK and flight is not None and flight.qos == 1:
            self.out.close(pid)
            self._cancel(flight)
            seq = self.arrived(pkt, ": the message is delivered to the next hop; the packet id "
                                    "is free again")
            self._fill(seq)
        elif kind == PUBREC and flight is not None and flight.qos == 2:
            first = flight.stage == PUBLISH
            flight.stage = PUBREL
            seq = self.arrived(pkt, ": it will never send this PUBLISH again, only PUBREL"
                               if first else ": answered again with PUBREL")
            self._release(flight, seq)
        elif kind == PUBCOMP and flight is not None and flight.stage == PUBREL:
            self.out.close(pid)
            self._cancel(flight)
            seq = self.arrived(pkt, ": the packet id is free again")
            self._fill(seq)
        else:
            self.arrived(pkt, ": it matches no open flow and is ignored")

    def _cancel(self, flight) -> None:
        if flight.timer is not None:
            flight.timer.version += 1

    def resume(self, cause: int | None, present: bool) -> None:
        """The connection is back: resend what was in flight (same session), oldest first,
        then send what waited."""
        if present:
            for flight in list(self.out.flights.values()):
                if flight.stage == PUBLISH:
                    self._publish(flight, cause, dup=True, why="again after the reconnect")
                else:
                    self._release(flight, cause, why=" again after the reconnect")
        self._fill(cause)

    def _fill(self, cause: int | None) -> None:
        """Send what waits, while the connection is up and the window has room."""
        queue = self.out.queue
        while queue and self.can_send() and len(self.out.flights) < self.opts["receive_maximum"]:
            msg, qos, _ = queue.pop(0)
            flight = self.out.open(msg, qos, cause)
            self._publish(flight, cause, dup=False)

    def forget(self, waiting_too: bool = True) -> list[int]:
        """The session's sending half is discarded: what was in flight (and, with
        ``waiting_too``, what waited for a connection, never sent)."""
        lost = [f.msg for f in self.out.flights.values()]
        for flight in self.out.flights.values():
            self._cancel(flight)
        queue = self.out.queue
        self.out = Outbound()
        if waiting_too:
            lost += [m for m, _, _ in queue]
        else:
            self.out.queue = queue
        return lost


# --- the receiver's half, shared by the broker (hop 1) and the subscriber (hop 2) -------------
class Receiver:
    """What a receiver does with the publish flow; ``pass_on(msg, qos, cause)`` takes a message
    onwards (the broker routes it, the subscriber hands it to its application)."""

    def receive(self, node: Node, inbound: Inbound, pkt, pass_on) -> None:
        info = pkt.item or {}
        kind = pkt.kind
        pid = info.get("packet_id")
        qos = info.get("qos")
        msg = pkt.msg
        src = pkt.src
        if kind == PUBLISH:
            if qos == 0:
                seq = node.arrived(pkt, "")
                pass_on(msg, 0, seq)
            elif qos == 1:
                seq = node.arrived(pkt, ": a QoS 1 receiver passes it on and answers PUBACK, "
                                        "whatever the DUP flag", passed_on=True)
                pass_on(msg, 1, seq)
                node.send(PUBACK, src, msg, seq, pid=pid)
            elif inbound.method == "A":
                if pid in inbound.held:
                    seq = node.arrived(pkt, ": it holds this packet id already: it answers "
                                            "PUBREC again and does not pass it on",
                                       duplicate=True, passed_on=False)
                else:
                    inbound.held[pid] = msg
                    seq = node.arrived(pkt, ": it stores the message and answers PUBREC; it "
                                            "passes it on when PUBREL comes (Method A)",
                                       passed_on=False)
                node.send(PUBREC, src, msg, seq, pid=pid)
            else:
                if pid in inbound.seen:
                    seq = node.arrived(pkt, ": it has seen this packet id: it answers PUBREC "
                                            "again and does not pass it on", duplicate=True,
                                       passed_on=False)
                else:
                    inbound.seen[pid] = msg
                    seq = node.arrived(pkt, ": it stores the packet id, passes the message on "
                                            "at once and answers PUBREC (Method B)",
                                       passed_on=True)
                    pass_on(msg, 2, seq)
                node.send(PUBREC, src, msg, seq, pid=pid)
        elif kind == PUBREL:
            if pid in inbound.held:
                held = inbound.held.pop(pid)
                seq = node.arrived(pkt, ": it passes the stored message on, forgets the packet "
                                        "id and answers PUBCOMP", passed_on=True)
                pass_on(held, 2, seq)
            elif pid in inbound.seen:
                inbound.seen.pop(pid)
                seq = node.arrived(pkt, ": it forgets the packet id and answers PUBCOMP")
            else:
                seq = node.arrived(pkt, ": it knows no such packet id (its memory of it is gone) "
                                        "and answers PUBCOMP all the same", unknown=True)
            node.send(PUBCOMP, src, msg, seq, pid=pid)


RECEIVER = Receiver()


class Publisher(Publishing, Sender):
    def __init__(self, sim):
        super().__init__(sim, "publisher")
        self.out = Outbound()
        self.peer = "broker"
        self.start_publishing()
        self.retries_in_connection = bool(self.opts["retry_in_connection"])

    @property
    def hop(self) -> Hop:
        return self.sim.protocol.state(self.sim).hops[1]

    def new_message(self, msg: int) -> None:
        self.offer(msg, self.opts["qos"], None)

    def can_send(self) -> bool:
        return self.up and self.hop.client_up

    def not_sent(self, msg: int, cause: int | None) -> None:
        self.sim.emit(NOT_SENT, self.name, (W.not_sent, msg), msg, None, None, cause,
                      {"node": self.name, "qos": 0})

    def take(self, pkt) -> None:
        if pkt.kind == CONNACK:
            self.sim.protocol.connected(self.sim, self.hop, pkt)
        else:
            self.on_answer(pkt)

    def crash(self):
        self.up = False
        self.due.version += 1
        lost = self.forget()
        words = [f"its session's messages in flight ({', '.join(map(str, lost))})"] if lost else []
        return words, []



class Broker(Sender):
    """Receives from the publisher (hop 1), keeps the subscriber's session and queue, and
    publishes to the subscriber (hop 2)."""

    def __init__(self, sim):
        super().__init__(sim, "broker")
        self.inbound = Inbound(self.opts["receiver_method"])  # the publisher's session
        self.out = Outbound()  # the subscriber's session: its queue and flights
        self.peer = "subscriber"
        self.subscribed = False  # the subscriber subscribes as part of connecting
        self.routed = 0

    @property
    def hop(self) -> Hop:
        return self.sim.protocol.state(self.sim).hops[2]

    def can_send(self) -> bool:
        return self.up and self.hop.server_up

    def not_sent(self, msg: int, cause: int | None) -> None:
        self.sim.emit(DISCARD, self.name, (W.discard, msg, "a QoS 0 message for a subscriber "
                                                          "that is not connected is not kept"),
                      msg, None, None, cause, {"node": self.name})

    def take(self, pkt) -> None:
        if pkt.kind == CONNECT:
            self.sim.protocol.accept(self.sim, pkt)
        elif pkt.src == "publisher":
            RECEIVER.receive(self, self.inbound, pkt, self.route)
        else:
            self.on_answer(pkt)

    def route(self, msg: int, qos: int, cause: int) -> None:
        """Pass a message on: to the subscriber's session at the lower of the two QoS."""
        sim = self.sim
        if not self.subscribed:
            sim.emit(DISCARD, self.name, (W.discard, msg, "no subscription matches it: the "
                                                          "subscriber is not subscribed now"),
                     msg, None, None, cause, {"node": self.name})
            return
        sub_qos = self.opts["sub_qos"]
        out_qos = min(qos, sub_qos)
        self.routed += 1
        waits = not self.can_send() and out_qos > 0
        seq = sim.emit(ROUTE, self.name, (W.route, msg, qos, out_qos, sub_qos, waits), msg, None,
                       None, cause, {"node": self.name, "qos": out_qos, "queued": waits})
        self.offer(msg, out_qos, seq)

    def crash(self):
        self.up = False
        keep = self.opts["broker_persistence"]
        lost: list[str] = []
        if not keep:
            stored = self.inbound.messages()
            if stored:
                lost.append(f"QoS 2 messages it stored ({', '.join(map(str, stored))})")
            queue = self.forget()
            if queue:
                lost.append(f"the subscriber's queue and messages in flight "
                            f"({', '.join(map(str, queue))})")
            self.inbound = Inbound(self.opts["receiver_method"])
            self.subscribed = False
            state = self.sim.protocol.state(self.sim)
            state.sessions = {}
        notes = ["sessions and queued messages survive: persistence is on (saved to disk)"
                 ] if keep else ["no persistence: every session and queued message is gone"]
        return lost, notes


class Subscriber(WorkQueue, Node):
    def __init__(self, sim):
        super().__init__(sim, "subscriber")
        self.inbound = Inbound(self.opts["receiver_method"])
        self.start_application()  # (msg, cause) waiting for the application
        self.processed: dict[int, int] = {}  # msg -> times processed
        self.received: dict[int, int] = {}  # msg -> times handed to the application

    @property
    def hop(self) -> Hop:
        return self.sim.protocol.state(self.sim).hops[2]

    def take(self, pkt) -> None:
        if pkt.kind == CONNACK:
            self.sim.protocol.connected(self.sim, self.hop, pkt)
        else:
            RECEIVER.receive(self, self.inbound, pkt, self.hand_over)

    def hand_over(self, msg: int, qos: int, cause: int) -> None:
        n = self.received[msg] = self.received.get(msg, 0) + 1
        seq = self.sim.emit(APP_RECEIVE, "app", (W.app_receive, msg, n > 1), msg, None, None,
                            cause, {"node": "subscriber", "duplicate": n > 1, "qos": qos})
        self.queue_work((msg, seq))

    def work_done(self, item) -> None:
        msg, cause = item
        n = self.processed[msg] = self.processed.get(msg, 0) + 1
        self.sim.emit(PROCESS, "app", (W.process, msg, n > 1), msg, None, None, cause,
                      {"node": "subscriber", "duplicate": n > 1})

    def holding(self) -> list[int]:
        work = [m for m, _ in self.app]
        if self.working is not None:
            work.append(self.working[0])
        return self.inbound.messages() + work

    def crash(self):
        self.up = False
        self.busy.version += 1
        lost = []
        stored = self.inbound.messages()
        if stored:
            lost.append(f"QoS 2 messages it held until PUBREL ({', '.join(map(str, stored))})")
        work = [m for m, _ in self.app] + ([self.working[0]] if self.working else [])
        if work:
            lost.append(f"messages its application had taken but not processed "
                        f"({', '.join(map(str, work))}): acknowledged, yet never processed")
        self.inbound = Inbound(self.opts["receiver_method"])
        self.app = []
        self.working = None
        return lost, []

