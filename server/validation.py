"""Shape checks for control payloads, before anything reaches a session.

Settings inside ``start`` and ``configure`` are checked by the simulator's own schema
(``simulator.config``); this module checks the envelope of every control: that it is one JSON
object of bounded size, that it names only known fields, and that each field has the right type
and range. Each refusal is a ``ProtocolError`` naming the field.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from simulator.config import FIELD_BY_NAME
from simulator.sweep import SWEEPABLE

from . import errors as E
from .settings import MIN_SWEEP_MESSAGES, SPEED_MAX, SPEED_MIN
from .wire import Unreadable


@dataclass(frozen=True)
class Rule:
    kind: str  # "int", "number", "str", "object", "choice", "texts" (a list of strings),
    #            "objects" (a list of objects: a comparison's columns)
    required: bool = False
    nullable: bool = False  # null is a value (it clears the field)
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    max_len: int = 64


_SEED = FIELD_BY_NAME["seed"]
PACKET_ACTIONS = ("drop", "duplicate", "delay")
NODE_ACTIONS = ("crash", "restart")

# Controls whose payload is an object of exactly these fields. ``configure`` and ``inject`` have
# shapes of their own (a partial config; one of two forms) and are checked below.
SCHEMAS: dict[str, dict[str, Rule]] = {
    "start": {"config": Rule("object"), "protocol": Rule("str", max_len=32)},
    "pause": {},
    "resume": {},
    "step": {},
    "get_snapshot": {},
    "step_back": {"to_seq": Rule("int", minimum=0)},
    "reset": {"seed": Rule("int", minimum=_SEED.minimum, maximum=_SEED.maximum)},
    "set_speed": {"speed": Rule("number", required=True, minimum=SPEED_MIN, maximum=SPEED_MAX)},
    "play_until": {"until": Rule("object", required=True)},
    "open_run": {"run": Rule("str", required=True, max_len=65_536),
                 "position": Rule("int", minimum=0)},
    "share": {"position": Rule("int", minimum=0)},
    "get_manifest": {"protocol": Rule("str", required=True, max_len=32)},
    "compare": {"columns": Rule("objects", required=True, minimum=2, maximum=3)},
    "resync": {"epoch": Rule("int", required=True, minimum=1),
               "since": Rule("int", required=True, minimum=0),
               "seq": Rule("int", minimum=0)},
}
# Room controls (docs/rooms.md): the presenter's, then a student's.
ROOM_SCHEMAS: dict[str, dict[str, Rule]] = {
    "room_open": {},
    "room_close": {},
    "room_ask": {"text": Rule("str", required=True, max_len=300),
                 "choices": Rule("texts", required=True, minimum=2, maximum=6, max_len=160),
                 "correct": Rule("int", minimum=0, maximum=5),
                 "source": Rule("object")},
    "room_reveal": {},
    "room_release": {},
    "room_call_back": {},
    "room_focus": {"message": Rule("int", minimum=1, nullable=True),
                   "packet": Rule("int", minimum=1, nullable=True)},
    "room_lesson": {"lesson": Rule("str", required=True, nullable=True, max_len=64),
                    "step": Rule("str", nullable=True, max_len=64)},
    "room_vote": {"question": Rule("int", required=True, minimum=1),
                  "choice": Rule("int", required=True, minimum=0, maximum=5)},
    "room_explore": {"release": Rule("int", minimum=1)},
    "room_follow": {},
}
SCHEMAS.update(ROOM_SCHEMAS)
# Sweeps (server/sweeps.py checks the values, the semantics, the base and the server's limits).
MAX_SWEEP_SEEDS = 20
SWEEP_SCHEMAS: dict[str, dict[str, Rule]] = {
    "sweep_start": {"setting": Rule("choice", required=True, choices=SWEEPABLE),
                    "values": Rule("str", required=True, max_len=2000),
                    "semantics": Rule("texts", minimum=1, maximum=3, max_len=32),
                    "seeds": Rule("int", minimum=1, maximum=MAX_SWEEP_SEEDS),
                    "messages": Rule("int", minimum=MIN_SWEEP_MESSAGES),
                    "base": Rule("object")},
    "sweep_cancel": {},
}
SCHEMAS.update(SWEEP_SCHEMAS)
SOURCE_RULES = {"lesson": Rule("str", required=True), "step": Rule("str", required=True)}
INJECT_RULES = {
    "action": Rule("choice", required=True, choices=PACKET_ACTIONS + NODE_ACTIONS),
    "packet": Rule("int", minimum=1),
    "node": Rule("str", max_len=32),  # the run's topology names its nodes (checked there)
    "by": Rule("number", minimum=1, maximum=600_000),
}
CONTROLS = (*SCHEMAS, "configure", "inject")
RUN_CONTROLS = tuple(c for c in CONTROLS if c not in ROOM_SCHEMAS and c not in SWEEP_SCHEMAS)


def payload_of(args: tuple, max_bytes: int) -> dict:
    """The single payload of a control (absent means ``{}``), checked for type and size."""
    if len(args) > 1:
        raise E.ProtocolError(E.BAD_PAYLOAD, "send one payload object (or none)")
    payload = args[0] if args else None
    if isinstance(payload, Unreadable):
        raise E.ProtocolError(E.BAD_PAYLOAD, payload.reason)
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise E.ProtocolError(E.BAD_PAYLOAD, "the payload must be a JSON object")
    try:
        size = len(json.dumps(payload, allow_nan=False, separators=(",", ":")))
    except (ValueError, TypeError, RecursionError):
        raise E.ProtocolError(E.BAD_PAYLOAD, "the payload is not plain JSON") from None
    if size > max_bytes:
        raise E.ProtocolError(E.PAYLOAD_TOO_LARGE,
                              f"the payload is {size} bytes; the limit is {max_bytes}")
    return payload


def check(control: str, payload: dict) -> dict:
    """Validate ``payload`` for ``control``; return it (unchanged, or with canonical numbers)."""
    if control == "configure":
        if not payload:
            raise E.ProtocolError(E.BAD_PAYLOAD, "configure needs at least one setting")
        return _known_settings(payload)  # values are checked by the simulator's config schema
    if control == "inject":
        return _check_inject(payload)
    checked = _check_fields(payload, SCHEMAS[control])
    if "config" in checked:
        _known_settings(checked["config"])
    if control == "room_ask":
        if "source" in checked:
            checked["source"] = _check_fields(checked["source"], SOURCE_RULES)
        correct = checked.get("correct")
        if correct is not None and correct >= len(checked["choices"]):
            raise E.ProtocolError(E.INVALID_VALUE, "correct must name one of the choices",
                                  "correct")
    return checked


def _known_settings(config: dict) -> dict:
    for name in config:
        if name not in FIELD_BY_NAME:
            short = str(name)[:40]
            raise E.ProtocolError(E.UNKNOWN_FIELD, f"unknown setting {short!r}", short)
    return config


def _check_fields(payload: dict, rules: dict[str, Rule]) -> dict:
    for name in payload:
        if name not in rules:
            short = str(name)[:40]
            raise E.ProtocolError(E.UNKNOWN_FIELD, f"unknown field {short!r}", short)
    out = {}
    for name, rule in rules.items():
        if name not in payload:
            if rule.required:
                raise E.ProtocolError(E.INVALID_VALUE, f"{name} is required", name)
            continue
        out[name] = _value(name, rule, payload[name])
    return out


def _value(name: str, rule: Rule, value: Any) -> Any:
    if value is None and rule.nullable:
        return None
    if rule.kind == "texts":
        if not isinstance(value, list) or not rule.minimum <= len(value) <= rule.maximum:
            raise E.ProtocolError(E.INVALID_VALUE, f"{name} must be a list of "
                                  f"{_num(rule.minimum)} to {_num(rule.maximum)} strings", name)
        for item in value:
            if not isinstance(item, str) or not item.strip() or len(item) > rule.max_len:
                raise E.ProtocolError(E.INVALID_VALUE, f"each of {name} must be a string of 1 to "
                                      f"{rule.max_len} characters", name)
        return [item.strip() for item in value]
    if rule.kind == "objects":
        if not isinstance(value, list) or not rule.minimum <= len(value) <= rule.maximum:
            raise E.ProtocolError(E.INVALID_VALUE, f"{name} must be a list of "
                                  f"{_num(rule.minimum)} to {_num(rule.maximum)} objects", name)
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise E.ProtocolError(E.INVALID_VALUE, "must be an object", f"{name}[{i}]")
        return value
    if rule.kind == "object":
        if not isinstance(value, dict):
            raise E.ProtocolError(E.INVALID_VALUE, f"{name} must be an object", name)
        return value
    if rule.kind in ("str", "choice"):
        if not isinstance(value, str) or not value or len(value) > rule.max_len:
            raise E.ProtocolError(E.INVALID_VALUE, f"{name} must be a short string", name)
        if rule.choices and value not in rule.choices:
            raise E.ProtocolError(E.INVALID_VALUE,
                                  f"{name} must be one of {', '.join(rule.choices)}", name)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise E.ProtocolError(E.INVALID_VALUE, f"{name} must be a number", name)
    if rule.kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise E.ProtocolError(E.INVALID_VALUE, f"{name} must be a whole number", name)
            value = int(value)
    elif not math.isfinite(value):
        raise E.ProtocolError(E.INVALID_VALUE, f"{name} must be a finite number", name)
    if rule.minimum is not None and value < rule.minimum:
        raise E.ProtocolError(E.INVALID_VALUE, f"{name} must be at least {_num(rule.minimum)}",
                              name)
    if rule.maximum is not None and value > rule.maximum:
        raise E.ProtocolError(E.INVALID_VALUE, f"{name} must be at most {_num(rule.maximum)}",
                              name)
    return value


def _check_inject(payload: dict) -> dict | str:
    """``{"spec": "drop:data:3"}`` (a scheduled fault) or a live action on a packet or node."""
    if "spec" in payload:
        extra = [k for k in payload if k != "spec"]
        if extra:
            raise E.ProtocolError(E.UNKNOWN_FIELD, "spec cannot be combined with other fields",
                                  str(extra[0])[:40])
        return {"spec": _value("spec", Rule("str", required=True), payload["spec"])}
    action = _check_fields(payload, INJECT_RULES)
    if action["action"] in PACKET_ACTIONS:
        needed, refused = ["packet"], ["node"]
        (needed if action["action"] == "delay" else refused).append("by")
    else:
        needed, refused = ["node"], ["packet", "by"]
    for name in needed:
        if name not in action:
            raise E.ProtocolError(E.INVALID_VALUE, f"{action['action']} needs {name}", name)
    for name in refused:
        if name in action:
            raise E.ProtocolError(E.UNKNOWN_FIELD, f"{action['action']} takes no {name}", name)
    return action


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
