"""The AMQP 0-9-1 preset held against RabbitMQ's documentation: every fault case of
``amqp_cases.py`` gives the frames on the wire, the redelivered flags and what the application
sees that the documentation (Consumer Acknowledgements and Publisher Confirms, Reliability Guide,
Queues) and the AMQP 0-9-1 specification demand, and the rules around them (delivery tags per
channel, multiple confirms, prefetch, routing, nacks, durability) hold in the model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator import Config, ConfigError, Simulation
from simulator.cli import main as cli_main
from tests.amqp_cases import CASES, Case
from tests.amqp_sim import compact, run_case, simulate

# The methods of each case on hop 1 | hop 2 (without "basic."), in the order they go on the
# wire (✗: the one lost), as the documentation has it:
# - with confirms the broker answers every message once: basic.ack once it is enqueued, after
#   basic.return for an unroutable mandatory message; without confirms it answers nothing
#   (confirms; AMQP 0-9-1 basic.publish mandatory / basic.return);
# - a lost frame is a dead connection; the publisher publishes again what was not confirmed
#   (a new copy to the broker); without confirms it cannot know and publishes nothing again
#   (confirms, reliability);
# - with manual ack the consumer acks after processing; unacked deliveries are requeued when the
#   channel closes and delivered again; with automatic ack there is no consumer ack, and the
#   broker forgets the message as it delivers it (confirms, reliability);
# - a durable queue keeps its persistent messages across a restart, a transient one does not
#   (queues).
WIRE = {
    "nothing-lost": "publish ack | deliver ack",
    "publish-lost-no-confirms": "publish✗ | ",
    "publish-lost-confirms": "publish✗ publish ack | deliver ack",
    "confirm-lost": "publish ack✗ publish ack | deliver ack deliver ack",
    "deliver-lost-manual-ack": "publish ack | deliver✗ deliver ack",
    "deliver-lost-auto-ack": "publish ack | deliver✗",
    "consumer-ack-lost": "publish ack | deliver ack✗ deliver ack",
    "consumer-crash-before-process-auto-ack": "publish ack | deliver",
    "consumer-crash-before-process-manual-ack": "publish ack | deliver deliver ack",
    "consumer-crash-after-process-manual-ack": "publish ack | deliver deliver ack",
    "unroutable-mandatory": "publish return ack | ",
    "unroutable-not-mandatory": "publish ack | ",
    "broker-crash-durable": "publish ack | deliver ack",
    "broker-crash-transient": "publish ack | ",
}


def test_the_table_covers_every_case():
    assert set(WIRE) == {c.id for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_documented_fault_case(case):
    seen = simulate(case)
    assert seen.outcome == case.expect, case.cite
    assert seen.redelivered == case.redelivered, case.cite
    assert seen.returned == (case.expect == "returned"), case.cite
    assert f"{compact(seen.wire[1])} | {compact(seen.wire[2])}" == WIRE[case.id], case.cite


def _amqp(messages=1, faults=(), seed=7, interval=400.0, process_time=50.0, **options):
    opts = {"hop1_loss": 0, "hop2_loss": 0, **options}
    return Simulation(Config.from_dict({"seed": seed, "messages": messages, "interval": interval,
                                        "process_time": process_time, "faults": list(faults),
                                        "options": opts}), "amqp")


def _of(events, type_, *fields):
    return [tuple(ev[f] for f in fields) for ev in events if ev["type"] == type_]


def test_delivery_tags_count_from_1_on_each_channel():
    """Delivery tags are per channel, from 1; a new channel starts again from 1 (confirms:
    'Delivery Tags'; for confirms, 'Publisher Confirms': the broker numbers the messages of a
    channel in confirm mode from 1)."""
    events = _amqp(4, ["drop:basic.ack:2:hop=2"]).run()
    assert _of(events, "deliver", "msg", "tag", "channel", "redelivered") == [
        (1, 1, 1, False), (2, 2, 1, False), (3, 3, 1, False), (4, 4, 1, False),
        (2, 1, 2, True), (3, 2, 2, True), (4, 3, 2, True)]
    events = _amqp(4, ["drop:basic.publish:2:hop=1"]).run()
    assert _of(events, "publish", "msg", "tag", "channel") == [
        (1, 1, 1), (2, 2, 1), (3, 3, 1), (2, 1, 2), (3, 2, 2), (4, 3, 2)]
    assert _of(events, "confirm", "msg", "tag") == [(1, 1), (2, 1), (3, 2), (4, 3)]


def test_a_multiple_confirm_covers_every_tag_up_to_it_and_each_message_once():
    """Persistent messages written to disk together are confirmed together: one basic.ack with
    multiple=true (confirms: 'the broker may also set the multiple field')."""
    sim = _amqp(5, interval=5, durable=True)
    events = sim.run()
    assert _of(events, "confirm", "tag", "multiple", "msgs") == [(5, True, [1, 2, 3, 4, 5])]
    got = [ev for ev in events if ev["type"] == "arrive" and ev["kind"] == "basic.ack"
           and ev["node"] == "publisher"]
    assert [(ev["multiple"], ev["msgs"]) for ev in got] == [(True, [1, 2, 3, 4, 5])]
    assert sim.nodes["publisher"].unconfirmed == {} and sim.nodes["publisher"].confirmed == 5
    # after a lost confirm, everything not confirmed is published again and written together
    events = _amqp(5, ["drop:basic.ack:1:hop=1"], interval=100, durable=True).run()
    assert _of(events, "confirm", "tag", "multiple", "msgs")[-1] == (5, True, [1, 2, 3, 4, 5])
    again = [ev["msg"] for ev in events if ev["type"] == "publish" and ev["republish"]]
    assert again == [1, 2, 3, 4, 5]


def test_transient_messages_are_confirmed_one_by_one():
    events = _amqp(5, interval=5).run()
    assert _of(events, "confirm", "tag", "multiple") == [(t, False) for t in range(1, 6)]


def _most_unacked(sim) -> tuple[int, int]:
    most_broker = most_consumer = 0
    while True:
        if not sim.step():
            return most_broker, most_consumer
        view = sim.view()
        most_broker = max(most_broker, len(view["broker"]["unacked"]))
        most_consumer = max(most_consumer, len(view["consumer"]["unacked"]))


def test_prefetch_caps_unacknowledged_deliveries_per_channel():
    """basic.qos prefetch: at most that many unacknowledged deliveries on the channel (confirms:
    'Channel Prefetch Setting (QoS)'); automatic ack ignores it; 0 means no limit."""
    assert _most_unacked(_amqp(6, interval=10, process_time=1000, prefetch=2)) == (2, 2)
    assert _most_unacked(_amqp(6, interval=10, process_time=1000, prefetch=0)) == (6, 6)
    sim = _amqp(6, interval=10, process_time=1000, prefetch=2, auto_ack=True)
    assert _most_unacked(sim) == (0, 0)
    events = sim.run() or []
    assert sim.summary()["once"] == 6 and not events


@pytest.mark.parametrize("exchange", ["direct", "fanout"])
def test_an_exchange_routes_to_its_bound_queue_and_nothing_otherwise(exchange):
    """One queue: direct (by routing key) and fanout (every bound queue) both route to it when
    it is bound; unbound, the message is unroutable: returned with mandatory, else dropped and
    confirmed all the same (AMQP 0-9-1 basic.publish mandatory; confirms)."""
    sim = _amqp(3, exchange=exchange)
    events = sim.run()
    assert sim.summary()["once"] == 3
    assert all(exchange in ev["text"] for ev in events if ev["type"] == "route")
    sim = _amqp(3, exchange=exchange, bound=False)
    events = sim.run()
    assert _of(events, "unroutable", "msg", "returned") == [(1, False), (2, False), (3, False)]
    assert len(_of(events, "confirm", "msg")) == 3 and not _of(events, "deliver", "msg")
    assert sim.summary()["lost"] == 3 and sim.summary()["returned"] == 0
    sim = _amqp(3, exchange=exchange, bound=False, mandatory=True, confirms=False)
    events = sim.run()
    assert _of(events, "return", "msg") == [(1,), (2,), (3,)]
    assert not _of(events, "confirm", "msg")
    assert sim.summary()["returned"] == 3


def test_a_full_queue_with_reject_publish_nacks_and_the_publisher_publishes_again():
    """x-max-length with overflow reject-publish: the broker refuses new messages while the
    queue is full, with basic.nack under confirms; without confirms the publisher is not told."""
    sim = _amqp(6, interval=50, process_time=600, prefetch=1, max_length=1)
    events = sim.run()
    nacked = [m for (m,) in _of(events, "nack", "msg")]
    assert nacked and sim.summary()["nacked"] == len(nacked)
    again = [ev["msg"] for ev in events if ev["type"] == "publish" and ev["republish"]]
    assert sorted(set(again)) == sorted(set(nacked))
    assert sim.summary()["once"] == 6 and sim.summary()["lost"] == 0
    sim = _amqp(6, interval=50, process_time=600, prefetch=1, max_length=1, confirms=False)
    events = sim.run()
    refused = [m for (m,) in _of(events, "rejected", "msg")]
    assert refused and not _of(events, "nack", "msg")
    assert sim.summary()["lost"] == len(refused)


def test_unacked_deliveries_come_back_in_their_places_marked_redelivered():
    """A channel that closes requeues its unacknowledged deliveries, in their original order
    where possible, with redelivered=true; deliveries the client had not handed to its
    application are dropped by it (and come again)."""
    sim = _amqp(3, ["drop:basic.ack:1:hop=2"], interval=10, process_time=600)
    events = sim.run()
    assert _of(events, "requeue", "msgs") == [([1, 2, 3],)]
    assert _of(events, "discarded", "msgs", "lost") == [([3], False)]
    assert _of(events, "deliver", "msg", "redelivered")[3:] == [(1, True), (2, True), (3, True)]
    # message 2 was being processed when the channel closed: its ack cannot be sent
    assert _of(events, "cannot_ack", "msg") == [(2,)]
    assert sim.summary()["once"] == 1 and sim.summary()["duplicated"] == 2
    # with automatic ack the dropped deliveries are gone
    sim = _amqp(4, ["drop:basic.deliver:4:hop=2"], interval=10, process_time=600,
                auto_ack=True)
    events = sim.run()
    assert _of(events, "discarded", "msgs", "lost") == [([2, 3], True)]
    assert not _of(events, "requeue", "msgs")
    assert sim.summary()["lost"] == 3 and sim.summary()["once"] == 1


def test_a_broker_restart_keeps_durable_messages_and_loses_transient_ones():
    """Queues: a durable queue's persistent messages survive a restart, delivered but
    unacknowledged ones as redelivered; a transient queue's messages do not."""
    faults = ["crash:consumer@600", "crash:broker@2500", "restart:broker@3000",
              "restart:consumer@4000"]
    gone = _amqp(3, faults, interval=200)
    events = gone.run()
    assert _of(events, "process", "msg") == []
    crash = next(ev for ev in events if ev["type"] == "crash" and ev["node"] == "broker")
    assert "1, 2, 3" in crash["text"]
    kept = _amqp(3, faults, interval=200, durable=True)
    events = kept.run()
    assert [m for (m,) in _of(events, "process", "msg")] == [1, 2, 3]
    # unacknowledged when the broker went down: back as redelivered
    held = _amqp(2, ["crash:broker@1100", "restart:broker@1500"], interval=10,
                 process_time=2000, durable=True)
    events = held.run()
    assert _of(events, "deliver", "msg", "redelivered") == [
        (1, False), (2, False), (1, True), (2, True)]


