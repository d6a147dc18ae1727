"""The MQTT preset held against the standard's text: every fault case of ``mqtt_cases.py`` gives
the packets on the wire and what the application sees that the OASIS MQTT standard demands
(3.1.1 and 5.0 alike), and the rules around them (Method B, packet identifiers, QoS downgrade,
sessions, the broker's persistence, the section 4.6 reordering) hold in the model."""

from __future__ import annotations

import pytest

from simulator import Config, ConfigError, Simulation
from simulator.cli import main as cli_main
from tests.mqtt_cases import CASES, VERSIONS
from tests.mqtt_sim import compact, run_case, simulate

# The packets of each case on hop 1 | hop 2, in the order they go on the wire (✗: the one
# lost), as the standard has it: resends in the original order with DUP=1 on a PUBLISH
# [MQTT-4.4.0-1] [MQTT-3.3.1-1]; PUBREL resent, never PUBLISH, once PUBREL was sent
# [MQTT-4.3.3-6]; a PUBREL for an identifier already released still gets PUBCOMP
# [MQTT-4.3.3-11]; a clean session resends nothing [MQTT-3.1.2-6]; the DUP flag is not carried
# through the broker (its PUBLISH to the subscriber is its own) [MQTT-3.3.1-3].
WIRE = {
    "qos0-persistent-no-loss": "PUBLISH | PUBLISH",
    "qos0-persistent-PUBLISH@hop1": "PUBLISH✗ | ",
    "qos0-persistent-PUBLISH@hop2": "PUBLISH | PUBLISH✗",
    "qos0-clean-PUBLISH@hop1": "PUBLISH✗ | ",
    "qos0-clean-PUBLISH@hop2": "PUBLISH | PUBLISH✗",
    "qos1-persistent-no-loss": "PUBLISH PUBACK | PUBLISH PUBACK",
    "qos1-persistent-PUBLISH@hop1": "PUBLISH✗ PUBLISH(dup) PUBACK | PUBLISH PUBACK",
    "qos1-persistent-PUBACK@hop1":
        "PUBLISH PUBACK✗ PUBLISH(dup) PUBACK | PUBLISH PUBACK PUBLISH PUBACK",
    "qos1-persistent-PUBLISH@hop2": "PUBLISH PUBACK | PUBLISH✗ PUBLISH(dup) PUBACK",
    "qos1-persistent-PUBACK@hop2": "PUBLISH PUBACK | PUBLISH PUBACK✗ PUBLISH(dup) PUBACK",
    "qos1-clean-PUBLISH@hop1": "PUBLISH✗ | ",
    "qos1-clean-PUBACK@hop1": "PUBLISH PUBACK✗ | PUBLISH PUBACK",
    "qos1-clean-PUBLISH@hop2": "PUBLISH PUBACK | PUBLISH✗",
    "qos1-clean-PUBACK@hop2": "PUBLISH PUBACK | PUBLISH PUBACK✗",
    "qos2-persistent-no-loss": "PUBLISH PUBREC PUBREL PUBCOMP | PUBLISH PUBREC PUBREL PUBCOMP",
    "qos2-persistent-PUBLISH@hop1":
        "PUBLISH✗ PUBLISH(dup) PUBREC PUBREL PUBCOMP | PUBLISH PUBREC PUBREL PUBCOMP",
    "qos2-persistent-PUBREC@hop1":
        "PUBLISH PUBREC✗ PUBLISH(dup) PUBREC PUBREL PUBCOMP | PUBLISH PUBREC PUBREL PUBCOMP",
    "qos2-persistent-PUBREL@hop1":
        "PUBLISH PUBREC PUBREL✗ PUBREL PUBCOMP | PUBLISH PUBREC PUBREL PUBCOMP",
    "qos2-persistent-PUBCOMP@hop1":
        "PUBLISH PUBREC PUBREL PUBCOMP✗ PUBREL PUBCOMP | PUBLISH PUBREC PUBREL PUBCOMP",
    "qos2-persistent-PUBLISH@hop2":
        "PUBLISH PUBREC PUBREL PUBCOMP | PUBLISH✗ PUBLISH(dup) PUBREC PUBREL PUBCOMP",
    "qos2-persistent-PUBREC@hop2":
        "PUBLISH PUBREC PUBREL PUBCOMP | PUBLISH PUBREC✗ PUBLISH(dup) PUBREC PUBREL PUBCOMP",
    "qos2-persistent-PUBREL@hop2":
        "PUBLISH PUBREC PUBREL PUBCOMP | PUBLISH PUBREC PUBREL✗ PUBREL PUBCOMP",
    "qos2-persistent-PUBCOMP@hop2":
        "PUBLISH PUBREC PUBREL PUBCOMP | PUBLISH PUBREC PUBREL PUBCOMP✗ PUBREL PUBCOMP",
    "qos2-clean-PUBLISH@hop1": "PUBLISH✗ | ",
    "qos2-clean-PUBREC@hop1": "PUBLISH PUBREC✗ | ",
    "qos2-clean-PUBREL@hop1": "PUBLISH PUBREC PUBREL✗ | ",
    "qos2-clean-PUBCOMP@hop1": "PUBLISH PUBREC PUBREL PUBCOMP✗ | PUBLISH PUBREC PUBREL PUBCOMP",
    "qos2-clean-PUBLISH@hop2": "PUBLISH PUBREC PUBREL PUBCOMP | PUBLISH✗",
    "qos2-clean-PUBREC@hop2": "PUBLISH PUBREC PUBREL PUBCOMP | PUBLISH PUBREC✗",
    "qos2-clean-PUBREL@hop2": "PUBLISH PUBREC PUBREL PUBCOMP | PUBLISH PUBREC PUBREL✗",
    "qos2-clean-PUBCOMP@hop2": "PUBLISH PUBREC PUBREL PUBCOMP | PUBLISH PUBREC PUBREL PUBCOMP✗",
}


