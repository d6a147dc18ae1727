"""Compare (simulator/compare.py): the same run in two or three columns under different rules, on
the same seeded faults. Within one protocol every packet the columns share meets the same fate
at the same moment, so each difference comes from the rules; across protocols the
message-addressed faults are said in each protocol's own packets; all columns are cut at one
instant; bad columns are refused naming the field."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import pytest

from simulator import Config, ConfigError, Simulation
from simulator.compare import carry_faults, columns_of, compare

SEMANTICS = ("at-most-once", "at-least-once", "exactly-once")
PUTS = ("send", "retry", "ack_send", "nack", "net_duplicate")  # events that put a packet on
FATES = {"drop": True, "ack_drop": True, "deliver": False, "ack_deliver": False}  # lost?


def packets(events: list[dict]) -> dict[tuple, dict]:
    """Every packet of a column by what its fate is keyed on: (from, to, kind, msg, attempt,
    origin, copy); ``copy`` is 0 for a packet a node sent and n for the network's n-th copy of
    it, ``origin`` for an answer the copy number of the data packet it answers (0 for data).
    Each -> {sent, lost, at}: when it was put on the wire, whether it was lost, and when it was
    dropped or arrived."""
    by_seq = {e["seq"]: e for e in events}
    key_of: dict[int, tuple] = {}  # packet id -> its key
    copies: Counter = Counter()
    out: dict[tuple, dict] = {}
    for e in events:
        if e["type"] in PUTS:
            if e["type"] == "net_duplicate":
                copies[e["original"]] += 1
                key = key_of[e["original"]][:-1] + (copies[e["original"]],)
            else:
                origin = 0
                if e["kind"] != "data":  # an answer: to the delivery its cause chain starts at
                    c = by_seq[e["cause"]]
                    while c["type"] != "deliver":
                        c = by_seq[c["cause"]]
                    origin = key_of[c["packet"]][-1]
                key = (e["from"], e["to"], e["kind"], e["msg"], e["attempt"], origin, 0)
            assert key not in out, f"two packets keyed {key}"
            key_of[e["packet"]] = key
            out[key] = {"sent": e["t"], "lost": None, "at": None}
        elif e["type"] in FATES:
            got = out[key_of[e["packet"]]]
            assert got["lost"] is None, f"packet {e['packet']} met two fates"
            got["lost"], got["at"] = FATES[e["type"]], e["t"]
    return out


def count(events: list[dict], type_: str, **match) -> int:
    return sum(1 for e in events if e["type"] == type_
               and all(e.get(k) == v for k, v in match.items()))


def assert_same_fates(columns: list[dict]) -> list[dict]:
    """Every packet two columns share met the same fate; a first data transmission also at the
    same moments. Returns each column's packets."""
    each = [packets(c["events"]) for c in columns]
    for a, b in combinations(each, 2):
        shared = a.keys() & b.keys()
        assert shared
        for key in shared:
            assert a[key]["lost"] is not None, f"{key} never resolved"
            assert a[key]["lost"] == b[key]["lost"], key
            if key[2] == "data" and key[4] == 1:
                assert a[key] == b[key], key
    return each


def test_semantics_columns_meet_the_same_faults_packet_for_packet():
    out = compare({"seed": 7}, "classic", [{"settings": {"semantics": s}} for s in SEMANTICS])
    assert out["same_protocol"] is True and out["until"] is None
    cols = out["columns"]
    assert [c["label"] for c in cols] == list(SEMANTICS)
    assert all(c["done"] and c["config"]["seed"] == 7 for c in cols)
    each = assert_same_fates(cols)
    # a meaningful comparison: retries exist in one column only, and a shared packet is lost
    # in every column (the same loss, the same instant, under every semantics)
    assert each[1].keys() - each[0].keys()
    assert any(k[4] > 1 for k in each[1].keys() - each[0].keys())
    lost_everywhere = [k for k in each[0].keys() & each[1].keys() & each[2].keys()
                       if all(p[k]["lost"] for p in each)]
    assert any(k[2] == "data" and k[4] == 1 for k in lost_everywhere)