def test_a_persistent_message_not_yet_written_is_lost_with_the_broker_and_published_again():
    sim = _amqp(1, ["crash:broker@760", "restart:broker@1000"], durable=True)
    events = sim.run()
    crash = next(ev for ev in events if ev["type"] == "crash")
    assert "not yet written to disk (1)" in crash["text"]
    assert [ev["msg"] for ev in events if ev["type"] == "publish" and ev["republish"]] == [1]
    assert sim.summary()["once"] == 1


def test_a_confirmed_copy_published_again_arrives_with_redelivered_false():
    """redelivered=false promises this delivery is the broker's first of this copy; it does not
    promise the application never saw the message: a republished copy is new to the broker."""
    case = next(c for c in CASES if c.name == "confirm-lost")
    seen, events = run_case(case)
    assert seen.redelivered == (False, False)
    processed = _of(events, "process", "msg", "duplicate", "redelivered")
    assert processed == [(1, False, False), (1, True, False)]


def test_the_publisher_keeps_at_most_max_unconfirmed_open():
    sim = _amqp(8, interval=5, max_unconfirmed=3)
    most = 0
    while sim.step():
        most = max(most, len(sim.view()["publisher"]["unconfirmed"]))
    assert most == 3 and sim.summary()["once"] == 8


def test_the_same_seed_gives_the_same_run_and_hop_1_fates_do_not_depend_on_hop_2():
    def run(auto_ack):
        return _amqp(30, interval=1000, seed=11, hop1_loss=0.15, hop2_loss=0.15,
                     auto_ack=auto_ack).run()

    assert run(False) == run(False)
    hop1 = {}
    for auto_ack in (False, True):
        events = run(auto_ack)
        hop1[auto_ack] = [(ev["t"], ev["type"], ev["kind"], ev["msg"], ev["attempt"])
                          for ev in events if ev.get("hop") == 1 and ev["type"] in
                          ("publish", "confirm", "connection_open", "connection_open_ok")]
        hop1[auto_ack] += [(ev["t"], ev["kind"], ev["msg"], ev["reason"]) for ev in events
                           if ev["type"] == "drop" and ev["lane"] == "net1"]
    lost = [row for row in hop1[False] if row[-1] == "loss"]
    assert lost and hop1[False] == hop1[True]


