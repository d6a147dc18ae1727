"""The seam: topology as data, fates keyed per link, protocols added as packages.

A toy protocol (tests/toy_relay: a relay between producer and consumer, two links) runs through
the engine untouched; its two hops draw independent fates; the classic model keeps its one link
at fate key 0, so its seeded runs are what they were (the golden streams hold that).
"""

from __future__ import annotations

import json
import pickle
import statistics

import pytest
import toy_relay  # noqa: F401  (registers the "relay" protocol)

from simulator import Config, ConfigError, Simulation, protocols
from simulator.cli import main
from simulator.runspec import RunSpec
from simulator.topology import Link, Node, Topology, link_key


def relay_run(**settings) -> tuple[Simulation, list[dict]]:
    sim = Simulation(Config.from_dict(settings), "relay")
    return sim, sim.run()


def test_the_two_hops_of_a_message_draw_independent_fates():
    sim, events = relay_run(messages=3000, loss=0.3, duplicate=0.0, interval=5,
                            latency_min=100, latency_max=900)
    sent = {e["msg"] for e in events if e["type"] == "send"}
    forwarded = {e["msg"] for e in events if e["type"] == "forward"}
    delivered = {e["msg"] for e in events if e["type"] == "deliver"}
    assert len(sent) == 3000
    # each hop loses 30%: 70% reach the relay, and of those 70% reach the consumer. With one
    # fate for both hops every message the relay forwarded would arrive (100%).
    assert abs(len(forwarded) / len(sent) - 0.7) < 0.04
    assert abs(len(delivered) / len(forwarded) - 0.7) < 0.04
    # the latencies of the two hops of one message are not correlated (identical fates: r = 1)
    hop = {}
    for e in events:
        if e["type"] in ("send", "forward"):
            hop[(e["msg"], e["type"])] = e["eta"] - e["t"]
    both = [m for m in delivered]
    r = statistics.correlation([hop[(m, "send")] for m in both],
                               [hop[(m, "forward")] for m in both])
    assert abs(r) < 0.1, r


def test_each_link_has_its_own_fate_key_and_the_classic_link_keeps_key_zero():
    classic = protocols.get("classic").topology(Config())
    assert {link.fate_key() for link in classic.links.values()} == {0}
    relay = protocols.get("relay").topology(Config())
    keys = [link.fate_key() for link in relay.links.values()]
    assert len(set(keys)) == 2 and 0 not in keys
    assert link_key("producer", "relay") == link_key("producer", "relay")
    assert link_key("producer", "relay") != link_key("relay", "producer")


