"""A client's TCP connection to a broker, as the protocol presets model it (MQTT, AMQP, Kafka).

TCP delivers in order or not at all, so a packet the network loses is a dead connection, not a
gap: what was sent behind it in that direction dies (at once if it is on the wire, as it would
arrive if it is sent before the break is noticed: ``behind_gap``); what was ahead still arrives
and is answered; both sides see the connection closed a round trip after the lost packet was sent (a
real stack notices later, by keep-alive or retransmission timeouts); then everything still on
that connection's wire dies, and the client connects again after its reconnect delay. A preset
keeps one ``Hop`` per connection and decides what a drop means to its sessions.
"""

from __future__ import annotations

from ..agenda import Timer


class Hop:
    """One client's connection to the broker: hop ``n`` between ``client`` and ``server``."""

    def __init__(self, n: int, client: str, server: str):
        self.n = n
        self.client = client
        self.server = server
        self.client_up = False  # the client has the broker's answer to its connect
        self.server_up = False  # the broker has answered the connect
        self.connecting = False  # a connect is on its way or due
        self.timer = Timer(self)  # the client's next connect attempt
        self.cut = Timer()  # a lost packet's break, noticed a round trip after it was sent
        self.gaps: dict[tuple[str, str], int] = {}  # direction -> the first packet id lost
        self.connects = 0

    def ends(self) -> tuple[str, str]:
        return self.client, self.server

    @property
    def up(self) -> bool:
        return self.client_up and self.server_up

    def carries(self, pkt) -> bool:
        return {pkt.src, pkt.dst} == {self.client, self.server}


def hop_of(hops, a: str, b: str) -> Hop:
    """The hop of ``hops`` (an iterable) between nodes ``a`` and ``b``."""
    for hop in hops:
        if {a, b} == {hop.client, hop.server}:
            return hop
    raise ValueError(f"no hop between {a} and {b}")


def connect_later(sim, hop: Hop, delay: float, action) -> None:
    """The hop's client tries to connect after ``delay``: ``action(hop.timer, version)``."""
    hop.timer.version += 1
    hop.connecting = True
    sim.schedule(sim.now + delay, 2, action, hop.timer, hop.timer.version)


def break_stream(sim, hop: Hop, pkt, action, why: str) -> None:
    """``pkt`` was lost on ``hop``: the packets behind it in its direction die now (their cause
    the loss just made), and ``action(hop.cut, version)`` runs when the break is noticed (once
    per connection, whatever else is lost meanwhile); ``hop.cut.payload`` is (cause, why)."""
    seq = sim.seq
    net = sim.network
    way = (pkt.src, pkt.dst)
    hop.gaps[way] = min(pkt.id, hop.gaps.get(way, pkt.id))
    behind = [p for p in net.inflight.values()
              if p.src == pkt.src and p.dst == pkt.dst and p.id > pkt.id]
    for other in behind:
        net.drop(other, "disconnected", seq)
    if hop.cut.payload is None:
        hop.cut.payload = (seq, why)
        hop.cut.version += 1
        noticed = pkt.eta + (pkt.eta - pkt.sent_t)
        sim.schedule(max(noticed, sim.now), 2, action, hop.cut, hop.cut.version)


def behind_gap(sim, hop: Hop, pkt) -> bool:
    """Whether ``pkt``, arriving, was sent behind a lost packet of its direction on this
    connection: then it never arrives (TCP hands nothing on past a gap); it is dropped here,
    its cause the loss."""
    gap = hop.gaps.get((pkt.src, pkt.dst))
    if gap is None or pkt.id < gap:
        return False
    sim.network.drop(pkt, "disconnected", hop.cut.payload[0] if hop.cut.payload
                     else pkt.send_seq)
    return True


def close(sim, hop: Hop) -> list:
    """The connection is gone: both sides down, a break waiting to be noticed is this close.
    Returns the packets still on its wire (the caller drops them, after its own event)."""
    hop.client_up = hop.server_up = False
    hop.gaps = {}
    hop.cut.payload = None
    hop.cut.version += 1
    return [p for p in sim.network.inflight.values() if hop.carries(p)]


def drop_all(sim, packets: list, cause: int) -> None:
    for pkt in packets:
        sim.network.drop(pkt, "disconnected", cause)