def test_a_run_replays_to_any_event_exactly():
    config = Config.from_dict({"messages": 12, "options": {"hop1_loss": 0.2, "hop2_loss": 0.2,
                                                           "durable": True}})
    whole = Simulation(config, "amqp").run()
    middle = Simulation.replay_events(config, [], 40, 90, protocol="amqp")
    assert middle == whole[40:90]
    sim = Simulation(config, "amqp")
    first = sim.run(max_events=55)
    assert first + sim.checkpoint().run() == whole


def test_a_run_with_a_crash_by_hand_replays_from_its_log():
    case = Case("replay", "crash-consumer:after-process", "duplicate", (False, True), "")
    seen, events = run_case(case)
    assert seen.outcome == "duplicate"
    config = Config.from_dict({"seed": 7, "messages": 1,
                               "options": {"hop1_loss": 0, "hop2_loss": 0}})
    sim = Simulation(config, "amqp")
    while not any(ev["type"] == "process" for ev in sim.step()):
        pass
    sim.inject({"action": "crash", "node": "consumer"})
    sim.inject(f"restart:consumer@{int(sim.now) + 500}")
    whole = events[:0] + Simulation.replay_events(config, sim.log, 0, 10_000, protocol="amqp")
    assert [ev["type"] for ev in whole] == [ev["type"] for ev in events]
    assert whole == events


