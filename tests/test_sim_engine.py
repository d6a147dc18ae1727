"""The step API: determinism, faults, crashes, live changes, replay and the defaults."""

import json

import pytest
from simhelpers import calm, of, run

from simulator import Config, ConfigError, Simulation


def busy(**changes) -> Config:
    base = {"messages": 30, "seed": 11, "loss": 0.25, "ack_loss": 0.2, "duplicate": 0.1,
            "process_fail": 0.1}
    base.update(changes)
    return Config.from_dict(base)


def test_same_seed_same_stream_and_another_seed_differs():
    _, a = run(busy())
    _, b = run(busy())
    _, c = run(busy(seed=12))
    assert a == b
    assert a != c


def test_stream_is_well_formed():
    sim = Simulation(busy(ordering="sequence"))
    seq, t = 0, 0.0
    while not sim.done:
        events = sim.step()
        assert events, "every step while not done emits an event"
        for e in events:
            seq += 1
            assert e["seq"] == seq
            assert e["t"] >= t
            t = e["t"]
            assert e["cause"] is None or e["cause"] < e["seq"]
            for key in ("msg", "packet", "attempt", "lane", "cause", "type", "text"):
                assert key in e
            json.dumps(e)
    assert sim.step() == []
    assert sim.seq == seq == sim.summary()["events"]


def test_the_same_packet_meets_the_same_fate_under_every_semantics():
    fates = {}
    for semantics in ("at-most-once", "at-least-once", "exactly-once"):
        _, events = run(busy(semantics=semantics, process_fail=0.0))
        first = {}
        for e in events:
            if e["attempt"] == 1 and e["type"] in ("drop", "deliver") and e["msg"] not in first:
                first[e["msg"]] = (e["type"], e["t"])
        fates[semantics] = first
    assert fates["at-most-once"] == fates["at-least-once"] == fates["exactly-once"]


def test_summary_counts_agree_with_the_stream():
    sim, events = run(busy())
    s = sim.summary()
    assert s["sent"] == len(of(events, "send"))
    assert s["retries"] == len(of(events, "retry"))
    assert s["dropped"] == len(of(events, "drop"))
    assert s["acks_dropped"] == len(of(events, "ack_drop"))
    assert s["processed_unique"] == len({e["msg"] for e in of(events, "process")})
    assert s["lost"] == s["sent"] - s["processed_unique"]
    assert s["balance"] == of(events, "process")[-1]["balance"]
    assert s["expected_balance"] == 10 * s["sent"]


def test_run_until_stops_at_the_time():
    sim = Simulation(busy())
    events = sim.run_until(3000)
    assert events and all(e["t"] <= 3000 for e in events)
    assert sim.now == 3000
    nxt = sim.next_time()
    assert nxt is not None and nxt > 3000


def test_drops_are_not_revealed_at_send_time():
    sim, events = run(busy())
    for drop in of(events, "drop"):
        send = of(events, drop_type := "send", seq=drop["cause"]) or \
            of(events, "retry", seq=drop["cause"]) or of(events, "net_duplicate",
                                                         seq=drop["cause"])
        assert drop_type and send
        assert send[0]["t"] < drop["t"] < send[0]["eta"]


def test_consumer_crash_loses_packets_on_their_way_to_it():
    sim, events = run(calm(messages=1, latency_min=300.0, latency_max=300.0,
                           faults=("crash:consumer@100", "restart:consumer@200")))
    fault, crash = of(events, "fault_injected")[0], of(events, "crash")[0]
    assert crash["cause"] == fault["seq"] and crash["node"] == "consumer"
    lost = of(events, "drop", msg=1, attempt=1)[0]
    assert lost["reason"] == "node_down" and lost["t"] == 300.0
    assert of(events, "retry", msg=1)  # the producer times out and resends
    assert sim.summary()["lost"] == 0


