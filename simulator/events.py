"""The one event schema (docs/events.md): event types, lanes, and one builder per event type.

An event is a flat dict. Every event is made here, by the builder of its type (``BUILDERS``):
the builder fills every always-present field in the schema's order, then the optional fields of
its type, numbers the event, hands it to the simulation and counts it. Nowhere else in the
simulator is an event put together.

The event's ``text`` is not written when the event is made: the builder stores the sentence's
*words*, a tuple ``(narrate function, *its arguments)`` captured at that instant (values, or
packets whose fields the sentence reads never change), and the simulation turns them into the
sentence where the event leaves it (``tell``), or into None if the run is not narrated
(``mute``). A run replayed to a position, whose events are thrown away, never narrates them.
Another protocol's node may still give a finished sentence (a ``str``) to the generic builders
``event`` and ``packet``; ``tell`` leaves it as it is.
"""

from __future__ import annotations

from . import narrate as N

SEND = "send"
RETRY = "retry"
NET_DUPLICATE = "net_duplicate"
DROP = "drop"
DELIVER = "deliver"
TIMEOUT = "timeout"
ACK_SEND = "ack_send"
NACK = "nack"
ACK_DELIVER = "ack_deliver"
ACK_DROP = "ack_drop"
GIVE_UP = "give_up"
PROCESS = "process"
PROCESS_FAIL = "process_fail"
DEDUP_DISCARD = "dedup_discard"
BUFFER = "buffer"
RELEASE = "release"
GAP_SKIP = "gap_skip"
STALE_DROP = "stale_drop"
TRANSITION_APPLIED = "transition_applied"
TRANSITION_PARKED = "transition_parked"
TRANSITION_REJECTED = "transition_rejected"
CRASH = "crash"
RESTART = "restart"
CONFIG_CHANGE = "config_change"
FAULT_INJECTED = "fault_injected"
TIMEOUT_EXPLAINED = "timeout_explained"
DEAD_LETTER = "dead_letter"
DEDUP_RECORD = "dedup_record"

EVENT_TYPES = (
    SEND, RETRY, NET_DUPLICATE, DROP, DELIVER, TIMEOUT, ACK_SEND, NACK, ACK_DELIVER, ACK_DROP,
    GIVE_UP, PROCESS, PROCESS_FAIL, DEDUP_DISCARD, BUFFER, RELEASE, GAP_SKIP, STALE_DROP,
    TRANSITION_APPLIED, TRANSITION_PARKED, TRANSITION_REJECTED, CRASH, RESTART, CONFIG_CHANGE,
    FAULT_INJECTED, TIMEOUT_EXPLAINED, DEAD_LETTER, DEDUP_RECORD,
)

ALWAYS = ("seq", "t", "type", "msg", "packet", "attempt", "lane", "cause", "text")
LANES = ("producer", "network", "broker", "consumer", "app", "all")

__all__ = [name.upper() for name in EVENT_TYPES] + ["EVENT_TYPES", "LANES", "ALWAYS", "make"]


# --- the edge: words into sentences ------------------------------------------------------------
def tell(events: list[dict]) -> list[dict]:
    """Write each event's sentence from the words its builder kept (in place); return them."""
    for ev in events:
        words = ev["text"]
        if words.__class__ is tuple:
            ev["text"] = words[0](*words[1:])
    return events


def mute(events: list[dict]) -> list[dict]:
    """A run nobody reads: its events carry no sentence (``text`` None)."""
    for ev in events:
        ev["text"] = None
    return events


def make(seq: int, t: float, type_: str, lane: str, text: str, msg: int | None = None,
         packet: int | None = None, attempt: int | None = None, cause: int | None = None,
         extra: dict | None = None) -> dict:
    """One event with every always-present field, not numbered by a simulation (for tools
    that build events of their own)."""
    ev = {"seq": seq, "t": t, "type": type_, "msg": msg, "packet": packet, "attempt": attempt,
          "lane": lane, "cause": cause, "text": text}
    if extra:
        ev.update(extra)
    return ev


def _put(sim, ev: dict, type_: str) -> int:
    """Number a finished event (its ``seq`` is 0 until now), hand it to the simulation, count
    it. The builders of frequent events do the same inline."""
    seq = ev["seq"] = sim._last = sim._last + 1
    sim._out.append(ev)
    sim._counts[type_] += 1
    return seq


