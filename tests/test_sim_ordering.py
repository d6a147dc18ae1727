"""Ordering strategies: arrival order, the reorder buffer, and the gap skip."""

from simhelpers import calm, of, processed_order, run


def test_no_ordering_processes_in_arrival_order():
    sim, events = run(calm(ordering="none", faults=("delay:data:1:+500",)))
    assert processed_order(events) == [2, 3, 1]
    assert sim.summary()["out_of_order_processed"] == 1
    assert sim.summary()["out_of_order_arrivals"] == 1


def test_sequence_buffers_then_releases_in_order():
    sim, events = run(calm(ordering="sequence", faults=("delay:data:1:+500",)))
    assert processed_order(events) == [1, 2, 3]
    buffered = of(events, "buffer")
    assert [e["msg"] for e in buffered] == [2, 3]
    assert buffered[-1]["held"] == [2, 3]
    releases = of(events, "release")
    assert [e["msg"] for e in releases] == [1, 2, 3]
    assert releases[1]["cause"] == buffered[0]["seq"]
    assert releases[-1]["held"] == []
    assert sim.summary()["out_of_order_processed"] == 0


def test_sequence_drops_a_stale_retry_and_acks_it():
    sim, events = run(calm(ordering="sequence", semantics="at-least-once",
                           faults=("drop:ack:1",)))
    stale = of(events, "stale_drop", msg=1)
    assert len(stale) == 1 and stale[0]["reason"] == "stale"
    assert of(events, "ack_send", msg=1)[-1]["cause"] == stale[0]["seq"]
    assert sim.summary()["duplicates"] == 0


def test_gap_skip_after_the_gap_timeout_under_at_most_once():
    sim, events = run(calm(ordering="sequence", semantics="at-most-once", gap_timeout=300.0,
                           faults=("drop:data:1",)))
    skip = of(events, "gap_skip")
    assert len(skip) == 1 and skip[0]["skipped"] == [1]
    # message 2 was buffered at 200 and waited exactly the gap timeout
    assert skip[0]["t"] == of(events, "buffer", msg=2)[0]["t"] + 300.0
    assert processed_order(events) == [2, 3]
    assert sim.summary()["gap_skips"] == 1


def test_processing_failure_holds_later_messages_back_until_the_retry():
    sim, events = run(calm(ordering="sequence", messages=4, interval=5.0, process_time=20.0,
                           process_fail=0.3, seed=3))
    assert of(events, "process_fail")  # this seed fails at least once
    order = processed_order(events)
    assert order == sorted(order)
    assert sim.summary()["out_of_order_processed"] == 0


def test_switching_ordering_away_releases_the_held_messages():
    sim = __import__("simulator").Simulation(calm(ordering="sequence",
                                                  faults=("delay:data:1:+2000",)))
    sim.run_until(400)
    assert sim.view()["reorder"]["held"] == [2, 3]
    out = sim.configure({"ordering": "none"})
    assert out[0]["type"] == "config_change"
    assert "held" in out[0]["text"]
    assert [e["msg"] for e in of(out, "release")] == [2, 3]
    sim.run()
    assert sim.view()["reorder"]["held"] == []


def test_a_copy_arriving_while_the_first_is_processed_is_not_acked_before_processing():
    # The network copies message 1; the copy arrives while the first is being processed, and
    # the processing fails. Acking the copy would tell the producer it succeeded: the message
    # would be lost under at-least-once. The nack must count, and the producer must retry.
    sim, events = run(calm(messages=1, ordering="sequence", process_time=500.0,
                           process_fail=1.0, max_retries=2, faults=("duplicate:data:1",)))
    stale = of(events, "stale_drop", msg=1)[0]
    assert not [e for e in of(events, "ack_send") if e["cause"] == stale["seq"]]
    assert "waits for the application" in stale["text"]
    assert len(of(events, "nack")) == 3 and of(events, "retry")
    assert of(events, "dead_letter", msg=1)


def test_a_consumer_crash_under_at_least_once_does_not_lose_released_messages():
    # Messages 1 and 2 were released to the application when the consumer crashed; the buffer
    # goes back to #1 so their resends are processed, in order, and not dropped as stale.
    sim, events = run(calm(messages=2, ordering="sequence", process_time=500.0,
                           faults=("crash:consumer@300", "restart:consumer@400")))
    assert "goes back to #1" in of(events, "crash")[0]["text"]
    processed_at = {e["msg"]: e["seq"] for e in of(events, "process")}
    assert processed_order(events) == [1, 2]
    # a resend is dropped as stale only once its message was processed
    assert all(e["seq"] > processed_at[e["msg"]] for e in of(events, "stale_drop"))
    assert sim.summary()["lost"] == 0


def test_a_number_skipped_then_arriving_is_dropped_unprocessed_and_said_so():
    sim, events = run(calm(semantics="at-least-once", ordering="sequence", gap_timeout=300.0,
                           faults=("delay:data:1:+2000",)))
    stale = of(events, "stale_drop", msg=1)[0]
    assert "skipped" in stale["text"] and "never processed" in stale["text"]
    ack = [e for e in of(events, "ack_send") if e["cause"] == stale["seq"]][0]
    assert "without processing" in ack["text"]
    assert sim.summary()["lost"] == 1 and 1 not in processed_order(events)