def test_producer_crash_gives_up_pending_messages_and_restart_carries_on():
    sim, events = run(calm(messages=5, interval=100.0, latency_min=300.0, latency_max=300.0,
                           faults=("crash:producer@250", "restart:producer@1000")))
    gave_up = of(events, "give_up", reason="producer_crash")
    assert [e["msg"] for e in gave_up] == [1, 2, 3]
    sends = of(events, "send")
    assert [e["msg"] for e in sends] == [1, 2, 3, 4, 5]
    assert sends[3]["t"] == 1000.0
    assert all(e["type"] != "ack_deliver" for e in events if e["t"] < 1000 and e["t"] > 250)


def test_live_switch_to_at_most_once_stops_waiting_and_resending():
    sim = Simulation(busy(loss=0.5, messages=20))
    sim.run_until(3000)
    waiting = len(sim.producer.pending)
    assert waiting
    out = sim.configure({"semantics": "at-most-once"})
    change = out[-1]
    assert change["type"] == "config_change"
    assert change["changes"] == {"semantics": ["at-least-once", "at-most-once"]}
    assert change["t"] == 3000
    assert f"stops waiting for the {waiting} messages" in change["text"]
    assert sim.producer.pending == {}
    rest = sim.run()
    assert of(rest, "retry") == [] and of(rest, "give_up") == [] and of(rest, "timeout") == []
    assert of(rest, "ack_send") == []
    assert sim.config.semantics == "at-most-once"


def test_configure_refuses_bad_and_fixed_settings_naming_the_field():
    sim = Simulation(busy())
    with pytest.raises(ConfigError) as err:
        sim.configure({"loss": 2})
    assert err.value.field == "loss"
    with pytest.raises(ConfigError) as err:
        sim.configure({"seed": 3})
    assert err.value.field == "seed"
    with pytest.raises(ConfigError) as err:
        sim.configure({"latency_min": 5000.0})
    assert err.value.field == "latency_max"
    assert sim.log == [] and sim.seq == 0  # nothing happened


def test_config_validation_names_the_field():
    for data, field in (({"loss": -0.1}, "loss"), ({"semantics": "twice"}, "semantics"),
                        ({"messages": 1.5}, "messages"), ({"bogus": 1}, "bogus"),
                        ({"faults": ["drop:data:0"]}, "faults[0]"),
                        ({"max_retries": "3"}, "max_retries")):
        with pytest.raises(ConfigError) as err:
            Config.from_dict(data)
        assert err.value.field == field
    with pytest.raises(ConfigError) as err:
        Simulation(Config(timeout=0))
    assert err.value.field == "timeout"


def test_inject_drop_on_a_packet_in_flight():
    sim = Simulation(calm(messages=1))
    sim.run_until(50)
    pid = sim.view()["in_flight"][0]["packet"]
    out = sim.inject({"action": "drop", "packet": pid})
    assert [e["type"] for e in out] == ["fault_injected", "drop"]
    assert out[1]["reason"] == "injected" and out[1]["cause"] == out[0]["seq"]
    assert sim.view()["in_flight"] == []
    rest = sim.run()
    assert of(rest, "retry", msg=1)


def test_inject_delay_and_duplicate():
    sim = Simulation(calm(messages=1))
    sim.run_until(50)
    pid = sim.view()["in_flight"][0]["packet"]
    sim.inject({"action": "delay", "packet": pid, "by": 400})
    out = sim.inject({"action": "duplicate", "packet": pid})
    assert of(out, "net_duplicate")[0]["cause"] == out[0]["seq"]
    rest = sim.run()
    delivers = of(rest, "deliver")
    assert len(delivers) == 2
    assert of(rest, "deliver", packet=pid)[0]["t"] == 500.0


def test_inject_refuses_bad_input_naming_the_field():
    sim = Simulation(calm())
    sim.run_until(50)
    for action, field in (({"action": "drop", "packet": 999}, "packet"),
                          ({"action": "explode"}, "action"),
                          ({"action": "crash", "node": "broker"}, "node"),
                          ({"action": "delay", "packet": 1, "by": -5}, "by"),
                          ("drop:data:1", "fault"), ("boom", "fault"), (42, "action")):
        with pytest.raises(ConfigError) as err:
            sim.inject(action)
        assert err.value.field == field, action
    assert sim.log == []


