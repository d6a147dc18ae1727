"""The run specification names a run exactly, as an object and as a URL-safe text."""

from __future__ import annotations

import re

import pytest

from simulator import Config, ConfigError, Simulation
from simulator.runspec import RunSpec


def _a_run_with_changes():
    base = Config(seed=11, messages=30, semantics="exactly-once")
    sim = Simulation(base)
    events = sim.run_until(3000)
    events += sim.configure({"ordering": "sequence", "loss": 0.4})
    events += sim.inject({"action": "crash", "node": "consumer"})
    events += sim.run_until(3500)
    events += sim.inject("restart:consumer@4000")
    events += sim.run()
    return base, sim, events


def test_a_run_rebuilt_from_its_text_makes_the_same_events():
    base, sim, events = _a_run_with_changes()
    text = RunSpec.from_run(base, sim.log).to_text()
    assert re.fullmatch(r"v1\.[jz][A-Za-z0-9_-]+", text), "URL-safe, versioned"
    assert text.startswith("v1.z"), "a long run is deflated"
    rebuilt = RunSpec.from_text(text)
    assert rebuilt.config == base and list(rebuilt.log) == sim.log
    made: list[dict] = []
    again = Simulation.replay(rebuilt.config, list(rebuilt.log), sink=made.extend)
    made += again.run()
    assert made == events


def test_a_position_names_a_point_in_the_run():
    base, sim, events = _a_run_with_changes()
    spec = RunSpec.from_run(base, sim.log, position=120)
    at = RunSpec.from_text(spec.to_text()).build()
    assert at.seq == 120 and at.run() == events[120:]


def test_a_default_run_is_a_short_text_and_only_changed_settings_are_written():
    assert RunSpec().to_dict() == {"v": 1, "protocol": "classic", "settings": {}}
    assert len(RunSpec().to_text()) <= 64
    assert RunSpec(Config(seed=3)).to_dict()["settings"] == {"seed": 3}


@pytest.mark.parametrize(("text", "field"), [
    ("x1.jabc", "run"), ("v1.j!!!", "run"), ("v1.z" + "A" * 12, "run"), (42, "run"),
    ("v1.q" + RunSpec().to_text()[4:], "run"),
])
def test_an_unreadable_text_is_refused(text, field):
    with pytest.raises(ConfigError) as err:
        RunSpec.from_text(text)
    assert err.value.field == field


@pytest.mark.parametrize(("data", "field"), [
    ({"v": 2}, "run.v"), ({"v": 1, "protocol": "smoke-signals"}, "run.protocol"),
    ({"v": 1, "settings": {"loss": 3}}, "run.settings.loss"),
    ({"v": 1, "log": [{"at_seq": 1}]}, "run.log[0]"),
    ({"v": 1, "log": [{"at_seq": 1, "t": 0, "op": "explode", "payload": {}}]}, "run.log[0].op"),
    ({"v": 1, "position": -1}, "run.position"), ({"v": 1, "colour": 1}, "run.colour"),
])
def test_a_bad_specification_is_refused_naming_the_field(data, field):
    with pytest.raises(ConfigError) as err:
        RunSpec.from_dict(data)
    assert err.value.field == field
