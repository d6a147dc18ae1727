"""The DedupStore: window, age, memory versus durable, when the key is written, and their effect
under exactly-once."""

from simhelpers import calm, of, run

from simulator import Simulation
from simulator.dedup import DedupStore


def test_unbounded_store_remembers_everything():
    store = DedupStore(window=0)
    for i in range(1, 1001):
        store.record(i, float(i))
    assert 1 in store and 1000 in store and len(store) == 1000


def test_finite_window_forgets_the_oldest_ids():
    store = DedupStore(window=3)
    for i in (1, 2, 3, 4):
        store.record(i, 0.0)
    assert 1 not in store and {2, 3, 4} <= {i for i in range(5) if i in store}
    store.resize(2)
    assert 2 not in store and 4 in store


def test_an_id_expires_by_age_in_simulated_time():
    store = DedupStore(ttl=1000.0)
    store.record(1, 0.0)
    store.record(2, 600.0)
    assert store.has(1, 999.0) and store.has(2, 999.0)
    assert not store.has(1, 1000.0) and store.has(2, 1000.0)
    assert not store.has(2, 1600.0) and len(store) == 0 and store.forgotten == 2


def test_memory_store_forgets_on_crash_durable_does_not():
    memory, durable = DedupStore(durable=False), DedupStore(durable=True)
    for store in (memory, durable):
        store.record(5, 0.0)
    assert memory.crash() and 5 not in memory
    assert not durable.crash() and 5 in durable


def _crash_between_processing_and_retry(store: str):
    # Message 1 arrives at 100, is processed at 110, its ack is lost; the consumer is down
    # from 500 to 600; the retry arrives at 1100.
    return run(calm(semantics="exactly-once", messages=1, dedup_store=store,
                    faults=("drop:ack:1", "crash:consumer@500", "restart:consumer@600")))


def test_durable_store_still_discards_after_a_crash():
    sim, events = _crash_between_processing_and_retry("durable")
    assert len(of(events, "dedup_discard")) == 1
    assert sim.summary()["duplicates"] == 0


def test_memory_store_lets_the_duplicate_through_after_a_crash():
    sim, events = _crash_between_processing_and_retry("memory")
    assert of(events, "dedup_discard") == []
    assert "in-memory dedup store" in of(events, "crash")[0]["text"]
    assert sim.summary()["duplicates"] == 1


def test_finite_window_lets_an_old_duplicate_through():
    # message 1's ack is lost; by the time its retry arrives, messages 2..4 pushed it out.
    faults = ("drop:ack:1",)
    _, narrow = run(calm(semantics="exactly-once", messages=4, dedup_window=2, faults=faults))
    _, wide = run(calm(semantics="exactly-once", messages=4, dedup_window=0, faults=faults))
    assert len(of(narrow, "process", msg=1)) == 2
    assert len(of(wide, "process", msg=1)) == 1


def test_an_id_is_recorded_only_after_successful_processing():
    sim, events = run(calm(semantics="exactly-once", messages=1, process_fail=1.0,
                           max_retries=1))
    assert of(events, "dedup_discard") == []
    assert 1 not in sim.consumer.dedup


def test_an_age_limit_shorter_than_the_retry_lets_the_duplicate_through_and_is_warned():
    # message 1 is processed at 110 and its ack lost; its resend arrives at 1100
    faults = ("drop:ack:1",)
    short = calm(semantics="exactly-once", messages=1, dedup_ttl=500.0, faults=faults)
    _, events = run(short)
    again = of(events, "process", msg=1, duplicate=True)
    assert len(again) == 1 and "no longer remembered its id" in again[0]["text"]
    assert any(a["field"] == "dedup_ttl" for a in Simulation(short).view()["advice"])
    long = calm(semantics="exactly-once", messages=1, dedup_ttl=5000.0, faults=faults)
    _, events = run(long)
    assert of(events, "process", msg=1, duplicate=True) == []
    assert len(of(events, "dedup_discard")) == 1


def _window(record: str, crash_inside: bool):
    """Exactly-once, one message whose key and effect are two steps 100 ms apart; the consumer
    crashes inside that window (the time is read from the event stream of a first run) or, for
    comparison, not at all. Returns the events of the run with the crash."""
    base = dict(semantics="exactly-once", messages=1, dedup_record=record, record_gap=100.0,
                max_retries=3)
    _, plain = run(calm(**base))
    first = of(plain, "dedup_record")[0] if record == "before" else of(plain, "process")[0]
    second = of(plain, "process")[0] if record == "before" else of(plain, "dedup_record")[0]
    assert second["t"] - first["t"] == 100.0, "the two steps are record_gap apart"
    if not crash_inside:
        return plain
    at = (first["t"] + second["t"]) / 2
    sim, events = run(calm(**base, faults=(f"crash:consumer@{at:g}",
                                           f"restart:consumer@{at + 10:g}")))
    return sim, events


def test_key_before_effect_a_crash_between_loses_the_effect():
    plain = _window("before", crash_inside=False)
    assert [e["type"] for e in plain if e["type"] in ("dedup_record", "process")] == \
        ["dedup_record", "process"]
    sim, events = _window("before", crash_inside=True)
    assert "effect never applied" in of(events, "crash")[0]["text"]
    assert of(events, "process") == [], "the effect is lost"
    discard = of(events, "dedup_discard", msg=1)
    assert discard and "never happened" in discard[0]["text"]
    s = sim.summary()
    assert s["lost"] == 1 and s["balance"] == 0
    assert s["false_done"] == 1, "the producer was told it is done"


def test_key_after_effect_a_crash_between_repeats_the_effect():
    plain = _window("after", crash_inside=False)
    assert [e["type"] for e in plain if e["type"] in ("dedup_record", "process")] == \
        ["process", "dedup_record"]
    sim, events = _window("after", crash_inside=True)
    assert "key not yet recorded" in of(events, "crash")[0]["text"]
    assert len(of(events, "process", msg=1)) == 2, "the effect is applied twice"
    assert sim.summary()["balance"] == 20


def test_key_with_the_effect_in_one_transaction_has_no_window():
    _, events = run(calm(semantics="exactly-once", messages=1, dedup_record="atomic"))
    assert of(events, "dedup_record") == []
    assert of(events, "process")[0]["recorded"] is True
    for record in ("before", "after"):
        _, events = run(calm(semantics="exactly-once", messages=1, dedup_record=record))
        ack = of(events, "ack_send")[0]
        assert ack["t"] == max(e["t"] for e in events if e["type"] in ("process",
                                                                        "dedup_record"))
