"""What every protocol preset owes the engine, held for each: one seed, one run; a replay stopped
at any event (inside a happening too) goes on exactly as the run did; a checkpoint goes on
exactly; a live change replays from the log; the page's manifest names only what the page can
draw."""

from __future__ import annotations

import pytest

from simulator import Config, Simulation, protocols

PRESETS = ("mqtt", "amqp", "kafka")
NODE = {"mqtt": "subscriber", "amqp": "consumer", "kafka": "consumer"}


def config(name: str) -> Config:
    """A busy run: losses on both hops, a crash and a restart of the receiving client."""
    node = NODE[name]
    return Config.from_dict({"seed": 3, "messages": 12, "interval": 300,
                             "options": {"hop1_loss": 0.12, "hop2_loss": 0.12},
                             "faults": [f"crash:{node}@2500", f"restart:{node}@3600"]})


@pytest.mark.parametrize("name", PRESETS)
def test_one_seed_one_run_and_every_replay_goes_on_exactly(name):
    cfg = config(name)
    whole = Simulation(cfg, name).run()
    assert whole == Simulation(cfg, name).run()
    assert {"crash", "restart", "drop"} <= {e["type"] for e in whole}
    for k in range(1, len(whole), 5):
        sim = Simulation.replay(cfg, [], until_seq=k, protocol=name)
        assert sim.seq == k
        assert sim.run() == whole[k:], f"replayed to event {k}"
    sim = Simulation(cfg, name)
    first = sim.run(max_events=len(whole) // 2)
    assert first + sim.checkpoint().run() == whole


@pytest.mark.parametrize("name", PRESETS)
def test_a_live_change_replays_from_the_log(name):
    cfg = config(name)
    sim = Simulation(cfg, name)
    before = sim.run(max_events=40)
    changed = sim.configure({"interval": 900})
    after = sim.run()
    again = Simulation.replay(cfg, sim.log, until_seq=len(before), protocol=name)
    assert again.configure({"interval": 900}) == changed
    assert again.run() == after


@pytest.mark.parametrize("name", PRESETS)
def test_the_manifest_names_only_what_the_page_draws(name):
    from pathlib import Path

    glyphs = (Path(__file__).resolve().parent.parent / "static" / "js" / "glyphs.js").read_text()
    proto = protocols.get(name)
    manifest = proto.manifest()
    lanes = {lane["id"] for lane in manifest["lanes"]}
    assert "broker" in lanes and set(proto.link_lanes.values()) <= lanes
    for key, mark in manifest["marks"].items():
        assert f"{mark['shape']}:" in glyphs or f"{mark['shape']}(" in glyphs, (key, mark)
        assert f"  {mark['color']}:" in glyphs, (key, mark)
    for type_ in proto.event_types:
        meta = manifest["event_types"][type_]
        assert meta.get("mark") is None or meta["mark"] in manifest["marks"], type_
    starts = [t for t, m in manifest["event_types"].items() if m.get("packet") == "start"]
    assert starts and all(manifest["event_types"][t].get("label") == "kind" for t in starts)
    assert manifest["preset"]["honest"] and manifest["preset"]["simplifies"]