# --- the producer ------------------------------------------------------------------------------
# The builders of packet events (send, retry, ack_send, nack, ``packet``) are called by
# ``Network.put`` as ``build(sim, pkt, cause, info)`` once the packet has its id and arrival
# time; ``info`` is what else the event says.
#
# The builders of frequent events copy a template of their type and fill in its values: a copy
# of a dict and a dozen stores cost about half of a dict display of 15 fields, the largest
# single cost of making an event.

def _shape(type_: str, lane: str, *fields: str, **fixed) -> dict:
    """The template of a frequent event type: the fields of ``ALWAYS``, then ``fields``, in
    that order (a copy keeps it); ``type``, ``lane`` and ``fixed`` already filled in."""
    ev = dict.fromkeys(ALWAYS + fields)
    ev["type"] = type_
    ev["lane"] = lane
    ev.update(fixed)
    return ev


_SEND = _shape(SEND, "producer", "kind", "from", "to", "eta", "node", "seqno")
_RETRY = _shape(RETRY, "producer", "kind", "from", "to", "eta", "node", "seqno", "after",
                "waited")
_TIMEOUT = _shape(TIMEOUT, "producer", "node", "seqno", node="producer")
_ACK_DELIVER = _shape(ACK_DELIVER, "producer", "kind", "from", "to", "node", "seqno",
                      node="producer")
_TIMEOUT_EXPLAINED = _shape(TIMEOUT_EXPLAINED, "producer", "node", "timeout", "verdict",
                            "detail", "observer", node="producer", observer=True)


def _on_wire(sim, template: dict, pkt, cause, words) -> tuple[int, dict]:
    """An event that puts ``pkt`` on the wire, from its type's ``template``: the fields every
    such event carries. Returns its seq and the event (still open for fields of its own)."""
    seq = sim._last = sim._last + 1
    src = pkt.src
    ev = template.copy()
    ev["seq"] = seq
    ev["t"] = pkt.sent_t
    ev["msg"] = pkt.msg
    ev["packet"] = pkt.id
    ev["attempt"] = pkt.attempt
    ev["cause"] = cause
    ev["text"] = words
    ev["kind"] = pkt.kind
    ev["from"] = src
    ev["to"] = pkt.dst
    ev["eta"] = pkt.eta
    ev["node"] = src
    ev["seqno"] = pkt.seqno
    sim._out.append(ev)
    sim._counts[template["type"]] += 1
    return seq, ev


def send(sim, pkt, cause, info) -> int:
    """The first transmission of a message."""
    return _on_wire(sim, _SEND, pkt, cause, (N.send, pkt.msg))[0]


def retry(sim, pkt, cause, info) -> int:
    """A retransmission; ``info`` is (after: "timeout" or "nack", waited: the backoff)."""
    after, waited = info
    seq, ev = _on_wire(sim, _RETRY, pkt, cause, (N.retry, pkt.msg, pkt.attempt, after, waited))
    ev["after"] = after
    ev["waited"] = waited
    return seq


def timeout(sim, msg: int, attempt: int, cause: int, wait: float) -> int:
    seq = sim._last = sim._last + 1
    ev = _TIMEOUT.copy()
    ev["seq"] = seq
    ev["t"] = sim.now
    ev["msg"] = msg
    ev["attempt"] = attempt
    ev["cause"] = cause
    ev["text"] = (N.timeout, msg, attempt, wait)
    ev["seqno"] = msg
    sim._out.append(ev)
    sim._counts[TIMEOUT] += 1
    return seq


def ack_deliver(sim, pkt, outcome: str, wait: float, false_done: bool) -> int:
    """An answer reached the producer; ``outcome``: done, retry, dead_letter, older, late."""
    seq = sim._last = sim._last + 1
    msg = pkt.msg
    kind = pkt.kind
    ev = _ACK_DELIVER.copy()
    ev["seq"] = seq
    ev["t"] = sim.now
    ev["msg"] = msg
    ev["packet"] = pkt.id
    ev["attempt"] = pkt.attempt
    ev["cause"] = pkt.send_seq
    ev["text"] = (N.ack_deliver, kind, msg, outcome, wait, false_done)
    ev["kind"] = kind
    ev["from"] = pkt.src
    ev["to"] = pkt.dst
    ev["seqno"] = msg
    if false_done:
        ev["false_done"] = True
        sim.tally.note(ev)
    sim._out.append(ev)
    sim._counts[ACK_DELIVER] += 1
    return seq


