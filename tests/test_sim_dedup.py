"""The DedupStore: window, memory versus durable, and its effect under exactly-once."""

from simhelpers import calm, of, run

from simulator.dedup import DedupStore


def test_unbounded_store_remembers_everything():
    store = DedupStore(window=0)
    for i in range(1, 1001):
        store.record(i)
    assert 1 in store and 1000 in store and len(store) == 1000


def test_finite_window_forgets_the_oldest_ids():
    store = DedupStore(window=3)
    for i in (1, 2, 3, 4):
        store.record(i)
    assert 1 not in store and {2, 3, 4} <= {i for i in range(5) if i in store}
    store.resize(2)
    assert 2 not in store and 4 in store


def test_memory_store_forgets_on_crash_durable_does_not():
    memory, durable = DedupStore(durable=False), DedupStore(durable=True)
    for store in (memory, durable):
        store.record(5)
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
