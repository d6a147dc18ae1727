"""Bounded messages: a long answer is split into parts, none much larger than a set size.

A resync answer can carry hundreds of frames or a catch-up of the whole run (many megabytes). One
huge websocket message stalls every other message on its connection while it is written, and a
slow reader's buffers fill with it. So an answer whose list of frames or catch-up events is
larger than ``limit`` bytes of JSON keeps only its first part; it says so in
``more: {"id", "parts", "field"}``, and the other parts follow as ``answer_part`` messages
``{"id", "part", "items"}`` (part 2 to ``parts``, in order), whose items extend the list that
``field`` names (``frames`` or ``catch_up.events``).
"""

from __future__ import annotations

import itertools
import json

_ids = itertools.count(1)


def _size(item) -> int:
    return len(json.dumps(item, separators=(",", ":"), allow_nan=False)) + 1


def _cut(items: list, limit: int) -> list[list]:
    parts: list[list] = [[]]
    used = 0
    for item in items:
        size = _size(item)
        if parts[-1] and used + size > limit:
            parts.append([])
            used = 0
        parts[-1].append(item)
        used += size
    return parts


def split(answer: dict, limit: int) -> list[dict]:
    """Cut ``answer`` down to its first part in place; return the ``answer_part`` messages."""
    if isinstance(answer.get("frames"), list):
        holder, key, field = answer, "frames", "frames"
    elif isinstance(answer.get("catch_up"), dict):
        holder, key, field = answer["catch_up"], "events", "catch_up.events"
    else:
        return []
    items = holder.get(key)
    if not isinstance(items, list):
        return []
    parts = _cut(items, limit)
    if len(parts) == 1:
        return []
    ident = next(_ids)
    holder[key] = parts[0]
    answer["more"] = {"id": ident, "parts": len(parts), "field": field}
    return [{"id": ident, "part": i, "items": part} for i, part in enumerate(parts[1:], 2)]