def test_the_columns_differ_only_by_their_rules_and_each_is_the_run_its_config_makes():
    out = compare({"seed": 7}, "classic", [{"settings": {"semantics": s}} for s in SEMANTICS])
    at_most, at_least, exactly = (c["events"] for c in out["columns"])
    # the same new messages at the same instants in every column
    sends = [[(e["msg"], e["t"]) for e in ev if e["type"] == "send"]
             for ev in (at_most, at_least, exactly)]
    assert sends[0] == sends[1] == sends[2] and len(sends[0]) == 40
    # at-most-once never retransmits and never answers, and loses what the network lost
    assert count(at_most, "retry") == 0 and count(at_most, "ack_send") == 0
    assert count(at_least, "retry") > 0 and count(at_least, "retry") == count(exactly, "retry")

    def lost(ev):
        return count(ev, "send") - len({e["msg"] for e in ev if e["type"] == "process"})

    assert lost(at_most) > 0 and lost(at_least) == 0 and lost(exactly) == 0
    # at-least-once processes some messages twice; exactly-once discards those copies
    assert count(at_least, "process", duplicate=True) > 0
    assert count(exactly, "process", duplicate=True) == 0
    # the very copies at-least-once processed again are the ones exactly-once discarded
    again = sorted(e["msg"] for e in at_least if e["type"] == "process" and e["duplicate"])
    assert again == sorted(e["msg"] for e in exactly if e["type"] == "dedup_discard")
    # each column is exactly the run its config names: the page can rebuild it, and its
    # summary counts what the column shows
    for col in out["columns"]:
        sim = Simulation(Config.from_dict(col["config"]), col["protocol"])
        assert sim.run() == col["events"]
        assert col["manifest"] == sim.manifest()
        s = sim.summary()
        assert s["retries"] == count(col["events"], "retry")
        assert s["duplicates"] == count(col["events"], "process", duplicate=True)


def test_ordering_columns_meet_the_same_faults_and_only_sequence_numbers_reorder():
    out = compare({"seed": 7}, "classic",
                  [{"settings": {"ordering": "none"}}, {"settings": {"ordering": "sequence"}}])
    cols = out["columns"]
    assert [c["label"] for c in cols] == ["no reordering", "sequence numbers"]
    each = assert_same_fates(cols)
    assert each[0].keys() ^ each[1].keys()  # resends differ by ordering: their own fates
    none, seq = (c["events"] for c in cols)
    assert count(none, "process", out_of_order=True) > 0
    assert count(seq, "process", out_of_order=True) == 0 and count(seq, "buffer") > 0


BASE_FAULTS = ["drop:data:msg=3", "drop:ack:2", "crash:consumer@5000"]
DELIVERY = {"classic": ("data", "consumer"), "mqtt": ("PUBLISH", "subscriber"),
            "amqp": ("basic.deliver", "consumer")}


