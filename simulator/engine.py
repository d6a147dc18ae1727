"""The simulation: a deterministic, step-able event loop over producer, network and consumer.

Happenings wait in a heap keyed (time, priority, order), so ties resolve the same way every run;
each entry names its action and a version token (see ``agenda.py``), and a cancelled or
replaced happening is skipped without a trace. ``step()`` runs happenings until at least one
event is emitted. Events are made by the builders of ``events.py`` and counted (``tally``) as
they are made; their sentences are written only where they leave the simulation (the public
methods below, and a replay's sink), or never for a run made with ``narrate=False``. Live
changes (``configure``, ``inject``) are recorded in ``log`` with the seq of the last event before
them, so ``Simulation.replay`` rebuilds any earlier point from the config and the log, from the
start or from a ``checkpoint()`` copy taken on the way. The simulation does not keep the events
it emitted.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count

from . import counting, protocols
from . import events as E
from .agenda import ROUNDER, Timer
from .config import Config, ConfigError
from .faults import parse_fault
from .narrate import count as _count
from .network import Network
from .protocol import Protocol
from .rng import Fate
from .summary import Tally

INF = float("inf")


class Simulation:
    def __init__(self, config: Config | None = None, protocol: str | Protocol | None = None,
                 narrate: bool = True, counts_only: bool = False):
        config = Config() if config is None else config
        if not isinstance(config, Config):
            raise ConfigError("config", "must be a Config")
        config = Config.from_dict(config.to_dict())  # validates every field
        if not isinstance(protocol, Protocol):
            try:
                protocol = protocols.get(protocol)
            except KeyError:
                raise ConfigError("protocol", f"unknown protocol {protocol!r}; known: "
                                              f"{', '.join(protocols.names())}") from None
        self.protocol = protocol
        self.options = protocol.resolve_options(config)  # its own settings, defaults filled in
        self.config = config
        # counts_only: a summary-only run (``counting.py``): the same model and happenings, its
        # counters kept, but no event is ever made; it is run to its end with ``finish()``
        self.counts_only = bool(counts_only)
        self.build = counting if self.counts_only else E  # the builders the model calls
        if self.counts_only:  # nothing to step through or hand out: only finish() runs it
            self.step = self.run_until = self._makes_no_events
        self.narrating = bool(narrate) and not self.counts_only  # False: text None
        self.topology = protocol.topology(config)
        self.fate = Fate(config.seed)
        self.now = 0.0
        self.log: list[dict] = []
        self._last = 0  # seq of the last event made
        self.heap: list[tuple] = []  # (time, priority, order, action, token, version)
        self.order = count(1).__next__  # scheduling order: the last tie-break
        self._timer_token = 0
        self._out: list[dict] = []
        self._backlog: list[dict] = []  # events made but not yet handed out (replay split)
        self._sink: Callable[[list[dict]], None] | None = None  # sees a replay's events
        self.tally = Tally(protocol.event_types)
        self._counts = self.tally.counts
        self.network = Network(self)
        self.nodes = protocol.build_nodes(self)
        for i, spec in enumerate(config.faults):
            try:
                fault = self.parse_fault(spec)
            except ValueError as exc:
                raise ConfigError(f"faults[{i}]", str(exc)) from None
            if fault.is_node_fault:
                self.schedule_node_fault(fault)
            else:
                self.network.add_fault(fault)
        protocol.start(self)

    # --- the loop -----------------------------------------------------------------------------
    @property
    def seq(self) -> int:
        return self._last - len(self._backlog)

    def schedule(self, t: float, priority: int, action, token, version: int) -> None:
        """Run ``action(token, version)`` at ``t`` while ``token.version == version``."""
        y = t * 1000.0  # t = round_ms(t), spelled out: most happenings are scheduled here
        if 0.0 < y < 1e12:
            n = (y + ROUNDER) - ROUNDER
            t = n / 1000.0 if -0.49 < y - n < 0.49 else round(t, 3)
        else:
            t = round(t, 3)
        heappush(self.heap, (t, priority, self.order(), action, token, version))

    def arm_timer(self, delay: float, action, token) -> int:
        """Schedule ``action`` after ``delay`` under a fresh number; the caller's ``token``
        reports the number it still waits for as its ``version``. Returns the number."""
        self._timer_token += 1
        self.schedule(self.now + delay, 3, action, token, self._timer_token)
        return self._timer_token

    def parse_fault(self, spec):
        """A fault spec in this run's names: its protocol's packet kinds, its crashable nodes
        and its hops (``faults.parse_fault``)."""
        return parse_fault(spec, self.protocol.packet_kinds, self.topology.crashable,
                           self.topology.hops)

    def schedule_node_fault(self, fault) -> None:
        self.schedule(fault.at, 0, self._on_node_fault, Timer(fault), 0)

    def emit(self, type_, lane, text, msg, packet, attempt, cause, extra=None) -> int:
        """Make an event of a type the protocol adds (``events.event``); returns its seq. The
        classic model's events have builders of their own in ``events.py``."""
        return self.build.event(self, type_, lane, text, msg, packet, attempt, cause, extra)

    def _told(self, events: list[dict]) -> list[dict]:
        """Events leaving the simulation: their sentences written (or None if not narrated)."""
        return E.tell(events) if self.narrating else E.mute(events)

    def _peek(self) -> tuple | None:
        heap = self.heap
        while heap:
            entry = heap[0]
            if entry[4].version == entry[5]:
                return entry
            heappop(heap)
        return None

    def _run(self, limit: float, one: bool) -> list[dict]:
        """Run happenings up to time ``limit``; with ``one`` stop once something was emitted."""
        out = self._out = []
        heap = self.heap
        while heap:
            entry = heap[0]
            if entry[0] > limit:
                break
            heappop(heap)
            t, _, _, action, token, version = entry
            if token.version != version:
                continue
            if t > self.now:
                self.now = t
            action(token, version)
            if one and out:
                break
        self._out = []
        return out

    def _hand_out(self, events: list[dict]) -> list[dict]:
        """Events made now were counted as they were made; a held-back backlog is counted again
        as it goes out first."""
        if self._backlog:
            self.tally.add(self._backlog)
            events = self._backlog + events
            self._backlog = []
        return events

    # --- the public step API ------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return not self._backlog and self._peek() is None

    def next_time(self) -> float | None:
        if self._backlog:
            return self.now
        entry = self._peek()
        return None if entry is None else entry[0]

    def step(self) -> list[dict]:
        if self._backlog:
            return self._told(self._hand_out([]))
        # _run(INF, True), spelled out: this is the loop every event goes through.
        out = self._out = []
        heap = self.heap
        while heap:
            t, _, _, action, token, version = heappop(heap)
            if token.version != version:
                continue
            if t > self.now:
                self.now = t
            action(token, version)
            if out:
                break
        self._out = []
        if self.narrating:  # events.tell, spelled out
            for ev in out:
                words = ev["text"]
                if words.__class__ is tuple:
                    ev["text"] = words[0](*words[1:])
        else:
            for ev in out:
                ev["text"] = None
        return out

    def _makes_no_events(self, *args, **kwargs):
        raise ValueError("a summary-only run (counts_only) makes no events to step through or "
                         "hand out: run it with finish() and read summary()")

    def finish(self) -> None:
        """Run every happening left, handing nothing out: how a summary-only run (``counts_only``)
        gets to its end, whose ``summary()`` then equals the full run's. A run that never ends
        (``messages`` 0) is refused."""
        if self.config.messages == 0:
            raise ConfigError("messages", "a run to its end needs a number of messages (0 "
                                          "keeps sending for ever)")
        self._hand_out([])  # (a replay's held-back events count again)
        self._run(INF, False)

    def run_until(self, t: float) -> list[dict]:
        events = self._hand_out(self._run(t, False))
        if t > self.now:
            self.now = float(t)
        return self._told(events)

    def run_until_event(self, until, max_events: int = 100_000) -> tuple[list[dict], bool]:
        """Play until the first event ``until`` (an ``until.Until``) matches, or its time bound,
        or ``max_events``; return the events up to and including the match, and whether it
        matched. Events of the same happening after the match are held back for ``step()``."""
        out: list[dict] = []
        while len(out) < max_events:
            if until.t is not None and (self.next_time() is None or self.next_time() > until.t):
                out += self.run_until(max(until.t, self.now))
                break
            self.tally.mark()
            events = self.step()
            if not events:
                break
            kept = self.cut_after_match(events, until)
            if kept is not None:
                return out + kept, True
            out += events
        return out, False

    def cut_after_match(self, events: list[dict], until) -> list[dict] | None:
        """If an event of ``events`` (the batch just made, after ``tally.mark()``) matches
        ``until``, hold back the ones after it for the next step and return those up to it;
        else None."""
        i = until.first(events)
        if i is None:
            return None
        if i + 1 < len(events):
            self._hold_back(events[:i + 1], events[i + 1:])
        return events[:i + 1]

    def run(self, max_events: int | None = None) -> list[dict]:
        if max_events is None and self.config.messages == 0:
            raise ValueError("a run that keeps sending never ends: give max_events")
        out: list[dict] = []
        while max_events is None or len(out) < max_events:
            events = self.step()
            if not events:
                break
            out.extend(events)
        return out

    # --- happenings ---------------------------------------------------------------------------
    def node_up(self, node: str) -> bool:
        return self.nodes[node].up

    def retopologise(self) -> None:
        """The settings changed: the protocol builds the topology again, the network takes
        its links."""
        self.topology = self.protocol.topology(self.config)
        self.network.configure(self.topology)

    def on_arrive(self, pkt, _version) -> None:
        net = self.network
        if pkt.delay:
            delay, pkt.delay = pkt.delay, 0.0
            self.build.fault_injected(self, pkt.fault, pkt)
            net.reschedule(pkt, self.now + delay)
            return
        node = self.nodes[pkt.dst]
        if pkt.doomed or not node.up:
            net.drop(pkt, "node_down")
            return
        del net.inflight[pkt.id]
        node.on_packet(pkt)

    def on_drop(self, pkt, _version) -> None:
        cause = None
        reason = "loss"
        if pkt.fault is not None:
            reason = "scheduled"
            cause = self.build.fault_injected(self, pkt.fault, pkt)
        self.network.drop(pkt, reason, cause)

    def _on_node_fault(self, timer, _version) -> None:
        fault = timer.payload
        self._node_action(fault.action, fault.node, fault.spec, by_hand=False)

    def _node_action(self, action: str, node: str, spec: str, by_hand: bool) -> None:
        """Crash or restart ``node`` now: a scheduled fault, or a live injection (``by_hand``)."""
        up = self.node_up(node)
        effective = up if action == "crash" else not up
        seq = self.build.fault_injected(self, spec, node=node, by_hand=by_hand, effective=effective)
        if not effective:
            return
        behaviour = self.nodes[node]
        if action == "crash":
            lost, notes = behaviour.crash()
            n = self.network.doom_to(node)
            if n:
                lost.append(f"{_count(n, 'packet')} on their way to it")
            behaviour.after_crash(self.build.crash(self, node, seq, lost, notes))
        else:
            behaviour.restart()
            self.build.restart(self, node, seq)

    # --- live changes -------------------------------------------------------------------------
    def _begin_live(self, op: str, payload) -> list[dict]:
        """Hand out a pending backlog, then record the live change in the log."""
        before = self._hand_out([]) if self._backlog else []
        self.log.append({"at_seq": self.seq, "t": self.now, "op": op,
                         "payload": copy.deepcopy(payload)})
        self._out = []
        return before

    def configure(self, changes: dict) -> list[dict]:
        return self._told(self._configure(changes))

    def inject(self, action) -> list[dict]:
        return self._told(self._inject(action))

    def _configure(self, changes: dict) -> list[dict]:
        """``configure``, its events not yet told (a replay tells only those it hands on)."""
        new = self.config.with_changes(changes, live=True)
        before = self._begin_live("configure", changes)
        from .live import changes_between

        self.protocol.apply_config(self, new, changes_between(self.config, new))
        out, self._out = self._out, []
        return before + self._hand_out(out)

    def _inject(self, action) -> list[dict]:
        from .live import apply_inject, check_inject

        check_inject(self, action)
        before = self._begin_live("inject", action)
        apply_inject(self, action)
        out, self._out = self._out, []
        return before + self._hand_out(out)

    # --- reading the state (the protocol knows what it means) --------------------------------
    def summary(self) -> dict:
        return self.protocol.summary(self)

    def in_play(self) -> int:
        """Messages sent whose story is not over yet (see the protocol's ``in_play``)."""
        return self.protocol.in_play(self)

    def view(self) -> dict:
        return self.protocol.view(self)

    def manifest(self) -> dict:
        return self.protocol.manifest(self.config)

    # --- checkpoints and replay ----------------------------------------------------------------
    def weight(self) -> int:
        """How much state a checkpoint copies, roughly, in objects (the per-message arrays
        count one per 50 message ids)."""
        weight = getattr(self.protocol, "weight", None)
        return (len(self.heap) + len(self.network.inflight)
                + (weight(self) if weight is not None else 0))

    def checkpoint(self) -> Simulation:
        """An independent copy of the run as it stands, to replay on from later
        (``replay(..., start=copy)``). Its ``log`` holds the live changes applied so far."""
        return pickle.loads(self.frozen())

    def frozen(self) -> bytes:
        """The run as it stands, as bytes (``pickle.loads`` gives it back): a checkpoint that
        costs the garbage collector nothing while it is kept."""
        if self._backlog or self._out or self._sink is not None:
            raise ValueError("a checkpoint is taken between steps")
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["order"] = self.order.__self__.__reduce__()[1][0]  # itertools.count's next value
        for name in ("build", "step", "run_until"):  # a module, or (counts_only) refusals
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.build = counting if self.counts_only else E
        if self.counts_only:
            self.step = self.run_until = self._makes_no_events
        self.order = count(state["order"]).__next__
        self.network._order = self.order

    @classmethod
    def replay(cls, config: Config, log: list[dict], until_seq: int | None = None,
               sink: Callable[[list[dict]], None] | None = None,
               start: Simulation | None = None,
               protocol: str | Protocol | None = None, narrate: bool = True) -> Simulation:
        """Rebuild a run from its config and live log; stop exactly after event ``until_seq``.

        ``sink``, if given, sees every event as the replay makes it, told (a batch may run past
        ``until_seq``; those events are held back for the next ``step()``); without a sink the
        replayed events are thrown away and never narrated. ``start``, if given, is a
        ``checkpoint()`` of the same run at or before ``until_seq``, taken over: the replay
        goes on from it, applying the live changes it has not seen. ``protocol`` names the
        run's protocol (the classic model when None); ``narrate`` whether the rebuilt run
        tells its events from then on.
        """
        sim = cls(config, protocol, narrate) if start is None else start
        sim.narrating = bool(narrate)
        told = sim._told
        return sim._replay_log(log, until_seq,
                               None if sink is None else lambda events: sink(told(events)))

    def _replay_log(self, log: list[dict], until_seq: int | None,
                    sink: Callable[[list[dict]], None] | None) -> Simulation:
        """``replay`` on this run (new, or a checkpoint: the live changes of ``log`` it has
        not seen yet); ``sink`` sees the events as they are made, not yet told."""
        self._sink = sink
        try:
            for entry in log[len(self.log):]:
                at = entry["at_seq"]
                if until_seq is not None and at >= until_seq:
                    break
                self._advance_to(at)
                self.now = max(self.now, float(entry["t"]))
                self.tally.mark()
                if entry["op"] == "configure":
                    made = self._configure(entry["payload"])
                elif entry["op"] == "inject":
                    made = self._inject(entry["payload"])
                else:
                    raise ConfigError("log", f"unknown op {entry['op']!r}")
                if sink is not None:
                    sink(made)
                if until_seq is not None and self.seq > until_seq:  # stop inside the live change
                    cut = until_seq - self.seq
                    self._hold_back(made[:cut], made[cut:])
                    return self
            if until_seq is not None:
                self._advance_to(until_seq)
            return self
        finally:
            self._sink = None

    @classmethod
    def replay_events(cls, config: Config, log: list[dict], after: int,
                      until: int, start: Simulation | None = None,
                      protocol: str | Protocol | None = None) -> list[dict]:
        """The events ``after < seq <= until`` of the run ``(config, log)``, rebuilt by replay
        (from ``start``, a checkpoint at or before ``after``, if given), told; the events
        before them are thrown away untold."""
        out: list[dict] = []

        def keep(events: list[dict]) -> None:
            for ev in events:
                seq = ev["seq"]
                if after < seq <= until and (not out or seq > out[-1]["seq"]):
                    out.append(ev)

        sim = cls(config, protocol) if start is None else start
        sim._replay_log(log, until, keep)
        return E.tell(out)

    def _hold_back(self, kept: list[dict], events: list[dict]) -> None:
        """Take back ``events``, the last ones handed out (``kept`` are those of the same batch
        before them); the next ``step()`` hands them out again."""
        self.tally.remove(kept, events)
        self._backlog = events + self._backlog

    def _advance_to(self, target: int) -> None:
        """Run until event ``target`` was made; keep any later events of that happening back."""
        if self._backlog and self.seq < target:
            self._hand_out([])
        while self.seq < target:
            self.tally.mark()
            events = self._run(INF, True)
            if not events:
                break
            if self._sink is not None:
                self._sink(events)
            if self._last > target:
                cut = target - self._last
                self._hold_back(events[:cut], events[cut:])

