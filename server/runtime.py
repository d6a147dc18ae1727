"""SessionRuntime: one tab's run, paced from simulated time to wall time, as a stream of frames.

The runtime owns a ``Simulation`` and everything the stream needs around it: pacing (speed, play,
pause, step), the epoch and its consecutive ``stream_seq``, a bounded window of recent frames (for
``resync``) and of recent events (for snapshots). ``step_back`` and ``reset`` start a new epoch;
stepping back rebuilds the run by replay from its config and the log of live changes, off the
event loop. A ``resync`` from further back than the kept frames is answered with one catch-up
frame whose older events are regenerated the same way. Callers hold ``lock`` around every call;
the runtime itself does no I/O.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from simulator import Config, ConfigError, Simulation
from simulator.checkpoints import Checkpoints
from simulator.compare import MAX_EVENTS as COMPARE_EVENTS
from simulator.compare import columns_of
from simulator.runspec import RunSpec
from simulator.until import Until, parse_until

from . import errors as E
from .limits import ReplayBudget
from .offload import timed
from .regenerate import compare_columns, events_between, rebuild, replay_to, thaw
from .settings import Settings
from .window import Encoded, StreamWindow

MAX_TICK_S = 0.25  # after a stall, catch up at most this much wall time in one tick
ADOPTED_HOLD_S = 5.0  # a run taken over waits this long at most for its tabs to say where they are


direct = timed  # run replay work right here (tests drive the runtime this way)


class SessionRuntime:
    def __init__(self, token: str, client: str, settings: Settings,
                 offload: Callable = direct, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time):
        self.token = token
        self.client = client
        self.settings = settings
        self.offload = offload
        self.clock = clock
        self.wall = wall
        self.lock = threading.Lock()
        self.sids: set[str] = set()
        self.detached_since: float | None = clock()
        self.speed = 1.0
        self.playing = False
        self.last_sent = clock()  # when a frame was last emitted (heartbeats fill silences)
        self.epoch = 0
        self.checkpoints = Checkpoints()
        self.replay_budget = ReplayBudget(settings.replay_rate, settings.replay_burst_s, clock)
        self.protocol = settings.protocol  # the run's protocol, by name
        # A room's run: many followers ask for the same older events; rebuilt ones are kept
        # (per epoch: (after, events after it, in order)) so they are replayed once, not each time.
        self.shared = False
        self.fork_of: str | None = None  # the code of the room this session is a fork in
        self._older: tuple[int, int, list[dict]] | None = None
        # several processes: taken over from another process's record (runstore.py), this
        # epoch's stream continues where the clients stand; their first resync says where
        self.adopted = False
        self._begin(Config(), Simulation(Config(), self.protocol), [])

    # --- epochs -------------------------------------------------------------------------------
    def _begin(self, base: Config, sim: Simulation, recent: list[dict],
               continues: tuple[int, int] | None = None) -> None:
        """Start a new epoch over ``sim``, whose run began from ``base``; or, ``continues``
        (epoch, stream_seq), go on with that epoch's stream from there (a run taken over)."""
        self.base_config = base
        self.sim = sim
        if continues is None:
            self.epoch += 1
            self.stream_seq = 0
        else:
            self.epoch, self.stream_seq = continues
        self.emitted_seq = self.stream_seq
        self.epoch_seq = sim.seq  # the run's last event seq at stream_seq 0 (or where it goes on)
        self.window = StreamWindow(self.settings.frames_kept, self.settings.events_kept, recent)
        self.outbox: list[dict] = []
        self.pending: list[dict] = []
        self.dirty = False
        self.config_changed = False
        self.limit_reached: str | None = None
        self.until: Until | None = None  # play_until: pause right after the event it names
        self.stopped: dict | None = None  # why play stopped by itself, for the next frame
        self.last_tick = self.clock()
        self._check_limits()

    @property
    def finished(self) -> bool:
        return self.sim.done or self.limit_reached is not None

    # --- pacing ---------------------------------------------------------------------------------
    def advance(self) -> list[dict]:
        """Move simulated time on by the wall time since the last call; frames ready to emit."""
        now = self.clock()
        if self.adopted:  # taken over: no frame before the tabs' first resync says where to go on
            if now - self.adopted_at < ADOPTED_HOLD_S:
                self.last_tick = now
                return []
            self.adopted = False
        elapsed = min(now - self.last_tick, MAX_TICK_S)
        self.last_tick = now
        if self.playing and not self.finished and elapsed > 0:
            self._run_to(self.sim.now + elapsed * 1000.0 * self.speed)  # 1x: 1 ms per ms
        self._flush()
        return self.take_outbox()

    def take_outbox(self) -> list[dict]:
        out, self.outbox = self.outbox, []
        if out:
            self.emitted_seq = out[-1]["stream_seq"]
        return out

    def _run_to(self, target: float) -> None:
        """Process every happening up to ``target``, one instant at a time, never past it."""
        sim = self.sim
        target = min(target, self.settings.max_run_time_ms)
        until = self.until
        if until is not None and until.t is not None and until.t <= target:
            target = max(until.t, sim.now)
        # the run stops at the end of the instant that reaches the events limit, never far past it
        budget = min(self.settings.max_events_per_frame, self.settings.max_run_events - sim.seq)
        while not self.finished:
            nxt = sim.next_time()
            if nxt is None or nxt > target:
                if target > sim.now:
                    self._take(sim.run_until(target))
                break
            if until is not None:
                sim.tally.mark()  # so the events after a match can be held back
            events = sim.run_until(max(nxt, sim.now))
            if until is not None:
                kept = sim.cut_after_match(events, until)
                if kept is not None:
                    self._take(kept)
                    self._stop_until(True)
                    break
            self._take(events)
            self.checkpoints.offer(sim)
            budget -= len(events)
            if budget <= 0:
                break  # too much at once: the run falls behind the wall clock rather than flood
        if until is not None and self.until is until and (
                self.finished or until.t is not None and sim.now >= until.t):
            self._stop_until(False)
        self._check_limits()

    def _stop_until(self, matched: bool) -> None:
        """``play_until`` is over: the event matched (or the time bound or the run's end came)."""
        self.until = None
        self.playing = False
        self.dirty = True
        self.stopped = {"reason": "until", "matched": matched, "seq": self.sim.seq}

    def _take(self, events: list[dict]) -> None:
        if events:
            self.pending.extend(events)

    def _check_limits(self) -> None:
        if self.limit_reached is None:
            s, sim = self.settings, self.sim
            if sim.seq >= s.max_run_events:
                self.limit_reached = f"the run reached {s.max_run_events} events"
            elif sim.now >= s.max_run_time_ms and not sim.done:
                self.limit_reached = f"the run reached {s.max_run_time_ms:g} ms of simulated time"
        if self.finished and self.playing:
            self.playing = False
            self.dirty = True

    def _flush(self) -> None:
        """Turn what happened since the last frame into the next frame (if anything did)."""
        if not self.pending and not self.dirty:
            return
        self.stream_seq += 1
        frame = self._picture(self.pending)
        if self.config_changed:
            frame["config"] = self.sim.config.to_dict()
        if self.stopped is not None:
            frame["stopped"] = self.stopped
            self.stopped = None
        frame = Encoded(frame)
        frame.json = self.window.keep(frame)  # encoded once: kept, and sent, as this text
        self.outbox.append(frame)
        self.pending = []
        self.dirty = self.config_changed = False

    # --- what a (re)joining client needs ----------------------------------------------------
    def _picture(self, events: list[dict]) -> dict:
        """A frame at the current ``stream_seq`` carrying ``events``, with the state after them."""
        sim = self.sim
        picture = {
            "epoch": self.epoch, "stream_seq": self.stream_seq, "events": events,
            "summary": sim.summary(), "state": sim.view(), "now": sim.now,
            "playing": self.playing, "speed": self.speed, "done": self.finished,
            "seq": sim.seq, "sent_at": round(self.wall() * 1000, 3),
        }
        if self.limit_reached:
            picture["limit"] = self.limit_reached
        return picture

    def snapshot(self) -> dict:
        """The whole current picture; the next frame the client sees is ``stream_seq + 1``."""
        self.adopted = False  # (a run taken over goes on from here)
        self._flush()
        return {**self._picture(self.window.events()), "config": self.sim.config.to_dict(),
                "run": self.run_spec().to_text(), "protocol": self.protocol,
                "manifest": self.sim.manifest()}

    def manifest(self) -> dict:
        """The run's shape for the page: lanes, nodes, packet kinds, event types, marks."""
        with self.lock:
            return self.sim.manifest()

    def share(self, position: int | None = None) -> dict:
        """The run as a run specification text that opens it at ``position`` (an event the
        page shows; the run's last event when None): for a link or a trace's header."""
        seq = self.sim.seq
        if position is not None and position > seq:
            raise E.ProtocolError(E.INVALID_VALUE, f"position must be at most {seq}, the run's "
                                  "last event", "position")
        at = seq if position is None else position
        return {"run": self.run_spec(at).to_text(), "seq": at, "protocol": self.protocol}

    def compare(self, columns: list) -> dict:
        """This run side by side under other rules (``simulator.compare``): each column a new
        run from this run's first settings, seed and scripted faults, with the column's own
        changes, all cut at the same instant. Worked out off the event loop, like a replay, and
        charged to the session the same way."""
        try:
            cols = columns_of(self.base_config.to_dict(), self.protocol, columns)
        except ConfigError as exc:
            raise E.ProtocolError(E.INVALID_VALUE, exc.message, exc.field) from None
        for i, col in enumerate(cols):
            if col.config.messages > self.settings.max_run_messages:
                raise E.ProtocolError(
                    E.RUN_LIMIT, f"messages must be at most {self.settings.max_run_messages} here",
                    f"columns[{i}].settings.messages")
        wait = self.replay_budget.wait_s()
        if wait > 0:
            raise E.ProtocolError(E.RATE_LIMITED, f"a comparison runs the run again; this "
                                  f"session replayed a lot lately: try again in {wait:.1f} s")
        return self._replaying(compare_columns, cols, COMPARE_EVENTS)

    # --- several processes: the run's record (runstore.py) -------------------------------------
    def record(self) -> dict:
        """What names this run and where its stream stands: enough for another process to
        take it over by replay (``adopt``)."""
        self._flush()  # every event made so far belongs to a frame up to stream_seq
        return {"run": self.run_spec(self.sim.seq).to_dict(), "epoch": self.epoch,
                "stream_seq": self.stream_seq, "speed": self.speed, "playing": self.playing}

    def adopt(self, record: dict) -> None:
        """Take over the run ``record`` names: rebuilt by replay to where its stream stood, the
        same epoch going on, playing if it played. Its clients held at most a little more than
        the record says (frames sent since it was written): their first resync says how much,
        and the run goes on from there (``_rejoin``)."""
        spec = _config(lambda: RunSpec.from_dict(record["run"]))
        sim, recent = _config(lambda: self._rebuild(spec.config, list(spec.log), spec.position,
                                                    self.settings.events_kept, None, None,
                                                    spec.protocol))
        self.checkpoints = Checkpoints()
        self.protocol = spec.protocol
        self._begin(spec.config, sim, recent or [],
                    continues=(int(record["epoch"]), int(record["stream_seq"])))
        self.speed = float(record.get("speed", 1.0))
        self.playing = bool(record.get("playing")) and not self.finished
        self.adopted = True
        self.adopted_at = self.clock()

    def _rejoin(self, since: int, seq: int | None) -> dict:
        """The first resync after a takeover: a client that holds events the record did not yet
        name (sent by the former process after it last wrote) has the run replayed on to them
        (the log of live changes is whole: each was written before it was acknowledged); the
        stream goes on after the last frame any of them applied. Answered with a snapshot of the
        same epoch, which the client merges: nothing missing, nothing twice."""
        self.adopted = False
        if seq is not None and seq > self.sim.seq:
            sim, recent = _config(lambda: self._rebuild(self.base_config, list(self.sim.log), seq,
                                                        self.settings.events_kept, None, None))
            if sim.seq == seq:
                playing = self.playing
                self._begin(self.base_config, sim, recent or [],
                            continues=(self.epoch, self.stream_seq))
                self.playing = playing and not self.finished
        # the snapshot says all there is (a run that ended on the way, say): no frame of its own
        self.pending, self.dirty = [], False
        self.stream_seq = self.emitted_seq = max(self.stream_seq, since)
        return {"snapshot": self.snapshot()}

    def run_spec(self, position: int | None = None) -> RunSpec:
        """The run this session plays, exactly: its first settings and its live changes."""
        return RunSpec.from_run(self.base_config, self.sim.log, position, self.protocol)

    def frames_since(self, epoch: int, since: int) -> list[dict] | None:
        """Frames after ``since`` already sent in ``epoch``; None when only a snapshot can help."""
        if epoch != self.epoch or since > self.emitted_seq:
            return None
        if since == self.emitted_seq:
            return []
        return self.window.frames_between(since, self.emitted_seq)

    def resync(self, epoch: int, since: int, seq: int | None = None) -> dict:
        """What a client that applied frame ``since`` of ``epoch`` (and holds the run's events up
        to ``seq``, if it says so) needs to be whole again: the missed frames, else one catch-up
        frame, else a snapshot."""
        if self.adopted and epoch == self.epoch:
            return self._rejoin(since, seq)
        if seq is not None and seq > self.sim.seq:
            return {"snapshot": self.snapshot()}  # it holds events the run never made
        frames = self.frames_since(epoch, since)
        if frames is not None and (seq is None or seq >= self._seq_after(since)):
            return {"frames": frames}
        if seq is not None and epoch == self.epoch and since <= self.emitted_seq:
            catch_up = self.catch_up(seq)
            if catch_up is not None:
                return {"catch_up": catch_up}
        return {"snapshot": self.snapshot()}

    def _seq_after(self, since: int) -> int:
        """The run's last event seq once frame ``since`` was applied (unknown: past the end)."""
        if since == 0:
            return self.epoch_seq
        known = self.window.seq_after(since)
        return self.sim.seq + 1 if known is None else known

    def catch_up(self, seq: int) -> dict | None:
        """One frame at the current ``stream_seq`` carrying every event after ``seq``, with
        config and state: the kept events, the older ones regenerated by replay. None when
        ``seq`` is beyond the run or more than ``max_run_events`` events would be needed."""
        self._flush()  # every event made so far now belongs to a frame up to stream_seq
        sim = self.sim
        if seq > sim.seq or sim.seq - seq > self.settings.max_run_events:
            return None
        first_kept = self.window.first_event_seq()
        if seq == sim.seq or (first_kept is not None and first_kept <= seq + 1):
            events = self.window.events_after(seq)
        else:
            kept = self.window.events()
            until = sim.seq if first_kept is None else first_kept - 1
            older = self._older_events(seq, until)
            if older is None:
                return None
            events = older + kept
        return {**self._picture(events), "config": sim.config.to_dict()}

    def _older_events(self, seq: int, until: int) -> list[dict] | None:
        """Events ``seq < e.seq <= until`` rebuilt by replay; a room's run keeps what it rebuilt
        (this epoch's, from ``after`` on) and replays only what it lacks. None when the replay
        budget is spent."""
        kept = self._older if self.shared else None
        if kept is None or kept[0] != self.epoch or kept[1] > seq:
            kept = (self.epoch, seq, [])
        _, after, events = kept
        have = after + len(events)
        if until > have:
            if not self.replay_budget.available():
                return None  # too much replaying lately: the client gets a snapshot instead
            more = self._replaying(events_between, self.base_config, list(self.sim.log), have,
                                   until, self.checkpoints.frozen_before(have), self.protocol)
            if more is None:
                return None
            events = events + more
            if self.shared:
                self._older = (self.epoch, after, events)
        return events[seq - after:until - after]

    def thaw_fork(self, frozen) -> None:
        """Become a copy of a room's run as it was frozen at a release (``rooms.Frozen``): the
        same run and the same stream (epoch, ``stream_seq``, kept frames), so a student's page
        goes on from the frames it holds. Paused."""
        self.protocol = frozen.protocol
        self._begin(frozen.base_config, thaw(frozen.sim), [])
        self.epoch = frozen.epoch
        self.stream_seq = self.emitted_seq = frozen.stream_seq
        self.epoch_seq = frozen.epoch_seq
        self.window = frozen.window.copy()
        self.checkpoints = frozen.checkpoints.copy()
        self.speed = frozen.speed
        self.playing = False

    # --- controls (each returns extra fields for the acknowledgement) ---------------------------
    def start(self, config: dict, protocol: str | None = None) -> dict:
        """A new run of ``config`` under ``protocol`` (by name; the session's current one when
        None): switching protocol (a preset) starts a new run, whose snapshot brings the page
        the new manifest."""
        name = self.protocol if protocol is None else _protocol_name(protocol)
        cfg = _config(lambda: Config.from_dict(config))
        self._check_run_config(cfg)
        sim = _config(lambda: Simulation(cfg, name))
        self.checkpoints = Checkpoints()
        self.protocol = name
        self._begin(cfg, sim, [])
        self.playing = not self.finished  # the new epoch's snapshot says so; no frame needed
        return {"epoch": self.epoch}

    def reset(self, seed: int | None = None) -> dict:
        cfg = self.sim.config if seed is None else replace(self.sim.config, seed=seed)
        self.checkpoints = Checkpoints()
        self._begin(cfg, Simulation(cfg, self.protocol), [])
        self.playing = False
        return {"epoch": self.epoch}

    def pause(self) -> dict:
        self.until = None  # a pause by hand ends a play_until too
        self.playing = False
        self.dirty = True
        return {}

    def resume(self) -> dict:
        if self.finished:
            raise E.ProtocolError(E.INVALID_STATE, "the run is over; reset or start a new one")
        self.playing = True
        self.last_tick = self.clock()
        self.dirty = True
        return {}

    def play_until(self, spec: dict) -> dict:
        """Play until the first event that ``spec`` matches (or its time bound), then pause."""
        until = _config(lambda: parse_until(spec, self.sim.protocol.event_types))
        if self.finished:
            raise E.ProtocolError(E.INVALID_STATE, "the run is over; reset or start a new one")
        self.resume()
        self.until = until
        return {}

    def set_speed(self, speed: float) -> dict:
        self.speed = float(speed)
        self.dirty = True
        return {"speed": self.speed}

    def step(self) -> dict:
        if self.playing:
            raise E.ProtocolError(E.INVALID_STATE, "pause before stepping")
        if self.finished:
            raise E.ProtocolError(E.INVALID_STATE, "the run is over; nothing left to step")
        events = self.sim.step()
        self._take(events)
        self._check_limits()
        self.dirty = True
        return {"seq": self.sim.seq, "events": len(events)}

    def configure(self, changes: dict) -> dict:
        self._check_live_changes()
        self._take(_config(lambda: self.sim.configure(changes)))
        self.config_changed = self.dirty = True
        return {"seq": self.sim.seq}

    def inject(self, action: dict) -> dict:
        self._check_live_changes()
        payload = action.get("spec", action)
        try:
            self._take(_config(lambda: self.sim.inject(payload)))
        except E.ProtocolError as exc:
            if "spec" in action:
                exc.field = "spec"  # the client sent a spec; name its field
            raise
        self.dirty = True
        return {"seq": self.sim.seq}

    def step_back(self, to_seq: int | None = None) -> dict:
        """Rebuild the run as it was just after event ``to_seq``; a new epoch, paused."""
        wait = self.replay_budget.wait_s()
        if wait > 0:
            raise E.ProtocolError(E.RATE_LIMITED, f"stepping back replays the run; this session "
                                  f"replayed a lot lately: try again in {wait:.1f} s")
        self._flush()
        self.outbox = []  # superseded by the new epoch's snapshot
        seq = self.sim.seq
        if to_seq is None:
            if seq == 0:
                raise E.ProtocolError(E.INVALID_STATE, "nothing to step back over")
            first = self.window.start_of_last_instant()
            to_seq = (seq if first is None else first) - 1
        elif to_seq > seq:
            raise E.ProtocolError(E.INVALID_VALUE, f"to_seq must be at most {seq}", "to_seq")
        base, log = self.base_config, list(self.sim.log)
        kept = [e for e in self.window.events() if e["seq"] <= to_seq]
        want = min(self.settings.events_kept, to_seq)
        fill = 0 if len(kept) >= want else want  # too few kept: rebuild the recent ones too
        sim, again = self._rebuild(base, log, to_seq, fill, self.checkpoints.frozen_before(to_seq),
                                   self.checkpoints.frozen_before(to_seq - fill) if fill else None)
        if again:
            kept = again
        recent = kept[-want:] if want else []
        self.checkpoints.drop_after(to_seq)
        self._begin(base, sim, recent)
        self.playing = False
        return {"epoch": self.epoch, "seq": sim.seq}

    def open_run(self, text: str, position: int | None = None) -> dict:
        """Take over the run a run specification names (a share link, or a lesson's run opened
        in the explorer): rebuilt by replay to its position (``position``, if given, instead of
        the text's); a new epoch, paused."""
        spec = _config(lambda: RunSpec.from_text(text))
        if position is not None:
            spec = replace(spec, position=position)
        self._check_run_config(spec.config)
        if len(spec.log) > self.settings.max_live_changes:
            raise E.ProtocolError(E.RUN_LIMIT, f"a run may hold at most "
                                  f"{self.settings.max_live_changes} live changes", "run")
        if spec.position is not None and spec.position > self.settings.max_run_events:
            raise E.ProtocolError(E.RUN_LIMIT, f"position must be at most "
                                  f"{self.settings.max_run_events} here", "run")
        wait = self.replay_budget.wait_s()
        if wait > 0:
            raise E.ProtocolError(E.RATE_LIMITED, f"opening a run replays it; this session "
                                  f"replayed a lot lately: try again in {wait:.1f} s")
        self._flush()
        self.outbox = []
        sim, recent = _config(lambda: self._rebuild(spec.config, list(spec.log), spec.position,
                                                    self.settings.events_kept, None, None,
                                                    spec.protocol))
        if spec.position is not None and sim.seq != spec.position:
            raise E.ProtocolError(E.INVALID_VALUE, f"the run ends at event {sim.seq}, before "
                                  f"its position {spec.position}", "run")
        if spec.log and spec.log[-1]["at_seq"] > sim.seq:
            raise E.ProtocolError(E.INVALID_VALUE, "a change comes after the end of the run",
                                  "run")
        self.checkpoints = Checkpoints()
        self.protocol = spec.protocol
        self._begin(spec.config, sim, recent or [])
        self.playing = False
        return {"epoch": self.epoch, "seq": sim.seq}

    def _rebuild(self, base: Config, log: list[dict], to_seq: int | None, fill: int,
                 start: bytes | None, fill_start: bytes | None, protocol: str | None = None):
        """Replay ``(base, log)`` (under ``protocol``, the session's when None) to ``to_seq``,
        and its last ``fill`` events: in a worker process, unless the run it gives back is too
        big to read back in one go."""
        job = (base, log, to_seq, fill, start, fill_start, protocol or self.protocol)
        here = getattr(self.offload, "here", None)
        if here is None:  # replays run in this process
            return self._replaying(replay_to, *job)
        frozen, again, load_s = self._replaying(rebuild, *job)
        if load_s <= self.settings.max_loop_pause_s:
            return thaw(frozen), again
        return self._replaying(replay_to, *job, offload=here)

    def _replaying(self, fn, *args, offload: Callable | None = None):
        """Run replay work off the event loop (a worker process, by default), and charge the
        time it took (not the time it waited for its turn) to this session."""
        started = time.perf_counter()
        spent = None
        try:
            value, spent = (offload or self.offload)(fn, *args)
            return value
        finally:
            self.replay_budget.charge(time.perf_counter() - started if spent is None else spent)

    def _check_live_changes(self) -> None:
        limit = self.settings.max_live_changes
        if len(self.sim.log) >= limit:
            raise E.ProtocolError(E.RUN_LIMIT, f"this run already has {limit} live changes; "
                                  "reset or start a new run to change more")

    def _check_run_config(self, cfg: Config) -> None:
        if cfg.messages > self.settings.max_run_messages:
            raise E.ProtocolError(
                E.RUN_LIMIT, f"messages must be at most {self.settings.max_run_messages} here",
                "messages")

    # --- connections ------------------------------------------------------------------------
    def attach(self, sid: str) -> None:
        if not self.sids:  # simulated time stood still while nobody watched
            self.last_tick = self.clock()
        self.sids.add(sid)  # (a viewer more takes nothing from those already watching)
        self.detached_since = None

    def detach(self, sid: str) -> None:
        self.sids.discard(sid)
        if not self.sids:
            self.detached_since = self.clock()


def _config(call):
    try:
        return call()
    except ConfigError as exc:
        raise E.ProtocolError(E.INVALID_VALUE, exc.message, exc.field) from None


def _protocol_name(name) -> str:
    """A protocol a run may name (an alias such as ``plain`` taken to its name), or a refusal
    naming the field."""
    from simulator import protocols

    try:
        return protocols.get(name).name
    except (KeyError, TypeError):
        raise E.ProtocolError(E.INVALID_VALUE, "protocol must be one of "
                              f"{', '.join(protocols.names())}", "protocol") from None
