"""The one configuration schema of a simulation.

Every setting is declared once in ``FIELDS``; the CLI builds its flags from it, the server validates
socket payloads with it and sends it to the browser, which builds its controls from it. Validation
errors name the field (``ConfigError.field``) so every edge can report them the same way.

Times are simulated milliseconds. Probabilities are in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

SEMANTICS = ("at-most-once", "at-least-once", "exactly-once")
ORDERINGS = ("none", "sequence", "state-machine")
BACKOFFS = ("fixed", "exponential")
DEDUP_STORES = ("memory", "durable")
DEDUP_RECORDS = ("atomic", "before", "after")
OPERATIONS = ("add", "idempotent")
TRANSITION_STYLES = ("to-state", "from-to")

MAX_MESSAGES = 1_000_000
MAX_TIME = 10**9


class ConfigError(ValueError):
    """A setting was refused. ``field`` names it, ``message`` says why."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "int", "float", "prob", "choice", "bool", "faults", "options"
    default: Any
    label: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    advanced: bool = False
    live: bool = True  # may change mid-run
    choice_labels: tuple[tuple[str, str], ...] = ()  # (choice, how a page words it)

    def describe(self) -> dict:
        """JSON description for clients that build controls from the schema."""
        out = {
            "name": self.name,
            "kind": self.kind,
            "default": list(self.default) if isinstance(self.default, tuple) else self.default,
            "label": self.label,
            "help": self.help,
            "advanced": self.advanced,
            "live": self.live,
        }
        if self.minimum is not None:
            out["min"] = self.minimum
        if self.maximum is not None:
            out["max"] = self.maximum
        if self.choices:
            out["choices"] = list(self.choices)
        if self.choice_labels:
            out["choice_labels"] = dict(self.choice_labels)
        return out


