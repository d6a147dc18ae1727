"""The protocol interface: what a model of delivery brings to the engine.

The engine knows happenings, packets, links and nodes; a protocol knows what they mean. It owns

- its packet kinds and its event types (with what a page needs to draw them: see ``manifest``),
- its topology (``topology(config)``: nodes and links, built from the configuration),
- its node behaviours (``build_nodes(sim)``: one object per node id, see ``NodeBehaviour``),
- the configuration fields it reads (``fields``), and how a live change applies
  (``apply_config``),
- what a frame shows of the run (``view``), its counters (``summary``) and how many
  messages are still "in play".

Protocols register by name (``simulator.protocols.register``); a run names its protocol in its
run specification. docs/protocols.md tells how to add one.
"""

from __future__ import annotations

from typing import Any

from . import narrate
from .config import FIELDS, Config, ConfigError, Field, coerce
from .topology import Topology


class NodeBehaviour:
    """What the engine asks of a node. ``up`` is False while it is crashed."""

    up = True

    def on_packet(self, pkt) -> None:  # a packet reached this node
        raise NotImplementedError

    def crash(self) -> tuple[list[str], list[str]]:
        """Lose what lives in memory; return what was lost and what that means, in words.
        Called before the crash event is made."""
        self.up = False
        return [], []

    def after_crash(self, crash_seq: int) -> None:
        """The crash event ``crash_seq`` was made: react (e.g. give up what it waited for)."""

    def restart(self) -> None:
        self.up = True


class Protocol:
    name = ""
    title = ""
    short = ""  # a short name, for a comparison's column heading
    packet_kinds: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    # the settings of config.py it reads (``options`` is for a protocol's own settings)
    fields: tuple[str, ...] = tuple(f.name for f in FIELDS if f.name != "options")
    options: tuple[Field, ...] = ()  # its own settings, given in the config's ``options``
    drop_types: dict[str, str] = {}  # packet kind -> the event type of its loss (else "drop")
    # (src, dst) -> the lane its losses and packet faults are drawn on (else "network")
    link_lanes: dict[tuple[str, str], str] = {}

    # --- shape --------------------------------------------------------------------------------
    def topology(self, config: Config) -> Topology:
        raise NotImplementedError

    def build_nodes(self, sim) -> dict[str, NodeBehaviour]:
        """One behaviour per node id of ``sim.topology``."""
        raise NotImplementedError

    def start(self, sim) -> None:
        """Schedule the run's first happenings."""

    # --- live changes -------------------------------------------------------------------------
    def apply_config(self, sim, new: Config, changes: dict) -> None:
        """Take the new settings ``new`` (``changes``: name -> [old, new]) at ``sim.now``;
        the default takes the new topology and says what changed."""
        sim.config = new
        sim.retopologise()
        sim.build.config_change(sim, changes, [])

    def already_sent(self, sim, kind: str, msg: int, attempt: int, hop=None) -> bool:
        """Whether the packet of ``kind`` for ``msg`` at ``attempt`` (on ``hop``, if given) went
        on the wire already (a message-addressed fault injected live for it would never act)."""
        return False

    # --- its own settings ---------------------------------------------------------------------
    def resolve_options(self, config: Config) -> dict[str, Any]:
        """The protocol's options for ``config``: each checked against its field (a
        ``ConfigError`` names ``options.NAME``), the defaults filled in, then ``check_options``."""
        known = {f.name: f for f in self.options}
        out = {f.name: f.default for f in self.options}
        for name, value in config.options:
            field = known.get(name)
            if field is None:
                raise ConfigError(f"options.{name}", (
                    f"not an option of the {self.name} protocol" + (
                        f"; its options: {', '.join(known)}" if known else ": it has none")))
            try:
                out[name] = coerce(field, value)
            except ConfigError as exc:
                raise ConfigError(f"options.{name}", exc.message) from None
        self.check_options(out)
        return out

    def check_options(self, options: dict[str, Any]) -> None:
        """Refuse options that do not make sense together (``ConfigError`` naming one)."""

    # --- the network's questions --------------------------------------------------------------
    def drop_text(self, sim, pkt, reason: str) -> str:
        return narrate.drop(pkt, reason, "")

    def drop_words(self, sim, pkt, reason: str) -> tuple:
        """The words of a packet's loss, kept until the event is told (``events.py``): a
        narrate function and its arguments, worked out now. By default ``drop_text``'s
        sentence, written at once."""
        return (str, self.drop_text(sim, pkt, reason))

    def packet_lost(self, sim, pkt, reason: str) -> None:
        """A packet was dropped (``reason``: loss, scheduled, injected, node_down)."""

    def message_packet(self, role: str, options: dict[str, Any]) -> tuple[str, int | None] | None:
        """The packet (kind, hop) that plays ``role`` for a message under ``options``:
        ``delivery``, the packet that brings it to the consuming application's node; ``answer``,
        that node's answer to it. None where no packet does (a comparison carries a
        message-addressed fault from one protocol to another by these roles)."""
        return None

    # --- reading the run ------------------------------------------------------------------------
    def in_play(self, sim) -> int:
        return 0

    def view(self, sim) -> dict:
        return {"now": sim.now, "in_flight": [p.view() for p in sim.network.inflight.values()],
                "nodes": {nid: {"crashed": not node.up} for nid, node in sim.nodes.items()}}

    def summary(self, sim) -> dict:
        out = {t: n for t, n in sim.tally.counts.items() if n}
        out["events"] = sim.seq
        out["in_play"] = self.in_play(sim)
        return out

    # --- what a page needs --------------------------------------------------------------------
    lanes: tuple[dict, ...] = ()  # {"id", "label"} in drawing order
    marks: dict[str, dict] = {}  # mark name -> how it is drawn and what the legend says
    event_meta: dict[str, dict] = {}  # event type -> its mark, packet role, counter, ...
    page: dict[str, Any] = {}  # anything else the protocol's page needs, merged in

    def manifest(self, config: Config | None = None) -> dict[str, Any]:
        """The run's shape for a page or a CLI: lanes in order, nodes and links, packet kinds,
        event types with their drawing metadata, node actions, configuration fields
        (docs/protocols.md)."""
        topo = self.topology(Config() if config is None else config)
        shape = topo.describe()
        return {
            "protocol": self.name,
            "title": self.title,
            "lanes": [dict(lane) for lane in self.lanes],
            "nodes": shape["nodes"],
            "links": shape["links"],
            "packet_kinds": list(self.packet_kinds),
            "event_types": {t: dict(self.event_meta.get(t, {})) for t in self.event_types},
            "marks": {k: dict(v) for k, v in self.marks.items()},
            "node_actions": [{"node": n, "actions": ["crash", "restart"]}
                             for n in topo.crashable],
            "fields": list(self.fields),
            "options": [f.describe() for f in self.options],
            **self.page,
        }

    def __reduce__(self):
        from .protocols import get

        return (get, (self.name,))  # a checkpoint names its protocol, it does not copy it