def give_up(sim, msg: int, attempt: int, cause: int, reason: str) -> int:
    return _put(sim, {"seq": 0, "t": sim.now, "type": GIVE_UP, "msg": msg, "packet": None,
                      "attempt": attempt, "lane": "producer", "cause": cause,
                      "text": (N.give_up, msg, reason, attempt), "node": "producer",
                      "reason": reason, "seqno": msg}, GIVE_UP)


def dead_letter(sim, msg: int, attempt: int, cause: int) -> int:
    return _put(sim, {"seq": 0, "t": sim.now, "type": DEAD_LETTER, "msg": msg, "packet": None,
                      "attempt": attempt, "lane": "producer", "cause": cause,
                      "text": (N.dead_letter, msg, attempt), "node": "producer",
                      "reason": "failed_every_attempt", "seqno": msg}, DEAD_LETTER)


def timeout_explained(sim, msg: int, attempt: int, timeout_seq: int, verdict: str,
                      detail: str) -> int:
    """The observer's hindsight on the timeout ``timeout_seq``."""
    seq = sim._last = sim._last + 1
    ev = _TIMEOUT_EXPLAINED.copy()
    ev["seq"] = seq
    ev["t"] = sim.now
    ev["msg"] = msg
    ev["attempt"] = attempt
    ev["cause"] = timeout_seq
    ev["text"] = (N.timeout_explained, msg, attempt, verdict, detail)
    ev["timeout"] = timeout_seq
    ev["verdict"] = verdict
    ev["detail"] = detail
    sim.tally.bump("timeouts_" + verdict)  # tally.note, spelled out
    sim._out.append(ev)
    sim._counts[TIMEOUT_EXPLAINED] += 1
    return seq


# --- the network -------------------------------------------------------------------------------
def net_duplicate(sim, copy, original, cause: int) -> int:
    """The network made ``copy``, an extra copy of ``original``."""
    ev = {"seq": 0, "t": copy.sent_t, "type": NET_DUPLICATE, "msg": copy.msg,
          "packet": copy.id, "attempt": copy.attempt, "lane": "network", "cause": cause,
          "text": (N.net_duplicate, original), "kind": copy.kind, "from": copy.src,
          "to": copy.dst, "eta": copy.eta, "node": "network", "original": original.id}
    if copy.seqno is not None:
        ev["seqno"] = copy.seqno
    sim.tally.note(ev)
    return _put(sim, ev, NET_DUPLICATE)


_DROP = _shape(DROP, "network", "kind", "from", "to", "reason", "node", node="network")


def drop(sim, pkt, reason: str, cause: int) -> int:
    """A packet lost in flight: ``drop``, or the type the protocol gives its kind's loss
    (``ack_drop`` for the classic model's answers). Its words come from the protocol
    (``drop_words``), worked out now: what the loss means depends on the run at this instant."""
    seq = sim._last = sim._last + 1
    kind = pkt.kind
    protocol = sim.protocol
    type_ = protocol.drop_types.get(kind, DROP)
    ev = _DROP.copy()
    ev["seq"] = seq
    ev["t"] = sim.now
    ev["type"] = type_
    ev["msg"] = pkt.msg
    ev["packet"] = pkt.id
    ev["attempt"] = pkt.attempt
    ev["cause"] = cause
    if protocol.link_lanes:  # a protocol whose hops have lanes of their own
        ev["lane"] = protocol.link_lanes.get((pkt.src, pkt.dst), "network")
    if sim.narrating:  # a run nobody reads needs no outlook
        ev["text"] = protocol.drop_words(sim, pkt, reason)
    ev["kind"] = kind
    ev["from"] = pkt.src
    ev["to"] = pkt.dst
    ev["reason"] = reason
    if pkt.seqno is not None:
        ev["seqno"] = pkt.seqno
    sim._out.append(ev)
    sim._counts[type_] += 1
    return seq


