"""Rebuild a run, or past events of it, from its settings and the log of live changes.

A session keeps only its most recent events. When a client needs older ones (after a step back to
a point before the kept window, or a resync from further back than it), they are rebuilt, never
stored: the simulator replays the run from its config and log, starting from the nearest
checkpoint before them when the session has one. Determinism makes the copy exact.

These are the replay jobs: plain functions of plain data (settings, log, a checkpoint as bytes),
so a worker process can run them (``replays.py``) as well as the server's own. A sweep's point
(``simulator.sweep.run_point``: one run to its end, its rates per message) is a job of the same
kind, run by the sweep workers (``sweeps.py``), and so are a comparison's columns
(``simulator.compare.run``: each column run with its sentences, all cut at the same instant).
"""

from __future__ import annotations

import gc
import pickle
import time

from simulator import Config, Simulation
from simulator.compare import run as run_columns
from simulator.sweep import run_point


def events_between(config: Config, log: list[dict], after: int, until: int,
                   start: bytes | None = None,
                   protocol: str | None = None) -> list[dict] | None:
    """Events ``after < seq <= until`` of the run ``(config, log)`` under ``protocol``, replayed
    from ``start`` (a checkpoint at or before ``after``, as bytes) if given; None if not
    rebuildable."""
    sim = pickle.loads(start) if start is not None else None
    events = Simulation.replay_events(config, log, after, until, start=sim, protocol=protocol)
    if len(events) != until - after:
        return None
    return events


def replay_to(base: Config, log: list[dict], to_seq: int | None, want: int,
              start: bytes | None, fill_start: bytes | None,
              protocol: str | None) -> tuple[Simulation, list[dict]]:
    """The run replayed to ``to_seq`` (None: just after its last live change) from checkpoint
    ``start``, and, if ``want``, its last ``want`` events (at most) rebuilt by replay (from
    ``fill_start``, a checkpoint at or before them; None if they cannot be)."""
    sim = Simulation.replay(base, log, until_seq=to_seq,
                            start=pickle.loads(start) if start is not None else None,
                            protocol=protocol)
    end = sim.seq
    want = min(want, end)
    recent = events_between(base, log, end - want, end, fill_start, protocol) if want else []
    return sim, recent


def rebuild(base: Config, log: list[dict], to_seq: int | None, want: int, start: bytes | None,
            fill_start: bytes | None,
            protocol: str | None) -> tuple[bytes, list[dict] | None, float]:
    """``replay_to`` for another process: the run as bytes, the recent events, and how many
    seconds turning the bytes back into a run takes (timed here, so the server knows whether
    doing so would hold its event loop too long)."""
    sim, recent = replay_to(base, log, to_seq, want, start, fill_start, protocol)
    frozen = pickle.dumps(sim, protocol=pickle.HIGHEST_PROTOCOL)
    started = time.perf_counter()
    thaw(frozen)
    return frozen, recent, time.perf_counter() - started


def thaw(frozen: bytes):
    """``pickle.loads`` with the cyclic garbage collector off: tens of thousands of new objects
    would otherwise start collections that walk every object of the server, several times
    over (in a busy server, three times as long as the loading itself)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(frozen)
    finally:
        if enabled:
            gc.enable()


def compare_columns(columns: list, max_events: int) -> dict:
    """A comparison's columns, each run with its sentences and all cut at the same instant
    (``simulator.compare.run``). A job of its own name: a worker is sent a job by name."""
    return run_columns(columns, max_events)


JOBS = {"events_between": events_between, "rebuild": rebuild, "replay_to": replay_to,
        "run_point": run_point, "compare_columns": compare_columns}
