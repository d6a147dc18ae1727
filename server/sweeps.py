"""Sweeps run by the server: one setting across a range, for several semantics and seeds, each
row streamed to the session's connections as soon as it is known (docs/protocol.md, "Sweeps";
the statistics and closed forms are docs/sweeps.md's).

A sweep's points (``simulator.sweep.run_point``: one run of the classic model to its end, its
rates per message) run in ``SWEEP_WORKERS`` worker processes of the sweeps' own, never in the
server's process: each is a ``replays.Worker`` (a process joined to the server by a socket pair,
its jobs those of ``regenerate.JOBS``), and waiting for a point is a socket read, so under
eventlet or gevent the event loop goes on serving every other client meanwhile. One runner (a
background task of the app's Socket.IO) drives each worker: it takes the next point, round robin
between the sweeps that have points left (a small sweep started behind a big one waits one point
per turn, not for the whole big one), runs it, and back on the event loop records its rates; once
every seed of one (value, semantics) is in, it emits that row, computed by ``simulator.sweep``
itself, so the page gets the very floats ``python -m simulator sweep`` prints.

A session runs one sweep at a time; a new one cancels the old. Cancelling stops handing out the
sweep's points at once; points already running finish and are thrown away. A sweep outlives its
session's connections only as long as the session lives: once the session is reaped, no further
point of it is handed out. Nothing here takes a session's lock.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from simulator import Simulation
from simulator import sweep as S
from simulator.config import FIELD_BY_NAME, SEMANTICS, Config, ConfigError

from . import errors as E
from .replays import Worker, WorkerError
from .settings import Settings

log = logging.getLogger(__name__)
DEFAULT_SEEDS = 3
DEFAULT_MESSAGES = 2_000
PROGRESS_EVERY_S = 0.1  # sweep_progress at most 10 a second (and always the last one)
# A run that takes longer than this in its worker is stopped (the worker is ended) and its sweep
# ends with a ``run_limit`` error: a runaway point cannot hold a worker from every other sweep.
POINT_TIMEOUT_S = 120.0
# Sweep workers run at a lower CPU priority than the server: where cores are few, the event loop
# (every session's frames) and the replay workers come first, a sweep takes what is left.
WORKER_NICE = 10


@dataclass(frozen=True)
class Plan:
    """A checked ``sweep_start``: every run's settings are ``base`` with ``setting`` set to one
    of ``values``, one of ``semantics`` and one of ``seeds`` seeds from the base's seed."""

    setting: str
    values: list
    semantics: list
    seeds: int
    messages: int
    base: dict  # the client's base, with ``messages`` set

    @property
    def first_seed(self) -> int:
        return int(self.base.get("seed", 1))  # as simulator.sweep.sweep numbers them

    def points(self) -> list[S.Point]:
        first = self.first_seed
        return [S.Point(v, s, first + k) for v in self.values for s in self.semantics
                for k in range(self.seeds)]

    def answer(self) -> dict:
        return {"setting": self.setting, "values": list(self.values),
                "semantics": list(self.semantics), "seeds": self.seeds,
                "messages": self.messages,
                "total": len(self.values) * len(self.semantics) * self.seeds}


