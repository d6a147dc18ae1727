"""Events are made by one builder per type, and told (their sentence written) only where they
leave the simulation: a replay to a position, whose events are thrown away, writes none."""

from __future__ import annotations

import ast
import inspect
import json
import pickle
from pathlib import Path

import pytest
import toy_relay  # noqa: F401  (registers the "relay" protocol)
from simhelpers import calm
from test_sim_events import SCENARIOS

from simulator import EVENT_TYPES, Config, Simulation, narrate
from simulator import events as E
from simulator.until import parse_until

ROOT = Path(__file__).resolve().parent.parent

# Narrate functions that word a part of a crash's sentence when the crash happens (what it
# lost); every other public one is the first of an event's words, called only when it is told.
PARTS = {"count", "crash_in_window", "reorder_back_to"}

BUSY = {"semantics": "exactly-once", "ordering": "sequence", "messages": 40, "seed": 11,
        "loss": 0.3, "ack_loss": 0.2, "duplicate": 0.2, "process_fail": 0.1,
        "gap_timeout": 1500, "latency_max": 2500, "dedup_window": 5,
        "faults": ["drop:data:3", "duplicate:data:5", "delay:ack:2:+900", "duplicate:ack:4",
                   "crash:consumer@3000", "restart:consumer@3600"]}
LIVE = [(30, "configure", {"ordering": "state-machine"}),
        (60, "inject", {"action": "crash", "node": "producer"}),
        (75, "inject", {"action": "restart", "node": "producer"}),
        (120, "configure", {"semantics": "at-least-once", "ordering": "none", "loss": 0.5})]


def live_run(config: Config, narrate_: bool = True) -> tuple[Simulation, list[dict]]:
    """``config`` played with the live changes of ``LIVE``; the whole stream."""
    sim = Simulation(config, narrate=narrate_)
    events: list[dict] = []
    for at, op, payload in LIVE:
        while sim.seq < at:
            events += sim.step()
        events += sim.configure(payload) if op == "configure" else sim.inject(payload)
    return sim, events + sim.run()


@pytest.fixture
def told(monkeypatch):
    """Count the sentences written, by narrate function."""
    calls: dict[str, int] = {}
    for name, fn in inspect.getmembers(narrate, inspect.isfunction):
        if name.startswith("_") or name in PARTS or fn.__module__ != narrate.__name__:
            continue

        def counted(*args, _fn=fn, _name=name, **kwargs):
            calls[_name] = calls.get(_name, 0) + 1
            return _fn(*args, **kwargs)

        monkeypatch.setattr(narrate, name, counted)
    return calls


def test_every_event_type_has_exactly_one_builder():
    assert set(E.BUILDERS) == set(EVENT_TYPES)
    assert all(callable(b) and b.__module__ == E.__name__ for b in E.BUILDERS.values())


def test_no_event_is_put_together_outside_the_builders():
    """Only ``simulator/events.py`` writes an event as a dict literal (one with "seq" and
    "type" keys)."""
    for path in sorted((ROOT / "simulator").rglob("*.py")):
        if path == ROOT / "simulator" / "events.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                assert not {"seq", "type"} <= keys, f"{path.name}:{node.lineno}"


def test_each_event_is_made_by_the_builder_of_its_type(monkeypatch):
    made: list[tuple[str, list[str]]] = []
    for name, builder in set((b.__name__, b) for b in E.BUILDERS.values()):
        def wrapped(sim, *args, _b=builder, _name=name, **kwargs):
            before = len(sim._out)
            seq = _b(sim, *args, **kwargs)
            made.append((_name, [ev["type"] for ev in sim._out[before:]]))
            return seq

        monkeypatch.setattr(E, name, wrapped)
    seen = set()
    for scenario in SCENARIOS:
        for ev in scenario():
            seen.add(ev["type"])
    assert seen == set(EVENT_TYPES)
    by_type: dict[str, set[str]] = {}
    for name, types in made:
        assert len(types) == 1, (name, types)
        by_type.setdefault(types[0], set()).add(name)
    assert by_type == {t: {E.BUILDERS[t].__name__} for t in EVENT_TYPES}


def test_a_replay_to_a_position_writes_no_sentence(told):
    sim, events = live_run(Config.from_dict(BUSY))
    assert told and sum(told.values()) == len(events)  # one sentence per event handed out
    told.clear()
    for k in (1, 25, 61, 121, len(events) - 3):
        rebuilt = Simulation.replay(sim.config, sim.log, until_seq=k)
        assert rebuilt.seq == k
    assert told == {}
    copy = Simulation.replay(sim.config, sim.log, until_seq=40)
    if copy._backlog:
        copy.step()
    told.clear()
    Simulation.replay(sim.config, sim.log, until_seq=150, start=copy.checkpoint())
    assert told == {}