def test_options_and_faults_are_checked_and_named():
    for options, field in (({"prefetch": -1}, "options.prefetch"),
                           ({"exchange": "topic"}, "options.exchange"),
                           ({"hop1_loss": 0.5}, "options.hop1_loss"),
                           ({"auto_ack": "yes"}, "options.auto_ack")):
        with pytest.raises(ConfigError) as err:
            Simulation(Config.from_dict({"options": options}), "amqp")
        assert err.value.field == field
    with pytest.raises(ConfigError) as err:
        _amqp(qos=1)
    assert err.value.field == "options.qos" and "auto_ack" in err.value.message
    with pytest.raises(ConfigError) as err:
        _amqp(faults=["drop:basic.consume:1"])
    assert err.value.field == "faults[0]" and "basic.deliver" in err.value.message
    with pytest.raises(ConfigError) as err:
        _amqp(faults=["drop:basic.ack:1:hop=3"])
    assert "hop must be 1 or 2" in err.value.message
    with pytest.raises(ConfigError) as err:
        _amqp(faults=["crash:subscriber@100"])
    assert "consumer" in err.value.message


def test_the_view_says_each_partys_state_in_panels_and_the_queue_in_a_badge():
    sim = _amqp(6, ["crash:consumer@400"], interval=100)
    sim.run_until(1500)
    view = sim.view()
    assert {"now", "in_flight", "nodes", "outcomes", "panels", "badges"} <= set(view)
    assert [p["id"] for p in view["panels"]] == ["publisher", "broker", "consumer"]
    rows = {p["id"]: dict(p["rows"]) for p in view["panels"]}
    assert rows["broker"]["Queue (ready)"].startswith("message 1; message 2")
    assert rows["consumer"]["Connection (hop 2)"] == "down"
    assert view["badges"]["broker"] == f"queue {len(view['broker']['queue'])}"
    assert view["nodes"]["consumer"] == {"crashed": True}
    assert sim.summary()["in_play"] == view["outcomes"]["in_play"] > 0