def test_a_toy_protocol_runs_through_the_engine_with_its_own_nodes_faults_and_replay():
    cfg = Config.from_dict({"messages": 12, "loss": 0.2,
                            "faults": ["crash:relay@900", "restart:relay@2500",
                                       "drop:data:msg=7"]})
    sim = Simulation(cfg, "relay")
    events = sim.run()
    kinds = {e["type"] for e in events}
    assert {"send", "forward", "deliver", "crash", "restart"} <= kinds
    crash = next(e for e in events if e["type"] == "crash")
    assert crash["node"] == "relay" and crash["lane"] == "relay"
    # packets reaching the crashed relay are lost there, none is forwarded while it is down
    down = [e for e in events if 900 <= e["t"] < 2500]
    assert not [e for e in down if e["type"] == "forward"]
    assert any(e["type"] == "drop" and e["reason"] == "node_down" for e in down)
    # the message-addressed fault hits message 7's first data packet, on its first hop
    dropped = [e for e in events if e["type"] == "drop" and e["msg"] == 7]
    assert dropped and dropped[0]["reason"] == "scheduled" and dropped[0]["to"] == "relay"
    # packets travel the links of the topology only
    assert {(e["from"], e["to"]) for e in events if e["type"] in ("send", "forward")} == \
        {("producer", "relay"), ("relay", "consumer")}
    # one seed, one stream; a replay and a checkpoint copy give the same events
    assert Simulation(cfg, "relay").run() == events
    half = Simulation.replay(cfg, [], until_seq=len(events) // 2, protocol="relay")
    assert half.protocol.name == "relay"
    assert half.run() == events[len(events) // 2:]
    copy = pickle.loads(pickle.dumps(Simulation(cfg, "relay")))
    assert copy.run() == events


def test_node_and_packet_names_come_from_the_protocol():
    with pytest.raises(ConfigError) as err:
        Simulation(Config.from_dict({"faults": ["crash:relay@100"]}))  # classic has no relay
    assert err.value.field == "faults[0]" and "producer or consumer" in err.value.message
    with pytest.raises(ConfigError) as err:
        Simulation(Config.from_dict({"faults": ["drop:ack:1"]}), "relay")  # no acks there
    assert "packet kind must be one of data" in err.value.message
    sim = Simulation(Config.from_dict({"messages": 3}), "relay")
    with pytest.raises(ConfigError) as err:
        sim.inject({"action": "crash", "node": "broker"})
    assert err.value.field == "node" and "producer, relay, consumer" in err.value.message
    sim.inject({"action": "crash", "node": "relay"})
    assert sim.view()["nodes"]["relay"] == {"crashed": True}
    with pytest.raises(ConfigError) as err:
        Simulation(Config(), "nope")
    assert err.value.field == "protocol" and "classic" in err.value.message


def test_a_live_change_of_a_hop_setting_takes_effect_on_both_links():
    sim = Simulation(Config.from_dict({"messages": 400, "interval": 5, "loss": 0.0}), "relay")
    sim.run_until(1000)
    made = sim.configure({"loss": 1.0})
    assert made[0]["type"] == "config_change"
    assert made[0]["changes"] == {"loss": [0.0, 1.0]}
    rest = sim.run()
    # what was in flight still lands; from then on both hops lose every packet
    assert not [e for e in rest if e["type"] == "forward" and e["t"] > 2000]
    assert not [e for e in rest if e["type"] == "deliver" and e["t"] > 3000]
    assert [e for e in rest if e["type"] == "drop" and e["to"] == "consumer"]


def test_the_manifest_names_lanes_nodes_kinds_and_how_each_event_type_is_drawn():
    m = Simulation(Config(), "relay").manifest()
    assert [lane["id"] for lane in m["lanes"]] == ["producer", "network", "relay", "consumer"]
    assert [n["id"] for n in m["nodes"]] == ["producer", "relay", "consumer"]
    assert [(link["from"], link["to"]) for link in m["links"]] == [("producer", "relay"),
                                                                 ("relay", "consumer")]
    assert m["packet_kinds"] == ["data"]
    assert m["event_types"]["forward"] == {"mark": "forward", "name": "Forward",
                                           "packet": "start"}
    assert {a["node"] for a in m["node_actions"]} == {"producer", "relay", "consumer"}
    for meta in m["event_types"].values():  # every mark an event type names is described
        assert meta.get("mark") is None or meta["mark"] in m["marks"]
    classic = protocols.get().manifest()
    assert set(classic["event_types"]) == set(Simulation(Config()).tally.counts)
    for meta in classic["event_types"].values():
        for mark in [meta.get("mark")] + [v["mark"] for v in meta.get("variants", [])]:
            assert mark is None or mark in classic["marks"]
    json.dumps(classic)  # plain data, sent as it is


def test_the_cli_runs_and_describes_a_protocol_from_a_module(capsys):
    main(["manifest", "--protocol-module", "toy_relay", "--protocol", "relay"])
    assert json.loads(capsys.readouterr().out)["protocol"] == "relay"
    main(["run", "--protocol", "relay", "--messages", "5", "--events"])
    header, *lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert header["protocol"] == "relay"
    assert lines == Simulation(Config(messages=5), "relay").run()
    with pytest.raises(SystemExit):
        main(["run", "--protocol", "nope"])
    assert "--protocol: unknown protocol 'nope'" in capsys.readouterr().err


def test_a_run_specification_names_its_protocol():
    sim = Simulation(Config(messages=6), "relay")
    sim.run_until(800)
    sim.inject({"action": "crash", "node": "relay"})
    spec = RunSpec.from_run(Config(messages=6), sim.log, sim.seq, "relay")
    again = RunSpec.from_text(spec.to_text())
    assert again.protocol == "relay"
    assert again.build().run() == sim.run()
    with pytest.raises(ConfigError) as err:
        RunSpec.from_dict({"v": 1, "protocol": "nope"})
    assert err.value.field == "run.protocol"


def test_a_topology_refuses_links_to_nowhere_and_twice_declared_ones():
    a, b = Node("a", "a", "A", "sender"), Node("b", "b", "B", "receiver")
    with pytest.raises(ValueError, match="both ends"):
        Topology([a], [Link("a", "b", 1, 2)])
    with pytest.raises(ValueError, match="twice"):
        Topology([a, b], [Link("a", "b", 1, 2), Link("a", "b", 1, 3)])
    with pytest.raises(ValueError, match="no link from b to a"):
        Topology([a, b], [Link("a", "b", 1, 2)]).link("b", "a")