FIELDS: tuple[Field, ...] = (
    Field("semantics", "choice", "at-least-once", "Delivery semantics",
          "How the producer retries and how the consumer acknowledges.", choices=SEMANTICS),
    Field("ordering", "choice", "none", "Ordering",
          "How the consumer restores order before the application sees a message.",
          choices=ORDERINGS),
    Field("seed", "int", 7, "Seed", "One seed gives one run: same seed, same faults.",
          0, 2**53 - 1, live=False),
    Field("messages", "int", 40, "Messages",
          "How many messages the producer sends (0 = keep sending).",
          0, MAX_MESSAGES, live=False),
    Field("interval", "float", 400.0, "Send interval (ms)", "Time between two new messages.",
          1, 60_000),
    Field("latency_min", "float", 300.0, "Latency min (ms)", "Fastest one-way trip.", 0, 60_000),
    Field("latency_max", "float", 900.0, "Latency max (ms)",
          "Slowest one-way trip; the spread (jitter) lets packets overtake each other.", 0, 60_000),
    Field("loss", "prob", 0.2, "Data loss", "Chance the network loses a data packet.", 0, 1),
    Field("ack_loss", "prob", 0.15, "Ack loss", "Chance the network loses an ack or nack.", 0, 1),
    Field("duplicate", "prob", 0.05, "Network duplication",
          "Chance the network delivers an extra copy of a packet.", 0, 1),
    Field("timeout", "float", 2000.0, "Timeout (ms)",
          "How long the producer waits for an answer before it assumes the worst.", 1, 600_000),
    Field("max_retries", "int", 5, "Max retries", "Resends before giving up (-1 = never give up).",
          -1, 1000),
    Field("backoff", "choice", "fixed", "Backoff",
          "How long the producer waits before each resend: the same timeout every time, or "
          "double it each retry. After a nack it waits that long before resending too.",
          choices=BACKOFFS, advanced=True),
    Field("backoff_cap", "float", 0.0, "Backoff cap (ms)",
          "The longest a backoff may grow (0 = no cap).", 0, 600_000, advanced=True),
    Field("backoff_jitter", "prob", 0.0, "Backoff jitter",
          "Shortens each backoff by a random share up to this fraction, so producers that failed "
          "together do not resend together.", 0, 1, advanced=True),
    Field("max_in_flight", "int", 0, "Max in flight",
          "Unacknowledged messages allowed at once (0 = no cap).", 0, 10_000, advanced=True),
    Field("process_time", "float", 50.0, "Processing time (ms)",
          "How long the application works on one message.", 0, 60_000, advanced=True),
    Field("process_fail", "prob", 0.0, "Processing failure",
          "Chance the application fails a message (answered with a nack).", 0, 1, advanced=True),
    Field("gap_timeout", "float", 2500.0, "Gap timeout (ms)",
          "How long the reorder buffer waits for a missing sequence number before skipping it.",
          1, 600_000, advanced=True),
    Field("dedup_window", "int", 0, "Dedup window",
          "How many message ids the dedup store remembers (0 = all).", 0, MAX_MESSAGES,
          advanced=True),
    Field("dedup_ttl", "float", 0.0, "Dedup memory (ms)",
          "How long the dedup store remembers an id (0 = forever); an older duplicate slips "
          "through.", 0, MAX_TIME, advanced=True),
    Field("dedup_store", "choice", "durable", "Dedup store",
          "A memory store forgets every id when the consumer crashes; a durable one does not.",
          choices=DEDUP_STORES, advanced=True),
    Field("dedup_record", "choice", "atomic", "Dedup key recorded",
          "When the consumer writes the dedup key: in one transaction with the effect, before "
          "the effect, or after it. Two steps leave a window a crash can fall into.",
          choices=DEDUP_RECORDS, advanced=True),
    Field("record_gap", "float", 100.0, "Time between key and effect (ms)",
          "When the key and the effect are two steps: the time between them.", 0, 60_000,
          advanced=True),
    Field("operation", "choice", "add", "Operation",
          "'add' credits 10 per processing (duplicates over-credit); 'idempotent' applies payment "
          "#id once.", choices=OPERATIONS, advanced=True),
    Field("transitions", "choice", "to-state", "State-machine transitions",
          "'to-state': a transition names only the state it leads to, so a cancel may apply "
          "before a payment it should follow. 'from-to': it also names the state it leaves, so "
          "it waits (parked) until that state is reached.",
          choices=TRANSITION_STYLES, advanced=True),
    Field("faults", "faults", (), "Scheduled faults",
          "Fault specs such as drop:data:3 or crash:consumer@4000 (see docs/faults.md).",
          advanced=True, live=False),
    Field("options", "options", (), "Protocol options",
          "The settings of the run's protocol alone (a protocol preset's QoS, acks, ...): "
          "name -> value, checked by the protocol (docs/protocols.md).", advanced=True,
          live=False),
)

FIELD_BY_NAME = {f.name: f for f in FIELDS}