def test_across_protocols_message_3s_first_delivery_is_lost_in_every_column():
    out = compare({"seed": 7, "faults": BASE_FAULTS}, "classic",
                  [{}, {"protocol": "mqtt", "settings": {"options": {"qos": 1}}},
                   {"protocol": "amqp"}])
    assert out["same_protocol"] is False
    classic, mqtt, amqp = out["columns"]
    assert [c["protocol"] for c in out["columns"]] == ["classic", "mqtt", "amqp"]
    assert classic["config"]["faults"] == BASE_FAULTS and classic["notes"] == []
    assert mqtt["config"]["faults"] == ["drop:PUBLISH:msg=3:hop=2", "crash:subscriber@5000"]
    assert amqp["config"]["faults"] == ["drop:basic.deliver:msg=3:hop=2", "crash:consumer@5000"]
    for col in (mqtt, amqp):  # the N-th ack counts packets, which differ: said, not carried
        assert len(col["notes"]) == 1 and col["notes"][0].startswith("drop:ack:2: ")
        assert col["config"]["seed"] == 7
    for col in out["columns"]:
        kind, node = DELIVERY[col["protocol"]]
        ev = col["events"]
        # the first packet of message 3 put on the wire to the receiving node (in every
        # protocol the event that puts a packet on the wire carries its eta)
        first = next(e for e in ev if e.get("eta") is not None and e["msg"] == 3
                     and e["kind"] == kind and e["to"] == node)
        assert first["attempt"] == 1
        fault = [e for e in ev if e["type"] == "fault_injected" and e["packet"] == first["packet"]]
        assert len(fault) == 1 and fault[0]["fault"] == col["config"]["faults"][0]
        drop = [e for e in ev if e["type"] == "drop" and e["packet"] == first["packet"]]
        assert len(drop) == 1 and drop[0]["cause"] == fault[0]["seq"]
        assert drop[0]["reason"] == "scheduled" and drop[0]["seq"] > fault[0]["seq"]
        crash = [e for e in ev if e["type"] == "crash"]
        assert [(e["node"], e["t"]) for e in crash] == [(node, 5000.0)]


@pytest.mark.parametrize("qos, sub_qos, answer", [
    (0, 2, None), (1, 2, "PUBACK"), (2, 2, "PUBREC"), (2, 1, "PUBACK")])
def test_mqtt_answers_a_delivery_by_its_qos(qos, sub_qos, answer):
    """A lost ack is a lost PUBACK at QoS 1 and a lost PUBREC at QoS 2 (the delivery's QoS is the
    lower of the publish and the subscription QoS); QoS 0 has no answer: a note says so."""
    base = {"faults": ["drop:ack:msg=3", "drop:data:msg=2:attempt=2", "crash:producer@900"]}
    col = columns_of(base, "classic", [
        {}, {"protocol": "mqtt", "settings": {"options": {"qos": qos, "sub_qos": sub_qos}}}])[1]
    carried = ["drop:PUBLISH:msg=2:attempt=2:hop=2", "crash:publisher@900"]
    if answer is None:
        assert list(col.config.faults) == carried
        assert col.notes == ("drop:ack:msg=3: MQTT has no packet that does what ack does, "
                             "with this column's settings",)
    else:
        assert list(col.config.faults) == [f"drop:{answer}:msg=3:hop=2", *carried]
        assert col.notes == ()


def test_faults_carry_back_to_the_plain_model_by_role_and_hop():
    cfg = Config.from_dict({"faults": ["drop:PUBLISH:msg=3:hop=2", "drop:PUBLISH:msg=4:hop=1",
                                       "delay:PUBACK:msg=5:attempt=2:hop=2:+300",
                                       "crash:broker@100"]})
    faults, notes = carry_faults(cfg, "mqtt", "classic")
    assert faults == ["drop:data:msg=3", "delay:ack:msg=5:attempt=2:+300"]
    assert notes == (
        "drop:PUBLISH:msg=4:hop=1: Plain model has no packet that does what PUBLISH does, "
        "with this column's settings",
        "crash:broker@100: Plain model has no such node")
    # AMQP with automatic acks answers nothing: a lost ack is a note there
    auto = Config.from_dict({"options": {"auto_ack": True}})
    faults, notes = carry_faults(Config.from_dict({"faults": ["drop:ack:msg=1"]}), "classic",
                                 "amqp", auto)
    assert faults == [] and len(notes) == 1