def plan_of(payload: dict, settings: Settings) -> Plan:
    """Check a ``sweep_start`` payload (its shape already checked by ``validation``) against the
    simulator's schema and the server's limits; every refusal names its field."""
    setting = payload["setting"]
    seeds = payload.get("seeds", DEFAULT_SEEDS)
    limit = settings.max_sweep_messages_per_run
    messages = payload.get("messages", min(DEFAULT_MESSAGES, limit))
    if messages > limit:
        raise E.ProtocolError(E.RUN_LIMIT, f"a sweep's runs may send at most {limit} messages "
                              "each", "messages")
    semantics = payload.get("semantics", list(SEMANTICS))
    for name in semantics:
        if name not in SEMANTICS:
            raise E.ProtocolError(E.INVALID_VALUE, f"semantics must be among "
                                  f"{', '.join(SEMANTICS)}", "semantics")
    if len(set(semantics)) != len(semantics):
        raise E.ProtocolError(E.INVALID_VALUE, "name each semantics once", "semantics")
    sent = payload.get("base", {})
    for name in sent:
        if name not in FIELD_BY_NAME:
            short = str(name)[:40]
            raise E.ProtocolError(E.UNKNOWN_FIELD, f"unknown setting {short!r}", f"base.{short}")
    _config(sent)
    base = {**sent, "messages": messages}
    cfg = _config(base)
    try:
        values = S.values_of(payload["values"], setting)
    except ConfigError as exc:  # the spec, or a value out of the setting's range
        says = exc.message if exc.field == "vary" else f"each {setting} {exc.message}"
        raise E.ProtocolError(E.INVALID_VALUE, says, "values") from None
    except (ValueError, OverflowError):
        raise E.ProtocolError(E.INVALID_VALUE, "give A:B:N or a list a,b,c of finite numbers",
                              "values") from None
    runs = len(values) * len(semantics) * seeds
    if runs > settings.max_sweep_runs:
        raise E.ProtocolError(E.RUN_LIMIT, f"{len(values)} values x {len(semantics)} semantics "
                              f"x {seeds} seeds is {runs} runs; a sweep may have at most "
                              f"{settings.max_sweep_runs}", "values")
    if setting != "max_retries" and cfg.max_retries < 0:
        raise E.ProtocolError(E.INVALID_VALUE, "a sweep's runs must end: give max_retries 0 or "
                              "more", "base.max_retries")
    _config({**base, "seed": int(base.get("seed", 1)) + seeds - 1})  # the last seed fits too
    for value in values:
        if setting == "max_retries" and value < 0:
            raise E.ProtocolError(E.INVALID_VALUE, "a sweep's runs must end: max_retries values "
                                  "must be 0 or more", "values")
        _config({**base, setting: value}, setting)
    try:  # what a run checks beyond the schema (fault names, options): built, not run
        Simulation(Config.from_dict({**base, setting: values[0]}), narrate=False)
    except ConfigError as exc:
        raise E.ProtocolError(E.INVALID_VALUE, exc.message, f"base.{exc.field}") from None
    return Plan(setting, values, list(semantics), seeds, messages, base)


def _config(settings: dict, swept: str | None = None) -> Config:
    """``settings`` as a config; a refusal names ``values`` when the swept setting is at fault,
    else ``base.FIELD``."""
    try:
        return Config.from_dict(settings)
    except ConfigError as exc:
        if swept is not None and exc.field == swept:
            raise E.ProtocolError(E.INVALID_VALUE, f"{settings[swept]:g}: {exc.message}",
                                  "values") from None
        raise E.ProtocolError(E.INVALID_VALUE, exc.message, f"base.{exc.field}") from None


def row_of(plan: Plan, value, semantics: str, results: list[dict]) -> dict:
    """The row of one value and semantics from its points' rates (seed order), computed by
    ``simulator.sweep.sweep`` itself: its ``pool_map`` hands back the rates already measured."""
    (row,) = S.sweep(plan.base, plan.setting, [value], [semantics], plan.seeds,
                     lambda fn, jobs: results)
    return dataclasses.asdict(row)


class SweepFailed(Exception):
    def __init__(self, error: E.ProtocolError):
        super().__init__(error.message)
        self.error = error


class Sweep:
    """One session's sweep: its points, what is handed out and measured, and its rows so far."""

    def __init__(self, ident: int, runtime, plan: Plan):
        self.id = ident
        self.runtime = runtime
        self.token = runtime.token
        self.plan = plan
        self.points = plan.points()
        self.total = len(self.points)
        self.next = 0  # the next point to hand out
        self.done = 0  # points measured
        self.rows = 0  # rows emitted
        self.pending: dict[tuple, dict[int, dict]] = {}  # (value, semantics) -> seed -> rates
        self.finished = False  # done, cancelled or failed: nothing more is emitted
        self.cancelled = False
        self.last_progress = -math.inf
        self.lock = threading.Lock()  # its state and the order of its messages