def test_the_table_covers_every_case():
    assert set(WIRE) == {c.id for c in CASES}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_standard_fault_case(case, version):
    seen = simulate(case, version)
    assert seen.outcome == case.expect, case.cite
    assert f"{compact(seen.wire[1])} | {compact(seen.wire[2])}" == WIRE[case.id], case.cite


def _mqtt(messages=1, faults=(), seed=7, interval=400.0, **options):
    opts = {"hop1_loss": 0, "hop2_loss": 0, **options}
    return Simulation(Config.from_dict({"seed": seed, "messages": messages, "interval": interval,
                                        "faults": list(faults), "options": opts}), "mqtt")


def _app(events, type_="app_receive"):
    return [ev["msg"] for ev in events if ev["type"] == type_]


@pytest.mark.parametrize("case", [c for c in CASES if c.qos == 2 and c.kind], ids=lambda c: c.id)
def test_method_b_passes_on_at_publish_and_never_twice(case):
    """3.1.1 section 4.3.3 Figure 4.3 Method B: the receiver keeps the identifier and passes the
    message on at PUBLISH; a repeat before PUBREL is answered with PUBREC and not passed on
    [MQTT-4.3.3-10]. (Not held against mosquitto: it passes QoS 2 messages on at PUBREL.)
    Lost PUBREC or PUBREL under a clean session no longer lose the message: it was passed on
    at PUBLISH. Only a PUBLISH lost before it arrived loses it."""
    seen, events = run_case(case, "5.0", method="B")
    if case.session == "persistent":
        assert seen.outcome == "once"
    else:
        assert seen.outcome == ("lost" if case.kind == "PUBLISH" else "once")
    passed = [ev for ev in events if ev["type"] == "arrive" and ev.get("kind") == "PUBLISH"
              and ev.get("passed_on")]
    assert all(ev["dup"] is False or ev.get("duplicate") is not True for ev in passed)
    repeats = [ev for ev in events if ev["type"] == "arrive" and ev.get("duplicate")]
    assert all(not ev.get("passed_on") for ev in repeats)


def test_method_b_repeat_is_answered_not_passed_on():
    from tests.mqtt_cases import Case

    case = Case(2, "persistent", "PUBREC", 1, "once", "")
    seen, events = run_case(case, "5.0", method="B")
    repeat = [ev for ev in events if ev["type"] == "arrive" and ev.get("duplicate")]
    assert len(repeat) == 1 and repeat[0]["node"] == "broker" and repeat[0]["dup"] is True
    answer = [ev for ev in events if ev["type"] == "pubrec" and ev["cause"] == repeat[0]["seq"]]
    assert len(answer) == 1
    assert seen.outcome == "once"


