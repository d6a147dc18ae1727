"""The fault grammar shared by the CLI, the server, lessons and share links (docs/faults.md).

``ACTION:KIND:N[:+T]`` names the N-th packet of a kind put on the wire by a node;
``ACTION:KIND:msg=M[:attempt=A][:+T]`` names the packet of a kind for message M (at its attempt
A; without it, the first one put on the wire), which is the same message under every semantics,
while retries shift N; ``ACTION:NODE@T`` crashes or restarts a node at a simulated instant.
Where a protocol's links are numbered hops (a broker between two clients: hop 1 and hop 2), a
packet fault may add ``:hop=H`` after N or msg=M: then N counts the kind's packets on that hop
alone, and msg=M names the message's packet on that hop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PACKET_ACTIONS = ("drop", "duplicate", "delay")
NODE_ACTIONS = ("crash", "restart")
MAX_FAULT_TIME = 10**9

_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,15}$")
_NODE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,15}$")
_INT = re.compile(r"^[0-9]{1,10}$")
_NUM = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,6})?$")


@dataclass(frozen=True)
class Fault:
    """One parsed fault: a packet fault has ``kind`` and ``nth``, a node fault ``node``, ``at``."""

    spec: str
    action: str
    kind: str | None = None
    nth: int | None = None
    msg: int | None = None  # message-addressed: the packet of this message (and attempt)
    attempt: int | None = None
    hop: int | None = None  # only the packets on this hop (links numbered by the protocol)
    delay: float = 0.0
    node: str | None = None
    at: float | None = None

    @property
    def is_node_fault(self) -> bool:
        return self.node is not None


def parse_fault(spec: object, kinds: tuple[str, ...] | None = None,
                nodes: tuple[str, ...] | None = None,
                hops: tuple[int, ...] | None = None) -> Fault:
    """Parse one fault spec; raise ``ValueError`` saying what is wrong with it.

    ``kinds`` are the packet kinds a packet fault may name and ``nodes`` the nodes a node fault
    may name: a run passes its protocol's and its topology's (a fault on a kind that never goes
    on the wire would silently do nothing, so a run refuses it); None accepts any well-formed
    name, to check the grammar alone. ``hops`` are the hop numbers a packet fault may name
    (empty: the protocol's links have none); None accepts any.
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError("a fault must be a non-empty string such as drop:data:3")
    if len(spec) > 64 or any(ch.isspace() for ch in spec):
        raise ValueError(f"{spec!r}: at most 64 characters and no spaces")
    if "@" in spec:
        return _parse_node(spec, nodes)
    return _parse_packet(spec, kinds, hops)


def _parse_node(spec: str, nodes: tuple[str, ...] | None) -> Fault:
    head, _, when = spec.partition("@")
    action, sep, node = head.partition(":")
    if action not in NODE_ACTIONS or not sep:
        raise ValueError(f"{spec!r}: node faults look like crash:consumer@4000 "
                         f"(action {' or '.join(NODE_ACTIONS)})")
    if nodes is None and not _NODE.match(node) or nodes is not None and node not in nodes:
        raise ValueError(f"{spec!r}: node must be {' or '.join(nodes or ('a node name',))}")
    if not _NUM.match(when):
        raise ValueError(f"{spec!r}: the time after @ must be milliseconds, e.g. @4000")
    at = float(when)
    if at > MAX_FAULT_TIME:
        raise ValueError(f"{spec!r}: the time must be at most {MAX_FAULT_TIME}")
    return Fault(spec=spec, action=action, node=node, at=at)


def _parse_packet(spec: str, kinds: tuple[str, ...] | None,
                  hops: tuple[int, ...] | None) -> Fault:
    parts = spec.split(":")
    parts, hop = _hop(spec, parts, hops, None)
    action = parts[0]
    if action in NODE_ACTIONS:
        raise ValueError(f"{spec!r}: node faults need a time, e.g. {action}:consumer@4000")
    if action not in PACKET_ACTIONS:
        raise ValueError(f"{spec!r}: action must be one of "
                         f"{', '.join(PACKET_ACTIONS + NODE_ACTIONS)}")
    msg = attempt = None
    if len(parts) >= 3 and parts[2].startswith("msg="):
        msg = _whole(spec, parts[2][4:], "msg")
        if len(parts) > 3 and parts[3].startswith("attempt="):
            attempt = _whole(spec, parts[3][8:], "attempt")
            parts = parts[:3] + parts[4:]
            parts, hop = _hop(spec, parts, hops, hop)
    want = 4 if action == "delay" else 3
    if len(parts) != want:
        shape = "delay:KIND:N:+T" if action == "delay" else f"{action}:KIND:N"
        raise ValueError(f"{spec!r}: expected {shape} or {shape.replace('N', 'msg=M')}, e.g. "
                         + ("delay:data:2:+1500" if action == "delay" else f"{action}:data:3"))
    kind, nth = parts[1], parts[2]
    if not _KIND.match(kind) or kinds is not None and kind not in kinds:
        raise ValueError(f"{spec!r}: packet kind must be one of "
                         f"{', '.join(kinds or ('letters, digits, _ and -',))}")
    if msg is None and (not _INT.match(nth) or int(nth) < 1):
        raise ValueError(f"{spec!r}: N must be a whole number from 1 (or msg=M)")
    delay = 0.0
    if action == "delay":
        amount = parts[3]
        if not amount.startswith("+") or not _NUM.match(amount[1:]):
            raise ValueError(f"{spec!r}: the delay must look like +1500 (milliseconds)")
        delay = float(amount[1:])
        if delay <= 0 or delay > MAX_FAULT_TIME:
            raise ValueError(f"{spec!r}: the delay must be more than 0 and at most "
                             f"{MAX_FAULT_TIME} ms")
    if msg is not None:
        return Fault(spec=spec, action=action, kind=kind, msg=msg, attempt=attempt, hop=hop,
                     delay=delay)
    return Fault(spec=spec, action=action, kind=kind, nth=int(nth), hop=hop, delay=delay)


def _hop(spec: str, parts: list[str], hops: tuple[int, ...] | None,
         hop: int | None) -> tuple[list[str], int | None]:
    """Take a ``hop=H`` part from after N (or msg=M and attempt=A), checked against ``hops``."""
    if hop is not None or len(parts) < 4 or not parts[3].startswith("hop="):
        return parts, hop
    hop = _whole(spec, parts[3][4:], "hop")
    if hops is not None and hop not in hops:
        raise ValueError(f"{spec!r}: " + (f"hop must be {' or '.join(map(str, hops))}"
                                          if hops else "this protocol's links have no hops"))
    return parts[:3] + parts[4:], hop


def _whole(spec: str, text: str, name: str) -> int:
    if not _INT.match(text) or int(text) < 1:
        raise ValueError(f"{spec!r}: {name} must be a whole number from 1")
    return int(text)
