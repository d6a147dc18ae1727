"""Run until an event: the run pauses right after the first event that matches."""

from __future__ import annotations

import pytest
from simhelpers import calm

from simulator import ConfigError, Simulation
from simulator.until import parse_until


def test_a_run_stops_right_after_the_first_matching_event_and_goes_on_the_same():
    whole = Simulation(calm(messages=6, faults=("drop:ack:msg=3",))).run()
    sim = Simulation(calm(messages=6, faults=("drop:ack:msg=3",)))
    events, matched = sim.run_until_event(parse_until({"type": "timeout", "msg": 3}))
    assert matched and events[-1]["type"] == "timeout" and events[-1]["msg"] == 3
    assert sim.seq == events[-1]["seq"], "nothing after the match is handed out"
    rest = sim.run()
    assert events + rest == whole, "the rest of the run is exactly what it would have been"
    assert sim.summary()["events"] == len(whole)


def test_a_match_inside_one_happening_holds_the_rest_of_it_back():
    whole = Simulation(calm(messages=2)).run()
    sim = Simulation(calm(messages=2))
    # a delivery and its processing happen at the same instant as other events
    events, matched = sim.run_until_event(parse_until({"type": "deliver", "msg": 2}))
    assert matched and events == whole[:len(events)]
    counted = sim.summary()["delivered"]
    assert counted == sum(1 for e in events if e["type"] == "deliver")
    assert events + sim.run() == whole


def test_fields_and_a_time_bound():
    sim = Simulation(calm(messages=4, faults=("drop:data:msg=2",)))
    events, matched = sim.run_until_event(parse_until({"where": {"reason": "scheduled"}}))
    assert matched and events[-1]["type"] == "drop" and events[-1]["msg"] == 2
    sim = Simulation(calm(messages=4))
    events, matched = sim.run_until_event(parse_until({"t": 250}))
    assert not matched and sim.now == 250 and all(e["t"] <= 250 for e in events)


@pytest.mark.parametrize(("spec", "field"), [
    ({}, "until"), ({"type": "nope"}, "until.type"), ({"msg": 0}, "until.msg"),
    ({"colour": 1}, "until.colour"), ({"where": {"reason": [1]}}, "until.where.reason"),
    ({"t": -1}, "until.t"), ({"node": ""}, "until.node"), ("timeout", "until"),
])
def test_a_bad_predicate_is_refused_naming_the_field(spec, field):
    with pytest.raises(ConfigError) as err:
        parse_until(spec)
    assert err.value.field == field
