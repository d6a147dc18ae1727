"""The agenda's building blocks: version tokens that cancel happenings, and time rounding.

A happening waits in the heap as ``(time, priority, order, action, token, version)``. It is live
while ``token.version == version``: whoever cancels or replaces a happening bumps its token's
version, and the loop skips the stale entry without a trace. Packets, pending messages and
deliveries carry their own ``version``; plain timers use ``Timer``.

Times are kept to the microsecond (three decimals of a millisecond). ``round_ms`` is exactly
``round(x, 3)``, with a faster path for the usual case.
"""

from __future__ import annotations


class Timer:
    """A cancellable timer token, with what it carries (e.g. the fault a node timer fires)."""

    __slots__ = ("version", "payload")

    def __init__(self, payload=None):
        self.version = 0
        self.payload = payload


ROUNDER = 6755399441055744.0  # 1.5 * 2**52: (y + ROUNDER) - ROUNDER is y to the nearest integer


def round_ms(x: float) -> float:
    """``round(x, 3)`` for a float, bit for bit.

    ``x * 1000`` is off from the exact product by at most half a unit in the last place, so
    when it is not near a half-integer its nearest integer ``n`` is the exact product rounded,
    and ``n / 1000`` (a correctly rounded division) is the float ``round`` returns. ``n`` is
    found without a call: below 2**51, adding and taking away 1.5 * 2**52 rounds a float to the
    nearest integer exactly. Near a half-integer, and for zero, negative, huge or non-finite
    values, ``round`` itself decides. (The engine and the network spell this out where it runs
    for every happening.)
    """
    y = x * 1000.0
    if 0.0 < y < 1e12:  # below 2**40: the product is off by less than 0.0001
        n = (y + ROUNDER) - ROUNDER
        if -0.49 < y - n < 0.49:
            return n / 1000.0
    return round(x, 3)
