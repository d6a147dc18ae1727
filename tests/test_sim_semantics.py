"""Each delivery semantics: when the consumer answers, and how the producer retries."""

from simhelpers import calm, of, processed_order, run

from simulator import Simulation
from simulator.semantics import AtLeastOnce, AtMostOnce, ExactlyOnce, timeout_for


def test_at_most_once_acks_on_receipt_before_processing():
    sim, events = run(calm(semantics="at-most-once", messages=1))
    types = [e["type"] for e in events if e["msg"] == 1]
    assert types.index("ack_send") < types.index("process")
    ack = of(events, "ack_send")[0]
    assert ack["cause"] == of(events, "deliver")[0]["seq"]


def test_at_most_once_never_resends_a_lost_message():
    sim, events = run(calm(semantics="at-most-once", faults=("drop:data:1",)))
    assert of(events, "retry") == []
    assert of(events, "give_up", msg=1)[0]["reason"] == "no_retry"
    s = sim.summary()
    assert s["lost"] == 1 and s["processed_unique"] == 2


def test_at_least_once_processes_then_acks():
    sim, events = run(calm(semantics="at-least-once", messages=1))
    process = of(events, "process")[0]
    ack = of(events, "ack_send")[0]
    assert ack["cause"] == process["seq"]


def test_lost_ack_gives_timeout_retry_and_a_duplicate_under_at_least_once():
    sim, events = run(calm(semantics="at-least-once", faults=("drop:ack:1",)))
    timeout = of(events, "timeout", msg=1)[0]
    retry = of(events, "retry", msg=1)[0]
    assert retry["cause"] == timeout["seq"] and retry["attempt"] == 2
    dup = of(events, "process", msg=1, duplicate=True)
    assert len(dup) == 1
    s = sim.summary()
    assert s["duplicates"] == 1
    assert s["balance"] == s["expected_balance"] + 10  # the duplicate paid twice


def test_lost_ack_is_discarded_by_id_under_exactly_once():
    sim, events = run(calm(semantics="exactly-once", faults=("drop:ack:1",)))
    discard = of(events, "dedup_discard", msg=1)
    assert len(discard) == 1
    assert of(events, "ack_send", msg=1)[-1]["cause"] == discard[0]["seq"]
    s = sim.summary()
    assert s["duplicates"] == 0 and s["discarded_duplicates"] == 1
    assert s["balance"] == s["expected_balance"]


def test_idempotent_operation_makes_a_duplicate_harmless():
    sim, events = run(calm(semantics="at-least-once", operation="idempotent",
                           faults=("drop:ack:1",)))
    s = sim.summary()
    assert s["duplicates"] == 1
    assert s["balance"] == s["expected_balance"]


def test_processing_failure_is_nacked_and_retried_at_once_until_retries_run_out():
    sim, events = run(calm(semantics="at-least-once", messages=1, process_fail=1.0,
                           max_retries=2))
    nacks = of(events, "nack")
    assert len(nacks) == 3
    delivered = of(events, "ack_deliver", kind="nack")
    retries = of(events, "retry")
    assert [r["cause"] for r in retries] == [d["seq"] for d in delivered[:2]]
    assert all(r["t"] == d["t"] for r, d in zip(retries, delivered, strict=False))
    assert of(events, "timeout") == []  # a nack is a definite failure, not a timeout
    give_up = of(events, "give_up")[0]
    assert give_up["reason"] == "retries_exhausted" and give_up["cause"] == delivered[2]["seq"]


def test_unbounded_retries_keep_going():
    sim = Simulation(calm(messages=1, loss=1.0, max_retries=-1, timeout=100.0))
    events = sim.run_until(5000)
    assert not sim.done
    assert of(events, "give_up") == []
    assert len(of(events, "retry")) >= 20


