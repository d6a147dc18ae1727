"""Checkpoints: a run rebuilt from a copy taken on the way equals the run rebuilt from t = 0."""

from __future__ import annotations

import pickle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import EVENT_CAP, configs

from simulator import Config, Simulation
from simulator.checkpoints import Checkpoints


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.lists(st.floats(0, 1), min_size=1, max_size=4))
def test_a_replay_from_a_checkpoint_is_the_replay_from_the_start(config, points):
    sim = Simulation(config)
    book = Checkpoints(every=7, keep=4, spacing=0)
    events = []
    while True:
        batch = sim.step()
        if not batch or len(events) > EVENT_CAP:
            break
        events += batch
        book.offer(sim)
    for point in points:
        k = min(len(events), int(point * len(events)) + 1)
        start = book.before(k)
        rebuilt = Simulation.replay(config, [], until_seq=k, start=start)
        assert rebuilt.seq == k
        assert rebuilt.summary() == Simulation.replay(config, [], until_seq=k).summary()
        assert rebuilt.run(max_events=EVENT_CAP) == events[k:]


def test_a_checkpoint_carries_the_live_changes_made_before_it():
    config = Config(messages=120, seed=5)
    sim = Simulation(config)
    sim.run_until(8000)
    sim.configure({"semantics": "exactly-once"})
    copy = sim.checkpoint()
    sim.run_until(20000)
    sim.configure({"ordering": "sequence"})
    rest = sim.run()
    resumed = Simulation.replay(config, sim.log, until_seq=copy.seq, start=copy)
    out = []
    for entry in sim.log[1:]:
        while resumed.seq < entry["at_seq"]:
            out += resumed.step()
        resumed.now = max(resumed.now, entry["t"])
        out += resumed.configure(entry["payload"])
    out += resumed.run()
    assert out[-len(rest):] == rest


def test_copies_are_independent_and_the_kept_one_serves_again():
    sim = Simulation(Config(messages=60))
    sim.run_until(6000)
    book = Checkpoints(every=1, keep=8, spacing=0)
    assert book.offer(sim)
    first = book.before(sim.seq)
    first.run()
    second = book.before(sim.seq)
    assert second.seq == sim.seq and second.run() == sim.run()


def test_a_long_run_keeps_a_bounded_number_spread_over_its_length():
    sim = Simulation(Config(messages=3000, seed=2))
    book = Checkpoints(every=500, keep=8)
    while sim.step():
        book.offer(sim)
    assert 4 <= len(book) <= 8 and book.every > 500
    assert book._seqs[-1] > sim.seq / 2
    book.drop_after(book._seqs[2])
    assert len(book) == 3


def test_a_run_pickles_from_its_seed():
    sim = Simulation(Config(messages=30))
    sim.run_until(3000)
    copy = pickle.loads(pickle.dumps(sim.fate))
    assert copy.draws(1, 2, 3) == sim.fate.draws(1, 2, 3)


def test_a_run_with_much_state_is_copied_less_often():
    """A retry storm (thousands of messages waiting) would spend its time copying itself."""
    storm = Simulation(Config(messages=0, interval=1, latency_min=1, latency_max=2, timeout=5))
    calm = Simulation(Config(messages=3000))
    books = {}
    for name, sim in (("storm", storm), ("calm", calm)):
        book = books[name] = Checkpoints(every=500)
        while sim.seq < 30000 and sim.step():
            book.offer(sim)
    assert storm.weight() > 1000 > calm.weight()
    assert len(books["storm"]) < len(books["calm"]) / 4