def test_inject_crash_and_restart_now():
    sim = Simulation(calm(messages=2))
    sim.run_until(150)
    out = sim.inject({"action": "crash", "node": "consumer"})
    assert [e["type"] for e in out] == ["fault_injected", "crash"]
    assert sim.view()["consumer"]["crashed"]
    out = sim.inject({"action": "restart", "node": "consumer"})
    assert [e["type"] for e in out] == ["fault_injected", "restart"]
    sim.run()
    assert sim.summary()["lost"] == 0


def _session() -> tuple[Simulation, list[dict]]:
    sim = Simulation(busy(ordering="sequence"))
    events = sim.run_until(2500)
    events += sim.configure({"semantics": "exactly-once", "loss": 0.4})
    for _ in range(7):
        events += sim.step()
    pid = sim.view()["in_flight"][0]["packet"]
    events += sim.inject({"action": "drop", "packet": pid})
    events += sim.run_until(6000)
    events += sim.inject({"action": "crash", "node": "consumer"})
    events += sim.inject("restart:consumer@7000")
    events += sim.configure({"ordering": "state-machine"})
    events += sim.run()
    return sim, events


def test_replay_reproduces_the_identical_stream():
    sim, events = _session()
    again = Simulation.replay(busy(ordering="sequence"), sim.log)
    at = again.seq
    assert at == sim.log[-1]["at_seq"] + 1  # just after the last live change's event
    assert again.run() == events[at:]
    full = Simulation.replay(busy(ordering="sequence"), sim.log, until_seq=sim.seq)
    assert full.seq == sim.seq and full.summary() == sim.summary()


