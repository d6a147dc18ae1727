"""The agenda's time rounding: ``round_ms`` must equal ``round(x, 3)`` bit for bit."""

from __future__ import annotations

import math
import random

from simulator.agenda import round_ms


def _same(a: float, b: float) -> bool:
    return repr(a) == repr(b)  # also tells -0.0 from 0.0 and compares nan


def test_round_ms_equals_round_on_simulated_times():
    rnd = random.Random(20261127)
    for _ in range(100_000):
        # a time on the microsecond grid plus a latency, timeout or drop fraction
        x = rnd.randrange(0, 10**12) / 1000 + rnd.uniform(0, 60_000) * rnd.random()
        assert _same(round_ms(x), round(x, 3)), x


def test_round_ms_equals_round_at_half_way_and_odd_values():
    rnd = random.Random(7)
    values = [0.0, -0.0, -1.2345, 0.0005, 0.0015, 2.675, 1.0005, 1e12, 1e12 + 0.0005, 2.0**53,
              1e-9, math.inf, -math.inf, math.nan]
    for _ in range(50_000):
        n = rnd.randrange(0, 10**12)
        values.append(n / 1000 + rnd.choice((0.0005, -0.0005, 0.0004999999, 0.0005000001)))
        values.append(math.ldexp(rnd.random(), rnd.randrange(-40, 60)))
    for x in values:
        assert _same(round_ms(x), round(x, 3)), x
