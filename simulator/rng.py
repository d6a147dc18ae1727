"""Keyed randomness: every random decision is a pure function of the seed and a key.

There is no shared stream. The fate of a packet is drawn from (seed, link, message, attempt,
kind, origin, copy), so the same packet meets the same fate under every semantics and ordering, and
whatever else happened earlier in the run. Nothing here reads the clock or the global ``random``.
"""

from __future__ import annotations

import hashlib
import struct

_PACK = struct.Struct("<6q").pack
_PACK_KEYED = struct.Struct("<7q").pack
_UNPACK = struct.Struct("<4Q").unpack
_SCALE = 2.0**-64

# Purposes: the last key component, so draws for different decisions never share a key.
PACKET = 1  # the four draws of a packet's fate: loss, latency, duplication, drop point
PROCESS = 2  # the application's processing failure
PLAN = 3  # the state-machine plan: which entity a message belongs to
LIFECYCLE = 4  # the state-machine plan: which lifecycle an entity follows
BACKOFF = 5  # the jitter of a backoff

_KIND_CODES: dict[str, int] = {}


def kind_code(kind: str) -> int:
    """A stable integer for a packet kind name (the same in every process and run)."""
    code = _KIND_CODES.get(kind)
    if code is None:
        digest = hashlib.blake2b(kind.encode(), digest_size=8).digest()
        code = int.from_bytes(digest, "little") >> 2
        _KIND_CODES[kind] = code
    return code


class Fate:
    """Uniform draws in [0, 1) keyed by integers, reproducible from the seed alone."""

    __slots__ = ("seed", "_base")

    def __init__(self, seed: int):
        self.seed = seed
        self._base = hashlib.blake2b(b"delivery-lab:" + str(int(seed)).encode(), digest_size=32)

    def __deepcopy__(self, memo) -> Fate:
        return self  # immutable: a copied run draws from the same fates

    def __reduce__(self):
        return (Fate, (self.seed,))  # rebuilt from the seed (its hash state cannot be pickled)

    def draws(self, a: int = 0, b: int = 0, c: int = 0, d: int = 0, e: int = 0,
              purpose: int = 0) -> tuple[float, float, float, float]:
        """Four independent uniforms in [0, 1) for one key."""
        h = self._base.copy()
        h.update(_PACK(a, b, c, d, e, purpose))
        w, x, y, z = _UNPACK(h.digest())
        return w * _SCALE, x * _SCALE, y * _SCALE, z * _SCALE

    def keyed_draws(self, link: int, a: int = 0, b: int = 0, c: int = 0, d: int = 0,
                    e: int = 0, purpose: int = 0) -> tuple[float, float, float, float]:
        """Four independent uniforms for one key on the link keyed ``link`` (not 0: the
        classic model's one link draws with ``draws``, so its runs stay as they were)."""
        h = self._base.copy()
        h.update(_PACK_KEYED(a, b, c, d, e, purpose, link))
        w, x, y, z = _UNPACK(h.digest())
        return w * _SCALE, x * _SCALE, y * _SCALE, z * _SCALE

    def uniform(self, *key: int, purpose: int = 0) -> float:
        """One uniform in [0, 1) for a key of up to five integers."""
        return self.draws(*key, purpose=purpose)[0]