def test_packet_identifier_is_free_after_pubcomp_and_names_the_next_message():
    """[MQTT-4.3.3-12], [MQTT-2.3.1-2/3]: non-zero, unused while the flow is open, then free."""
    events = _mqtt(messages=3, interval=3000, qos=2).run()
    ids = [(ev["msg"], ev["packet_id"]) for ev in events
           if ev["type"] == "publish" and ev["node"] == "publisher"]
    assert ids == [(1, 1), (2, 1), (3, 1)]
    overlapping = _mqtt(messages=3, interval=50, qos=2).run()
    ids = [ev["packet_id"] for ev in overlapping
           if ev["type"] == "publish" and ev["node"] == "publisher"]
    assert ids == [1, 2, 3]  # all three open at once: three identifiers


def test_a_resend_keeps_its_packet_identifier():
    events = _mqtt(messages=1, qos=1, faults=["drop:PUBLISH:1:hop=1"]).run()
    sent = [ev for ev in events if ev["type"] == "publish" and ev["node"] == "publisher"]
    assert [(ev["packet_id"], ev["dup"]) for ev in sent] == [(1, False), (1, True)]


def test_a_delivery_takes_the_lower_of_publish_and_subscription_qos():
    events = _mqtt(messages=1, qos=2, sub_qos=1).run()
    hop2 = [ev["kind"] for ev in events if ev.get("hop") == 2 and ev["type"] in
            ("publish", "puback", "pubrec", "pubrel", "pubcomp")]
    assert hop2 == ["PUBLISH", "PUBACK"]
    route = [ev for ev in events if ev["type"] == "route"]
    assert route[0]["qos"] == 1 and "lower" in route[0]["text"]
    events = _mqtt(messages=1, qos=1, sub_qos=0).run()
    assert [ev["qos"] for ev in events if ev["type"] == "publish"] == [1, 0]


def test_section_4_6_a_reconnect_turns_1234_into_123234():
    """Resends go out in the original order before new messages: the application sees
    1, 2, 3, 2, 3, 4 (MQTT 3.1.1 section 4.6's own example)."""
    sim = _mqtt(messages=4, interval=300, seed=3, qos=1, faults=["drop:PUBACK:msg=2:hop=1"])
    assert _app(sim.run()) == [1, 2, 3, 2, 3, 4]


def test_clean_session_discards_what_was_in_flight_and_says_so():
    sim = _mqtt(messages=1, qos=1, clean_session=True, faults=["drop:PUBLISH:1:hop=1"])
    events = sim.run()
    lost = [ev for ev in events if ev["type"] == "session_lost"]
    assert [(ev["node"], ev["lost"]) for ev in lost] == [("publisher", [1])]
    assert sim.summary()["lost"] == 1 and sim.summary()["in_play"] == 0


def test_a_broker_restart_without_persistence_loses_the_queue_and_with_it_keeps_it():
    faults = ["crash:subscriber@600", "crash:broker@2500", "restart:broker@3000",
              "restart:subscriber@4000"]
    gone = _mqtt(messages=3, interval=200, qos=1, faults=faults)
    events = gone.run()
    assert _app(events) == []
    crash = next(ev for ev in events if ev["type"] == "crash" and ev["node"] == "broker")
    assert "1, 2, 3" in crash["text"]
    kept = _mqtt(messages=3, interval=200, qos=1, broker_persistence=True, faults=faults)
    assert _app(kept.run()) == [1, 2, 3]
    assert kept.summary()["once"] == 3


def test_qos2_is_once_per_hop_yet_a_crash_after_the_ack_loses_the_message():
    """The subscriber's client completes the flow; its application crashes before processing:
    exactly once on each hop, lost end to end. Back up, the subscriber gets the broker's
    PUBREL for a message its memory no longer holds: it answers PUBCOMP, and nothing more."""
    sim = _mqtt(messages=1, qos=2, faults=["crash:subscriber@2020", "restart:subscriber@3000"])
    events = sim.run()
    assert _app(events) == [1]
    assert _app(events, "process") == []
    crash = next(ev for ev in events if ev["type"] == "crash")
    assert "acknowledged, yet never processed" in crash["text"]
    assert sim.summary()["lost"] == 1


