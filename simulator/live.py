"""Live changes to a running simulation: reconfiguration and injected faults.

Both take effect at the simulation's current instant and emit events: ``config_change`` with the
settings that changed, ``fault_injected`` before the effects of a fault.
"""

from __future__ import annotations

import math

from . import narrate
from .config import FIELDS, ConfigError
from .semantics import semantics_for

LABELS = {f.name: f.label for f in FIELDS}

PACKET_ACTIONS = ("drop", "duplicate", "delay")
NODE_ACTIONS = ("crash", "restart")
MAX_DELAY = 10**9


def changes_between(old, new) -> dict:
    """The settings that differ: name -> [old, new] (JSON values)."""
    return {f.name: [_json(getattr(old, f.name)), _json(getattr(new, f.name))]
            for f in FIELDS if getattr(old, f.name) != getattr(new, f.name)}


def apply_config(sim, new, changes: dict) -> None:
    """The classic model takes new settings (``changes``: name -> [old, new])."""
    old = sim.config
    notes = []
    consumer = sim.consumer
    if new.semantics != old.semantics:
        sim.semantics = semantics_for(new.semantics)
        if not sim.semantics.retries:
            waiting = sim.producer.stop_waiting()
            if waiting:
                notes.append(f"the producer stops waiting for the "
                             f"{narrate.count(waiting, 'message')} awaiting an answer: they will "
                             "not be resent")
        elif not semantics_for(old.semantics).retries and sim.producer.next_msg > 1:
            notes.append("messages sent under at-most-once are not tracked: they will never be "
                         "resent")
        if sim.semantics.deduplicates and consumer.max_processed:
            notes.append("the dedup store knows only the ids processed under exactly-once: "
                         "a copy of an earlier message is processed again")
    if new.ordering != old.ordering:
        held = consumer.ordering.view()["held"]
        if held:
            notes.append(f"the reorder buffer lets its {len(held)} held messages go")
        if new.ordering == "sequence":
            notes.append(f"the reorder buffer waits for #{consumer.first_unprocessed()} next")
    if new.dedup_window != old.dedup_window and new.dedup_window and \
            len(consumer.dedup) > new.dedup_window:
        notes.append(f"the dedup store keeps only the last {new.dedup_window} ids")
    sim.config = new
    sim.retopologise()
    consumer.dedup.resize(new.dedup_window, new.dedup_ttl)
    consumer.app.book.strict = new.transitions == "from-to"
    consumer.dedup.durable = new.dedup_store == "durable"
    consumer.app.account.operation = new.operation
    sim.build.config_change(sim, changes, notes, LABELS)
    if new.ordering != old.ordering:
        consumer.switch_ordering(new.ordering)
    if new.interval != old.interval:
        sim.producer.retime(old.interval)
    sim.producer.slot_freed()


def _json(value):
    return list(value) if isinstance(value, tuple) else value


def check_inject(sim, action) -> None:
    """Refuse a bad injection with a ConfigError naming the field; change nothing."""
    if isinstance(action, str):
        try:
            fault = sim.parse_fault(action)
        except ValueError as exc:
            raise ConfigError("fault", str(exc)) from None
        if fault.is_node_fault:
            return
        if fault.msg is not None:
            if sim.protocol.already_sent(sim, fault.kind, fault.msg, fault.attempt or 1,
                                         fault.hop):
                raise ConfigError("fault", f"{action!r}: the {fault.kind} packet of message "
                                           f"{fault.msg} (attempt {fault.attempt or 1}) was "
                                           "already sent")
        elif fault.nth <= (sim.network.wire_counts.get(fault.kind, 0) if fault.hop is None else
                           sim.network.hop_counts.get((fault.kind, fault.hop), 0)):
            raise ConfigError("fault", f"{action!r}: {fault.kind} packet {fault.nth} is already "
                                       f"on the wire")
        return
    if not isinstance(action, dict):
        raise ConfigError("action", "must be an object or a fault spec string")
    name = action.get("action")
    if name in PACKET_ACTIONS:
        allowed = {"action", "packet", "by"} if name == "delay" else {"action", "packet"}
        _only(action, allowed)
        pid = action.get("packet")
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise ConfigError("packet", "must be a packet id (a whole number)")
        if pid not in sim.network.inflight:
            raise ConfigError("packet", f"packet {pid} is not in flight")
        if name == "delay":
            by = action.get("by")
            if isinstance(by, bool) or not isinstance(by, (int, float)) or not math.isfinite(by):
                raise ConfigError("by", "must be a number of milliseconds")
            if by <= 0 or by > MAX_DELAY:
                raise ConfigError("by", f"must be more than 0 and at most {MAX_DELAY}")
    elif name in NODE_ACTIONS:
        _only(action, {"action", "node"})
        nodes = sim.topology.crashable
        if action.get("node") not in nodes:
            raise ConfigError("node", f"must be one of {', '.join(nodes)}")
    else:
        raise ConfigError("action", f"must be one of {', '.join(PACKET_ACTIONS + NODE_ACTIONS)}")


def data_sent(sim, msg: int, attempt: int) -> bool:
    """Whether the data packet of ``msg`` at ``attempt`` has been put on the wire."""
    if msg >= sim.producer.next_msg:
        return False  # not sent at all yet
    pending = sim.producer.pending.get(msg)
    return pending is None or pending.attempt >= attempt


def _only(action: dict, allowed: set) -> None:
    for key in action:
        if key not in allowed:
            raise ConfigError(str(key), "unknown field")


def apply_inject(sim, action) -> None:
    if isinstance(action, str):
        fault = sim.parse_fault(action)
        if not fault.is_node_fault:
            sim.network.add_fault(fault)
        elif fault.at <= sim.now:
            sim._node_action(fault.action, fault.node, fault.spec, by_hand=True)
        else:
            sim.schedule_node_fault(fault)
        return
    name = action["action"]
    if name in NODE_ACTIONS:
        node = action["node"]
        sim._node_action(name, node, f"{name}:{node}@{sim.now:g}", by_hand=True)
        return
    net = sim.network
    pkt = net.inflight[action["packet"]]
    spec = f"{name}:packet:{pkt.id}"
    if name == "delay":
        spec += f":+{float(action['by']):g}"
    by = float(action["by"]) if name == "delay" else 0.0
    seq = sim.build.fault_injected(sim, spec, pkt, by_hand=True, by=by)
    if name == "drop":
        net.drop(pkt, "injected", seq)
    elif name == "delay":
        net.reschedule(pkt, pkt.eta + float(action["by"]))
    else:
        net.copy(pkt, seq, forced=True)
