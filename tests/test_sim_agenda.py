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


def test_the_engine_schedules_at_round_times_as_round_ms_does():
    """``Simulation.schedule`` spells ``round_ms`` out: the same times in the heap."""
    from simulator import Simulation
    from simulator.agenda import Timer

    sim = Simulation()
    rnd = random.Random(3)
    times = [rnd.randrange(0, 10**12) / 1000 + rnd.uniform(0, 60_000) * rnd.random()
             for _ in range(20_000)]
    times += [n / 1000 + 0.0005 for n in range(0, 20_000, 7)] + [0.0, 1e12, 2.0**53]
    sim.heap.clear()
    for x in times:
        sim.schedule(x, 1, None, Timer(), 0)
    assert sorted(repr(entry[0]) for entry in sim.heap) == \
        sorted(repr(round(x, 3)) for x in times)
