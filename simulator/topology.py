"""The shape of a run as data: its nodes and the directed links between them.

A protocol builds the topology from the configuration (``Protocol.topology``). The engine
dispatches a packet to the node its ``dst`` names; the network takes each packet's loss,
latency and duplication from the link it travels; node faults and the fault grammar take their
node names from here.

A link's ``key`` is part of the fate key of every packet on it (see ``rng.py``), so two hops of
one message draw independent fates. Key 0 is the classic model's one link (both directions:
data one way, answers the other), which keeps every run seeded before links existed the same.
Any other link's key is derived from its end points' names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .rng import kind_code


@dataclass(frozen=True)
class Node:
    id: str
    lane: str
    label: str
    role: str  # "sender", "receiver", "relay", "broker", ...: what the node does, for people
    crashable: bool = True

    def describe(self) -> dict:
        return {"id": self.id, "lane": self.lane, "label": self.label, "role": self.role,
                "crashable": self.crashable}


@dataclass(frozen=True)
class Link:
    src: str
    dst: str
    latency_min: float
    latency_max: float
    loss: dict = field(default_factory=dict)  # packet kind -> probability
    duplicate: float = 0.0
    default_loss: float = 0.0  # for a kind ``loss`` does not name
    key: int | None = None  # the fate key; None: derived from the end points
    hop: int | None = None  # the hop it belongs to, for faults by hop (both directions share it)

    def fate_key(self) -> int:
        return link_key(self.src, self.dst) if self.key is None else self.key

    def loss_of(self, kind: str) -> float:
        return self.loss.get(kind, self.default_loss)

    def describe(self) -> dict:
        out = {"from": self.src, "to": self.dst, "latency": [self.latency_min,
                                                             self.latency_max],
               "loss": dict(self.loss), "duplicate": self.duplicate}
        if self.hop is not None:
            out["hop"] = self.hop
        return out


def link_key(src: str, dst: str) -> int:
    """The stable fate key of the link ``src`` -> ``dst`` (never 0)."""
    return kind_code(f"link:{src}>{dst}") | 1


class Topology:
    def __init__(self, nodes: list[Node], links: list[Link]):
        ids = [n.id for n in nodes]
        if len(set(ids)) != len(ids):
            raise ValueError("node ids must be unique")
        self.nodes: dict[str, Node] = {n.id: n for n in nodes}
        self.links: dict[tuple[str, str], Link] = {}
        for link in links:
            if link.src not in self.nodes or link.dst not in self.nodes:
                raise ValueError(f"link {link.src}->{link.dst}: both ends must be nodes")
            if (link.src, link.dst) in self.links:
                raise ValueError(f"link {link.src}->{link.dst} is declared twice")
            self.links[(link.src, link.dst)] = link

    @property
    def crashable(self) -> tuple[str, ...]:
        return tuple(n.id for n in self.nodes.values() if n.crashable)

    @property
    def hops(self) -> tuple[int, ...]:
        """The hop numbers of its links, in order (none for a model whose links have none)."""
        return tuple(sorted({link.hop for link in self.links.values() if link.hop is not None}))

    def link(self, src: str, dst: str) -> Link:
        try:
            return self.links[(src, dst)]
        except KeyError:
            raise ValueError(f"no link from {src} to {dst}") from None

    def describe(self) -> dict:
        return {"nodes": [n.describe() for n in self.nodes.values()],
                "links": [link.describe() for link in self.links.values()]}
