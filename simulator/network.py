"""The network between the nodes: packets, their fates, and the packets in flight.

A packet travels the link from its sender to its receiver (``topology.py``). The link loses it
with the loss probability of its kind, delays it by a latency drawn uniformly from [min, max]
(the spread lets packets overtake each other), and may deliver an extra copy. Every draw is
keyed by the link and the packet (see ``rng.py``). A lost packet is
dropped at an instant between its send and its would-be arrival, never revealed at send time.
Scheduled packet faults replace the fate of the N-th packet of a kind put on the wire, or of the
packet of a kind for a given message (and attempt), anywhere or on one hop.
"""

from __future__ import annotations

from heapq import heappush

from .agenda import ROUNDER, round_ms
from .rng import PACKET, kind_code

_new = object.__new__


class Packet:
    """One packet on the wire (a network copy is a packet of its own)."""

    __slots__ = ("id", "msg", "kind", "attempt", "origin", "copy", "src", "dst", "seqno",
                 "sent_t", "eta", "send_seq", "lost", "doomed", "version", "delay", "copies",
                 "fault", "why", "clones", "item")

    def __init__(self, pid, msg, kind, attempt, origin, copy, src, dst, seqno, sent_t, eta):
        self.id = pid
        self.msg = msg
        self.kind = kind
        self.attempt = attempt
        self.origin = origin  # for an answer: the copy number of the data packet it answers
        self.copy = copy  # 0 for a packet a node sent, 1, 2, ... for copies the network made
        self.src = src
        self.dst = dst
        self.seqno = seqno
        self.sent_t = sent_t
        self.eta = eta
        self.send_seq = 0
        self.lost = False
        self.doomed = False  # its receiver crashed while it was on the way
        self.version = 0  # bumped when its arrival is rescheduled or it is dropped
        self.delay = 0.0  # a scheduled delay not yet applied
        self.copies = 0
        self.fault = None  # the scheduled fault spec that decides its fate
        self.why = ""  # for an ack: why it was sent ("skipped": for a message never processed)
        self.clones = None  # the copies the network made of it, if any
        self.item = None  # for data: the consumer's Delivery once it arrived

    def view(self) -> dict:
        return {"packet": self.id, "msg": self.msg, "kind": self.kind, "from": self.src,
                "to": self.dst, "attempt": self.attempt, "sent_t": self.sent_t, "eta": self.eta}