def test_step_back_to_any_seq_equals_the_prefix():
    sim, events = _session()
    for k in (1, 37, 120, len(events) // 2, len(events) - 3):
        back = Simulation.replay(busy(ordering="sequence"), sim.log, until_seq=k)
        assert back.seq == k
        rest = []
        for entry in sim.log:  # re-apply the live changes that came after k
            if entry["at_seq"] >= k:
                while back.seq < entry["at_seq"]:
                    rest += back.step()
                back.now = entry["t"]
                op = back.configure if entry["op"] == "configure" else back.inject
                rest += op(entry["payload"])
        rest += back.run()
        assert rest == events[k:]
        prefix = Simulation.replay(busy(ordering="sequence"), sim.log, until_seq=k)
        assert prefix.summary()["events"] == k
        assert prefix.summary()["sent"] == len(of(events[:k], "send"))


def test_view_is_json_safe():
    sim = Simulation(busy(ordering="state-machine"))
    sim.run_until(4000)
    view = sim.view()
    json.dumps(view)
    assert set(view) >= {"now", "in_flight", "producer", "consumer", "reorder", "dedup",
                         "machine", "balance", "expected_balance"}


def test_keep_sending_mode_needs_a_limit_to_run():
    sim = Simulation(Config(messages=0))
    with pytest.raises(ValueError):
        sim.run()
    events = sim.run(max_events=500)
    assert len(events) >= 500 and not sim.done


def test_defaults_show_a_drop_timeout_and_retry_early_then_a_duplicate():
    sim = Simulation(Config())
    first = sim.run_until(4000)
    types = {e["type"] for e in first}
    assert {"drop", "timeout", "retry"} <= types
    later = sim.run_until(6000)
    assert of(first + later, "process", duplicate=True)


def test_a_message_on_its_way_is_in_play_not_lost():
    sim = Simulation(Config())  # the default seed loses message 1's first packet at 0.2 s
    events = sim.run_until(300)
    assert [e for e in events if e["type"] == "drop" and e["msg"] == 1]
    s = sim.summary()
    assert s["processed_unique"] == 0 and s["sent"] >= 1
    assert s["lost"] == 0 and s["in_play"] == s["sent"]
    sim.run()
    s = sim.summary()
    assert s["in_play"] == 0
    assert s["lost"] == s["sent"] - s["processed_unique"]


def test_a_message_given_up_is_lost_mid_run():
    cfg = Config(semantics="at-least-once", max_retries=0, messages=3, loss=0, ack_loss=0,
                 duplicate=0, faults=("drop:data:1",))
    sim = Simulation(cfg)
    events = sim.run_until(cfg.timeout + 10)
    assert [e for e in events if e["type"] == "give_up" and e["msg"] == 1]
    s = sim.summary()
    assert s["lost"] == 1 and s["processed_unique"] + s["in_play"] + 1 == s["sent"]


def test_replay_events_rebuilds_any_slice_across_live_changes():
    sim = Simulation(Config(seed=11, messages=12))
    stream = sim.run_until(1500)
    stream += sim.configure({"semantics": "exactly-once", "ordering": "sequence"})
    stream += sim.run_until(3000)
    stream += sim.inject({"action": "crash", "node": "consumer"})
    stream += sim.run_until(4000)
    stream += sim.inject({"action": "restart", "node": "consumer"})
    stream += sim.run()
    by_seq = {e["seq"]: e for e in stream}
    last = stream[-1]["seq"]
    for after, until in [(0, last), (3, 17), (len(stream) // 2, last - 1), (last - 5, last)]:
        got = Simulation.replay_events(Config(seed=11, messages=12), sim.log, after, until)
        assert got == [by_seq[s] for s in range(after + 1, until + 1)]


def test_a_new_interval_applies_to_the_next_message_at_once():
    sim = Simulation(calm(messages=5, interval=1000.0))
    sim.run_until(1500)  # sent at 0 and 1000; the next was due at 2000
    out = sim.configure({"interval": 100.0})
    sends = [e["t"] for e in of(out + sim.run(), "send")]
    assert sends == [1500.0, 1600.0, 1700.0]
    sim = Simulation(calm(messages=4, interval=100.0))
    sim.run_until(150)  # sent at 0 and 100; the next was due at 200
    sim.configure({"interval": 1000.0})
    assert [e["t"] for e in of(sim.run(), "send")] == [1100.0, 2100.0]


def test_a_switch_to_exactly_once_says_the_dedup_store_starts_without_earlier_ids():
    # message 1 is processed under at-least-once, its ack lost; the switch comes before the
    # retry, which the store cannot recognise.
    sim = Simulation(calm(messages=1, faults=("drop:ack:1",)))
    sim.run_until(500)
    change = sim.configure({"semantics": "exactly-once"})[-1]
    assert "dedup store knows only" in change["text"]
    rest = sim.run()
    assert of(rest, "process", msg=1, duplicate=True) and of(rest, "dedup_discard") == []


def test_the_simulator_reads_no_clock_and_no_global_random():
    import ast
    from pathlib import Path

    banned = {"random", "time", "datetime", "secrets", "uuid", "threading", "asyncio"}
    for path in sorted(Path(__file__).resolve().parent.parent.joinpath("simulator").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not names & banned, f"{path.name} imports {names & banned}"
            if path.name != "cli.py":  # the CLI alone touches the process (stdout, a pipe)
                assert "os" not in names and "sys" not in names, path.name


def test_a_packet_put_on_the_wire_is_the_packet_its_constructor_makes():
    """``Network.put`` spells the constructor out on its hot path: every field the same."""
    from simulator.network import Packet

    sim = Simulation(calm(messages=1))
    sim.step()
    (pkt,) = sim.network.inflight.values()
    made = Packet(pkt.id, pkt.msg, pkt.kind, pkt.attempt, pkt.origin, pkt.copy, pkt.src,
                  pkt.dst, pkt.seqno, pkt.sent_t, pkt.eta)
    made.send_seq = pkt.send_seq
    assert {s: getattr(pkt, s) for s in Packet.__slots__} == \
        {s: getattr(made, s) for s in Packet.__slots__}


def test_a_delivery_made_on_arrival_is_the_one_its_constructor_makes():
    from simulator.consumer import Delivery

    sim = Simulation(calm(messages=1, process_time=500.0))
    while not sim.consumer.app.busy:
        sim.step()
    item = sim.consumer.app.busy
    made = Delivery(item.msg, item.seqno, item.attempt, item.copy, item.packet,
                    item.deliver_seq)
    assert {s: getattr(item, s) for s in Delivery.__slots__} == \
        {s: getattr(made, s) for s in Delivery.__slots__}