def fault_injected(sim, spec: str, pkt=None, node: str | None = "network",
                   by_hand: bool = False, effective: bool = True, by: float = 0.0) -> int:
    """A fault acts now. On a packet (``pkt``): scheduled, or done by hand (``by_hand``, with
    ``by`` the delay of a live delay); ``node`` is "network", or None where the event has no
    ``node`` field (a scheduled duplication). On a node (``pkt`` None): a crash or restart of
    ``node``, not ``effective`` if the node is already in that state."""
    action = spec.split(":", 1)[0]
    if pkt is None:
        ev = {"seq": 0, "t": sim.now, "type": FAULT_INJECTED, "msg": None, "packet": None,
              "attempt": None, "lane": node, "cause": None,
              "text": (N.fault_node, action, node, effective, by_hand), "fault": spec,
              "node": node}
        return _put(sim, ev, FAULT_INJECTED)
    words = (N.fault_live, action, pkt, by) if by_hand else (N.fault_scheduled, spec, pkt)
    lane = sim.protocol.link_lanes.get((pkt.src, pkt.dst), "network")
    ev = {"seq": 0, "t": sim.now, "type": FAULT_INJECTED, "msg": pkt.msg, "packet": pkt.id,
          "attempt": pkt.attempt, "lane": lane, "cause": None, "text": words,
          "fault": spec, "kind": pkt.kind}
    if node is not None:
        ev["node"] = node
    return _put(sim, ev, FAULT_INJECTED)


# --- the consumer and its application ----------------------------------------------------------
_DELIVER = _shape(DELIVER, "consumer", "kind", "from", "to", "node", "seqno", "duplicate",
                  "out_of_order", node="consumer")
_ACK_SEND = _shape(ACK_SEND, "consumer", "kind", "from", "to", "eta", "node", "seqno")
_NACK = _shape(NACK, "consumer", "kind", "from", "to", "eta", "node", "seqno")
_PROCESS = _shape(PROCESS, "app", "node", "seqno", "duplicate", "out_of_order", "balance",
                  node="consumer")


def deliver(sim, pkt, cause: int, dup: bool, ooo: bool, resend: bool) -> int:
    """A data packet reached the consumer; ``resend``: a copy of a message not yet processed
    that arrived again after a retry."""
    seq = sim._last = sim._last + 1
    msg = pkt.msg
    ev = _DELIVER.copy()
    ev["seq"] = seq
    ev["t"] = sim.now
    ev["msg"] = msg
    ev["packet"] = pkt.id
    ev["attempt"] = pkt.attempt
    ev["cause"] = cause
    ev["text"] = (N.deliver, msg, dup, ooo, resend)
    ev["kind"] = pkt.kind
    ev["from"] = pkt.src
    ev["to"] = pkt.dst
    ev["seqno"] = pkt.seqno
    ev["duplicate"] = dup
    ev["out_of_order"] = ooo
    sim._out.append(ev)
    sim._counts[DELIVER] += 1
    if ooo:
        sim.tally.arrived_out_of_order()
    return seq


def ack_send(sim, pkt, cause, info) -> int:
    """The consumer acks; ``info`` (why) words it: done, processed, skipped, discarded."""
    return _on_wire(sim, _ACK_SEND, pkt, cause, (N.ack_send, pkt.msg, info))[0]


def nack(sim, pkt, cause, info) -> int:
    return _on_wire(sim, _NACK, pkt, cause, (N.nack, pkt.msg))[0]


def dedup_discard(sim, item, processed: bool) -> int:
    return _put(sim, {"seq": 0, "t": sim.now, "type": DEDUP_DISCARD, "msg": item.msg,
                      "packet": item.packet, "attempt": item.attempt, "lane": "consumer",
                      "cause": item.deliver_seq,
                      "text": (N.dedup_discard, item.msg, processed), "node": "consumer",
                      "seqno": item.seqno}, DEDUP_DISCARD)


def dedup_record(sim, item, when: str, cause: int, durable: bool) -> int:
    return _put(sim, {"seq": 0, "t": sim.now, "type": DEDUP_RECORD, "msg": item.msg,
                      "packet": item.packet, "attempt": item.attempt, "lane": "consumer",
                      "cause": cause, "text": (N.dedup_record, item.msg, when, durable),
                      "node": "consumer", "seqno": item.seqno, "when": when}, DEDUP_RECORD)


def process(sim, item, dup: bool, ooo: bool, balance: int, recorded: bool, operation: str,
            semantics: str, forgot: bool, transition: tuple | None = None) -> int:
    """The application processed a message. Its words: the payment (``operation``,
    ``semantics``, ``forgot``: the dedup store no longer knew the id), or under state-machine
    ordering the lifecycle event it takes up, ``transition`` = (order, name)."""
    seq = sim._last = sim._last + 1
    msg = item.msg
    ev = _PROCESS.copy()
    ev["seq"] = seq
    ev["t"] = sim.now
    ev["msg"] = msg
    ev["packet"] = item.packet
    ev["attempt"] = item.attempt
    ev["cause"] = item.deliver_seq
    ev["text"] = (N.process, msg, dup, balance, operation, semantics, forgot) \
        if transition is None else (N.process_transition, msg, dup, *transition)
    ev["seqno"] = item.seqno
    ev["duplicate"] = dup
    ev["out_of_order"] = ooo
    ev["balance"] = balance
    if recorded:
        ev["recorded"] = True
    sim._out.append(ev)
    sim._counts[PROCESS] += 1
    sim.tally.processed(dup, ooo, balance)
    return seq