class Network:
    def __init__(self, sim):
        self.sim = sim
        self.inflight: dict[int, Packet] = {}
        self.next_id = 1
        self.wire_counts: dict[str, int] = {}
        self.hop_counts: dict[tuple[str, int], int] = {}  # (kind, hop) -> packets put on it
        # (kind, n) or (kind, "msg", msg, a), or on a hop (kind, hop, n) or
        # (kind, hop, "msg", msg, a) -> Fault
        self.scheduled: dict[tuple, object] = {}
        self._draws = sim.fate.draws
        self._keyed = sim.fate.keyed_draws
        self._heap = sim.heap
        self._order = sim.order
        self._on_arrive = sim.on_arrive
        self._on_drop = sim.on_drop
        self._protocol = sim.protocol
        self._codes = {kind: kind_code(kind) for kind in sim.protocol.packet_kinds}
        self.configure(sim.topology)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_order"]  # the simulation's counter, linked again when it is restored
        return state

    def configure(self, topology) -> None:
        """Take the links of ``topology``: (src, dst) -> (loss by kind, loss of other kinds,
        duplication, latency min, latency spread, fate key)."""
        self.links = {ends: (dict(link.loss), link.default_loss, link.duplicate,
                             link.latency_min, link.latency_max - link.latency_min,
                             link.fate_key())
                      for ends, link in topology.links.items()}
        self.hops = {ends: link.hop for ends, link in topology.links.items()
                     if link.hop is not None}

    def _link(self, src: str, dst: str) -> tuple:
        try:
            return self.links[src, dst]
        except KeyError:
            raise ValueError(f"no link from {src} to {dst}") from None

    def _fate(self, key: int, msg: int, attempt: int, code: int, origin: int, copy: int):
        if key:
            return self._keyed(key, msg, attempt, code, origin, copy, PACKET)
        return self._draws(msg, attempt, code, origin, copy, PACKET)

    def add_fault(self, fault) -> None:
        where = (fault.kind,) if fault.hop is None else (fault.kind, fault.hop)
        if fault.msg is not None:
            self.scheduled[(*where, "msg", fault.msg, fault.attempt)] = fault
        else:
            self.scheduled[(*where, fault.nth)] = fault

    def _fault_for(self, kind: str, n: int, msg: int, attempt: int, hop=None, hop_n: int = 0):
        """The scheduled fault that decides this packet's fate, if any (taken: it acts once)."""
        pop = self.scheduled.pop
        fault = (pop((kind, n), None) or pop((kind, "msg", msg, attempt), None)
                 or pop((kind, "msg", msg, None), None))
        if fault is None and hop is not None:
            fault = (pop((kind, hop, hop_n), None) or pop((kind, hop, "msg", msg, attempt), None)
                     or pop((kind, hop, "msg", msg, None), None))
        return fault

    def transmit(self, type_, lane, text, kind, msg, attempt, origin, src, dst, seqno,
                 cause, extra=None) -> Packet:
        """A node of another protocol puts a packet on the wire, its event of type ``type_``
        drawn on ``lane`` and worded ``text`` (``events.packet``); see ``put``."""
        return self.put(self.sim.build.packet, (type_, lane, text, extra), kind, msg, attempt,
                        origin, src, dst, seqno, cause)

    def put(self, build, info, kind, msg, attempt, origin, src, dst, seqno, cause) -> Packet:
        """A node puts a packet on the wire: decide its fate, have ``build`` (a builder of
        ``events.py``, called as ``build(sim, pkt, cause, info)``) make its event, schedule
        it."""
        sim = self.sim
        now = sim.now
        n = self.wire_counts.get(kind, 0) + 1
        self.wire_counts[kind] = n
        code = self._codes.get(kind)
        if code is None:
            code = self._codes[kind] = kind_code(kind)
        link = self.links.get((src, dst))
        if link is None:
            self._link(src, dst)  # raises
        loss, other_loss, dup_p, lat_min, lat_span, key = link
        hop = hop_n = None
        if self.hops:
            hop = self.hops.get((src, dst))
            if hop is not None:
                hop_n = self.hop_counts[kind, hop] = self.hop_counts.get((kind, hop), 0) + 1
        if key:
            loss_u, lat_u, dup_u, drop_u = self._keyed(key, msg, attempt, code, origin, 0, PACKET)
        else:
            loss_u, lat_u, dup_u, drop_u = self._draws(msg, attempt, code, origin, 0, PACKET)
        eta = now + lat_min + lat_u * lat_span
        y = eta * 1000.0  # eta = round_ms(eta), spelled out
        if 0.0 < y < 1e12:
            r = (y + ROUNDER) - ROUNDER
            eta = r / 1000.0 if -0.49 < y - r < 0.49 else round(eta, 3)
        else:
            eta = round(eta, 3)
        pid = self.next_id
        self.next_id = pid + 1
        # Packet(pid, msg, kind, attempt, origin, 0, src, dst, seqno, now, eta), spelled out:
        # on the hottest path a constructor call costs a third of making the packet
        pkt = _new(Packet)
        pkt.id = pid
        pkt.msg = msg
        pkt.kind = kind
        pkt.attempt = attempt
        pkt.origin = origin
        pkt.copy = 0
        pkt.src = src
        pkt.dst = dst
        pkt.seqno = seqno
        pkt.sent_t = now
        pkt.eta = eta
        pkt.lost = pkt.doomed = False
        pkt.version = pkt.copies = 0
        pkt.delay = 0.0
        pkt.fault = pkt.clones = pkt.item = None
        pkt.why = ""
        pkt.send_seq = dup_cause = build(sim, pkt, cause, info)
        self.inflight[pid] = pkt
        lost = loss_u < loss.get(kind, other_loss)
        dup = dup_u < dup_p
        fault = self._fault_for(kind, n, msg, attempt, hop, hop_n) if self.scheduled else None
        if fault is None:  # the usual case, with _launch spelled out
            if lost:
                pkt.lost = True
                at = round_ms(now + (eta - now) * (0.15 + 0.7 * drop_u))
                heappush(self._heap, (at, 1, self._order(), self._on_drop, pkt, 0))
            else:
                heappush(self._heap, (eta, 1, self._order(), self._on_arrive, pkt, 0))
            if dup:
                self.copy(pkt, dup_cause, forced=False)
            return pkt
        pkt.fault = fault.spec
        if fault.action == "drop":
            lost, dup = True, False
        elif fault.action == "duplicate":
            lost, dup = False, True
            dup_cause = sim.build.fault_injected(sim, fault.spec, pkt, node=None)
        else:
            lost = False
            pkt.delay = fault.delay
        self._launch(pkt, lost, drop_u)
        if dup:
            self.copy(pkt, dup_cause, forced=True)
        return pkt

    def copy(self, pkt: Packet, cause: int, forced: bool) -> Packet:
        """The network makes an extra copy of ``pkt`` (its own packet id and fate)."""
        sim = self.sim
        now = sim.now
        pkt.copies += 1
        c = pkt.copies
        kind = pkt.kind
        loss, other_loss, _, lat_min, lat_span, key = self._link(pkt.src, pkt.dst)
        loss_u, lat_u, _, drop_u = self._fate(key, pkt.msg, pkt.attempt, kind_code(kind),
                                              pkt.origin, c)
        eta = round_ms(now + lat_min + lat_u * lat_span)
        pid = self.next_id
        self.next_id = pid + 1
        dup = Packet(pid, pkt.msg, kind, pkt.attempt, pkt.origin, c, pkt.src, pkt.dst, pkt.seqno,
                     now, eta)
        dup.why = pkt.why
        if pkt.clones is None:
            pkt.clones = [dup]
        else:
            pkt.clones.append(dup)
        dup.send_seq = sim.build.net_duplicate(sim, dup, pkt, cause)
        self.inflight[pid] = dup
        lost = not forced and loss_u < loss.get(kind, other_loss)
        self._launch(dup, lost, drop_u)
        return dup

    def _launch(self, pkt: Packet, lost: bool, drop_u: float) -> None:
        """Schedule the packet's drop (mid-way) or its arrival; both times are already rounded,
        as the agenda keeps them."""
        if lost:
            pkt.lost = True
            sent = pkt.sent_t
            at = round_ms(sent + (pkt.eta - sent) * (0.15 + 0.7 * drop_u))
            heappush(self._heap, (at, 1, self._order(), self._on_drop, pkt, 0))
        else:
            heappush(self._heap, (pkt.eta, 1, self._order(), self._on_arrive, pkt, 0))

    def doom_to(self, node: str) -> int:
        """``node`` crashed: what is on its way to it is lost. Returns how many packets."""
        n = 0
        for pkt in self.inflight.values():
            if pkt.dst == node and not pkt.doomed:
                pkt.doomed = True
                n += 1
        return n

    def drop(self, pkt: Packet, reason: str, cause: int | None = None) -> int:
        """Emit the loss of ``pkt`` now and forget it (a happening still waiting for it dies)."""
        self.inflight.pop(pkt.id, None)
        pkt.version += 1
        sim = self.sim
        seq = sim.build.drop(sim, pkt, reason, pkt.send_seq if cause is None else cause)
        self._protocol.packet_lost(sim, pkt, reason)
        return seq

    def reschedule(self, pkt: Packet, eta: float) -> None:
        """Move the arrival of ``pkt`` to ``eta`` (a packet already lost keeps its drop)."""
        pkt.eta = eta
        if not pkt.lost:
            pkt.version += 1
            self.sim.schedule(eta, 1, self._on_arrive, pkt, pkt.version)
