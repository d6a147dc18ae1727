"""The protocols a run may name, by name.

``classic`` (the model of producer, network and consumer) is always here. Another protocol
registers itself when its module is imported (``register(MyProtocol())``); the server imports
the modules its ``PROTOCOL_MODULES`` setting names (docs/protocols.md).
"""

from __future__ import annotations

import importlib

from ..protocol import Protocol

_REGISTRY: dict[str, Protocol] = {}
DEFAULT = "classic"
ALIASES = {"plain": DEFAULT}  # another name a person may use for a protocol
BUILTIN = ("classic", "mqtt", "amqp", "kafka")  # packages of this folder, loaded on first use


def register(protocol: Protocol) -> Protocol:
    if not protocol.name or not protocol.name.replace("-", "").isalnum():
        raise ValueError(f"protocol name {protocol.name!r}: letters, digits and '-' only")
    known = _REGISTRY.get(protocol.name)
    if known is not None and type(known) is not type(protocol):
        raise ValueError(f"protocol {protocol.name!r} is registered already")
    _REGISTRY[protocol.name] = protocol
    return protocol


def get(name: str | None = None) -> Protocol:
    """The protocol called ``name`` (the classic model when None); ``KeyError`` if unknown."""
    _load_builtin()
    name = DEFAULT if name is None else name
    return _REGISTRY[ALIASES.get(name, name)]


def names() -> tuple[str, ...]:
    _load_builtin()
    return tuple(_REGISTRY)


def load(module: str) -> None:
    """Import ``module`` so the protocols it defines register themselves."""
    importlib.import_module(module)


def _load_builtin() -> None:
    if DEFAULT not in _REGISTRY:
        for name in BUILTIN:
            importlib.import_module(f"{__name__}.{name}")
