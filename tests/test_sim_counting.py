"""The summary-only run (``counts_only``, simulator/counting.py) against the full run: the same
builders by name and signature, and the same counters at the end across many seeds and settings,
every semantics, ordering and protocol preset, crashes, faults and network copies included. A
sweep's numbers come from it, so they are the full model's numbers."""

from __future__ import annotations

import inspect

import pytest

from simulator import Config, ConfigError, Simulation, counting
from simulator import events as E
from simulator.sweep import Point, run_point

BUILDER_NAMES = sorted({f.__name__ for f in E.BUILDERS.values()} | {"event", "packet"})


def full_summary(config: Config, protocol: str = "classic") -> tuple[dict, int]:
    sim = Simulation(config, protocol, narrate=False)
    while sim.step():
        pass
    return sim.summary(), sim.seq


def counted_summary(config: Config, protocol: str = "classic") -> tuple[dict, int]:
    sim = Simulation(config, protocol, counts_only=True)
    sim.finish()
    return sim.summary(), sim.seq


@pytest.mark.parametrize("name", BUILDER_NAMES)
def test_every_builder_has_a_counting_twin_of_the_same_signature(name):
    twin = getattr(counting, name, None)
    assert callable(twin), f"counting.{name} is missing"
    assert inspect.signature(twin) == inspect.signature(getattr(E, name))


RULES = [
    {"semantics": s, "ordering": o}
    for s in ("at-most-once", "at-least-once", "exactly-once")
    for o in ("none", "sequence", "state-machine")
]
TWISTS = [
    {},
    {"duplicate": 0.2, "latency_max": 3000},  # copies and overtaking
    {"process_fail": 0.2, "max_retries": 2},  # nacks, giving up, dead letters
    {"faults": ["crash:consumer@3000", "restart:consumer@4200", "drop:ack:msg=2",
                "duplicate:data:3", "delay:data:msg=4:+1500"]},
    {"dedup_store": "memory", "dedup_window": 3, "dedup_record": "before",
     "faults": ["crash:consumer@2500", "restart:consumer@2600"]},
    {"backoff": "exponential", "backoff_jitter": 0.5, "max_in_flight": 3, "timeout": 900,
     "operation": "idempotent"},
]


@pytest.mark.parametrize("rules", RULES, ids=lambda r: f"{r['semantics']}-{r['ordering']}")
def test_the_counters_equal_the_full_runs_across_seeds_and_settings(rules):
    runs = 0
    for t, twist in enumerate(TWISTS):
        for seed in range(1, 6):
            cfg = Config.from_dict({"messages": 25, "seed": seed * 31 + t, **rules, **twist})
            full, full_seq = full_summary(cfg)
            counted, counted_seq = counted_summary(cfg)
            assert counted == full, f"seed {cfg.seed}, {twist}"
            assert counted_seq == full_seq  # every event still numbered, none made
            runs += 1
    assert runs == len(TWISTS) * 5


@pytest.mark.parametrize("protocol,options", [
    ("mqtt", {"qos": 1}), ("mqtt", {"qos": 2, "clean_session": True}),
    ("amqp", {"auto_ack": True}), ("amqp", {"durable": True}),
    ("kafka", {"idempotent": False}), ("kafka", {"commit": "before"}),
])
def test_the_presets_counters_equal_the_full_runs(protocol, options):
    for seed in range(1, 5):
        cfg = Config.from_dict({"messages": 15, "seed": seed, "options": options})
        assert counted_summary(cfg, protocol) == full_summary(cfg, protocol), f"seed {seed}"


def test_a_sweep_point_is_the_full_runs_rates():
    base = {"messages": 400, "duplicate": 0.1}
    rates = run_point(base, "loss", Point(0.3, "at-least-once", 5))
    full, _ = full_summary(Config.from_dict({**base, "loss": 0.3, "seed": 5}))
    assert rates["lost"] == full["lost"] / full["sent"]
    assert rates["duplicated"] == full["duplicates"] / full["sent"]
    assert rates["transmissions"] == full["transmissions"] / full["sent"]


def test_a_summary_only_run_makes_no_events_and_refuses_to_step():
    sim = Simulation(Config.from_dict({"messages": 10}), counts_only=True)
    with pytest.raises(ValueError, match="finish"):
        sim.step()
    with pytest.raises(ValueError, match="finish"):
        sim.run_until(1000)
    sim.finish()
    assert sim.summary()["sent"] == 10 and sim.seq > 10
    assert sim._out == []  # nothing was ever handed out


def test_a_run_that_never_ends_is_refused_naming_messages():
    sim = Simulation(Config.from_dict({"messages": 0}), counts_only=True)
    with pytest.raises(ConfigError) as err:
        sim.finish()
    assert err.value.field == "messages"