def test_the_manifest_draws_with_the_pages_glyphs():
    manifest = Simulation(Config(), "amqp").manifest()
    glyphs = (Path(__file__).parent.parent / "static" / "js" / "glyphs.js").read_text()
    known = set(re.findall(r"^  ([a-z_]+)[:(]", glyphs, re.M))
    colours = {"blue", "orange", "vermillion", "yellow", "green", "violet", "white"}
    for name, mark in manifest["marks"].items():
        if mark["shape"] != "line":
            assert {mark["shape"], mark["fill"]} <= known, name
        assert mark["color"] in colours, name
    starts = [t for t, meta in manifest["event_types"].items() if meta.get("packet") == "start"]
    assert all(manifest["event_types"][t]["label"] == "kind" for t in starts)
    assert {manifest["event_types"][t]["in_flight"]["kind"] for t in starts} == set(
        manifest["packet_kinds"])
    assert [lane["id"] for lane in manifest["lanes"]] == [
        "publisher", "net1", "broker", "net2", "consumer", "app"]
    assert manifest["mechanisms"] == [] and manifest["preset"]["simplifies"]


def test_the_cli_runs_the_preset_with_its_options(capsys):
    assert cli_main(["run", "--protocol", "amqp", "--auto-ack", "--confirms", "--messages", "1",
                     "--hop1-loss", "0", "--hop2-loss", "0", "--fault",
                     "drop:basic.deliver:1:hop=2", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"lost":1' in out and '"once":0' in out
    assert cli_main(["run", "--protocol", "amqp", "--no-auto-ack", "--messages", "1",
                     "--hop1-loss", "0", "--hop2-loss", "0", "--fault",
                     "drop:basic.ack:1:hop=1", "--json"]) == 0
    assert '"duplicated":1' in capsys.readouterr().out
    assert cli_main(["run", "--protocol", "amqp", "--no-confirms", "--messages", "1",
                     "--hop1-loss", "0", "--fault", "drop:basic.publish:1:hop=1",
                     "--json"]) == 0
    assert '"lost":1' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli_main(["run", "--protocol", "mqtt", "--auto-ack"])
    assert "--auto-ack: is not an option of --protocol mqtt" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["run", "--protocol", "amqp", "--prefetch", "-2"])
    assert "--prefetch: must be at least 0" in capsys.readouterr().err
