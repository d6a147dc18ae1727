"""Regenerate past events from the seed and the log of live changes.

A session keeps only its most recent events. When a client needs older ones (after a step back to
a point before the kept window, or a resync from further back than it), they are rebuilt, never
stored: the simulator replays the run from its config and log, starting from the nearest
checkpoint before them when the session has one. Determinism makes the copy exact.
"""

from __future__ import annotations

from simulator import Config, Simulation
from simulator.checkpoints import Checkpoints


def events_between(config: Config, log: list[dict], after: int, until: int,
                   checkpoints: Checkpoints | None = None,
                   protocol: str | None = None) -> list[dict] | None:
    """Events ``after < seq <= until`` of the run ``(config, log)`` under ``protocol``; None if
    not rebuildable."""
    start = checkpoints.before(after) if checkpoints is not None else None
    events = Simulation.replay_events(config, log, after, until, start=start, protocol=protocol)
    if len(events) != until - after:
        return None
    return events