def test_an_endless_run_is_cut_at_one_instant_in_every_column():
    out = compare({"seed": 7, "messages": 0}, "classic",
                  [{"settings": {"semantics": s}} for s in SEMANTICS], max_events=400)
    until = out["until"]
    assert until is not None
    for col in out["columns"]:
        ev = col["events"]
        assert ev and ev[-1]["t"] < until and col["done"] is False
        # everything the column's run did before the cut, nothing after: the same stretch of
        # time in every column
        whole = Simulation(Config.from_dict(col["config"])).run(max_events=1000)
        assert whole[-1]["t"] >= until
        assert ev == [e for e in whole if e["t"] < until]
    # the column that filled its events first is the one cut at exactly its last instant
    assert min(len(c["events"]) for c in out["columns"]) < 400


def test_a_column_that_ends_before_the_cut_is_done():
    out = compare({"seed": 7, "messages": 0}, "classic",
                  [{}, {"settings": {"messages": 3}}], max_events=300)
    endless, short = out["columns"]
    assert out["until"] is not None and endless["done"] is False and short["done"] is True
    assert short["events"] == Simulation(Config.from_dict(short["config"])).run()


def test_columns_are_labelled_by_what_sets_them_apart():
    assert [c.label for c in columns_of({}, "mqtt", [
        {"settings": {"options": {"qos": q}}} for q in (0, 1, 2)])] == [
        "Publish QoS 0", "Publish QoS 1", "Publish QoS 2"]
    assert [c.label for c in columns_of({}, "classic", [
        {"settings": {"semantics": "exactly-once", "ordering": "sequence"}},
        {"settings": {"semantics": "at-least-once"}}])] == [
        "exactly-once, sequence numbers", "at-least-once, no reordering"]
    assert [c.label for c in columns_of({}, "classic", [
        {}, {"protocol": "mqtt", "settings": {"options": {"qos": 2}}}, {"protocol": "kafka"}])
    ] == ["Plain model", "MQTT, Publish QoS 2", "Kafka"]


@pytest.mark.parametrize("protocol, specs, field, says", [
    ("classic", [{}], "columns", "2 or 3"),
    ("classic", [{}, {}, {}, {}], "columns", "2 or 3"),
    ("classic", [{"semantic": "exactly-once"}, {}], "columns[0].semantic", "protocol and settings"),
    ("classic", [{}, "exactly-once"], "columns[1]", "object"),
    ("classic", [{}, {"settings": {"seed": 3}}], "columns[1].settings.seed", "every column"),
    ("classic", [{}, {"settings": {"faults": []}}], "columns[1].settings.faults", "every column"),
    ("classic", [{}, {"settings": {"loss": 2}}], "columns[1].settings.loss", "at most 1"),
    ("classic", [{}, {"settings": {"los": 0.1}}], "columns[1].settings.los", "unknown"),
    ("classic", [{}, {"settings": {"latency_min": 5000}}], "columns[1].settings.latency_max",
     "latency_min"),
    ("mqtt", [{}, {"settings": {"options": {"qos": 3}}}], "columns[1].settings.options.qos",
     "at most 2"),
    ("classic", [{}, {"protocol": "mqtt", "settings": {"options": {"qos": 3}}}],
     "columns[1].settings.options.qos", "at most 2"),
    ("classic", [{}, {"protocol": "amqp", "settings": {"options": {"qos": 1}}}],
     "columns[1].settings.options.qos", "not an option"),
    ("classic", [{"protocol": "smtp"}, {}], "columns[0].protocol", "mqtt"),
])
def test_a_bad_column_is_refused_naming_the_field(protocol, specs, field, says):
    with pytest.raises(ConfigError) as got:
        compare({}, protocol, specs)
    assert got.value.field == field and says in got.value.message


def test_the_same_arguments_give_the_same_comparison():
    args = ({"seed": 11, "messages": 15, "faults": ["drop:data:msg=2", "crash:consumer@3000"]},
            "classic", [{"settings": {"semantics": "exactly-once"}},
                        {"protocol": "amqp", "settings": {"options": {"prefetch": 2}}}])
    assert compare(*args) == compare(*args)