def process_fail(sim, item, nacks: bool) -> int:
    return _put(sim, {"seq": 0, "t": sim.now, "type": PROCESS_FAIL, "msg": item.msg,
                      "packet": item.packet, "attempt": item.attempt, "lane": "app",
                      "cause": item.deliver_seq, "text": (N.process_fail, item.msg, nacks),
                      "node": "consumer", "seqno": item.seqno, "reason": "application_error"},
                PROCESS_FAIL)


def _transition(sim, type_: str, msg: int, item, cause: int, entity: str, name: str,
                state, words: tuple) -> dict:
    """The fields every transition event shares; the message's own packet and attempt only
    if it is the message just processed (a parked one it unblocked has none here)."""
    own = msg == item.msg
    return {"seq": 0, "t": sim.now, "type": type_, "msg": msg,
            "packet": item.packet if own else None, "attempt": item.attempt if own else None,
            "lane": "app", "cause": cause, "text": words, "node": "consumer", "entity": entity,
            "transition": name, "state": state}


def transition_applied(sim, msg: int, item, cause: int, order: int, entity: str, name: str,
                       state: str, balance: int, credited: bool) -> int:
    """A lifecycle transition applied and paid (``credited``: the balance moved)."""
    ev = _transition(sim, TRANSITION_APPLIED, msg, item, cause, entity, name, state,
                     (N.transition_applied, order, name, msg, balance, credited,
                      msg != item.msg))
    ev["balance"] = balance
    sim.tally.paid(balance)
    return _put(sim, ev, TRANSITION_APPLIED)


def transition_parked(sim, msg: int, item, cause: int, order: int, entity: str, name: str,
                      state, why: str) -> int:
    ev = _transition(sim, TRANSITION_PARKED, msg, item, cause, entity, name, state,
                     (N.transition_parked, order, name, state))
    ev["reason"] = why
    return _put(sim, ev, TRANSITION_PARKED)


def transition_rejected(sim, msg: int, item, cause: int, order: int, entity: str, name: str,
                        state, why: str, copy_of: str) -> int:
    """Rejected: a ``duplicate`` (of a transition ``copy_of``: applied, parked, rejected) or
    ``impossible`` (a real transition whose payment is lost)."""
    ev = _transition(sim, TRANSITION_REJECTED, msg, item, cause, entity, name, state,
                     (N.transition_rejected, order, name, state, why, copy_of))
    if why == "impossible":
        ev["lost_effect"] = True
    ev["reason"] = why
    sim.tally.bump("rejected_duplicates" if why == "duplicate" else "rejected_impossible")
    return _put(sim, ev, TRANSITION_REJECTED)


# --- ordering ----------------------------------------------------------------------------------
def buffer(sim, item, expected: int, resends: bool, held: list[int]) -> int:
    return _put(sim, {"seq": 0, "t": sim.now, "type": BUFFER, "msg": item.msg,
                      "packet": item.packet, "attempt": item.attempt, "lane": "consumer",
                      "cause": item.deliver_seq,
                      "text": (N.buffer, item.msg, item.seqno, expected, resends),
                      "seqno": item.seqno, "held": held}, BUFFER)


def release(sim, item, cause: int, held: list[int], waited: bool,
            reason: str | None = None) -> int:
    """The reorder buffer lets ``item`` go: it ``waited`` in the buffer, or passes straight
    on; ``reason`` "ordering_changed" when a switch of ordering flushes the buffer."""
    words = (N.release_flush, item.msg, item.seqno) if reason == "ordering_changed" else \
        (N.release, item.msg, item.seqno, waited)
    ev = {"seq": 0, "t": sim.now, "type": RELEASE, "msg": item.msg, "packet": item.packet,
          "attempt": item.attempt, "lane": "consumer", "cause": cause, "text": words,
          "seqno": item.seqno, "held": held}
    if reason:
        ev["reason"] = reason
    return _put(sim, ev, RELEASE)


