"""Regenerate past events from the seed and the log of live changes.

A session keeps only its most recent events. When a client needs older ones (after a step back to
a point before the kept window), they are rebuilt, never stored: the run is replayed up to the
first wanted event and then stepped forward, applying each logged live change where the original
run applied it. Determinism makes the copy exact.
"""

from __future__ import annotations

from simulator import Config, Simulation


def events_between(config: Config, log: list[dict], after: int, until: int) -> list[dict] | None:
    """Events ``after < seq <= until`` of the run ``(config, log)``; None if not rebuildable."""
    sim = Simulation.replay(config, log, until_seq=after)
    out: list[dict] = []
    pending = [entry for entry in log if after <= entry["at_seq"] < until]
    for entry in pending:
        if not _step_to(sim, entry["at_seq"], out):
            return None
        # A live change happened at this simulated instant, between two happenings.
        sim.now = max(sim.now, float(entry["t"]))
        apply = sim.configure if entry["op"] == "configure" else sim.inject
        out.extend(apply(entry["payload"]))
    if not _step_to(sim, until, out):
        out = [e for e in out if e["seq"] <= until]
    return [e for e in out if after < e["seq"] <= until]


def _step_to(sim: Simulation, target: int, out: list[dict]) -> bool:
    """Step until event ``target``; False if a step went past it (the copy would drift)."""
    while sim.seq < target:
        events = sim.step()
        if not events:
            return False
        out.extend(events)
    return sim.seq == target
