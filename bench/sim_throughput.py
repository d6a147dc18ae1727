"""Simulator throughput and memory, against a bare heapq loop of the same model.

    python -m bench                     # the full run recorded in bench/README.md
    python -m bench --messages 20000    # quicker
    python -m bench --profile           # also print the simulator's top cProfile hotspots

Throughput: events per second for one run of at-least-once, 20% data loss, 10% ack loss (other
settings at their defaults), consumed the way the CLI and the server consume it (``step()`` in a
loop, events handed on with their sentences and not kept); again for a run nobody reads
(``Simulation(config, narrate=False)``: the same events, no sentences). The bare loop
(bench/bare_loop.py) runs the same model with the same keyed fates; its event counts must equal
the simulator's, or the bench stops.

Memory: tracemalloc's peak while running, without keeping the events (the simulator holds only
what is in flight) and with a list of every event (history), for two run lengths.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import platform
import pstats
import sys
import time
import tracemalloc
from datetime import date

from simulator import Config, Simulation

from . import bare_loop

GOAL_EVENTS_PER_S = 200_000
GOAL_RATIO = 2.5


def bench_config(messages: int) -> Config:
    return Config(semantics="at-least-once", ordering="none", messages=messages, loss=0.2,
                  ack_loss=0.1)


def run_simulation(config: Config, keep: bool = False,
                   narrate: bool = True) -> tuple[int, dict, list]:
    """Run to the end through ``step()``; return (events, counts by type, history if kept)."""
    sim = Simulation(config, narrate=narrate)
    step = sim.step
    history: list[dict] = []
    n = 0
    while True:
        batch = step()
        if not batch:
            break
        n += len(batch)
        if keep:
            history.extend(batch)
    return n, sim.tally.counts, history


def run_in_slices(config: Config, slice_ms: float = 10_000.0) -> tuple[int, dict, list]:
    """Run to the end through ``run_until`` in slices of simulated time (as a paced server
    would); events are handed on and not kept."""
    sim = Simulation(config)
    n = 0
    while not sim.done:
        n += len(sim.run_until(sim.now + slice_ms))
    return n, sim.tally.counts, []


def timed(fn, *args):
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def throughput(messages: int, rounds: int) -> dict:
    config = bench_config(messages)
    sim_times, slice_times, quiet_times, bare_times = [], [], [], []
    for _ in range(rounds):  # interleaved, best of each, so neither side gets a warmer machine
        sim_s, (sim_events, sim_counts, _) = timed(run_simulation, config)
        slice_s, (slice_events, _, _) = timed(run_in_slices, config)
        quiet_s, (quiet_events, _, _) = timed(run_simulation, config, False, False)
        bare_s, bare_counts = timed(bare_loop.run, config)
        assert slice_events == sim_events == quiet_events
        sim_times.append(sim_s)
        slice_times.append(slice_s)
        quiet_times.append(quiet_s)
        bare_times.append(bare_s)
    bare_events = sum(bare_counts.values())
    mismatch = {k: (sim_counts.get(k, 0), v) for k, v in bare_counts.items()
                if sim_counts.get(k, 0) != v}
    others = {k: v for k, v in sim_counts.items() if v and k not in bare_counts}
    if mismatch or others or bare_events != sim_events:
        sys.exit(f"the bare loop is not the same model: simulator vs bare {mismatch} {others}")
    sim_s, slice_s, bare_s = min(sim_times), min(slice_times), min(bare_times)
    quiet_s = min(quiet_times)
    return {"messages": messages, "events": sim_events, "sim_s": sim_s, "bare_s": bare_s,
            "slice_s": slice_s, "quiet_s": quiet_s, "sim_eps": sim_events / sim_s,
            "bare_eps": bare_events / bare_s, "slice_eps": sim_events / slice_s,
            "quiet_eps": sim_events / quiet_s, "ratio": sim_s / bare_s,
            "slice_ratio": slice_s / bare_s, "quiet_ratio": quiet_s / bare_s}


def peak_memory(messages: int, keep: bool) -> tuple[int, int]:
    """(events, peak bytes traced) for one run, keeping the history or not."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    events, _, history = run_simulation(bench_config(messages), keep)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del history
    return events, peak


def profile(messages: int, top: int = 15) -> str:
    prof = cProfile.Profile()
    prof.runcall(run_simulation, bench_config(messages))
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000,
                        help="messages in the throughput run (default 100000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, best kept")
    parser.add_argument("--memory", default="10000,100000",
                        help="comma-separated run lengths for the memory table")
    parser.add_argument("--profile", action="store_true", help="print cProfile hotspots")
    args = parser.parse_args(argv)

    print(f"Delivery Lab simulator benchmark, {date.today().isoformat()}, Python "
          f"{platform.python_version()} on {platform.machine()}")
    print("config: at-least-once, ordering none, loss 0.2, ack loss 0.1, other settings default")
    r = throughput(args.messages, args.rounds)
    print(f"\nthroughput, {r['messages']:,} messages, {r['events']:,} events "
          f"(best of {args.rounds}; event counts of both loops equal)")
    print(f"  simulator, step()            {r['sim_s']:7.2f} s  {r['sim_eps']:>10,.0f} events/s"
          f"  {r['ratio']:.2f}x bare")
    print(f"  simulator, run_until(+10 s)  {r['slice_s']:7.2f} s  {r['slice_eps']:>10,.0f} "
          f"events/s  {r['slice_ratio']:.2f}x bare")
    print(f"  simulator, step(), no text   {r['quiet_s']:7.2f} s  {r['quiet_eps']:>10,.0f} "
          f"events/s  {r['quiet_ratio']:.2f}x bare  (narrate=False)")
    print(f"  bare heapq loop              {r['bare_s']:7.2f} s  {r['bare_eps']:>10,.0f} events/s")
    print(f"  step() vs bare: {r['ratio']:.2f}x the time  "
          f"(goal: >= {GOAL_EVENTS_PER_S:,} events/s "
          f"{'met' if r['sim_eps'] >= GOAL_EVENTS_PER_S else 'NOT met'}; "
          f"within {GOAL_RATIO:g}x {'met' if r['ratio'] <= GOAL_RATIO else 'NOT met'})")

    print("\npeak traced memory while running (tracemalloc)")
    print(f"  {'messages':>9}  {'events':>9}  {'no history':>11}  {'with history':>13}")
    for n in (int(x) for x in args.memory.split(",") if x):
        events, lean = peak_memory(n, keep=False)
        _, full = peak_memory(n, keep=True)
        print(f"  {n:>9,}  {events:>9,}  {mib(lean):>11}  {mib(full):>13}")

    if args.profile:
        print("\nsimulator hotspots (cProfile, by own time)")
        print(profile(min(args.messages, 20_000)))
    return 0
