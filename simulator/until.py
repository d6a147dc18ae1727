"""Run until an event: a small declarative predicate over the event stream.

Lessons and demonstrations play a run until something happens ("until message 3 times out"),
then pause for the reader. The predicate is data, checked like every other input:

    {"type": "timeout", "msg": 3}
    {"type": ["drop", "ack_drop"], "node": "network", "where": {"reason": "scheduled"}}
    {"t": 12000}                      # or a time bound alone: stop once simulated time reaches it

``type`` (one type or a list), ``msg``, ``node``, ``lane`` and ``where`` (other fields, each equal
to a value) must all hold for one event; ``t`` is a time bound that stops the run at that
simulated time if no event matched before. Refusals are ``ConfigError`` naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .config import MAX_TIME, ConfigError
from .events import EVENT_TYPES

KEYS = ("type", "msg", "node", "lane", "where", "t")
MAX_WHERE = 8


@dataclass(frozen=True)
class Until:
    types: frozenset[str] | None = None
    msg: int | None = None
    node: str | None = None
    lane: str | None = None
    where: tuple[tuple[str, Any], ...] = ()
    t: float | None = None

    @property
    def matches_events(self) -> bool:
        return bool(self.types or self.msg is not None or self.node or self.lane or self.where)

    def match(self, ev: dict) -> bool:
        if self.types is not None and ev["type"] not in self.types:
            return False
        if self.msg is not None and ev["msg"] != self.msg:
            return False
        if self.node is not None and ev.get("node") != self.node:
            return False
        if self.lane is not None and ev["lane"] != self.lane:
            return False
        return all(ev.get(k) == v for k, v in self.where)

    def first(self, events: list[dict]) -> int | None:
        """Index of the first matching event, if any."""
        if not self.matches_events:
            return None
        for i, ev in enumerate(events):
            if self.match(ev):
                return i
        return None


def parse_until(data: Any, event_types: tuple[str, ...] | None = None) -> Until:
    """Read an until predicate; ``event_types`` are the types its ``type`` may name (the run's
    protocol's; the classic model's when None)."""
    known = EVENT_TYPES if event_types is None else tuple(event_types)
    if not isinstance(data, dict) or not data:
        raise ConfigError("until", "must be an object such as {\"type\": \"timeout\", \"msg\": 3}")
    for key in data:
        if key not in KEYS:
            raise ConfigError(f"until.{key}", f"unknown; use {', '.join(KEYS)}")
    types = data.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not isinstance(names, list) or not names or len(names) > len(known) or any(
                not isinstance(n, str) or n not in known for n in names):
            raise ConfigError("until.type", "must be an event type or a list of them "
                                            "(see docs/events.md)")
        types = frozenset(names)
    msg = data.get("msg")
    if msg is not None and (isinstance(msg, bool) or not isinstance(msg, int) or msg < 1):
        raise ConfigError("until.msg", "must be a message id (a whole number from 1)")
    texts = {}
    for key in ("node", "lane"):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 32):
            raise ConfigError(f"until.{key}", "must be a name of at most 32 characters")
        texts[key] = value
    where = data.get("where", {})
    if not isinstance(where, dict) or len(where) > MAX_WHERE:
        raise ConfigError("until.where", f"must be an object of at most {MAX_WHERE} fields")
    for key, value in where.items():
        if not isinstance(value, (str, int, float, bool)) or isinstance(value, float) and \
                not math.isfinite(value):
            raise ConfigError(f"until.where.{key}", "must be a string, number or true/false")
    t = data.get("t")
    if t is not None:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) \
                or not 0 <= t <= MAX_TIME:
            raise ConfigError("until.t", f"must be a time from 0 to {MAX_TIME} ms")
        t = float(t)
    until = Until(types, msg, texts["node"], texts["lane"], tuple(sorted(where.items())), t)
    if not until.matches_events and t is None:
        raise ConfigError("until", "name an event (type, msg, node, lane, where) or a time (t)")
    return until
