"""The run specification: one serialisable object that names a run exactly.

A run is its protocol, its settings (the seed among them), the log of live changes and injected
faults applied to it, and, optionally, a position in its event stream. Replaying the
specification rebuilds the run, event for event (``build``). Step back, reset and the server's
catch-up rebuild runs this way; share links, forks, comparisons and moving a run to another
server process take this one thing too.

Its text form is URL-safe and versioned: ``v1.`` then ``j`` and the compact JSON of the
specification base64url-encoded without padding, or ``z`` and the same deflated first, whichever
is shorter. Only the settings that differ from the defaults are written, so a default run is a
short string.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from . import protocols
from .config import Config, ConfigError

VERSION = 1
OPS = ("configure", "inject")
MAX_TEXT = 65_536
MAX_LOG = 10_000


@dataclass(frozen=True)
class RunSpec:
    config: Config = field(default_factory=Config)
    log: tuple[dict, ...] = ()
    position: int | None = None
    protocol: str = "classic"

    @classmethod
    def from_run(cls, base: Config, log: list[dict], position: int | None = None,
                 protocol: str = "classic") -> RunSpec:
        """The specification of a run that began from ``base`` and took the live changes
        ``log`` (``Simulation.log``)."""
        return cls(base, tuple(_entry(e, i) for i, e in enumerate(log)), position, protocol)

    def to_dict(self) -> dict:
        defaults = Config().to_dict()
        settings = {k: v for k, v in self.config.to_dict().items() if v != defaults[k]}
        out: dict[str, Any] = {"v": VERSION, "protocol": self.protocol, "settings": settings}
        if self.log:
            out["log"] = [dict(e) for e in self.log]
        if self.position is not None:
            out["position"] = self.position
        return out

    def to_text(self) -> str:
        raw = json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()
        plain = "j" + _b64(raw)
        packed = "z" + _b64(zlib.compress(raw, 9))
        return f"v{VERSION}.{min(plain, packed, key=len)}"

    @classmethod
    def from_dict(cls, data: Any) -> RunSpec:
        if not isinstance(data, dict):
            raise ConfigError("run", "must be an object")
        for key in data:
            if key not in ("v", "protocol", "settings", "log", "position"):
                raise ConfigError(f"run.{key}", "unknown field")
        if data.get("v") != VERSION:
            raise ConfigError("run.v", f"must be {VERSION} (this server reads version "
                                       f"{VERSION} run specifications)")
        protocol = data.get("protocol", "classic")
        if protocol not in protocols.names():
            raise ConfigError("run.protocol", f"must be one of {', '.join(protocols.names())}")
        try:
            config = Config.from_dict(data.get("settings", {}))
        except ConfigError as exc:
            raise ConfigError(f"run.settings.{exc.field}", exc.message) from None
        log = data.get("log", [])
        if not isinstance(log, list) or len(log) > MAX_LOG:
            raise ConfigError("run.log", f"must be a list of at most {MAX_LOG} changes")
        entries = tuple(_entry(e, i) for i, e in enumerate(log))
        position = data.get("position")
        if position is not None and (isinstance(position, bool) or not isinstance(position, int)
                                     or position < 0):
            raise ConfigError("run.position", "must be an event number (a whole number from 0)")
        return cls(config, entries, position, protocol)

    @classmethod
    def from_text(cls, text: Any) -> RunSpec:
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise ConfigError("run", f"must be a run text of at most {MAX_TEXT} characters")
        head, _, body = text.partition(".")
        if head != f"v{VERSION}" or body[:1] not in ("j", "z"):
            raise ConfigError("run", f"must start with v{VERSION}.j or v{VERSION}.z")
        try:
            raw = base64.urlsafe_b64decode(body[1:] + "=" * (-len(body[1:]) % 4))
            if body[0] == "z":
                raw = zlib.decompressobj().decompress(raw, 1_000_000)
            data = json.loads(raw)
        except (binascii.Error, ValueError, zlib.error):
            raise ConfigError("run", "is not a readable run text") from None
        return cls.from_dict(data)

    def build(self):
        """The run, replayed to ``position`` (or to where its log ends, if no position)."""
        from .engine import Simulation

        last = self.log[-1]["at_seq"] if self.log else 0
        until = self.position if self.position is not None else None
        sim = Simulation.replay(self.config, list(self.log), until_seq=until,
                                protocol=self.protocol)
        if until is None and sim.seq < last:
            raise ConfigError("run.log", "a change comes after the end of the run")
        return sim


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _entry(entry: Any, i: int) -> dict:
    where = f"run.log[{i}]"
    if not isinstance(entry, dict) or set(entry) != {"at_seq", "t", "op", "payload"}:
        raise ConfigError(where, "must be {at_seq, t, op, payload}")
    at, t, op = entry["at_seq"], entry["t"], entry["op"]
    if isinstance(at, bool) or not isinstance(at, int) or at < 0:
        raise ConfigError(f"{where}.at_seq", "must be an event number")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0:
        raise ConfigError(f"{where}.t", "must be a time in ms")
    if op not in OPS:
        raise ConfigError(f"{where}.op", f"must be one of {', '.join(OPS)}")
    return {"at_seq": at, "t": t, "op": op, "payload": entry["payload"]}