def test_replayed_slices_tell_only_the_events_they_keep(told):
    sim, events = live_run(Config.from_dict(BUSY))
    told.clear()
    again = Simulation.replay_events(Config.from_dict(BUSY), sim.log, 100, 130)
    assert again == events[100:130]
    assert sum(told.values()) == 30


def test_events_handed_out_carry_the_sentence_their_words_make():
    """Whatever way an event leaves the simulation, its text is the sentence, written from the
    words its builder kept: the same as a straight run's."""
    config = Config.from_dict(BUSY)
    sim, events = live_run(config)
    for ev in events:
        assert isinstance(ev["text"], str) and ev["text"]
    # a replay's sink, a replayed slice, and the events a replay held back for the next step
    seen: list[dict] = []
    rebuilt = Simulation.replay(config, sim.log, until_seq=77, sink=seen.extend)
    assert [e for e in seen if e["seq"] <= 77] == events[:77]
    assert all(isinstance(e["text"], str) for e in seen)
    more: list[dict] = []
    while rebuilt.seq < 110:  # the next live change comes at 120
        more += rebuilt.step()
    assert more == events[77:77 + len(more)]
    last = sim.log[-1]["at_seq"]
    for k in [*range(1, sim.log[0]["at_seq"]), *range(last + 1, last + 90, 3)]:
        rebuilt = Simulation.replay(config, sim.log, until_seq=k)
        assert rebuilt.step()[0] == events[k]
    # run_until and run_until_event, against a run without live changes
    plain = Simulation(config).run()
    straight = Simulation(config)
    until = straight.run_until(2000.0)
    got, matched = straight.run_until_event(parse_until({"type": "gap_skip"}))
    assert matched and until + got == plain[:len(until) + len(got)]


def test_held_back_events_pickle_with_their_words():
    """A replay that stops inside a happening holds the rest back untold; the run pickles
    (as a server ships a rebuilt run from another process) and tells them after."""
    config = Config.from_dict(BUSY)
    _, events = live_run(config)
    sim = Simulation(config)
    log = live_run(config)[0].log
    cuts = 0
    for k in range(1, 200):
        rebuilt = Simulation.replay(config, log, until_seq=k)
        if not rebuilt._backlog:
            continue
        cuts += 1
        assert any(isinstance(ev["text"], tuple) for ev in rebuilt._backlog)
        thawed = pickle.loads(pickle.dumps(rebuilt, protocol=pickle.HIGHEST_PROTOCOL))
        assert thawed.step() == events[k:k + len(rebuilt._backlog)]
    assert cuts, "no replay stopped inside a happening"
    assert sim.seq == 0


def test_a_run_nobody_reads_makes_the_same_events_without_sentences(told):
    config = Config.from_dict(BUSY)
    told.clear()
    quiet_sim, quiet = live_run(config, narrate_=False)
    assert told == {}
    _, events = live_run(config)
    assert len(quiet) == len(events)
    for q, ev in zip(quiet, events, strict=True):
        assert q["text"] is None
        assert list(q) == list(ev)
        assert {**q, "text": ev["text"]} == ev
    replayed = Simulation.replay(config, quiet_sim.log, narrate=False)
    replayed.run()
    assert quiet_sim.summary() == replayed.summary()
    json.dumps(quiet)


def test_a_quiet_replay_stays_quiet_and_a_told_one_tells(told):
    config = calm(messages=20, loss=0.3, seed=4)
    told.clear()
    sim = Simulation.replay(config, [], until_seq=10, narrate=False)
    assert all(ev["text"] is None for ev in sim.run())
    assert told == {}
    sim = Simulation.replay(config, [], until_seq=10)
    assert all(isinstance(ev["text"], str) for ev in sim.run())


def test_another_protocols_finished_sentences_pass_unchanged():
    """A protocol's own events may carry a finished sentence (``Simulation.emit``,
    ``Network.transmit``): told as they are, or None when the run is not narrated."""
    config = calm(messages=4, loss=0.0)
    events = Simulation(config, "relay").run()
    assert {"send", "forward", "deliver"} <= {e["type"] for e in events}
    assert all(isinstance(e["text"], str) for e in events)
    assert events[0]["text"] == "The producer sends message 1 to the relay."
    assert all(e["text"] is None for e in Simulation(config, "relay", narrate=False).run())