def test_old_311_clients_resend_on_a_live_connection_and_5_0_refuses_it():
    with pytest.raises(ConfigError) as err:
        _mqtt(retry_in_connection=True, mqtt_version="5.0")
    assert err.value.field == "options.retry_in_connection"
    assert "MQTT-4.4.0-1" in err.value.message
    # A PUBACK held up longer than the wait: the old client resends on the live connection,
    # and the broker takes the DUP=1 PUBLISH as a new message.
    sim = _mqtt(messages=1, qos=1, mqtt_version="3.1.1", retry_in_connection=True,
                faults=["delay:PUBACK:1:hop=1:+3000"])
    events = sim.run()
    assert [ev["type"] for ev in events if ev["type"] == "timeout"] == ["timeout"]
    assert _app(events) == [1, 1]
    assert sim.summary()["disconnects"] == 0


def test_the_same_seed_gives_the_same_run_and_each_hop_draws_its_own_fates():
    def run(qos):
        return _mqtt(messages=30, interval=4000, qos=qos, hop1_loss=0.15, hop2_loss=0.15,
                     seed=11).run()

    assert run(1) == run(1)
    # The first PUBLISH of each message on hop 1 meets the same fate whatever the QoS (the
    # messages far apart, so no loss of one takes another's packets with its connection).
    lost = {}
    for qos in (1, 2):
        events = run(qos)
        first = {ev["packet"]: ev["msg"] for ev in events
                 if ev["type"] == "publish" and ev["node"] == "publisher" and not ev["dup"]}
        lost[qos] = sorted(first[ev["packet"]] for ev in events
                           if ev["type"] == "drop" and ev["packet"] in first
                           and ev["reason"] == "loss")
    assert lost[1] and lost[1] == lost[2]


def test_options_are_checked_and_named():
    with pytest.raises(ConfigError) as err:
        _mqtt(qos=3)
    assert err.value.field == "options.qos"
    with pytest.raises(ConfigError) as err:
        _mqtt(auto_ack=True)
    assert err.value.field == "options.auto_ack" and "qos" in err.value.message
    with pytest.raises(ConfigError) as err:
        Simulation(Config.from_dict({"options": {"qos": 1}}))
    assert err.value.field == "options.qos" and "classic" in err.value.message
    with pytest.raises(ConfigError) as err:
        _mqtt(faults=["drop:PUBREC:1:hop=3"])
    assert err.value.field == "faults[0]" and "hop must be 1 or 2" in err.value.message
    with pytest.raises(ConfigError) as err:
        Simulation(Config.from_dict({"faults": ["drop:data:1:hop=1"]}))
    assert "no hops" in err.value.message


def test_a_run_replays_to_any_event_exactly():
    config = Config.from_dict({"messages": 12, "options": {"qos": 2, "hop1_loss": 0.2,
                                                           "hop2_loss": 0.2}})
    whole = Simulation(config, "mqtt").run()
    middle = Simulation.replay_events(config, [], 40, 90, protocol="mqtt")
    assert middle == whole[40:90]
    sim = Simulation(config, "mqtt")
    first = sim.run(max_events=55)
    assert first + sim.checkpoint().run() == whole


def test_the_cli_runs_a_preset_with_its_options(capsys):
    assert cli_main(["run", "--protocol", "mqtt", "--qos", "2", "--messages", "1",
                     "--hop1-loss", "0", "--hop2-loss", "0", "--fault",
                     "drop:PUBREC:1:hop=1", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"once":1' in out and '"lost":0' in out
    with pytest.raises(SystemExit):
        cli_main(["run", "--qos", "2"])
    assert "--qos: is not an option of --protocol classic" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["run", "--protocol", "mqtt", "--qos", "4"])
    assert "--qos: must be at most 2" in capsys.readouterr().err
    assert cli_main(["run", "--protocol", "plain", "--messages", "3", "--json"]) == 0