class SweepPool:
    """The sweep workers and their runners, shared by every session's sweep in turn."""

    def __init__(self, socketio, size: int, modules: tuple[str, ...] = (),
                 alive: Callable[[object], bool] = lambda runtime: True,
                 point_timeout_s: float = POINT_TIMEOUT_S,
                 clock: Callable[[], float] = time.monotonic):
        self.socketio = socketio
        # to the session's connections (the socket layer's emit, which reaches connections
        # relayed from other processes too)
        self.emit = functools.partial(socketio.emit, ignore_queue=True)
        self.size = size
        self.modules = modules
        self.alive = alive  # is this session still the registry's?
        self.point_timeout_s = point_timeout_s
        self.clock = clock
        self.queue: deque[Sweep] = deque()  # sweeps with points left, in turn
        self.active: dict[str, Sweep] = {}  # session token -> its sweep
        self.workers: list[Worker | None] = [None] * size
        self.lock = threading.Lock()
        self.wake = socketio.server.eio.create_event()
        self.ids = itertools.count(1)
        self.runners = 0
        self.replaced = 0  # workers that died or were stopped

    # --- what the handlers call ------------------------------------------------------------
    def start(self, runtime, plan: Plan) -> Sweep:
        """Start ``plan`` for ``runtime``'s session, cancelling the sweep it runs (whose
        ``sweep_done`` is emitted before this returns)."""
        old = self.active.get(runtime.token)
        if old is not None:
            self._end(old)
        sweep = Sweep(next(self.ids), runtime, plan)
        with self.lock:
            self.active[runtime.token] = sweep
            self.queue.append(sweep)
            self.wake.set()
            launch, self.runners = self.runners == 0, self.size
        if launch:  # the runners start with the first sweep, and run for good
            for slot in range(self.size):
                self.socketio.start_background_task(self._runner, slot)
        return sweep

    def cancel(self, runtime) -> bool:
        """Cancel the sweep ``runtime``'s session runs; False if it runs none."""
        sweep = self.active.get(runtime.token)
        return sweep is not None and self._end(sweep)

    def sweep_of(self, runtime) -> Sweep | None:
        return self.active.get(runtime.token)

    def close(self) -> None:
        for worker in self.workers:
            if worker is not None:
                worker.close()

    # --- the runners ---------------------------------------------------------------------------
    def _runner(self, slot: int) -> None:
        while True:
            sweep, point = self._take()
            try:
                rates = self._work(slot, sweep, point)
            except SweepFailed as exc:
                self._end(sweep, exc.error)
                continue
            except Exception:  # a bug must not stop the runner, nor every sweep after it
                log.exception("sweep %s failed", sweep.id)
                self._end(sweep, E.ProtocolError(E.INTERNAL, "the server could not run this "
                                                 "sweep"))
                continue
            try:
                self._deliver(sweep, point, rates)
            except Exception:
                log.exception("sweep %s failed", sweep.id)
                self._end(sweep, E.ProtocolError(E.INTERNAL, "the server could not run this "
                                                 "sweep"))

    def _take(self) -> tuple[Sweep, S.Point]:
        """The next point to run, round robin between the sweeps; waits (green) for one."""
        while True:
            with self.lock:
                job = self._next()
                if job is None:
                    self.wake.clear()
            if job is not None:
                return job
            self.wake.wait()

    def _next(self) -> tuple[Sweep, S.Point] | None:
        while self.queue:
            sweep = self.queue.popleft()
            if sweep.finished:
                continue
            if not self.alive(sweep.runtime):  # its session was reaped: nobody to tell
                sweep.finished = sweep.cancelled = True
                if self.active.get(sweep.token) is sweep:
                    del self.active[sweep.token]
                continue
            point = sweep.points[sweep.next]
            sweep.next += 1
            if sweep.next < sweep.total:
                self.queue.append(sweep)  # its next point after every other sweep's
            return sweep, point
        return None

    def _work(self, slot: int, sweep: Sweep, point: S.Point) -> dict:
        """Run ``point`` in this runner's worker (started when first needed); a worker that dies
        is replaced and the point run once more; one that takes too long is ended."""
        args = (sweep.plan.base, sweep.plan.setting, point)
        for _attempt in range(2):
            worker = self.workers[slot]
            if worker is None:
                worker = self.workers[slot] = Worker(self.modules, WORKER_NICE)
            worker.sock.settimeout(self.point_timeout_s)
            started = self.clock()
            try:
                rates, _seconds = worker.run("run_point", args)
                return rates
            except WorkerError as exc:
                self.workers[slot] = None
                self.replaced += 1
                worker.close()
                if self.clock() - started >= self.point_timeout_s:
                    raise SweepFailed(E.ProtocolError(
                        E.RUN_LIMIT, f"one run of this sweep took more than "
                        f"{self.point_timeout_s:g} s and was stopped; sweep fewer messages or "
                        "fewer retries")) from None
                log.warning("%s; running the sweep's point again in a new worker", exc)
        raise SweepFailed(E.ProtocolError(E.INTERNAL, "the server could not run this sweep"))

    def _deliver(self, sweep: Sweep, point: S.Point, rates: dict) -> None:
        """Record one point's rates; emit progress (at most every ``PROGRESS_EVERY_S``, and
        the last), the row it completes, and ``sweep_done`` after the last."""
        alive = self.alive(sweep.runtime)
        with sweep.lock:
            if sweep.finished:
                return  # cancelled meanwhile: thrown away
            if not alive:
                sweep.finished = sweep.cancelled = True
            else:
                plan = sweep.plan
                key = (point.value, point.semantics)
                got = sweep.pending.setdefault(key, {})
                got[point.seed] = rates
                sweep.done += 1
                row = None
                if len(got) == plan.seeds:
                    del sweep.pending[key]
                    row = row_of(plan, point.value, point.semantics,
                                 [got[seed] for seed in sorted(got)])
                    sweep.rows += 1
                last = sweep.done == sweep.total
                now = self.clock()
                if last or now - sweep.last_progress >= PROGRESS_EVERY_S:
                    sweep.last_progress = now
                    self._emit(sweep, "sweep_progress", self._progress(sweep))
                if row is not None:
                    self._emit(sweep, "sweep_row", {"sweep": sweep.id, "row": row})
                if last:
                    sweep.finished = True
                    self._emit(sweep, "sweep_done", self._done(sweep))
        if sweep.finished:
            self._forget(sweep)

    # --- ending ------------------------------------------------------------------------------
    def _end(self, sweep: Sweep, error: E.ProtocolError | None = None) -> bool:
        """Cancel ``sweep`` (or end it with ``error``): its progress so far, the error if any,
        then ``sweep_done`` cancelled; False if it had already ended."""
        with sweep.lock:
            if sweep.finished:
                return False
            sweep.finished = sweep.cancelled = True
            self._emit(sweep, "sweep_progress", self._progress(sweep))
            done = self._done(sweep)
            if error is not None:
                self._emit(sweep, "error", error.to_dict())
                done["error"] = error.to_dict()
            self._emit(sweep, "sweep_done", done)
        self._forget(sweep)
        return True

    def _forget(self, sweep: Sweep) -> None:
        """Drop an ended sweep (and the session it holds) from the turn and the session's."""
        with self.lock:
            if self.active.get(sweep.token) is sweep:
                del self.active[sweep.token]
            if sweep in self.queue:
                self.queue.remove(sweep)

    def _progress(self, sweep: Sweep) -> dict:
        return {"sweep": sweep.id, "done": sweep.done, "total": sweep.total}

    def _done(self, sweep: Sweep) -> dict:
        return {"sweep": sweep.id, "cancelled": sweep.cancelled, "rows": sweep.rows}

    def _emit(self, sweep: Sweep, event: str, data: dict) -> None:
        self.emit(event, data, to=sweep.token)
