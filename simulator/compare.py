"""Compare: the same run under two or three sets of rules, on the same faults.

A comparison starts from one run's settings (its seed, its scripted faults) and gives each column
its own changes: another semantics, ordering, protocol option, or another protocol altogether.
Within one protocol the columns meet the very same faults: a packet's fate is drawn from (seed,
link, message, attempt, kind), so the same packet is lost at the same moment in every column, and
a retry that exists in one column only draws its own fate. Across protocols, whose packets and
hops differ, only the message-addressed faults carry over ("message 3's first delivery to the
consumer is lost"): each protocol names the packet that delivers a message to the consumer and
the consumer's answer (``Protocol.message_packet``), and a fault on one is rewritten as a fault on
the other's; faults that name no message (the N-th packet, a node) carry over only where they
mean the same thing, and the notes list what did not (docs/compare.md).

Each column is run to its end or to ``max_events`` events; all are then cut at the same instant
(the earliest at which a column was cut), so every column covers the same stretch of time.

Pure: no I/O, no clock; the same arguments give the same columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from . import protocols
from .config import FIELD_BY_NAME, Config, ConfigError
from .engine import Simulation
from .faults import parse_fault

MIN_COLUMNS = 2
MAX_COLUMNS = 3
MAX_EVENTS = 3000  # per column
COLUMN_FIELDS = ("protocol", "settings")


@dataclass(frozen=True)
class Column:
    protocol: str
    config: Config
    label: str = ""
    notes: tuple[str, ...] = ()


def columns_of(base: dict, protocol: str, specs: Any) -> list[Column]:
    """The columns ``specs`` asks for over the run ``base`` (settings) of ``protocol``: each
    spec is ``{"protocol"?: name, "settings"?: {...}}``. A ``ConfigError`` names the field at
    fault (``columns[1].settings.loss``)."""
    if not isinstance(specs, list) or not MIN_COLUMNS <= len(specs) <= MAX_COLUMNS:
        raise ConfigError("columns", f"give {MIN_COLUMNS} or {MAX_COLUMNS} columns")
    home = _protocol(protocol, "protocol")
    base_cfg = Config.from_dict(base)
    out = []
    for i, spec in enumerate(specs):
        where = f"columns[{i}]"
        if not isinstance(spec, dict):
            raise ConfigError(where, "must be an object")
        for key in spec:
            if key not in COLUMN_FIELDS:
                raise ConfigError(f"{where}.{str(key)[:32]}", "unknown field; a column has "
                                  "protocol and settings")
        name = _protocol(spec.get("protocol", home.name), f"{where}.protocol").name
        changes = spec.get("settings", {})
        if not isinstance(changes, dict):
            raise ConfigError(f"{where}.settings", "must be an object")
        for key in changes:
            if key in ("seed", "faults"):
                raise ConfigError(f"{where}.settings.{key}", "is the run's: every column "
                                  "shares it")
        notes: tuple[str, ...] = ()
        try:
            if name == home.name:
                cfg = Config.from_dict(changes, base=base_cfg)
            else:  # another protocol: its own options, the faults rewritten for them (which
                # packet answers a message may hang on an option: MQTT's QoS, AMQP's acks)
                cfg = Config.from_dict(changes, base=replace(base_cfg, options=(), faults=()))
                faults, notes = carry_faults(base_cfg, home.name, name, cfg)
                cfg = replace(cfg, faults=tuple(faults))
            Simulation(cfg, name)  # the protocol checks its options and the faults' names
        except ConfigError as exc:
            raise ConfigError(f"{where}.settings.{exc.field}", exc.message) from None
        out.append(Column(name, cfg, notes=notes))
    return _labelled(out)


def _protocol(name: Any, field: str):
    try:
        return protocols.get(name)
    except (KeyError, TypeError):
        raise ConfigError(field, f"must be one of {', '.join(protocols.names())}") from None


def carry_faults(config: Config, source: str, target: str,
                 target_config: Config | None = None) -> tuple[list[str], tuple[str, ...]]:
    """The scripted faults of a run of ``source`` said in ``target``'s packets and nodes, and a
    note for each that cannot be (it names no message, or a packet ``target`` does not have).
    ``target_config`` is the column's own settings (its options decide which packet answers a
    message); ``target``'s defaults when absent."""
    src, dst = protocols.get(source), protocols.get(target)
    src_opts = src.resolve_options(config)
    dst_opts = dst.resolve_options(target_config or replace(config, options=()))
    src_sim_nodes = _roles(src, config)
    dst_nodes = {role: node for node, role in _roles(dst, config).items()}
    out, notes = [], []
    for spec in config.faults:
        fault = parse_fault(spec)
        if fault.is_node_fault:
            role = src_sim_nodes.get(fault.node)
            node = dst_nodes.get(role)
            if node is None:
                notes.append(f"{spec}: {dst.short} has no such node")
                continue
            out.append(f"{fault.action}:{node}@{_num(fault.at)}")
            continue
        if fault.msg is None:
            notes.append(f"{spec}: it counts packets, which differ between the models")
            continue
        role = next((r for r in ("delivery", "answer")
                     if src.message_packet(r, src_opts) == (fault.kind, fault.hop)), None)
        packet = dst.message_packet(role, dst_opts) if role else None
        if packet is None:
            notes.append(f"{spec}: {dst.short} has no packet that does what {fault.kind} "
                         "does, with this column's settings")
            continue
        kind, hop = packet
        text = f"{fault.action}:{kind}:msg={fault.msg}"
        if fault.attempt is not None:
            text += f":attempt={fault.attempt}"
        if hop is not None:
            text += f":hop={hop}"
        if fault.action == "delay":
            text += f":+{_num(fault.delay)}"
        out.append(text)
    return out, tuple(notes)


