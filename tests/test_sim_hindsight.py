"""A timeout leaves the producer unsure; the observer's hindsight says which case it was."""

from simhelpers import calm, of, run

from simulator import Config, Simulation


def _explained(events, timeout):
    return [e for e in of(events, "timeout_explained") if e["timeout"] == timeout["seq"]]


def test_the_producer_sees_the_same_timeout_whether_data_or_ack_was_lost():
    _, ack_lost = run(calm(messages=1, max_retries=0, faults=("drop:ack:1",)))
    _, data_lost = run(calm(messages=1, max_retries=0, faults=("drop:data:1",)))
    a, b = of(ack_lost, "timeout")[0], of(data_lost, "timeout")[0]
    assert (a["t"], a["text"]) == (b["t"], b["text"]), "the producer cannot tell them apart"
    assert "cannot tell" in a["text"]
    truth_a, truth_b = _explained(ack_lost, a)[0], _explained(data_lost, b)[0]
    assert (truth_a["verdict"], truth_a["detail"]) == ("processed", "answer_lost")
    assert (truth_b["verdict"], truth_b["detail"]) == ("lost", "dropped")
    assert truth_a["cause"] == a["seq"] and truth_a["observer"] is True
    assert "had been processed" in truth_a["text"] and "never processed" in truth_b["text"]


def test_a_timeout_shorter_than_the_round_trip_is_late_and_known_only_when_processed():
    # latency 100 each way, processing 300: the 250 ms timeout fires while message 1 is in
    # processing; the truth arrives when it is processed at 400
    sim, events = run(calm(messages=1, timeout=250.0, process_time=300.0, max_retries=0))
    timeout = of(events, "timeout")[0]
    assert timeout["t"] == 250.0
    mid = Simulation(calm(messages=1, timeout=250.0, process_time=300.0, max_retries=0))
    mid.run_until(300.0)
    assert mid.summary()["timeouts_unknown"] == 1, "still unknown while it waits"
    truth = _explained(events, timeout)[0]
    assert (truth["verdict"], truth["detail"]) == ("late", "waiting")
    assert truth["t"] == of(events, "process")[0]["t"] == 400.0
    s = sim.summary()
    assert (s["timeouts_late"], s["timeouts_unknown"]) == (1, 0)


def test_the_counters_split_every_timeout_and_add_up():
    sim, _ = run(Config(messages=200, seed=3, ack_loss=0.3, loss=0.3, latency_max=2500.0))
    s = sim.summary()
    parts = ("timeouts_processed", "timeouts_lost", "timeouts_late", "timeouts_unknown")
    assert sum(s[p] for p in parts) == s["timeouts"]
    assert all(s[p] > 0 for p in parts[:3]), s


def test_sequence_ordering_on_the_defaults_loses_38_and_39_and_shows_the_false_done():
    sim, events = run(Config(ordering="sequence"))  # seed 7, at-least-once
    false_done = [e["msg"] for e in events if e.get("false_done")]
    assert sorted(false_done) == [38, 39]
    assert sim.summary()["lost"] == 2 and sim.summary()["false_done"] == 2
    for msg in (38, 39):
        assert "never processed" in of(events, "ack_deliver", msg=msg, false_done=True)[0]["text"]
    warning = [a for a in sim.view()["advice"] if a["field"] == "gap_timeout"]
    assert warning and warning[0]["level"] == "warning"
    assert sim.view()["horizon"] == {"retry_ms": 5 * 2000.0 + 900.0, "gap_timeout": 2500.0}
    # a gap timeout past the horizon keeps every message
    safe, _ = run(Config(ordering="sequence", gap_timeout=11_000.0))
    assert safe.summary()["lost"] == 0
    assert not [a for a in safe.view()["advice"] if a["field"] == "gap_timeout"]


def test_at_most_once_with_sequence_numbers_says_the_missing_number_never_comes():
    sim, events = run(calm(semantics="at-most-once", ordering="sequence", gap_timeout=300.0,
                           faults=("drop:data:1",)))
    assert "will never come" in of(events, "buffer")[0]["text"]
    assert "never coming" in of(events, "gap_skip")[0]["text"]
    assert any("never comes" in a["text"] for a in sim.view()["advice"])