def test_exponential_backoff_doubles_the_wait():
    sim, events = run(calm(messages=1, loss=1.0, max_retries=3, backoff="exponential",
                           timeout=1000.0))
    assert [e["t"] for e in of(events, "timeout")] == [1000.0, 3000.0, 7000.0, 15000.0]
    assert timeout_for(1, 1000, "fixed") == timeout_for(4, 1000, "fixed") == 1000


def test_policy_objects():
    assert not AtMostOnce().may_retry(1, 5)
    assert AtLeastOnce().may_retry(5, 5) and not AtLeastOnce().may_retry(6, 5)
    assert AtLeastOnce().may_retry(1000, -1)
    assert ExactlyOnce().deduplicates and not AtLeastOnce().deduplicates
    assert AtMostOnce().ack_on_receipt and not ExactlyOnce().ack_on_receipt


def test_max_in_flight_holds_new_messages_back():
    sim, events = run(calm(messages=4, max_in_flight=1, interval=10.0))
    sends = of(events, "send")
    acks = of(events, "ack_deliver")
    # each new message waits for the answer to the one before it
    for send, ack in zip(sends[1:], acks, strict=False):
        assert send["t"] >= ack["t"]


def test_at_most_once_processing_failure_loses_a_message_the_producer_believes_succeeded():
    sim, events = run(calm(semantics="at-most-once", messages=1, process_fail=1.0))
    types = [e["type"] for e in events]
    assert types.index("ack_send") < types.index("process_fail")
    fail = of(events, "process_fail")[0]
    assert "believes it succeeded" in fail["text"]
    done = of(events, "ack_deliver")[0]
    assert "counts message 1 as delivered" in done["text"]
    assert of(events, "nack") == [] and of(events, "retry") == [] and of(events, "give_up") == []
    assert sim.summary()["lost"] == 1


def test_at_most_once_crash_before_processing_loses_an_acked_message():
    # acked on receipt at 100, the consumer crashes at 150 in the middle of the work
    sim, events = run(calm(semantics="at-most-once", messages=1, process_time=500.0,
                           faults=("crash:consumer@150", "restart:consumer@200")))
    assert of(events, "ack_send")[0]["t"] == 100.0
    assert "acked on receipt but never processed" in of(events, "crash")[0]["text"]
    assert of(events, "ack_deliver")[0]["text"].startswith("Ack for message 1 reaches")
    assert of(events, "process") == [] and of(events, "retry") == []
    assert sim.summary()["lost"] == 1


def test_at_least_once_resends_what_a_crash_lost_before_processing():
    sim, events = run(calm(semantics="at-least-once", messages=1, process_time=500.0,
                           faults=("crash:consumer@150", "restart:consumer@200")))
    assert "acked" not in of(events, "crash")[0]["text"]
    assert of(events, "retry") and processed_order(events) == [1]
    assert sim.summary()["lost"] == 0


def test_a_nack_says_the_failure_is_certain_and_a_timeout_says_nothing_is_known():
    _, events = run(calm(messages=1, process_fail=1.0, max_retries=0))
    assert "for certain" in of(events, "nack")[0]["text"]
    assert "answered with a nack" in of(events, "give_up")[0]["text"]
    _, events = run(calm(messages=1, loss=1.0, max_retries=0))
    assert "cannot tell whether" in of(events, "timeout")[0]["text"]
    assert "cannot tell whether" in of(events, "give_up")[0]["text"]


def test_a_nack_for_an_earlier_attempt_neither_resends_nor_gives_up():
    # the timeout (150 ms) fires before the nack of attempt 1 comes back (at 220 ms)
    sim, events = run(calm(messages=1, process_fail=1.0, timeout=150.0, max_retries=1))
    first = of(events, "ack_deliver", kind="nack", attempt=1)[0]
    assert "later attempt" in first["text"]
    assert [r["cause"] for r in of(events, "retry")] == [of(events, "timeout")[0]["seq"]]
    assert of(events, "give_up")[0]["cause"] != first["seq"]