def _roles(protocol, config: Config) -> dict[str, str]:
    """node id -> its role (sender, receiver, broker) in ``protocol``'s topology."""
    topo = protocol.topology(config)
    return {n["id"]: n["role"] for n in topo.describe()["nodes"]}


def _labelled(columns: list[Column]) -> list[Column]:
    """Name each column by what sets it apart from the others ("exactly-once", "MQTT, QoS 2")."""
    dicts = [c.config.to_dict() for c in columns]
    differ = [name for name in FIELD_BY_NAME if name not in ("faults", "options", "seed")
              and len({repr(d[name]) for d in dicts}) > 1]
    out = []
    many_protocols = len({c.protocol for c in columns}) > 1
    for c, d in zip(columns, dicts, strict=True):
        proto = protocols.get(c.protocol)
        parts = [proto.short] if many_protocols else []
        for name in differ:
            if name in proto.fields:
                parts.append(_worded(FIELD_BY_NAME[name], d[name], short=True))
        opts = proto.resolve_options(c.config)
        for f in proto.options:
            values = {repr(protocols.get(o.protocol).resolve_options(o.config).get(f.name))
                      for o in columns if o.protocol == c.protocol}
            # an option told apart from the other columns of its protocol, or, beside other
            # protocols, one not at its default
            if len(values) > 1 or many_protocols and opts[f.name] != f.default:
                parts.append(_worded(f, opts[f.name]))
        out.append(replace(c, label=", ".join(parts) or proto.short))
    seen: dict[str, int] = {}
    for c in out:
        seen[c.label] = seen.get(c.label, 0) + 1
    return [replace(c, label=f"{c.label} ({i + 1})") if seen[c.label] > 1 else c
            for i, c in enumerate(out)]


ORDERING_WORDS = {"none": "no reordering", "sequence": "sequence numbers",
                  "state-machine": "state machine"}


def _worded(f, value, short: bool = False) -> str:
    labels = dict(f.choice_labels)
    if short and f.name == "semantics":
        return str(value)
    if short and f.name == "ordering":
        return ORDERING_WORDS.get(value, str(value))
    if f.kind == "choice":
        return f"{f.label}: {labels.get(value, value)}"
    if f.kind == "bool":
        return f"{f.label}: {'on' if value else 'off'}"
    return f"{f.label} {_num(value)}"


def run(columns: list[Column], max_events: int = MAX_EVENTS) -> dict:
    """Each column run with its sentences, to its end or ``max_events`` events, then all cut at
    the earliest instant a column was cut (``until``: None if every column ran to its end)."""
    runs = []
    for c in columns:
        sim = Simulation(c.config, c.protocol)
        events: list[dict] = []
        while len(events) < max_events:
            got = sim.step()
            if not got:
                break
            events.extend(got)
        runs.append((c, sim, events, sim.done))
    cut = [ev[-1]["t"] for _, _, ev, done in runs if not done and ev]
    until = min(cut) if cut else None
    out = []
    for c, sim, events, done in runs:
        if until is not None:
            events = [e for e in events if e["t"] < until]
        out.append({
            "protocol": c.protocol, "label": c.label, "notes": list(c.notes),
            "config": c.config.to_dict(), "manifest": sim.manifest(),
            "events": events, "done": done and (until is None or not events
                                                or sim.now < until),
        })
    return {"columns": out, "until": until, "same_protocol": len({c.protocol
                                                                  for c in columns}) == 1}


def compare(base: dict, protocol: str, specs: Any, max_events: int = MAX_EVENTS) -> dict:
    """``columns_of`` then ``run``: what a page shows side by side."""
    return run(columns_of(base, protocol, specs), max_events)


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
