"""Each delivery semantics: when the consumer answers, and how the producer retries."""

from simhelpers import calm, of, processed_order, run

from simulator import Simulation
from simulator.semantics import AtLeastOnce, AtMostOnce, ExactlyOnce, timeout_for


def test_at_most_once_is_fire_and_forget_no_ack_no_timer_nothing_to_give_up():
    # The repro: half the acks would be lost, but at-most-once sends no ack at all.
    sim, events = run(calm(semantics="at-most-once", messages=40, ack_loss=0.5))
    types = {e["type"] for e in events}
    assert types == {"send", "deliver", "process"}
    s = sim.summary()
    assert s["gave_up"] == 0 and s["timeouts"] == 0 and s["acks_sent"] == 0
    assert s["lost"] == 0 and s["processed_unique"] == 40
    assert sim.producer.pending == {}, "the producer waits for nothing"


def test_at_most_once_never_resends_a_lost_message_and_the_drop_says_so():
    sim, events = run(calm(semantics="at-most-once", faults=("drop:data:1",)))
    assert of(events, "retry") == [] and of(events, "give_up") == []
    assert of(events, "timeout") == []
    assert "never sends it again: the message is lost" in of(events, "drop", msg=1)[0]["text"]
    s = sim.summary()
    assert s["lost"] == 1 and s["processed_unique"] == 2


def test_at_most_once_with_a_duplicating_network_processes_twice_and_says_why():
    sim, events = run(calm(semantics="at-most-once", messages=1, faults=("duplicate:data:1",)))
    again = of(events, "process", msg=1, duplicate=True)
    assert len(again) == 1
    assert "names what the sender does" in again[0]["text"]
    assert "does not deduplicate" in again[0]["text"]
    notes = sim.view()["advice"]
    assert any(n["field"] == "semantics" and "processed twice" in n["text"] for n in notes)


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


def test_a_poison_message_backs_off_after_each_nack_then_goes_to_the_dead_letter_queue():
    sim, events = run(calm(semantics="at-least-once", messages=1, process_fail=1.0,
                           max_retries=2))
    nacks = of(events, "nack")
    assert len(nacks) == 3
    delivered = of(events, "ack_deliver", kind="nack")
    retries = of(events, "retry")
    assert [r["cause"] for r in retries] == [d["seq"] for d in delivered[:2]]
    # each resend waits the backoff (the fixed timeout, 1000 ms) after its nack
    assert [r["t"] - d["t"] for r, d in zip(retries, delivered, strict=False)] == [1000, 1000]
    assert all(r["after"] == "nack" and r["waited"] == 1000 for r in retries)
    assert all("resends" in r["text"] and "backed off 1000 ms" in r["text"] for r in retries)
    assert of(events, "timeout") == []  # a nack is a definite failure, not a timeout
    assert of(events, "give_up") == []
    dead = of(events, "dead_letter")[0]
    assert dead["cause"] == delivered[2]["seq"] and dead["reason"] == "failed_every_attempt"
    assert "dead-letter queue" in dead["text"]
    assert sim.view()["producer"]["dead_letter"] == [1]
    assert sim.summary()["dead_lettered"] == 1


def test_the_resend_after_a_nack_follows_exponential_backoff():
    # the repro: every nack was answered by an immediate resend
    _, events = run(calm(messages=1, process_fail=1.0, max_retries=4, backoff="exponential",
                         timeout=250.0))
    delivered = of(events, "ack_deliver", kind="nack")
    retries = of(events, "retry")
    gaps = [r["t"] - d["t"] for r, d in zip(retries, delivered, strict=False)]
    assert gaps == [250, 500, 1000, 2000]


def test_backoff_cap_and_jitter():
    _, events = run(calm(messages=1, loss=1.0, max_retries=4, backoff="exponential",
                         timeout=1000.0, backoff_cap=3000.0))
    waits = [b["t"] - a["t"] for a, b in zip(of(events, "send") + of(events, "retry"),
                                             of(events, "timeout"), strict=False)]
    assert waits == [1000, 2000, 3000, 3000, 3000]
    _, jittered = run(calm(messages=1, loss=1.0, max_retries=4, backoff="exponential",
                           timeout=1000.0, backoff_jitter=0.5))
    sends = of(jittered, "send") + of(jittered, "retry")
    waits = [b["t"] - a["t"] for a, b in zip(sends, of(jittered, "timeout"), strict=False)]
    full = [1000, 2000, 4000, 8000, 16000]
    assert all(f / 2 <= w <= f for w, f in zip(waits, full, strict=True))
    assert waits != full, "jitter shortens the waits"
    _, again = run(calm(messages=1, loss=1.0, max_retries=4, backoff="exponential",
                        timeout=1000.0, backoff_jitter=0.5))
    assert again == jittered, "the jitter is keyed by the seed: same run"


def test_a_resend_that_arrives_after_a_failure_is_called_a_resend_not_a_duplicate():
    _, events = run(calm(messages=1, process_fail=1.0, max_retries=1))
    second = of(events, "deliver", msg=1, attempt=2)[0]
    assert "a resend" in second["text"] and "duplicate" not in second["text"]


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
    assert not AtMostOnce().acks and AtLeastOnce().acks and ExactlyOnce().acks


def test_max_in_flight_holds_new_messages_back():
    sim, events = run(calm(messages=4, max_in_flight=1, interval=10.0))
    sends = of(events, "send")
    acks = of(events, "ack_deliver")
    # each new message waits for the answer to the one before it
    for send, ack in zip(sends[1:], acks, strict=False):
        assert send["t"] >= ack["t"]


def test_at_most_once_loses_a_failed_or_crashed_message_and_nobody_hears_of_it():
    sim, events = run(calm(semantics="at-most-once", messages=1, process_fail=1.0))
    assert of(events, "process_fail") and of(events, "nack") == []
    assert of(events, "retry") == [] and of(events, "give_up") == []
    assert sim.summary()["lost"] == 1
    sim, events = run(calm(semantics="at-most-once", messages=1, process_time=500.0,
                           faults=("crash:consumer@150", "restart:consumer@200")))
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
    assert "answered with a nack" in of(events, "dead_letter")[0]["text"]
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
