"""The network between the nodes: packets, their fates, and the packets in flight.

A packet travels the link from its sender to its receiver (``topology.py``). The link loses it
with the loss probability of its kind, delays it by a latency drawn uniformly from [min, max]
(the spread lets packets overtake each other), and may deliver an extra copy. Every draw is
keyed by the link and the packet (see ``rng.py``). A lost packet is
dropped at an instant between its send and its would-be arrival, never revealed at send time.
Scheduled packet faults replace the fate of the N-th packet of a kind put on the wire, or of the
packet of a kind for a given message (and attempt).
"""

from __future__ import annotations

from heapq import heappush

from . import events as E
from . import narrate
from .agenda import round_ms
from .rng import PACKET, kind_code


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
        self.scheduled: dict[tuple, object] = {}  # (kind, n) or (kind, "msg", msg, a) -> Fault
        self._draws = sim.fate.draws
        self._keyed = sim.fate.keyed_draws
        self._heap = sim.heap
        self._order = sim.order
        self._on_arrive = sim.on_arrive
        self._on_drop = sim.on_drop
        self._protocol = sim.protocol
        self._drop_types = sim.protocol.drop_types
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
        if fault.msg is not None:
            self.scheduled[(fault.kind, "msg", fault.msg, fault.attempt)] = fault
        else:
            self.scheduled[(fault.kind, fault.nth)] = fault

    def _fault_for(self, kind: str, n: int, msg: int, attempt: int):
        """The scheduled fault that decides this packet's fate, if any (taken: it acts once)."""
        pop = self.scheduled.pop
        return (pop((kind, n), None) or pop((kind, "msg", msg, attempt), None)
                or pop((kind, "msg", msg, None), None))

    def transmit(self, type_, lane, text, kind, msg, attempt, origin, src, dst, seqno,
                 cause, extra=None) -> Packet:
        """A node puts a packet on the wire: emit its event, decide its fate, schedule it."""
        sim = self.sim
        now = sim.now
        n = self.wire_counts.get(kind, 0) + 1
        self.wire_counts[kind] = n
        code = self._codes.get(kind)
        if code is None:
            code = self._codes[kind] = kind_code(kind)
        loss, other_loss, dup_p, lat_min, lat_span, key = self._link(src, dst)
        if key:
            loss_u, lat_u, dup_u, drop_u = self._keyed(key, msg, attempt, code, origin, 0, PACKET)
        else:
            loss_u, lat_u, dup_u, drop_u = self._draws(msg, attempt, code, origin, 0, PACKET)
        eta = round_ms(now + lat_min + lat_u * lat_span)
        pid = self.next_id
        self.next_id = pid + 1
        pkt = Packet(pid, msg, kind, attempt, origin, 0, src, dst, seqno, now, eta)
        ev = {"seq": 0, "t": now, "type": type_, "msg": msg, "packet": pid, "attempt": attempt,
              "lane": lane, "cause": cause, "text": text, "kind": kind, "from": src, "to": dst,
              "eta": eta, "node": src}
        if seqno is not None:
            ev["seqno"] = seqno
        if extra:
            ev.update(extra)
        pkt.send_seq = dup_cause = sim.record(ev)
        self.inflight[pid] = pkt
        lost = loss_u < loss.get(kind, other_loss)
        dup = dup_u < dup_p
        fault = self._fault_for(kind, n, msg, attempt) if self.scheduled else None
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
            dup_cause = sim.emit(E.FAULT_INJECTED, "network",
                                 narrate.fault_scheduled(fault.spec, pkt), msg, pid, attempt,
                                 None, {"fault": fault.spec, "kind": kind})
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
        ev = {"seq": 0, "t": now, "type": E.NET_DUPLICATE, "msg": pkt.msg, "packet": pid,
              "attempt": pkt.attempt, "lane": "network", "cause": cause,
              "text": narrate.net_duplicate(pkt), "kind": kind, "from": pkt.src, "to": pkt.dst,
              "eta": eta, "node": "network", "original": pkt.id}
        if pkt.seqno is not None:
            ev["seqno"] = pkt.seqno
        sim.tally.note(ev)
        dup.send_seq = sim.record(ev)
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
        kind = pkt.kind
        sim = self.sim
        ev = {"seq": 0, "t": sim.now, "type": self._drop_types.get(kind, E.DROP),
              "msg": pkt.msg, "packet": pkt.id, "attempt": pkt.attempt, "lane": "network",
              "cause": pkt.send_seq if cause is None else cause,
              "text": self._protocol.drop_text(sim, pkt, reason), "kind": kind,
              "from": pkt.src, "to": pkt.dst, "reason": reason, "node": "network"}
        if pkt.seqno is not None:
            ev["seqno"] = pkt.seqno
        seq = sim.record(ev)
        self._protocol.packet_lost(sim, pkt, reason)
        return seq

    def reschedule(self, pkt: Packet, eta: float) -> None:
        """Move the arrival of ``pkt`` to ``eta`` (a packet already lost keeps its drop)."""
        pkt.eta = eta
        if not pkt.lost:
            pkt.version += 1
            self.sim.schedule(eta, 1, self._on_arrive, pkt, pkt.version)