def gap_skip(sim, skipped: list[int], held: list[int], first: int, resends: bool) -> int:
    return _put(sim, {"seq": 0, "t": sim.now, "type": GAP_SKIP, "msg": None, "packet": None,
                      "attempt": None, "lane": "consumer", "cause": None,
                      "text": (N.gap_skip, skipped, resends), "skipped": skipped,
                      "held": held, "seqno": first}, GAP_SKIP)


def stale_drop(sim, item, state: str, answers: bool, reason: str) -> int:
    """A late or repeated number dropped; ``state`` words it (held, processed, waiting,
    skipped), ``reason`` is "stale" or "repeated"."""
    return _put(sim, {"seq": 0, "t": sim.now, "type": STALE_DROP, "msg": item.msg,
                      "packet": item.packet, "attempt": item.attempt, "lane": "consumer",
                      "cause": item.deliver_seq,
                      "text": (N.stale_drop, item.msg, item.seqno, state, answers),
                      "seqno": item.seqno, "reason": reason}, STALE_DROP)


# --- nodes and live changes --------------------------------------------------------------------
def crash(sim, node: str, cause: int, lost: list[str], notes: list[str]) -> int:
    return _put(sim, {"seq": 0, "t": sim.now, "type": CRASH, "msg": None, "packet": None,
                      "attempt": None, "lane": node, "cause": cause,
                      "text": (N.crash, node, lost, notes), "node": node}, CRASH)


def restart(sim, node: str, cause: int) -> int:
    return _put(sim, {"seq": 0, "t": sim.now, "type": RESTART, "msg": None, "packet": None,
                      "attempt": None, "lane": node, "cause": cause,
                      "text": (N.restart, node), "node": node}, RESTART)


def config_change(sim, changes: dict, notes: list[str], labels: dict | None = None) -> int:
    return _put(sim, {"seq": 0, "t": sim.now, "type": CONFIG_CHANGE, "msg": None,
                      "packet": None, "attempt": None, "lane": "all", "cause": None,
                      "text": (N.config_change, changes, notes, labels), "changes": changes},
                CONFIG_CHANGE)


# --- generic builders, for the event types another protocol adds ---------------------------------
def event(sim, type_: str, lane: str, text, msg: int | None, packet: int | None,
          attempt: int | None, cause: int | None, extra: dict | None = None) -> int:
    """An event of a protocol's own (``Simulation.emit``): ``text`` a sentence, or words."""
    ev = {"seq": 0, "t": sim.now, "type": type_, "msg": msg, "packet": packet,
          "attempt": attempt, "lane": lane, "cause": cause, "text": text}
    if extra:
        ev.update(extra)
    return _put(sim, ev, type_)


def packet(sim, pkt, cause, info) -> int:
    """A packet event of a protocol's own (``Network.transmit``); ``info`` is
    (type, lane, text, extra fields or None)."""
    type_, lane, text, extra = info
    ev = {"seq": 0, "t": pkt.sent_t, "type": type_, "msg": pkt.msg, "packet": pkt.id,
          "attempt": pkt.attempt, "lane": lane, "cause": cause, "text": text,
          "kind": pkt.kind, "from": pkt.src, "to": pkt.dst, "eta": pkt.eta, "node": pkt.src}
    if pkt.seqno is not None:
        ev["seqno"] = pkt.seqno
    if extra:
        ev.update(extra)
    return _put(sim, ev, type_)


# Which builder makes each event type of the classic model (``drop`` makes both losses).
BUILDERS = {
    SEND: send, RETRY: retry, NET_DUPLICATE: net_duplicate, DROP: drop, DELIVER: deliver,
    TIMEOUT: timeout, ACK_SEND: ack_send, NACK: nack, ACK_DELIVER: ack_deliver, ACK_DROP: drop,
    GIVE_UP: give_up, PROCESS: process, PROCESS_FAIL: process_fail,
    DEDUP_DISCARD: dedup_discard, BUFFER: buffer, RELEASE: release, GAP_SKIP: gap_skip,
    STALE_DROP: stale_drop, TRANSITION_APPLIED: transition_applied,
    TRANSITION_PARKED: transition_parked, TRANSITION_REJECTED: transition_rejected,
    CRASH: crash, RESTART: restart, CONFIG_CHANGE: config_change, FAULT_INJECTED: fault_injected,
    TIMEOUT_EXPLAINED: timeout_explained, DEAD_LETTER: dead_letter, DEDUP_RECORD: dedup_record,
}
