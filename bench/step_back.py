"""Step back anywhere in a long run: from the nearest checkpoint versus from t = 0.

    python -m bench.step_back [--messages 10000] [--points 40]

Plays a run of ``--messages`` messages (the default settings otherwise) once, taking checkpoints
as the live server does (``simulator.checkpoints.Checkpoints`` with its server defaults), then
rebuilds the run at ``--points`` evenly spread event numbers twice: by replaying from t = 0 (the
baseline, what every step back did before) and from the nearest checkpoint. Both rebuilds are
checked to give the same run. Prints a Markdown table of the time per step back and the memory
the checkpoints hold.
"""

from __future__ import annotations

import argparse
import statistics
import time

from simulator import Config, Simulation
from simulator.checkpoints import Checkpoints


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--points", type=int, default=40)
    a = ap.parse_args(argv)
    config = Config(messages=a.messages)
    sim = Simulation(config)
    book = Checkpoints()
    t0 = time.perf_counter()
    while sim.step():
        book.offer(sim)
    played = time.perf_counter() - t0
    total = sim.seq
    points = [max(1, total * (i + 1) // (a.points + 1)) for i in range(a.points)]
    rows = {}
    for name, start_of in (("from t = 0 (baseline)", lambda k: None),
                           ("from the nearest checkpoint", book.before)):
        times = []
        for k in points:
            t = time.perf_counter()
            rebuilt = Simulation.replay(config, [], until_seq=k, start=start_of(k))
            times.append((time.perf_counter() - t) * 1000)
            assert rebuilt.seq == k
        rows[name] = times
    check = Simulation.replay(config, [], until_seq=points[-1], start=book.before(points[-1]))
    assert check.summary() == Simulation.replay(config, [], until_seq=points[-1]).summary()
    size = sum(len(c) for c in book._copies) / 1024
    print(f"{a.messages} messages, {total} events, played in {played:.2f} s; "
          f"{len(book)} checkpoints, {size:.0f} KiB kept\n")
    print("| step back | p50 (ms) | p95 (ms) | max (ms) |")
    print("| --- | --- | --- | --- |")
    for name, times in rows.items():
        times.sort()
        print(f"| {name} | {statistics.median(times):.1f} | "
              f"{times[int(len(times) * 0.95) - 1]:.1f} | {times[-1]:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
