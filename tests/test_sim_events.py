"""Every event type of docs/events.md shows up in a run that provokes it, with every field."""

import json
import re

from simhelpers import calm, of, run

from simulator import EVENT_TYPES, Simulation
from simulator.events import ALWAYS


def _network_and_retries():
    # data 1 lost (timeout, retry); the first ack lost (timeout, retry, duplicate delivery);
    # data 3 copied by the network.
    return run(calm(semantics="at-least-once", faults=("drop:data:1", "drop:ack:1",
                                                        "duplicate:data:3")))[1]


def _nack_and_give_up():
    # message 1 fails every attempt (dead letter); message 2 is lost every time (give up)
    return run(calm(messages=2, max_retries=1, process_fail=1.0,
                    faults=("drop:data:2", "drop:data:4")))[1]


def _dedup_key_a_step_apart():
    return run(calm(semantics="exactly-once", messages=1, dedup_record="after"))[1]


def _dedup():
    return run(calm(semantics="exactly-once", messages=1, faults=("drop:ack:1",)))[1]


def _reorder_buffer():
    # message 1 comes 2 s late: 2 and 3 wait, the gap is skipped, then 1 is stale.
    return run(calm(semantics="at-most-once", ordering="sequence", gap_timeout=300.0,
                    faults=("delay:data:1:+2000",)))[1]


def _state_machine():
    return run(calm(ordering="state-machine", messages=40, seed=5, latency_min=50.0,
                    latency_max=600.0, ack_loss=0.3))[1]


def _crash_and_live_change():
    sim = Simulation(calm(faults=("crash:consumer@150", "restart:consumer@400")))
    events = sim.run_until(500)
    events += sim.configure({"loss": 0.5})
    return events + sim.run()


SCENARIOS = (_network_and_retries, _nack_and_give_up, _dedup, _reorder_buffer, _state_machine,
             _crash_and_live_change, _dedup_key_a_step_apart)


def test_every_event_type_is_emitted_with_every_field():
    seen = set()
    for scenario in SCENARIOS:
        for ev in scenario():
            assert list(ev)[:len(ALWAYS)] == list(ALWAYS), ev
            assert isinstance(ev["text"], str) and ev["text"], ev
            json.dumps(ev)
            seen.add(ev["type"])
    assert seen == set(EVENT_TYPES), set(EVENT_TYPES) - seen


def test_cause_chains_retry_timeout_send_and_duplicate_delivery():
    events = _network_and_retries()
    by_seq = {e["seq"]: e for e in events}
    for retry in of(events, "retry"):
        timeout = by_seq[retry["cause"]]
        assert timeout["type"] == "timeout" and timeout["msg"] == retry["msg"]
        sent = by_seq[timeout["cause"]]
        assert sent["type"] == "send" and sent["msg"] == retry["msg"]
    for dup in of(events, "deliver", duplicate=True):
        first = of(events, "deliver", msg=dup["msg"], duplicate=False)[0]
        assert dup["cause"] == first["seq"]
    assert of(events, "deliver", duplicate=True)


def test_a_second_timeout_points_to_the_retry_it_waited_for():
    events = run(calm(messages=1, loss=1.0, max_retries=2))[1]
    timeouts, retries = of(events, "timeout"), of(events, "retry")
    assert [t["cause"] for t in timeouts[1:]] == [r["seq"] for r in retries]


def test_a_drop_says_what_it_means_to_the_producer():
    events = run(calm(messages=1, max_retries=1, faults=("drop:ack:1", "drop:data:2")))[1]
    ack_lost, last_lost = of(events, "ack_drop")[0], of(events, "drop")[0]
    assert "cannot know the message got through" in ack_lost["text"]
    assert "send it again" in ack_lost["text"]
    assert last_lost["attempt"] == 2 and "give up" in last_lost["text"]
    events = run(calm(semantics="at-most-once", messages=1, faults=("drop:data:1",)))[1]
    assert "at-most-once never sends it again" in of(events, "drop")[0]["text"]


