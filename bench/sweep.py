"""A sweep from the command line's engine: 10 values of data loss x 3 semantics x 100,000
messages (one seed), every point in a process pool of every core, as
``python -m simulator sweep --vary loss=0:0.45:10 --messages 100000 --seeds 1`` runs it.

Reported beside it, from the same run: one at-least-once point of 100,000 messages run by the
sweep's engine (``run_point``: the simulator in its summary-only mode, ``counts_only``, which
makes no events), by the full simulator without sentences (every event made, as a live run makes
them), and by the bare ``heapq`` loop of the same model (bench/bare_loop.py), whose ratio says
what the simulator's generality costs a sweep. Wall clock, best of ``--rounds``.

    .venv/bin/python -m bench.sweep [--messages 100000] [--values 10] [--rounds 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

from simulator import Simulation
from simulator import sweep as S
from simulator.config import SEMANTICS, Config

from . import bare_loop

BASE = {"messages": 100_000, "duplicate": 0.0, "ack_loss": 0.15, "seed": 1}


def whole_sweep(messages: int, values: int, jobs: int) -> tuple[float, int]:
    grid = S.values_of(f"0:0.45:{values}", "loss")
    base = {**BASE, "messages": messages}
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        rows = S.sweep(base, "loss", grid, SEMANTICS, 1,
                       lambda fn, jobs: pool.map(fn, jobs, chunksize=1))
    return time.perf_counter() - start, len(rows)


def one_point(messages: int) -> tuple[float, float, float]:
    """One at-least-once point: the sweep's engine (summary-only), the full simulator without
    sentences, then the bare loop (the same happenings)."""
    base = {**BASE, "messages": messages, "loss": 0.2}
    start = time.perf_counter()
    S.run_point(base, "loss", S.Point(0.2, "at-least-once", 1))
    engine = time.perf_counter() - start
    config = Config.from_dict({**base, "semantics": "at-least-once"})
    start = time.perf_counter()
    sim = Simulation(config, narrate=False)
    while sim.step():
        pass
    full = time.perf_counter() - start
    start = time.perf_counter()
    bare_loop.run(config)
    return engine, full, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--values", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args(argv)
    jobs = os.cpu_count() or 1
    sweeps = [whole_sweep(args.messages, args.values, jobs) for _ in range(args.rounds)]
    wall, rows = min(sweeps)
    points = [one_point(args.messages) for _ in range(args.rounds)]
    engine, full, bare = (min(p[i] for p in points) for i in range(3))
    runs = args.values * len(SEMANTICS)
    print(f"sweep: {args.values} values x {len(SEMANTICS)} semantics x {args.messages:,} "
          f"messages ({runs} runs, {rows} rows) on {jobs} processes: {wall:.1f} s")
    print(f"one at-least-once point, {args.messages:,} messages: summary-only engine "
          f"{engine:.2f} s ({engine / bare:.2f}x the bare loop), full engine without sentences "
          f"{full:.2f} s ({full / bare:.2f}x), bare heapq loop {bare:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