@dataclass(frozen=True)
class Config:
    semantics: str = "at-least-once"
    ordering: str = "none"
    seed: int = 7
    messages: int = 40
    interval: float = 400.0
    latency_min: float = 300.0
    latency_max: float = 900.0
    loss: float = 0.2
    ack_loss: float = 0.15
    duplicate: float = 0.05
    timeout: float = 2000.0
    max_retries: int = 5
    backoff: str = "fixed"
    backoff_cap: float = 0.0
    backoff_jitter: float = 0.0
    max_in_flight: int = 0
    process_time: float = 50.0
    process_fail: float = 0.0
    gap_timeout: float = 2500.0
    dedup_window: int = 0
    dedup_ttl: float = 0.0
    dedup_store: str = "durable"
    dedup_record: str = "atomic"
    record_gap: float = 100.0
    operation: str = "add"
    transitions: str = "to-state"
    faults: tuple[str, ...] = field(default_factory=tuple)
    options: tuple[tuple[str, Any], ...] = field(default_factory=tuple)  # sorted (name, value)

    @classmethod
    def from_dict(cls, data: Any, base: Config | None = None) -> Config:
        """Validate ``data`` (a partial dict) over ``base`` (or the defaults)."""
        base = base or cls()
        if not isinstance(data, dict):
            raise ConfigError("config", "must be an object")
        changes = {}
        for name, value in data.items():
            if not isinstance(name, str) or name not in FIELD_BY_NAME:
                raise ConfigError(str(name), "unknown setting")
            changes[name] = coerce(FIELD_BY_NAME[name], value)
        cfg = replace(base, **changes)
        cfg.check()
        return cfg

    def with_changes(self, data: Any, live: bool = False) -> Config:
        """Like ``from_dict`` over self; with ``live``, refuse settings fixed for a run."""
        if live and isinstance(data, dict):
            for name in data:
                f = FIELD_BY_NAME.get(name) if isinstance(name, str) else None
                if f is not None and not f.live:
                    raise ConfigError(name, "cannot change during a run; reset instead")
        return Config.from_dict(data, base=self)

    def check(self) -> None:
        if self.latency_max < self.latency_min:
            raise ConfigError("latency_max", "must be at least latency_min")
        from .faults import parse_fault  # local: faults imports nothing from here at load

        for i, spec in enumerate(self.faults):
            try:
                parse_fault(spec, None, None)  # the grammar; a run checks its names too
            except ValueError as exc:
                raise ConfigError(f"faults[{i}]", str(exc)) from None

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["faults"] = list(self.faults)
        out["options"] = dict(self.options)
        return out

    def option(self, name: str, default: Any = None) -> Any:
        """The protocol option ``name`` as given (the protocol fills in its defaults)."""
        for key, value in self.options:
            if key == name:
                return value
        return default


def coerce(f: Field, value: Any) -> Any:
    """Check one value against its field; return it in its canonical type."""
    if f.kind == "choice":
        if not isinstance(value, str) or value not in f.choices:
            raise ConfigError(f.name, f"must be one of {', '.join(f.choices)}")
        return value
    if f.kind == "faults":
        if not isinstance(value, (list, tuple)) or len(value) > 100:
            raise ConfigError(f.name, "must be a list of at most 100 fault specs")
        for i, item in enumerate(value):
            if not isinstance(item, str) or len(item) > 64:
                raise ConfigError(f"{f.name}[{i}]", "must be a fault spec string")
        return tuple(value)
    if f.kind == "options":
        return _options(f.name, value)
    if f.kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f.name, "must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f.name, "must be a number")
    if f.kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise ConfigError(f.name, "must be a whole number")
            value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f.name, "must be a finite number")
    if f.minimum is not None and value < f.minimum:
        raise ConfigError(f.name, f"must be at least {_num(f.minimum)}")
    if f.maximum is not None and value > f.maximum:
        raise ConfigError(f.name, f"must be at most {_num(f.maximum)}")
    return value


def _options(name: str, value: Any) -> tuple[tuple[str, Any], ...]:
    """A protocol's options: an object of at most 32 names and plain values, kept sorted (the
    protocol checks each name and value, ``Protocol.resolve_options``)."""
    if isinstance(value, (list, tuple)):  # the stored form, (name, value) pairs
        try:
            value = dict(value)
        except (TypeError, ValueError):
            raise ConfigError(name, "must be an object of option names and values") from None
    if not isinstance(value, dict) or len(value) > 32:
        raise ConfigError(name, "must be an object of at most 32 option names and values")
    for key, item in value.items():
        if not isinstance(key, str) or not key or len(key) > 32:
            raise ConfigError(name, "option names must be short strings")
        if item is not None and not isinstance(item, (str, int, float, bool)):
            raise ConfigError(f"{name}.{key}", "must be a string, a number or true/false")
        if isinstance(item, str) and len(item) > 64:
            raise ConfigError(f"{name}.{key}", "must be at most 64 characters")
    return tuple(sorted(value.items()))


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def schema() -> list[dict]:
    return [f.describe() for f in FIELDS]