def test_a_lost_network_copy_is_said_to_be_only_a_copy():
    sim = Simulation(calm(messages=1))
    sim.run_until(10)
    original = sim.view()["in_flight"][0]["packet"]
    copy = of(sim.inject({"action": "duplicate", "packet": original}), "net_duplicate")[0]
    dropped = of(sim.inject({"action": "drop", "packet": copy["packet"]}), "drop")[0]
    assert "only a copy" in dropped["text"] and "time out" not in dropped["text"]
    assert of(sim.run(), "process", msg=1)


def test_a_duplicate_processing_says_what_it_cost():
    faults = ("drop:ack:1",)
    added = of(run(calm(messages=1, faults=faults))[1], "process", duplicate=True)[0]
    assert "paid twice, balance 20" in added["text"]
    kept = of(run(calm(messages=1, operation="idempotent", faults=faults))[1], "process",
              duplicate=True)[0]
    assert "already applied" in kept["text"] and "stays 10" in kept["text"]


def _fault_texts() -> list[dict]:
    """Every kind of fault, scheduled and live, on data packets, acks and both nodes."""
    sim = Simulation(calm(messages=10, faults=(
        "drop:data:3", "duplicate:data:2", "delay:ack:1:+800", "drop:ack:2",
        "crash:consumer@1388.39", "restart:consumer@1500", "restart:producer@1600")))
    events = sim.run_until(650)
    data = [p["packet"] for p in sim.view()["in_flight"] if p["kind"] == "data"]
    events += sim.inject({"action": "delay", "packet": data[0], "by": 250})
    events += sim.inject({"action": "duplicate", "packet": data[0]})
    events += sim.inject({"action": "drop", "packet": data[0]})
    events += sim.inject({"action": "crash", "node": "producer"})
    events += sim.inject({"action": "crash", "node": "producer"})
    events += sim.inject({"action": "restart", "node": "producer"})
    events += sim.inject("crash:consumer@100")
    events += sim.inject({"action": "restart", "node": "consumer"})
    return events + sim.run()


def test_fault_texts_are_plain_language_and_the_fault_field_keeps_the_grammar():
    faults = of(_fault_texts(), "fault_injected")
    by_fault = {e["fault"]: e["text"] for e in faults}
    assert len(faults) == 15  # 4 scheduled packet faults, 3 node faults, 8 live actions
    for e in faults:
        text = e["text"]
        assert "@" not in text and e["fault"] not in text, e
        assert not re.search(r"\b(drop|duplicate|delay|crash|restart):", text), e
        assert not re.search(r"\b(data|ack|nack|packet):\d", text), e
    assert by_fault["drop:data:3"].startswith("Scheduled fault: the network loses the 3rd data "
                                              "packet (packet ")
    assert "delivers the 2nd data packet" in by_fault["duplicate:data:2"]
    assert by_fault["delay:ack:1:+800"].startswith("Scheduled fault: the 1st ack (packet ")
    assert by_fault["delay:ack:1:+800"].endswith("is held back 800 ms longer")
    assert by_fault["crash:consumer@1388.39"] == "Scheduled fault: the consumer crashes now"
    assert by_fault["restart:consumer@1500"] == "Scheduled fault: the consumer restarts now"
    assert by_fault["restart:producer@1600"] == \
        "Scheduled fault: the producer should restart now, but it is already up: nothing changes"
    live = [e for e in faults if e["fault"].split(":")[1] == "packet"]
    assert [e["fault"].split(":")[0] for e in live] == ["delay", "duplicate", "drop"]
    for e in live:
        assert e["fault"].startswith(f"{e['fault'].split(':')[0]}:packet:{e['packet']}")
    assert live[0]["text"] == \
        f"You held packet {live[0]['packet']} (message {live[0]['msg']}) back 250 ms longer"
    assert live[1]["text"].startswith(f"You had the network make an extra copy of packet "
                                      f"{live[1]['packet']}")
    assert live[2]["text"].startswith(f"You dropped packet {live[2]['packet']} in flight")
    nodes = [e["text"] for e in faults if e["fault"].startswith(("crash:", "restart:"))
             and e["t"] == 650]
    assert nodes == ["You crashed the producer",
                     "You crashed the producer, but it was already down: nothing changes",
                     "You restarted the producer", "You crashed the consumer",
                     "You restarted the consumer"]


def test_ordinals_read_as_words_people_say():
    from simulator.narrate import _ordinal

    assert [_ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st",
         "111th"]
